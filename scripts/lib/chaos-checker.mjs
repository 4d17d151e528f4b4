// The fault test's checker (`npm run chaos`, scripts/chaos.mjs): pure functions from what the
// producers were told and what was read back to anomaly counts. No I/O; test/chaos/checker.test.ts
// feeds it synthetic histories.
//
// Input (plain JSON-able objects):
//   writes:   [{ value, producer, seq, status: 'acked' | 'failed' | 'unknown', partition?, offset?, error? }]
//             one per value sent; `offset` is the ack's offset (-1 or absent when the ack gave none).
//   reads:    [{ partitions: { [partition]: { records: [{ offset, value }], highWatermark?, error? } } }]
//             each a read of every partition from the beginning to its high watermark (the tool
//             reads twice); a partition with `error` could not be read.
//   replicas: [{ node, partition, records: [{ offset, value }], missing? }]
//             each node's copy of each partition read from its SQLite file after the nodes stopped;
//             `missing` when the node has no file for it (counted as an empty log).
//
// Anomalies (each must be 0):
//   lost                  acknowledged values absent from a read (or from a partition that could not be read)
//   duplicated            values found at more than one offset within one read
//   reordered             acknowledged values of one producer found, within one partition, after one
//                         of its values with a higher sequence number (first occurrences only)
//   inconsistentReads     offsets below both reads' high watermarks holding different values (or a
//                         value in one read and none in the other)
//   inconsistentReplicas  offsets that every replica of a partition holds (from the highest first
//                         offset to the lowest log end) where the replicas' values differ
//   ackedAtOtherOffset    acknowledged values read at an offset other than the ack's
//   neverWritten          values read that no producer sent
// Information (either way is allowed): unacknowledged (failed or unknown) values that landed or not.

export const ANOMALIES = [
  ['lost', 'acknowledged writes lost'],
  ['duplicated', 'duplicated (one value at two offsets)'],
  ['reordered', "reordered (a producer's acked values out of sequence in a partition)"],
  ['inconsistentReads', 'inconsistent offsets between the two reads'],
  ['inconsistentReplicas', 'inconsistent offsets between replicas'],
  ['ackedAtOtherOffset', 'acknowledged at an offset other than where read'],
  ['neverWritten', 'read but never written'],
];

export const INFO = [
  ['failedLanded', 'failed writes that landed (allowed)'],
  ['failedMissing', 'failed writes that did not land (allowed)'],
  ['unknownLanded', 'unknown (in flight) writes that landed (allowed)'],
  ['unknownMissing', 'unknown (in flight) writes that did not land (allowed)'],
];

const EXAMPLES_MAX = 5;

class Tally {
  constructor() {
    this.count = 0;
    this.examples = [];
  }
  add(example) {
    this.count++;
    if (this.examples.length < EXAMPLES_MAX) this.examples.push(example);
  }
}

/** `{ [partition]: ... }` or a Map, as [partition number, value] pairs sorted by partition. */
function entriesOf(obj) {
  const pairs = obj instanceof Map ? [...obj.entries()] : Object.entries(obj ?? {});
  return pairs.map(([k, v]) => [Number(k), v]).sort((a, b) => a[0] - b[0]);
}

/** The end of a partition's read: its high watermark, else one past its last record. */
function readEnd(p) {
  if (typeof p.highWatermark === 'number' && p.highWatermark >= 0) return p.highWatermark;
  const recs = p.records ?? [];
  return recs.length === 0 ? 0 : recs[recs.length - 1].offset + 1;
}

/** value -> [{ partition, offset }] for one read, and the set of partitions that could not be read. */
function indexRead(read) {
  const where = new Map();
  const failed = new Set();
  for (const [partition, p] of entriesOf(read.partitions)) {
    if (p.error) {
      failed.add(partition);
      continue;
    }
    for (const r of p.records ?? []) {
      let at = where.get(r.value);
      if (at === undefined) where.set(r.value, (at = []));
      at.push({ partition, offset: r.offset });
    }
  }
  return { where, failed };
}

