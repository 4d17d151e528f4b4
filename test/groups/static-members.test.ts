/**
 * Static membership (KIP-345) with real clients against a real node. Two static members share a
 * 4-partition topic with the range assignor: a joined first (so it leads), b joined later. Each
 * in turn crashes (SIGKILL: no LeaveGroup) and a replacement with the same group.instance.id
 * joins within the session timeout. The replacement gets the crashed member's partitions back and
 * the member that stayed sees nothing: no revocation, the same member id and the same generation
 * (a heartbeat with its member id and the generation from before is still accepted), while the
 * crashed incarnation's member id is fenced (FENCED_INSTANCE_ID). Since a led the group, both a
 * restarted leader and a restarted follower are covered.
 *
 * With librdkafka (confluent-kafka-python; JoinGroup v5, so a restarted leader is told the old
 * leader id). Its static members do not send LeaveGroup even on a clean close, so b's second
 * incarnation closes cleanly instead of crashing, and when it is not replaced the other member
 * takes its partitions only once its session has timed out.
 *
 * With Brook's own client (JoinGroup v9, so a restarted leader is told it leads, with
 * SkipAssignment). Like librdkafka and the Java client, its static members do not send LeaveGroup
 * on close either: b's first incarnation is killed, its last one closes cleanly, and the other
 * member takes its partitions once its session has timed out. (LeaveGroup naming an instance id
 * is covered by test/groups/state-machine.test.ts.)
 *
 * kafkajs 2.2.4 cannot be a static member: its consumer never sends a group.instance.id (the
 * JoinGroup v5 encoder has the field, but Broker.joinGroup does not pass one), so Brook's client
 * is the second client here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { errorCode } from '../../src/protocol/errors.js';
import { describeIf, pythonRequirement, uniqueTopic } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';
import { kafkajs } from '../interop/setup.js';
import { PyMember, waitFor, type Line } from './py-member.js';

const ck = pythonRequirement('confluent_kafka');
const BROOK_MEMBER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'brook-member.mjs');
/** Long enough for a replacement process to start and join on a loaded machine. */
const SESSION_TIMEOUT_MS = 12_000;
const PARTITIONS = 4;
const FENCED_INSTANCE_ID = errorCode('FENCED_INSTANCE_ID');

/** A static member in a child process, as the scenario needs it. */
interface Member {
  readonly records: Line[];
  readonly assignments: number[][];
  /** Revocations the client reported (librdkafka); Brook's client has no callback for them. */
  readonly revocations: number[][];
  readonly owned: number[];
  /** Crashes it: SIGKILL, so it neither leaves nor heartbeats again. */
  kill(): Promise<void>;
  /** Closes it as the client closes a consumer. */
  close(): Promise<void>;
}

/** A static member on Brook's own client (fixtures/brook-member.mjs). */
class BrookMember implements Member {
  readonly records: Line[] = [];
  readonly assignments: number[][] = [];
  readonly revocations: number[][] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(bootstrap: string, topic: string, group: string, instanceId: string) {
    this.child = spawn(process.execPath, [BROOK_MEMBER, bootstrap, topic, group, instanceId, String(SESSION_TIMEOUT_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as Line & { assigned?: number[] };
        buf = buf.slice(nl + 1);
        if (line.assigned) this.assignments.push(line.assigned);
        else this.records.push(line);
      }
    });
    this.exited = new Promise((resolve) => this.child.on('close', () => resolve()));
  }

  get owned(): number[] {
    return this.assignments.at(-1) ?? [];
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: the fixture closes its consumer (a static member: no LeaveGroup) and exits; killed if it has not within 20 s. */
  async close(): Promise<void> {
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}

const sorted = (ps: number[]): number[] => [...ps].sort((x, y) => x - y);

describe('static membership with real clients', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'brook-groups-static-'));
  let b: EmbeddedBroker;
  let producer: Producer;
  let raw: RawClient;
  let seq = 0;
  const running: Member[] = [];

