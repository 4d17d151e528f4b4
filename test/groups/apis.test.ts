/**
 * The group apis on the wire, with Brook's codec, at the version edges clients use:
 * FindCoordinator v0 and batched v4+, JoinGroup v0 (no rebalance timeout) and v4+ (member id
 * required), LeaveGroup v3 batched, OffsetCommit/OffsetFetch (multiple groups from v8),
 * ListGroups with a state filter, DescribeGroups, OffsetDelete and DeleteGroups, and the bounds
 * (offset metadata size, session timeout range, unknown topics).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupPartition } from '../../src/cluster/offsets-topic.js';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { errorCode } from '../../src/protocol/errors.js';
import { RawClient, ensureTopic } from '../helpers/raw-client.js';

describe('group apis on the wire', () => {
  let b: EmbeddedBroker;
  let c: RawClient;
  const topic = 'wire-groups';
  beforeAll(async () => {
    b = await startBroker({ logLevel: 'warn', groupInitialRebalanceDelayMs: 0, offsetMetadataMaxBytes: 8 });
    c = await RawClient.connect(b.host, b.port);
    await ensureTopic(c, topic);
  });
  afterAll(async () => {
    c?.close();
    await b?.stop();
  });

  it('maps groups to __consumer_offsets partitions as Kafka does', () => {
    // Java's "my-group".hashCode() is -1906497762; Kafka's Utils.abs masks the sign bit (it is
    // not Math.abs), giving partition 36 of 50.
    expect(groupPartition('my-group', 50)).toBe(36);
    expect(groupPartition('console-consumer-12345', 50)).toBe(6);
    expect(groupPartition('', 50)).toBe(0);
  });

  it('FindCoordinator v0 and batched v4 answer this node; transactions are not available', async () => {
    const v0 = await c.request(10, 0, { key: 'g1' });
    expect(v0).toMatchObject({ errorCode: 0, nodeId: 0, host: b.host, port: b.port });
    const v4 = await c.request(10, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    expect(v4.coordinators.map((x) => [x.key, x.errorCode, x.port])).toEqual([
      ['a', 0, b.port],
      ['b', 0, b.port],
    ]);
    const txn = await c.request(10, 4, { keyType: 1, coordinatorKeys: ['t'] });
    expect(txn.coordinators[0]!.errorCode).toBe(errorCode('COORDINATOR_NOT_AVAILABLE'));
  });

  it('JoinGroup v0 forms a group; v4 asks for a member id first; sessions outside the range are refused', async () => {
    const protocols = [{ name: 'range', metadata: Buffer.from('m') }];
    const j0 = await c.request(11, 0, { groupId: 'wire-v0', sessionTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols });
    expect(j0).toMatchObject({ errorCode: 0, generationId: 1, protocolName: 'range' });
    expect(j0.leader).toBe(j0.memberId);
    const s0 = await c.request(14, 0, { groupId: 'wire-v0', generationId: 1, memberId: j0.memberId, assignments: [{ memberId: j0.memberId, assignment: Buffer.from('A') }] });
    expect(s0.assignment.toString()).toBe('A');
    expect((await c.request(12, 0, { groupId: 'wire-v0', generationId: 1, memberId: j0.memberId })).errorCode).toBe(0);

    const first = await c.request(11, 9, { groupId: 'wire-v9', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols });
    expect(first.errorCode).toBe(errorCode('MEMBER_ID_REQUIRED'));
    const j9 = await c.request(11, 9, { groupId: 'wire-v9', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: first.memberId, protocolType: 'consumer', protocols });
    expect(j9).toMatchObject({ errorCode: 0, memberId: first.memberId, protocolType: 'consumer' });

    const bad = await c.request(11, 5, { groupId: 'wire-bad', sessionTimeoutMs: 10, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols });
    expect(bad.errorCode).toBe(errorCode('INVALID_SESSION_TIMEOUT'));

    // LeaveGroup v3 batched: one member known, one not.
    const left = await c.request(13, 3, { groupId: 'wire-v9', members: [{ memberId: j9.memberId }, { memberId: 'ghost' }] });
    expect(left.members.map((m) => m.errorCode)).toEqual([0, errorCode('UNKNOWN_MEMBER_ID')]);
    const left0 = await c.request(13, 0, { groupId: 'wire-v0', memberId: j0.memberId });
    expect(left0.errorCode).toBe(0);
  });

  it('commits and fetches offsets (v8 with several groups), bounds metadata, refuses unknown topics', async () => {
    const commit = await c.request(8, 8, {
      groupId: 'wire-offsets',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [
        { name: topic, partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: 0, committedMetadata: 'ok' }] },
        { name: 'no-such-topic', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] },
      ],
    });
    expect(commit.topics.map((t) => t.partitions[0]!.errorCode)).toEqual([0, errorCode('UNKNOWN_TOPIC_OR_PARTITION')]);
    const tooLarge = await c.request(8, 2, {
      groupId: 'wire-offsets',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      retentionTimeMs: -1,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 6, committedMetadata: 'x'.repeat(9) }] }],
    });
    expect(tooLarge.topics[0]!.partitions[0]!.errorCode).toBe(errorCode('OFFSET_METADATA_TOO_LARGE'));
    const v1 = await c.request(9, 1, { groupId: 'wire-offsets', topics: [{ name: topic, partitionIndexes: [0] }] });
    expect(v1.topics[0]!.partitions[0]).toMatchObject({ committedOffset: 5, metadata: 'ok', errorCode: 0 });
    const v8 = await c.request(9, 8, {
      groups: [
        { groupId: 'wire-offsets', topics: null },
        { groupId: 'wire-nothing', topics: [{ name: topic, partitionIndexes: [0] }] },
      ],
      requireStable: false,
    });
    expect(v8.groups.map((g) => g.topics.map((t) => t.partitions.map((p) => p.committedOffset)))).toEqual([[[5]], [[-1]]]);
  });

  it('OffsetCommit v0/v1 and OffsetFetch v0 (dropped by Kafka 4.0, kept here) round trip through the coordinator', async () => {
    const v0 = await c.request(8, 0, {
      groupId: 'wire-old',
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 3, committedMetadata: 'v0' }] }],
    });
    expect(v0.topics[0]!.partitions[0]!.errorCode).toBe(0);
    const f0 = await c.request(9, 0, { groupId: 'wire-old', topics: [{ name: topic, partitionIndexes: [0] }] });
    expect(f0.topics[0]!.partitions[0]).toMatchObject({ committedOffset: 3, metadata: 'v0', errorCode: 0 });
    const v1 = await c.request(8, 1, {
      groupId: 'wire-old',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 4, commitTimestamp: -1, committedMetadata: null }] }],
    });
    expect(v1.topics[0]!.partitions[0]!.errorCode).toBe(0);
    const f1 = await c.request(9, 1, { groupId: 'wire-old', topics: [{ name: topic, partitionIndexes: [0] }] });
    expect(f1.topics[0]!.partitions[0]!.committedOffset).toBe(4);
  });

  it('lists with a state filter, describes, deletes offsets and groups', async () => {
    await c.request(8, 8, {
      groupId: 'wire-admin',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 3, committedMetadata: null }] }],
    });
    const empty = await c.request(16, 4, { statesFilter: ['Empty'] });
    expect(empty.groups.map((g) => g.groupId)).toContain('wire-admin');
    expect((await c.request(16, 4, { statesFilter: ['Stable'] })).groups.map((g) => g.groupId)).not.toContain('wire-admin');
    const d = await c.request(15, 5, { groups: ['wire-admin', 'wire-unknown'] });
    expect(d.groups.map((g) => [g.groupId, g.groupState])).toEqual([
      ['wire-admin', 'Empty'],
      ['wire-unknown', 'Dead'],
    ]);
    const od = await c.request(47, 0, { groupId: 'wire-admin', topics: [{ name: topic, partitions: [{ partitionIndex: 0 }] }] });
    expect(od).toMatchObject({ errorCode: 0 });
    expect((await c.request(9, 7, { groupId: 'wire-admin', topics: null })).topics).toEqual([]);
    const del = await c.request(42, 2, { groupsNames: ['wire-admin', 'wire-unknown'] });
    expect(del.results.map((r) => r.errorCode)).toEqual([0, errorCode('GROUP_ID_NOT_FOUND')]);
  });
});
