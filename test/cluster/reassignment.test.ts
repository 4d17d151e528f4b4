/**
 * Partition reassignment and leader election on a three-node cluster on etcd, through the CLI
 * (`brook partitions reassign` in kafka-reassign-partitions' shape, `brook partitions
 * elect-leaders`): a replication-factor-2 topic with data moves from nodes [1,2] to [2,3] under
 * a replication throttle (--generate, --execute --throttle, --verify until complete): its leader
 * (node 1, removed) hands over to node 2, the ISR ends as [2,3], node 1's partition file goes,
 * and the data is whole on node 3 once leadership moves there; a reassignment cancelled while
 * throttled to a crawl goes back to its replicas; after a failover, ElectLeaders (preferred)
 * moves leadership back to the preferred replica once it is in sync again, and the automatic
 * rebalance (leader.imbalance.check.interval.seconds=1) does the same by itself.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, runError, uniqueTopic } from '../helpers/clients.js';
import { BrookCluster, waitUntil, type Metadata } from '../helpers/cluster.js';
import { etcdRequirement } from '../helpers/etcd.js';
import { fetchAll, produceBatch } from '../helpers/raw-client.js';
import { tempDir } from '../helpers/tmp.js';
import { buildBatch } from '../../src/storage/record-batch.js';

describeIf(etcdRequirement(), 'cluster: partition reassignment and leader election', () => {
  let cluster: BrookCluster;
  const files = tempDir('brook-reassign-');
  const IDS = [1, 2, 3];

  beforeAll(async () => {
    cluster = BrookCluster.create({ nodeIds: IDS });
    await cluster.startAll();
    for (const id of IDS) await cluster.waitForBrokers(IDS, id);
    // The automatic rebalance waits for its own test; nothing moves leaders behind the others' backs.
    await ok(['configs', 'alter', '--broker-defaults', '--add-config', 'auto.leader.rebalance.enable=false']);
  });
  afterAll(async () => {
    await cluster?.stop();
    files.cleanup();
  });

  /** Runs `brook <args> --bootstrap-server <node 1>`; fails the test unless it exits 0. */
  async function ok(args: string[], via = 1): Promise<string> {
    const r = await cluster.cli([...args, '--bootstrap-server', cluster.bootstrap(via)], 60_000);
    if (r.code !== 0) throw runError(`brook ${args.join(' ')}`, r);
    return r.stdout;
  }

  function writeJson(name: string, value: unknown): string {
    const path = join(files.dir, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  }

  /** Creates `topic` with one partition on `replicas` (the first leads). */
  async function createOn(topic: string, replicas: number[]): Promise<void> {
    const res = await cluster.withRaw(1, (c) =>
      c.request(
        19,
        7,
        {
          topics: [{ name: topic, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: replicas }], configs: [] }],
          timeoutMs: 10_000,
          validateOnly: false,
        },
        15_000,
      ),
    );
    expect(res.topics[0]?.errorCode, res.topics[0]?.errorMessage ?? '').toBe(0);
    for (const id of IDS) await cluster.waitForLeaders(id, topic, (l) => l === replicas[0]);
  }

  /** Produces `batches` batches of `perBatch` records of `size` bytes (acks=all); returns the values in order. */
  async function produce(topic: string, leader: number, batches: number, perBatch: number, size: number): Promise<string[]> {
    const values: string[] = [];
    await cluster.withRaw(leader, async (c) => {
      for (let b = 0; b < batches; b++) {
        const records = Array.from({ length: perBatch }, (_, i) => {
          const v = `${topic}-${b}-${i}-`.padEnd(size, 'x');
          values.push(v);
          return { key: null, value: Buffer.from(v) };
        });
        const r = await produceBatch(c, topic, 0, buildBatch({ records }));
        expect(r.errorCode, `produce batch ${b} to ${topic}-0 on node ${leader}`).toBe(0);
      }
    });
    return values;
  }

  async function partitionOf(topic: string, via = 1): Promise<Metadata['topics'][number]['partitions'][number] & { topicId: string }> {
    const md = await cluster.metadata(via, [topic]);
    const t = md.topics[0]!;
    return { ...t.partitions[0]!, topicId: t.topicId };
  }

  /** Waits until node `via` reports the partition in the state `pred` wants. */
  async function waitForPartition(topic: string, pred: (p: Metadata['topics'][number]['partitions'][number]) => boolean, what: string, timeoutMs = 30_000) {
    const md = await cluster.waitForMetadata(1, (m) => m.topics[0]?.partitions[0] !== undefined && pred(m.topics[0].partitions[0]), `${topic}-0: ${what}`, {
      topics: [topic],
      timeoutMs,
    });
    return md.topics[0]!.partitions[0]!;
  }

  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

  it('moves an RF=2 partition with data from [1,2] to [2,3] under a throttle: generate, execute, verify; the removed leader hands over, node 1 drops its file, the data is whole on node 3', async () => {
    const topic = uniqueTopic('ra-move');
    await createOn(topic, [1, 2]);
    // 2.4 MB: at 300 kB/s the new replica needs several seconds to catch up.
    const values = await produce(topic, 1, 24, 100, 1000);
    await waitForPartition(topic, (p) => sorted(p.isrNodes).join() === '1,2', 'ISR [1,2]');
    const { topicId } = await partitionOf(topic);
    const node1File = join(cluster.node(1).dataDir, 'logs', `${topic}.${topicId}`, '0.db');
    expect(existsSync(node1File), node1File).toBe(true);

    // --generate: the current assignment and a balanced one over brokers 2 and 3.
    const topicsFile = writeJson('topics.json', { version: 1, topics: [{ topic }] });
    const generated = await ok(['partitions', 'reassign', '--topics-to-move-json-file', topicsFile, '--broker-list', '2,3', '--generate']);
    const m = /^Current partition replica assignment\n(.*)\n\nProposed partition reassignment configuration\n(.*)\n$/.exec(generated);
    expect(m, generated).not.toBeNull();
    expect(JSON.parse(m![1]!)).toEqual({ version: 1, partitions: [{ topic, partition: 0, replicas: [1, 2] }] });
    const proposed = JSON.parse(m![2]!) as { version: number; partitions: { topic: string; partition: number; replicas: number[] }[] };
    expect(proposed.partitions).toHaveLength(1);
    expect(sorted(proposed.partitions[0]!.replicas)).toEqual([2, 3]);
    const plan = writeJson('move.json', { version: 1, partitions: [{ topic, partition: 0, replicas: [2, 3] }] });

    // --execute with a throttle: on brokers 1, 2, 3 (the current and target replicas).
    const started = Date.now();
    const executed = await ok(['partitions', 'reassign', '--reassignment-json-file', plan, '--execute', '--throttle', '300000']);
    expect(executed).toContain(`Current partition replica assignment\n\n{"version":1,"partitions":[{"topic":"${topic}","partition":0,"replicas":[1,2]}]}\n`);
    expect(executed).toContain('The inter-broker throttle limit was set to 300000 B/s on brokers 1,2,3');
    expect(executed).toContain(`Successfully started partition reassignment for ${topic}-0`);
    expect(await ok(['partitions', 'reassign', '--list'])).toContain(`${topic}-0: replicas: 2,3,1. adding: 3. removing: 1.`);

    // --verify until complete; the last one clears the throttle.
    let verified = '';
    const progress: string[] = [];
    await waitUntil(
      async () => {
        verified = await ok(['partitions', 'reassign', '--reassignment-json-file', plan, '--verify']);
        progress.push(verified.split('\n')[1] ?? '');
        return verified.includes(`Reassignment of partition ${topic}-0 is completed.`) ? true : undefined;
      },
      60_000,
      `${topic}-0 reassigned`,
      () => verified,
    );
    const tookMs = Date.now() - started;
    expect(progress[0], progress.join('\n')).toBe(`Reassignment of partition ${topic}-0 is still in progress.`);
    expect(verified).toContain('Clearing broker-level throttles on brokers 1,2,3');
    // 2.4 MB at 300 kB/s, less a second of burst: about seven seconds (unthrottled, well under one).
    expect(tookMs, `reassignment took ${tookMs} ms`).toBeGreaterThan(5_000);

    const after = await waitForPartition(topic, (p) => p.replicaNodes.join() === '2,3' && sorted(p.isrNodes).join() === '2,3', 'replicas [2,3], ISR [2,3]');
    expect(after.leaderId, 'node 1 led and was removed: the first target replica in sync leads').toBe(2);
    expect(await ok(['partitions', 'reassign', '--list'])).toBe('No partition reassignments found.\n');
    await waitUntil(async () => (existsSync(node1File) ? undefined : true), 15_000, `${node1File} deleted`);

    // The new leader takes writes (acks=all with both replicas in sync).
    const more = await produce(topic, 2, 1, 10, 100);

    // Leadership to node 3: the order [3,2] (a reassignment that completes at once), then a preferred election.
    const reorder = writeJson('reorder.json', { version: 1, partitions: [{ topic, partition: 0, replicas: [3, 2] }] });
    await ok(['partitions', 'reassign', '--reassignment-json-file', reorder, '--execute']);
    expect(await ok(['partitions', 'elect-leaders', '--election-type', 'preferred', '--topic', topic, '--partition', '0'])).toBe(
      `Successfully completed leader election (PREFERRED) for partitions ${topic}-0\n`,
    );
    await waitForPartition(topic, (p) => p.leaderId === 3, 'leader 3');
    const read = await cluster.withRaw(3, (c) => fetchAll(c, topic, 0));
    expect(read.records.map((r) => r.offset)).toEqual([...values, ...more].map((_, i) => i));
    expect(read.records.map((r) => r.value)).toEqual([...values, ...more]);
    // Asked again: the preferred replica leads already.
    expect(await ok(['partitions', 'elect-leaders', '--election-type', 'preferred', '--topic', topic, '--partition', '0'])).toBe(
      `Valid replica already elected for partitions ${topic}-0\n`,
    );
  });

  it('--cancel puts a reassignment that crawls under its throttle back on its replicas, and node 3 drops the copy it started', async () => {
    const topic = uniqueTopic('ra-cancel');
    await createOn(topic, [1, 2]);
    await produce(topic, 1, 10, 100, 1000);
    const { topicId } = await partitionOf(topic);
    const plan = writeJson('cancel.json', { version: 1, partitions: [{ topic, partition: 0, replicas: [1, 3] }] });
    await ok(['partitions', 'reassign', '--reassignment-json-file', plan, '--execute', '--throttle', '2000']);
    await waitForPartition(topic, (p) => p.replicaNodes.join() === '1,3,2', 'replicas [1,3,2] while reassigning');
    const node3File = join(cluster.node(3).dataDir, 'logs', `${topic}.${topicId}`, '0.db');
    await waitUntil(async () => (existsSync(node3File) ? true : undefined), 15_000, `node 3's copy ${node3File} started`);
    expect(await ok(['partitions', 'reassign', '--reassignment-json-file', plan, '--verify'])).toBe(
      `Status of partition reassignment:\nReassignment of partition ${topic}-0 is still in progress.\n`,
    );

    const cancelled = await ok(['partitions', 'reassign', '--reassignment-json-file', plan, '--cancel']);
    expect(cancelled).toBe(`Successfully cancelled partition reassignments for: ${topic}-0\nClearing broker-level throttles on brokers 1,2,3\n`);
    const back = await waitForPartition(topic, (p) => p.replicaNodes.join() === '1,2', 'replicas [1,2] again');
    expect(back.leaderId).toBe(1);
    expect(sorted(back.isrNodes)).toEqual([1, 2]);
    await waitUntil(async () => (existsSync(node3File) ? undefined : true), 15_000, `${node3File} deleted`);
    expect(await ok(['partitions', 'reassign', '--reassignment-json-file', plan, '--cancel'])).toBe(
      'None of the specified partition moves are active.\nClearing broker-level throttles on brokers 1,2,3\n',
    );
    expect(await ok(['partitions', 'reassign', '--reassignment-json-file', plan, '--verify'])).toContain(
      `There is no active reassignment of partition ${topic}-0, but replica set is 1,2 rather than 1,3.`,
    );
  });

  it('after a failover, ElectLeaders (preferred) moves leadership back once the preferred replica is in sync again', async () => {
    const controller = await cluster.waitForController(1);
    const [preferred, other] = IDS.filter((id) => id !== controller);
    const topic = uniqueTopic('ra-elect');
    await createOn(topic, [preferred!, other!]);
    await produce(topic, preferred!, 2, 10, 100);
    const refused = await cluster.cli([
      'partitions',
      'elect-leaders',
      '--election-type',
      'preferred',
      '--topic',
      topic,
      '--partition',
      '0',
      '--bootstrap-server',
      cluster.bootstrap(controller),
    ]);
    expect(refused.code).toBe(0);
    expect(refused.stdout).toBe(`Valid replica already elected for partitions ${topic}-0\n`);

    await cluster.kill9(preferred!);
    await cluster.waitForLeaders(controller, topic, (l) => l === other, 20_000);
    await cluster.startNode(preferred!);
    for (const id of IDS) await cluster.waitForBrokers(IDS, id);
    await cluster.waitForMetadata(controller, (m) => m.topics[0]?.partitions[0]?.isrNodes.includes(preferred!) === true, `node ${preferred} back in the ISR of ${topic}-0`, {
      topics: [topic],
      timeoutMs: 30_000,
    });
    expect((await partitionOf(topic, controller)).leaderId).toBe(other);
    const which = writeJson('elect.json', { partitions: [{ topic, partition: 0 }] });
    expect(await ok(['partitions', 'elect-leaders', '--election-type', 'preferred', '--path-to-json-file', which], controller)).toBe(
      `Successfully completed leader election (PREFERRED) for partitions ${topic}-0\n`,
    );
    await cluster.waitForLeaders(controller, topic, (l) => l === preferred, 10_000);
  });

  it('auto.leader.rebalance.enable with leader.imbalance.check.interval.seconds=1 moves leadership back by itself', async () => {
    const controller = await cluster.waitForController(1);
    const [preferred, other] = IDS.filter((id) => id !== controller);
    const topic = uniqueTopic('ra-auto');
    await createOn(topic, [preferred!, other!]);
    await ok(['configs', 'alter', '--broker-defaults', '--add-config', 'auto.leader.rebalance.enable=true,leader.imbalance.check.interval.seconds=1']);

    await cluster.kill9(preferred!);
    await cluster.waitForLeaders(controller, topic, (l) => l === other, 20_000);
    await cluster.startNode(preferred!);
    for (const id of IDS) await cluster.waitForBrokers(IDS, id);
    await cluster.waitForLeaders(controller, topic, (l) => l === preferred, 30_000);
    await ok(['configs', 'alter', '--broker-defaults', '--add-config', 'auto.leader.rebalance.enable=false']);
  });

  it('AlterPartitionReassignments, ListPartitionReassignments and ElectLeaders sent to a node that is not the controller are forwarded', async () => {
    const controller = await cluster.waitForController(1);
    const other = IDS.find((id) => id !== controller)!;
    const [a, b] = IDS.filter((id) => id !== other);
    const topic = uniqueTopic('ra-fwd');
    await createOn(topic, [a!, b!]);
    await produce(topic, a!, 1, 1, 10);
    await cluster.withRaw(other, async (c) => {
      // A new order only: complete at once, and b becomes the preferred replica.
      const altered = await c.request(45, 0, { timeoutMs: 10_000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas: [b!, a!] }] }] }, 15_000);
      expect(altered.errorCode, altered.errorMessage ?? '').toBe(0);
      expect(altered.responses.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])])).toEqual([[topic, [[0, 0]]]]);
      expect((await partitionOf(topic, other)).replicaNodes).toEqual([b, a]);
      const listed = await c.request(46, 0, { timeoutMs: 10_000, topics: [{ name: topic, partitionIndexes: [0] }] });
      expect([listed.errorCode, listed.topics]).toEqual([0, []]);
      const cancelled = await c.request(45, 0, { timeoutMs: 10_000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas: null }] }] }, 15_000);
      expect(cancelled.responses[0]?.partitions[0]?.errorCode).toBe(85); // NO_REASSIGNMENT_IN_PROGRESS
      const elected = await c.request(43, 2, { electionType: 0, topicPartitions: [{ topic, partitions: [0] }], timeoutMs: 10_000 }, 15_000);
      expect(elected.errorCode).toBe(0);
      expect(elected.replicaElectionResults.map((t) => t.partitionResult.map((p) => [p.partitionId, p.errorCode, p.errorMessage]))).toEqual([[[0, 0, null]]]);
      // v0: preferred only, no top-level error code.
      const again = await c.request(43, 0, { topicPartitions: [{ topic, partitions: [0] }], timeoutMs: 10_000 }, 15_000);
      expect(again.replicaElectionResults[0]?.partitionResult[0]?.errorCode).toBe(84); // ELECTION_NOT_NEEDED
    });
    await cluster.waitForLeaders(other, topic, (l) => l === b);
  });

  it('usage errors name the option: no action, a bad election type, a malformed plan (exit 2); an unknown partition fails (exit 1)', async () => {
    const none = await cluster.cli(['partitions', 'reassign', '--bootstrap-server', cluster.bootstrap(1)]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give exactly one of --generate, --execute, --verify, --cancel or --list');
    const badType = await cluster.cli(['partitions', 'elect-leaders', '--election-type', 'random', '--all-topic-partitions', '--bootstrap-server', cluster.bootstrap(1)]);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('--election-type');
    expect(badType.stderr).toContain('must be preferred or unclean');
    const malformed = writeJson('bad.json', { version: 1, partitions: [{ topic: 'x', partition: 0, replicas: [1, 1] }] });
    const bad = await cluster.cli(['partitions', 'reassign', '--reassignment-json-file', malformed, '--execute', '--bootstrap-server', cluster.bootstrap(1)]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--reassignment-json-file');
    expect(bad.stderr).toContain('x-0 lists a broker twice');
    const unknown = writeJson('unknown.json', { version: 1, partitions: [{ topic: uniqueTopic('ra-none'), partition: 0, replicas: [1] }] });
    const failed = await cluster.cli(['partitions', 'reassign', '--reassignment-json-file', unknown, '--execute', '--bootstrap-server', cluster.bootstrap(1)]);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toContain('UNKNOWN_TOPIC_OR_PARTITION');
  });
});
