/**
 * GroupStateMachine: the classic consumer group protocol of one coordinator (every group that
 * maps to one `__consumer_offsets` partition), as a pure class. It has no timers and does no I/O:
 * every method takes `now`, `tick(now)` runs the session, rebalance and pending-member deadlines,
 * and what must be made durable is queued as records (`takeWrites`). So tests drive it with an
 * injected clock, and the actor (coordinator-actor.ts) owns the clock, the log and the timer.
 *
 * JoinGroup and SyncGroup answer through a callback that may be called later (when the group
 * completes its rebalance); every other request answers at once. Each callback is called exactly
 * once. Not thread-safe: it lives on the worker thread of its coordinator actor.
 *
 * Invariants:
 * - `pendingJoins` equals the number of members with a waiting join or sync callback, and never
 *   exceeds `limits.pendingJoinsMax` through a new wait.
 * - A group in Empty has no members; a group in CompletingRebalance or Stable has a leader that
 *   is a member.
 * - A static member's instance id maps to exactly one member id (`staticMembers`); an older
 *   incarnation is fenced (FENCED_INSTANCE_ID).
 */
import { randomUUID } from 'node:crypto';
import { decodeConsumerProtocolSubscription } from '../../src/protocol/codec.js';
import { errorCode, type KafkaErrorName } from '../../src/protocol/errors.js';
import { groupLimits } from './limits.js';
import type {
  CommitOffsets,
  CommitOffsetsResult,
  DeleteOffsets,
  DeleteOffsetsResult,
  DescribedGroup,
  FetchedOffset,
  FetchOffsets,
  FetchOffsetsResult,
  GroupCoordinatorSettings,
  GroupState,
  Heartbeat,
  JoinGroup,
  JoinGroupResult,
  LeaveGroup,
  LeaveGroupResult,
  ListedGroup,
  ProtocolOffer,
  SyncGroup,
  SyncGroupResult,
} from './messages.js';
import type { CoordinatorRecord, GroupMetadataValue, OffsetCommitValue } from './records.js';

type JoinReply = (r: JoinGroupResult) => void;
type SyncReply = (r: SyncGroupResult) => void;

export interface Member {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: ProtocolOffer[];
  assignment: Uint8Array;
  awaitingJoin: JoinReply | null;
  awaitingSync: SyncReply | null;
  heartbeatDeadline: number;
  /** Joined during the current rebalance (not yet part of a generation). */
  isNew: boolean;
}

export interface StoredOffset extends OffsetCommitValue {}

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** groupInstanceId -> the member id of its current incarnation. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED and not yet used, with their expiry (KIP-394). */
  readonly pendingMembers = new Map<string, number>();
  /** When PreparingRebalance completes even if some members have not rejoined. */
  rebalanceDeadline = 0;
  /** While the initial rebalance delay runs, the latest it may be extended to; 0 otherwise. */
  initialDelayCap = 0;
  /** When the group entered its current state (GroupMetadataValue.currentStateTimestamp). */
  stateSince: number;
  /** Whether a GroupMetadata record for this group is in the log (a tombstone is needed on delete). */
  persisted = false;
  /** "topic\0partition" -> committed offset. */
  readonly offsets = new Map<string, StoredOffset>();

  constructor(
    readonly groupId: string,
    now: number,
  ) {
    this.stateSince = now;
  }
}

