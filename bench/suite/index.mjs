#!/usr/bin/env node
// Brook against Redis Streams, NATS JetStream and the plumbing ceiling, in one run, so the ratios
// hold on a noisy machine. Every system is started fresh by the suite for each repetition (bound
// to 127.0.0.1, own temp dir) and stopped by PID afterwards. Writes bench/results/<time>.md/.svg.
// Usage: node bench/suite/index.mjs [--quick] [--reps N] [--scale F] [--only brook,ceiling,redis,nats]
//        [--duration-ms N] [--skip-usual-clients] [--brook-workers N]
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { brookSystem } from './drivers/brook.mjs';
import { ceilingSystem } from './drivers/ceiling.mjs';
import { redisSystem } from './drivers/redis.mjs';
import { natsSystem } from './drivers/nats.mjs';
import { openLoop, endToEnd } from './lib/open-loop.mjs';
import { summarize, fmtNum } from './lib/stats.mjs';
import { renderSvg } from './lib/chart.mjs';
import { GOALS, checkGoals } from './goals.mjs';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    scale: { type: 'string' },
    only: { type: 'string' },
    'duration-ms': { type: 'string' },
    'brook-workers': { type: 'string' },
    'skip-usual-clients': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
  allowPositionals: true,
});

const quick = opt.quick;
const scale = Number(opt.scale ?? (quick ? 0.05 : 1));
const reps = Number(opt.reps ?? (quick ? 1 : 3));
const latencyMs = Number(opt['duration-ms'] ?? (quick ? 1000 : 5000));
const warmupMs = Math.round(latencyMs / 10);
const only = opt.only ? new Set(opt.only.split(',')) : null;

const throughput = [];
for (const partitions of [1, 16]) {
  for (const [count, size, label] of [
    [1_000_000, 100, '100 B'],
    [200_000, 1024, '1 KiB'],
  ]) {
    throughput.push({ partitions, count: Math.max(partitions, Math.round(count * scale)), size, label });
  }
}
const ackRates = [5000, 20000];
const e2eRate = 5000;

const systems = [
  ['brook', () => brookSystem(opt['brook-workers'] ? { workers: Number(opt['brook-workers']) } : {})],
  ['ceiling', () => ceilingSystem()],
  ['redis', () => redisSystem({ usualClient: !opt['skip-usual-clients'] })],
  ['nats', () => natsSystem({ usualClient: !opt['skip-usual-clients'] })],
]
  .filter(([k]) => !only || only.has(k))
  .map(([k, f]) => ({ key: k, ...f() }));

// results[column][metric] = array of values over repetitions
const results = new Map();
const columns = [];
const notes = [];
function record(column, metric, v) {
  if (!results.has(column)) {
    results.set(column, new Map());
    columns.push(column);
  }
  const m = results.get(column);
  if (!m.has(metric)) m.set(metric, []);
  m.get(metric).push(v);
}

