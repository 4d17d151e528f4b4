/**
 * The group coordinator's state machine with an injected clock: joins, protocol selection,
 * member ids required on first join (KIP-394), generation fencing, leaves, session and rebalance
 * timeouts, static members restarting and being fenced (KIP-345), offsets and their retention,
 * and the records it asks to persist (replayed into a fresh machine, as a coordinator load does).
 */
import { describe, expect, it } from 'vitest';
import { GroupStateMachine } from '../../actors/group-coordinator/group-state-machine.js';
import type { GroupCoordinatorSettings, JoinGroup, JoinGroupResult, SyncGroupResult } from '../../actors/group-coordinator/messages.js';
import { decodeRecord, encodeRecord } from '../../actors/group-coordinator/records.js';
import { encodeConsumerProtocolSubscription } from '../../src/protocol/codec.js';
import { errorCode } from '../../src/protocol/errors.js';

const settings: GroupCoordinatorSettings = {
  groupMinSessionTimeoutMs: 1_000,
  groupMaxSessionTimeoutMs: 60_000,
  groupInitialRebalanceDelayMs: 0,
  groupMaxSize: 5,
  offsetsRetentionMs: 60_000,
  offsetMetadataMaxBytes: 16,
};

const E = {
  NONE: 0,
  MEMBER_ID_REQUIRED: errorCode('MEMBER_ID_REQUIRED'),
  UNKNOWN_MEMBER_ID: errorCode('UNKNOWN_MEMBER_ID'),
  ILLEGAL_GENERATION: errorCode('ILLEGAL_GENERATION'),
  REBALANCE_IN_PROGRESS: errorCode('REBALANCE_IN_PROGRESS'),
  FENCED_INSTANCE_ID: errorCode('FENCED_INSTANCE_ID'),
  INCONSISTENT_GROUP_PROTOCOL: errorCode('INCONSISTENT_GROUP_PROTOCOL'),
  INVALID_SESSION_TIMEOUT: errorCode('INVALID_SESSION_TIMEOUT'),
  GROUP_MAX_SIZE_REACHED: errorCode('GROUP_MAX_SIZE_REACHED'),
  COORDINATOR_NOT_AVAILABLE: errorCode('COORDINATOR_NOT_AVAILABLE'),
  OFFSET_METADATA_TOO_LARGE: errorCode('OFFSET_METADATA_TOO_LARGE'),
  NON_EMPTY_GROUP: errorCode('NON_EMPTY_GROUP'),
  GROUP_ID_NOT_FOUND: errorCode('GROUP_ID_NOT_FOUND'),
};

/** A test harness: a machine, a clock, and helpers that capture deferred answers. */
function harness(over: Partial<GroupCoordinatorSettings> = {}, pendingJoinsMax?: number) {
  let seq = 0;
  const stm = new GroupStateMachine({ settings: { ...settings, ...over }, pendingJoinsMax, newId: () => `id${++seq}` });
  const clock = { now: 1_000_000 };
  const meta = (s: string) => new Uint8Array(Buffer.from(s));
  function join(over: Partial<JoinGroup> = {}): { result: JoinGroupResult | undefined } {
    const box: { result: JoinGroupResult | undefined } = { result: undefined };
    stm.joinGroup(
      {
        type: 'JoinGroup',
        groupId: 'g',
        memberId: '',
        groupInstanceId: null,
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 20_000,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: meta('m') }],
        clientId: 'c',
        clientHost: '/127.0.0.1',
        requireKnownMemberId: false,
        supportSkippingAssignment: false,
        reason: null,
        ...over,
      },
      clock.now,
      (r) => {
        expect(box.result, 'a join is answered once').toBeUndefined();
        box.result = r;
      },
    );
    return box;
  }
  /** Joins through KIP-394's two steps and returns the pending box of the second join. */
  function joinWithId(over: Partial<JoinGroup> = {}) {
    const first = join({ ...over, requireKnownMemberId: true });
    expect(first.result?.errorCode).toBe(E.MEMBER_ID_REQUIRED);
    return join({ ...over, memberId: first.result!.memberId, requireKnownMemberId: true });
  }
  function sync(memberId: string, generationId: number, assignments: { memberId: string; assignment: Uint8Array }[] = [], groupInstanceId: string | null = null) {
    const box: { result: SyncGroupResult | undefined } = { result: undefined };
    stm.syncGroup({ type: 'SyncGroup', groupId: 'g', generationId, memberId, groupInstanceId, protocolType: null, protocolName: null, assignments }, clock.now, (r) => {
      expect(box.result, 'a sync is answered once').toBeUndefined();
      box.result = r;
    });
    return box;
  }
  const heartbeat = (memberId: string, generationId: number, groupInstanceId: string | null = null) =>
    stm.heartbeat({ type: 'Heartbeat', groupId: 'g', memberId, generationId, groupInstanceId }, clock.now);
  const advance = (ms: number) => {
    clock.now += ms;
    stm.tick(clock.now);
  };
  const state = () => stm.groups.get('g')?.state ?? 'Dead';
  return { stm, clock, meta, join, joinWithId, sync, heartbeat, advance, state };
}

