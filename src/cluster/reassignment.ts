/**
 * The controller's partition changes for reassignment and leader election, as pure functions of
 * a partition and the live nodes (so they are tested alone, and the Controller only validates,
 * commits and routes). After Kafka's KRaft controller (PartitionReassignmentReplicas,
 * PartitionReassignmentRevert, ReplicationControlManager.electLeader):
 *
 * - A reassignment (KIP-455) to `target` makes the replicas target + removing (target first, so
 *   the preferred leader is the target's), with adding = target - current and removing =
 *   current - target, and leaves the ISR and the leader as they are. New replicas start as
 *   followers and catch up; the leader proposes each for the ISR once it has (AlterPartition).
 *   When every target replica is in the ISR, the reassignment completes: replicas = target, the
 *   removing replicas leave the ISR, and a leader that was removed hands over to the first target
 *   replica in the ISR and alive (leader epoch + 1). A reassignment that removes only completes
 *   at once.
 * - Cancelling drops the adding replicas (the removing ones stay, in the order they have now),
 *   from the ISR too; a leader among them hands over. When the ISR held only adding replicas,
 *   the first remaining replica becomes the ISR: an unclean election, refused unless the topic
 *   allows unclean leader election.
 * - A preferred election makes the first replica leader when it is alive and in the ISR; an
 *   unclean one gives a partition without a leader the first alive in-sync replica, else the
 *   first alive replica with an ISR of itself alone.
 *
 * Every change raises the partition epoch; a new leader raises the leader epoch.
 */
import type { ControllerError } from './controller.js';
import { addingReplicasOf, isReassigning, removingReplicasOf, type MetadataImage, type PartitionImage } from './metadata-image.js';
import type { NodeRegistration } from './metadata-store.js';

/** A partition's state as one Partition record writes it. */
export interface PartitionFields {
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

export type LiveNodes = ReadonlyMap<number, NodeRegistration>;

export function fieldsOf(p: PartitionImage): PartitionFields {
  return {
    replicas: p.replicas,
    isr: p.isr,
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    partitionEpoch: p.partitionEpoch,
    addingReplicas: addingReplicasOf(p),
    removingReplicas: removingReplicasOf(p),
  };
}

const isAlive = (live: LiveNodes, id: number) => live.get(id)?.state === 'alive';

/** The first of `replicas` (in their order) that is in `isr` and alive, or -1. */
function firstInSyncAlive(replicas: readonly number[], isr: readonly number[], live: LiveNodes): number {
  return replicas.find((r) => isr.includes(r) && isAlive(live, r)) ?? -1;
}

/** The leader after the replicas or the ISR changed: the current one while it stays in both, else a new one from the ISR. */
function leaderAfter(p: PartitionFields, replicas: readonly number[], isr: readonly number[], live: LiveNodes): { leader: number; leaderEpoch: number } {
  if (p.leader >= 0 && replicas.includes(p.leader) && isr.includes(p.leader)) return { leader: p.leader, leaderEpoch: p.leaderEpoch };
  const leader = firstInSyncAlive(replicas, isr, live);
  return { leader, leaderEpoch: leader === p.leader ? p.leaderEpoch : p.leaderEpoch + 1 };
}

/**
 * Checks a reassignment's target replicas: at least one, each once, and every replica it adds
 * alive (it must catch up from the leader). Replicas the partition has already may be down.
 */
export function checkTarget(p: PartitionImage, target: readonly number[], live: LiveNodes): ControllerError | undefined {
  if (target.length === 0) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: 'the target replicas are empty; a partition needs at least one replica' };
  if (target.some((r) => !Number.isInteger(r) || r < 0)) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: `invalid broker id in target replicas ${target.join(',')}` };
  if (new Set(target).size !== target.length) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: `duplicate broker in target replicas ${target.join(',')}` };
  const notLive = target.filter((r) => !p.replicas.includes(r) && !isAlive(live, r));
  if (notLive.length > 0) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: `broker(s) ${notLive.join(',')} of the target replicas are not live` };
  return undefined;
}

/**
 * The partition after a reassignment towards `target` (checked with checkTarget) starts, or
 * null when nothing changes (the target is the replica set and nothing is under way). A
 * reassignment under way is replaced: its replicas count as the current ones.
 */