function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function splitOffsetKey(key: string): [string, number] {
  const at = key.lastIndexOf('\u0000');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

const EMPTY = new Uint8Array(0);
const code = (name: KafkaErrorName): number => errorCode(name);

export function joinError(memberId: string, name: KafkaErrorName): JoinGroupResult {
  return {
    errorCode: code(name),
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

export function syncError(name: KafkaErrorName): SyncGroupResult {
  return { errorCode: code(name), protocolType: null, protocolName: null, assignment: EMPTY };
}

export interface StateMachineOptions {
  readonly settings: GroupCoordinatorSettings;
  readonly pendingJoinsMax?: number;
  /** Makes member ids; injectable so tests get predictable ids. */
  readonly newId?: () => string;
}

export class GroupStateMachine {
  readonly groups = new Map<string, Group>();
  private writes: CoordinatorRecord[] = [];
  private pendingJoinCount = 0;
  private readonly settings: GroupCoordinatorSettings;
  private readonly pendingJoinsMax: number;
  private readonly newId: () => string;

  constructor(opts: StateMachineOptions) {
    this.settings = opts.settings;
    this.pendingJoinsMax = opts.pendingJoinsMax ?? groupLimits.pendingJoinsMax;
    this.newId = opts.newId ?? randomUUID;
  }

  get pendingJoins(): number {
    return this.pendingJoinCount;
  }

  /** The records to append since the last call, in order. */
  takeWrites(): CoordinatorRecord[] {
    const w = this.writes;
    this.writes = [];
    return w;
  }

  // ---------------------------------------------------------------------------------------
  // JoinGroup

  joinGroup(req: JoinGroup, now: number, reply: JoinReply): void {
    const invalid = this.validateJoin(req);
    if (invalid) return reply(joinError(req.memberId, invalid));
    let g = this.groups.get(req.groupId);
    if (!g) {
      if (req.memberId !== '') return reply(joinError(req.memberId, 'UNKNOWN_MEMBER_ID'));
      g = this.createGroup(req.groupId, now);
    }
    if (g.state === 'Dead') return reply(joinError(req.memberId, 'COORDINATOR_NOT_AVAILABLE'));
    if (!this.supportsProtocols(g, req)) return reply(joinError(req.memberId, 'INCONSISTENT_GROUP_PROTOCOL'));
    if (req.memberId === '') this.joinUnknownMember(g, req, now, reply);
    else this.joinKnownMember(g, req, now, reply);
  }

  private validateJoin(req: JoinGroup): KafkaErrorName | null {
    if (req.groupId === '' || req.groupId.length > groupLimits.groupIdLengthMax) return 'INVALID_GROUP_ID';
    const s = this.settings;
    if (req.sessionTimeoutMs < s.groupMinSessionTimeoutMs || req.sessionTimeoutMs > s.groupMaxSessionTimeoutMs) return 'INVALID_SESSION_TIMEOUT';
    if (req.rebalanceTimeoutMs > groupLimits.rebalanceTimeoutMsMax) return 'INVALID_SESSION_TIMEOUT';
    if (req.protocols.length > groupLimits.protocolsPerMemberMax) return 'INCONSISTENT_GROUP_PROTOCOL';
    if (req.protocols.some((p) => p.metadata.length > groupLimits.memberMetadataBytesMax)) return 'INVALID_REQUEST';
    return null;
  }

  /** A member may join when its protocol type matches and it shares a protocol with every member. */
  private supportsProtocols(g: Group, req: JoinGroup): boolean {
    if (req.protocolType === '' || req.protocols.length === 0) return false;
    if (g.members.size === 0) return true;
    if (g.protocolType !== null && g.protocolType !== req.protocolType) return false;
    const offered = new Set(req.protocols.map((p) => p.name));
    return this.candidateProtocols(g).some((name) => offered.has(name));
  }

  private joinUnknownMember(g: Group, req: JoinGroup, now: number, reply: JoinReply): void {
    if (req.groupInstanceId !== null) {
      const oldId = g.staticMembers.get(req.groupInstanceId);
      const newId = `${req.groupInstanceId}-${this.newId()}`;
      if (oldId !== undefined) return this.replaceStaticMember(g, oldId, newId, req, now, reply);
      if (this.groupFull(g)) return reply(joinError('', 'GROUP_MAX_SIZE_REACHED'));
      return this.addMemberAndRebalance(g, newId, req, now, reply);
    }
    if (this.groupFull(g)) return reply(joinError('', 'GROUP_MAX_SIZE_REACHED'));
    const newId = `${req.clientId}-${this.newId()}`;
    if (req.requireKnownMemberId) {
      // KIP-394: the member id is handed out first and only a join that presents it becomes a
      // member, so a client that times out and retries does not leave ghost members behind.
      g.pendingMembers.set(newId, now + req.sessionTimeoutMs);
      return reply(joinError(newId, 'MEMBER_ID_REQUIRED'));
    }
    this.addMemberAndRebalance(g, newId, req, now, reply);
  }

  private groupFull(g: Group): boolean {
    return g.members.size + g.pendingMembers.size >= this.settings.groupMaxSize;
  }

  private joinKnownMember(g: Group, req: JoinGroup, now: number, reply: JoinReply): void {
    if (g.pendingMembers.has(req.memberId)) {
      g.pendingMembers.delete(req.memberId);
      if (this.groupFull(g)) return reply(joinError(req.memberId, 'GROUP_MAX_SIZE_REACHED'));
      return this.addMemberAndRebalance(g, req.memberId, req, now, reply);
    }
    if (this.isFenced(g, req.groupInstanceId, req.memberId)) return reply(joinError(req.memberId, 'FENCED_INSTANCE_ID'));
    const m = g.members.get(req.memberId);
    if (!m) return reply(joinError(req.memberId, 'UNKNOWN_MEMBER_ID'));
    switch (g.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(g, m, req, now, reply);
      case 'CompletingRebalance':
      case 'Stable':
        // A follower re-sending the same join (its response was lost) gets the current
        // generation back; a leader or a changed subscription starts a new rebalance.
        if (sameProtocols(m, req) && (g.state === 'CompletingRebalance' || m.memberId !== g.leaderId)) {
          m.heartbeatDeadline = now + m.sessionTimeoutMs;
          return reply(this.joinResult(g, m));
        }
        return this.updateMemberAndRebalance(g, m, req, now, reply);
      case 'Empty':
      case 'Dead':
        return reply(joinError(req.memberId, 'UNKNOWN_MEMBER_ID'));
      default: {
        const never: never = g.state;
        throw new Error(`unknown group state ${String(never)}`);
      }
    }
  }

  private addMemberAndRebalance(g: Group, memberId: string, req: JoinGroup, now: number, reply: JoinReply): void {
    if (this.pendingJoinCount >= this.pendingJoinsMax) return reply(joinError(memberId, 'COORDINATOR_NOT_AVAILABLE'));
    const m: Member = {
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      assignment: EMPTY,
      awaitingJoin: null,
      awaitingSync: null,
      heartbeatDeadline: now + req.sessionTimeoutMs,
      isNew: true,
    };
    g.members.set(memberId, m);
    if (m.groupInstanceId !== null) g.staticMembers.set(m.groupInstanceId, memberId);
    if (g.protocolType === null) g.protocolType = req.protocolType;
    this.awaitJoin(m, reply);
    if (g.state === 'PreparingRebalance') {
      if (g.initialDelayCap > 0) g.rebalanceDeadline = Math.min(now + this.settings.groupInitialRebalanceDelayMs, g.initialDelayCap);
      this.tryCompleteJoin(g, now);
    } else {
      this.prepareRebalance(g, now);
    }
  }

  private updateMemberAndRebalance(g: Group, m: Member, req: JoinGroup, now: number, reply: JoinReply): void {
    if (m.awaitingJoin === null && this.pendingJoinCount >= this.pendingJoinsMax) return reply(joinError(m.memberId, 'COORDINATOR_NOT_AVAILABLE'));
    updateMember(m, req, now);
    this.awaitJoin(m, reply);
    if (g.state === 'PreparingRebalance') this.tryCompleteJoin(g, now);
    else this.prepareRebalance(g, now);
  }

  /**
   * A static member restarted (a join with its instance id and no member id): Kafka's
   * updateStaticMemberAndRebalance. The new incarnation takes the old one's place under a new
   * member id, keeping its assignment, and the old id is fenced (FENCED_INSTANCE_ID).
   *
   * In a Stable group the other members are left alone: the member gets the current generation
   * back and its SyncGroup returns its old assignment. Only the subscription metadata's topics
   * are compared, not its bytes, because a restarted consumer joins with no owned partitions, a
   * new generation field or new assignor user data, which would otherwise always rebalance.
   * The group rebalances when its protocol would change (as Kafka) or when the member's
   * subscribed topics changed (Kafka does not, and so hands the member its old partitions, of
   * topics it may no longer subscribe to, until some later rebalance).
   *
   * A restarted leader keeps the group too, as in Kafka: from JoinGroup v9 it is told it is the
   * leader with SkipAssignment set (KIP-814), so it goes on watching metadata without assigning;
   * before v9 the answer names the old member id as leader, so the client does not think it leads
   * and cannot send an assignment a Stable group would ignore.
   *
   * In CompletingRebalance the leader may already be assigning to the old member id, so the
   * group rebalances; in PreparingRebalance the join simply waits for the rebalance.
   */
  private replaceStaticMember(g: Group, oldId: string, newId: string, req: JoinGroup, now: number, reply: JoinReply): void {
    const m = g.members.get(oldId)!;
    if (m.awaitingJoin) this.answerJoin(m, joinError(oldId, 'FENCED_INSTANCE_ID'));
    if (m.awaitingSync) this.answerSync(m, syncError('FENCED_INSTANCE_ID'));
    const previousLeader = g.leaderId;
    const previousTopics = subscribedTopicsKey(g, m);
    g.members.delete(oldId);
    m.memberId = newId;
    g.members.set(newId, m);
    g.staticMembers.set(req.groupInstanceId!, newId);
    if (g.leaderId === oldId) g.leaderId = newId;
    if (g.state !== 'Stable') return this.updateMemberAndRebalance(g, m, req, now, reply);
    updateMember(m, req, now);
    if (this.selectProtocol(g) !== g.protocolName || subscribedTopicsKey(g, m) !== previousTopics) {
      return this.updateMemberAndRebalance(g, m, req, now, reply);
    }
    this.persistGroup(g);
    if (req.supportSkippingAssignment) {
      const isLeader = g.leaderId === newId;
      return reply({ ...this.joinResult(g, m), skipAssignment: isLeader });
    }
    reply({ ...this.joinResult(g, m), leader: previousLeader ?? '', members: [] });
  }

  private prepareRebalance(g: Group, now: number): void {
    if (g.state === 'CompletingRebalance') this.resetAssignments(g, 'REBALANCE_IN_PROGRESS');
    const wasEmpty = g.state === 'Empty';
    this.transition(g, 'PreparingRebalance', now);
    const rebalanceTimeoutMs = Math.max(0, ...[...g.members.values()].map((m) => m.rebalanceTimeoutMs));
    const delay = this.settings.groupInitialRebalanceDelayMs;
    if (wasEmpty && delay > 0) {
      // Kafka's initial rebalance delay: the first members of an empty group wait a little for
      // the others, instead of rebalancing once per arriving member.
      g.initialDelayCap = now + rebalanceTimeoutMs;
      g.rebalanceDeadline = now + Math.min(delay, rebalanceTimeoutMs);
    } else {
      g.initialDelayCap = 0;
      g.rebalanceDeadline = now + rebalanceTimeoutMs;
    }
    this.tryCompleteJoin(g, now);
  }

  private tryCompleteJoin(g: Group, now: number): void {
    if (g.state !== 'PreparingRebalance' || g.initialDelayCap > 0 || g.pendingMembers.size > 0) return;
    for (const m of g.members.values()) if (m.awaitingJoin === null) return;
    this.completeJoin(g, now);
  }

  /** Ends PreparingRebalance: a new generation with the members that rejoined. */
  private completeJoin(g: Group, now: number): void {
    g.initialDelayCap = 0;
    // Dynamic members that did not rejoin in time are out; static members keep their place
    // (KIP-345) until their session expires.
    for (const m of [...g.members.values()]) {
      if (m.awaitingJoin === null && m.groupInstanceId === null) this.removeMember(g, m);
    }
    const joined = [...g.members.values()].filter((m) => m.awaitingJoin !== null);
    if (g.members.size === 0) {
      g.generationId++;
      g.protocolName = null;
      g.leaderId = null;
      this.transition(g, 'Empty', now);
      this.persistGroup(g);
      return;
    }
    if (joined.length === 0) {
      // Only static members who have not rejoined are left: wait another rebalance timeout for them.
      g.rebalanceDeadline = now + Math.max(...[...g.members.values()].map((m) => m.rebalanceTimeoutMs));
      return;
    }
    g.generationId++;
    g.protocolName = this.selectProtocol(g);
    if (g.leaderId === null || !joined.some((m) => m.memberId === g.leaderId)) g.leaderId = joined[0]!.memberId;
    this.transition(g, 'CompletingRebalance', now);
    // The sync phase has the same bound as the join phase: members (the leader above all) that
    // have not sent SyncGroup by then are removed and the group rebalances, so a leader that
    // heartbeats but never assigns cannot hold the group, and its followers' waits, forever.
    g.rebalanceDeadline = now + Math.max(...joined.map((m) => m.rebalanceTimeoutMs));
    for (const m of joined) {
      m.isNew = false;
      m.heartbeatDeadline = now + m.sessionTimeoutMs;
      this.answerJoin(m, this.joinResult(g, m));
    }
  }

  /** Protocols every member supports, in the first member's order of preference. */
  private candidateProtocols(g: Group): string[] {
    const members = [...g.members.values()];
    if (members.length === 0) return [];
    return members[0]!.protocols.map((p) => p.name).filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)));
  }

  /** Kafka's vote: each member votes for its most preferred candidate; most votes wins, ties by candidate order. */
  private selectProtocol(g: Group): string {
    const candidates = this.candidateProtocols(g);
    if (candidates.length === 0) throw new Error(`group ${g.groupId} has no protocol every member supports`);
    const votes = new Map<string, number>(candidates.map((c) => [c, 0]));
    for (const m of g.members.values()) {
      const choice = m.protocols.find((p) => votes.has(p.name))!.name;
      votes.set(choice, votes.get(choice)! + 1);
    }
    let best = candidates[0]!;
    for (const c of candidates) if (votes.get(c)! > votes.get(best)!) best = c;
    return best;
  }

  private joinResult(g: Group, m: Member): JoinGroupResult {
    const isLeader = g.leaderId === m.memberId;
    return {
      errorCode: 0,
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leader: g.leaderId ?? '',
      skipAssignment: false,
      memberId: m.memberId,
      members: isLeader ? [...g.members.values()].map((x) => ({ memberId: x.memberId, groupInstanceId: x.groupInstanceId, metadata: metadataFor(x, g.protocolName) })) : [],
    };
  }

  // ---------------------------------------------------------------------------------------
  // SyncGroup, Heartbeat, LeaveGroup

  syncGroup(req: SyncGroup, now: number, reply: SyncReply): void {
    const g = this.groups.get(req.groupId);
    const m = g?.members.get(req.memberId);
    if (!g || g.state === 'Dead') return reply(syncError(g ? 'COORDINATOR_NOT_AVAILABLE' : 'UNKNOWN_MEMBER_ID'));
    if (this.isFenced(g, req.groupInstanceId, req.memberId)) return reply(syncError('FENCED_INSTANCE_ID'));
    if (!m) return reply(syncError('UNKNOWN_MEMBER_ID'));
    if (req.generationId !== g.generationId) return reply(syncError('ILLEGAL_GENERATION'));
    if ((req.protocolType !== null && req.protocolType !== g.protocolType) || (req.protocolName !== null && req.protocolName !== g.protocolName)) {
      return reply(syncError('INCONSISTENT_GROUP_PROTOCOL'));
    }
    switch (g.state) {
      case 'Empty':
        return reply(syncError('UNKNOWN_MEMBER_ID'));
      case 'PreparingRebalance':
        return reply(syncError('REBALANCE_IN_PROGRESS'));
      case 'Stable':
        m.heartbeatDeadline = now + m.sessionTimeoutMs;
        return reply({ errorCode: 0, protocolType: g.protocolType, protocolName: g.protocolName, assignment: m.assignment });
      case 'CompletingRebalance':
        m.heartbeatDeadline = now + m.sessionTimeoutMs;
        if (m.awaitingSync) this.answerSync(m, syncError('REBALANCE_IN_PROGRESS'));
        this.awaitSync(m, reply);
        if (m.memberId === g.leaderId) this.completeSync(g, req, now);
        return;
      default: {
        const never: never = g.state;
        throw new Error(`unknown group state ${String(never)}`);
      }
    }
  }

  /** The leader's assignments arrived: the group is Stable, persisted, and every waiting member gets its part. */
  private completeSync(g: Group, req: SyncGroup, now: number): void {
    const given = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
    for (const m of g.members.values()) m.assignment = given.get(m.memberId) ?? EMPTY;
    this.transition(g, 'Stable', now);
    this.persistGroup(g);
    for (const m of g.members.values()) {
      if (m.awaitingSync) this.answerSync(m, { errorCode: 0, protocolType: g.protocolType, protocolName: g.protocolName, assignment: m.assignment });
    }
  }

  heartbeat(req: Heartbeat, now: number): number {
    const g = this.groups.get(req.groupId);
    if (!g) return code('UNKNOWN_MEMBER_ID');
    if (g.state === 'Dead') return code('COORDINATOR_NOT_AVAILABLE');
    if (this.isFenced(g, req.groupInstanceId, req.memberId)) return code('FENCED_INSTANCE_ID');
    const m = g.members.get(req.memberId);
    if (!m || g.state === 'Empty') return code('UNKNOWN_MEMBER_ID');
    if (req.generationId !== g.generationId) return code('ILLEGAL_GENERATION');
    m.heartbeatDeadline = now + m.sessionTimeoutMs;
    return g.state === 'PreparingRebalance' ? code('REBALANCE_IN_PROGRESS') : 0;
  }

  leaveGroup(req: LeaveGroup, now: number): LeaveGroupResult {
    const g = this.groups.get(req.groupId);
    const members = req.members.map((who) => {
      const err = !g || g.state === 'Dead' ? code('UNKNOWN_MEMBER_ID') : this.leaveOne(g, who.memberId, who.groupInstanceId);
      return { memberId: who.memberId, groupInstanceId: who.groupInstanceId, errorCode: err };
    });
    if (g) this.membersChanged(g, now);
    return { errorCode: 0, members };
  }

  private leaveOne(g: Group, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = g.staticMembers.get(groupInstanceId);
      if (current === undefined) return code('UNKNOWN_MEMBER_ID');
      // An admin removing a static member names only its instance id (KIP-345).
      if (memberId !== '' && memberId !== current) return code('FENCED_INSTANCE_ID');
      this.removeMember(g, g.members.get(current)!);
      return 0;
    }
    if (g.pendingMembers.delete(memberId)) return 0;
    const m = g.members.get(memberId);
    if (!m) return code('UNKNOWN_MEMBER_ID');
    this.removeMember(g, m);
    return 0;
  }

  /** After members left or expired: a formed group rebalances; a rebalancing one may now complete. */
  private membersChanged(g: Group, now: number): void {
    if (g.state === 'Stable' || g.state === 'CompletingRebalance') this.prepareRebalance(g, now);
    else if (g.state === 'PreparingRebalance') this.tryCompleteJoin(g, now);
  }

  /** The sync phase ran out: members that never sent SyncGroup leave, and the group rebalances. */
  private expirePendingSyncs(g: Group, now: number): void {
    for (const m of [...g.members.values()]) if (m.awaitingSync === null) this.removeMember(g, m);
    this.membersChanged(g, now);
  }

  private removeMember(g: Group, m: Member): void {
    g.members.delete(m.memberId);
    if (m.groupInstanceId !== null && g.staticMembers.get(m.groupInstanceId) === m.memberId) g.staticMembers.delete(m.groupInstanceId);
    if (m.awaitingJoin) this.answerJoin(m, joinError(m.memberId, 'UNKNOWN_MEMBER_ID'));
    if (m.awaitingSync) this.answerSync(m, syncError('UNKNOWN_MEMBER_ID'));
    if (g.leaderId === m.memberId) g.leaderId = null;
  }

  private isFenced(g: Group, groupInstanceId: string | null, memberId: string): boolean {
    if (groupInstanceId === null) return false;
    const current = g.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  // ---------------------------------------------------------------------------------------
  // Timers

  /** Runs every deadline that has passed: pending member ids, member sessions, rebalance timeouts. */
  tick(now: number): void {
    for (const g of this.groups.values()) {
      if (g.members.size === 0 && g.pendingMembers.size === 0) continue;
      let changed = false;
      for (const [id, deadline] of g.pendingMembers) {
        if (now >= deadline) {
          g.pendingMembers.delete(id);
          changed = true;
        }
      }
      for (const m of [...g.members.values()]) {
        if (now >= m.heartbeatDeadline && !keepAlive(g, m)) {
          this.removeMember(g, m);
          changed = true;
        }
      }
      if (changed) this.membersChanged(g, now);
      if (g.state === 'PreparingRebalance' && now >= g.rebalanceDeadline) this.completeJoin(g, now);
      else if (g.state === 'CompletingRebalance' && now >= g.rebalanceDeadline) this.expirePendingSyncs(g, now);
    }
  }

  /**
   * Offsets retention (Kafka offsets.retention.minutes): an empty group's offsets expire
   * `offsetsRetentionMs` after the group became empty (after their commit, for a group that never
   * had members); an empty group with no offsets left is deleted.
   */
  expireOffsets(now: number): void {
    for (const g of [...this.groups.values()]) {
      if (g.state !== 'Empty') continue;
      for (const [key, o] of g.offsets) {
        const base = g.protocolType === null ? o.commitTimestamp : Math.max(g.stateSince, o.commitTimestamp);
        if (base + this.settings.offsetsRetentionMs <= now) this.deleteOffset(g, key);
      }
      if (g.offsets.size === 0) this.deleteGroup(g);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Offsets

  commitOffsets(req: CommitOffsets, now: number): CommitOffsetsResult {
    let g = this.groups.get(req.groupId);
    const isAdminCommit = req.generationId < 0 && req.memberId === '';
    if (!g && isAdminCommit && req.groupId !== '') g = this.createGroup(req.groupId, now);
    const groupError = g ? this.commitError(g, req, now) : req.groupId === '' ? 'INVALID_GROUP_ID' : 'ILLEGAL_GENERATION';
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (groupError) return { partitionIndex: p.partitionIndex, errorCode: code(groupError) };
        if (p.committedMetadata !== null && Buffer.byteLength(p.committedMetadata) > this.settings.offsetMetadataMaxBytes) {
          return { partitionIndex: p.partitionIndex, errorCode: code('OFFSET_METADATA_TOO_LARGE') };
        }
        const value: StoredOffset = {
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.committedMetadata ?? '',
          commitTimestamp: now,
        };
        g!.offsets.set(offsetKey(t.name, p.partitionIndex), value);
        this.writes.push({ type: 'offset', groupId: g!.groupId, topic: t.name, partition: p.partitionIndex, value });
        return { partitionIndex: p.partitionIndex, errorCode: 0 };
      }),
    }));
    return { errorCode: groupError ? code(groupError) : 0, topics };
  }

  private commitError(g: Group, req: CommitOffsets, now: number): KafkaErrorName | null {
    if (g.state === 'Dead') return 'COORDINATOR_NOT_AVAILABLE';
    if (req.generationId < 0 && req.memberId === '' && g.members.size === 0) return null;
    if (this.isFenced(g, req.groupInstanceId, req.memberId)) return 'FENCED_INSTANCE_ID';
    if (g.pendingMembers.has(req.memberId)) return 'REBALANCE_IN_PROGRESS';
    const m = g.members.get(req.memberId);
    if (!m) return 'UNKNOWN_MEMBER_ID';
    if (req.generationId !== g.generationId) return 'ILLEGAL_GENERATION';
    if (g.state === 'CompletingRebalance') return 'REBALANCE_IN_PROGRESS';
    // A commit proves the member alive, as a heartbeat does.
    m.heartbeatDeadline = now + m.sessionTimeoutMs;
    return null;
  }

  fetchOffsets(req: FetchOffsets): FetchOffsetsResult {
    const g = this.groups.get(req.groupId);
    const fetched = (topic: string, partition: number): FetchedOffset => {
      const o = g?.offsets.get(offsetKey(topic, partition));
      return o
        ? { partitionIndex: partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: 0 }
        : { partitionIndex: partition, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 };
    };
    if (req.topics !== null) {
      return { errorCode: 0, topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => fetched(t.name, p)) })) };
    }
    const byTopic = new Map<string, number[]>();
    for (const key of g?.offsets.keys() ?? []) {
      const [topic, partition] = splitOffsetKey(key);
      const l = byTopic.get(topic) ?? [];
      l.push(partition);
      byTopic.set(topic, l);
    }
    return { errorCode: 0, topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps.sort((a, b) => a - b).map((p) => fetched(name, p)) })) };
  }

  deleteOffsets(req: DeleteOffsets): DeleteOffsetsResult {
    const g = this.groups.get(req.groupId);
    if (!g || g.state === 'Dead') return { errorCode: code('GROUP_ID_NOT_FOUND'), topics: [] };
    if (g.members.size > 0 && g.protocolType !== 'consumer') return { errorCode: code('NON_EMPTY_GROUP'), topics: [] };
    const subscribed = this.subscribedTopics(g);
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (subscribed.has(t.name)) return { partitionIndex: p, errorCode: code('GROUP_SUBSCRIBED_TO_TOPIC') };
        this.deleteOffset(g, offsetKey(t.name, p));
        return { partitionIndex: p, errorCode: 0 };
      }),
    }));
    return { errorCode: 0, topics };
  }

  /** Topics the members of a consumer group subscribe to, from their subscription metadata. */
  private subscribedTopics(g: Group): Set<string> {
    const out = new Set<string>();
    for (const m of g.members.values()) {
      // Undecodable metadata subscribes to nothing we can name; its offsets stay deletable.
      for (const t of decodeTopics(metadataFor(m, g.protocolName ?? m.protocols[0]?.name ?? null)) ?? []) out.add(t);
    }
    return out;
  }

  private deleteOffset(g: Group, key: string): void {
    if (!g.offsets.delete(key)) return;
    const [topic, partition] = splitOffsetKey(key);
    this.writes.push({ type: 'offset', groupId: g.groupId, topic, partition, value: null });
  }

  // ---------------------------------------------------------------------------------------
  // Admin: ListGroups, DescribeGroups, DeleteGroups

  listGroups(statesFilter: readonly string[], typesFilter: readonly string[]): ListedGroup[] {
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const out: ListedGroup[] = [];
    for (const g of this.groups.values()) {
      if (g.state === 'Dead') continue;
      if (states.size > 0 && !states.has(g.state.toLowerCase())) continue;
      if (types.size > 0 && !types.has('classic')) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state });
    }
    return out;
  }

  describeGroup(groupId: string): DescribedGroup {
    const g = this.groups.get(groupId);
    if (!g) return { errorCode: 0, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
    const stable = g.state === 'Stable';
    return {
      errorCode: 0,
      groupId,
      groupState: g.state,
      protocolType: g.protocolType ?? '',
      protocolData: stable ? (g.protocolName ?? '') : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? metadataFor(m, g.protocolName) : EMPTY,
        memberAssignment: stable ? m.assignment : EMPTY,
      })),
    };
  }

  deleteGroups(groupIds: readonly string[]): number[] {
    return groupIds.map((id) => {
      const g = this.groups.get(id);
      if (!g || g.state === 'Dead') return code('GROUP_ID_NOT_FOUND');
      if (g.state !== 'Empty') return code('NON_EMPTY_GROUP');
      for (const key of [...g.offsets.keys()]) this.deleteOffset(g, key);
      this.deleteGroup(g);
      return 0;
    });
  }

  private deleteGroup(g: Group): void {
    g.state = 'Dead';
    this.groups.delete(g.groupId);
    if (g.persisted) this.writes.push({ type: 'group', groupId: g.groupId, value: null });
  }

  // ---------------------------------------------------------------------------------------
  // Load (replaying the log)

  /** Applies one record read back from the log, in log order. */
  applyLoaded(r: CoordinatorRecord, now: number): void {
    if (r.type === 'offset') {
      let g = this.groups.get(r.groupId);
      if (r.value === null) {
        g?.offsets.delete(offsetKey(r.topic, r.partition));
        return;
      }
      g ??= this.createGroup(r.groupId, r.value.commitTimestamp);
      g.offsets.set(offsetKey(r.topic, r.partition), r.value);
      return;
    }
    const old = this.groups.get(r.groupId);
    const g = new Group(r.groupId, now);
    if (old) for (const [k, v] of old.offsets) g.offsets.set(k, v);
    this.groups.set(r.groupId, g);
    if (r.value === null) return;
    restoreGroup(g, r.value, now);
  }

  /** After load: restored members must heartbeat within their session from now on. */
  finishLoad(now: number): void {
    for (const g of this.groups.values()) for (const m of g.members.values()) m.heartbeatDeadline = now + m.sessionTimeoutMs;
  }

  // ---------------------------------------------------------------------------------------
  // Helpers

  private createGroup(groupId: string, now: number): Group {
    const g = new Group(groupId, now);
    this.groups.set(groupId, g);
    return g;
  }

  private transition(g: Group, to: GroupState, now: number): void {
    g.state = to;
    g.stateSince = now;
  }

  /** Drops every assignment and answers waiting syncs with `why` (a rebalance interrupted CompletingRebalance). */
  private resetAssignments(g: Group, why: KafkaErrorName): void {
    for (const m of g.members.values()) {
      m.assignment = EMPTY;
      if (m.awaitingSync) this.answerSync(m, syncError(why));
    }
  }

  private awaitJoin(m: Member, reply: JoinReply): void {
    // A member sending a second join while the first waits: the first is superseded.
    if (m.awaitingJoin) this.answerJoin(m, joinError(m.memberId, 'REBALANCE_IN_PROGRESS'));
    m.awaitingJoin = reply;
    this.pendingJoinCount++;
  }

  private awaitSync(m: Member, reply: SyncReply): void {
    m.awaitingSync = reply;
    this.pendingJoinCount++;
  }

  private answerJoin(m: Member, r: JoinGroupResult): void {
    const reply = m.awaitingJoin!;
    m.awaitingJoin = null;
    this.pendingJoinCount--;
    reply(r);
  }

  private answerSync(m: Member, r: SyncGroupResult): void {
    const reply = m.awaitingSync!;
    m.awaitingSync = null;
    this.pendingJoinCount--;
    reply(r);
  }

  private persistGroup(g: Group): void {
    g.persisted = true;
    const value: GroupMetadataValue = {
      protocolType: g.protocolType ?? '',
      generation: g.generationId,
      protocol: g.protocolName,
      leader: g.leaderId,
      currentStateTimestamp: g.stateSince,
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeout: m.rebalanceTimeoutMs,
        sessionTimeout: m.sessionTimeoutMs,
        subscription: toBuffer(metadataFor(m, g.protocolName)),
        assignment: toBuffer(m.assignment),
      })),
    };
    this.writes.push({ type: 'group', groupId: g.groupId, value });
  }
}

