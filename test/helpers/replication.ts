/**
 * Helpers for the replication tests (test/cluster/replication.test.ts and
 * test/interop/replication-clients.test.ts) on top of BrookCluster: topics created with configs
 * (min.insync.replicas), a partition's leader/ISR/leader epoch as a node's Metadata v12 reports
 * it, waits for the ISR, reading every record of a partition from its leader, and each replica's
 * SQLite log read straight from its file (read-only) to compare the replicas' copies.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Admin } from '../../src/client/index.js';
import type { MetadataResponse } from '../../src/protocol/messages/metadata.js';
import { type BrookCluster, waitUntil } from './cluster.js';
import { fetchAll, type FetchedRecord } from './raw-client.js';

export type PartitionMd = MetadataResponse.MetadataResponsePartition;

/** Error codes the replication tests expect by number. */
export const NOT_LEADER_OR_FOLLOWER = 6;
export const NOT_ENOUGH_REPLICAS = 19;
export const NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20;
export const FENCED_LEADER_EPOCH = 74;
export const UNKNOWN_LEADER_EPOCH = 75;

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
export const sameSet = (a: readonly number[], b: readonly number[]) => sorted(a).join(',') === sorted(b).join(',');

/**
 * Creates `name` (replication factor `rf`, topic `configs`) with Brook's Admin client through
 * node `via`, then waits until every running node reports a leader for each partition and node
 * `via` reports an ISR of every replica. Returns the partitions as node `via` reports them.
 */
export async function createReplicatedTopic(
  cluster: BrookCluster,
  name: string,
  numPartitions: number,
  rf: number,
  configs: Record<string, string> = {},
  via = cluster.runningIds()[0]!,
): Promise<PartitionMd[]> {
  const admin = new Admin({ bootstrapServers: [cluster.bootstrap(via)], requestTimeoutMs: 10_000 });
  try {
    await admin.createTopics({ topics: [{ name, numPartitions, replicationFactor: rf, configs }], timeoutMs: 10_000 });
  } finally {
    await admin.close();
  }
  for (const id of cluster.runningIds()) await cluster.waitForLeaders(id, name, undefined, 15_000);
  return waitForIsr(cluster, via, name, (p) => p.replicaNodes.length === rf && sameSet(p.isrNodes, p.replicaNodes), 'an ISR of every replica', 15_000);
}

/** The partitions of `topic` in `md`, by index. */
export function partitionsOf(md: MetadataResponse, topic: string): PartitionMd[] {
  const t = md.topics.find((x) => x.name === topic);
  return [...(t?.partitions ?? [])].sort((a, b) => a.partitionIndex - b.partitionIndex);
}

/** Polls node `via` until every partition of `topic` satisfies `pred`; returns the partitions. */
export async function waitForIsr(cluster: BrookCluster, via: number, topic: string, pred: (p: PartitionMd) => boolean, what: string, timeoutMs = 30_000): Promise<PartitionMd[]> {
  const md = await cluster.waitForMetadata(
    via,
    (m) => {
      const parts = partitionsOf(m, topic);
      return parts.length > 0 && parts.every((p) => p.errorCode === 0 && pred(p));
    },
    `${topic}: ${what}`,
    { topics: [topic], timeoutMs },
  );
  return partitionsOf(md, topic);
}

/** One partition as node `via` reports it now. */
export async function partitionMd(cluster: BrookCluster, via: number, topic: string, partition: number): Promise<PartitionMd> {
  const p = partitionsOf(await cluster.metadata(via, [topic]), topic).find((x) => x.partitionIndex === partition);
  if (!p) throw new Error(`node ${via} reports no partition ${topic}-${partition}`);
  return p;
}

/**
 * Every record of a partition up to its high watermark, read from its leader as node `via`
 * reports it (asked again when the leader changes under the read).
 */
export async function readPartition(cluster: BrookCluster, via: number, topic: string, partition: number, timeoutMs = 30_000): Promise<FetchedRecord[]> {
  return waitUntil(
    async () => {
      const p = await partitionMd(cluster, via, topic, partition);
      if (p.leaderId < 0 || !cluster.alive(p.leaderId)) return undefined;
      return (await cluster.withRaw(p.leaderId, (c) => fetchAll(c, topic, partition, 0, 15_000))).records;
    },
    timeoutMs,
    `every record of ${topic}-${partition}`,
  );
}

/** One row of a replica's `batches` table: offsets and a digest of the batch's bytes. */
export interface StoredBatch {
  base: number;
  last: number;
  sha1: string;
}

/** The SQLite file of a partition in a node's data dir, or null when the node holds none. */
export function partitionDbPath(dataDir: string, topic: string, partition: number): string | null {
  const logs = join(dataDir, 'logs');
  if (!existsSync(logs)) return null;
  const dir = readdirSync(logs).find((d) => d.startsWith(`${topic}.`) && d.length > topic.length + 1 && !d.slice(topic.length + 1).includes('.'));
  if (dir === undefined) return null;
  const path = join(logs, dir, `${partition}.db`);
  return existsSync(path) ? path : null;
}

/**
 * A replica's batches as stored in its SQLite file, opened read-only (the node may be running:
 * WAL lets a reader in beside it). Null when the node has no file for the partition.
 */
