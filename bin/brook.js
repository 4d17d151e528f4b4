#!/usr/bin/env node
// The `brook` command. The TypeScript is compiled by `npm install` (the prepare script).
import { main } from '../dist/src/cli/main.js';

main(process.argv).catch((err) => {
  process.stderr.write(`brook: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
