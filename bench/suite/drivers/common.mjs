// Helpers shared by the drivers.

/**
 * Records each producing client keeps outstanding (sent, not yet acknowledged): 32 sends or
 * pipelines of 1000 records. The same for every system, and deep enough that none is limited by
 * the benchmark's closed loop rather than by itself: Redis is saturated from 8 pipelines (690k
 * XADD/s at 8, 32 and 64 here), while a Kafka producer batches what is outstanding, so 8 x 1000
 * held Brook's client to one round trip per ~8000 records (1.3-1.5M rec/s at 8 sends, 1.8-1.9M
 * at 32 and 64). 32,000 x 1 KiB is Kafka's default buffer.memory (32 MiB).
 */
export const RECORDS_IN_FLIGHT = 32_000;

/** Runs `lanes` concurrent loops of `step(k)` until `total` steps were taken; k counts up from 0. */
export async function lanes(n, total, step) {
  let next = 0;
  const lane = async () => {
    while (next < total) await step(next++);
  };
  await Promise.all(Array.from({ length: Math.min(n, total) }, lane));
}

/** Records per 16 KiB producer batch for a record size (the Kafka record overhead is ~8-12 B). */
export function perBatch(size) {
  return Math.max(1, Math.floor(16384 / (size + 12)));
}

/**
 * The batches a producing client sends: each partition's share of `count` cut into runs of at
 * most `per` records, ordered round robin over the partitions ({ p, n } per batch).
 */
export function batchPlan(count, partitions, per) {
  const plan = [];
  for (let p = 0; p < partitions; p++) {
    let left = share(count, partitions, p);
    for (let k = 0; left > 0; k++) {
      const n = Math.min(per, left);
      plan.push({ p, n, k });
      left -= n;
    }
  }
  return plan.sort((a, b) => a.k - b.k || a.p - b.p);
}

/** Splits `count` records over `partitions`: records of partition p. */
export function share(count, partitions, p) {
  return Math.floor(count / partitions) + (p < count % partitions ? 1 : 0);
}
