// Helpers shared by the drivers.

/** Runs `lanes` concurrent loops of `step(k)` until `total` steps were taken; k counts up from 0. */
export async function lanes(n, total, step) {
  let next = 0;
  const lane = async () => { while (next < total) await step(next++); };
  await Promise.all(Array.from({ length: Math.min(n, total) }, lane));
}

/** Records per 16 KiB producer batch for a record size (the Kafka record overhead is ~8-12 B). */
export function perBatch(size) { return Math.max(1, Math.floor(16384 / (size + 12))); }

/** Splits `count` records over `partitions`: records of partition p. */
export function share(count, partitions, p) { return Math.floor(count / partitions) + (p < count % partitions ? 1 : 0); }
