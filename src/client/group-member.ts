/**
 * A consumer's membership in a classic consumer group, on the caller's thread: one background
 * loop that joins (JoinGroup), takes part in the assignment (SyncGroup; the leader runs the
 * assignor), heartbeats every heartbeatIntervalMs, and rejoins when the coordinator says a
 * rebalance is in progress, when the subscription changes, or after a cooperative round that
 * revoked partitions. Partitions are handed to and taken from the Consumer through callbacks;
 * with an eager assignor every owned partition is revoked before joining, with the cooperative
 * one only those that move. Every request has a timeout and each rebalance is bounded by
 * REBALANCE_ROUNDS_MAX rounds.
 */
import { decodeConsumerProtocolAssignment, decodeConsumerProtocolSubscription, encodeConsumerProtocolAssignment, encodeConsumerProtocolSubscription } from '../protocol/index.js';
import { ASSIGNORS, type Assignor, type MemberSubscription } from './assignors.js';
import { backoffMs, sleep, type Cluster } from './cluster.js';
import { ClientClosedError, isRetriableError, KafkaClientError, KafkaProtocolError } from './errors.js';
import { REBALANCE_ROUNDS_MAX } from './limits.js';
import { CoordinatorCache, isCoordinatorError, type TopicPartition } from './offsets.js';

const SUBSCRIPTION_VERSION = 3;
const ASSIGNMENT_VERSION = 0;
const MEMBER_ID_REQUIRED = 79;
const UNKNOWN_MEMBER_ID = 25;
const ILLEGAL_GENERATION = 22;
const REBALANCE_IN_PROGRESS = 27;
const FENCED_INSTANCE_ID = 82;

export interface GroupCallbacks {
  /** The topics subscribed now (a pattern resolved against current metadata). */
  subscribedTopics(): Promise<string[]>;
  owned(): TopicPartition[];
  onAssigned(added: TopicPartition[], generationId: number, memberId: string): Promise<void>;
  /** Revoked partitions: commit what was consumed, then stop fetching them. */
  onRevoked(revoked: TopicPartition[]): Promise<void>;
  /** Partitions lost without a chance to commit (the member was fenced). */
  onLost(lost: TopicPartition[]): void;
  onError(err: Error): void;
}

export interface GroupMemberOptions {
  groupId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  assignors: string[];
}

const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

export class GroupMember {
  memberId = '';
  generationId = -1;
  protocol: Assignor | null = null;
  isLeader = false;
  private rejoinNeeded = true;
  private closed = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly assignors: Assignor[];
  private lastSubscription: string[] = [];
  /** Resolves each time the member finishes a join round with an assignment. */
  private stableWaiters: (() => void)[] = [];

  constructor(
    private readonly cluster: Cluster,
    private readonly coordinators: CoordinatorCache,
    private readonly opts: GroupMemberOptions,
    private readonly cb: GroupCallbacks,
  ) {
    this.assignors = opts.assignors.map((n) => {
      const a = ASSIGNORS[n];
      if (a === undefined) throw new KafkaClientError(`unknown assignor ${n}; known: ${Object.keys(ASSIGNORS).join(', ')}`, -1, false);
      return a;
    });
  }

  start(): void {
    this.loop ??= this.run();
  }

  get isStable(): boolean {
    return !this.rejoinNeeded && this.generationId >= 0;
  }

  /** Asks the loop to rejoin at once (subscription change, pattern match change). */
  requestRejoin(): void {
    this.rejoinNeeded = true;
    this.wake?.();
  }

