/**
 * Controller: every metadata change of the cluster goes through it (main thread; a cluster
 * view). On the node the MetadataStore elected controller it validates a change, plans replicas,
 * appends the records through the store (conditional on still being controller) and answers once
 * this node has applied them. On any other node the same methods forward the change to the
 * controller (ControllerChannel) and answer once this node has applied the result. Callers (the
 * Kafka and HTTP gateways) do not know which.
 *
 * The active controller also keeps leadership in step with the live nodes (Kafka's controller
 * duties): a node that leaves or shuts down loses its leaderships to a live in-sync replica, or
 * its partitions go offline (leader -1) until it returns; a node that registers gets its address
 * recorded. One change at a time: every write runs in `exclusive`.
 *
 * Partition reassignment (KIP-455, AlterPartitionReassignments) and leader elections
 * (ElectLeaders) go through it too; reassignment.ts holds the partition changes. A reassignment
 * completes with the ISR change (AlterPartition) that brings its last target replica in sync,
 * or in the duties. While auto.leader.rebalance.enable (a broker config, default true) holds,
 * the active controller checks every leader.imbalance.check.interval.seconds (300) whether a
 * node's share of preferred partitions led elsewhere exceeds
 * leader.imbalance.per.broker.percentage (10), and if so moves those leaderships back.
 *
 * Every method either appends all its records or none, and returns an error value (a Kafka error
 * name and a message) rather than throwing for a request that is merely invalid or a store that
 * is unreachable.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ClusterMetadata } from './cluster-metadata.js';
import { FORWARDED_CLIENT_ID, type ControllerChannel, type ForwardTarget, type IsrChange } from './controller-channel.js';
import { addingReplicasOf, isReassigning, removingReplicasOf, type MetadataImage, type PartitionImage, type TopicImage } from './metadata-image.js';
import type { ConfigResourceType, MetadataRecord } from './metadata-records.js';
import { MetadataStoreError, type MetadataStore, type NodeRegistration } from './metadata-store.js';
import { OFFSETS_TOPIC } from './offsets-topic.js';
import {
  brokerConfigValue,
  cancelReassignment,
  checkTarget,
  completeReassignment,
  controllerBrokerConfigs,
  electLeader as electPartitionLeader,
  fieldsOf,
  imbalancedPartitions,
  startReassignment,
  validateControllerBrokerConfig,
  type ElectionType,
  type PartitionFields,
} from './reassignment.js';
import { validateBrokerConfig, validateTopicConfig } from './topic-configs.js';

export interface ControllerError {
  readonly error: string;
  readonly message: string;
}

export interface ControllerOptions {
  readonly nodeId: number;
  readonly defaultPartitions: number;
  readonly defaultReplicationFactor: number;
  /** Partitions of __consumer_offsets when the controller creates it. */
  readonly offsetsTopicPartitions: number;
  /** How long a change may take end to end (store write, forwarding, local apply). */
  readonly requestTimeoutMs: number;
}

/** One partition of an AlterPartitionReassignments: its target replicas, or null to cancel. */
export interface ReassignmentChange {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[] | null;
}

/** One partition's outcome of a request that names many. */
export interface PartitionResult {
  readonly topic: string;
  readonly partition: number;
  readonly error?: ControllerError;
}

