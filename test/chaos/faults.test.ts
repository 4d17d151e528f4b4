/**
 * The fault test's seeded choices (scripts/lib/chaos-faults.mjs): a seed gives the same plan of
 * kinds, partitions and timings every time, another seed another plan; kinds come in shuffled
 * rounds (any four consecutive faults from a round boundary cover the four kinds); every value
 * stays in its range, and pauses and partitions outlast the 2 s node session timeout.
 */
import { describe, expect, it } from 'vitest';

interface Plan {
  kind: string;
  partition: number;
  nodeIndex: number;
  gapMs: number;
  durationMs: number;
}
interface FaultsModule {
  FAULT_KINDS: string[];
  makeRng: (seed: number) => { next: () => number; int: (lo: number, hi: number) => number };
  FaultPlanner: new (seed: number, kinds: string[], partitions: number, nodeCount: number) => { next: () => Plan };
}
const faults = (await import(new URL('../../scripts/lib/chaos-faults.mjs', import.meta.url).href)) as FaultsModule;

const plans = (seed: number, n: number, kinds = faults.FAULT_KINDS): Plan[] => {
  const planner = new faults.FaultPlanner(seed, kinds, 3, 3);
  return Array.from({ length: n }, () => planner.next());
};

describe('chaos fault plan', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(plans(1, 20)).toEqual(plans(1, 20));
    expect(plans(2, 20)).not.toEqual(plans(1, 20));
    const a = faults.makeRng(5);
    const b = faults.makeRng(5);
    for (let i = 0; i < 100; i++) expect(a.next()).toBe(b.next());
  });

  it('every round of four faults holds every kind once', () => {
    for (const seed of [1, 2, 3, 42]) {
      const all = plans(seed, 40);
      for (let i = 0; i < all.length; i += 4) expect(new Set(all.slice(i, i + 4).map((p) => p.kind))).toEqual(new Set(faults.FAULT_KINDS));
    }
    expect(new Set(plans(3, 10, ['kill']).map((p) => p.kind))).toEqual(new Set(['kill']));
  });

  it('stays in range; pauses and partitions outlast the session timeout', () => {
    for (const p of plans(7, 400)) {
      expect(p.partition).toBeGreaterThanOrEqual(0);
      expect(p.partition).toBeLessThan(3);
      expect(p.nodeIndex).toBeGreaterThanOrEqual(0);
      expect(p.nodeIndex).toBeLessThan(3);
      expect(p.gapMs).toBeGreaterThanOrEqual(1_500);
      expect(p.gapMs).toBeLessThanOrEqual(3_500);
      expect(p.durationMs).toBeGreaterThanOrEqual(1_000);
      expect(p.durationMs).toBeLessThanOrEqual(6_000);
      if (p.kind === 'pause' || p.kind === 'partition') expect(p.durationMs).toBeGreaterThan(2_000);
    }
  });
});
