/**
 * Fetch from follower (KIP-392) on three nodes in three racks: a consumer naming its rack
 * (librdkafka's client.rack, through kcat) is sent by the leader to the in-sync replica in its
 * rack and reads every record there, below that replica's high watermark; the leader returns
 * none of the records itself. Counted by each node's brook_kafka_records_fetched_total, which
 * consumer fetches move and follower fetches do not.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, kcat, kcatRequirement, uniqueTopic } from '../helpers/clients.js';
import { BrookCluster, waitUntil } from '../helpers/cluster.js';
import { etcdRequirement } from '../helpers/etcd.js';

const RACKS: Record<number, string> = { 1: 'rack-a', 2: 'rack-b', 3: 'rack-c' };

describeIf([etcdRequirement(), kcatRequirement()], 'cluster: fetch from a follower in the consumer rack (KIP-392)', () => {
  let cluster: BrookCluster;

  beforeAll(async () => {
    cluster = BrookCluster.create({ nodeIds: [1, 2, 3], racks: RACKS });
    await cluster.startAll();
    await cluster.waitForBrokers([1, 2, 3], 1);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /** Records of `topic` that node `id`'s consumers fetched, from its /metrics. */
  async function fetchedOn(id: number, topic: string): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${cluster.node(id).httpPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const text = await res.text();
    const line = text.split('\n').find((l) => l.startsWith('brook_kafka_records_fetched_total{') && l.includes(`topic="${topic}"`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  }

  it('a consumer in a follower rack reads every record from that follower, none from the leader', async () => {
    const topic = uniqueTopic('kip392');
    const [p] = await cluster.createTopic(topic, 1, { replicationFactor: 3 });
    const leader = p!.leaderId;
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const values = Array.from({ length: 200 }, (_, i) => `v${i}`);
    const produced = await kcat(['-b', cluster.bootstrap(leader), '-P', '-t', topic, '-p', '0', '-X', 'acks=all'], { input: values.join('\n') + '\n', timeoutMs: 20_000 });
    expect(produced.code).toBe(0);
    // The follower has them below its own high watermark once it fetched twice (records, then the leader's high watermark).
    await waitUntil(
      async () => {
        const res = await fetch(`http://127.0.0.1:${cluster.node(follower).httpPort}/api/actors/partition:${topic}:0`, { signal: AbortSignal.timeout(5_000) });
        const body = (await res.json()) as { state?: { highWatermark?: number } };
        return (body.state?.highWatermark ?? 0) >= values.length ? true : undefined;
      },
      15_000,
      `node ${follower}'s replica of ${topic}-0 reaching ${values.length}`,
    );
    const read = await kcat(['-b', cluster.bootstrap(leader), '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-X', `client.rack=${RACKS[follower]}`], {
      timeoutMs: 30_000,
    });
    expect(read.code).toBe(0);
    expect(read.stdout.trim().split('\n')).toEqual(values);
    expect(await fetchedOn(follower, topic)).toBe(values.length);
    expect(await fetchedOn(leader, topic)).toBe(0);
  });
});
