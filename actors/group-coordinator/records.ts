/**
 * The records a group coordinator writes to its `__consumer_offsets` partition, in Kafka's own
 * schemas (group-coordinator/src/main/resources/common/message in apache/kafka), so Kafka's
 * tools can read a Brook offsets log and the layout is documented by Kafka:
 *
 * - key OffsetCommitKey v1 (group, topic, partition) -> value OffsetCommitValue v3
 *   (offset, leaderEpoch, metadata, commitTimestamp);
 * - key GroupMetadataKey v2 (group) -> value GroupMetadataValue v3 (protocolType, generation,
 *   protocol, leader, currentStateTimestamp, members).
 *
 * Keys and values are an int16 version followed by the struct. A null value (tombstone)
 * deletes the key, which is what compaction keeps last. Versions 0-4 of the values are decoded
 * (v4 is v3 made flexible), so logs written by Kafka 3.x load too.
 */
import { decodeStruct, encodeStruct } from '../../src/protocol/codec.js';
import { Reader } from '../../src/protocol/reader.js';
import { VERSION_MAX as MAX, type MessageSpec } from '../../src/protocol/schema.js';

const offsetCommitKeySpec: MessageSpec = {
  name: 'OffsetCommitKey',
  validVersions: [0, 1],
  flexibleVersions: null,
  fields: [
    { name: 'group', type: 'string', versions: [0, MAX] },
    { name: 'topic', type: 'string', versions: [0, MAX] },
    { name: 'partition', type: 'int32', versions: [0, MAX] },
  ],
};

const groupMetadataKeySpec: MessageSpec = {
  name: 'GroupMetadataKey',
  validVersions: [2, 2],
  flexibleVersions: null,
  fields: [{ name: 'group', type: 'string', versions: [2, MAX] }],
};

const offsetCommitValueSpec: MessageSpec = {
  name: 'OffsetCommitValue',
  validVersions: [0, 4],
  flexibleVersions: [4, MAX],
  fields: [
    { name: 'offset', type: 'int64', versions: [0, MAX] },
    { name: 'leaderEpoch', type: 'int32', versions: [3, MAX], default: -1 },
    { name: 'metadata', type: 'string', versions: [0, MAX] },
    { name: 'commitTimestamp', type: 'int64', versions: [0, MAX] },
    { name: 'expireTimestamp', type: 'int64', versions: [1, 1], default: -1 },
  ],
};

const groupMetadataValueSpec: MessageSpec = {
  name: 'GroupMetadataValue',
  validVersions: [0, 4],
  flexibleVersions: [4, MAX],
  fields: [
    { name: 'protocolType', type: 'string', versions: [0, MAX] },
    { name: 'generation', type: 'int32', versions: [0, MAX] },
    { name: 'protocol', type: 'string', versions: [0, MAX], nullableVersions: [0, MAX] },
    { name: 'leader', type: 'string', versions: [0, MAX], nullableVersions: [0, MAX] },
    { name: 'currentStateTimestamp', type: 'int64', versions: [2, MAX], default: -1 },
    {
      name: 'members',
      type: 'array',
      items: 'struct',
      versions: [0, MAX],
      structName: 'MemberMetadata',
      fields: [
        { name: 'memberId', type: 'string', versions: [0, MAX] },
        { name: 'groupInstanceId', type: 'string', versions: [3, MAX], nullableVersions: [3, MAX], default: null },
        { name: 'clientId', type: 'string', versions: [0, MAX] },
        { name: 'clientHost', type: 'string', versions: [0, MAX] },
        { name: 'rebalanceTimeout', type: 'int32', versions: [1, MAX] },
        { name: 'sessionTimeout', type: 'int32', versions: [0, MAX] },
        { name: 'subscription', type: 'bytes', versions: [0, MAX] },
        { name: 'assignment', type: 'bytes', versions: [0, MAX] },
      ],
    },
  ],
};