/** A reassignment under way, as ListPartitionReassignments reports it. */
export interface OngoingReassignment {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

/** Who asks: a forwarded request must not be forwarded again. */
export interface CallerOptions {
  readonly clientId?: string;
}

export interface NewTopic {
  readonly name: string;
  /** -1 takes the broker default (num.partitions). */
  readonly numPartitions: number;
  /** -1 takes the broker default (default.replication.factor). */
  readonly replicationFactor: number;
  readonly assignments?: readonly { readonly partitionIndex: number; readonly brokerIds: readonly number[] }[];
  readonly configs?: readonly { readonly name: string; readonly value: string | null }[];
}

/** Replicas of each `__consumer_offsets` partition, when that many nodes are alive (Kafka's offsets.topic.replication.factor). */
const OFFSETS_TOPIC_REPLICATION_FACTOR = 3;

/** Producer ids are handed out in blocks, one metadata record per block (as Kafka does). */
export const PRODUCER_ID_BLOCK = 1000;
/** Kafka's limit on topic names; longer names cannot form a partition directory name. */
const TOPIC_NAME_MAX = 249;
const PARTITIONS_MAX = 100_000;

export function validateTopicName(name: string): string | undefined {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be '${name}'`;
  if (name.length > TOPIC_NAME_MAX) return `topic name is longer than ${TOPIC_NAME_MAX} characters`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return `topic name '${name}' has characters other than ASCII alphanumerics, '.', '_' and '-'`;
  return undefined;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
/** How often a node in controlled shutdown checks whether its leaderships have moved. */
const SHUTDOWN_POLL_MS = 50;
/** After a failed duty run (store unreachable), the active controller tries again this much later. */
const DUTY_RETRY_MS = 1_000;
/** How often the controller looks whether leader.imbalance.check.interval.seconds has passed (the interval is a dynamic config). */
const REBALANCE_POLL_MS = 1_000;

export interface ControllerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export class Controller {
  private queue: Promise<unknown> = Promise.resolve();
  private producerIds = { next: 0, end: 0 };
  private producerIdsLoading: Promise<ControllerError | undefined> | undefined;
  private dutiesQueued = false;
  private dutyRetry: NodeJS.Timeout | undefined;
  private closed = false;
  /** When the leader balance was last checked (or this node last was not the controller). */
  private lastRebalanceCheck = Date.now();
  private readonly rebalanceTimer: NodeJS.Timeout;

  constructor(
    private readonly store: MetadataStore,
    private readonly metadata: ClusterMetadata,
    private readonly channel: ControllerChannel,
    private readonly opts: ControllerOptions,
    private readonly log: ControllerLog,
  ) {
    this.rebalanceTimer = setInterval(() => this.maybeRebalance(), REBALANCE_POLL_MS);
    this.rebalanceTimer.unref();
  }

  get image(): MetadataImage {
    return this.metadata.image;
  }

  /** Whether this node is the elected controller now. */
  get isActive(): boolean {
    return this.store.isController();
  }

  /** The elected controller's node id, or -1 while there is none. */
  get controllerId(): number {
    return this.store.controllerId();
  }

  /** Where the metadata lives ('embedded' or the etcd endpoints). */
  get storeDescription(): string {
    return this.store.description;
  }

  /** The nodes that serve clients now (registered, lease live, not still starting), by id. */
  liveNodes(): NodeRegistration[] {
    return [...this.store.liveNodes().values()].filter((n) => n.state !== 'starting').sort((a, b) => a.nodeId - b.nodeId);
  }

  async createTopic(t: NewTopic, validateOnly = false, caller: CallerOptions = {}): Promise<ControllerError | TopicImage> {
    const invalidName = validateTopicName(t.name);
    if (invalidName) return { error: 'INVALID_TOPIC_EXCEPTION', message: invalidName };
    return this.route(
      caller,
      () => this.exclusive(() => this.createTopicHere(t, validateOnly)),
      async (to) => {
        const failed = (await this.channel.createTopic(to, t, validateOnly)) ?? (validateOnly ? undefined : await this.syncWithController());
        if (failed) return failed;
        if (validateOnly) return { name: t.name, topicId: ZERO_UUID, partitions: [], configs: new Map() };
        return this.image.topicsByName.get(t.name) ?? { error: 'UNKNOWN_SERVER_ERROR', message: `topic '${t.name}' was created but is not in this node's metadata yet` };
      },
    );
  }

  async deleteTopic(name: string, caller: CallerOptions = {}): Promise<ControllerError | TopicImage> {
    const known = this.image.topicsByName.get(name);
    return this.route(
      caller,
      () => this.exclusive(() => this.deleteTopicHere(name)),
      async (to) => {
        const failed = (await this.channel.deleteTopic(to, name)) ?? (await this.syncWithController());
        if (failed) return failed;
        return known ?? { name, topicId: ZERO_UUID, partitions: [], configs: new Map() };
      },
    );
  }

  async createPartitions(
    name: string,
    count: number,
    assignments: readonly (readonly number[])[] | null,
    validateOnly = false,
    caller: CallerOptions = {},
  ): Promise<ControllerError | TopicImage> {
    return this.route(
      caller,
      () => this.exclusive(() => this.createPartitionsHere(name, count, assignments, validateOnly)),
      async (to) => {
        const failed = (await this.channel.createPartitions(to, name, count, assignments, validateOnly)) ?? (validateOnly ? undefined : await this.syncWithController());
        if (failed) return failed;
        return this.image.topicsByName.get(name) ?? { error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic '${name}' does not exist` };
      },
    );
  }

  /**
   * Changes configs of one resource. `replace` (AlterConfigs) sets exactly the given configs and
   * removes the others; `incremental` (IncrementalAlterConfigs) applies set/delete operations.
   */
  async alterConfigs(
    resourceType: ConfigResourceType,
    resourceName: string,
    changes: readonly { readonly name: string; readonly value: string | null }[],
    mode: 'replace' | 'incremental',
    validateOnly = false,
    caller: CallerOptions = {},
  ): Promise<ControllerError | undefined> {
    const outcome = await this.route<true>(
      caller,
      async () => (await this.exclusive(() => this.alterConfigsHere(resourceType, resourceName, changes, mode, validateOnly))) ?? true,
      async (to) =>
        (await this.channel.alterConfigs(to, resourceType, resourceName, changes, mode, validateOnly)) ?? (validateOnly ? undefined : await this.syncWithController()) ?? true,
    );
    return outcome === true ? undefined : outcome;
  }

  /** Creates __consumer_offsets (compacted, as in Kafka) unless it exists; where it is created, the controller decides. */
  async ensureOffsetsTopic(): Promise<ControllerError | undefined> {
    if (this.image.topicsByName.has(OFFSETS_TOPIC)) return undefined;
    const created = await this.createTopic({
      name: OFFSETS_TOPIC,
      numPartitions: this.opts.offsetsTopicPartitions,
      // Kafka's offsets.topic.replication.factor (3), bounded by the nodes alive now: committed offsets survive a node's loss.
      replicationFactor: Math.max(1, Math.min(OFFSETS_TOPIC_REPLICATION_FACTOR, this.placementNodes().length)),
      configs: [{ name: 'cleanup.policy', value: 'compact' }],
    });
    if ('error' in created && !this.image.topicsByName.has(OFFSETS_TOPIC)) return created;
    return undefined;
  }

  /** Hands out a new producer id from this node's block, fetching a new block from the controller when it runs out. */
  async allocateProducerId(): Promise<ControllerError | number> {
    while (this.producerIds.next >= this.producerIds.end) {
      this.producerIdsLoading ??= this.loadProducerIds().finally(() => {
        this.producerIdsLoading = undefined;
      });
      const failed = await this.producerIdsLoading;
      if (failed) return failed;
    }
    return this.producerIds.next++;
  }

  /** The controller's side of AllocateProducerIds: a block of ids no node has had, recorded in the log first. */
  allocateProducerIdBlock(caller: CallerOptions = {}): Promise<ControllerError | { start: number; length: number }> {
    if (!this.isActive) return Promise.resolve(this.notController(caller));
    return this.exclusive(async () => {
      const start = this.image.nextProducerId;
      const failed = await this.commit([{ type: 'ProducerIds', nextProducerId: start + PRODUCER_ID_BLOCK }]);
      return failed ?? { start, length: PRODUCER_ID_BLOCK };
    });
  }

  /**
   * A leader's change of its partition's ISR (Kafka's AlterPartition, KIP-497): applied only when
   * it comes from the partition's current leader in its current leader epoch and names the
   * current partition epoch, so a deposed or stale leader cannot change the ISR. A replica joining
   * the ISR must be alive. Answers the partition as it now is.
   */
  alterPartition(change: IsrChange, caller: CallerOptions = {}): Promise<ControllerError | PartitionImage> {
    return this.route(
      caller,
      () => this.exclusive(() => this.alterPartitionHere(change)),
      async (to) => {
        const r = await this.channel.alterPartition(to, change);
        if ('error' in r) return r;
        const failed = await this.syncWithController();
        return failed ?? this.image.topicsById.get(change.topicId)?.partitions[change.partition] ?? r;
      },
    );
  }

  private async alterPartitionHere(c: IsrChange): Promise<ControllerError | PartitionImage> {
    const t = this.image.topicsById.get(c.topicId);
    const p = t?.partitions[c.partition];
    if (!t || !p) return { error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `no partition ${c.topicId}-${c.partition}` };
    const where = `${t.name}-${c.partition}`;
    if (c.leaderEpoch < p.leaderEpoch) return { error: 'FENCED_LEADER_EPOCH', message: `${where}: leader epoch ${c.leaderEpoch} is older than ${p.leaderEpoch}` };
    if (c.leaderEpoch > p.leaderEpoch) return { error: 'UNKNOWN_LEADER_EPOCH', message: `${where}: leader epoch ${c.leaderEpoch} is newer than ${p.leaderEpoch}` };
    if (c.leaderId !== p.leader) return { error: 'NOT_LEADER_OR_FOLLOWER', message: `${where}: node ${c.leaderId} is not its leader (node ${p.leader} is)` };
    if (c.partitionEpoch !== p.partitionEpoch) {
      return { error: 'INVALID_UPDATE_VERSION', message: `${where}: partition epoch ${c.partitionEpoch} is not the current ${p.partitionEpoch}` };
    }
    if (!c.isr.includes(p.leader) || new Set(c.isr).size !== c.isr.length || c.isr.some((r) => !p.replicas.includes(r))) {
      return { error: 'INVALID_REQUEST', message: `${where}: ISR ${c.isr.join(',')} must hold its leader and only its replicas (${p.replicas.join(',')}), once each` };
    }
    const live = this.store.liveNodes();
    const ineligible = c.isr.filter((r) => !p.isr.includes(r) && live.get(r)?.state !== 'alive');
    if (ineligible.length > 0) return { error: 'INELIGIBLE_REPLICA', message: `${where}: replica(s) ${ineligible.join(',')} are not alive and cannot join the ISR` };
    if (sameMembers(c.isr, p.isr)) return p;
    // A reassignment completes with the ISR change that brings its last target replica in.
    const changed: PartitionFields = { ...fieldsOf(p), isr: c.isr, partitionEpoch: p.partitionEpoch + 1 };
    const completed = completeReassignment(changed, live);
    const failed = await this.commit([partitionRecord(t.topicId, p.partition, completed ?? changed)]);
    if (failed) return failed;
    this.log.info({ topic: t.name, partition: p.partition, isr: c.isr, was: p.isr }, 'controller changed an ISR');
    if (completed) this.logCompleted(t.name, p, completed);
    return this.image.topicsById.get(c.topicId)?.partitions[c.partition] ?? p;
  }

  // -------------------------------------------------------------------------------------------
  // Reassignment (KIP-455) and leader election (KIP-460); see reassignment.ts for the changes.

  /**
   * AlterPartitionReassignments: starts (target replicas) or cancels (null) a reassignment of
   * each partition named; all changes that are valid are committed together. Answers each
   * partition's outcome in request order.
   */
  alterPartitionReassignments(changes: readonly ReassignmentChange[], caller: CallerOptions = {}): Promise<ControllerError | PartitionResult[]> {
    return this.route(
      caller,
      () => this.exclusive(() => this.alterPartitionReassignmentsHere(changes)),
      async (to) => {
        const r = await this.channel.alterPartitionReassignments(to, changes);
        if ('error' in r) return r;
        return (await this.syncWithController()) ?? r;
      },
    );
  }

  /**
   * ListPartitionReassignments: the reassignments under way, of the partitions named (null: of
   * every partition). Any node answers from its image once it has applied everything the store
   * has committed, which is what the controller would answer.
   */
  async listPartitionReassignments(
    partitions: readonly { readonly topic: string; readonly partitions: readonly number[] }[] | null,
  ): Promise<ControllerError | OngoingReassignment[]> {
    if (!this.isActive) {
      const failed = await this.syncWithController();
      if (failed) return failed;
    }
    const out: OngoingReassignment[] = [];
    const add = (topic: TopicImage, p: PartitionImage) => {
      if (isReassigning(p)) {
        out.push({ topic: topic.name, partition: p.partition, replicas: p.replicas, addingReplicas: addingReplicasOf(p), removingReplicas: removingReplicasOf(p) });
      }
    };
    if (partitions === null) {
      for (const t of [...this.image.topicsByName.values()].sort((a, b) => a.name.localeCompare(b.name))) for (const p of t.partitions) add(t, p);
      return out;
    }
    for (const want of partitions) {
      const t = this.image.topicsByName.get(want.topic);
      if (!t) return { error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic '${want.topic}' does not exist` };
      for (const n of want.partitions) {
        const p = t.partitions[n];
        if (!p) return { error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic '${want.topic}' has no partition ${n}` };
        add(t, p);
      }
    }
    return out;
  }

  /**
   * ElectLeaders: a preferred or unclean election for each partition named (null: every
   * partition, answering only those where an election was needed, as Kafka does).
   */
  electLeaders(
    type: ElectionType,
    partitions: readonly { readonly topic: string; readonly partitions: readonly number[] }[] | null,
    caller: CallerOptions = {},
  ): Promise<ControllerError | PartitionResult[]> {
    return this.route(
      caller,
      () => this.exclusive(() => this.electLeadersHere(type, partitions)),
      async (to) => {
        const r = await this.channel.electLeaders(to, type, partitions);
        if ('error' in r) return r;
        return (await this.syncWithController()) ?? r;
      },
    );
  }

  /**
   * The automatic leader rebalance now, on the active controller (the timer runs it every
   * leader.imbalance.check.interval.seconds while auto.leader.rebalance.enable): the number of
   * leaderships moved back to preferred replicas.
   */
  rebalanceLeaders(): Promise<ControllerError | number> {
    if (!this.isActive) return Promise.resolve(this.notController({}));
    return this.exclusive(() => this.rebalanceLeadersHere());
  }

  private async alterPartitionReassignmentsHere(changes: readonly ReassignmentChange[]): Promise<ControllerError | PartitionResult[]> {
    const live = this.store.liveNodes();
    const results: PartitionResult[] = [];
    const records: MetadataRecord[] = [];
    const committing: number[] = [];
    const seen = new Set<string>();
    const summary: object[] = [];
    for (const c of changes) {
      const fail = (error: ControllerError) => results.push({ topic: c.topic, partition: c.partition, error });
      const t = this.image.topicsByName.get(c.topic);
      const p = t?.partitions[c.partition];
      if (!t || !p) {
        fail({ error: 'UNKNOWN_TOPIC_OR_PARTITION', message: t ? `topic '${c.topic}' has no partition ${c.partition}` : `topic '${c.topic}' does not exist` });
        continue;
      }
      const key = `${c.topic}-${c.partition}`;
      if (seen.has(key)) {
        fail({ error: 'INVALID_REQUEST', message: `partition ${key} appears more than once in the request` });
        continue;
      }
      seen.add(key);
      let next: ControllerError | PartitionFields | null;
      if (c.replicas === null) next = cancelReassignment(p, this.uncleanAllowed(t), live);
      else next = checkTarget(p, c.replicas, live) ?? startReassignment(p, c.replicas, live);
      if (next !== null && 'error' in next) {
        fail({ error: next.error, message: `${key}: ${next.message}` });
        continue;
      }
      results.push({ topic: c.topic, partition: c.partition });
      if (next === null) continue;
      committing.push(results.length - 1);
      records.push(partitionRecord(t.topicId, p.partition, next));
      summary.push({ partition: key, target: c.replicas, replicas: next.replicas, adding: next.addingReplicas, removing: next.removingReplicas, leader: next.leader });
    }
    if (records.length === 0) return results;
    const failed = await this.commit(records);
    if (failed) {
      for (const i of committing) results[i] = { ...results[i]!, error: failed };
      return results;
    }
    this.log.info({ partitions: summary.length, sample: summary.slice(0, 5) }, 'controller changed partition reassignments');
    return results;
  }

  private async electLeadersHere(
    type: ElectionType,
    partitions: readonly { readonly topic: string; readonly partitions: readonly number[] }[] | null,
  ): Promise<ControllerError | PartitionResult[]> {
    const live = this.store.liveNodes();
    const all = partitions === null;
    const wanted = all ? [...this.image.topicsByName.values()].map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.partition) })) : partitions;
    const results: PartitionResult[] = [];
    const records: MetadataRecord[] = [];
    const committing: number[] = [];
    const moved: object[] = [];
    const seen = new Set<string>();
    for (const w of wanted) {
      const t = this.image.topicsByName.get(w.topic);
      for (const n of w.partitions) {
        const key = `${w.topic}-${n}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const p = t?.partitions[n];
        if (!t || !p) {
          results.push({
            topic: w.topic,
            partition: n,
            error: { error: 'UNKNOWN_TOPIC_OR_PARTITION', message: t ? `topic '${w.topic}' has no partition ${n}` : `topic '${w.topic}' does not exist` },
          });
          continue;
        }
        const next = electPartitionLeader(p, type, live);
        if ('error' in next) {
          if (!(all && next.error === 'ELECTION_NOT_NEEDED')) results.push({ topic: w.topic, partition: n, error: { error: next.error, message: `${key}: ${next.message}` } });
          continue;
        }
        results.push({ topic: w.topic, partition: n });
        committing.push(results.length - 1);
        records.push(partitionRecord(t.topicId, n, next));
        moved.push({ partition: key, from: p.leader, to: next.leader });
      }
    }
    if (records.length === 0) return results;
    const failed = await this.commit(records);
    if (failed) {
      for (const i of committing) results[i] = { ...results[i]!, error: failed };
      return results;
    }
    this.log.info({ election: type, leadersChanged: moved.length, sample: moved.slice(0, 5) }, 'controller elected leaders');
    return results;
  }

  private async rebalanceLeadersHere(): Promise<ControllerError | number> {
    if (this.closed || !this.isActive) return 0;
    const live = this.store.liveNodes();
    const percentage = Number(brokerConfigValue(this.image, this.opts.nodeId, 'leader.imbalance.per.broker.percentage'));
    const records: MetadataRecord[] = [];
    const moved: object[] = [];
    for (const m of imbalancedPartitions(this.image, live, percentage)) {
      const next = electPartitionLeader(m.partition, 'preferred', live);
      if ('error' in next) continue;
      records.push(partitionRecord(m.topicId, m.partition.partition, next));
      moved.push({ topic: this.image.topicsById.get(m.topicId)?.name, partition: m.partition.partition, from: m.partition.leader, to: next.leader });
    }
    if (records.length === 0) return 0;
    const failed = await this.commit(records);
    if (failed) return failed;
    this.log.info(
      { leadersChanged: moved.length, percentage, sample: moved.slice(0, 5) },
      'controller moved leaderships back to preferred replicas (auto.leader.rebalance.enable)',
    );
    return records.length;
  }

  /** The timer's tick: runs the rebalance when this node is the controller and the interval has passed. */
  private maybeRebalance(): void {
    if (this.closed) return;
    if (!this.isActive) {
      this.lastRebalanceCheck = Date.now();
      return;
    }
    const config = (name: string) => brokerConfigValue(this.image, this.opts.nodeId, name);
    if (config('auto.leader.rebalance.enable') !== 'true') return;
    const intervalMs = Number(config('leader.imbalance.check.interval.seconds')) * 1000;
    if (Date.now() - this.lastRebalanceCheck < intervalMs) return;
    this.lastRebalanceCheck = Date.now();
    void this.rebalanceLeaders().then((r) => {
      if (typeof r !== 'number' && r.error !== 'NOT_CONTROLLER') this.log.warn({ error: r.error, reason: r.message }, 'automatic leader rebalance failed');
    });
  }

  private uncleanAllowed(t: TopicImage): boolean {
    return t.configs.get('unclean.leader.election.enable') === 'true' || this.image.brokerConfigs.get('')?.get('unclean.leader.election.enable') === 'true';
  }

  private logCompleted(topic: string, before: PartitionImage, after: PartitionFields): void {
    this.log.info(
      { topic, partition: before.partition, replicas: after.replicas, was: before.replicas, isr: after.isr, leader: after.leader, previousLeader: before.leader },
      'controller completed a partition reassignment',
    );
  }

  /**
   * The store saw nodes come, go or change state, or a new controller: if this node is the
   * controller, bring leadership and broker registrations in step (once per burst of changes).
   */
  membershipChanged(): void {
    if (this.closed || !this.isActive || this.dutiesQueued) return;
    this.dutiesQueued = true;
    void this.exclusive(async () => {
      this.dutiesQueued = false;
      if (this.closed || !this.isActive) return;
      const failed = await this.runDuties();
      if (failed && !this.closed) {
        this.log.warn({ error: failed.error, reason: failed.message }, 'controller duties failed; retrying');
        clearTimeout(this.dutyRetry);
        this.dutyRetry = setTimeout(() => this.membershipChanged(), DUTY_RETRY_MS);
        this.dutyRetry.unref();
      }
    });
  }

  /** Runs the duties now and waits for them (a single node before it reports itself started). */
  settle(): Promise<ControllerError | undefined> {
    return this.exclusive(() => (this.isActive ? this.runDuties() : Promise.resolve(undefined)));
  }

  /**
   * Controlled shutdown: marks this node shutting down, waits (bounded) until the controller has
   * moved every leadership that another live in-sync replica can take, then gives up the
   * controllership if it held it.
   */
  async controlledShutdown(self: NodeRegistration, timeoutMs: number): Promise<void> {
    try {
      await this.store.register({ ...self, state: 'shutting-down' });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'controlled shutdown: cannot tell the metadata store; stopping without moving leaderships');
      return;
    }
    const deadline = Date.now() + timeoutMs;
    while (this.movableLeaderships() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, SHUTDOWN_POLL_MS));
    const left = this.movableLeaderships();
    if (left > 0) this.log.warn({ partitions: left, timeoutMs }, 'controlled shutdown: some leaderships did not move in time');
    await this.store.resign().catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.dutyRetry);
    clearInterval(this.rebalanceTimer);
    this.channel.close();
  }

  // -------------------------------------------------------------------------------------------
  // The active controller's work.

  private async createTopicHere(t: NewTopic, validateOnly: boolean): Promise<ControllerError | TopicImage> {
    if (this.image.topicsByName.has(t.name)) return { error: 'TOPIC_ALREADY_EXISTS', message: `topic '${t.name}' already exists` };
    const planned = this.planReplicas(t);
    if ('error' in planned) return planned;
    for (const c of t.configs ?? []) {
      const why = validateTopicConfig(c.name, c.value);
      if (why) return { error: 'INVALID_CONFIG', message: why };
    }
    const topicId = randomUUID();
    const records: MetadataRecord[] = [{ type: 'Topic', name: t.name, topicId }];
    planned.forEach((replicas, partition) => {
      records.push({ type: 'Partition', topicId, partition, replicas, isr: replicas, leader: replicas[0]!, leaderEpoch: 0 });
    });
    for (const c of t.configs ?? []) {
      if (c.value !== null) records.push({ type: 'Config', resourceType: 'topic', resourceName: t.name, name: c.name, value: c.value });
    }
    if (validateOnly) return { name: t.name, topicId, partitions: [], configs: new Map() };
    const failed = await this.commit(records);
    if (failed) return failed;
    return this.image.topicsById.get(topicId) ?? { error: 'UNKNOWN_SERVER_ERROR', message: `topic '${t.name}' vanished after its creation` };
  }

  private async deleteTopicHere(name: string): Promise<ControllerError | TopicImage> {
    const topic = this.image.topicsByName.get(name);
    if (!topic) return { error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic '${name}' does not exist` };
    if (name.startsWith('__')) return { error: 'INVALID_TOPIC_EXCEPTION', message: `internal topic '${name}' cannot be deleted` };
    return (await this.commit([{ type: 'RemoveTopic', topicId: topic.topicId }])) ?? topic;
  }

  private async createPartitionsHere(
    name: string,
    count: number,
    assignments: readonly (readonly number[])[] | null,
    validateOnly: boolean,
  ): Promise<ControllerError | TopicImage> {
    const topic = this.image.topicsByName.get(name);
    if (!topic) return { error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic '${name}' does not exist` };
    const current = topic.partitions.length;
    if (count <= current) {
      return { error: 'INVALID_PARTITIONS', message: `topic '${name}' has ${current} partitions; the new count must be larger, got ${count}` };
    }
    if (count > PARTITIONS_MAX) return { error: 'INVALID_PARTITIONS', message: `at most ${PARTITIONS_MAX} partitions, got ${count}` };
    if (assignments && assignments.length !== count - current) {
      return { error: 'INVALID_REPLICA_ASSIGNMENT', message: `expected ${count - current} assignments, got ${assignments.length}` };
    }
    const rf = topic.partitions[0]?.replicas.length ?? 1;
    const nodes = this.placementNodes();
    if (!assignments && rf > nodes.length) {
      return { error: 'INVALID_REPLICATION_FACTOR', message: `replication factor ${rf} is larger than the ${nodes.length} live node(s)` };
    }
    const first = nodes.findIndex((n) => n.nodeId === topic.partitions[0]?.replicas[0]);
    const planned = assignments ? assignments.map((a) => [...a]) : assignReplicas(nodes, count - current, rf, Math.max(0, first), current);
    const records: MetadataRecord[] = [];
    for (let p = current; p < count; p++) {
      const replicas = planned[p - current]!;
      const bad = this.checkReplicas(replicas);
      if (bad) return bad;
      records.push({ type: 'Partition', topicId: topic.topicId, partition: p, replicas, isr: replicas, leader: replicas[0]!, leaderEpoch: 0 });
    }
    if (validateOnly) return topic;
    return (await this.commit(records)) ?? this.image.topicsById.get(topic.topicId) ?? topic;
  }

  private async alterConfigsHere(
    resourceType: ConfigResourceType,
    resourceName: string,
    changes: readonly { readonly name: string; readonly value: string | null }[],
    mode: 'replace' | 'incremental',
    validateOnly: boolean,
  ): Promise<ControllerError | undefined> {
    let current: Map<string, string> | undefined;
    if (resourceType === 'topic') {
      const topic = this.image.topicsByName.get(resourceName);
      if (!topic) return { error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic '${resourceName}' does not exist` };
      current = topic.configs;
    } else {
      const known = resourceName === '' || this.image.brokers.has(Number(resourceName)) || this.store.liveNodes().has(Number(resourceName));
      if (!known || (resourceName !== '' && !/^\d+$/.test(resourceName))) {
        return { error: 'INVALID_REQUEST', message: `unknown broker '${resourceName}'` };
      }
      current = this.image.brokerConfigs.get(resourceName) ?? new Map();
    }
    for (const c of changes) {
      const why =
        resourceType === 'topic'
          ? validateTopicConfig(c.name, c.value)
          : controllerBrokerConfigs.has(c.name)
            ? validateControllerBrokerConfig(c.name, c.value)
            : validateBrokerConfig(c.name, c.value);
      if (why) return { error: 'INVALID_CONFIG', message: why };
    }
    const records: MetadataRecord[] = changes.map((c) => ({ type: 'Config', resourceType, resourceName, name: c.name, value: c.value }));
    if (mode === 'replace') {
      for (const name of current.keys()) {
        if (!changes.some((c) => c.name === name)) records.push({ type: 'Config', resourceType, resourceName, name, value: null });
      }
    }
    if (validateOnly || records.length === 0) return undefined;
    return this.commit(records);
  }

  /** Cluster id on first start, broker registrations, and leaders that match the live nodes. */
  private async runDuties(): Promise<ControllerError | undefined> {
    const records: MetadataRecord[] = [];
    if (this.image.clusterId === '') records.push({ type: 'Cluster', clusterId: randomBytes(16).toString('base64url') });
    const live = this.store.liveNodes();
    for (const n of live.values()) {
      if (n.state === 'starting') continue;
      const b = this.image.brokers.get(n.nodeId);
      if (!b || b.host !== n.host || b.port !== n.port || b.rack !== n.rack) {
        records.push({ type: 'RegisterBroker', nodeId: n.nodeId, host: n.host, port: n.port, rack: n.rack });
      }
    }
    const moved: { topic: string; partition: number; from: number; to: number }[] = [];
    const completed: { topic: string; before: PartitionImage; after: PartitionFields }[] = [];
    for (const t of this.image.topicsByName.values()) {
      const unclean = this.uncleanAllowed(t);
      for (const p of t.partitions) {
        const next = nextPartitionState(p, live, unclean);
        const base: PartitionFields = next ? { ...fieldsOf(p), ...next } : fieldsOf(p);
        // A reassignment whose target replicas are all in the ISR completes (an ISR change may have been missed).
        const done = completeReassignment(base, live);
        if (!next && !done) continue;
        const after: PartitionFields = { ...(done ?? base), partitionEpoch: p.partitionEpoch + 1 };
        if (after.leader !== p.leader) moved.push({ topic: t.name, partition: p.partition, from: p.leader, to: after.leader });
        if (done) completed.push({ topic: t.name, before: p, after });
        records.push(partitionRecord(t.topicId, p.partition, after));
      }
    }
    if (records.length === 0) return undefined;
    const failed = await this.commit(records);
    if (!failed && moved.length > 0) {
      const offline = moved.filter((m) => m.to === -1).length;
      this.log.info({ leadersChanged: moved.length, offline, sample: moved.slice(0, 5) }, 'controller moved partition leadership');
    }
    if (!failed) for (const c of completed) this.logCompleted(c.topic, c.before, c.after);
    return failed;
  }

  /** Appends through the store and waits until this node has applied the records. */
  private async commit(records: MetadataRecord[]): Promise<ControllerError | undefined> {
    try {
      const end = await this.store.append(this.metadata.appliedEnd, records);
      await this.metadata.waitFor(end, this.opts.requestTimeoutMs);
      return undefined;
    } catch (err) {
      return this.storeFailure(err);
    }
  }

  /** After a forwarded change: waits until this node has applied everything the store has committed. */
  private async syncWithController(): Promise<ControllerError | undefined> {
    try {
      await this.metadata.waitFor(await this.store.committedEnd(), this.opts.requestTimeoutMs);
      return undefined;
    } catch (err) {
      return this.storeFailure(err);
    }
  }

  private storeFailure(err: unknown): ControllerError {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof MetadataStoreError && err.code === 'NOT_CONTROLLER') return { error: 'NOT_CONTROLLER', message };
    if (err instanceof MetadataStoreError && err.code === 'UNAVAILABLE') {
      return { error: 'REQUEST_TIMED_OUT', message: `the metadata store (${this.store.description}) is unavailable, metadata cannot change now: ${message}` };
    }
    return { error: 'REQUEST_TIMED_OUT', message: `metadata change not confirmed: ${message}` };
  }

  private async loadProducerIds(): Promise<ControllerError | undefined> {
    const block = await this.route<{ start: number; length: number }>(
      {},
      () => this.allocateProducerIdBlock(),
      (to) => this.channel.allocateProducerIds(to),
    );
    if ('error' in block) return block;
    this.producerIds = { next: block.start, end: block.start + block.length };
    return undefined;
  }

  /** Runs `here` on the controller, `remote` (forwarding) elsewhere; a forwarded request is never forwarded again. */
  private async route<T>(
    caller: CallerOptions,
    here: () => Promise<ControllerError | T>,
    remote: (to: ForwardTarget) => Promise<ControllerError | T>,
  ): Promise<ControllerError | T> {
    if (this.isActive) return here();
    if (caller.clientId === FORWARDED_CLIENT_ID) return this.notController(caller);
    const id = this.store.controllerId();
    const to = this.store.liveNodes().get(id);
    if (!to || to.state === 'starting' || id === this.opts.nodeId) {
      return {
        error: 'NOT_CONTROLLER',
        message: `no controller is elected right now (metadata store ${this.store.description}); metadata cannot change until one is; retry shortly`,
      };
    }
    try {
      return await remote({ nodeId: id, host: to.host, port: to.port });
    } catch (err) {
      return { error: 'REQUEST_TIMED_OUT', message: `forwarding to the controller (node ${id} at ${to.host}:${to.port}) failed: ${(err as Error).message}` };
    }
  }

  private notController(caller: CallerOptions): ControllerError {
    const forwarded = caller.clientId === FORWARDED_CLIENT_ID ? ' (a forwarded request is not forwarded again)' : '';
    if (this.store.controllerId() === this.opts.nodeId) {
      return {
        error: 'NOT_CONTROLLER',
        message: `node ${this.opts.nodeId} cannot confirm it is still the controller: the metadata store (${this.store.description}) does not answer or its election lapsed; retry shortly${forwarded}`,
      };
    }
    return {
      error: 'NOT_CONTROLLER',
      message: `node ${this.opts.nodeId} is not the controller; the controller is node ${this.store.controllerId()} (metadata store ${this.store.description})${forwarded}`,
    };
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Partitions this node leads that another live in-sync replica could lead instead. */
  private movableLeaderships(): number {
    const live = this.store.liveNodes();
    let n = 0;
    for (const t of this.image.topicsByName.values()) {
      for (const p of t.partitions) {
        if (p.leader === this.opts.nodeId && p.isr.some((r) => r !== this.opts.nodeId && live.get(r)?.state === 'alive')) n++;
      }
    }
    return n;
  }

  /** Nodes new replicas may go to: alive (not starting, not shutting down), by id. */
  private placementNodes(): NodeRegistration[] {
    return this.liveNodes().filter((n) => n.state === 'alive');
  }

  private planReplicas(t: NewTopic): ControllerError | number[][] {
    if (t.assignments && t.assignments.length > 0) {
      if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
        return { error: 'INVALID_REQUEST', message: 'both assignments and a partition count or replication factor were given' };
      }
      const sorted = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
      if (sorted.some((a, i) => a.partitionIndex !== i)) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: 'partition indices must be 0..n-1' };
      const out = sorted.map((a) => [...a.brokerIds]);
      for (const r of out) {
        const bad = this.checkReplicas(r);
        if (bad) return bad;
      }
      return out;
    }
    const partitions = t.numPartitions === -1 ? this.opts.defaultPartitions : t.numPartitions;
    const rf = t.replicationFactor === -1 ? this.opts.defaultReplicationFactor : t.replicationFactor;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > PARTITIONS_MAX) {
      return { error: 'INVALID_PARTITIONS', message: `number of partitions must be from 1 to ${PARTITIONS_MAX}, got ${partitions}` };
    }
    const nodes = this.placementNodes();
    if (!Number.isInteger(rf) || rf < 1 || rf > nodes.length) {
      return { error: 'INVALID_REPLICATION_FACTOR', message: `replication factor ${rf} is larger than the ${nodes.length} available broker(s)` };
    }
    return assignReplicas(nodes, partitions, rf, this.image.topicsByName.size % nodes.length);
  }

  private checkReplicas(replicas: readonly number[]): ControllerError | undefined {
    if (replicas.length === 0) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: 'a partition needs at least one replica' };
    if (new Set(replicas).size !== replicas.length) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: `duplicate broker in replicas ${replicas.join(',')}` };
    const live = this.store.liveNodes();
    const unknown = replicas.filter((r) => live.get(r)?.state !== 'alive');
    if (unknown.length > 0) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: `unknown broker(s) ${unknown.join(',')} (not live)` };
    return undefined;
  }
}

/**
 * The leader a partition should have given the live nodes: its leader while that node is alive;
 * else the first replica (in replica order) that is in the ISR and alive; else its leader while
 * it still serves (shutting down with nowhere to move); else none (-1, offline) until an in-sync
 * replica returns. Never a replica outside the ISR (no unclean election).
 */
export function electLeader(p: PartitionImage, live: ReadonlyMap<number, NodeRegistration>): number {
  return nextPartitionState(p, live, false)?.leader ?? p.leader;
}

/** A partition's leader, ISR and epochs after a change; see nextPartitionState. */
export interface PartitionState {
  readonly leader: number;
  readonly isr: readonly number[];
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

/**
 * What a partition becomes given the live nodes, or null when nothing changes (Kafka's
 * controller on a broker fenced or shutting down):
 * - its leader stays while that node is alive; else the first replica (in replica order) in the
 *   ISR and alive leads; else the leader stays while it still serves (shutting down with nowhere
 *   to move); else, with unclean leader election allowed for the topic, the first alive replica
 *   leads with an ISR of itself alone (records only it lacked are lost); else none (-1, offline)
 *   until an in-sync replica returns;
 * - replicas that are not alive (gone, or shutting down) leave the ISR, except the last one: an
 *   ISR never empties, so the replica that has every acknowledged record stays known. An offline
 *   partition keeps its ISR as it was.
 * A new leader raises the leader epoch; any change raises the partition epoch.
 */
export function nextPartitionState(p: PartitionImage, live: ReadonlyMap<number, NodeRegistration>, unclean: boolean): PartitionState | null {
  const alive = (id: number) => live.get(id)?.state === 'alive';
  let leader: number;
  let isr: readonly number[];
  if (p.leader >= 0 && alive(p.leader)) leader = p.leader;
  else leader = p.replicas.find((r) => p.isr.includes(r) && alive(r)) ?? -1;
  if (leader >= 0) isr = p.isr.filter((r) => r === leader || alive(r));
  else if (p.leader >= 0 && live.get(p.leader)?.state === 'shutting-down') {
    leader = p.leader;
    isr = p.isr.filter((r) => r === leader || alive(r));
  } else if (unclean && p.replicas.some(alive)) {
    leader = p.replicas.find(alive)!;
    isr = [leader];
  } else isr = p.isr;
  if (leader === p.leader && sameMembers(isr, p.isr)) return null;
  return { leader, isr, leaderEpoch: leader === p.leader ? p.leaderEpoch : p.leaderEpoch + 1, partitionEpoch: p.partitionEpoch + 1 };
}

/** The Partition record that writes `f` (adding and removing replicas only while a reassignment is under way). */
function partitionRecord(topicId: string, partition: number, f: PartitionFields): MetadataRecord {
  const reassigning = f.addingReplicas.length > 0 || f.removingReplicas.length > 0;
  return {
    type: 'Partition',
    topicId,
    partition,
    replicas: f.replicas,
    isr: f.isr,
    leader: f.leader,
    leaderEpoch: f.leaderEpoch,
    partitionEpoch: f.partitionEpoch,
    ...(reassigning ? { addingReplicas: f.addingReplicas, removingReplicas: f.removingReplicas } : {}),
  };
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * Replica lists for `partitions` new partitions (numbered from `firstPartition`), after Kafka's
 * assignment: nodes ordered so that racks alternate, each partition's first replica one step on
 * from the last, the other replicas at a shift that grows each time the partitions wrap around
 * the nodes, so that leaders and followers both spread evenly (and over racks when nodes have them).
 */
export function assignReplicas(
  nodes: readonly { readonly nodeId: number; readonly rack: string | null }[],
  partitions: number,
  rf: number,
  startIndex: number,
  firstPartition = 0,
): number[][] {
  const ordered = rackAlternated(nodes);
  const rackOf = new Map(nodes.map((x) => [x.nodeId, x.rack ?? '']));
  const racks = new Set(rackOf.values()).size;
  const n = ordered.length;
  const out: number[][] = [];
  for (let i = 0; i < partitions; i++) {
    const p = firstPartition + i;
    const first = (p + startIndex) % n;
    const shift = Math.floor(p / n) + startIndex;
    const replicas = [ordered[first]!];
    const racksUsed = new Set([rackOf.get(ordered[first]!)]);
    // The candidates after the first replica, in shift order; the first pass skips racks that
    // already hold a replica while some rack holds none, the second takes what is left.
    for (let k = 0; replicas.length < rf && k < 2 * (n - 1); k++) {
      const candidate = ordered[(first + 1 + ((shift + k) % (n - 1))) % n]!;
      if (replicas.includes(candidate)) continue;
      if (k < n - 1 && racksUsed.size < racks && racksUsed.has(rackOf.get(candidate))) continue;
      replicas.push(candidate);
      racksUsed.add(rackOf.get(candidate));
    }
    out.push(replicas);
  }
  return out;
}

/** Node ids ordered so that consecutive ones are on different racks where racks allow (nodes without a rack count as one rack). */
function rackAlternated(nodes: readonly { readonly nodeId: number; readonly rack: string | null }[]): number[] {
  const byRack = new Map<string, number[]>();
  for (const n of [...nodes].sort((a, b) => a.nodeId - b.nodeId)) {
    const key = n.rack ?? '';
    const list = byRack.get(key) ?? [];
    list.push(n.nodeId);
    byRack.set(key, list);
  }
  const racks = [...byRack.keys()].sort();
  const out: number[] = [];
  for (let i = 0; out.length < nodes.length; i++) {
    for (const r of racks) {
      const id = byRack.get(r)![i];
      if (id !== undefined) out.push(id);
    }
  }
  return out;
}
