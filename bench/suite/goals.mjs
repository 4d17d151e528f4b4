// Brook's goals from issue 9, checked against the medians of one run (1 partition workloads).
import { fmtNum } from './lib/stats.mjs';

export const GOALS = [
  { goal: 'produce 100 B ≥ 700k rec/s', metric: 'produce 100 B x1', unit: 'rec/s', test: (v) => v >= 700_000 },
  { goal: 'produce 100 B ≥ 2x Redis (raw client)', metric: 'produce 100 B x1', unit: 'rec/s', peer: /^Redis.*raw RESP/, test: (v, peer) => v >= 2 * peer },
  { goal: 'produce 1 KiB ≥ 150 MB/s', metric: 'produce 1 KiB x1', unit: 'MB/s', test: (v) => v >= 150 },
  { goal: 'consume 100 B ≥ 3M rec/s', metric: 'consume 100 B x1', unit: 'rec/s', test: (v) => v >= 3_000_000 },
  { goal: 'consume 1 KiB ≥ 400 MB/s', metric: 'consume 1 KiB x1', unit: 'MB/s', test: (v) => v >= 400 },
  { goal: 'single-record ack p99 ≤ 1.5 ms at 20k rec/s', metric: 'ack 20000 p99', unit: 'ms', test: (v) => v <= 1.5 },
];

export function checkGoals(summary, columns, brookCol) {
  return GOALS.map((g) => {
    const b = summary.get(brookCol)?.get(g.metric);
    if (!b) return { goal: g.goal, measured: '—', met: null };
    if (g.peer) {
      const pc = columns.find((c) => g.peer.test(c));
      const p = pc && summary.get(pc).get(g.metric);
      if (!p) return { goal: g.goal, measured: `${fmtNum(b.median, g.unit)} ${g.unit}; peer not measured`, met: null };
      return {
        goal: g.goal,
        measured: `${fmtNum(b.median, g.unit)} vs ${fmtNum(p.median, g.unit)} ${g.unit} (${(b.median / p.median).toFixed(2)}x)`,
        met: g.test(b.median, p.median),
      };
    }
    return { goal: g.goal, measured: `${fmtNum(b.median, g.unit)} ${g.unit}`, met: g.test(b.median) };
  });
}