/**
 * Consumer protocol subscription metadata as a real client sends it: a restarted consumer joins
 * with no owned partitions and generation -1, where its previous incarnation's last join named
 * what it owned.
 */
function subscription(topics: string[], owned: number[] = [], generationId = -1, userData: Buffer | null = null): Uint8Array {
  return new Uint8Array(
    encodeConsumerProtocolSubscription(3, {
      topics,
      userData,
      ownedPartitions: owned.length > 0 ? [{ topic: topics[0]!, partitions: owned }] : [],
      generationId,
      rackId: null,
    }),
  );
}

/**
 * Two static members in a Stable group, as a real pair of consumers leaves it: a (instance
 * 'i-a') joined first and leads; b (instance 'i-b') joined later; both rejoined once more, naming
 * the partitions they owned, so generation 3 is Stable with a owning 0-1 and b owning 2-3.
 */
function stableStaticPair(h: ReturnType<typeof harness>) {
  const range = (meta: Uint8Array) => [{ name: 'range', metadata: meta }];
  const a = h.join({ groupInstanceId: 'i-a', protocols: range(subscription(['t'])) });
  h.sync(a.result!.memberId, 1, [{ memberId: a.result!.memberId, assignment: h.meta('A:0123') }], 'i-a');
  const b = h.join({ groupInstanceId: 'i-b', protocols: range(subscription(['t'])) });
  const a2 = h.join({ memberId: a.result!.memberId, groupInstanceId: 'i-a', protocols: range(subscription(['t'], [0, 1, 2, 3], 1)) });
  expect(b.result?.generationId).toBe(2);
  h.sync(b.result!.memberId, 2, [], 'i-b');
  h.sync(
    a2.result!.memberId,
    2,
    [
      { memberId: a.result!.memberId, assignment: h.meta('A:01') },
      { memberId: b.result!.memberId, assignment: h.meta('B:23') },
    ],
    'i-a',
  );
  // A third round (say, after a metadata change) has both name what they own.
  h.join({ memberId: a.result!.memberId, groupInstanceId: 'i-a', protocols: range(subscription(['t'], [0, 1], 2)) });
  h.join({ memberId: b.result!.memberId, groupInstanceId: 'i-b', protocols: range(subscription(['t'], [2, 3], 2)) });
  h.sync(b.result!.memberId, 3, [], 'i-b');
  h.sync(
    a.result!.memberId,
    3,
    [
      { memberId: a.result!.memberId, assignment: h.meta('A:01') },
      { memberId: b.result!.memberId, assignment: h.meta('B:23') },
    ],
    'i-a',
  );
  expect(h.state()).toBe('Stable');
  expect(h.stm.groups.get('g')!.leaderId).toBe(a.result!.memberId);
  h.stm.takeWrites();
  return { a: a.result!.memberId, b: b.result!.memberId, generation: 3, range };
}

