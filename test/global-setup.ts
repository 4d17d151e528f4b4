/**
 * Vitest's global setup: brings dist/ up to date with the source before any test file runs.
 *
 * Tests import the TypeScript source, but code that runs outside the test's module graph is
 * loaded from the build: worker threads (src/runtime/worker-handle.ts and
 * src/storage/wal-checkpointer.ts map a `.ts` URL to dist/), `bin/brook.js` in the CLI tests,
 * the `brook` package import and fixture scripts. Without this, an edit to an actor followed by
 * `npx vitest run <file>` would run the actor as it was at the last build.
 *
 * The build is tsc's incremental build (`incremental` in tsconfig.json, state in
 * dist/.tsbuildinfo): tsc re-checks and re-emits only what an edit affects, and an unchanged tree
 * costs it about 2 s. Before starting tsc at all, the setup compares the size and mtime of every
 * input (src/, actors/, the tsconfig, the lockfile) with the stamp the last clean build left in
 * dist/.build-stamp: when nothing differs, nothing runs (a few ms). Then the console assets
 * are copied (scripts/copy-assets.mjs). In watch mode it runs again before each rerun.
 *
 * A type error fails the run with tsc's messages, as `npm run build` does. While a refactor is
 * half done, BROOK_TEST_TYPE_ERRORS=warn prints them and runs the tests anyway: tsc still emits
 * every file, so the tests run the current source either way.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
const copyAssets = fileURLToPath(new URL('../scripts/copy-assets.mjs', import.meta.url));
// Two runs in one tree (two terminals, two people) would write dist/ at once: one builds, the
// other waits for it and then finds nothing to do. A lock whose holder has exited, or older than
// staleLockMs, is a stopped run's and is taken over.
const lockDir = fileURLToPath(new URL('../node_modules/.cache/brook-build.lock', import.meta.url));
const staleLockMs = 180_000;
const stampFile = join(root, 'dist/.build-stamp');
const buildInfo = join(root, 'dist/.tsbuildinfo');

/**
 * Size and mtime of every build input: equal stamps mean tsc would find nothing to do. A file
 * added or removed changes the stamp too. It is taken before tsc starts, so a file edited while
 * tsc runs differs from the stamp, and the next run builds again.
 */
function inputStamp(): string {
  const entries: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.isFile()) add(rel);
    }
  };
  const add = (rel: string): void => {
    const st = statSync(join(root, rel));
    entries.push(`${rel} ${st.size} ${st.mtimeMs}`);
  };
  walk('src');
  walk('actors');
  for (const f of ['tsconfig.json', 'package-lock.json']) if (existsSync(join(root, f))) add(f);
  return entries.join('\n');
}

function readStamp(): string | undefined {
  try {
    return readFileSync(stampFile, 'utf8');
  } catch {
    return undefined;
  }
}

function run(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Whether the run that holds the lock is gone (its pid file names a process that no longer exists). */
function holderGone(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
  } catch {
    return false; // just created, pid not written yet (or released)
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(new URL('../node_modules/.cache', import.meta.url), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let age: number;
      try {
        age = Date.now() - statSync(lockDir).mtimeMs;
      } catch {
        continue; // released between the two calls
      }
      // A run stopped with Ctrl-C during its build leaves the lock: its process is gone.
      if (age > staleLockMs || holderGone()) rmSync(lockDir, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/**
 * Runs the incremental build and the asset copy, unless the inputs are as the last clean build
 * left them; throws with tsc's output if the build fails.
 */
export async function buildDist(): Promise<{ ms: number; ran: boolean }> {
  const t0 = performance.now();
  let ran = false;
  await withLock(async () => {
    const stamp = inputStamp();
    if (existsSync(buildInfo) && readStamp() === stamp) return;
    ran = true;
    rmSync(stampFile, { force: true });
    const built = await run([tsc, '-p', 'tsconfig.json', '--pretty', 'false']);
    if (built.code !== 0) {
      const message = `the build before the tests failed (tsc -p tsconfig.json exited with ${built.code}):\n${built.output.trim()}`;
      // Exit code 2 is "diagnostics reported, outputs written": the emitted files are current.
      if (built.code === 2 && process.env.BROOK_TEST_TYPE_ERRORS === 'warn') console.warn(`${message}\n(BROOK_TEST_TYPE_ERRORS=warn: running the tests anyway)`);
      else throw new Error(`${message}\n(BROOK_TEST_TYPE_ERRORS=warn runs the tests anyway on type errors)`);
    }
    const copied = await run([copyAssets]);
    if (copied.code !== 0) throw new Error(`copying the console assets failed:\n${copied.output.trim()}`);
    if (built.code === 0) writeFileSync(stampFile, stamp);
  });
  return { ms: performance.now() - t0, ran };
}

export default async function setup(project: TestProject): Promise<void> {
  const { ms, ran } = await buildDist();
  const took = `${(ms / 1000).toFixed(1)} s`;
  console.log(ran ? `dist/ rebuilt from the source in ${took} (test/global-setup.ts)` : `dist/ is up to date with the source (checked in ${took}, test/global-setup.ts)`);
  project.onTestsRerun(async () => {
    await buildDist();
  });
}