const metrics = [];
const addMetric = (key, label, unit, better) => {
  if (!metrics.find((m) => m.key === key)) metrics.push({ key, label, unit, better });
};
for (const w of throughput) {
  const unit = w.size === 100 ? 'rec/s' : 'MB/s';
  addMetric(`produce ${w.label} x${w.partitions}`, `produce ${w.count.toLocaleString('en')} × ${w.label}, ${w.partitions} partition${w.partitions > 1 ? 's' : ''}`, unit, 'higher');
  addMetric(`consume ${w.label} x${w.partitions}`, `consume ${w.count.toLocaleString('en')} × ${w.label}, ${w.partitions} partition${w.partitions > 1 ? 's' : ''}`, unit, 'higher');
}
for (const r of ackRates) for (const p of ['p50', 'p99', 'p99.9']) addMetric(`ack ${r} ${p}`, `produce ack latency @ ${r / 1000}k rec/s, ${p}`, 'ms', 'lower');
for (const p of ['p50', 'p99', 'p99.9']) addMetric(`e2e ${e2eRate} ${p}`, `end-to-end latency @ ${e2eRate / 1000}k rec/s, ${p}`, 'ms', 'lower');

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error(`${what}: timed out after ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

const log = (s) => process.stdout.write(`${s}\n`);
const started = new Date();
log(`Brook benchmark suite: ${quick ? 'QUICK (small counts, for development)' : 'full'} run, ${reps} repetition(s), scale ${scale}, latency runs ${latencyMs} ms`);
log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);

// A signal stops the server under test (by PID) before exiting.
let current = null;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`\n${sig}: stopping ${current?.system ?? 'nothing'}`);
    Promise.resolve(current?.stop()).finally(() => process.exit(130));
  });
}

for (let rep = 1; rep <= reps; rep++) {
  for (const sys of systems) {
    if (sys.unavailable) {
      if (rep === 1) {
        log(`SKIP ${sys.system}: ${sys.unavailable}`);
        notes.push(`${sys.system} skipped: ${sys.unavailable}`);
      }
      continue;
    }
    let info;
    current = sys;
    try {
      info = await sys.start();
    } catch (e) {
      log(`! ${sys.system} failed to start: ${e.message}`);
      notes.push(`${sys.system} failed to start in repetition ${rep}: ${e.message.split('\n')[0]}`);
      continue;
    }
    log(`\n[rep ${rep}/${reps}] ${sys.system}${info?.version ? ` ${info.version}` : ''} (pid ${info?.pid})`);
    if (info?.version) sys.version = info.version;
    try {
      for (const cl of sys.clients) {
        const column = `${sys.system}${sys.version ? ` ${sys.version}` : ''}, ${cl.client}`;
        if (!results.has(column)) {
          results.set(column, new Map());
          columns.push(column);
        }
        const tag = `${sys.key}-${cl.key ?? 'c'}-r${rep}`;
        const run = async (metricKeys, what, fn, ms = 300_000) => {
          try {
            return await withTimeout(fn(), ms, what);
          } catch (e) {
            log(`  ! ${cl.client}: ${e.message}`);
            notes.push(`${column}: ${what} failed in repetition ${rep}: ${e.message.split('\n')[0]}`);
            for (const k of metricKeys) record(column, k, NaN);
            return null;
          }
        };
        for (const w of throughput) {
          const topic = `t-${tag}-${w.size}-${w.partitions}`;
          const spec = { topic, partitions: w.partitions, count: w.count, size: w.size };
          for (const phase of ['produce', 'consume']) {
            const key = `${phase} ${w.label} x${w.partitions}`;
            const r = await run([key], key, () => cl[phase](spec));
            if (!r) {
              if (phase === 'produce') {
                record(column, `consume ${w.label} x${w.partitions}`, NaN);
                break;
              }
              continue;
            }
            if (r.records < w.count) log(`  ! ${key}: ${r.records}/${w.count} records`);
            const v = w.size === 100 ? r.records / (r.ms / 1000) : (r.records * w.size) / (r.ms / 1000) / 1e6;
            record(column, key, v);
            log(
              `  ${cl.client.padEnd(44)} ${key.padEnd(22)} ${fmtNum(r.records / (r.ms / 1000))} rec/s ${((r.records * w.size) / (r.ms / 1000) / 1e6).toFixed(1)} MB/s (${r.ms.toFixed(0)} ms)`,
            );
          }
        }
        for (const rate of ackRates) {
          const keys = ['p50', 'p99', 'p99.9'].map((p) => `ack ${rate} ${p}`);
          await run(
            keys,
            `ack latency @ ${rate}/s`,
            async () => {
              const s = await cl.ackSetup({ topic: `ack-${tag}-${rate}`, size: 100 });
              try {
                const r = await openLoop({ rate, durationMs: latencyMs, warmupMs, send: () => s.send() });
                for (const p of ['p50', 'p99', 'p99.9']) record(column, `ack ${rate} ${p}`, r[p]);
                log(
                  `  ${cl.client.padEnd(44)} ack @ ${rate}/s: p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} p99.9 ${r['p99.9'].toFixed(2)} ms (achieved ${fmtNum(r.achievedRate)}/s)`,
                );
                return r;
              } finally {
                await s.close();
              }
            },
            latencyMs * 3 + 60_000,
          );
        }
        {
          const keys = ['p50', 'p99', 'p99.9'].map((p) => `e2e ${e2eRate} ${p}`);
          await run(
            keys,
            `end-to-end @ ${e2eRate}/s`,
            async () => {
              const topic = `e2e-${tag}`;
              const s = await cl.ackSetup({ topic, size: 100 });
              try {
                const r = await endToEnd({ rate: e2eRate, durationMs: latencyMs, warmupMs, send: () => s.send(), startConsumer: (on) => cl.e2eConsumer({ topic }, on) });
                for (const p of ['p50', 'p99', 'p99.9']) record(column, `e2e ${e2eRate} ${p}`, r[p]);
                log(`  ${cl.client.padEnd(44)} end-to-end @ ${e2eRate}/s: p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} p99.9 ${r['p99.9'].toFixed(2)} ms`);
                return r;
              } finally {
                await s.close();
              }
            },
            latencyMs * 3 + 60_000,
          );
        }
      }
    } finally {
      await sys.stop();
      current = null;
    }
  }
}

// ---- report ----
const summary = new Map(); // column -> metric -> {median,min,max}
for (const c of columns) {
  const m = new Map();
  for (const [k, vals] of results.get(c)) m.set(k, summarize(vals));
  summary.set(c, m);
}
const brookCol = columns.find((c) => c.startsWith('Brook'));
const cell = (s, unit) => (s ? `${fmtNum(s.median, unit)} [${fmtNum(s.min, unit)}-${fmtNum(s.max, unit)}]` : '—');
const md = [];
md.push(`# Brook benchmark suite — ${started.toISOString()}`);
md.push('');
md.push(
  `${quick ? '**Quick run** (small counts, for development: not for comparison with full runs). ' : ''}${reps} repetition(s); median [min-max]. Machine: ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}. Every system ran in this same run, started fresh per repetition; compare ratios, not absolute figures across runs.`,
);
md.push('');
md.push(
  "Clients: Brook's own client (src/client) sends 1000 records per Producer.send(), 32 sends outstanding, with its defaults (batches up to 1,000,000 bytes, linger 5 ms, idempotent, acks all; linger 0 for the latency rows) and consumes with Consumer.assign() + eachBatch, reading every record's value (records are decoded lazily: the value is made when read). The thin Kafka client (bench/lib) and the plumbing ceiling's client produce prebuilt 16 KiB batches (16 requests in flight) and fetch up to 8 MiB (1 partition) or 1 MiB per partition (16 partitions, one request), reading batch headers only. Redis gets pipelined XADD (one entry per command, 32 pipelines of 1000 outstanding) and XRANGE COUNT 1000; NATS gets asynchronous JetStream publishes (32,000 unacked at most) and a pull consumer with no acks. Every producing client thus has 32,000 records outstanding (see drivers/common.mjs), except the thin client and the ceiling's (16 batches of 16 KiB). Latency rows send single 100 B records on a fixed timetable (open loop) and measure from the scheduled time; end-to-end latency is from the scheduled send to the consumer receiving the record.",
);
md.push('');
md.push(`| workload | unit | ${columns.join(' | ')} |`);
md.push(`|---|---|${columns.map(() => '---').join('|')}|`);
for (const m of metrics) md.push(`| ${m.label} | ${m.unit} | ${columns.map((c) => cell(summary.get(c).get(m.key), m.unit)).join(' | ')} |`);
if (brookCol) {
  const peers = columns.filter((c) => c !== brookCol);
  md.push('');
  md.push(`## Ratio of Brook to each peer (medians)`);
  md.push('Throughput: Brook ÷ peer (above 1 means Brook is faster). Latency: Brook ÷ peer (below 1 means Brook is faster).');
  md.push('');
  md.push(`| workload | ${peers.join(' | ')} |`);
  md.push(`|---|${peers.map(() => '---').join('|')}|`);
  for (const m of metrics) {
    const b = summary.get(brookCol).get(m.key);
    md.push(
      `| ${m.label} | ${peers
        .map((c) => {
          const s = summary.get(c).get(m.key);
          return b && s && s.median > 0 ? `${(b.median / s.median).toFixed(2)}x` : '—';
        })
        .join(' | ')} |`,
    );
  }
  md.push('');
  md.push('## Goals (same run, medians)');
  md.push('');
  const brookCols = columns.filter((c) => c.startsWith('Brook'));
  const goalRows = brookCols.map((c) => checkGoals(summary, columns, c));
  md.push(`| goal | ${brookCols.map((c) => `${c} | met`).join(' | ')} |`);
  md.push(`|---|${brookCols.map(() => '---|---').join('|')}|`);
  GOALS.forEach((g, i) => md.push(`| ${g.goal} | ${goalRows.map((r) => `${r[i].measured} | ${r[i].met == null ? '—' : r[i].met ? 'yes' : '**no**'}`).join(' | ')} |`));
}
if (notes.length) {
  md.push('');
  md.push('## Notes');
  for (const n of notes) md.push(`- ${n}`);
}
md.push('');
md.push(`Peak RSS of the client process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB.`);

const outDir = opt.out ?? fileURLToPath(new URL('../results/', import.meta.url));
mkdirSync(outDir, { recursive: true });
const stamp = started.toISOString().replace(/[:.]/g, '-');
const base = `${outDir.replace(/\/$/, '')}/${stamp}${quick ? '-quick' : ''}`;
writeFileSync(`${base}.svg`, renderSvg({ title: `Brook benchmark suite ${started.toISOString()}${quick ? ' (quick)' : ''}`, metrics, columns, summary }));
md.push(`Chart: ![chart](${base.split('/').pop()}.svg)`);
writeFileSync(`${base}.md`, md.join('\n') + '\n');
log('\n' + md.join('\n'));
log(`\nwrote ${base}.md and ${base}.svg`);