/**
 * Checks a run's history. Returns { counts: { anomaly: n, info: n }, examples: { anomaly: [..] },
 * totals: { acked, failed, unknown, read }, replicaEnds: { [partition]: { [node]: end } }, ok }.
 */
export function check({ writes = [], reads = [], replicas = [] }) {
  const t = Object.fromEntries([...ANOMALIES, ...INFO].map(([k]) => [k, new Tally()]));
  const byValue = new Map();
  for (const w of writes) byValue.set(w.value, w);
  const indexes = reads.map(indexRead);
  const label = (w) => `${w.value}${w.status === 'acked' && w.offset >= 0 ? ` (acked p${w.partition}@${w.offset})` : ''}`;

  // Lost: an acknowledged value missing from some read.
  for (const w of writes) {
    if (w.status !== 'acked') continue;
    const missingIn = [];
    indexes.forEach((ix, i) => {
      if (!ix.where.has(w.value)) missingIn.push(i + 1);
    });
    if (missingIn.length > 0) t.lost.add(`${label(w)} missing from read ${missingIn.join(' and ')}`);
  }

  // Duplicated: one value at two offsets of one read (counted once per value).
  const dup = new Set();
  indexes.forEach((ix, i) => {
    for (const [value, at] of ix.where) {
      if (at.length < 2 || dup.has(value)) continue;
      dup.add(value);
      t.duplicated.add(`${value} in read ${i + 1} at ${at.map((a) => `p${a.partition}@${a.offset}`).join(', ')}`);
    }
  });

  // Reordered: within one partition of one read, an acked value after a higher sequence of its producer.
  const reordered = new Set();
  reads.forEach((read, i) => {
    for (const [partition, p] of entriesOf(read.partitions)) {
      if (p.error) continue;
      const maxSeq = new Map();
      const seen = new Set();
      for (const r of p.records ?? []) {
        if (seen.has(r.value)) continue;
        seen.add(r.value);
        const w = byValue.get(r.value);
        if (w === undefined || w.status !== 'acked') continue;
        const max = maxSeq.get(w.producer);
        if (max !== undefined && w.seq < max.seq) {
          if (!reordered.has(w.value)) {
            reordered.add(w.value);
            t.reordered.add(`${w.value} at p${partition}@${r.offset} after ${max.value} at p${partition}@${max.offset} (read ${i + 1})`);
          }
        } else {
          maxSeq.set(w.producer, { seq: w.seq, value: w.value, offset: r.offset });
        }
      }
    }
  });

  // Inconsistent offsets between reads: each later read against the first, below both ends.
  if (reads.length >= 2) {
    const first = new Map(entriesOf(reads[0].partitions));
    for (let i = 1; i < reads.length; i++) {
      for (const [partition, b] of entriesOf(reads[i].partitions)) {
        const a = first.get(partition);
        if (a === undefined || a.error || b.error) continue;
        const end = Math.min(readEnd(a), readEnd(b));
        const va = new Map((a.records ?? []).filter((r) => r.offset < end).map((r) => [r.offset, r.value]));
        const vb = new Map((b.records ?? []).filter((r) => r.offset < end).map((r) => [r.offset, r.value]));
        const offsets = new Set([...va.keys(), ...vb.keys()]);
        for (const off of [...offsets].sort((x, y) => x - y)) {
          const x = va.get(off);
          const y = vb.get(off);
          if (x !== y) t.inconsistentReads.add(`p${partition}@${off}: ${x ?? '(none)'} in read 1, ${y ?? '(none)'} in read ${i + 1}`);
        }
      }
    }
  }

  // Inconsistent offsets between replicas, over the offsets all of them hold.
  const replicaEnds = {};
  const byPartition = new Map();
  for (const r of replicas) {
    let list = byPartition.get(r.partition);
    if (list === undefined) byPartition.set(r.partition, (list = []));
    list.push(r);
  }
  for (const [partition, list] of [...byPartition].sort((a, b) => a[0] - b[0])) {
    const ends = {};
    let start = 0;
    let end = Infinity;
    const maps = list.map((r) => {
      const recs = r.missing ? [] : (r.records ?? []);
      const first = recs.length === 0 ? 0 : recs[0].offset;
      const e = recs.length === 0 ? 0 : recs[recs.length - 1].offset + 1;
      ends[r.node] = r.missing ? null : e;
      start = Math.max(start, first);
      end = Math.min(end, e);
      return { node: r.node, values: new Map(recs.map((x) => [x.offset, x.value])) };
    });
    replicaEnds[partition] = ends;
    if (maps.length < 2) continue;
    for (let off = start; off < end; off++) {
      const vals = maps.map((m) => m.values.get(off));
      if (vals.every((v) => v === vals[0])) continue;
      t.inconsistentReplicas.add(`p${partition}@${off}: ${maps.map((m, j) => `node ${m.node} ${vals[j] ?? '(none)'}`).join(', ')}`);
    }
  }

  // Acknowledged at an offset other than where the first read holds it.
  if (indexes.length > 0) {
    for (const w of writes) {
      if (w.status !== 'acked' || typeof w.offset !== 'number' || w.offset < 0) continue;
      const at = indexes[0].where.get(w.value);
      if (at === undefined) continue;
      if (!at.some((a) => a.partition === w.partition && a.offset === w.offset)) {
        t.ackedAtOtherOffset.add(`${w.value} acked at p${w.partition}@${w.offset}, read at ${at.map((a) => `p${a.partition}@${a.offset}`).join(', ')}`);
      }
    }
  }

  // Read but never written.
  const foreign = new Set();
  indexes.forEach((ix, i) => {
    for (const [value, at] of ix.where) {
      if (byValue.has(value) || foreign.has(value)) continue;
      foreign.add(value);
      t.neverWritten.add(`${value} at p${at[0].partition}@${at[0].offset} (read ${i + 1})`);
    }
  });

  // Unacknowledged writes: landed (in any read) or not.
  for (const w of writes) {
    if (w.status === 'acked') continue;
    const landed = indexes.some((ix) => ix.where.has(w.value));
    const kind = w.status === 'failed' ? 'failed' : 'unknown';
    t[`${kind}${landed ? 'Landed' : 'Missing'}`].add(`${w.value}${w.error ? ` (${w.error})` : ''}`);
  }

  const counts = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.count]));
  const examples = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.examples]));
  const totals = {
    written: writes.length,
    acked: writes.filter((w) => w.status === 'acked').length,
    failed: writes.filter((w) => w.status === 'failed').length,
    unknown: writes.filter((w) => w.status !== 'acked' && w.status !== 'failed').length,
    read: indexes.length > 0 ? [...indexes[0].where.values()].reduce((n, at) => n + at.length, 0) : 0,
  };
  const ok = ANOMALIES.every(([k]) => counts[k] === 0);
  return { ok, counts, examples, totals, replicaEnds };
}

/** Pads a table of rows (arrays of strings) into aligned lines; numbers right-aligned. */
export function formatTable(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r) =>
    r
      .map((c, i) => (typeof rows[0]?.[i] === 'number' || /^-?\d+$/.test(c) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** The checker's result as the table the tool prints: every anomaly, then the allowed outcomes, with examples. */
export function formatReport(result) {
  const rows = [];
  for (const [k, name] of ANOMALIES) rows.push([name, result.counts[k], result.counts[k] === 0 ? 'ok' : 'ANOMALY', result.examples[k][0] ?? '']);
  for (const [k, name] of INFO) rows.push([name, result.counts[k], 'allowed', result.examples[k][0] ?? '']);
  let out = formatTable(['check', 'count', 'verdict', 'first example'], rows);
  const more = ANOMALIES.filter(([k]) => result.examples[k].length > 1);
  for (const [k, name] of more) out += `\n${name}, examples:\n${result.examples[k].map((e) => `  ${e}`).join('\n')}`;
  return out;
}