export function storedBatches(dataDir: string, topic: string, partition: number): StoredBatch[] | null {
  const path = partitionDbPath(dataDir, topic, partition);
  if (path === null) return null;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT base_offset, last_offset, bytes FROM batches ORDER BY base_offset').all() as { base_offset: number; last_offset: number; bytes: Buffer }[];
    return rows.map((r) => ({ base: r.base_offset, last: r.last_offset, sha1: createHash('sha1').update(r.bytes).digest('hex') }));
  } finally {
    db.close();
  }
}

/** Each replica's stored batches of a partition, by node id. */
export function replicaLogs(cluster: BrookCluster, topic: string, partition: number, replicas: readonly number[]): Map<number, StoredBatch[] | null> {
  return new Map(replicas.map((id) => [id, storedBatches(cluster.node(id).dataDir, topic, partition)]));
}

/** True when every replica holds a file with the same rows (offsets and bytes). */
export function logsIdentical(logs: Map<number, StoredBatch[] | null>): boolean {
  const all = [...logs.values()];
  if (all.some((l) => l === null)) return false;
  const first = JSON.stringify(all[0]);
  return all.every((l) => JSON.stringify(l) === first);
}

/** A short account of each replica's log, for a failing assertion's message. */
export function describeLogs(logs: Map<number, StoredBatch[] | null>): string {
  return [...logs]
    .map(([id, l]) => {
      if (l === null) return `node ${id}: no file`;
      const end = l.length > 0 ? l[l.length - 1]!.last + 1 : 0;
      return `node ${id}: ${l.length} batches, log end ${end}, first ${JSON.stringify(l[0] ?? null)}, last ${JSON.stringify(l[l.length - 1] ?? null)}`;
    })
    .join('; ');
}

/** The first offset at which two replicas' stored logs differ, or -1. */
export function firstDifference(a: StoredBatch[], b: StoredBatch[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y || x.base !== y.base || x.last !== y.last || x.sha1 !== y.sha1) return (x ?? y)!.base;
  }
  return -1;
}

/**
 * Checks what a client was told was written against what a partition holds: every acknowledged
 * value present exactly once, at the offset it was acknowledged with (when the client reported
 * one), acknowledged values in the order they were sent, and no value twice at all. Returns
 * the problems found (empty: none).
 */
export function checkAcknowledged(acked: readonly { value: string; partition: number; offset: number; seq: number }[], logs: Map<number, readonly FetchedRecord[]>): string[] {
  const problems: string[] = [];
  const where = new Map<string, { partition: number; offset: number }[]>();
  for (const [partition, recs] of logs) {
    for (const r of recs) {
      if (r.value === null) continue;
      const list = where.get(r.value) ?? [];
      list.push({ partition, offset: r.offset });
      where.set(r.value, list);
    }
  }
  for (const [value, list] of where) if (list.length > 1) problems.push(`${value} is stored ${list.length} times: ${JSON.stringify(list)}`);
  const byPartition = new Map<number, { value: string; offset: number; seq: number; at: number }[]>();
  for (const a of acked) {
    const list = where.get(a.value);
    if (!list || list.length === 0) {
      problems.push(`acknowledged ${a.value} (partition ${a.partition}, offset ${a.offset}) is lost`);
      continue;
    }
    const found = list[0]!;
    if (found.partition !== a.partition) problems.push(`acknowledged ${a.value} in partition ${a.partition} is in partition ${found.partition}`);
    if (a.offset >= 0 && found.offset !== a.offset) problems.push(`acknowledged ${a.value} at offset ${a.offset} is at offset ${found.offset}`);
    const l = byPartition.get(found.partition) ?? [];
    l.push({ value: a.value, offset: a.offset, seq: a.seq, at: found.offset });
    byPartition.set(found.partition, l);
  }
  for (const [partition, l] of byPartition) {
    l.sort((x, y) => x.seq - y.seq);
    for (let i = 1; i < l.length; i++) {
      if (l[i]!.at <= l[i - 1]!.at) {
        problems.push(`partition ${partition}: ${l[i]!.value} (sent after ${l[i - 1]!.value}) is stored at ${l[i]!.at}, before it (${l[i - 1]!.at})`);
        break;
      }
    }
  }
  return problems;
}

/**
 * What node `id`'s replica of a partition says of itself (GET /api/actors/:id: log offsets and
 * its replication role, a leader's view of each follower), for a failing test's message.
 */
export async function inspectReplica(cluster: BrookCluster, id: number, topic: string, partition: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${cluster.node(id).httpPort}/api/actors/${encodeURIComponent(`partition:${topic}:${partition}`)}`, {
      signal: AbortSignal.timeout(3_000),
    });
    const body = (await res.json()) as { state?: { logEndOffset?: number; highWatermark?: number; leaderEpoch?: number; replication?: unknown } };
    const s = body.state ?? {};
    return `node ${id} ${topic}-${partition}: ${JSON.stringify({ logEndOffset: s.logEndOffset, highWatermark: s.highWatermark, leaderEpoch: s.leaderEpoch, replication: s.replication })}`;
  } catch (err) {
    return `node ${id} ${topic}-${partition}: not inspected (${(err as Error).message})`;
  }
}