  /** Resolves when the member has an assignment (or after timeoutMs, false). */
  waitStable(timeoutMs: number): Promise<boolean> {
    if (this.isStable) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.stableWaiters = this.stableWaiters.filter((x) => x !== w);
        resolve(false);
      }, timeoutMs);
      this.stableWaiters.push(w);
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        if (this.rejoinNeeded) {
          await this.rebalance();
          failures = 0;
          continue;
        }
        await this.pause(this.opts.heartbeatIntervalMs);
        if (this.closed || this.rejoinNeeded) continue;
        await this.heartbeat();
        await this.checkSubscription();
        failures = 0;
      } catch (err) {
        if (this.closed) break;
        failures++;
        if (!isRetriableError(err)) this.cb.onError(err as Error);
        await this.pause(backoffMs(failures, this.cluster.retryBackoffMs));
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private async checkSubscription(): Promise<void> {
    const topics = (await this.cb.subscribedTopics()).sort();
    if (topics.join('\u0000') !== this.lastSubscription.join('\u0000')) this.requestRejoin();
  }

  private async heartbeat(): Promise<void> {
    await this.coordinators.request(this.opts.groupId, 'Heartbeat', async (conn) => {
      const res = await conn.request(12, { groupId: this.opts.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.opts.groupInstanceId });
      this.handleMembershipError(res.errorCode, 'Heartbeat');
    });
  }

  /** Maps a membership error to a rejoin (retriable for the loop) or a coordinator retry. */
  private handleMembershipError(code: number, what: string): void {
    if (code === 0) return;
    if (code === REBALANCE_IN_PROGRESS) {
      this.rejoinNeeded = true;
      return;
    }
    if (code === UNKNOWN_MEMBER_ID || code === ILLEGAL_GENERATION || code === FENCED_INSTANCE_ID) {
      // Fenced: our partitions may already belong to someone else, so they are lost, not revoked.
      const owned = this.cb.owned();
      if (owned.length > 0) this.cb.onLost(owned);
      if (code === UNKNOWN_MEMBER_ID) this.memberId = '';
      this.generationId = -1;
      this.rejoinNeeded = true;
      return;
    }
    if (isCoordinatorError(code)) this.coordinators.forget(this.opts.groupId);
    throw new KafkaProtocolError(code, `${what} ${this.opts.groupId}`);
  }

  /** One rebalance: join and sync until the member holds a settled assignment. */
  private async rebalance(): Promise<void> {
    for (let round = 0; round < REBALANCE_ROUNDS_MAX && !this.closed; round++) {
      this.rejoinNeeded = false;
      const protocolWasEager = this.protocol !== null && !this.protocol.cooperative;
      if (protocolWasEager || (this.protocol === null && this.cb.owned().length > 0)) {
        const owned = this.cb.owned();
        if (owned.length > 0) await this.cb.onRevoked(owned);
      }
      const joined = await this.join();
      if (joined === null) {
        await sleep(backoffMs(round, this.cluster.retryBackoffMs));
        continue;
      }
      const assigned = await this.sync(joined.assignments);
      if (assigned === null) {
        await sleep(backoffMs(round, this.cluster.retryBackoffMs));
        continue;
      }
      const owned = this.cb.owned();
      const assignedKeys = new Set(assigned.map(key));
      const ownedKeys = new Set(owned.map(key));
      const revoked = owned.filter((tp) => !assignedKeys.has(key(tp)));
      const added = assigned.filter((tp) => !ownedKeys.has(key(tp)));
      if (revoked.length > 0) await this.cb.onRevoked(revoked);
      await this.cb.onAssigned(added, this.generationId, this.memberId);
      // Cooperative: a member that gave partitions up rejoins so they can move (KIP-429).
      if (revoked.length > 0 && this.protocol?.cooperative) this.rejoinNeeded = true;
      if (!this.rejoinNeeded) {
        const w = this.stableWaiters;
        this.stableWaiters = [];
        for (const f of w) f();
        return;
      }
    }
    if (!this.closed && this.rejoinNeeded)
      throw new KafkaClientError(`group ${this.opts.groupId} did not settle within ${REBALANCE_ROUNDS_MAX} rounds`, REBALANCE_IN_PROGRESS, true);
  }

  private async join(): Promise<{ assignments: { memberId: string; assignment: Buffer }[] } | null> {
    const topics = (await this.cb.subscribedTopics()).sort();
    this.lastSubscription = topics;
    const owned = this.cb.owned();
    const ownedByTopic = new Map<string, number[]>();
    for (const tp of owned) {
      let l = ownedByTopic.get(tp.topic);
      if (l === undefined) ownedByTopic.set(tp.topic, (l = []));
      l.push(tp.partition);
    }
    const metadata = encodeConsumerProtocolSubscription(SUBSCRIPTION_VERSION, {
      topics,
      userData: null,
      ownedPartitions: [...ownedByTopic].map(([topic, partitions]) => ({ topic, partitions })),
      generationId: this.generationId,
      rackId: null,
    });
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await this.coordinators.request(this.opts.groupId, 'JoinGroup', (conn) =>
        conn.request(
          11,
          {
            groupId: this.opts.groupId,
            sessionTimeoutMs: this.opts.sessionTimeoutMs,
            rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs,
            memberId: this.memberId,
            groupInstanceId: this.opts.groupInstanceId,
            protocolType: 'consumer',
            protocols: this.assignors.map((a) => ({ name: a.name, metadata })),
            reason: null,
          },
          { timeoutMs: this.opts.rebalanceTimeoutMs + this.cluster.requestTimeoutMs },
        ),
      );
      if (res.errorCode === MEMBER_ID_REQUIRED) {
        // KIP-394: the first join only hands out a member id; join again with it.
        this.memberId = res.memberId;
        continue;
      }
      if (res.errorCode === UNKNOWN_MEMBER_ID) {
        this.memberId = '';
        return null;
      }
      if (res.errorCode === REBALANCE_IN_PROGRESS) return null;
      if (res.errorCode !== 0) {
        if (isCoordinatorError(res.errorCode)) this.coordinators.forget(this.opts.groupId);
        throw new KafkaProtocolError(res.errorCode, `JoinGroup ${this.opts.groupId}`);
      }
      this.memberId = res.memberId;
      this.generationId = res.generationId;
      this.protocol = this.assignors.find((a) => a.name === res.protocolName) ?? this.assignors[0]!;
      this.isLeader = res.leader === res.memberId;
      const assignments = this.isLeader && !res.skipAssignment ? await this.assign(res.members) : [];
      return { assignments };
    }
    return null;
  }

  /** The leader's part: decode every member's subscription, run the group's assignor, encode. */
  private async assign(members: { memberId: string; metadata: Buffer }[]): Promise<{ memberId: string; assignment: Buffer }[]> {
    const subs: MemberSubscription[] = members.map((m) => {
      const s = decodeConsumerProtocolSubscription(m.metadata).value;
      return {
        memberId: m.memberId,
        topics: s.topics,
        ownedPartitions: s.ownedPartitions.flatMap((o) => o.partitions.map((partition) => ({ topic: o.topic, partition }))),
        generationId: s.generationId,
      };
    });
    const topics = [...new Set(subs.flatMap((s) => s.topics))];
    const md = await this.cluster.topicsMetadata(topics, { forceRefresh: true });
    const counts = new Map<string, number>();
    for (const [t, info] of md) counts.set(t, info.partitions.length);
    const result = this.protocol!.assign(subs, counts);
    return subs.map((s) => {
      const tps = result.get(s.memberId) ?? [];
      const byTopic = new Map<string, number[]>();
      for (const tp of tps) {
        let l = byTopic.get(tp.topic);
        if (l === undefined) byTopic.set(tp.topic, (l = []));
        l.push(tp.partition);
      }
      return {
        memberId: s.memberId,
        assignment: encodeConsumerProtocolAssignment(ASSIGNMENT_VERSION, {
          assignedPartitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
          userData: null,
        }),
      };
    });
  }

  private async sync(assignments: { memberId: string; assignment: Buffer }[]): Promise<TopicPartition[] | null> {
    const res = await this.coordinators.request(this.opts.groupId, 'SyncGroup', (conn) =>
      conn.request(
        14,
        {
          groupId: this.opts.groupId,
          generationId: this.generationId,
          memberId: this.memberId,
          groupInstanceId: this.opts.groupInstanceId,
          protocolType: 'consumer',
          protocolName: this.protocol?.name ?? null,
          assignments,
        },
        { timeoutMs: this.opts.rebalanceTimeoutMs + this.cluster.requestTimeoutMs },
      ),
    );
    if (res.errorCode !== 0) {
      this.handleMembershipError(res.errorCode, 'SyncGroup');
      return null;
    }
    if (res.assignment.length === 0) return [];
    const a = decodeConsumerProtocolAssignment(res.assignment).value;
    return a.assignedPartitions.flatMap((x) => x.partitions.map((partition) => ({ topic: x.topic, partition })));
  }

  /**
   * Stops the loop and leaves the group (LeaveGroup), so the others rebalance at once. A static
   * member (group.instance.id) does not leave, as the Java client and librdkafka do not (KIP-345):
   * it keeps its place and its partitions until its session times out, so a restart within the
   * session rejoins without a rebalance of the others.
   */
  async leave(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    const memberId = this.memberId;
    if (memberId === '' || this.opts.groupInstanceId !== null) return;
    try {
      await this.coordinators.request(this.opts.groupId, 'LeaveGroup', async (conn) => {
        const res = await conn.request(13, {
          groupId: this.opts.groupId,
          memberId,
          members: [{ memberId, groupInstanceId: this.opts.groupInstanceId, reason: 'the consumer is closing' }],
        });
        if (res.errorCode !== 0 && res.errorCode !== UNKNOWN_MEMBER_ID) throw new KafkaProtocolError(res.errorCode, `LeaveGroup ${this.opts.groupId}`);
      });
    } catch (err) {
      if (!(err instanceof KafkaClientError) || err instanceof ClientClosedError) throw err;
      // Leaving is best effort: the session timeout removes the member anyway.
    }
  }

  /** For close(): waits for the loop to end. */
  async stopped(): Promise<void> {
    await this.loop?.catch(() => undefined);
  }
}
