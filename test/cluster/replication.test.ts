/**
 * Partition replication (issue 16) on a three-node cluster on etcd (`--workers 1`, session
 * timeout 2 s), with real faults:
 * - a replication-factor-3 topic with min.insync.replicas=2: every node reports an ISR of all
 *   three replicas, and a batch acknowledged with acks=all is in all three replicas' SQLite files
 *   the moment the answer arrives;
 * - a group's committed offsets survive the SIGKILL of the node leading its `__consumer_offsets`
 *   partition: a new consumer in the group resumes from the commit;
 * - the SIGKILL of a leader under an idempotent acks=all producer (Brook's client): every
 *   acknowledged record is read back exactly once, in order; the new leader comes from the ISR
 *   with a higher leader epoch; the killed node restarts, catches up and rejoins the ISR;
 * - min.insync.replicas=3 with one node down, and min.insync.replicas=2 with two nodes down:
 *   acks=all is NOT_ENOUGH_REPLICAS, acks=1 is written; with the nodes back acks=all works again;
 * - a leader paused (SIGSTOP) past the session timeout while holding records its followers never
 *   got (a consumer meanwhile sees only what is below the high watermark): a new leader is
 *   elected and answers an idempotent producer's retries of acknowledged batches as duplicates;
 *   resumed, the old leader follows, truncates those records and rejoins the ISR;
 * - OffsetForLeaderEpoch v4 answers where the epoch before that failover ended; stale and future
 *   current leader epochs are fenced (Fetch too);
 * - a replica that led an epoch without writing anything follows the next leader and rejoins the
 *   ISR (its epoch cache entry at its log end must not make it diverge forever);
 * - last, every node is stopped with SIGTERM and each partition's SQLite file of every topic
 *   above is compared across its replicas: the same batches (offsets and bytes).
 */
import type { Kafka } from 'kafkajs';
import { Kafka as KafkaJs, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Admin, Producer } from '../../src/client/index.js';
import { groupPartition, OFFSETS_TOPIC } from '../../src/cluster/offsets-topic.js';
import { buildBatch } from '../../src/storage/record-batch.js';
import { describeIf, uniqueTopic } from '../helpers/clients.js';
import { BrookCluster, waitUntil } from '../helpers/cluster.js';
import { etcdRequirement } from '../helpers/etcd.js';
import { fetchOnce, latestOffset, produceBatch, recordsOf, type FetchedRecord, type RawClient } from '../helpers/raw-client.js';
import {
  checkAcknowledged,
  createReplicatedTopic,
  describeLogs,
  FENCED_LEADER_EPOCH,
  inspectReplica,
  logsIdentical,
  NOT_ENOUGH_REPLICAS,
  NOT_LEADER_OR_FOLLOWER,
  partitionMd,
  partitionsOf,
  readPartition,
  replicaLogs,
  sameSet,
  UNKNOWN_LEADER_EPOCH,
  waitForIsr,
  type PartitionMd,
} from '../helpers/replication.js';
import { sleep } from '../helpers/tmp.js';

const OFFSETS_PARTITIONS = 3;
const ALL = [1, 2, 3];

/** A batch of `n` records valued `${prefix}-${i}`. */
function batch(prefix: string, n: number): Buffer {
  return buildBatch({ records: Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`${prefix}-${i}`) })) });
}

