/**
 * The fault test's seeded choices (scripts/lib/chaos-faults.mjs): a seed gives the same plan of
 * kinds, partitions and timings every time, another seed another plan, and every value stays in
 * its range (pauses and partitions outlast the 2 s node session timeout).
 */
import { describe, expect, it } from 'vitest';

interface Plan {
  kind: string;
  partition: number;
  nodeIndex: number;
  gapMs: number;
  durationMs: number;
}
interface Rng {
  next(): number;
  int(lo: number, hi: number): number;
  pick<T>(arr: readonly T[]): T;
}
interface FaultsModule {
  FAULT_KINDS: string[];
  makeRng(seed: number): Rng;
  planFault(rng: Rng, kinds: string[], partitions: number, nodeCount: number): Plan;
}
const faults = (await import(new URL('../../scripts/lib/chaos-faults.mjs', import.meta.url).href)) as FaultsModule;

const plans = (seed: number, n: number, kinds = faults.FAULT_KINDS): Plan[] => {
  const rng = faults.makeRng(seed);
  return Array.from({ length: n }, () => faults.planFault(rng, kinds, 3, 3));
};

describe('chaos fault plan', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(plans(1, 20)).toEqual(plans(1, 20));
    expect(plans(2, 20)).not.toEqual(plans(1, 20));
  });

  it('draws every kind, in range; pauses and partitions outlast the session timeout', () => {
    const all = plans(7, 400);
    expect(new Set(all.map((p) => p.kind))).toEqual(new Set(faults.FAULT_KINDS));
    for (const p of all) {
      expect(p.partition).toBeGreaterThanOrEqual(0);
      expect(p.partition).toBeLessThan(3);
      expect(p.nodeIndex).toBeGreaterThanOrEqual(0);
      expect(p.nodeIndex).toBeLessThan(3);
      expect(p.gapMs).toBeGreaterThanOrEqual(1_500);
      expect(p.gapMs).toBeLessThanOrEqual(3_500);
      if (p.kind === 'pause' || p.kind === 'partition') expect(p.durationMs).toBeGreaterThan(2_000);
    }
    expect(new Set(plans(3, 50, ['kill']).map((p) => p.kind))).toEqual(new Set(['kill']));
  });
});
