/**
 * Cluster routes of the HTTP gateway (main thread): what `brook cluster nodes`, `brook cluster
 * describe` and the console's cluster view use. Any node answers for the whole cluster: the
 * nodes, their states and leaderships come from its metadata image and the store's live set;
 * where each partition's actor runs (node and worker thread) is gathered from every live node.
 *
 *   GET /api/cluster              cluster id, controller, metadata store and offset, every node,
 *                                 under-replicated and offline partition counts
 *   GET /api/cluster/placement    each partition: leader node and the worker thread of its actor,
 *                                 replicas, ISR, under-replicated and offline flags
 *   GET /api/cluster/local        this node's actors and their threads (what placement gathers)
 */
import type { NodeRegistration } from '../cluster/metadata-store.js';
import type { HttpNode, Route } from './http-router.js';
import { clusterReplicationCounts, isUnderReplicated, partitionReplication } from './replication-view.js';

/** How long placement waits for another node's answer. */
const PEER_TIMEOUT_MS = 2_000;

export interface ClusterNodeView {
  readonly nodeId: number;
  /** 'offline': known to the metadata (it led or holds replicas) but its lease is gone. */
  readonly state: NodeRegistration['state'] | 'offline';
  readonly rack: string | null;
  readonly host: string;
  readonly port: number;
  readonly httpPort: number;
  /** Partitions it leads. */
  readonly leaderships: number;
  /** Partition replicas it holds, leader or follower. */
  readonly replicas: number;
  /** Partitions it leads whose ISR is smaller than their replica set. */
  readonly underReplicated: number;
  readonly controller: boolean;
}

export const clusterRoutes: Route[] = [
  { method: 'GET', pattern: /^\/api\/cluster$/, run: ({ node }) => Promise.resolve(clusterView(node)) },
  { method: 'GET', pattern: /^\/api\/cluster\/local$/, run: ({ node }) => Promise.resolve(localActors(node)) },
  { method: 'GET', pattern: /^\/api\/cluster\/placement$/, run: async ({ node }) => placement(node) },
];

export function clusterView(node: HttpNode): unknown {
  const { controller } = node;
  const image = controller.image;
  const leaderships = new Map<number, number>();
  const replicas = new Map<number, number>();
  const under = new Map<number, number>();
  const add = (m: Map<number, number>, id: number) => m.set(id, (m.get(id) ?? 0) + 1);
  for (const t of image.topicsByName.values()) {
    for (const p of t.partitions) {
      add(leaderships, p.leader);
      for (const r of p.replicas) add(replicas, r);
      if (isUnderReplicated(p)) add(under, p.leader);
    }
  }
  const counts = clusterReplicationCounts(image);
  const live = new Map(controller.liveNodes().map((n) => [n.nodeId, n]));
  const ids = new Set([...image.brokers.keys(), ...live.keys()]);
  const nodes: ClusterNodeView[] = [...ids]
    .sort((a, b) => a - b)
    .map((id) => {
      const l = live.get(id);
      const b = image.brokers.get(id);
      return {
        nodeId: id,
        state: l ? l.state : 'offline',
        rack: l?.rack ?? b?.rack ?? null,
        host: l?.host ?? b?.host ?? '',
        port: l?.port ?? b?.port ?? -1,
        httpPort: l?.httpPort ?? -1,
        leaderships: leaderships.get(id) ?? 0,
        replicas: replicas.get(id) ?? 0,
        underReplicated: under.get(id) ?? 0,
        controller: id === controller.controllerId,
      };
    });
  return {
    clusterId: image.clusterId,
    controllerId: controller.controllerId,
    nodeId: node.config.nodeId,
    metadataStore: controller.storeDescription,
    metadataOffset: node.metadata.appliedEnd,
    topics: image.topicsByName.size,
    partitions: counts.partitions,
    offlinePartitions: counts.offline,
    underReplicatedPartitions: counts.underReplicated,
    nodes,
  };
}

interface LocalActors {
  readonly nodeId: number;
  readonly actors: readonly { readonly id: string; readonly kind: string; readonly threadIndex: number | null; readonly status: string }[];
}

function localActors(node: HttpNode): LocalActors {
  return { nodeId: node.config.nodeId, actors: node.supervisor.listActors().map((a) => ({ id: a.id, kind: a.kind, threadIndex: a.threadIndex, status: a.status })) };
}

async function placement(node: HttpNode): Promise<unknown> {
  const threads = new Map<string, { nodeId: number; threadIndex: number | null; kind: string }>();
  const unreachable: number[] = [];
  const record = (l: LocalActors) => {
    for (const a of l.actors) threads.set(`${l.nodeId}:${a.id}`, { nodeId: l.nodeId, threadIndex: a.threadIndex, kind: a.kind });
  };
  record(localActors(node));
  await Promise.all(
    node.controller
      .liveNodes()
      .filter((n) => n.nodeId !== node.config.nodeId)
      .map(async (n) => {
        try {
          if (n.httpPort < 0) throw new Error('no HTTP port');
          const res = await fetch(`http://${n.host}:${n.httpPort}/api/cluster/local`, { signal: AbortSignal.timeout(PEER_TIMEOUT_MS) });
          record((await res.json()) as LocalActors);
        } catch {
          unreachable.push(n.nodeId);
        }
      }),
  );
  const partitions = [];
  for (const t of [...node.controller.image.topicsByName.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const p of t.partitions) {
      const actor = threads.get(`${p.leader}:partition:${t.name}:${p.partition}`);
      partitions.push({
        topic: t.name,
        partition: p.partition,
        ...partitionReplication(p),
        threadIndex: actor?.threadIndex ?? null,
        kind: actor?.kind ?? null,
      });
    }
  }
  return { unreachable, partitions };
}
