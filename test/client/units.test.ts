/**
 * Pure parts of the client without a broker: the three assignors (balance, stability,
 * cooperative hand-over rule), the batch encoder against the storage layer's validating parser,
 * and the decoder's read_committed filtering of aborted transactions and control batches.
 */
import { describe, expect, it } from 'vitest';
import { cooperativeStickyAssignor, rangeAssignor, roundRobinAssignor, type MemberSubscription } from '../../src/client/assignors.js';
import { inspect } from 'node:util';
import { crc32c } from '@node-rs/crc32';
import { BatchBuilder, decodeBatches, FetchedRecord } from '../../src/client/record-batch.js';
import { buildBatch, iterateRecords, parseBatchHeader } from '../../src/storage/record-batch.js';

const member = (memberId: string, topics: string[], owned: [string, number][] = [], generationId = 1): MemberSubscription => ({
  memberId,
  topics,
  ownedPartitions: owned.map(([topic, partition]) => ({ topic, partition })),
  generationId,
});
const sizes = (a: Map<string, unknown[]>) => [...a.values()].map((l) => l.length);
const flat = (a: Map<string, { topic: string; partition: number }[]>) =>
  [...a.values()]
    .flat()
    .map((tp) => `${tp.topic}-${tp.partition}`)
    .sort();

describe('assignors', () => {
  const counts = new Map([
    ['a', 5],
    ['b', 3],
  ]);
  const members = [member('m2', ['a', 'b']), member('m1', ['a', 'b']), member('m3', ['a'])];

  it('range gives consecutive ranges per topic, extras to the first members by id', () => {
    const r = rangeAssignor.assign(members, counts);
    expect(r.get('m1')).toEqual([
      { topic: 'a', partition: 0 },
      { topic: 'a', partition: 1 },
      { topic: 'b', partition: 0 },
      { topic: 'b', partition: 1 },
    ]);
    expect(r.get('m2')).toEqual([
      { topic: 'a', partition: 2 },
      { topic: 'a', partition: 3 },
      { topic: 'b', partition: 2 },
    ]);
    expect(r.get('m3')).toEqual([{ topic: 'a', partition: 4 }]);
  });

  it('roundrobin deals every partition once, skipping members not subscribed', () => {
    const r = roundRobinAssignor.assign(members, counts);
    expect(flat(r)).toEqual(['a-0', 'a-1', 'a-2', 'a-3', 'a-4', 'b-0', 'b-1', 'b-2']);
    expect(r.get('m3')!.every((tp) => tp.topic === 'a')).toBe(true);
    // Java's RoundRobinAssignor: one circular deal over members sorted by id.
    expect(r.get('m1')!.map((tp) => `${tp.topic}-${tp.partition}`)).toEqual(['a-0', 'a-3', 'b-0', 'b-2']);
    expect(r.get('m2')!.map((tp) => `${tp.topic}-${tp.partition}`)).toEqual(['a-1', 'a-4', 'b-1']);
    expect(r.get('m3')!.map((tp) => `${tp.topic}-${tp.partition}`)).toEqual(['a-2']);
  });

  it('cooperative-sticky balances a new group', () => {
    const r = cooperativeStickyAssignor.assign([member('x', ['t']), member('y', ['t']), member('z', ['t'])], new Map([['t', 6]]));
    expect(sizes(r)).toEqual([2, 2, 2]);
    expect(flat(r)).toEqual(['t-0', 't-1', 't-2', 't-3', 't-4', 't-5']);
  });

  it('cooperative-sticky keeps owners and withholds moving partitions for one round', () => {
    const counts6 = new Map([['t', 6]]);
    // x owned everything; y and z join. x keeps 2; the 4 it must give up are not handed out yet.
    const round1 = cooperativeStickyAssignor.assign(
      [
        member(
          'x',
          ['t'],
          [
            ['t', 0],
            ['t', 1],
            ['t', 2],
            ['t', 3],
            ['t', 4],
            ['t', 5],
          ],
        ),
        member('y', ['t']),
        member('z', ['t']),
      ],
      counts6,
    );
    expect(round1.get('x')!.length).toBe(2);
    expect(round1.get('y')).toEqual([]);
    expect(round1.get('z')).toEqual([]);
    // After x revokes and everyone rejoins, the released partitions go to y and z.
    const kept = round1.get('x')!.map((tp) => [tp.topic, tp.partition] as [string, number]);
    const round2 = cooperativeStickyAssignor.assign([member('x', ['t'], kept, 2), member('y', ['t'], [], 2), member('z', ['t'], [], 2)], counts6);
    expect(round2.get('x')).toEqual(round1.get('x'));
    expect(sizes(round2)).toEqual([2, 2, 2]);
    expect(flat(round2)).toEqual(['t-0', 't-1', 't-2', 't-3', 't-4', 't-5']);
  });

  it('cooperative-sticky: when a member leaves, survivors keep theirs and take its partitions', () => {
    const r = cooperativeStickyAssignor.assign(
      [
        member(
          'x',
          ['t'],
          [
            ['t', 0],
            ['t', 1],
          ],
        ),
        member(
          'y',
          ['t'],
          [
            ['t', 2],
            ['t', 3],
          ],
        ),
      ],
      new Map([['t', 6]]),
    );
    expect(r.get('x')!.slice(0, 2)).toEqual([
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ]);
    expect(r.get('y')!.slice(0, 2)).toEqual([
      { topic: 't', partition: 2 },
      { topic: 't', partition: 3 },
    ]);
    expect(sizes(r)).toEqual([3, 3]);
  });
});