function restoreGroup(g: Group, v: GroupMetadataValue, now: number): void {
  g.persisted = true;
  g.generationId = v.generation;
  g.protocolType = v.protocolType === '' ? null : v.protocolType;
  g.protocolName = v.protocol;
  g.leaderId = v.leader;
  g.stateSince = v.currentStateTimestamp >= 0 ? v.currentStateTimestamp : now;
  for (const mv of v.members) {
    g.members.set(mv.memberId, {
      memberId: mv.memberId,
      groupInstanceId: mv.groupInstanceId,
      clientId: mv.clientId,
      clientHost: mv.clientHost,
      sessionTimeoutMs: mv.sessionTimeout,
      rebalanceTimeoutMs: mv.rebalanceTimeout,
      protocolType: v.protocolType,
      protocols: v.protocol === null ? [] : [{ name: v.protocol, metadata: mv.subscription }],
      assignment: mv.assignment,
      awaitingJoin: null,
      awaitingSync: null,
      heartbeatDeadline: now + mv.sessionTimeout,
      isNew: false,
    });
    if (mv.groupInstanceId !== null) g.staticMembers.set(mv.groupInstanceId, mv.memberId);
  }
  // A group that was rebalancing when the node stopped is restored as its last stable generation.
  g.state = g.members.size > 0 ? 'Stable' : 'Empty';
  if (g.leaderId !== null && !g.members.has(g.leaderId)) g.leaderId = g.members.keys().next().value ?? null;
}

