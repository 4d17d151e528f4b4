/**
 * The fault test, short and seeded, as CI runs it: `node scripts/chaos.mjs --seconds 30 --seed 1
 * --faults kill,pause,partition,etcd-restart --json` (three nodes on etcd, idempotent acks=all
 * producers to a replication-factor-3, min.insync.replicas=2 topic, seeded faults). It must exit
 * 0 with every anomaly count 0, having injected faults and received acks. Skipped without etcd
 * (Debian etcd-server); without nft (Debian nftables) or cgroup v2 the tool itself leaves out the
 * partition fault and says so in its notes.
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeIf, run } from '../helpers/clients.js';
import { etcdRequirement } from '../helpers/etcd.js';
import { checker, type Anomaly, type CheckResult } from './checker-module.js';

const CHAOS = fileURLToPath(new URL('../../scripts/chaos.mjs', import.meta.url));
const ARGS = ['--seconds', '30', '--seed', '1', '--faults', 'kill,pause,partition,etcd-restart', '--json'];
/** 30 s of faults, the start, the producers' drain (20 s delivery timeout), convergence, two reads and the stop. */
const RUN_TIMEOUT_MS = 240_000;

interface Summary {
  ok: boolean;
  seed: number;
  notes: string[];
  faults: { at: number; kind: string; node: number | null; note: string }[];
  producers: { producer: string; sent: number; acked: number; failed: number; unknown: number }[];
  counts: CheckResult['counts'];
  examples: CheckResult['examples'];
  totals: CheckResult['totals'];
  dir: string;
  repeat: string;
}

describeIf(etcdRequirement(), 'chaos: a seeded fault run loses, duplicates and reorders nothing', () => {
  it(
    `node scripts/chaos.mjs ${ARGS.join(' ')}`,
    async () => {
      const r = await run(process.execPath, [CHAOS, ...ARGS], { timeoutMs: RUN_TIMEOUT_MS });
      const context = `exit ${r.code}${r.signal ? ` signal ${r.signal}` : ''}${r.timedOut ? ' (timed out)' : ''}\n--- stderr (end) ---\n${r.stderr.slice(-6000)}`;
      let summary: Summary;
      try {
        summary = JSON.parse(r.stdout) as Summary;
      } catch {
        throw new Error(`no JSON summary on stdout\n--- stdout ---\n${r.stdout.slice(-3000)}\n${context}`);
      }
      const table = `${checker.formatReport(summary)}\nfaults: ${JSON.stringify(summary.faults)}\nnotes: ${summary.notes.join('; ')}\nlogs: ${summary.dir}\nrepeat: ${summary.repeat}`;
      expect(summary.faults.length, `faults injected\n${table}`).toBeGreaterThan(0);
      expect(summary.totals.acked, `acknowledged writes\n${table}`).toBeGreaterThan(0);
      const anomalies = Object.fromEntries(checker.ANOMALIES.map(([k]: [Anomaly, string]) => [k, summary.counts[k]]));
      expect(anomalies, `anomaly counts\n${table}\n${context}`).toEqual(Object.fromEntries(checker.ANOMALIES.map(([k]) => [k, 0])));
      expect(r.code, context).toBe(0);
      expect(summary.ok).toBe(true);
    },
    RUN_TIMEOUT_MS + 20_000,
  );
});