describe('group state machine', () => {
  it('one member: join, become leader, sync, stable', () => {
    const h = harness();
    const j = h.join();
    expect(j.result).toMatchObject({ errorCode: 0, generationId: 1, protocolName: 'range', protocolType: 'consumer' });
    expect(j.result!.leader).toBe(j.result!.memberId);
    expect(j.result!.members).toHaveLength(1);
    expect(h.state()).toBe('CompletingRebalance');
    const s = h.sync(j.result!.memberId, 1, [{ memberId: j.result!.memberId, assignment: h.meta('a0') }]);
    expect(s.result?.errorCode).toBe(0);
    expect(Buffer.from(s.result!.assignment).toString()).toBe('a0');
    expect(h.state()).toBe('Stable');
    expect(h.heartbeat(j.result!.memberId, 1)).toBe(0);
    expect(h.stm.pendingJoins).toBe(0);
  });

  it('a second member joining rebalances; the join completes when every member has rejoined', () => {
    const h = harness();
    const a = h.join();
    h.sync(a.result!.memberId, 1, []);
    const b = h.join({ clientId: 'b' });
    expect(b.result).toBeUndefined();
    expect(h.state()).toBe('PreparingRebalance');
    // The old member learns of the rebalance through its heartbeat, then rejoins.
    expect(h.heartbeat(a.result!.memberId, 1)).toBe(E.REBALANCE_IN_PROGRESS);
    const a2 = h.join({ memberId: a.result!.memberId });
    expect(a2.result?.generationId).toBe(2);
    expect(b.result?.generationId).toBe(2);
    expect(a2.result!.leader).toBe(a.result!.memberId);
    expect(a2.result!.members.map((m) => m.memberId).sort()).toEqual([a.result!.memberId, b.result!.memberId].sort());
    expect(b.result!.members).toEqual([]);
    // The follower's sync waits for the leader's.
    const sb = h.sync(b.result!.memberId, 2);
    expect(sb.result).toBeUndefined();
    const sa = h.sync(a.result!.memberId, 2, [
      { memberId: a.result!.memberId, assignment: h.meta('A') },
      { memberId: b.result!.memberId, assignment: h.meta('B') },
    ]);
    expect(Buffer.from(sa.result!.assignment).toString()).toBe('A');
    expect(Buffer.from(sb.result!.assignment).toString()).toBe('B');
    expect(h.state()).toBe('Stable');
  });

  it('a leader that heartbeats but never syncs is removed after the rebalance timeout; the follower rejoins', () => {
    const h = harness();
    const a = h.join();
    h.sync(a.result!.memberId, 1, []);
    const b = h.join({ clientId: 'b' });
    h.heartbeat(a.result!.memberId, 1);
    h.join({ memberId: a.result!.memberId });
    expect(b.result?.generationId).toBe(2);
    expect(h.state()).toBe('CompletingRebalance');
    const sb = h.sync(b.result!.memberId, 2);
    // The leader keeps its session alive but never sends SyncGroup.
    for (let t = 0; t < 20_000; t += 3_000) {
      h.advance(3_000);
      if (h.state() === 'CompletingRebalance') expect(h.heartbeat(a.result!.memberId, 2)).toBe(0);
    }
    expect(sb.result?.errorCode).toBe(E.REBALANCE_IN_PROGRESS);
    expect(h.stm.groups.get('g')!.members.has(a.result!.memberId)).toBe(false);
    expect(h.state()).toBe('PreparingRebalance');
    const b3 = h.join({ memberId: b.result!.memberId });
    expect(b3.result).toMatchObject({ errorCode: 0, generationId: 3, leader: b.result!.memberId });
  });

  it('KIP-394: a v4+ join without member id gets MEMBER_ID_REQUIRED and an id; a pending id expires', () => {
    const h = harness();
    const first = h.join({ requireKnownMemberId: true });
    expect(first.result).toMatchObject({ errorCode: E.MEMBER_ID_REQUIRED });
    expect(first.result!.memberId).toMatch(/^c-id/);
    expect(h.stm.groups.get('g')!.members.size).toBe(0);
    const second = h.join({ memberId: first.result!.memberId, requireKnownMemberId: true });
    expect(second.result).toMatchObject({ errorCode: 0, memberId: first.result!.memberId, generationId: 1 });
    // A pending id not used within the session timeout is forgotten.
    const lost = h.join({ requireKnownMemberId: true });
    h.advance(10_001);
    const late = h.join({ memberId: lost.result!.memberId, requireKnownMemberId: true });
    expect(late.result?.errorCode).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('protocol selection: the protocol most members prefer among those all support', () => {
    const h = harness();
    const m = h.meta('x');
    const a = h.join({
      protocols: [
        { name: 'roundrobin', metadata: m },
        { name: 'range', metadata: m },
      ],
    });
    h.sync(a.result!.memberId, 1);
    const b = h.join({
      protocols: [
        { name: 'range', metadata: m },
        { name: 'sticky', metadata: m },
      ],
    });
    const c = h.join({
      protocols: [
        { name: 'range', metadata: m },
        { name: 'roundrobin', metadata: m },
      ],
    });
    h.join({
      memberId: a.result!.memberId,
      protocols: [
        { name: 'roundrobin', metadata: m },
        { name: 'range', metadata: m },
      ],
    });
    expect(b.result?.protocolName).toBe('range');
    expect(c.result?.protocolName).toBe('range');
    // A member sharing no protocol with the group is refused.
    const d = h.join({ protocols: [{ name: 'cooperative-sticky', metadata: m }] });
    expect(d.result?.errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    const e = h.join({ protocolType: 'connect' });
    expect(e.result?.errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('validates session timeouts and group.max.size', () => {
    const h = harness({ groupMaxSize: 2 });
    expect(h.join({ sessionTimeoutMs: 500 }).result?.errorCode).toBe(E.INVALID_SESSION_TIMEOUT);
    expect(h.join({ sessionTimeoutMs: 120_000 }).result?.errorCode).toBe(E.INVALID_SESSION_TIMEOUT);
    const a = h.join();
    h.sync(a.result!.memberId, 1);
    h.join();
    expect(h.join().result?.errorCode).toBe(E.GROUP_MAX_SIZE_REACHED);
  });

  it('bounds the joins waiting in one coordinator', () => {
    const h = harness({ groupMaxSize: 100 }, 2);
    const a = h.join();
    h.sync(a.result!.memberId, 1);
    h.join();
    h.join();
    expect(h.stm.pendingJoins).toBe(2);
    expect(h.join().result?.errorCode).toBe(E.COORDINATOR_NOT_AVAILABLE);
  });

  it('generation fencing: stale generations and unknown members are refused', () => {
    const h = harness();
    const a = h.join();
    h.sync(a.result!.memberId, 1);
    const id = a.result!.memberId;
    expect(h.heartbeat(id, 0)).toBe(E.ILLEGAL_GENERATION);
    expect(h.heartbeat('nobody', 1)).toBe(E.UNKNOWN_MEMBER_ID);
    expect(h.sync(id, 7).result?.errorCode).toBe(E.ILLEGAL_GENERATION);
    const commit = (generationId: number, memberId = id) =>
      h.stm.commitOffsets(
        {
          type: 'CommitOffsets',
          groupId: 'g',
          generationId,
          memberId,
          groupInstanceId: null,
          topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }],
        },
        h.clock.now,
      );
    expect(commit(0).topics[0]!.partitions[0]!.errorCode).toBe(E.ILLEGAL_GENERATION);
    expect(commit(1, 'nobody').topics[0]!.partitions[0]!.errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect(commit(1).topics[0]!.partitions[0]!.errorCode).toBe(0);
    // While the group completes a rebalance, commits of the old generation are refused.
    const b = h.join();
    h.join({ memberId: id });
    expect(b.result?.generationId).toBe(2);
    expect(commit(2).topics[0]!.partitions[0]!.errorCode).toBe(E.REBALANCE_IN_PROGRESS);
    expect(h.join({ memberId: 'ghost' }).result?.errorCode).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('a member leaving rebalances the others; the last one leaving empties the group', () => {
    const h = harness();
    const a = h.join();
    h.sync(a.result!.memberId, 1);
    const b = h.join();
    const a2 = h.join({ memberId: a.result!.memberId });
    h.sync(a2.result!.memberId, 2, []);
    h.sync(b.result!.memberId, 2);
    expect(h.state()).toBe('Stable');
    const left = h.stm.leaveGroup({ type: 'LeaveGroup', groupId: 'g', members: [{ memberId: a.result!.memberId, groupInstanceId: null, reason: null }] }, h.clock.now);
    expect(left.members[0]!.errorCode).toBe(0);
    expect(h.state()).toBe('PreparingRebalance');
    const b2 = h.join({ memberId: b.result!.memberId });
    expect(b2.result).toMatchObject({ errorCode: 0, generationId: 3, leader: b.result!.memberId });
    h.stm.leaveGroup({ type: 'LeaveGroup', groupId: 'g', members: [{ memberId: b.result!.memberId, groupInstanceId: null, reason: null }] }, h.clock.now);
    expect(h.state()).toBe('Empty');
    expect(h.stm.groups.get('g')!.generationId).toBe(4);
  });

  it('session timeout: a silent member is removed and the rest rebalance', () => {
    const h = harness();
    const a = h.join();
    h.sync(a.result!.memberId, 1);
    const b = h.join({ sessionTimeoutMs: 5_000 });
    h.join({ memberId: a.result!.memberId });
    h.sync(a.result!.memberId, 2, []);
    h.sync(b.result!.memberId, 2);
    for (let t = 0; t < 4; t++) {
      h.advance(1_000);
      expect(h.heartbeat(a.result!.memberId, 2)).toBe(0);
    }
    // b stopped heartbeating 5 s ago: its session is over, and a learns of the rebalance.
    h.advance(1_000);
    expect(h.heartbeat(a.result!.memberId, 2)).toBe(E.REBALANCE_IN_PROGRESS);
    expect(h.state()).toBe('PreparingRebalance');
    expect(h.stm.groups.get('g')!.members.has(b.result!.memberId)).toBe(false);
    const a3 = h.join({ memberId: a.result!.memberId });
    expect(a3.result).toMatchObject({ errorCode: 0, generationId: 3 });
    expect(a3.result!.members).toHaveLength(1);
  });

  it('rebalance timeout: members that do not rejoin in time are dropped from the new generation', () => {
    const h = harness();
    const a = h.join({ rebalanceTimeoutMs: 3_000 });
    h.sync(a.result!.memberId, 1);
    const b = h.join({ rebalanceTimeoutMs: 3_000 });
    // a keeps heartbeating but never rejoins.
    h.advance(2_000);
    expect(h.heartbeat(a.result!.memberId, 1)).toBe(E.REBALANCE_IN_PROGRESS);
    expect(b.result).toBeUndefined();
    h.advance(1_500);
    expect(b.result).toMatchObject({ errorCode: 0, generationId: 2, leader: b.result?.memberId });
    expect(h.heartbeat(a.result!.memberId, 1)).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('initial rebalance delay: the first members of an empty group wait for others', () => {
    const h = harness({ groupInitialRebalanceDelayMs: 1_000 });
    const a = h.join();
    h.advance(500);
    const b = h.join();
    expect(a.result).toBeUndefined();
    h.advance(900);
    expect(a.result).toBeUndefined();
    h.advance(200);
    expect(a.result?.generationId).toBe(1);
    expect(b.result?.generationId).toBe(1);
  });

  it('static membership: a restart with the same instance id takes the old place without a rebalance; the old incarnation is fenced', () => {
    const h = harness();
    const a = h.join({ groupInstanceId: 'i-a' });
    h.sync(a.result!.memberId, 1);
    const b = h.join({ groupInstanceId: 'i-b' });
    h.join({ memberId: a.result!.memberId, groupInstanceId: 'i-a' });
    h.sync(
      a.result!.memberId,
      2,
      [
        { memberId: a.result!.memberId, assignment: h.meta('A') },
        { memberId: b.result!.memberId, assignment: h.meta('B') },
      ],
      'i-a',
    );
    h.sync(b.result!.memberId, 2, [], 'i-b');
    expect(h.state()).toBe('Stable');
    h.stm.takeWrites();
    // b restarts (a follower, same subscription): new member id, same generation and assignment.
    const b2 = h.join({ groupInstanceId: 'i-b' });
    expect(b2.result).toMatchObject({ errorCode: 0, generationId: 2 });
    expect(b2.result!.memberId).not.toBe(b.result!.memberId);
    expect(h.state()).toBe('Stable');
    expect(Buffer.from(h.sync(b2.result!.memberId, 2, [], 'i-b').result!.assignment).toString()).toBe('B');
    expect(h.stm.takeWrites().map((w) => w.type)).toEqual(['group']);
    // The old incarnation is fenced everywhere.
    expect(h.heartbeat(b.result!.memberId, 2, 'i-b')).toBe(E.FENCED_INSTANCE_ID);
    expect(h.join({ memberId: b.result!.memberId, groupInstanceId: 'i-b' }).result?.errorCode).toBe(E.FENCED_INSTANCE_ID);
    expect(h.sync(b.result!.memberId, 2, [], 'i-b').result?.errorCode).toBe(E.FENCED_INSTANCE_ID);
    const leave = h.stm.leaveGroup({ type: 'LeaveGroup', groupId: 'g', members: [{ memberId: b.result!.memberId, groupInstanceId: 'i-b', reason: null }] }, h.clock.now);
    expect(leave.members[0]!.errorCode).toBe(E.FENCED_INSTANCE_ID);
    // An admin removes a static member by instance id alone.
    const removed = h.stm.leaveGroup({ type: 'LeaveGroup', groupId: 'g', members: [{ memberId: '', groupInstanceId: 'i-b', reason: null }] }, h.clock.now);
    expect(removed.members[0]!.errorCode).toBe(0);
    expect(h.state()).toBe('PreparingRebalance');
  });

  it('static membership: a static member that does not rejoin keeps its place until its session expires', () => {
    const h = harness();
    const a = h.join({ groupInstanceId: 'i-a', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 2_000 });
    h.sync(a.result!.memberId, 1, [], 'i-a');
    const b = h.join({ rebalanceTimeoutMs: 2_000 });
    h.advance(2_100);
    expect(b.result?.generationId).toBe(2);
    expect(h.stm.groups.get('g')!.members.has(a.result!.memberId)).toBe(true);
    h.sync(b.result!.memberId, 2, []);
    for (let i = 0; i < 9; i++) {
      h.advance(1_000);
      h.heartbeat(b.result!.memberId, 2);
    }
    expect(h.stm.groups.get('g')!.members.has(a.result!.memberId)).toBe(false);
  });

  it('static membership: a restarted follower joining with no owned partitions gets its assignment back without a rebalance', () => {
    const h = harness();
    const { a, b, generation, range } = stableStaticPair(h);
    // b's process died without LeaveGroup; its replacement starts from nothing.
    const b2 = h.join({ groupInstanceId: 'i-b', protocols: range(subscription(['t'])), requireKnownMemberId: true, clientId: 'b-restarted' });
    expect(b2.result).toMatchObject({ errorCode: 0, generationId: generation, leader: a, members: [], skipAssignment: false });
    expect(b2.result!.memberId).not.toBe(b);
    expect(h.state()).toBe('Stable');
    // The leader sees no rebalance: its heartbeat is clean and its generation still valid.
    expect(h.heartbeat(a, generation, 'i-a')).toBe(0);
    expect(Buffer.from(h.sync(b2.result!.memberId, generation, [], 'i-b').result!.assignment).toString()).toBe('B:23');
    // The replacement is persisted under its new member id, with its new subscription metadata.
    const [w] = h.stm.takeWrites();
    expect(w).toMatchObject({ type: 'group', value: { generation, leader: a } });
    const persisted = w!.type === 'group' ? w!.value!.members.find((m) => m.groupInstanceId === 'i-b')! : undefined;
    expect(persisted?.memberId).toBe(b2.result!.memberId);
    expect(Buffer.compare(persisted!.subscription, Buffer.from(subscription(['t'])))).toBe(0);
    expect(persisted!.clientId).toBe('b-restarted');
    // The old incarnation is fenced on every api that names it.
    expect(h.heartbeat(b, generation, 'i-b')).toBe(E.FENCED_INSTANCE_ID);
    expect(h.sync(b, generation, [], 'i-b').result?.errorCode).toBe(E.FENCED_INSTANCE_ID);
    const commit = h.stm.commitOffsets(
      {
        type: 'CommitOffsets',
        groupId: 'g',
        generationId: generation,
        memberId: b,
        groupInstanceId: 'i-b',
        topics: [{ name: 't', partitions: [{ partitionIndex: 2, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
      },
      h.clock.now,
    );
    expect(commit.topics[0]!.partitions[0]!.errorCode).toBe(E.FENCED_INSTANCE_ID);
    expect(h.state()).toBe('Stable');
  });

  it('static membership: a restarted leader keeps the group Stable; JoinGroup v9 gets SkipAssignment, older versions the old leader id', () => {
    const h = harness();
    const { a, b, generation, range } = stableStaticPair(h);
    // Before v9 the client cannot be told to skip assigning: the answer names the old member
    // id as leader, so the new incarnation acts as a follower.
    const a2 = h.join({ groupInstanceId: 'i-a', protocols: range(subscription(['t'])), requireKnownMemberId: true });
    expect(a2.result).toMatchObject({ errorCode: 0, generationId: generation, leader: a, members: [], skipAssignment: false });
    expect(h.state()).toBe('Stable');
    expect(h.stm.groups.get('g')!.leaderId).toBe(a2.result!.memberId);
    expect(Buffer.from(h.sync(a2.result!.memberId, generation, [], 'i-a').result!.assignment).toString()).toBe('A:01');
    expect(h.heartbeat(b, generation, 'i-b')).toBe(0);
    // From v9 the leader learns it leads (and gets the members) but is told not to assign.
    const a3 = h.join({ groupInstanceId: 'i-a', protocols: range(subscription(['t'])), requireKnownMemberId: true, supportSkippingAssignment: true });
    expect(a3.result).toMatchObject({ errorCode: 0, generationId: generation, leader: a3.result!.memberId, skipAssignment: true });
    expect(a3.result!.members.map((m) => m.groupInstanceId).sort()).toEqual(['i-a', 'i-b']);
    expect(h.state()).toBe('Stable');
    // An assignment the leader sends anyway is ignored by a Stable group.
    const s = h.sync(a3.result!.memberId, generation, [{ memberId: b, assignment: h.meta('B:0123') }], 'i-a');
    expect(Buffer.from(s.result!.assignment).toString()).toBe('A:01');
    expect(Buffer.from(h.sync(b, generation, [], 'i-b').result!.assignment).toString()).toBe('B:23');
    expect(h.heartbeat(a2.result!.memberId, generation, 'i-a')).toBe(E.FENCED_INSTANCE_ID);
    // A follower restarting on v9 is not the leader and is not told to skip anything.
    const b2 = h.join({ groupInstanceId: 'i-b', protocols: range(subscription(['t'])), supportSkippingAssignment: true });
    expect(b2.result).toMatchObject({ errorCode: 0, generationId: generation, leader: a3.result!.memberId, members: [], skipAssignment: false });
  });

  it('static membership: a restart that changes the subscribed topics or the group protocol rebalances', () => {
    const h = harness();
    const { a, b, generation, range } = stableStaticPair(h);
    const b2 = h.join({ groupInstanceId: 'i-b', protocols: range(subscription(['t', 'u'])) });
    expect(b2.result).toBeUndefined();
    expect(h.state()).toBe('PreparingRebalance');
    expect(h.heartbeat(a, generation, 'i-a')).toBe(E.REBALANCE_IN_PROGRESS);
    h.join({ memberId: a, groupInstanceId: 'i-a', protocols: range(subscription(['t'], [0, 1], generation)) });
    expect(b2.result).toMatchObject({ errorCode: 0, generationId: generation + 1, leader: a });
    expect(h.heartbeat(b, generation + 1, 'i-b')).toBe(E.FENCED_INSTANCE_ID);
    h.sync(a, generation + 1, [], 'i-a');
    h.sync(b2.result!.memberId, generation + 1, [], 'i-b');
    expect(h.state()).toBe('Stable');
    // Now every member prefers roundrobin once b's replacement votes for it: the protocol changes.
    const both = (meta: Uint8Array) => [
      { name: 'roundrobin', metadata: meta },
      { name: 'range', metadata: meta },
    ];
    h.join({ memberId: a, groupInstanceId: 'i-a', protocols: both(subscription(['t'])) });
    h.join({ memberId: b2.result!.memberId, groupInstanceId: 'i-b', protocols: range(subscription(['t', 'u'])) });
    h.sync(b2.result!.memberId, generation + 2, [], 'i-b');
    h.sync(a, generation + 2, [], 'i-a');
    expect(h.stm.groups.get('g')!.protocolName).toBe('range');
    const b3 = h.join({ groupInstanceId: 'i-b', protocols: both(subscription(['t', 'u'])) });
    expect(b3.result).toBeUndefined();
    expect(h.state()).toBe('PreparingRebalance');
    h.join({ memberId: a, groupInstanceId: 'i-a', protocols: both(subscription(['t'])) });
    expect(b3.result).toMatchObject({ errorCode: 0, generationId: generation + 3, protocolName: 'roundrobin' });
  });

  it('static membership: a restart while the group completes a rebalance rebalances again and fences the waiting old incarnation', () => {
    const h = harness();
    const { a, b, generation, range } = stableStaticPair(h);
    h.join({ memberId: a, groupInstanceId: 'i-a', protocols: range(subscription(['t', 'u'])) });
    h.join({ memberId: b, groupInstanceId: 'i-b', protocols: range(subscription(['t'], [2, 3], generation)) });
    expect(h.state()).toBe('CompletingRebalance');
    const oldSync = h.sync(b, generation + 1, [], 'i-b');
    expect(oldSync.result).toBeUndefined();
    const b2 = h.join({ groupInstanceId: 'i-b', protocols: range(subscription(['t'])) });
    expect(oldSync.result?.errorCode).toBe(E.FENCED_INSTANCE_ID);
    expect(h.state()).toBe('PreparingRebalance');
    h.join({ memberId: a, groupInstanceId: 'i-a', protocols: range(subscription(['t', 'u'])) });
    expect(b2.result).toMatchObject({ errorCode: 0, generationId: generation + 2 });
  });

  it('static membership: no rebalance while a silent static member is within its session; its expiry or a LeaveGroup by instance id rebalances', () => {
    const h = harness();
    const { a, b, generation } = stableStaticPair(h);
    // b stopped (closed without LeaveGroup, as librdkafka and Java static members do): nothing
    // happens to a until b's 10 s session ends.
    for (let t = 0; t < 9; t++) {
      h.advance(1_000);
      expect(h.heartbeat(a, generation, 'i-a')).toBe(0);
    }
    expect(h.state()).toBe('Stable');
    h.advance(1_000);
    expect(h.stm.groups.get('g')!.staticMembers.has('i-b')).toBe(false);
    expect(h.state()).toBe('PreparingRebalance');
    expect(h.heartbeat(a, generation, 'i-a')).toBe(E.REBALANCE_IN_PROGRESS);
    expect(h.heartbeat(b, generation, 'i-b')).toBe(E.UNKNOWN_MEMBER_ID);
    const a2 = h.join({ memberId: a, groupInstanceId: 'i-a' });
    expect(a2.result).toMatchObject({ errorCode: 0, generationId: generation + 1 });
    expect(a2.result!.members.map((m) => m.groupInstanceId)).toEqual(['i-a']);
    h.sync(a, generation + 1, [], 'i-a');
    // LeaveGroup v3+ names the static member by its instance id and member id: it leaves at once.
    const left = h.stm.leaveGroup({ type: 'LeaveGroup', groupId: 'g', members: [{ memberId: a, groupInstanceId: 'i-a', reason: null }] }, h.clock.now);
    expect(left.members[0]!.errorCode).toBe(0);
    expect(h.state()).toBe('Empty');
  });

  it('offsets: commit, fetch, metadata bound, admin commits, retention after the group empties', () => {
    const h = harness();
    const commit = (offset: number, metadata: string | null = null) =>
      h.stm.commitOffsets(
        {
          type: 'CommitOffsets',
          groupId: 'g',
          generationId: -1,
          memberId: '',
          groupInstanceId: null,
          topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: offset, committedLeaderEpoch: 3, committedMetadata: metadata }] }],
        },
        h.clock.now,
      );
    expect(commit(10, 'ok').topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect(commit(11, 'x'.repeat(17)).topics[0]!.partitions[0]!.errorCode).toBe(E.OFFSET_METADATA_TOO_LARGE);
    const f = h.stm.fetchOffsets({ type: 'FetchOffsets', groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1] }] });
    expect(f.topics[0]!.partitions).toEqual([
      { partitionIndex: 0, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
      { partitionIndex: 1, committedOffset: 10, committedLeaderEpoch: 3, metadata: 'ok', errorCode: 0 },
    ]);
    expect(h.stm.fetchOffsets({ type: 'FetchOffsets', groupId: 'g', topics: null }).topics.map((t) => t.name)).toEqual(['t']);
    h.clock.now += 59_000;
    h.stm.expireOffsets(h.clock.now);
    expect(h.stm.groups.get('g')!.offsets.size).toBe(1);
    h.clock.now += 2_000;
    h.stm.takeWrites();
    h.stm.expireOffsets(h.clock.now);
    expect(h.stm.groups.has('g')).toBe(false);
    expect(h.stm.takeWrites()).toEqual([{ type: 'offset', groupId: 'g', topic: 't', partition: 1, value: null }]);
  });

  it('DeleteGroups refuses a group with members and deletes an empty one with its offsets', () => {
    const h = harness();
    const a = h.join();
    h.sync(a.result!.memberId, 1);
    h.stm.commitOffsets(
      {
        type: 'CommitOffsets',
        groupId: 'g',
        generationId: 1,
        memberId: a.result!.memberId,
        groupInstanceId: null,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: '' }] }],
      },
      h.clock.now,
    );
    expect(h.stm.deleteGroups(['g', 'nope'])).toEqual([E.NON_EMPTY_GROUP, E.GROUP_ID_NOT_FOUND]);
    h.stm.leaveGroup({ type: 'LeaveGroup', groupId: 'g', members: [{ memberId: a.result!.memberId, groupInstanceId: null, reason: null }] }, h.clock.now);
    h.stm.takeWrites();
    expect(h.stm.deleteGroups(['g'])).toEqual([0]);
    expect(h.stm.takeWrites().map((w) => [w.type, w.value === null])).toEqual([
      ['offset', true],
      ['group', true],
    ]);
    expect(h.stm.listGroups([], [])).toEqual([]);
  });

  it('ListGroups filters by state; DescribeGroups shows members and, when stable, the protocol', () => {
    const h = harness();
    const a = h.join();
    expect(h.stm.listGroups(['Stable'], [])).toEqual([]);
    h.sync(a.result!.memberId, 1, [{ memberId: a.result!.memberId, assignment: h.meta('A') }]);
    expect(h.stm.listGroups(['stable'], ['Classic'])).toEqual([{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable' }]);
    expect(h.stm.listGroups([], ['consumer'])).toEqual([]);
    const d = h.stm.describeGroup('g');
    expect(d).toMatchObject({ groupState: 'Stable', protocolData: 'range', protocolType: 'consumer' });
    expect(Buffer.from(d.members[0]!.memberAssignment).toString()).toBe('A');
    expect(h.stm.describeGroup('nope')).toMatchObject({ errorCode: 0, groupState: 'Dead' });
  });

  it('the records it writes rebuild the same groups and offsets in a fresh machine (coordinator load)', () => {
    const h = harness();
    const a = h.join({ groupInstanceId: 'i-a' });
    h.sync(a.result!.memberId, 1, [{ memberId: a.result!.memberId, assignment: h.meta('A') }], 'i-a');
    h.stm.commitOffsets(
      {
        type: 'CommitOffsets',
        groupId: 'g',
        generationId: 1,
        memberId: a.result!.memberId,
        groupInstanceId: 'i-a',
        topics: [{ name: 't', partitions: [{ partitionIndex: 2, committedOffset: 42, committedLeaderEpoch: 0, committedMetadata: 'meta' }] }],
      },
      h.clock.now,
    );
    h.stm.commitOffsets(
      {
        type: 'CommitOffsets',
        groupId: 'other',
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 7, committedLeaderEpoch: -1, committedMetadata: null }] }],
      },
      h.clock.now,
    );
    const records = h.stm.takeWrites().map((r) => encodeRecord(r));
    const fresh = harness();
    for (const r of records) fresh.stm.applyLoaded(decodeRecord(r.key, r.value)!, fresh.clock.now);
    fresh.stm.finishLoad(fresh.clock.now);
    const g = fresh.stm.groups.get('g')!;
    expect(g.state).toBe('Stable');
    expect(g.generationId).toBe(1);
    expect(g.leaderId).toBe(a.result!.memberId);
    expect(g.staticMembers.get('i-a')).toBe(a.result!.memberId);
    expect(fresh.stm.fetchOffsets({ type: 'FetchOffsets', groupId: 'g', topics: null }).topics[0]!.partitions[0]).toMatchObject({
      committedOffset: 42,
      metadata: 'meta',
      committedLeaderEpoch: 0,
    });
    expect(fresh.stm.fetchOffsets({ type: 'FetchOffsets', groupId: 'other', topics: null }).topics[0]!.partitions[0]!.committedOffset).toBe(7);
    // The restored member keeps its generation: its heartbeat is accepted, its sync gets its assignment.
    expect(fresh.heartbeat(a.result!.memberId, 1, 'i-a')).toBe(0);
    expect(Buffer.from(fresh.sync(a.result!.memberId, 1, [], 'i-a').result!.assignment).toString()).toBe('A');
  });
});
