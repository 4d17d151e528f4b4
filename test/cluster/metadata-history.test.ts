/**
 * The metadata history in etcd stays bounded: with a snapshot every 20 records, the controller
 * writes snapshots, drops the log below them and compacts etcd's history; a node that joins
 * with an empty data dir, and a node restarted after missing changes, both catch up from the
 * snapshot and the records after it.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, uniqueTopic } from '../helpers/clients.js';
import { BrookCluster, waitUntil } from '../helpers/cluster.js';
import { etcdRequirement } from '../helpers/etcd.js';

describeIf(etcdRequirement(), 'cluster: bounded metadata history in etcd', () => {
  let cluster: BrookCluster;
  let etcd: Etcd3;
  const topics: string[] = [];

  beforeAll(async () => {
    cluster = await BrookCluster.start({ nodeIds: [1, 2], extraArgs: ['--metadata-snapshot-records', '20'] });
    await cluster.waitForBrokers([1, 2], 1);
    etcd = new Etcd3({ hosts: `http://${cluster.etcd.endpoint}` });
  });
  afterAll(async () => {
    etcd?.close();
    await cluster?.stop();
  });

  it('snapshots replace the log and compact the history; a new node and a restarted one catch up', async () => {
    const firstRevision = (await etcd.getAll().prefix('/brook/').exec()).header.revision;
    await cluster.kill9(2);
    // Node 1 is (or, once node 2's lease expires, becomes) the controller.
    await cluster.waitForController(1, (id) => id === 1);
    // 40 topics: 80 records or more, several snapshots' worth, written while node 2 is away.
    for (let i = 0; i < 4; i++) {
      const batch = Array.from({ length: 10 }, () => uniqueTopic('hist'));
      topics.push(...batch);
      const res = await cluster.createTopicsVia(
        1,
        batch.map((name) => ({ name, numPartitions: 1 })),
      );
      expect(res.map((t) => t.errorCode)).toEqual(batch.map(() => 0));
    }
    const state = await waitUntil(
      async () => {
        const kvs = (await etcd.getAll().prefix('/brook/').keys()).filter((k) => k.startsWith('/brook/log/'));
        const snap = await etcd.get('/brook/snapshot').json();
        return kvs.length < 20 && snap ? { logKeys: kvs.length, snap: snap as { offset: number } } : undefined;
      },
      10_000,
      'a snapshot with a short log after it',
    );
    expect(state.snap.offset).toBeGreaterThanOrEqual(80);
    // etcd's history below the snapshot is gone: reading at the first revision is refused.
    await expect(etcd.get('/brook/controller').revision(firstRevision).exec()).rejects.toThrow(/compacted/);

    // A node restarted after missing every change, and a new node with nothing at all.
    await cluster.startNode(2);
    await cluster.addNode(3);
    for (const id of [2, 3]) {
      await cluster.waitForMetadata(id, (md) => topics.every((t) => md.topics.some((x) => x.name === t && x.errorCode === 0)), `node ${id} knows every topic`, {
        topics,
        timeoutMs: 20_000,
      });
    }
    // Every node applies the same log to the same end.
    await waitUntil(
      async () => {
        const views = await Promise.all([1, 2, 3].map((id) => cluster.clusterApi(id)));
        return new Set(views.map((v) => v.metadataOffset)).size === 1 ? true : undefined;
      },
      10_000,
      'every node at the same metadata offset',
    );
  });
});