export function startReassignment(p: PartitionImage, target: readonly number[], live: LiveNodes): PartitionFields | null {
  const current = p.replicas;
  const removing = current.filter((r) => !target.includes(r)).sort((a, b) => a - b);
  const adding = target.filter((r) => !current.includes(r)).sort((a, b) => a - b);
  const started: PartitionFields = {
    ...fieldsOf(p),
    replicas: [...target, ...removing],
    addingReplicas: adding,
    removingReplicas: removing,
  };
  const next = completeReassignment(started, live) ?? (removing.length === 0 && adding.length === 0 ? { ...started, addingReplicas: [], removingReplicas: [] } : started);
  if (sameFields(next, fieldsOf(p))) return null;
  return { ...next, partitionEpoch: p.partitionEpoch + 1 };
}

/**
 * The partition with its reassignment completed, or null while it cannot be: every target
 * replica must be in the ISR, the ISR without the removing replicas not empty, and a leader
 * being removed must have a live target replica in the ISR to hand over to. The epochs are the
 * caller's to raise (the partition epoch rises with the change it is part of).
 */
export function completeReassignment(f: PartitionFields, live: LiveNodes): PartitionFields | null {
  if (f.addingReplicas.length === 0 && f.removingReplicas.length === 0) return null;
  const isr = f.isr.filter((r) => !f.removingReplicas.includes(r));
  const replicas = f.replicas.filter((r) => !f.removingReplicas.includes(r));
  if (isr.length === 0 || replicas.length === 0 || !replicas.every((r) => isr.includes(r))) return null;
  const leader = leaderAfter(f, replicas, isr, live);
  // A removed leader hands over only to a live replica: the partition must not go offline for it.
  if (leader.leader < 0 && f.leader >= 0) return null;
  return { ...f, replicas, isr, ...leader, addingReplicas: [], removingReplicas: [] };
}

/** The partition with its reassignment cancelled: back to the replicas it had (less the adding ones). */
export function cancelReassignment(p: PartitionImage, uncleanAllowed: boolean, live: LiveNodes): ControllerError | PartitionFields {
  if (!isReassigning(p)) return { error: 'NO_REASSIGNMENT_IN_PROGRESS', message: `no reassignment of partition ${p.partition} is in progress` };
  const f = fieldsOf(p);
  const replicas = p.replicas.filter((r) => !f.addingReplicas.includes(r));
  let isr = p.isr.filter((r) => !f.addingReplicas.includes(r));
  if (isr.length === 0) {
    if (!uncleanAllowed) {
      return {
        error: 'INVALID_REPLICA_ASSIGNMENT',
        message: `cancelling would need an unclean leader election: only adding replicas (${f.addingReplicas.join(',')}) are in the ISR; unclean.leader.election.enable is false`,
      };
    }
    isr = [replicas[0]!];
  }
  return { ...f, replicas, isr, ...leaderAfter(f, replicas, isr, live), addingReplicas: [], removingReplicas: [], partitionEpoch: p.partitionEpoch + 1 };
}

/** Kafka's ElectionType: 0 preferred, 1 unclean. */
export type ElectionType = 'preferred' | 'unclean';

/**
 * A leader election for one partition: the new state, or ELECTION_NOT_NEEDED (the preferred
 * replica leads already; for unclean, the partition has a leader), PREFERRED_LEADER_NOT_AVAILABLE
 * (the preferred replica is not alive or not in the ISR) or ELIGIBLE_LEADERS_NOT_AVAILABLE (no
 * replica alive).
 */
export function electLeader(p: PartitionImage, type: ElectionType, live: LiveNodes): ControllerError | PartitionFields {
  const f = fieldsOf(p);
  if (type === 'preferred') {
    const preferred = p.replicas[0] ?? -1;
    if (p.leader === preferred) return { error: 'ELECTION_NOT_NEEDED', message: `the preferred replica ${preferred} leads already` };
    if (!p.isr.includes(preferred) || !isAlive(live, preferred)) {
      return {
        error: 'PREFERRED_LEADER_NOT_AVAILABLE',
        message: `the preferred replica ${preferred} is ${isAlive(live, preferred) ? `not in the ISR (${p.isr.join(',')})` : 'not alive'}`,
      };
    }
    return { ...f, leader: preferred, leaderEpoch: p.leaderEpoch + 1, partitionEpoch: p.partitionEpoch + 1 };
  }
  if (p.leader >= 0) return { error: 'ELECTION_NOT_NEEDED', message: `the partition has a leader (node ${p.leader})` };
  const clean = firstInSyncAlive(p.replicas, p.isr, live);
  if (clean >= 0) return { ...f, leader: clean, isr: p.isr.filter((r) => r === clean || isAlive(live, r)), leaderEpoch: p.leaderEpoch + 1, partitionEpoch: p.partitionEpoch + 1 };
  const any = p.replicas.find((r) => isAlive(live, r));
  if (any === undefined) return { error: 'ELIGIBLE_LEADERS_NOT_AVAILABLE', message: `no replica (${p.replicas.join(',')}) is alive` };
  return { ...f, leader: any, isr: [any], leaderEpoch: p.leaderEpoch + 1, partitionEpoch: p.partitionEpoch + 1 };
}

