import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageError, type StorageErrorCode } from '../../src/storage/storage-error.js';
import { batchOf, useTempLogs } from './helpers.js';

const temp = useTempLogs();

function codeOf(fn: () => unknown): StorageErrorCode | 'none' {
  try {
    fn();
  } catch (err) {
    if (err instanceof StorageError) return err.code;
    throw err;
  }
  return 'none';
}

const pid = 77;
const produce = (producerEpoch: number, baseSequence: number, count = 2) => batchOf(count, { producerId: pid, producerEpoch, baseSequence });

describe('idempotent producers', () => {
  it('a retried batch is a duplicate answered with its original offsets and not stored again', () => {
    const log = temp.open();
    log.append(produce(0, 0));
    log.append(produce(0, 2));
    const size = log.sizeBytes;
    expect(log.append(produce(0, 0))).toMatchObject({ baseOffset: 0, lastOffset: 1, duplicate: true });
    expect(log.append(produce(0, 2))).toMatchObject({ baseOffset: 2, lastOffset: 3, duplicate: true });
    expect([log.logEndOffset, log.sizeBytes]).toEqual([4, size]);
    expect(log.append(produce(0, 4))).toMatchObject({ baseOffset: 4, duplicate: false });
  });

  it('remembers only the last five batches', () => {
    const log = temp.open();
    for (let i = 0; i < 6; i++) log.append(produce(0, i * 2));
    expect(log.producerState(pid)!.batches.map((b) => b.firstSeq)).toEqual([2, 4, 6, 8, 10]);
    expect(log.append(produce(0, 2))).toMatchObject({ duplicate: true, baseOffset: 2 });
    expect(codeOf(() => log.append(produce(0, 0)))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
  });

  it('a sequence gap or a step back is OUT_OF_ORDER_SEQUENCE_NUMBER', () => {
    const log = temp.open();
    log.append(produce(0, 0));
    expect(codeOf(() => log.append(produce(0, 3)))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(codeOf(() => log.append(produce(0, 1)))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(log.logEndOffset).toBe(2);
  });

  it('a lower epoch is fenced with INVALID_PRODUCER_EPOCH; a higher one must restart at 0', () => {
    const log = temp.open();
    log.append(produce(1, 0));
    expect(codeOf(() => log.append(produce(0, 2)))).toBe('INVALID_PRODUCER_EPOCH');
    expect(codeOf(() => log.append(produce(2, 5)))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(log.append(produce(2, 0))).toMatchObject({ baseOffset: 2, duplicate: false });
    expect(codeOf(() => log.append(produce(1, 2)))).toBe('INVALID_PRODUCER_EPOCH');
    // A bumped epoch forgets the old epoch's batches: the same range is new data, not a duplicate.
    expect(log.producerState(pid)).toMatchObject({ producerEpoch: 2, batches: [{ firstSeq: 0, lastSeq: 1, baseOffset: 2 }] });
  });

  it('an unknown producer may start at any sequence (Kafka since KIP-360)', () => {
    const log = temp.open();
    expect(log.append(produce(0, 40)).duplicate).toBe(false);
    expect(log.append(produce(0, 42)).duplicate).toBe(false);
  });

  it('sequences wrap from 2^31 - 1 to 0', () => {
    const log = temp.open();
    log.append(produce(0, 0x7fffffff - 1)); // covers 2^31-2 and 2^31-1
    expect(log.append(produce(0, 0)).duplicate).toBe(false);
    const wrapping = temp.open();
    wrapping.append(produce(0, 0x7fffffff, 3)); // covers 2^31-1, 0, 1
    expect(wrapping.producerState(pid)!.batches[0]!.lastSeq).toBe(1);
    expect(wrapping.append(produce(0, 2)).duplicate).toBe(false);
  });

  it('several batches of one producer in one append are checked in order, all or nothing', () => {
    const log = temp.open();
    expect(log.append(Buffer.concat([produce(0, 0), produce(0, 2)]))).toMatchObject({ baseOffset: 0, lastOffset: 3 });
    expect(codeOf(() => log.append(Buffer.concat([produce(0, 4), produce(0, 9)])))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(log.logEndOffset).toBe(4);
    expect(log.producerState(pid)!.batches.at(-1)!.lastSeq).toBe(3);
  });

  it('producer state survives close and reopen', () => {
    const path = join(temp.dir(), 'p.db');
    const log = temp.open({ path });
    log.append(produce(3, 0));
    log.append(produce(3, 2));
    log.append(batchOf(1, { producerId: 5, producerEpoch: 0, baseSequence: 10 }));
    log.close();
    const reopened = temp.open({ path });
    expect(reopened.append(produce(3, 2))).toMatchObject({ baseOffset: 2, duplicate: true });
    expect(codeOf(() => reopened.append(produce(2, 4)))).toBe('INVALID_PRODUCER_EPOCH');
    expect(codeOf(() => reopened.append(produce(3, 6)))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(reopened.append(batchOf(1, { producerId: 5, producerEpoch: 0, baseSequence: 11 })).duplicate).toBe(false);
  });

  it('truncation drops batch entries past the new end, and producers left with none', () => {
    const path = join(temp.dir(), 'p.db');
    const log = temp.open({ path });
    log.append(produce(0, 0)); // 0-1
    log.append(produce(0, 2)); // 2-3
    log.append(batchOf(2, { producerId: 8, producerEpoch: 0, baseSequence: 0 })); // 4-5
    log.truncateTo(2);
    expect(log.producerState(pid)!.batches.map((b) => b.lastOffset)).toEqual([1]);
    expect(log.producerState(8)).toBeUndefined();
    log.close();
    const reopened = temp.open({ path });
    expect(reopened.producerState(8)).toBeUndefined();
    expect(reopened.append(produce(0, 2))).toMatchObject({ baseOffset: 2, duplicate: false });
  });

  it('deleteRecordsBefore removes producers whose last batch is below logStartOffset', () => {
    const log = temp.open();
    log.append(produce(0, 0)); // 0-1
    log.append(batchOf(2, { producerId: 8, producerEpoch: 0, baseSequence: 0 })); // 2-3
    log.deleteRecordsBefore(2);
    expect(log.producerState(pid)).toBeUndefined();
    expect(log.producerState(8)).toBeDefined();
  });

  it('transaction markers are accepted from the coordinator and fenced by epoch', () => {
    const log = temp.open();
    log.append(batchOf(2, { producerId: pid, producerEpoch: 1, baseSequence: 0, isTransactional: true }));
    const marker = (epoch: number) => batchOf(1, { producerId: pid, producerEpoch: epoch, baseSequence: -1, isTransactional: true, isControl: true });
    expect(codeOf(() => log.append(marker(0), { origin: 'coordinator' }))).toBe('INVALID_PRODUCER_EPOCH');
    expect(log.append(marker(1), { origin: 'coordinator' }).baseOffset).toBe(2);
  });
});