  beforeAll(async () => {
    b = await startBroker({ logLevel: 'warn', dataDir, groupInitialRebalanceDelayMs: 500 });
    producer = kafkajs(b.bootstrap, 'groups-static').producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    raw = await RawClient.connect(b.host, b.port, { clientId: 'groups-static-probe' });
  });
  afterAll(async () => {
    await Promise.all(running.map((m) => m.kill()));
    raw?.close();
    await producer?.disconnect();
    await b?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function topicWith(partitions: number): Promise<string> {
    const topic = uniqueTopic('groups-static');
    const admin = kafkajs(b.bootstrap).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    await admin.disconnect();
    return topic;
  }

  /** Sends n records round-robin over the partitions; returns their values by partition. */
  async function send(topic: string, n: number): Promise<string[][]> {
    const byPartition: string[][] = Array.from({ length: PARTITIONS }, () => []);
    const messages = Array.from({ length: n }, (_, i) => ({ value: `v${seq++}`, partition: i % PARTITIONS }));
    for (const m of messages) byPartition[m.partition]!.push(m.value);
    await producer.send({ topic, messages });
    return byPartition;
  }

  /** The group as DescribeGroups shows it: its state and each instance id's member id. */
  async function describeGroup(group: string): Promise<{ state: string; memberIds: Map<string, string> }> {
    const res = await raw.request(15, 4, { groups: [group], includeAuthorizedOperations: false });
    const g = res.groups[0]!;
    expect(g.errorCode).toBe(0);
    return { state: g.groupState, memberIds: new Map(g.members.map((m) => [m.groupInstanceId ?? '', m.memberId])) };
  }

  const heartbeat = async (group: string, memberId: string, instanceId: string, generationId: number): Promise<number> =>
    (await raw.request(12, 3, { groupId: group, generationId, memberId, groupInstanceId: instanceId })).errorCode;

  /** The group's generation, found as the one a heartbeat of this member is accepted with. */
  async function generationOf(group: string, memberId: string, instanceId: string): Promise<number> {
    const codes: number[] = [];
    for (let generation = 0; generation <= 50; generation++) {
      const code = await heartbeat(group, memberId, instanceId, generation);
      if (code === 0) return generation;
      codes.push(code);
    }
    throw new Error(`no generation accepted a heartbeat of ${memberId}: ${[...new Set(codes)].join(', ')}`);
  }

  /**
   * The scenario above. `bEnds` is how b's first incarnation goes (a always crashes); `last` is
   * how b's second incarnation goes when nobody replaces it: either way the other member only
   * learns of it when b's session times out, since a static member sends no LeaveGroup.
   */
  async function scenario(start: (instanceId: string, topic: string, group: string) => Member, bEnds: 'kill' | 'close', last: 'kill' | 'close'): Promise<void> {
    const topic = await topicWith(PARTITIONS);
    const group = `${topic}-static`;
    const launch = (instanceId: string): Member => {
      const m = start(instanceId, topic, group);
      running.push(m);
      return m;
    };
    const members: Record<string, Member> = { a: launch('a') };
    await waitFor('a to own every partition', () => members.a!.owned.length === PARTITIONS, 30_000);
    members.b = launch('b');
    await waitFor(
      'a and b to share the topic',
      () => {
        const [x, y] = [members.a!.owned, members.b!.owned];
        return x.length > 0 && y.length > 0 && sorted([...x, ...y]).join() === '0,1,2,3';
      },
      30_000,
    );

    // a (the leader) is replaced first, then b (a follower).
    for (const [gone, stays] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const before = await describeGroup(group);
      expect(before.state).toBe('Stable');
      const goneId = before.memberIds.get(gone)!;
      const staysId = before.memberIds.get(stays)!;
      const generation = await generationOf(group, staysId, stays);
      const stayer = members[stays]!;
      const seen = { assignments: stayer.assignments.length, revocations: stayer.revocations.length, owned: stayer.owned };
      const owned = members[gone]!.owned;

      if (gone === 'b' && bEnds === 'close') await members[gone]!.close();
      else await members[gone]!.kill();
      const replacement = launch(gone);
      members[gone] = replacement;
      await waitFor(`${gone}'s replacement to own ${gone}'s partitions ${owned.join()}`, () => sorted(replacement.owned).join() === sorted(owned).join(), 20_000);

      // Records sent now reach both: the group consumes as before, each member its own partitions.
      const values = await send(topic, 2 * PARTITIONS);
      const sentTo = (ps: number[]) => ps.flatMap((p) => values[p]!);
      await waitFor(
        'the new records consumed by both members',
        () => {
          const got = new Set([...replacement.records, ...stayer.records].map((r) => r.value));
          return values.flat().every((v) => got.has(v));
        },
        20_000,
      );
      expect(replacement.records.map((r) => r.value)).toEqual(expect.arrayContaining(sentTo(owned)));
      expect(stayer.records.map((r) => r.value)).toEqual(expect.arrayContaining(sentTo(seen.owned)));

      // The member that stayed saw no rebalance: no revocation, no new assignment, same generation.
      expect(stayer.revocations.length).toBe(seen.revocations);
      expect(stayer.assignments.length).toBe(seen.assignments);
      const after = await describeGroup(group);
      expect(after.state).toBe('Stable');
      expect(after.memberIds.get(stays)).toBe(staysId);
      expect(after.memberIds.get(gone)).not.toBe(goneId);
      expect(await heartbeat(group, staysId, stays, generation)).toBe(0);
      // The crashed incarnation is fenced.
      expect(await heartbeat(group, goneId, gone, generation)).toBe(FENCED_INSTANCE_ID);
    }

    // b goes for good. Whether it crashed or closed, it is noticed only when b's session times
    // out, not when its connection closes: a static member keeps its place until then.
    const keeps = members.a!;
    const endedAt = Date.now();
    if (last === 'close') await members.b.close();
    else await members.b.kill();
    await waitFor('a to own every partition', () => keeps.owned.length === PARTITIONS, SESSION_TIMEOUT_MS + 20_000);
    const tookMs = Date.now() - endedAt;
    expect(tookMs).toBeGreaterThanOrEqual(SESSION_TIMEOUT_MS - 1_000);
  }

  describeIf(ck, 'librdkafka (confluent-kafka-python)', () => {
    it(
      'a static member that crashes or closes, replaced within its session, gets its partitions back without rebalancing the other',
      () =>
        scenario(
          (instanceId, topic, group) => {
            const m = new PyMember('ck', b.bootstrap, topic, group, join(dataDir, `stop-${instanceId}-${seq++}`), {
              groupInstanceId: instanceId,
              sessionTimeoutMs: SESSION_TIMEOUT_MS,
              maxS: 90,
            });
            return Object.assign(m, { close: () => m.stop() });
          },
          'close',
          'kill',
        ),
      150_000,
    );
  });

  it(
    "Brook's client: a crashed static member replaced within its session gets its partitions back without rebalancing the other; a closed one keeps its place until its session times out",
    () => scenario((instanceId, topic, group) => new BrookMember(b.bootstrap, topic, group, instanceId), 'kill', 'close'),
    150_000,
  );
});
