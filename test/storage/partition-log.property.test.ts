import fc from 'fast-check';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { setBaseOffset, setPartitionLeaderEpoch } from '../../src/storage/record-batch.js';
import { StorageError } from '../../src/storage/storage-error.js';
import { batchOf, useTempLogs } from './helpers.js';

const temp = useTempLogs();

/** The reference model: a list of contiguous batches with their expected stored bytes. */
interface Model {
  batches: Array<{ base: number; last: number; bytes: Buffer }>;
  logStartOffset: number;
  logEndOffset: number;
}

type Op =
  | { kind: 'append'; counts: number[] }
  | { kind: 'appendMany'; items: Array<{ counts: number[]; corrupt: boolean }> }
  | { kind: 'truncate'; back: number }
  | { kind: 'delete'; ahead: number }
  | { kind: 'read'; at: number; maxBytes: number }
  | { kind: 'reopen' };

const countsArb = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('append' as const), counts: countsArb }), weight: 4 },
  {
    arbitrary: fc.record({
      kind: fc.constant('appendMany' as const),
      items: fc.array(fc.record({ counts: countsArb, corrupt: fc.boolean() }), { minLength: 1, maxLength: 4 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('truncate' as const), back: fc.integer({ min: -2, max: 12 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), ahead: fc.integer({ min: -2, max: 14 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('read' as const), at: fc.nat(40), maxBytes: fc.integer({ min: 0, max: 600 }) }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'reopen' as const }), weight: 1 },
);

function makeItem(counts: number[], corrupt: boolean): Buffer {
  const item = Buffer.concat(counts.map((n) => batchOf(n)));
  if (corrupt) item[item.length - 1]! ^= 0x5a;
  return item;
}

function modelAppend(model: Model, counts: number[]): { baseOffset: number; lastOffset: number } {
  const baseOffset = model.logEndOffset;
  for (const n of counts) {
    const bytes = batchOf(n);
    setBaseOffset(bytes, model.logEndOffset);
    setPartitionLeaderEpoch(bytes, 0);
    model.batches.push({ base: model.logEndOffset, last: model.logEndOffset + n - 1, bytes });
    model.logEndOffset += n;
  }
  return { baseOffset, lastOffset: model.logEndOffset - 1 };
}

function modelTruncate(model: Model, offset: number): void {
  if (offset >= model.logEndOffset) return;
  model.batches = model.batches.filter((b) => b.last < offset);
  if (offset < model.logStartOffset) model.logStartOffset = offset;
  model.logEndOffset = model.batches.at(-1) ? model.batches.at(-1)!.last + 1 : model.logStartOffset;
}

function modelDelete(model: Model, offset: number): void {
  if (offset <= model.logStartOffset) return;
  model.batches = model.batches.filter((b) => b.last >= offset);
  model.logStartOffset = offset;
}

function modelRead(model: Model, at: number, maxBytes: number): Buffer[] {
  const out: Buffer[] = [];
  let bytes = 0;
  for (const b of model.batches) {
    if (b.last < at) continue;
    if (out.length > 0 && bytes + b.bytes.length > maxBytes) break;
    out.push(b.bytes);
    bytes += b.bytes.length;
  }
  return out;
}

function checkAgainstModel(log: PartitionLog, model: Model): void {
  expect([log.logStartOffset, log.logEndOffset, log.highWatermark]).toEqual([model.logStartOffset, model.logEndOffset, model.logEndOffset]);
  expect(log.sizeBytes).toBe(model.batches.reduce((sum, b) => sum + b.bytes.length, 0));
  const all = log.read(model.logStartOffset, Number.MAX_SAFE_INTEGER).batches;
  expect(Buffer.concat(all).equals(Buffer.concat(model.batches.map((b) => b.bytes)))).toBe(true);
}

function run(path: string, ops: Op[]): void {
  let log = PartitionLog.open({ path });
  const model: Model = { batches: [], logStartOffset: 0, logEndOffset: 0 };
  try {
    for (const op of ops) {
      log = step(log, model, op, path);
      checkAgainstModel(log, model);
    }
  } finally {
    log.close();
  }
}

function step(log: PartitionLog, model: Model, op: Op, path: string): PartitionLog {
  switch (op.kind) {
    case 'append':
      expect(log.append(makeItem(op.counts, false))).toMatchObject(modelAppend(model, op.counts));
      return log;
    case 'appendMany': {
      const results = log.appendMany(op.items.map((i) => makeItem(i.counts, i.corrupt)));
      op.items.forEach((item, i) => {
        if (item.corrupt) expect((results[i] as StorageError).code).toBe('CORRUPT_MESSAGE');
        else expect(results[i]).toMatchObject(modelAppend(model, item.counts));
      });
      return log;
    }
    case 'truncate': {
      const offset = Math.max(0, model.logEndOffset - op.back);
      log.truncateTo(offset);
      modelTruncate(model, offset);
      return log;
    }
    case 'delete': {
      const offset = Math.max(0, model.logStartOffset + op.ahead);
      if (offset > model.logEndOffset) {
        expect(() => log.deleteRecordsBefore(offset)).toThrow(StorageError);
        return log;
      }
      modelDelete(model, offset);
      expect(log.deleteRecordsBefore(offset)).toBe(model.logStartOffset);
      return log;
    }
    case 'read': {
      const at = model.logStartOffset + (op.at % (model.logEndOffset - model.logStartOffset + 1));
      expect(log.read(at, op.maxBytes).batches).toEqual(modelRead(model, at, op.maxBytes));
      return log;
    }
    case 'reopen':
      log.close();
      return PartitionLog.open({ path });
  }
}

describe('PartitionLog against an in-memory model', () => {
  it('agrees after random appends, group commits, truncations, deletions, reads and reopens', () => {
    let runIndex = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), (ops) => {
        run(join(temp.dir(), `model-${runIndex++}.db`), ops);
      }),
      { numRuns: 60 },
    );
  });
});
