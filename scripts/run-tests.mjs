#!/usr/bin/env node
// Runs the whole vitest suite and prints a final `N passed, N failed` line taken from vitest's
// JSON reporter, so a run that executed no test is visible. The exit code is vitest's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'brook-vitest-'));
const report = join(dir, 'report.json');
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)];
const run = spawnSync('npx', args, { stdio: 'inherit' });
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  passed = json.numPassedTests ?? 0;
  // A file that fails to load has no failed test but a failed suite: count it, so it shows.
  const failedTests = json.numFailedTests ?? 0;
  const failedSuites = json.numFailedTestSuites ?? 0;
  failed = failedTests > 0 ? failedTests : failedSuites;
  skipped = (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
} catch (err) {
  console.error(`could not read vitest's JSON report: ${err.message}`);
  failed = Math.max(failed, 1);
}
rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
const code = run.status ?? 1;
// A failure outside any test file, such as the build in test/global-setup.ts, fails no test.
if (code !== 0 && failed === 0) console.log(`vitest exited with code ${code} outside the tests (the build before them, a global setup or teardown): see its output above`);
process.exit(code !== 0 ? code : failed > 0 ? 1 : 0);
