/**
 * The default partitioner: a keyed record goes to toPositive(murmur2(key)) % numPartitions,
 * exactly as the Java client's BuiltInPartitioner and kafkajs's DefaultPartitioner compute it,
 * so producers in different languages agree on where a key lives. Records without a key stick
 * to one partition until its batch is sent (Java's sticky partitioning, KIP-480), which keeps
 * batches full instead of spreading a few records over every partition.
 */

/** Kafka's Utils.murmur2 (seed 0x9747b28c), returned as a signed 32-bit integer like Java's. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  // The 1-3 tail bytes, as Java's switch with fall-through does them.
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which differs for MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition of a key among `numPartitions`, as every Java-compatible client computes it. */
export function partitionForKey(key: Uint8Array | string, numPartitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return toPositive(murmur2(bytes)) % numPartitions;
}

export interface PartitionerInput {
  topic: string;
  key: Uint8Array | string | null | undefined;
  numPartitions: number;
}

/** A custom partitioner returns a partition number, or -1 for "no preference" (sticky). */
export type Partitioner = (input: PartitionerInput) => number;

export const defaultPartitioner: Partitioner = ({ key, numPartitions }) => (key === null || key === undefined ? -1 : partitionForKey(key, numPartitions));