describe('record batches', () => {
  it('the encoder writes batches the storage layer validates (CRC, counts, producer fields)', async () => {
    const b = new BatchBuilder(64 * 1024);
    for (let i = 0; i < 100; i++) expect(b.tryAppend(i % 2 ? `k${i}` : null, Buffer.from(`v${i}`), i === 3 ? { h: 'x' } : undefined, 1_700_000_000_000 + i)).toBe(true);
    for (const compression of [0, 1]) {
      const bytes = await b.finish({ producerId: 7, producerEpoch: 1, baseSequence: 42, compression });
      const h = parseBatchHeader(bytes, 0);
      expect(h).toMatchObject({
        recordCount: 100,
        producerId: 7,
        producerEpoch: 1,
        baseSequence: 42,
        compression,
        baseTimestamp: 1_700_000_000_000,
        maxTimestamp: 1_700_000_000_099,
      });
      const records = [...iterateRecords(bytes, { allowGzip: true })];
      expect(records[3]!.headers).toEqual([{ key: 'h', value: Buffer.from('x') }]);
      expect(records[99]!.value!.toString()).toBe('v99');
      expect(records[98]!.key).toBeNull();
    }
  });

  it('a batch grows up to its limit and then refuses records', () => {
    const b = new BatchBuilder(100_000);
    let n = 0;
    while (b.tryAppend(null, Buffer.alloc(1000), undefined, 0)) n++;
    expect(n).toBeGreaterThan(90);
    expect(b.sizeBytes).toBeLessThanOrEqual(100_000);
    const big = new BatchBuilder(1000);
    expect(big.tryAppend(null, Buffer.alloc(5000), undefined, 0)).toBe(true);
    // Started at the size the previous batch reached (even one above the limit), it keeps the same limit.
    for (const expected of [50_000, 5_000_000]) {
      const sized = new BatchBuilder(100_000, expected);
      let m = 0;
      while (sized.tryAppend(null, Buffer.alloc(1000), undefined, 0)) m++;
      expect(m).toBe(n);
      expect(sized.sizeBytes).toBe(b.sizeBytes);
    }
  });

  it('decodes records with their offsets and skips records before the fetch offset', async () => {
    const batch = buildBatch({ baseOffset: 10, records: Array.from({ length: 5 }, (_, i) => ({ value: `v${i}`, timestamp: 1000 + i })) });
    const d = await decodeBatches(batch, { topic: 't', partition: 0, fromOffset: 12, abortedTransactions: null });
    expect(d.records.map((r) => [r.offset, r.value!.toString(), r.timestamp])).toEqual([
      [12, 'v2', 1002],
      [13, 'v3', 1003],
      [14, 'v4', 1004],
    ]);
    expect(d.nextOffset).toBe(15);
    // A trailing partial batch is ignored.
    const cut = await decodeBatches(Buffer.concat([batch, batch.subarray(0, 30)]), { topic: 't', partition: 0, fromOffset: 0, abortedTransactions: null });
    expect(cut.records.length).toBe(5);
    // A flipped byte fails the CRC.
    const bad = Buffer.from(batch);
    bad[bad.length - 1]! ^= 1;
    await expect(decodeBatches(bad, { topic: 't', partition: 0, fromOffset: 0, abortedTransactions: null })).rejects.toMatchObject({ code: 2 });
  });

  it('decoded records make their key, value and headers when read', async () => {
    const b = new BatchBuilder(64 * 1024);
    b.tryAppend(
      'k0',
      'v0',
      [
        { key: 'h', value: 'x' },
        { key: 'h', value: null },
      ],
      1000,
    );
    b.tryAppend(null, null, undefined, 1001);
    b.tryAppend(Buffer.from([1, 2]), '', { a: 'b' }, 1002);
    b.tryAppend('k'.repeat(200), 'v'.repeat(300), { ['h'.repeat(150)]: 'w'.repeat(150) }, 1003);
    for (const compression of [0, 1]) {
      const bytes = await b.finish({ producerId: -1, producerEpoch: -1, baseSequence: -1, compression });
      const { records } = await decodeBatches(bytes, { topic: 't', partition: 3, fromOffset: 0, abortedTransactions: null });
      expect(records.map((r) => [r.topic, r.partition, r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual([
        ['t', 3, 0, 1000, 'k0', 'v0'],
        ['t', 3, 1, 1001, null, null],
        ['t', 3, 2, 1002, '\x01\x02', ''],
        ['t', 3, 3, 1003, 'k'.repeat(200), 'v'.repeat(300)],
      ]);
      expect(records[0]!.headers).toEqual([
        { key: 'h', value: Buffer.from('x') },
        { key: 'h', value: null },
      ]);
      expect(records[1]!.headers).toEqual([]);
      expect(records[2]!.headers).toEqual([{ key: 'a', value: Buffer.from('b') }]);
      expect(records[3]!.headers).toEqual([{ key: 'h'.repeat(150), value: Buffer.from('w'.repeat(150)) }]);
      const r = records[0]!;
      expect(r).toBeInstanceOf(FetchedRecord);
      // A view of the same bytes at each read; headers are parsed once.
      expect(r.value).toEqual(r.value);
      expect(r.headers).toBe(r.headers);
      // JSON and inspect show every field; a spread only the eager ones.
      expect(JSON.parse(JSON.stringify(r))).toEqual({
        topic: 't',
        partition: 3,
        offset: 0,
        timestamp: 1000,
        key: { type: 'Buffer', data: [...Buffer.from('k0')] },
        value: { type: 'Buffer', data: [...Buffer.from('v0')] },
        headers: [
          { key: 'h', value: { type: 'Buffer', data: [...Buffer.from('x')] } },
          { key: 'h', value: null },
        ],
      });
      expect(inspect(r)).toContain('value: <Buffer 76 30>');
      expect({ ...r }).toEqual({ topic: 't', partition: 3, offset: 0, timestamp: 1000 });
      // Assignable, as the plain objects were; an assigned field is the record's own.
      const changed = Buffer.from('changed');
      r.value = changed;
      r.key = null;
      r.headers = [];
      expect([r.key, r.value, r.headers]).toEqual([null, changed, []]);
      expect(r.value).toBe(changed);
      expect({ ...r }).toEqual({ topic: 't', partition: 3, offset: 0, timestamp: 1000, key: null, value: changed, headers: [] });
      expect(records[1]!.value).toBeNull();
    }
  });

  it('a record whose header overruns it is corrupt at decode time, not when its headers are read', async () => {
    const b = new BatchBuilder(64 * 1024);
    b.tryAppend(null, 'v', { h: 'xy' }, 1000);
    const bytes = Buffer.from(await b.finish({ producerId: -1, producerEpoch: -1, baseSequence: -1, compression: 0 }));
    // The header value's length (zigzag varint 4 = 2 bytes) is the byte before its last two: claim 3.
    const at = bytes.length - 3;
    expect(bytes[at]).toBe(4);
    bytes[at] = 6;
    bytes.writeUInt32BE(crc32c(bytes.subarray(21)), 17);
    await expect(decodeBatches(bytes, { topic: 't', partition: 0, fromOffset: 0, abortedTransactions: null })).rejects.toMatchObject({ code: 2, name: 'CorruptRecordError' });
  });

  it('read_committed drops aborted transactions and control batches; read_uncommitted keeps data', async () => {
    const txn = (baseOffset: number, producerId: number, value: string) =>
      buildBatch({ baseOffset, producerId, producerEpoch: 0, baseSequence: 0, isTransactional: true, records: [{ value }] });
    // Control records: key = version 0 + type (0 abort, 1 commit).
    const marker = (baseOffset: number, producerId: number, type: number) =>
      buildBatch({
        baseOffset,
        producerId,
        producerEpoch: 0,
        baseSequence: -1,
        isTransactional: true,
        isControl: true,
        records: [{ key: Buffer.from([0, 0, 0, type]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }],
      });
    const data = Buffer.concat([
      txn(0, 1, 'aborted-a'),
      txn(1, 2, 'committed-b'),
      marker(2, 1, 0),
      marker(3, 2, 1),
      buildBatch({ baseOffset: 4, records: [{ value: 'plain' }] }),
      txn(5, 1, 'pid1-later-committed'),
      marker(6, 1, 1),
    ]);
    const committed = await decodeBatches(data, { topic: 't', partition: 0, fromOffset: 0, abortedTransactions: [{ producerId: 1, firstOffset: 0 }] });
    expect(committed.records.map((r) => r.value!.toString())).toEqual(['committed-b', 'plain', 'pid1-later-committed']);
    expect(committed.nextOffset).toBe(7);
    const all = await decodeBatches(data, { topic: 't', partition: 0, fromOffset: 0, abortedTransactions: null });
    expect(all.records.map((r) => r.value!.toString())).toEqual(['aborted-a', 'committed-b', 'plain', 'pid1-later-committed']);
  });
});
