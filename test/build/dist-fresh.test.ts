/**
 * The code the tests run outside their own module graph (worker threads, bin/brook.js, the
 * `brook` package import) comes from dist/, which test/global-setup.ts rebuilds before every
 * run. This checks that it did: every compiled file in dist/ is what its source compiles to
 * now, and the console's static files are copies of src/console.
 *
 * The comparison is by content, not by time: each source file is transpiled on its own
 * (ts.transpileModule, which keeps comments as the build does) and compared with the emitted
 * file, so an edit anywhere in a file (a comment included) that the build missed shows here,
 * and a touched but unchanged file does not. tsconfig.json sets isolatedModules, so that every
 * file does compile on its own to what the whole-program build emits.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sourceFiles(): { fileNames: string[]; options: ts.CompilerOptions } {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (parsed === undefined) throw new Error('tsconfig.json could not be read');
  return { fileNames: parsed.fileNames.filter((f) => !f.endsWith('.d.ts')), options: parsed.options };
}

describe('dist/ after the global setup', () => {
  it('holds, for every source file, what that file compiles to now', () => {
    const { fileNames, options } = sourceFiles();
    expect(fileNames.length).toBeGreaterThan(50);
    // The build is NodeNext over an ESM package: per file that is ES module output, which is
    // what transpileModule gives with an ES module kind.
    const compilerOptions: ts.CompilerOptions = {
      ...options,
      module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      sourceMap: false,
      declaration: false,
      incremental: false,
    };
    const stale: string[] = [];
    for (const file of fileNames) {
      const rel = relative(root, file);
      const out = join(root, 'dist', rel.replace(/\.ts$/, '.js'));
      if (!existsSync(out)) {
        stale.push(`${rel}: no ${relative(root, out)}`);
        continue;
      }
      const expected = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file }).outputText;
      const emitted = readFileSync(out, 'utf8').replace(/\/\/# sourceMappingURL=\S+\s*$/, '');
      if (emitted.trim() !== expected.trim()) stale.push(`${rel}: ${relative(root, out)} is not what it compiles to now`);
    }
    expect(stale, 'dist/ is stale; the global setup (test/global-setup.ts) should have rebuilt it').toEqual([]);
  });

  it('holds the console assets as they are in src/console', () => {
    const dir = join(root, 'src/console');
    const names = readdirSync(dir);
    expect(names).toContain('index.html');
    for (const name of names) expect(readFileSync(join(root, 'dist/src/console', name), 'utf8'), name).toBe(readFileSync(join(dir, name), 'utf8'));
  });
});
