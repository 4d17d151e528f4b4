/**
 * Record batches that follow each other in a log but not in memory: the batch cache's batches
 * of one partition, each in the buffer it was appended in. An encoder writes the parts one after
 * another (the gateway hands the large ones to the socket as they are), so the batches are never
 * joined into one buffer on the main thread. Decoding always yields one Buffer.
 */
export class RecordSet {
  readonly length: number;

  constructor(readonly parts: readonly Buffer[]) {
    let n = 0;
    for (const p of parts) n += p.length;
    this.length = n;
  }
}

/** What an encoder accepts for a `records` field. */
export type Records = Buffer | RecordSet;
