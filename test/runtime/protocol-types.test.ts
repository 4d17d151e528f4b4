/**
 * Type-level tests of the actor protocols (src/runtime/protocol.ts, actors/*\/messages.ts): every
 * misuse below must fail to compile, and `npx tsc -p tsconfig.test.json` checks that each
 * `@ts-expect-error` still has an error to expect. A rename of a message field, a message type
 * the protocol lacks, a reply read as the wrong type, or an internal message asked from outside
 * all become compile errors. The functions are never called; vitest runs one trivial test so the
 * file counts as a test file.
 */
import { describe, expect, it } from 'vitest';
import type { GroupCoordinatorProtocol } from '../../actors/group-coordinator/messages.js';
import type { Appended, PartitionOffsets, PartitionProtocol, ReadResult } from '../../actors/partition/messages.js';
import type { ActorAsks } from '../../src/cluster/actor-asks.js';
import type { GroupCoordinatorClient } from '../../src/cluster/group-coordinator-client.js';
import type { PartitionClient, Route } from '../../src/cluster/partition-client.js';
import type { Handlers } from '../../src/runtime/actor.js';
import { ok } from '../../src/runtime/actor.js';
import type { ActorAddress, AskableType, InternalType, MessageOf } from '../../src/runtime/protocol.js';
import type { Supervisor } from '../../src/runtime/supervisor.js';

declare const supervisor: Supervisor;
declare const asks: ActorAsks;
declare const partitions: PartitionClient;
declare const groups: GroupCoordinatorClient;
declare const route: Route;
declare const partition: ActorAddress<PartitionProtocol>;
declare const coordinator: ActorAddress<GroupCoordinatorProtocol>;

export async function supervisorAsks(): Promise<void> {
  const read: ReadResult = await supervisor.ask(partition, { type: 'Read', fetchOffset: 0, maxBytes: 1024 });
  void read;
  // @ts-expect-error a renamed field (fetchOffset is the protocol's name)
  await supervisor.ask(partition, { type: 'Read', offset: 0, maxBytes: 1024 });
  // @ts-expect-error a field the message does not have
  await supervisor.ask(partition, { type: 'GetOffsets', fetchOffset: 0 });
  // @ts-expect-error a message type the partition protocol does not have
  await supervisor.ask(partition, { type: 'JoinGroup', groupId: 'g' });
  // @ts-expect-error the reply of Read is a ReadResult, not an Appended
  const wrong: Appended = await supervisor.ask(partition, { type: 'Read', fetchOffset: 0, maxBytes: 1024 });
  void wrong;
  // @ts-expect-error internal messages are sent by the actor to itself, never asked
  await supervisor.ask(partition, { type: 'RunMaintenance' });
  // @ts-expect-error an actor id alone is no address: asks go to a typed address
  await supervisor.ask('partition:t:0', { type: 'GetOffsets' });
}

export async function clientAsks(): Promise<void> {
  const offsets = await partitions.ask(route, { type: 'GetOffsets' });
  if (offsets.ok) {
    const o: PartitionOffsets = offsets.value;
    void o;
    // @ts-expect-error GetOffsets answers offsets, without records
    void offsets.value.records;
  }
  // @ts-expect-error wrong field type
  await partitions.ask(route, { type: 'DeleteRecordsBefore', offset: 'ten' });
  // @ts-expect-error a group message is not a partition's
  await partitions.askByName('t', 0, { type: 'Heartbeat', groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null });

  const hb = await groups.ask('g', { type: 'Heartbeat', groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null });
  if (hb.ok) {
    const code: number = hb.value.errorCode;
    void code;
    // @ts-expect-error Heartbeat's reply has no members
    void hb.value.members;
  }
  // @ts-expect-error the coordinator's tick is internal
  await groups.ask('g', { type: 'Tick' });
  // @ts-expect-error a missing field (groupInstanceId)
  await groups.ask('g', { type: 'Heartbeat', groupId: 'g', generationId: 1, memberId: 'm' });
}

export async function addresses(): Promise<void> {
  // A coordinator answers every partition message: its address stands for a partition's.
  const asPartition: ActorAddress<PartitionProtocol> = coordinator;
  void asPartition;
  // @ts-expect-error a partition's address cannot be asked group messages
  const asCoordinator: ActorAddress<GroupCoordinatorProtocol> = partition;
  void asCoordinator;
  await asks.ask(coordinator, { type: 'ListGroups', statesFilter: [], typesFilter: [] });
  // @ts-expect-error ListGroups is not a partition message
  await asks.ask(partition, { type: 'ListGroups', statesFilter: [], typesFilter: [] });
}

/** The actor side: a dispatch table must answer every message with its own reply type. */
type Mini = {
  Echo: { request: { readonly text: string }; reply: { readonly text: string } };
  Count: { request: {}; reply: number };
  Tick: { request: {}; reply: void; internal: true };
};

export const handlers: Handlers<Mini> = {
  Echo: (m) => ok({ text: m.text }),
  Count: () => ok(1),
  Tick: () => ok(undefined),
};

// @ts-expect-error a handler is missing (Tick)
export const missing: Handlers<Mini> = { Echo: (m) => ok({ text: m.text }), Count: () => ok(1) };

export const wrongReply: Handlers<Mini> = {
  Echo: (m) => ok({ text: m.text }),
  // @ts-expect-error Count answers a number
  Count: () => ok('one'),
  Tick: () => ok(undefined),
};

export const internalOnly: InternalType<Mini> = 'Tick';
// @ts-expect-error Tick is internal, not askable
export const askable: AskableType<Mini> = 'Tick';
export const echo: MessageOf<Mini, 'Echo'> = { type: 'Echo', text: 'hi' };

describe('actor protocol types', () => {
  it('are checked by tsc -p tsconfig.test.json (this file holds the checks)', () => {
    expect(echo.type).toBe('Echo');
  });
});
