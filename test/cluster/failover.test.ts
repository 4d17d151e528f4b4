/**
 * Nodes of a Brook cluster on etcd dying, leaving and joining (session timeout 2 s): the
 * controller SIGKILLed and a new one elected, after which topics can be created again; an RF=1
 * node SIGKILLed leaves its partitions without a leader (-1) until it restarts, with its data;
 * SIGTERM is a controlled shutdown that moves a leadership of an RF=2 topic to the other
 * replica before the process exits, the controller's included (another node then becomes
 * controller); a node paused past the session timeout leaves the live set
 * and rejoins when resumed; a fourth node joins and new topics get partitions on it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, uniqueTopic } from '../helpers/clients.js';
import { BrookCluster, waitUntil, type Metadata } from '../helpers/cluster.js';
import { etcdRequirement } from '../helpers/etcd.js';
import { fetchOnce, produceBatch } from '../helpers/raw-client.js';
import { buildBatch } from '../../src/storage/record-batch.js';

/** Retriable answers to CreateTopics while a new controller settles. */
const NOT_CONTROLLER = 41;
const REQUEST_TIMED_OUT = 7;

describeIf(etcdRequirement(), 'cluster: failover, controlled shutdown and a node joining', () => {
  let cluster: BrookCluster;

  beforeAll(async () => {
    cluster = BrookCluster.create({ nodeIds: [1, 2, 3] });
    await cluster.startAll();
    await cluster.waitForBrokers([1, 2, 3], 1);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /** Restarts node `id` and waits until every running node lists all of `ids`. */
  async function restartAndRejoin(id: number, ids: number[]): Promise<void> {
    await cluster.startNode(id);
    for (const n of ids) await cluster.waitForBrokers(ids, n);
  }

  it('SIGKILL of the controller: a new controller is elected and topic creation works again', async () => {
    const old = await cluster.waitForController(1);
    const survivors = [1, 2, 3].filter((id) => id !== old);
    const killedAt = Date.now();
    await cluster.kill9(old);
    const elected = await cluster.waitForController(survivors[0]!, (id) => id !== old, 20_000);
    const electedAfterMs = Date.now() - killedAt;
    expect(survivors).toContain(elected);
    expect(await cluster.waitForController(survivors[1]!, (id) => id === elected)).toBe(elected);
    await cluster.waitForBrokers(survivors, survivors[0]!);

    // Sent to the survivor that is not the new controller: forwarded to it.
    const via = survivors.find((id) => id !== elected)!;
    const topic = uniqueTopic('cl-after-kill');
    let created: Awaited<ReturnType<BrookCluster['createTopicsVia']>> = [];
    await waitUntil(
      async () => {
        created = await cluster.createTopicsVia(via, [{ name: topic, numPartitions: 4 }]);
        const code = created[0]?.errorCode;
        if (code === NOT_CONTROLLER || code === REQUEST_TIMED_OUT) return undefined;
        return true;
      },
      15_000,
      'CreateTopics after the controller died',
      () => created,
    );
    expect(
      created.map((t) => [t.name, t.errorCode, t.errorMessage]),
      `elected after ${electedAfterMs} ms`,
    ).toEqual([[topic, 0, null]]);
    const parts = await cluster.waitForLeaders(via, topic);
    expect(new Set(parts.map((p) => p.leaderId))).toEqual(new Set(survivors));

    await restartAndRejoin(old, [1, 2, 3]);
  });

  it('SIGKILL of a node with RF=1 partitions: they have leader -1 until it restarts, then it leads them again with their data', async () => {
    const controller = await cluster.waitForController(1);
    const topic = uniqueTopic('cl-rf1');
    const parts = await cluster.createTopic(topic, 6);
    const victim = [1, 2, 3].find((id) => id !== controller)!;
    const observer = controller;
    const victimParts = parts.filter((p) => p.leaderId === victim).map((p) => p.partitionIndex);
    expect(victimParts.length, `partitions of ${topic} led by node ${victim}`).toBeGreaterThan(0);
    const before = new Map(parts.map((p) => [p.partitionIndex, p.leaderId]));
    for (const p of victimParts) {
      const res = await cluster.withRaw(victim, (c) => produceBatch(c, topic, p, buildBatch({ records: [{ key: null, value: Buffer.from(`kept-${p}`) }] })));
      expect(res.errorCode).toBe(0);
    }

    await cluster.kill9(victim);
    const during = await cluster.waitForLeaders(observer, topic, (leader, p) => (victimParts.includes(p) ? leader === -1 : leader === before.get(p)), 20_000);
    for (const p of during) if (victimParts.includes(p.partitionIndex)) expect(p.leaderId).toBe(-1);
    await cluster.waitForBrokers(
      [1, 2, 3].filter((id) => id !== victim),
      observer,
    );
    // GET /api/cluster keeps the dead node, as offline with no leaderships.
    const stateOf = async (id: number) => (await cluster.clusterApi(observer)).nodes.find((n) => n.nodeId === id);
    let seen: unknown = null;
    await waitUntil(
      async () => {
        const n = await stateOf(victim);
        seen = n;
        return n?.state === 'offline' && n.leaderships === 0 ? true : undefined;
      },
      10_000,
      `node ${victim} offline in /api/cluster`,
      () => seen,
    );

    await restartAndRejoin(victim, [1, 2, 3]);
    await waitUntil(async () => ((await stateOf(victim))?.state === 'alive' ? true : undefined), 10_000, `node ${victim} alive again in /api/cluster`);
    const after = await cluster.waitForLeaders(observer, topic, (leader, p) => leader === before.get(p), 20_000);
    expect(after.map((p) => p.leaderId)).toEqual(parts.map((p) => p.leaderId));
    for (const p of victimParts) {
      const f = await cluster.withRaw(victim, (c) => fetchOnce(c, topic, p, 0));
      expect(f.errorCode).toBe(0);
      expect(f.highWatermark, `${topic}-${p} kept its record across the restart`).toBe(1);
    }
  });

  it('SIGTERM of a node leading an RF=2 partition moves that leadership to the other replica before the process exits', async () => {
    const controller = await cluster.waitForController(1);
    const topic = uniqueTopic('cl-rf2');
    const parts = await cluster.createTopic(topic, 3, { replicationFactor: 2 });
    for (const p of parts) expect(p.replicaNodes).toHaveLength(2);
    const leaving = [1, 2, 3].find((id) => id !== controller && parts.some((p) => p.leaderId === id))!;
    expect(leaving, `a node other than the controller ${controller} leading a partition of ${topic}`).toBeDefined();
    const moved = parts.filter((p) => p.leaderId === leaving);
    const observer = controller;

    const exit = cluster.sigterm(leaving, 30_000);
    // The exit is observed first; the very next Metadata (well inside the 2 s session timeout,
    // after which an uncontrolled death would move leaderships too) must show the move done.
    const code = await exit;
    const exitedAt = Date.now();
    const md: Metadata = await cluster.metadata(observer, [topic]);
    const tookMs = Date.now() - exitedAt;
    expect(code, cluster.logs()).toEqual({ code: 0, signal: null });
    expect(tookMs).toBeLessThan(cluster.sessionTimeoutMs);
    const now = new Map(md.topics[0]!.partitions.map((p) => [p.partitionIndex, p]));
    for (const p of moved) {
      const other = p.replicaNodes.find((r) => r !== leaving)!;
      expect(now.get(p.partitionIndex)?.leaderId, `leader of ${topic}-${p.partitionIndex} (replicas ${p.replicaNodes.join(',')}) when node ${leaving} exited`).toBe(other);
    }

    await restartAndRejoin(leaving, [1, 2, 3]);
  });

  it('SIGTERM of the controller: its RF=2 leaderships move before it exits, another node becomes controller, topics can be created', async () => {
    const controller = await cluster.waitForController(1);
    const topic = uniqueTopic('cl-rf2-ctl');
    const parts = await cluster.createTopic(topic, 3, { replicationFactor: 2 });
    const moved = parts.filter((p) => p.leaderId === controller);
    expect(moved.length, `partitions of ${topic} led by the controller ${controller}`).toBeGreaterThan(0);
    const survivors = [1, 2, 3].filter((id) => id !== controller);

    const code = await cluster.sigterm(controller, 30_000);
    const exitedAt = Date.now();
    expect(code, cluster.logs()).toEqual({ code: 0, signal: null });
    // A survivor learns the new leaders through etcd: allowed a moment, far less than the time
    // in which an expired lease (2 s) would have moved them without a controlled shutdown.
    let md: Metadata | null = null;
    const done = () => moved.every((p) => md?.topics[0]?.partitions.find((x) => x.partitionIndex === p.partitionIndex)?.leaderId === p.replicaNodes.find((r) => r !== controller));
    while (Date.now() - exitedAt < 500 && !done()) md = await cluster.metadata(survivors[0]!, [topic]);
    expect(
      done(),
      `leaders of ${topic} on node ${survivors[0]} ${Date.now() - exitedAt} ms after the controller ${controller} exited: ${JSON.stringify(md?.topics[0]?.partitions)}`,
    ).toBe(true);

    const elected = await cluster.waitForController(survivors[0]!, (id) => id !== controller, 20_000);
    expect(survivors).toContain(elected);
    const after = uniqueTopic('cl-after-ctl-term');
    let created: Awaited<ReturnType<BrookCluster['createTopicsVia']>> = [];
    await waitUntil(
      async () => {
        created = await cluster.createTopicsVia(survivors[1]!, [{ name: after, numPartitions: 2 }]);
        const c = created[0]?.errorCode;
        return c === NOT_CONTROLLER || c === REQUEST_TIMED_OUT ? undefined : true;
      },
      15_000,
      'CreateTopics after the controller shut down',
      () => created,
    );
    expect(created.map((t) => [t.name, t.errorCode])).toEqual([[after, 0]]);

    await restartAndRejoin(controller, [1, 2, 3]);
  });

  it('a node paused (SIGSTOP) past the session timeout leaves the live set; resumed (SIGCONT), it rejoins and leads its partitions again', async () => {
    const controller = await cluster.waitForController(1);
    const topic = uniqueTopic('cl-pause');
    const parts = await cluster.createTopic(topic, 3);
    const paused = [1, 2, 3].find((id) => id !== controller)!;
    const others = [1, 2, 3].filter((id) => id !== paused);
    const before = new Map(parts.map((p) => [p.partitionIndex, p.leaderId]));
    cluster.pause(paused);
    try {
      for (const id of others) await cluster.waitForBrokers(others, id, 20_000);
      await cluster.waitForLeaders(controller, topic, (leader, p) => (before.get(p) === paused ? leader === -1 : leader === before.get(p)), 20_000);
    } finally {
      cluster.resume(paused);
    }
    for (const id of [1, 2, 3]) await cluster.waitForBrokers([1, 2, 3], id, 20_000);
    const after = await cluster.waitForLeaders(controller, topic, (leader, p) => leader === before.get(p), 20_000);
    expect(after.map((p) => p.leaderId)).toEqual(parts.map((p) => p.leaderId));
    const onPaused = parts.find((p) => p.leaderId === paused)!;
    const res = await cluster.withRaw(paused, (c) => produceBatch(c, topic, onPaused.partitionIndex, buildBatch({ records: [{ key: null, value: Buffer.from('after resume') }] })));
    expect(res.errorCode).toBe(0);
  });

  it('a fourth node joins: every node lists it and new topics get partitions on it', async () => {
    await cluster.waitForController(1);
    await cluster.addNode(4);
    for (const id of [1, 2, 3, 4]) await cluster.waitForBrokers([1, 2, 3, 4], id);
    // The join leaves the cluster with a controller (every node names the same one).
    const controller = await cluster.waitForController(4, undefined, 10_000);
    for (const id of [1, 2, 3]) await cluster.waitForController(id, (c) => c === controller, 10_000);
    const topic = uniqueTopic('cl-four');
    const parts = await cluster.createTopic(topic, 8, { via: 2 });
    expect(new Set(parts.map((p) => p.leaderId))).toEqual(new Set([1, 2, 3, 4]));
    const onFour = parts.find((p) => p.leaderId === 4)!;
    const res = await cluster.withRaw(4, (c) => produceBatch(c, topic, onFour.partitionIndex, buildBatch({ records: [{ key: null, value: Buffer.from('on four') }] })));
    expect(res.errorCode).toBe(0);
  });
});
