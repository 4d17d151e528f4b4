/**
 * Idempotent-producer state of one partition, following Kafka's ProducerStateManager and
 * ProducerAppendInfo: per producer id, its current epoch and the sequence/offset ranges of
 * its last five batches, used to detect duplicates and gaps.
 *
 * Changes are made by replacing whole entries and recorded on an undo stack, so the owner
 * can stage one item of a group commit, roll that item back if it fails (mark/rollbackTo),
 * and roll back everything if the transaction fails. Not thread-safe: owned by the
 * PartitionLog of one partition actor.
 */
import { producerBatchesRemembered } from './limits.js';
import { type BatchHeader, lastSequenceOf } from './record-batch.js';
import { StorageError } from './storage-error.js';

const maxInt32 = 0x7fffffff;

export interface ProducerBatchMetadata {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
  lastOffset: number;
}

export interface ProducerEntry {
  producerId: number;
  producerEpoch: number;
  /** Oldest first, at most producerBatchesRemembered, all written under producerEpoch. */
  batches: readonly ProducerBatchMetadata[];
  lastTimestampMs: number;
}

/** Outcome of checking a batch that passed: either new state to record, or a duplicate. */
export type ProducerCheck = { kind: 'append'; entry: ProducerEntry } | { kind: 'duplicate'; original: ProducerBatchMetadata };

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === maxInt32);
}

export class ProducerStateTable {
  private readonly entries = new Map<number, ProducerEntry>();
  private readonly undo: Array<{ producerId: number; previous: ProducerEntry | undefined }> = [];

  get size(): number {
    return this.entries.size;
  }

  get(producerId: number): ProducerEntry | undefined {
    return this.entries.get(producerId);
  }

  all(): IterableIterator<ProducerEntry> {
    return this.entries.values();
  }

  /**
   * Checks a data batch (producerId >= 0) that would be appended at `baseOffset`, with
   * Kafka's rules: a batch matching one of the remembered sequence ranges under the same
   * epoch is a duplicate; a lower epoch is fenced (INVALID_PRODUCER_EPOCH); a higher epoch
   * must start at sequence 0; the same epoch must continue at lastSeq + 1 (wrapping after
   * 2^31 - 1). An unknown producer (new, or whose state was removed by retention or
   * truncation) may start at any sequence, as in Kafka since KIP-360.
   */
  check(h: BatchHeader, baseOffset: number, nowMs: number): ProducerCheck {
    const current = this.entries.get(h.producerId);
    const lastSeq = lastSequenceOf(h);
    if (current && h.producerEpoch === current.producerEpoch) {
      const original = current.batches.find((b) => b.firstSeq === h.baseSequence && b.lastSeq === lastSeq);
      if (original) return { kind: 'duplicate', original };
    }
    this.checkEpochAndSequence(h, current);
    const meta = { firstSeq: h.baseSequence, lastSeq, baseOffset, lastOffset: baseOffset + h.lastOffsetDelta };
    const kept = current && current.producerEpoch === h.producerEpoch ? current.batches : [];
    const batches = [...kept, meta].slice(-producerBatchesRemembered);
    return { kind: 'append', entry: { producerId: h.producerId, producerEpoch: h.producerEpoch, batches, lastTimestampMs: nowMs } };
  }

  private checkEpochAndSequence(h: BatchHeader, current: ProducerEntry | undefined): void {
    if (!current) return;
    if (h.producerEpoch < current.producerEpoch) {
      throw new StorageError('INVALID_PRODUCER_EPOCH', `producer ${h.producerId} epoch ${h.producerEpoch} is older than the current epoch ${current.producerEpoch}`);
    }
    if (h.producerEpoch > current.producerEpoch) {
      if (h.baseSequence !== 0) {
        throw new StorageError('OUT_OF_ORDER_SEQUENCE_NUMBER', `producer ${h.producerId} new epoch ${h.producerEpoch} must start at sequence 0, not ${h.baseSequence}`);
      }
      return;
    }
    const last = current.batches[current.batches.length - 1];
    if (last && !inSequence(last.lastSeq, h.baseSequence)) {
      throw new StorageError('OUT_OF_ORDER_SEQUENCE_NUMBER', `producer ${h.producerId} epoch ${h.producerEpoch}: sequence ${h.baseSequence} does not follow ${last.lastSeq}`);
    }
  }

  /**
   * A follower's update for a data batch copied from the leader at its own offsets (Kafka's
   * ProducerAppendInfo with origin REPLICATION): the leader already applied the rules, so
   * nothing is rejected; the batch becomes the producer's latest, kept with the batches before
   * it under the same epoch, exactly as check() records it on the leader. A batch under another
   * epoch starts the producer's list afresh. Returns the new entry, for put().
   */
  replicated(h: BatchHeader, nowMs: number): ProducerEntry {
    const current = this.entries.get(h.producerId);
    const meta = { firstSeq: h.baseSequence, lastSeq: lastSequenceOf(h), baseOffset: h.baseOffset, lastOffset: h.baseOffset + h.lastOffsetDelta };
    const kept = current && current.producerEpoch === h.producerEpoch ? current.batches : [];
    const batches = [...kept, meta].slice(-producerBatchesRemembered);
    return { producerId: h.producerId, producerEpoch: h.producerEpoch, batches, lastTimestampMs: nowMs };
  }

  /** Control batches (transaction markers) are only fenced by epoch; sequences do not apply. */
  checkControl(h: BatchHeader): void {
    const current = this.entries.get(h.producerId);
    if (current && h.producerEpoch < current.producerEpoch) {
      throw new StorageError('INVALID_PRODUCER_EPOCH', `marker epoch ${h.producerEpoch} is older than ${current.producerEpoch}`);
    }
  }

  /** Replaces (or with undefined, removes) an entry, remembering the previous one for rollback. */
  put(producerId: number, entry: ProducerEntry | undefined): void {
    this.undo.push({ producerId, previous: this.entries.get(producerId) });
    if (entry) this.entries.set(producerId, entry);
    else this.entries.delete(producerId);
  }

  /** Loads a persisted entry without recording undo (recovery). */
  load(entry: ProducerEntry): void {
    this.entries.set(entry.producerId, entry);
  }

  mark(): number {
    return this.undo.length;
  }

  rollbackTo(mark: number): void {
    while (this.undo.length > mark) {
      const { producerId, previous } = this.undo.pop()!;
      if (previous) this.entries.set(producerId, previous);
      else this.entries.delete(producerId);
    }
  }

  /** Producer ids changed since `mark`, to persist in the same transaction. */
  changedSince(mark: number): Set<number> {
    const ids = new Set<number>();
    for (let i = mark; i < this.undo.length; i++) ids.add(this.undo[i]!.producerId);
    return ids;
  }

  /** Forgets the undo history once the changes are committed. */
  commit(): void {
    this.undo.length = 0;
  }

  /** After truncation to `logEndOffset`: forget batches at or past it; drop producers left with none. */
  truncate(logEndOffset: number): void {
    for (const entry of [...this.entries.values()]) {
      const batches = entry.batches.filter((b) => b.lastOffset < logEndOffset);
      if (batches.length === entry.batches.length) continue;
      this.put(entry.producerId, batches.length > 0 ? { ...entry, batches } : undefined);
    }
  }

  /** As Kafka's truncateHead: producers whose last batch is wholly before logStartOffset are removed. */
  retainFrom(logStartOffset: number): void {
    for (const entry of [...this.entries.values()]) {
      const last = entry.batches[entry.batches.length - 1];
      if (!last || last.lastOffset < logStartOffset) this.put(entry.producerId, undefined);
    }
  }
}