/** Whether a member past its session deadline is still waiting on the group (and so kept). */
function keepAlive(g: Group, m: Member): boolean {
  if (g.state === 'PreparingRebalance') return m.awaitingJoin !== null;
  if (g.state === 'CompletingRebalance') return m.awaitingSync !== null;
  return false;
}

/** A member's join updates what it offers, its timeouts and its client, and proves it alive. */
function updateMember(m: Member, req: JoinGroup, now: number): void {
  m.protocols = req.protocols.map((p) => ({ name: p.name, metadata: p.metadata }));
  m.sessionTimeoutMs = req.sessionTimeoutMs;
  m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
  m.clientId = req.clientId;
  m.clientHost = req.clientHost;
  m.heartbeatDeadline = now + m.sessionTimeoutMs;
}

/** The topics in consumer protocol subscription metadata, or null when it does not decode. */
function decodeTopics(meta: Uint8Array): string[] | null {
  try {
    return decodeConsumerProtocolSubscription(toBuffer(meta)).value.topics;
  } catch {
    return null;
  }
}

/**
 * What a consumer group member subscribes to in the group's protocol, comparable with `===`:
 * its sorted topics, or null for other protocol types and for metadata that does not decode
 * (then only a change of the group's protocol counts as a change).
 */
function subscribedTopicsKey(g: Group, m: Member): string | null {
  if (g.protocolType !== 'consumer') return null;
  const topics = decodeTopics(metadataFor(m, g.protocolName));
  return topics === null ? null : [...new Set(topics)].sort().join('\u0000');
}

function sameProtocols(m: Member, req: JoinGroup): boolean {
  if (m.protocols.length !== req.protocols.length) return false;
  return m.protocols.every((p, i) => p.name === req.protocols[i]!.name && bytesEqual(p.metadata, req.protocols[i]!.metadata));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(toBuffer(a), toBuffer(b)) === 0;
}

function metadataFor(m: Member, protocolName: string | null): Uint8Array {
  return m.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY;
}

export function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.length);
}
