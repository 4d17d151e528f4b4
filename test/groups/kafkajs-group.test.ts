/**
 * Consumer groups with kafkajs against a real node: three consumers share a 6-partition topic;
 * one stops (LeaveGroup) and one crashes (a child process killed with SIGKILL: no LeaveGroup,
 * no heartbeats). The survivor takes over every partition within the session timeout, and
 * because each record is committed after it is processed, no record is processed twice. The
 * committed offsets survive a node restart: a new member resumes where the group stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Partitioners, type Consumer, type Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { uniqueTopic } from '../helpers/clients.js';
import { kafkajs } from '../interop/setup.js';

const SESSION_TIMEOUT_MS = 6_000;
const MEMBER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'kafkajs-member.mjs');

interface Processed {
  partition: number;
  offset: number;
  value: string | null;
  by: string;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A member in this process that records each record, then commits it. */
async function member(kafka: Kafka, topic: string, groupId: string, name: string, processed: Processed[]): Promise<Consumer> {
  const c = kafka.consumer({ groupId, sessionTimeout: SESSION_TIMEOUT_MS, heartbeatInterval: 500, rebalanceTimeout: 30_000 });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      processed.push({ partition, offset: Number(message.offset), value: message.value?.toString() ?? null, by: name });
      await c.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
    },
  });
  return c;
}

/** A member in a child process (fixtures/kafkajs-member.mjs), so it can crash for real. */
function childMember(bootstrap: string, topic: string, groupId: string, processed: Processed[]): { child: ChildProcess; assigned: number[][] } {
  const child = spawn(process.execPath, [MEMBER_SCRIPT, bootstrap, topic, groupId, String(SESSION_TIMEOUT_MS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const assigned: number[][] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, nl)) as { assigned?: number[]; partition: number; offset: number; value: string | null };
      buf = buf.slice(nl + 1);
      if (line.assigned) assigned.push(line.assigned);
      else processed.push({ partition: line.partition, offset: line.offset, value: line.value, by: 'child' });
    }
  });
  child.stderr.on('data', (d: Buffer) => console.warn(`[child member] ${d.toString().trim()}`));
  return { child, assigned };
}

describe('consumer groups: kafkajs', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'brook-groups-'));
  let b: EmbeddedBroker | undefined;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await b?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('three members share 6 partitions; one leaves, one crashes; the survivor takes over without reprocessing; offsets survive a restart', async () => {
    b = await startBroker({ logLevel: 'warn', dataDir, groupInitialRebalanceDelayMs: 500 });
    const kafka = kafkajs(b.bootstrap, 'groups-test');
    const admin = kafka.admin();
    await admin.connect();
    const topic = uniqueTopic('groups');
    const groupId = `${topic}-g`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const send = (from: number, n: number) =>
      producer.send({
        topic,
        messages: Array.from({ length: n }, (_, i) => ({ partition: (from + i) % 6, value: `r${from + i}` })),
      });

    const processed: Processed[] = [];
    const crash = childMember(b.bootstrap, topic, groupId, processed);
    children.push(crash.child);
    const a = await member(kafka, topic, groupId, 'a', processed);
    const survivor = await member(kafka, topic, groupId, 'b', processed);
    await waitFor(
      'a stable group of 3',
      async () => {
        const d = await admin.describeGroups([groupId]);
        return d.groups[0]!.state === 'Stable' && d.groups[0]!.members.length === 3;
      },
      30_000,
    );

    await send(0, 300);
    await waitFor('300 records processed', () => processed.length >= 300, 30_000);
    const byMember = new Set(processed.map((p) => p.by));
    expect(byMember).toEqual(new Set(['a', 'b', 'child']));

    // One member stops cleanly (LeaveGroup); the other crashes and is never heard from again.
    const lostAt = Date.now();
    crash.child.kill('SIGKILL');
    await a.disconnect();
    await send(300, 300);
    await waitFor('600 records processed', () => processed.length >= 600, SESSION_TIMEOUT_MS + 20_000);
    const takeoverMs = Date.now() - lostAt;
    const d = await admin.describeGroups([groupId]);
    expect(d.groups[0]!.members).toHaveLength(1);
    expect(d.groups[0]!.state).toBe('Stable');
    // Within the session timeout of the crashed member, plus one rebalance and the fetches.
    expect(takeoverMs).toBeLessThan(SESSION_TIMEOUT_MS + 10_000);
    // No record processed twice, none missed.
    const values = processed.map((p) => p.value);
    expect(new Set(values).size).toBe(values.length);
    expect(values.length).toBe(600);
    expect(processed.filter((p) => Number(p.value!.slice(1)) >= 300).every((p) => p.by === 'b')).toBe(true);

    await survivor.disconnect();
    const before = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(before[0]!.partitions.map((p) => Number(p.offset)).reduce((x, y) => x + y, 0)).toBe(600);
    await producer.disconnect();
    await admin.disconnect();

    // Restart the node on the same data: the coordinator reloads the offsets from its log.
    await b.stop();
    b = await startBroker({ logLevel: 'warn', dataDir, groupInitialRebalanceDelayMs: 0 });
    const kafka2 = kafkajs(b.bootstrap, 'groups-test-restarted');
    const admin2 = kafka2.admin();
    await admin2.connect();
    const after = await admin2.fetchOffsets({ groupId, topics: [topic] });
    expect(after).toEqual(before);
    const producer2 = kafka2.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer2.connect();
    await producer2.send({ topic, messages: Array.from({ length: 60 }, (_, i) => ({ partition: i % 6, value: `r${600 + i}` })) });
    const resumed: Processed[] = [];
    const c = await member(kafka2, topic, groupId, 'resumed', resumed);
    await waitFor('60 records after the restart', () => resumed.length >= 60, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(resumed.map((p) => Number(p.value!.slice(1))).sort((x, y) => x - y)).toEqual(Array.from({ length: 60 }, (_, i) => 600 + i));
    await c.disconnect();
    await producer2.disconnect();
    await admin2.disconnect();
  }, 120_000);
});
