// The fault test's seeded choices (scripts/chaos.mjs): a small PRNG (mulberry32) and the plans of
// faults drawn from it. Every fault draws the same number of values whatever its kind, so a seed
// gives the same sequence of kinds, partitions and timings on every run (which node is hit
// follows from the partition's leader at that moment).

export const FAULT_KINDS = ['kill', 'pause', 'partition', 'etcd-restart'];

/** A PRNG with next() in [0, 1), int(lo, hi) inclusive and pick(array). */
export function makeRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
  };
}

/**
 * Seeded fault plans. Kinds come in rounds, each round every kind once in a shuffled order, so a
 * short run still sees every kind (four faults cover four kinds).
 */
export class FaultPlanner {
  constructor(seed, kinds, partitions, nodeCount) {
    this.rng = makeRng(seed);
    this.kinds = [...kinds];
    this.partitions = partitions;
    this.nodeCount = nodeCount;
    this.bag = [];
  }

  /**
   * The next fault: { kind, partition, nodeIndex, gapMs, durationMs }. `partition` names whose
   * leader to hit; `nodeIndex` is the fallback when that partition has no leader. `gapMs` is the
   * quiet time before it, `durationMs` how long the node stays dead, paused or cut off (etcd: down).
   */
  next() {
    const rng = this.rng;
    if (this.bag.length === 0) {
      this.bag = [...this.kinds];
      for (let i = this.bag.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [this.bag[i], this.bag[j]] = [this.bag[j], this.bag[i]];
      }
    }
    const kind = this.bag.shift();
    const partition = rng.int(0, this.partitions - 1);
    const nodeIndex = rng.int(0, this.nodeCount - 1);
    const gapMs = rng.int(1_500, 3_500);
    const u = rng.next();
    const range = { 'kill': [2_000, 5_000], 'pause': [3_000, 6_000], 'partition': [3_000, 6_000], 'etcd-restart': [1_000, 3_000] }[kind];
    const durationMs = Math.round(range[0] + u * (range[1] - range[0]));
    return { kind, partition, nodeIndex, gapMs, durationMs };
  }
}