const OFFSET_KEY_VERSION = 1;
const GROUP_KEY_VERSION = 2;
const OFFSET_VALUE_VERSION = 3;
const GROUP_VALUE_VERSION = 3;

export interface OffsetCommitValue {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestamp: number;
}

export interface GroupMemberValue {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeout: number;
  readonly sessionTimeout: number;
  readonly subscription: Buffer;
  readonly assignment: Buffer;
}

export interface GroupMetadataValue {
  readonly protocolType: string;
  readonly generation: number;
  readonly protocol: string | null;
  readonly leader: string | null;
  readonly currentStateTimestamp: number;
  readonly members: readonly GroupMemberValue[];
}

export type CoordinatorRecord =
  | { readonly type: 'offset'; readonly groupId: string; readonly topic: string; readonly partition: number; readonly value: OffsetCommitValue | null }
  | { readonly type: 'group'; readonly groupId: string; readonly value: GroupMetadataValue | null };

function versioned(version: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + body.length);
  out.writeInt16BE(version, 0);
  body.copy(out, 2);
  return out;
}

export function encodeRecord(r: CoordinatorRecord): { key: Buffer; value: Buffer | null } {
  if (r.type === 'offset') {
    const key = versioned(OFFSET_KEY_VERSION, encodeStruct(offsetCommitKeySpec, OFFSET_KEY_VERSION, { group: r.groupId, topic: r.topic, partition: r.partition }));
    const value = r.value === null ? null : versioned(OFFSET_VALUE_VERSION, encodeStruct(offsetCommitValueSpec, OFFSET_VALUE_VERSION, r.value));
    return { key, value };
  }
  const key = versioned(GROUP_KEY_VERSION, encodeStruct(groupMetadataKeySpec, GROUP_KEY_VERSION, { group: r.groupId }));
  const value = r.value === null ? null : versioned(GROUP_VALUE_VERSION, encodeStruct(groupMetadataValueSpec, GROUP_VALUE_VERSION, r.value));
  return { key, value };
}

/** Decodes one stored record; null for a key this coordinator does not know (it is skipped on load). */
export function decodeRecord(key: Buffer, value: Buffer | null): CoordinatorRecord | null {
  if (key.length < 2) return null;
  const keyVersion = key.readInt16BE(0);
  if (keyVersion === 0 || keyVersion === 1) {
    const k = decodeStruct(offsetCommitKeySpec, keyVersion, key.subarray(2)) as { group: string; topic: string; partition: number };
    return { type: 'offset', groupId: k.group, topic: k.topic, partition: k.partition, value: value === null ? null : decodeOffsetValue(value) };
  }
  if (keyVersion === GROUP_KEY_VERSION) {
    const k = decodeStruct(groupMetadataKeySpec, keyVersion, key.subarray(2)) as { group: string };
    return { type: 'group', groupId: k.group, value: value === null ? null : decodeGroupValue(value) };
  }
  return null;
}

function valueVersion(value: Buffer, spec: MessageSpec): number {
  const v = new Reader(value).readInt16();
  if (v < spec.validVersions[0]) throw new Error(`${spec.name} version ${v} is invalid`);
  // Newer versions only add tagged fields (KIP-915), so the newest known layout reads them.
  return Math.min(v, spec.validVersions[1]);
}

function decodeOffsetValue(value: Buffer): OffsetCommitValue {
  const v = decodeStruct(offsetCommitValueSpec, valueVersion(value, offsetCommitValueSpec), value.subarray(2)) as OffsetCommitValue;
  return { offset: v.offset, leaderEpoch: v.leaderEpoch, metadata: v.metadata, commitTimestamp: v.commitTimestamp };
}

function decodeGroupValue(value: Buffer): GroupMetadataValue {
  return decodeStruct(groupMetadataValueSpec, valueVersion(value, groupMetadataValueSpec), value.subarray(2)) as GroupMetadataValue;
}
