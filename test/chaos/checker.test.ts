/**
 * The fault test's checker (scripts/lib/chaos-checker.mjs) on synthetic histories: a clean one
 * reports 0 for every anomaly; each anomaly kind is detected (and only that kind) when it is
 * planted; unacknowledged writes are counted as landed or not without being anomalies.
 */
import { describe, expect, it } from 'vitest';
import { checker, type Anomaly, type Read, type ReadRecord, type Replica, type Write } from './checker-module.js';

const { check, formatReport, ANOMALIES } = checker;

interface History {
  writes: Write[];
  reads: Read[];
  replicas: Replica[];
}

/**
 * Two producers (p0, p1) writing `perProducer` values each to two partitions, alternating: every
 * write acked at the offset it was read at, two identical reads, three identical replicas.
 */
function cleanHistory(perProducer = 6): History {
  const writes: Write[] = [];
  const logs: ReadRecord[][] = [[], []];
  for (let seq = 0; seq < perProducer; seq++) {
    for (const producer of ['p0', 'p1']) {
      const partition = seq % 2;
      const value = `${producer}-${seq}`;
      const offset = logs[partition]!.length;
      logs[partition]!.push({ offset, value });
      writes.push({ value, producer, seq, status: 'acked', partition, offset });
    }
  }
  const read = (): Read => ({
    partitions: {
      0: { records: logs[0]!.map((r) => ({ ...r })), highWatermark: logs[0]!.length },
      1: { records: logs[1]!.map((r) => ({ ...r })), highWatermark: logs[1]!.length },
    },
  });
  const replicas: Replica[] = [];
  for (const node of [1, 2, 3]) for (const partition of [0, 1]) replicas.push({ node, partition, records: logs[partition]!.map((r) => ({ ...r })) });
  return { writes, reads: [read(), read()], replicas };
}

/** The anomalies with a non-zero count. */
function flagged(h: History): Partial<Record<Anomaly, number>> {
  const r = check(h);
  const out: Partial<Record<Anomaly, number>> = {};
  for (const [k] of ANOMALIES) if (r.counts[k] !== 0) out[k] = r.counts[k];
  return out;
}

const recordsOf = (h: History, read: number, partition: number): ReadRecord[] => h.reads[read]!.partitions[partition]!.records;

