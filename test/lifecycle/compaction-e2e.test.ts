/**
 * Compaction through a real node, read by kcat: a cleanup.policy=compact topic with a short
 * segment.ms and max.compaction.lag.ms gets keyed updates and tombstones from kcat; once the partition actor's cleaner
 * has run, kcat -C -e -J sees only the latest record per key, each at its original offset.
 * With delete.retention.ms=0 the tombstones go too (on the pass after the one that kept them);
 * with the default they stay, as null payloads. kafka-python and confluent-kafka read the
 * compacted (sparse) batches the same way.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, kcat, kcatConsumeAll, kcatRequirement, missing, pythonRequirement, uniqueTopic } from '../helpers/clients.js';
import { fetchAll, type RawClient } from '../helpers/raw-client.js';
import { broker, type EmbeddedBroker } from '../interop/setup.js';
import { Admin } from '../../src/client/index.js';
import { confluentReadAll, kafkaPythonReadAll, rawClient, sleep, waitFor, type ValueRecord } from './e2e-helpers.js';

const kc = kcatRequirement();
const kp = pythonRequirement('kafka');
const ck = pythonRequirement('confluent_kafka');

describeIf(kc, 'lifecycle e2e: compaction read by kcat', () => {
  let b: EmbeddedBroker;
  let admin: Admin;
  let raw: RawClient;
  beforeAll(async () => {
    b = await broker();
    admin = new Admin({ bootstrapServers: [b.bootstrap] });
    raw = await rawClient(b.bootstrap);
  });
  afterAll(async () => {
    raw?.close();
    await admin?.close();
    await b?.stop();
  });

  /** kcat -P of `key:value` lines to partition 0; an empty value is a tombstone (-Z). */
  async function produce(topic: string, lines: [string, string][]): Promise<void> {
    const input = lines.map(([k, v]) => `${k}:${v}`).join('\n') + '\n';
    await kcat(['-b', b.bootstrap, '-P', '-t', topic, '-p', '0', '-K:', '-Z'], { input, timeoutMs: 15_000 });
  }

  it('kcat sees only the latest value per key at its original offset; tombstones go after delete.retention.ms', async () => {
    const keep = uniqueTopic('compact-keep'); // tombstones kept (delete.retention.ms default, a day)
    const drop = uniqueTopic('compact-drop'); // tombstones removed on the next pass
    // A pass starts when dirty bytes reach half the log (min.cleanable.dirty.ratio 0.5, Kafka's
    // default), so a pass that ran between rounds could leave the last rounds below the ratio
    // for good; max.compaction.lag.ms=100 makes every dirty record cleanable soon regardless.
    const configs = { 'cleanup.policy': 'compact', 'segment.ms': '100', 'max.compaction.lag.ms': '100' };
    await admin.createTopics({
      topics: [
        { name: keep, numPartitions: 1, configs },
        { name: drop, numPartitions: 1, configs: { ...configs, 'delete.retention.ms': '0' } },
      ],
    });

    // Three rounds of updates to 8 keys, then tombstones for k1 and k5, each round in its own
    // segment (segment.ms=100 rolls the next append); a last record closes the segment before
    // it, so that every update and tombstone is below the active segment and cleanable.
    const history: [string, string][] = [];
    const rounds: [string, string][][] = [];
    for (let round = 0; round < 3; round++) rounds.push(Array.from({ length: 8 }, (_, k) => [`k${k}`, `k${k}-v${round}`] as [string, string]));
    rounds.push([
      ['k1', ''],
      ['k5', ''],
      ['k2', 'k2-v3'],
    ]);
    rounds.push([['last', 'closes-the-segment']]);
    for (const round of rounds) {
      await Promise.all([produce(keep, round), produce(drop, round)]);
      history.push(...round);
      await sleep(150);
    }
    // Expected: per key its last offset in the history; a tombstone as a null payload.
    const latest = new Map<string, number>();
    history.forEach(([k], offset) => latest.set(k, offset));
    const compacted = (withTombstones: boolean): ValueRecord[] =>
      [...latest.entries()]
        .map(([key, offset]) => ({ offset, key, value: history[offset]![1] === '' ? null : history[offset]![1] }))
        .filter((r) => withTombstones || r.value !== null)
        .sort((a, b) => a.offset - b.offset);
    const wantKeep = compacted(true);
    const wantDrop = compacted(false);
    expect(wantKeep).toHaveLength(9);
    expect(wantDrop).toHaveLength(7);

    // The cleaner runs on the partition actor's maintenance timer (every second).
    const asRead = async (topic: string) => (await fetchAll(raw, topic, 0)).records;
    await waitFor(`${keep} compacted`, async () => (JSON.stringify(await asRead(keep)) === JSON.stringify(wantKeep) ? true : undefined), 15_000, 200);
    await waitFor(`${drop} compacted`, async () => (JSON.stringify(await asRead(drop)) === JSON.stringify(wantDrop) ? true : undefined), 15_000, 200);

    for (const [topic, want] of [
      [keep, wantKeep],
      [drop, wantDrop],
    ] as const) {
      const recs = await kcatConsumeAll(b.bootstrap, topic, 0);
      expect(
        recs.map((r) => ({ offset: r.offset, key: r.key, value: r.payload })),
        topic,
      ).toEqual(want);
      // The log end does not move: the next record still gets offset history.length.
      expect((await fetchAll(raw, topic, 0)).highWatermark).toBe(history.length);
      if (!missing(kp)) expect(await kafkaPythonReadAll(b.bootstrap, topic), `kafka-python ${topic}`).toEqual(want);
      if (!missing(ck)) expect(await confluentReadAll(b.bootstrap, topic), `confluent-kafka ${topic}`).toEqual(want);
    }
  });
});