/** One Produce v9 attempt (no retry), for answers that are errors on purpose. */
async function produceOnce(c: RawClient, topic: string, partition: number, records: Buffer, acks: number) {
  const res = await c.request(0, 9, { acks, timeoutMs: 5_000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  return res.responses[0]!.partitionResponses[0]!;
}

/** Resolves `p`, or rejects after `ms` naming `what`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describeIf(etcdRequirement(), 'cluster: partition replication, acks=all, failover and truncation', () => {
  let cluster: BrookCluster;
  /** Topics the last test compares replica by replica. */
  const compared: { topic: string; partitions: number }[] = [];
  const kafkaClients: { disconnect(): Promise<void> }[] = [];

  beforeAll(async () => {
    cluster = BrookCluster.create({
      nodeIds: ALL,
      extraArgs: ['--offsets-topic-partitions', String(OFFSETS_PARTITIONS), '--group-initial-rebalance-delay-ms', '0'],
    });
    await cluster.startAll();
    for (const id of ALL) await cluster.waitForBrokers(ALL, id);
    // __consumer_offsets is created on the first FindCoordinator, with min(3, live nodes)
    // replicas: asked now, while all three nodes are alive.
    await waitUntil(
      () =>
        cluster.withRaw(1, async (c) => {
          const r = await c.request(10, 3, { key: 'repl-warmup', keyType: 0 });
          return r.errorCode === 0 ? true : undefined;
        }),
      20_000,
      'a group coordinator (creates __consumer_offsets)',
    );
    await waitForIsr(cluster, 1, OFFSETS_TOPIC, (p) => p.replicaNodes.length === 3 && sameSet(p.isrNodes, p.replicaNodes), 'RF 3 and a full ISR');
  });
  afterAll(async () => {
    await Promise.all(kafkaClients.map((c) => c.disconnect().catch(() => undefined)));
    await cluster?.stop();
  });

  /** Restarts `id` and waits until every node lists all three and `topic`'s ISR is full again on node `via`. */
  async function restartAndCatchUp(id: number, topic: string, via: number): Promise<PartitionMd[]> {
    await cluster.startNode(id);
    for (const n of ALL) await cluster.waitForBrokers(ALL, n);
    return waitForIsr(cluster, via, topic, (p) => sameSet(p.isrNodes, p.replicaNodes), `node ${id} back in the ISR`, 30_000);
  }

  function kafkajsClient(clientId: string): Kafka {
    return new KafkaJs({
      clientId,
      brokers: cluster.bootstraps(),
      connectionTimeout: 3_000,
      requestTimeout: 10_000,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2_000 },
      logLevel: logLevel.NOTHING,
    });
  }

  it('RF 3, min.insync.replicas=2: every node reports an ISR of all three replicas, and an acks=all answer means all three SQLite files hold the batch', async () => {
    const topic = uniqueTopic('repl-isr');
    await createReplicatedTopic(cluster, topic, 3, 3, { 'min.insync.replicas': '2' });
    compared.push({ topic, partitions: 3 });
    let parts: PartitionMd[] = [];
    for (const id of ALL) {
      parts = partitionsOf(await cluster.metadata(id, [topic]), topic);
      expect(parts, `partitions of ${topic} on node ${id}`).toHaveLength(3);
      for (const p of parts) {
        expect(sameSet(p.replicaNodes, ALL), `replicas of ${topic}-${p.partitionIndex} on node ${id}: ${p.replicaNodes.join(',')}`).toBe(true);
        expect(sameSet(p.isrNodes, ALL), `ISR of ${topic}-${p.partitionIndex} on node ${id}: ${p.isrNodes.join(',')}`).toBe(true);
        expect(p.leaderEpoch).toBeGreaterThanOrEqual(0);
      }
    }
    expect(new Set(parts.map((p) => p.leaderId)), 'leaders spread over the nodes').toEqual(new Set(ALL));
    for (const p of parts) {
      const at = p.partitionIndex;
      for (let k = 0; k < 5; k++) {
        const res = await cluster.withRaw(p.leaderId, (c) => produceBatch(c, topic, at, batch(`isr-${at}-${k}`, 10), -1));
        expect([res.errorCode, res.errorMessage]).toEqual([0, null]);
        expect(res.baseOffset).toBe(k * 10);
        // Answered once the ISR's log ends passed the batch: each follower had committed it to its own file.
        const logs = replicaLogs(cluster, topic, at, p.replicaNodes);
        for (const [id, l] of logs) expect(l?.at(-1)?.last, `${topic}-${at} on node ${id} right after the acks=all answer: ${describeLogs(logs)}`).toBe(k * 10 + 9);
        expect(logsIdentical(logs), describeLogs(logs)).toBe(true);
      }
    }
  });

  it("a group's committed offsets survive the SIGKILL of the node leading its __consumer_offsets partition", async () => {
    const topic = uniqueTopic('repl-group');
    const [tp] = await createReplicatedTopic(cluster, topic, 1, 3, { 'min.insync.replicas': '2' });
    compared.push({ topic, partitions: 1 });
    const res = await cluster.withRaw(tp!.leaderId, (c) => produceBatch(c, topic, 0, batch('g', 30), -1));
    expect(res.errorCode).toBe(0);

    const groupId = uniqueTopic('repl-g');
    const coordinator = await waitUntil(
      () =>
        cluster.withRaw(1, async (c) => {
          const r = await c.request(10, 3, { key: groupId, keyType: 0 });
          return r.errorCode === 0 ? r.nodeId : undefined;
        }),
      15_000,
      `the coordinator of ${groupId}`,
    );
    const offsetsPartition = await partitionMd(cluster, 1, OFFSETS_TOPIC, groupPartition(groupId, OFFSETS_PARTITIONS));
    expect(offsetsPartition.leaderId, `the coordinator leads ${OFFSETS_TOPIC}-${offsetsPartition.partitionIndex}`).toBe(coordinator);
    expect(sameSet(offsetsPartition.isrNodes, ALL), `ISR of ${OFFSETS_TOPIC}-${offsetsPartition.partitionIndex}: ${offsetsPartition.isrNodes.join(',')}`).toBe(true);

    const kafka = kafkajsClient('repl-group');
    const first = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, retry: { retries: 10 } });
    kafkaClients.push(first);
    await first.connect();
    await first.subscribe({ topic, fromBeginning: true });
    const seen: number[] = [];
    await first.run({ autoCommit: false, eachMessage: async ({ message }) => void seen.push(Number(message.offset)) });
    await waitUntil(
      async () => (seen.length >= 10 ? true : undefined),
      30_000,
      'the first consumer reading 10 records',
      () => seen.length,
    );
    await first.commitOffsets([{ topic, partition: 0, offset: '10' }]);
    await first.disconnect();

    const survivors = ALL.filter((id) => id !== coordinator);
    const admin = new Admin({ bootstrapServers: survivors.map((id) => cluster.bootstrap(id)), requestTimeoutMs: 5_000 });
    try {
      const before = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(before.map((o) => [o.partition, o.offset])).toEqual([[0, 10]]);

      await cluster.kill9(coordinator);
      const moved = await waitUntil(
        () =>
          cluster.withRaw(survivors[0]!, async (c) => {
            const r = await c.request(10, 3, { key: groupId, keyType: 0 });
            return r.errorCode === 0 && r.nodeId !== coordinator ? r.nodeId : undefined;
          }),
        20_000,
        `a new coordinator of ${groupId} after node ${coordinator} was killed`,
      );
      expect(survivors).toContain(moved);
      let committed: unknown = null;
      await waitUntil(
        async () => {
          const o = await admin.fetchOffsets({ groupId, topics: [topic] });
          committed = o;
          return o.length === 1 && o[0]!.offset === 10 ? true : undefined;
        },
        20_000,
        `the committed offset of ${groupId} from the new coordinator ${moved}`,
        () => committed,
      );
    } finally {
      await admin.close();
    }

    const second = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, retry: { retries: 10 } });
    kafkaClients.push(second);
    await second.connect();
    await second.subscribe({ topic, fromBeginning: true });
    const resumed: { offset: number; value: string }[] = [];
    await second.run({ autoCommit: false, eachMessage: async ({ message }) => void resumed.push({ offset: Number(message.offset), value: message.value!.toString() }) });
    await waitUntil(
      async () => (resumed.length >= 20 ? true : undefined),
      30_000,
      'the second consumer reading from the commit',
      () => resumed.length,
    );
    await second.disconnect();
    expect(resumed[0], 'the new consumer resumed at the committed offset').toEqual({ offset: 10, value: 'g-10' });
    expect(resumed.map((r) => r.offset)).toEqual(Array.from({ length: 20 }, (_, i) => 10 + i));

    await restartAndCatchUp(coordinator, topic, survivors[0]!);
  });

  it('SIGKILL of a leader under an idempotent acks=all producer: no acknowledged record lost, duplicated or reordered; a new leader from the ISR with a higher epoch; the killed node catches up and rejoins the ISR', async () => {
    const topic = uniqueTopic('repl-kill');
    const controller = await cluster.waitForController(1);
    const parts = await createReplicatedTopic(cluster, topic, 3, 3, { 'min.insync.replicas': '2' });
    compared.push({ topic, partitions: 3 });
    // A leader on a node that is not the controller: the failover is the partition's, not the controller's.
    const victim = (parts.find((p) => p.leaderId !== controller) ?? parts[0]!).leaderId;
    const led = parts.filter((p) => p.leaderId === victim);
    const survivors = ALL.filter((id) => id !== victim);

    const producer = new Producer({
      bootstrapServers: cluster.bootstraps(),
      clientId: 'repl-kill',
      acks: -1,
      idempotent: true,
      lingerMs: 2,
      requestTimeoutMs: 10_000,
      deliveryTimeoutMs: 60_000,
      retryBackoffMs: 100,
      metadataMaxAgeMs: 5_000,
    });
    const TOTAL = 3_000;
    const acked: { value: string; partition: number; offset: number; seq: number }[] = [];
    const failed: { value: string; error: string }[] = [];
    const sends: Promise<void>[] = [];
    let sent = 0;
    let sentAtKill = -1;
    // About 1,000 records/s, one record a send, round robin over the partitions.
    const sender = (async () => {
      while (sent < TOTAL) {
        for (let k = 0; k < 10 && sent < TOTAL; k++, sent++) {
          const seq = sent;
          const value = `kill-${seq}`;
          const partition = seq % 3;
          sends.push(
            producer.send({ topic, messages: [{ value, partition }] }).then(
              ([m]) => {
                acked.push({ value, partition, offset: m!.offset, seq });
              },
              (err: Error) => void failed.push({ value, error: err.message }),
            ),
          );
        }
        await sleep(10);
      }
      await Promise.all(sends);
    })();
    try {
      await waitUntil(
        async () => (acked.length >= 600 ? true : undefined),
        30_000,
        '600 acknowledged records before the kill',
        () => ({ sent, acked: acked.length, failed }),
      );
      sentAtKill = sent;
      await cluster.kill9(victim);
      // Every send settles within the delivery timeout (60 s): acknowledged or failed.
      await within(sender, 75_000, `the ${TOTAL} sends`);
    } catch (err) {
      const states: string[] = [];
      for (const id of survivors) for (const p of parts) states.push(await inspectReplica(cluster, id, topic, p.partitionIndex));
      const md = await cluster.metadata(survivors[0]!, [topic]).catch(() => null);
      throw new Error(
        `${(err as Error).message}\nfailed sends (first 5): ${JSON.stringify(failed.slice(0, 5))}\nmetadata: ${JSON.stringify(md?.topics)}\n${states.join('\n')}\n${cluster.logs(6000)}`,
        { cause: err },
      );
    } finally {
      await producer.close().catch(() => undefined);
    }
    expect(failed, 'sends that failed for good').toEqual([]);
    expect(acked).toHaveLength(TOTAL);
    const ledIndexes = led.map((p) => p.partitionIndex);
    expect(
      acked.filter((a) => a.seq >= sentAtKill && ledIndexes.includes(a.partition)).length,
      `records sent after the kill to the partitions node ${victim} led (${ledIndexes.join(',')}), acknowledged by their new leaders`,
    ).toBeGreaterThan(0);

    // A new leader from the ISR, in a higher leader epoch, on every partition the victim led.
    const now = await waitForIsr(cluster, survivors[0]!, topic, (p) => p.leaderId >= 0 && p.leaderId !== victim, `leaders other than node ${victim}`, 20_000);
    for (const before of led) {
      const after = now.find((p) => p.partitionIndex === before.partitionIndex)!;
      expect(
        before.isrNodes.filter((id) => id !== victim),
        `new leader of ${topic}-${before.partitionIndex}`,
      ).toContain(after.leaderId);
      expect(after.leaderEpoch, `leader epoch of ${topic}-${before.partitionIndex}`).toBeGreaterThan(before.leaderEpoch);
      expect(after.isrNodes).not.toContain(victim);
    }

    // Every acknowledged record, from the survivors alone.
    let problems: string[] = [];
    await waitUntil(
      async () => {
        const logs = new Map<number, FetchedRecord[]>();
        for (const p of now) logs.set(p.partitionIndex, await readPartition(cluster, survivors[0]!, topic, p.partitionIndex));
        problems = checkAcknowledged(acked, logs);
        return problems.length === 0 ? true : undefined;
      },
      20_000,
      `every acknowledged record of ${topic} on the survivors`,
      () => problems.slice(0, 20),
    );

    // The killed node restarts, catches up and is back in every ISR; the leaders stay.
    const back = await restartAndCatchUp(victim, topic, survivors[0]!);
    for (const p of back) expect(p.leaderId).toBe(now.find((x) => x.partitionIndex === p.partitionIndex)!.leaderId);
    await waitUntil(
      async () => (back.every((p) => logsIdentical(replicaLogs(cluster, topic, p.partitionIndex, p.replicaNodes))) ? true : undefined),
      20_000,
      `node ${victim}'s copy of ${topic} identical to the others'`,
      () => back.map((p) => describeLogs(replicaLogs(cluster, topic, p.partitionIndex, p.replicaNodes))),
    );
  }, 150_000);

  it('min.insync.replicas=3 with one replica down: acks=all is NOT_ENOUGH_REPLICAS, acks=1 is written; with the node back acks=all works again', async () => {
    const topic = uniqueTopic('repl-minisr');
    const controller = await cluster.waitForController(1);
    const [p] = await createReplicatedTopic(cluster, topic, 1, 3, { 'min.insync.replicas': '3' });
    compared.push({ topic, partitions: 1 });
    const leader = p!.leaderId;
    const down = ALL.find((id) => id !== leader && id !== controller)!;

    const first = await cluster.withRaw(leader, (c) => produceOnce(c, topic, 0, batch('minisr-all3', 3), -1));
    expect([first.errorCode, first.baseOffset]).toEqual([0, 0]);

    await cluster.kill9(down);
    await waitForIsr(cluster, leader, topic, (x) => x.isrNodes.length === 2 && !x.isrNodes.includes(down), `node ${down} out of the ISR`, 20_000);
    const refused = await cluster.withRaw(leader, (c) => produceOnce(c, topic, 0, batch('minisr-refused', 3), -1));
    expect([refused.errorCode, refused.baseOffset], JSON.stringify(refused)).toEqual([NOT_ENOUGH_REPLICAS, -1]);
    const one = await cluster.withRaw(leader, (c) => produceOnce(c, topic, 0, batch('minisr-acks1', 3), 1));
    expect([one.errorCode, one.baseOffset], JSON.stringify(one)).toEqual([0, 3]);

    await restartAndCatchUp(down, topic, leader);
    const again = await cluster.withRaw(leader, (c) => produceBatch(c, topic, 0, batch('minisr-back', 3), -1));
    expect([again.errorCode, again.baseOffset], JSON.stringify(again)).toEqual([0, 6]);
    const values = (await readPartition(cluster, leader, topic, 0)).map((r) => r.value);
    expect(values).toEqual(['minisr-all3', 'minisr-acks1', 'minisr-back'].flatMap((prefix) => [0, 1, 2].map((i) => `${prefix}-${i}`)));
  });

  it('two of three replicas down (min.insync.replicas=2): acks=all is NOT_ENOUGH_REPLICAS, acks=1 is written; with both back acks=all works again', async () => {
    const topic = uniqueTopic('repl-two-down');
    const [p] = await createReplicatedTopic(cluster, topic, 1, 3, { 'min.insync.replicas': '2' });
    compared.push({ topic, partitions: 1 });
    const leader = p!.leaderId;
    const down = ALL.filter((id) => id !== leader);
    await Promise.all(down.map((id) => cluster.kill9(id)));
    // The ISR never empties: the leader stays, alone.
    const alone = await waitForIsr(cluster, leader, topic, (x) => x.leaderId === leader && sameSet(x.isrNodes, [leader]), `nodes ${down.join(',')} out of the ISR`, 20_000);
    expect(alone[0]!.leaderEpoch).toBe(p!.leaderEpoch);
    const refused = await cluster.withRaw(leader, (c) => produceOnce(c, topic, 0, batch('two-down-refused', 2), -1));
    expect([refused.errorCode, refused.baseOffset], JSON.stringify(refused)).toEqual([NOT_ENOUGH_REPLICAS, -1]);
    const one = await cluster.withRaw(leader, (c) => produceOnce(c, topic, 0, batch('two-down-acks1', 2), 1));
    expect([one.errorCode, one.baseOffset], JSON.stringify(one)).toEqual([0, 0]);

    await Promise.all(down.map((id) => cluster.startNode(id)));
    for (const n of ALL) await cluster.waitForBrokers(ALL, n);
    await waitForIsr(cluster, leader, topic, (x) => sameSet(x.isrNodes, x.replicaNodes), `nodes ${down.join(',')} back in the ISR`, 30_000);
    const again = await cluster.withRaw(leader, (c) => produceBatch(c, topic, 0, batch('two-down-back', 2), -1));
    expect([again.errorCode, again.baseOffset], JSON.stringify(again)).toEqual([0, 2]);
    // The acks=1 batch written while the followers were down reached them when they came back.
    await waitUntil(
      async () => (logsIdentical(replicaLogs(cluster, topic, 0, ALL)) ? true : undefined),
      20_000,
      `${topic}-0 identical on every replica`,
      () => describeLogs(replicaLogs(cluster, topic, 0, ALL)),
    );
  });

  /** The failover of the pause test, for the OffsetForLeaderEpoch test. */
  let paused: { topic: string; partition: number; oldLeader: number; newLeader: number; oldEpoch: number; newEpoch: number; oldEpochEnd: number; logEnd: number } | null = null;

  it('a leader paused past the session timeout holding records its followers lack: a new leader is elected; resumed, it follows, truncates them and rejoins the ISR', async () => {
    const topic = uniqueTopic('repl-pause');
    const controller = await cluster.waitForController(1);
    const parts = await createReplicatedTopic(cluster, topic, 3, 3, { 'min.insync.replicas': '2' });
    compared.push({ topic, partitions: 3 });
    const target = parts.find((x) => x.leaderId !== controller)!;
    const at = target.partitionIndex;
    const oldLeader = target.leaderId;
    const followers = target.replicaNodes.filter((id) => id !== oldLeader);
    // Idempotent batches (a producer id, sequences 0, 5, 10, 15): the followers rebuild the producer's state from them.
    const pid = await cluster.withRaw(oldLeader, (c) => c.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 }));
    expect(pid.errorCode).toBe(0);
    const committed = [0, 1, 2, 3].map((k) =>
      buildBatch({
        records: Array.from({ length: 5 }, (_, i) => ({ key: null, value: Buffer.from(`pause-committed-${k}-${i}`) })),
        producerId: pid.producerId,
        producerEpoch: pid.producerEpoch,
        baseSequence: k * 5,
      }),
    );
    for (const [k, records] of committed.entries()) {
      const r = await cluster.withRaw(oldLeader, (c) => produceBatch(c, topic, at, records, -1));
      expect([r.errorCode, r.baseOffset]).toEqual([0, k * 5]);
    }
    const committedEnd = 20;

    // The followers stop fetching (paused well inside their session), their last long poll
    // answered; the leader takes an acks=1 batch they never see, and is paused in turn.
    for (const id of followers) cluster.pause(id);
    let unreplicated: Awaited<ReturnType<typeof produceOnce>> | undefined;
    let visible: { highWatermark: number; offsets: number[]; latest: number } | undefined;
    try {
      await sleep(700);
      await cluster.withRaw(oldLeader, async (c) => {
        unreplicated = await produceOnce(c, topic, at, batch('pause-unreplicated', 5), 1);
        // What a consumer sees meanwhile: only what the ISR has, below the high watermark.
        const f = await fetchOnce(c, topic, at, 0);
        visible = { highWatermark: f.highWatermark, offsets: recordsOf(f.records).map((r) => r.offset), latest: await latestOffset(c, topic, at) };
      });
    } finally {
      cluster.pause(oldLeader);
      for (const id of followers) cluster.resume(id);
    }
    let resumed = false;
    try {
      expect([unreplicated?.errorCode, unreplicated?.baseOffset]).toEqual([0, committedEnd]);
      expect(visible, 'a consumer of the leader while its followers lack the acks=1 batch').toEqual({
        highWatermark: committedEnd,
        offsets: Array.from({ length: committedEnd }, (_, i) => i),
        latest: committedEnd,
      });
      const elected = await waitForIsr(
        cluster,
        followers[0]!,
        topic,
        (x) => x.partitionIndex !== at || (x.leaderId >= 0 && x.leaderId !== oldLeader),
        `a leader of ${topic}-${at} other than the paused node ${oldLeader}`,
        20_000,
      );
      const now = elected.find((x) => x.partitionIndex === at)!;
      const newLeader = now.leaderId;
      expect(followers).toContain(newLeader);
      expect(now.leaderEpoch).toBeGreaterThan(target.leaderEpoch);
      expect(now.isrNodes).not.toContain(oldLeader);
      // The producer's retries of batches the old leader acknowledged are duplicates on the new one: answered with their offsets, not appended.
      for (const k of [1, 3]) {
        const d = await cluster.withRaw(newLeader, (c) => produceBatch(c, topic, at, committed[k]!, -1));
        expect([d.errorCode, d.baseOffset], `batch ${k} (sequence ${k * 5}) again, to node ${newLeader}: ${JSON.stringify(d)}`).toEqual([0, k * 5]);
      }
      // The new leader's log ends where the committed records end: the new epoch writes over the paused node's batch.
      const r = await cluster.withRaw(newLeader, (c) => produceBatch(c, topic, at, batch('pause-new-leader', 5), -1));
      expect([r.errorCode, r.baseOffset], JSON.stringify(r)).toEqual([0, committedEnd]);

      cluster.resume(oldLeader);
      resumed = true;
      const rejoined = await waitForIsr(cluster, oldLeader, topic, (x) => sameSet(x.isrNodes, x.replicaNodes), `node ${oldLeader} back in the ISR`, 30_000);
      const p = rejoined.find((x) => x.partitionIndex === at)!;
      expect(p.leaderId, `leader of ${topic}-${at} once node ${oldLeader} rejoined`).toBe(newLeader);
      expect(p.leaderEpoch).toBe(now.leaderEpoch);
      // Its copy ends up the same as the others' (the unreplicated batch gone).
      await waitUntil(
        async () => (logsIdentical(replicaLogs(cluster, topic, at, p.replicaNodes)) ? true : undefined),
        20_000,
        `node ${oldLeader}'s copy of ${topic}-${at} identical to the others'`,
        () => describeLogs(replicaLogs(cluster, topic, at, p.replicaNodes)),
      );
      const values = (await readPartition(cluster, oldLeader, topic, at)).map((x) => x.value);
      expect(values).toEqual([...[0, 1, 2, 3].flatMap((k) => [0, 1, 2, 3, 4].map((i) => `pause-committed-${k}-${i}`)), ...[0, 1, 2, 3, 4].map((i) => `pause-new-leader-${i}`)]);
      paused = { topic, partition: at, oldLeader, newLeader, oldEpoch: target.leaderEpoch, newEpoch: now.leaderEpoch, oldEpochEnd: committedEnd, logEnd: committedEnd + 5 };
    } finally {
      if (!resumed && cluster.alive(oldLeader)) cluster.resume(oldLeader);
    }
  });

  it('OffsetForLeaderEpoch v4 after that failover: the end offset of the old epoch and of the current one; stale and future current epochs fenced, for Fetch too; a follower refuses', async () => {
    expect(paused, 'the failover of the previous test').not.toBeNull();
    const f = paused!;
    const ask = (node: number, leaderEpoch: number, currentLeaderEpoch: number) =>
      cluster.withRaw(node, async (c) => {
        const r = await c.request(23, 4, { replicaId: -1, topics: [{ topic: f.topic, partitions: [{ partition: f.partition, currentLeaderEpoch, leaderEpoch }] }] });
        const p = r.topics[0]!.partitions[0]!;
        return { errorCode: p.errorCode, leaderEpoch: p.leaderEpoch, endOffset: p.endOffset };
      });
    expect(await ask(f.newLeader, f.oldEpoch, f.newEpoch), `epoch ${f.oldEpoch} on node ${f.newLeader}`).toEqual({
      errorCode: 0,
      leaderEpoch: f.oldEpoch,
      endOffset: f.oldEpochEnd,
    });
    expect(await ask(f.newLeader, f.newEpoch, f.newEpoch), `epoch ${f.newEpoch} on node ${f.newLeader}`).toEqual({ errorCode: 0, leaderEpoch: f.newEpoch, endOffset: f.logEnd });
    expect(await ask(f.newLeader, f.oldEpoch, -1), 'no current epoch').toEqual({ errorCode: 0, leaderEpoch: f.oldEpoch, endOffset: f.oldEpochEnd });
    expect((await ask(f.newLeader, f.oldEpoch, f.oldEpoch)).errorCode, 'a stale current epoch').toBe(FENCED_LEADER_EPOCH);
    expect((await ask(f.newLeader, f.newEpoch, f.newEpoch + 1)).errorCode, 'a future current epoch').toBe(UNKNOWN_LEADER_EPOCH);
    expect((await ask(f.oldLeader, f.oldEpoch, f.newEpoch)).errorCode, `node ${f.oldLeader} follows`).toBe(NOT_LEADER_OR_FOLLOWER);

    // Fetch (v12) carries the consumer's current leader epoch too (KIP-320).
    const fetchIn = (currentLeaderEpoch: number) =>
      cluster.withRaw(f.newLeader, async (c) => {
        const res = await c.request(1, 12, {
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic: f.topic, partitions: [{ partition: f.partition, currentLeaderEpoch, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
        });
        const p = res.responses[0]!.partitions[0]!;
        return { errorCode: p.errorCode, records: p.errorCode === 0 ? recordsOf(p.records ?? Buffer.alloc(0)).length : -1 };
      });
    expect(await fetchIn(f.newEpoch), 'Fetch in the current epoch').toEqual({ errorCode: 0, records: f.logEnd });
    expect((await fetchIn(f.oldEpoch)).errorCode, 'Fetch in the old epoch').toBe(FENCED_LEADER_EPOCH);
    expect((await fetchIn(f.newEpoch + 1)).errorCode, 'Fetch in a future epoch').toBe(UNKNOWN_LEADER_EPOCH);
  });

  it('a replica that led an epoch in which nothing was written follows the next leader and rejoins the ISR', async () => {
    // Kafka's UnifiedLog.truncateTo drops such an epoch entry even when there is nothing to cut:
    // a node that became leader (epoch cache: epoch E at its log end) and lost the leadership
    // before any append must not keep diverging from a leader that never saw epoch E.
    const topic = uniqueTopic('repl-empty-epoch');
    const controller = await cluster.waitForController(1);
    const parts = await createReplicatedTopic(cluster, topic, 3, 3);
    compared.push({ topic, partitions: 3 });
    // Replicas [a, b, controller]: a leads, then b (a's controlled shutdown), then a again (b's).
    const target = parts.find((p) => p.replicaNodes[2] === controller && p.leaderId === p.replicaNodes[0])!;
    expect(target, `a partition of ${topic} whose last replica is the controller ${controller}: ${JSON.stringify(parts)}`).toBeDefined();
    const at = target.partitionIndex;
    const [a, b] = target.replicaNodes as [number, number, number];
    const written = await cluster.withRaw(a, (c) => produceBatch(c, topic, at, batch('empty-epoch-before', 5), -1));
    expect([written.errorCode, written.baseOffset]).toEqual([0, 0]);

    expect(await cluster.sigterm(a)).toEqual({ code: 0, signal: null });
    const first = await waitForIsr(cluster, controller, topic, (p) => p.partitionIndex !== at || p.leaderId === b, `node ${b} leading ${topic}-${at}`, 20_000);
    const epochOfB = first.find((p) => p.partitionIndex === at)!.leaderEpoch;
    expect(epochOfB).toBeGreaterThan(target.leaderEpoch);
    await restartAndCatchUp(a, topic, controller);

    // b led epoch `epochOfB` without a single append; its controlled shutdown hands the partition to a.
    expect(await cluster.sigterm(b)).toEqual({ code: 0, signal: null });
    const second = await waitForIsr(cluster, controller, topic, (p) => p.partitionIndex !== at || p.leaderId === a, `node ${a} leading ${topic}-${at} again`, 20_000);
    expect(second.find((p) => p.partitionIndex === at)!.leaderEpoch).toBeGreaterThan(epochOfB);

    await cluster.startNode(b);
    for (const n of ALL) await cluster.waitForBrokers(ALL, n);
    try {
      await waitForIsr(cluster, controller, topic, (p) => sameSet(p.isrNodes, p.replicaNodes), `node ${b} back in the ISR`, 20_000);
    } catch (err) {
      throw new Error(`${(err as Error).message.split('\n')[0]}\n${await inspectReplica(cluster, a, topic, at)}\n${await inspectReplica(cluster, b, topic, at)}`, { cause: err });
    }
    const after = await cluster.withRaw(a, (c) => produceBatch(c, topic, at, batch('empty-epoch-after', 5), -1));
    expect([after.errorCode, after.baseOffset]).toEqual([0, 5]);
    await waitUntil(
      async () => (logsIdentical(replicaLogs(cluster, topic, at, target.replicaNodes)) ? true : undefined),
      20_000,
      `${topic}-${at} identical on every replica`,
      () => describeLogs(replicaLogs(cluster, topic, at, target.replicaNodes)),
    );
  });

  it('last: every node stopped with SIGTERM, each partition of every topic above has identical SQLite files (offsets and bytes) on its three replicas', async () => {
    expect(compared.length).toBeGreaterThan(0);
    const replicas = new Map<string, number[]>();
    for (const { topic } of compared) {
      const parts = await waitForIsr(cluster, 1, topic, (p) => sameSet(p.isrNodes, p.replicaNodes) && p.replicaNodes.length === 3, 'a full ISR before the stop');
      for (const p of parts) replicas.set(`${topic}/${p.partitionIndex}`, p.replicaNodes);
    }
    // Caught up before the stop (a follower may be a fetch behind the leader's last append).
    for (const { topic, partitions } of compared) {
      for (let p = 0; p < partitions; p++) {
        const ids = replicas.get(`${topic}/${p}`)!;
        await waitUntil(
          async () => (logsIdentical(replicaLogs(cluster, topic, p, ids)) ? true : undefined),
          20_000,
          `${topic}-${p} caught up on every replica`,
          () => describeLogs(replicaLogs(cluster, topic, p, ids)),
        );
      }
    }
    const exits = await Promise.all(ALL.map((id) => cluster.sigterm(id, 30_000)));
    expect(exits, cluster.logs(2000)).toEqual(ALL.map(() => ({ code: 0, signal: null })));
    for (const { topic, partitions } of compared) {
      let stored = 0;
      for (let p = 0; p < partitions; p++) {
        const logs = replicaLogs(cluster, topic, p, replicas.get(`${topic}/${p}`)!);
        const [first, ...rest] = [...logs.values()];
        expect(first, `${topic}-${p}: ${describeLogs(logs)}`).not.toBeNull();
        for (const other of rest) expect(other, `${topic}-${p}: ${describeLogs(logs)}`).toEqual(first);
        stored += first!.length;
      }
      expect(stored, `batches of ${topic}`).toBeGreaterThan(0);
    }
  });
});