describe('chaos checker', () => {
  it('a clean history: every anomaly 0, ok, totals and replica ends', () => {
    const h = cleanHistory();
    const r = check(h);
    expect(r.ok).toBe(true);
    for (const [k] of ANOMALIES) expect(r.counts[k], k).toBe(0);
    expect(r.counts.failedLanded + r.counts.failedMissing + r.counts.unknownLanded + r.counts.unknownMissing).toBe(0);
    expect(r.totals).toEqual({ written: 12, acked: 12, failed: 0, unknown: 0, read: 12 });
    expect(r.replicaEnds).toEqual({ 0: { 1: 6, 2: 6, 3: 6 }, 1: { 1: 6, 2: 6, 3: 6 } });
    expect(formatReport(r)).toMatch(/acknowledged writes lost\s+0\s+ok/);
  });

  it('an empty history is clean', () => {
    expect(check({}).ok).toBe(true);
  });

  it('lost: an acked value missing from both reads, or from one', () => {
    const h = cleanHistory();
    // p0-2 (partition 0, offset 2) gone from both reads: the log was truncated under it.
    for (const i of [0, 1]) h.reads[i]!.partitions[0] = { records: recordsOf(h, i, 0).slice(0, 2), highWatermark: 2 };
    expect(flagged(h)).toEqual({ lost: 4 }); // offsets 2..5 of partition 0: p0-2, p1-2, p0-4, p1-4
    const r = check(h);
    expect(r.examples.lost[0]).toContain('p0-2 (acked p0@2) missing from read 1 and 2');

    const one = cleanHistory();
    one.reads[1]!.partitions[1] = { records: recordsOf(one, 1, 1).slice(0, 5), highWatermark: 5 };
    expect(flagged(one)).toEqual({ lost: 1 });
    expect(check(one).examples.lost[0]).toContain('missing from read 2');
  });

  it('lost: a partition that could not be read loses its acked values', () => {
    const h = cleanHistory();
    for (const i of [0, 1]) h.reads[i]!.partitions[1] = { records: [], error: 'no leader for chaos-1' };
    expect(flagged(h)).toEqual({ lost: 6 });
  });

  it('duplicated: one value at two offsets (another partition counts too)', () => {
    const h = cleanHistory();
    for (const i of [0, 1]) {
      recordsOf(h, i, 1).push({ offset: 6, value: 'p1-5' });
      h.reads[i]!.partitions[1]!.highWatermark = 7;
    }
    for (const rep of h.replicas) if (rep.partition === 1) rep.records.push({ offset: 6, value: 'p1-5' });
    expect(flagged(h)).toEqual({ duplicated: 1 });
    expect(check(h).examples.duplicated[0]).toBe('p1-5 in read 1 at p1@5, p1@6');

    const across = cleanHistory();
    for (const i of [0, 1]) {
      recordsOf(across, i, 0).push({ offset: 6, value: 'p1-5' });
      across.reads[i]!.partitions[0]!.highWatermark = 7;
    }
    for (const rep of across.replicas) if (rep.partition === 0) rep.records.push({ offset: 6, value: 'p1-5' });
    expect(flagged(across)).toEqual({ duplicated: 1 });
  });

  it("reordered: a producer's acked values out of sequence within a partition", () => {
    const h = cleanHistory();
    // Partition 0 holds p0-0, p1-0, p0-2, p1-2, p0-4, p1-4: swap p0-2 and p0-4 (offsets 2 and 4).
    const swap = (recs: ReadRecord[]) => {
      const a = recs[2]!.value;
      recs[2]!.value = recs[4]!.value;
      recs[4]!.value = a;
    };
    for (const i of [0, 1]) swap(recordsOf(h, i, 0));
    for (const rep of h.replicas) if (rep.partition === 0) swap(rep.records);
    for (const w of h.writes) {
      if (w.value === 'p0-2') w.offset = 4;
      if (w.value === 'p0-4') w.offset = 2;
    }
    expect(flagged(h)).toEqual({ reordered: 1 });
    expect(check(h).examples.reordered[0]).toBe('p0-2 at p0@4 after p0-4 at p0@2 (read 1)');
  });

  it('reordered ignores unacknowledged values (a failed batch may land late)', () => {
    const late = (status: Write['status']): History => {
      const h = cleanHistory();
      // p0-late, sequence 1 of p0, lands in partition 0 after p0-4.
      h.writes.push({ value: 'p0-late', producer: 'p0', seq: 1, status, partition: 0, offset: 6 });
      for (const i of [0, 1]) {
        recordsOf(h, i, 0).push({ offset: 6, value: 'p0-late' });
        h.reads[i]!.partitions[0]!.highWatermark = 7;
      }
      for (const rep of h.replicas) if (rep.partition === 0) rep.records.push({ offset: 6, value: 'p0-late' });
      return h;
    };
    const failed = check(late('failed'));
    expect(failed.ok).toBe(true);
    expect(failed.counts.failedLanded).toBe(1);
    expect(flagged(late('acked'))).toEqual({ reordered: 1 });
  });

  it('inconsistent offsets between the two reads: a different value, or a value in one read only', () => {
    const h = cleanHistory();
    recordsOf(h, 1, 1)[3]!.value = 'p1-3-other'; // partition 1, offset 3 held p1-3
    const r = check(h);
    expect(r.counts.inconsistentReads).toBe(1);
    expect(r.examples.inconsistentReads[0]).toBe('p1@3: p1-3 in read 1, p1-3-other in read 2');

    const gap = cleanHistory();
    gap.reads[1]!.partitions[1]!.records.splice(3, 1); // offset 3 missing from read 2 only
    expect(check(gap).counts.inconsistentReads).toBe(1);

    // Past the shorter read's high watermark nothing is compared.
    const shorter = cleanHistory();
    for (const v of ['p0-5', 'p1-5']) shorter.writes.find((x) => x.value === v)!.status = 'unknown';
    shorter.reads[1]!.partitions[1] = { records: recordsOf(shorter, 1, 1).slice(0, 4), highWatermark: 4 };
    expect(check(shorter).counts.inconsistentReads).toBe(0);
  });

  it('inconsistent offsets between replicas, only up to the offset all of them hold', () => {
    const h = cleanHistory();
    const rep = h.replicas.find((r) => r.node === 2 && r.partition === 0)!;
    rep.records[1]!.value = 'p9-9';
    expect(flagged(h)).toEqual({ inconsistentReplicas: 1 });
    expect(check(h).examples.inconsistentReplicas[0]).toBe('p0@1: node 1 p1-0, node 2 p9-9, node 3 p1-0');

    // A replica behind the others: only the common prefix is compared, the tail differs freely.
    const behind = cleanHistory();
    const r3 = behind.replicas.find((r) => r.node === 3 && r.partition === 1)!;
    r3.records = r3.records.slice(0, 3);
    const r1 = behind.replicas.find((r) => r.node === 1 && r.partition === 1)!;
    r1.records[4]!.value = 'diverged';
    expect(flagged(behind)).toEqual({});
    expect(check(behind).replicaEnds[1]).toEqual({ 1: 6, 2: 6, 3: 3 });

    // A replica without a file holds nothing: nothing is compared, its end is null.
    const missing = cleanHistory();
    const m = missing.replicas.find((r) => r.node === 2 && r.partition === 0)!;
    m.records = [];
    m.missing = true;
    missing.replicas.find((r) => r.node === 1 && r.partition === 0)!.records[0]!.value = 'x';
    expect(flagged(missing)).toEqual({});
    expect(check(missing).replicaEnds[0]).toEqual({ 1: 6, 2: null, 3: 6 });
  });

  it('acknowledged at an offset other than where it was read', () => {
    const h = cleanHistory();
    h.writes.find((x) => x.value === 'p1-4')!.offset = 9;
    expect(flagged(h)).toEqual({ ackedAtOtherOffset: 1 });
    expect(check(h).examples.ackedAtOtherOffset[0]).toBe('p1-4 acked at p0@9, read at p0@5');

    const otherPartition = cleanHistory();
    otherPartition.writes.find((x) => x.value === 'p1-4')!.partition = 1;
    expect(flagged(otherPartition)).toEqual({ ackedAtOtherOffset: 1 });

    // An ack without an offset (-1: the broker reported a duplicate) is not compared.
    const noOffset = cleanHistory();
    noOffset.writes.find((x) => x.value === 'p1-4')!.offset = -1;
    expect(flagged(noOffset)).toEqual({});
  });

  it('read but never written', () => {
    const h = cleanHistory();
    for (const i of [0, 1]) {
      recordsOf(h, i, 0).push({ offset: 6, value: 'ghost' });
      h.reads[i]!.partitions[0]!.highWatermark = 7;
    }
    for (const rep of h.replicas) if (rep.partition === 0) rep.records.push({ offset: 6, value: 'ghost' });
    expect(flagged(h)).toEqual({ neverWritten: 1 });
  });

  it('unacknowledged writes: failed or unknown, landed or not, all allowed', () => {
    const h = cleanHistory();
    // Landed: in the log but not acked.
    h.writes.find((x) => x.value === 'p0-0')!.status = 'failed';
    h.writes.find((x) => x.value === 'p1-0')!.status = 'unknown';
    // Did not land.
    h.writes.push({ value: 'p0-6', producer: 'p0', seq: 6, status: 'failed', error: 'NOT_LEADER_OR_FOLLOWER' });
    h.writes.push({ value: 'p1-6', producer: 'p1', seq: 6, status: 'unknown' });
    h.writes.push({ value: 'p1-7', producer: 'p1', seq: 7, status: 'unknown' });
    const r = check(h);
    expect(r.ok).toBe(true);
    expect([r.counts.failedLanded, r.counts.failedMissing, r.counts.unknownLanded, r.counts.unknownMissing]).toEqual([1, 1, 1, 2]);
    expect(r.examples.failedMissing).toEqual(['p0-6 (NOT_LEADER_OR_FOLLOWER)']);
    expect(r.totals).toMatchObject({ written: 15, acked: 10, failed: 2, unknown: 3 });
  });

  it('a failover that lost an acknowledged tail: lost, inconsistent replicas and acks at reused offsets all show', () => {
    // Leader node 1 acked p0-0..p0-3 at offsets 0..3 and died; node 2, elected with an empty
    // log, then took p0-4.. at offsets 0.. (no replication): what a SIGKILL does without it.
    const writes: Write[] = [];
    const oldLog: ReadRecord[] = [];
    const newLog: ReadRecord[] = [];
    for (let seq = 0; seq < 4; seq++) {
      writes.push({ value: `p0-${seq}`, producer: 'p0', seq, status: 'acked', partition: 0, offset: seq });
      oldLog.push({ offset: seq, value: `p0-${seq}` });
    }
    for (let seq = 4; seq < 7; seq++) {
      writes.push({ value: `p0-${seq}`, producer: 'p0', seq, status: 'acked', partition: 0, offset: seq - 4 });
      newLog.push({ offset: seq - 4, value: `p0-${seq}` });
    }
    const read: Read = { partitions: { 0: { records: newLog, highWatermark: 3 } } };
    const r = check({
      writes,
      reads: [read, read],
      replicas: [
        { node: 1, partition: 0, records: oldLog },
        { node: 2, partition: 0, records: newLog },
        { node: 3, partition: 0, records: [], missing: true },
      ],
    });
    expect(r.ok).toBe(false);
    expect(r.counts.lost).toBe(4);
    expect(r.counts.inconsistentReplicas).toBe(0); // node 3 holds nothing: no offset all replicas hold
    const two = check({
      writes,
      reads: [read, read],
      replicas: [
        { node: 1, partition: 0, records: oldLog },
        { node: 2, partition: 0, records: newLog },
      ],
    });
    expect(two.counts.inconsistentReplicas).toBe(3);
  });
});
