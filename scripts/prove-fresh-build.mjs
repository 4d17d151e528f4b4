#!/usr/bin/env node
// Shows, in a throwaway copy of the committed tree (git archive HEAD, node_modules linked), that
// `npx vitest run <one file>` runs a worker thread on the source as edited, and what the build
// before the tests costs:
//   1. a cold run (no dist/): the full build;
//   2. the partition actor (loaded on a worker thread, from dist/) edited to write a marker,
//      then one test file run: the worker writes the new marker (and the one-file rebuild time);
//   3. the same run again, nothing changed: the stamp check, no tsc;
//   4. again with the stamp removed: tsc's incremental no-op;
//   5. the actor edited again and the file run WITHOUT the global setup: the worker still runs
//      the previous build, which is what happened before test/global-setup.ts.
// Usage: node scripts/prove-fresh-build.mjs   (about a minute; the copy is removed afterwards)
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const copy = mkdtempSync(join(tmpdir(), 'brook-fresh-'));
const marker = join(copy, 'probe-marker');
const actor = join(copy, 'actors/partition/partition-actor.ts');

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { cwd: copy, encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
}

/** Appends code to the actor that writes `value` to the marker file when a worker loads it. */
function editActor(value) {
  appendFileSync(
    actor,
    `\nimport { writeFileSync as probeWrite${value} } from 'node:fs';\nif (process.env.BROOK_PROBE_MARKER) probeWrite${value}(process.env.BROOK_PROBE_MARKER, '${value}');\n`,
  );
}

/** Runs the probe test file; returns the wall time, the setup's line and the marker's content. */
function runProbe(config = 'vitest.config.ts') {
  rmSync(marker, { force: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', config, 'test/probe/fresh.test.ts'], {
    cwd: copy,
    encoding: 'utf8',
    env: { ...process.env, BROOK_PROBE_MARKER: marker },
  });
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`the probe run failed:\n${r.stdout}\n${r.stderr}`);
  const setup = (r.stdout.split('\n').find((l) => l.startsWith('dist/')) ?? '(no global setup)').trim();
  return { wallS: wallS.toFixed(1), setup, marker: existsSync(marker) ? readFileSync(marker, 'utf8') : '(none)' };
}

try {
  const tar = sh('git', ['-C', repo, 'archive', '--format=tar', 'HEAD'], { encoding: 'buffer' });
  sh('tar', ['-x'], { input: tar });
  symlinkSync(join(repo, 'node_modules'), join(copy, 'node_modules'));
  sh('mkdir', ['-p', 'test/probe']);
  writeFileSync(
    join(copy, 'test/probe/fresh.test.ts'),
    `import { it } from 'vitest';
import { actorKindsUrl } from '../../actors/registry.js';
import { Supervisor } from '../../src/runtime/supervisor.js';
import { tempDir } from '../helpers/tmp.js';
it('starts a worker thread with a partition actor', async () => {
  const tmp = tempDir();
  const sup = await Supervisor.start({ workers: 1, actorKinds: actorKindsUrl() });
  await sup.spawn('partition:t:0', 'partition', { topic: 't', partition: 0, path: tmp.dir + '/t-0.db', durability: 'normal' });
  await sup.shutdown();
  tmp.cleanup();
});
`,
  );
  const noSetup = readFileSync(join(copy, 'vitest.config.ts'), 'utf8').replace(/\n\s*globalSetup: \[[^\]]*\],/, '');
  writeFileSync(join(copy, 'vitest.no-setup.config.ts'), noSetup);

  const rows = [];
  rows.push(['cold (no dist/)', runProbe()]);
  editActor('v2');
  rows.push(['actor edited (v2)', runProbe()]);
  rows.push(['unchanged', runProbe()]);
  rmSync(join(copy, 'dist/.build-stamp'));
  rows.push(['unchanged, stamp removed (tsc no-op)', runProbe()]);
  editActor('v3');
  rows.push(['actor edited (v3), no global setup', runProbe('vitest.no-setup.config.ts')]);
  for (const [what, r] of rows) console.log(`${what.padEnd(38)} marker=${r.marker.padEnd(6)} wall ${r.wallS} s   ${r.setup}`);
  const ok = rows[1][1].marker === 'v2' && rows[4][1].marker === 'v2';
  console.log(ok ? 'OK: with the global setup the worker ran the edit; without it, the previous build' : 'UNEXPECTED markers');
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(copy, { recursive: true, force: true });
}