/**
 * Partitions whose leadership the automatic rebalance moves back to their preferred replica
 * (Kafka's auto.leader.rebalance.enable): for each alive node, of the partitions whose first
 * replica it is, the share not led by it; where that share exceeds `percentage` %, each of those
 * partitions whose preferred replica is in the ISR moves. Partitions under reassignment are left
 * alone, as Kafka does.
 */
export function imbalancedPartitions(image: MetadataImage, live: LiveNodes, percentage: number): { topicId: string; partition: PartitionImage }[] {
  const byNode = new Map<number, { total: number; notLed: { topicId: string; partition: PartitionImage }[] }>();
  for (const t of image.topicsById.values()) {
    for (const p of t.partitions) {
      const preferred = p.replicas[0];
      if (preferred === undefined || !isAlive(live, preferred) || isReassigning(p)) continue;
      let n = byNode.get(preferred);
      if (!n) byNode.set(preferred, (n = { total: 0, notLed: [] }));
      n.total++;
      if (p.leader !== preferred) n.notLed.push({ topicId: t.topicId, partition: p });
    }
  }
  const out: { topicId: string; partition: PartitionImage }[] = [];
  for (const [node, n] of byNode) {
    if (n.notLed.length === 0 || (n.notLed.length / n.total) * 100 <= percentage) continue;
    for (const x of n.notLed) if (x.partition.isr.includes(node)) out.push(x);
  }
  return out;
}

function sameFields(a: PartitionFields, b: PartitionFields): boolean {
  const same = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return (
    a.leader === b.leader &&
    a.leaderEpoch === b.leaderEpoch &&
    same(a.replicas, b.replicas) &&
    same(a.isr, b.isr) &&
    same(a.addingReplicas, b.addingReplicas) &&
    same(a.removingReplicas, b.removingReplicas)
  );
}

/**
 * Broker configs the controller acts on (set cluster-wide, resource '', or per node), beyond
 * the topic-config defaults that topic-configs.ts knows, with Kafka's names and defaults.
 */
export const controllerBrokerConfigs: ReadonlyMap<string, { readonly defaultValue: string; readonly validate: (v: string) => string | undefined }> = new Map([
  ['auto.leader.rebalance.enable', { defaultValue: 'true', validate: (v: string) => (v === 'true' || v === 'false' ? undefined : 'must be true or false') }],
  ['leader.imbalance.check.interval.seconds', { defaultValue: '300', validate: intRange(1, 2 ** 31 - 1) }],
  ['leader.imbalance.per.broker.percentage', { defaultValue: '10', validate: intRange(0, 100) }],
  /** Bytes/s a node's replicas may fetch for partitions they are being added to (a reassignment's throttle). */
  ['follower.replication.throttled.rate', { defaultValue: String(Number.MAX_SAFE_INTEGER), validate: intRange(1, Number.MAX_SAFE_INTEGER) }],
  /** Bytes/s a leader may send to replicas being added to its partitions (enforced by those replicas' fetchers). */
  ['leader.replication.throttled.rate', { defaultValue: String(Number.MAX_SAFE_INTEGER), validate: intRange(1, Number.MAX_SAFE_INTEGER) }],
]);

function intRange(min: number, max: number): (v: string) => string | undefined {
  return (v) => (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `must be an integer from ${min} to ${max}`);
}

/** Validates one of controllerBrokerConfigs; undefined when valid, or when `name` is not one of them (see isControllerBrokerConfig). */
export function validateControllerBrokerConfig(name: string, value: string | null): string | undefined {
  const def = controllerBrokerConfigs.get(name);
  if (!def || value === null) return undefined;
  const why = def.validate(value);
  return why && `invalid value '${value}' for ${name}: ${why}`;
}

/** A broker config's value for `nodeId`: its own, else the cluster-wide default, else the built-in default. */
export function brokerConfigValue(image: MetadataImage, nodeId: number, name: string): string | undefined {
  return image.brokerConfigs.get(String(nodeId))?.get(name) ?? image.brokerConfigs.get('')?.get(name) ?? controllerBrokerConfigs.get(name)?.defaultValue;
}
