// Copies the web console's static files next to the compiled code, so an installed package
// (which ships dist/ and bin/) serves the console without the sources.
import { cpSync } from 'node:fs';

cpSync(new URL('../src/console', import.meta.url), new URL('../dist/src/console', import.meta.url), { recursive: true });
