/**
 * etcd stopped and restarted under a running three-node Brook cluster: while it is down, each
 * node keeps serving produce and fetch of the partitions it leads, and CreateTopics answers
 * with an error (within its timeout, not a hang); once etcd is back, the nodes are listed
 * again and topic creation works again. Then the same with etcd paused (SIGSTOP) and resumed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, uniqueTopic } from '../helpers/clients.js';
import { BrookCluster, waitUntil } from '../helpers/cluster.js';
import { etcdRequirement } from '../helpers/etcd.js';
import { fetchAll, produceBatch } from '../helpers/raw-client.js';
import { sleep } from '../helpers/tmp.js';
import { buildBatch } from '../../src/storage/record-batch.js';

describeIf(etcdRequirement(), 'cluster: etcd down and back under a running cluster', () => {
  let cluster: BrookCluster;
  const IDS = [1, 2, 3];
  let topic = '';
  let leaders = new Map<number, number>();

  beforeAll(async () => {
    cluster = BrookCluster.create({ nodeIds: IDS });
    await cluster.startAll();
    for (const id of IDS) await cluster.waitForBrokers(IDS, id);
    topic = uniqueTopic('cl-outage');
    const parts = await cluster.createTopic(topic, 3);
    leaders = new Map(parts.map((p) => [p.partitionIndex, p.leaderId]));
    expect(new Set(leaders.values())).toEqual(new Set(IDS));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  async function produceToEachLeader(tag: string): Promise<void> {
    for (const [p, leader] of leaders) {
      const res = await cluster.withRaw(leader, (c) => produceBatch(c, topic, p, buildBatch({ records: [{ key: null, value: Buffer.from(`${tag}-${p}`) }] }), -1, 10_000));
      expect(res.errorCode, `produce ${topic}-${p} on its leader ${leader} (${tag})`).toBe(0);
    }
  }

  async function valuesOf(p: number): Promise<string[]> {
    const { records } = await cluster.withRaw(leaders.get(p)!, (c) => fetchAll(c, topic, p, 0, 10_000));
    return records.map((r) => r.value ?? '');
  }

  it('with etcd stopped, each leader keeps taking produce and answering fetch; CreateTopics fails with an error, not a hang', async () => {
    await produceToEachLeader('before');
    await cluster.etcd.stop();
    const stoppedAt = Date.now();

    // Past the session timeout too: the nodes keep their partitions while the store is away.
    await produceToEachLeader('during');
    await sleep(Math.max(0, stoppedAt + cluster.sessionTimeoutMs + 1_000 - Date.now()));
    await produceToEachLeader('during-late');
    for (const p of leaders.keys()) expect(await valuesOf(p)).toEqual([`before-${p}`, `during-${p}`, `during-late-${p}`]);

    const controller = (await cluster.metadata(1, [])).controllerId;
    for (const via of new Set([controller >= 0 ? controller : 1, IDS.find((id) => id !== controller)!])) {
      const started = Date.now();
      const res = await cluster.createTopicsVia(via, [{ name: uniqueTopic('cl-outage-new'), numPartitions: 1 }], 5_000);
      const tookMs = Date.now() - started;
      expect(res[0]!.errorCode, `CreateTopics via node ${via} while etcd is down: ${JSON.stringify(res)}`).not.toBe(0);
      expect(res[0]!.errorMessage, 'the error names the metadata store').toContain(cluster.etcd.endpoint);
      expect(tookMs, `CreateTopics (timeoutMs 5000) via node ${via} answered within its timeout: ${JSON.stringify(res)}`).toBeLessThan(5_000 + 3_000);
    }
    for (const id of IDS) expect(cluster.alive(id), `node ${id} still running:\n${cluster.logs()}`).toBe(true);
  });

  it('with etcd back, the nodes list each other again and topic creation works', async () => {
    await cluster.etcd.restart();
    for (const id of IDS) await cluster.waitForBrokers(IDS, id, 30_000);
    await cluster.waitForController(1, undefined, 30_000);

    const fresh = uniqueTopic('cl-after-etcd');
    let last: unknown = null;
    await waitUntil(
      async () => {
        const res = await cluster.createTopicsVia(2, [{ name: fresh, numPartitions: 3 }], 5_000);
        last = res;
        return res[0]?.errorCode === 0 ? true : undefined;
      },
      30_000,
      'CreateTopics after etcd came back',
      () => last,
    );
    for (const id of IDS) {
      const parts = await cluster.waitForLeaders(id, fresh);
      expect(new Set(parts.map((p) => p.leaderId))).toEqual(new Set(IDS));
    }
    await produceToEachLeader('after');
    for (const p of leaders.keys()) expect(await valuesOf(p)).toEqual([`before-${p}`, `during-${p}`, `during-late-${p}`, `after-${p}`]);
  });

  it('with etcd paused (SIGSTOP: connections hang instead of failing), leaders keep serving and CreateTopics still answers with an error in time; resumed, creation works', async () => {
    // From a healthy cluster: a controller, and a topic created just before the pause.
    await cluster.waitForController(1, undefined, 30_000);
    let before: unknown = null;
    const healthy = uniqueTopic('cl-before-pause');
    await waitUntil(
      async () => {
        before = await cluster.createTopicsVia(1, [{ name: healthy, numPartitions: 1 }], 5_000);
        return (before as { errorCode: number }[])[0]?.errorCode === 0 ? true : undefined;
      },
      30_000,
      'CreateTopics before the pause',
      () => before,
    );
    cluster.etcd.pause();
    try {
      await produceToEachLeader('paused');
      for (const p of leaders.keys()) expect((await valuesOf(p)).at(-1)).toBe(`paused-${p}`);
      const controller = (await cluster.metadata(1, [])).controllerId;
      for (const via of new Set([controller >= 0 ? controller : 1, IDS.find((id) => id !== controller)!])) {
        const started = Date.now();
        const res = await cluster.createTopicsVia(via, [{ name: uniqueTopic('cl-paused-new'), numPartitions: 1 }], 5_000).catch((err: Error) => {
          throw new Error(`CreateTopics (timeoutMs 5000) via node ${via} (controller ${controller}) while etcd is paused: ${err.message}`, { cause: err });
        });
        const tookMs = Date.now() - started;
        expect(res[0]!.errorCode, `CreateTopics via node ${via} while etcd is paused: ${JSON.stringify(res)}`).not.toBe(0);
        expect(tookMs, `CreateTopics (timeoutMs 5000) via node ${via} answered within its timeout: ${JSON.stringify(res)}`).toBeLessThan(5_000 + 3_000);
      }
    } finally {
      cluster.etcd.resume();
    }
    for (const id of IDS) await cluster.waitForBrokers(IDS, id, 30_000);
    const fresh = uniqueTopic('cl-after-pause');
    let last: unknown = null;
    await waitUntil(
      async () => {
        const res = await cluster.createTopicsVia(3, [{ name: fresh, numPartitions: 3 }], 5_000);
        last = res;
        return res[0]?.errorCode === 0 ? true : undefined;
      },
      30_000,
      'CreateTopics after etcd resumed',
      () => last,
    );
    for (const id of IDS) await cluster.waitForLeaders(id, fresh);
  });
});
