#!/usr/bin/env node
// `npm run profile`: profiles Brook under the suite's workloads. The node runs as a child process
// with `node --cpu-prof --cpu-prof-dir <dir>`, which worker threads inherit, so there is one
// .cpuprofile per thread (main thread and each worker). clinic was tried for the main thread:
// clinic 13 installs (700+ packages) but exits at once without collecting anything on Node 20
// here, so --cpu-prof profiles the main thread too. Prints where the profiles are and the top
// self-time functions per thread, parsed from the .cpuprofile JSON.
// Usage: node bench/suite/profile.mjs [--quick] [--scale F] [--top N] [--dir DIR]
import { parseArgs } from 'node:util';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import { brookSystem } from './drivers/brook.mjs';
import { openLoop } from './lib/open-loop.mjs';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scale: { type: 'string' },
    top: { type: 'string', default: '15' },
    dir: { type: 'string' },
  },
  allowPositionals: true,
});
const scale = Number(opt.scale ?? (opt.quick ? 0.05 : 1));
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const dir = opt.dir ?? fileURLToPath(new URL(`../results/profile-${stamp}/`, import.meta.url));
mkdirSync(dir, { recursive: true });

const sys = brookSystem({ execArgv: ['--cpu-prof', '--cpu-prof-dir', dir] });
const info = await sys.start();
const client = sys.clients[0]; // the primary Brook client (drivers/brook.mjs PRIMARY)
console.log(`profiling Brook (pid ${info.pid}) with ${client.client}; scale ${scale}`);
const phases = [];
try {
  for (const [count, size] of [
    [1_000_000, 100],
    [200_000, 1024],
  ]) {
    const spec = { topic: `prof-${size}`, partitions: 1, count: Math.round(count * scale), size };
    for (const phase of ['produce', 'consume']) {
      const r = await client[phase](spec);
      const line = `${phase} ${spec.count} x ${size} B: ${Math.round(r.records / (r.ms / 1000)).toLocaleString('en')} rec/s, ${((r.records * size) / (r.ms / 1000) / 1e6).toFixed(1)} MB/s`;
      phases.push(line);
      console.log(`  ${line}`);
    }
  }
  const s = await client.ackSetup({ topic: 'prof-ack', size: 100 });
  const r = await openLoop({ rate: 20_000, durationMs: opt.quick ? 1000 : 5000, warmupMs: 200, send: () => s.send() });
  await s.close();
  const line = `ack latency @ 20k/s: p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} p99.9 ${r['p99.9'].toFixed(2)} ms`;
  phases.push(line);
  console.log(`  ${line}`);
} finally {
  await sys.stop(); // SIGTERM: the node exits cleanly and every thread writes its profile
}

/** Self time per function from a .cpuprofile (Chrome DevTools format). */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const n = byId.get(profile.samples[i]);
    total += dt;
    self.set(n.id, (self.get(n.id) ?? 0) + dt);
  }
  const byFn = new Map();
  const root = fileURLToPath(new URL('../../', import.meta.url));
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    const file = cf.url ? relative(root, cf.url.replace(/^file:\/\//, '')) : '';
    const key = `${cf.functionName || '(anonymous)'}${file ? ` ${file}:${cf.lineNumber + 1}` : ''}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  return { total, rows: [...byFn].sort((a, b) => b[1] - a[1]) };
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort();
const top = Number(opt.top);
const out = [`# Brook profile ${stamp}`, '', ...phases.map((p) => `- ${p}`), '', `Profiles (open in Chrome DevTools > Performance, or speedscope): ${dir}`, ''];
for (const f of files) {
  // CPU.<date>.<time>.<pid>.<threadId>.<seq>.cpuprofile: thread 0 is the main thread.
  const tid = Number(f.split('.')[4]);
  const { total, rows } = selfTimes(JSON.parse(readFileSync(join(dir, f), 'utf8')));
  const idle = rows.filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
  out.push(`## ${tid === 0 ? 'main thread' : `worker thread ${tid}`} — ${f}`);
  out.push(`sampled ${(total / 1e6).toFixed(1)} s, busy ${(((total - idle) / Math.max(1, total)) * 100).toFixed(0)}%; top self time (share of busy time):`);
  out.push('');
  out.push('| self ms | % busy | function |');
  out.push('|---|---|---|');
  for (const [k, us] of rows.filter(([k]) => !k.startsWith('(idle)')).slice(0, top))
    out.push(`| ${(us / 1000).toFixed(0)} | ${((us / Math.max(1, total - idle)) * 100).toFixed(1)} | ${k.replace(/\|/g, '\\|')} |`);
  out.push('');
}
if (!files.length) out.push('No .cpuprofile was written (did the node exit cleanly?).');
writeFileSync(join(dir, 'summary.md'), out.join('\n') + '\n');
console.log('\n' + out.join('\n'));
console.log(`summary written to ${join(dir, 'summary.md')}`);
