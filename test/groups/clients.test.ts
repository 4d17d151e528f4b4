/**
 * Consumer groups with the Debian-packaged clients against a real node: kcat -G balanced
 * consumption, confluent-kafka-python (librdkafka) and kafka-python groups, and one group mixing
 * librdkafka and kafka-python members with the range assignor. Each consumes as a group,
 * commits, and after a node restart resumes from its committed offsets without re-reading.
 * Skipped, naming the Debian package, where a client is not installed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { PYTHON, describeIf, kcat, kcatRequirement, pythonRequirement, uniqueTopic } from '../helpers/clients.js';
import { kafkajs } from '../interop/setup.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'python', 'group_member.py');
const kc = kcatRequirement();
const ck = pythonRequirement('confluent_kafka');
const kp = pythonRequirement('kafka');

interface Line { partition: number; offset: number; value: string | null }

/** One python group member (python/group_member.py) running until its stop file appears. */
class PyMember {
  readonly records: Line[] = [];
  readonly assignments: number[][] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private stderr = '';

  constructor(client: 'ck' | 'kp', bootstrap: string, topic: string, group: string, private readonly stopFile: string, assignor = 'range') {
    this.child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin!.end(JSON.stringify({ client, bootstrap, topic, group, assignor, stop_file: stopFile, max_s: 60 }));
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
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** Asks the member to close (commit, LeaveGroup) and waits for it, killing it after 20 s. */
  async stop(): Promise<void> {
    writeFileSync(this.stopFile, '');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    const code = await this.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`python member exited with ${code}: ${this.stderr}`);
  }
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('consumer groups: Debian-packaged clients', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'brook-groups-clients-'));
  let b: EmbeddedBroker;
  let producer: Producer;
  let seq = 0;

  async function start(): Promise<void> {
    b = await startBroker({ logLevel: 'warn', dataDir, groupInitialRebalanceDelayMs: 1_000 });
    producer = kafkajs(b.bootstrap, 'groups-clients').producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  }
  async function restart(): Promise<void> {
    await producer.disconnect();
    await b.stop();
    await start();
  }
  async function topicWith(partitions: number): Promise<string> {
    const topic = uniqueTopic('groups-clients');
    const admin = kafkajs(b.bootstrap).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    await admin.disconnect();
    return topic;
  }
  async function send(topic: string, partitions: number, n: number): Promise<string[]> {
    const values = Array.from({ length: n }, () => `v${seq++}`);
    await producer.send({ topic, messages: values.map((value, i) => ({ value, partition: i % partitions })) });
    return values;
  }
  function stopFile(): string {
    return join(dataDir, `stop-${seq++}-${Date.now()}`);
  }

  beforeAll(start);
  afterAll(async () => {
    await producer?.disconnect();
    await b?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  describeIf(kc, 'kcat -G', () => {
    it('consumes as a balanced group, commits, and after a restart resumes without re-reading', async () => {
      const topic = await topicWith(3);
      const group = `${topic}-kcat`;
      const consume = async () => {
        const r = await kcat(['-b', b.bootstrap, '-G', group, '-X', 'auto.offset.reset=earliest', '-e', '-q', '-f', '%s\\n', topic], { timeoutMs: 30_000 });
        return r.stdout.split('\n').filter((l) => l !== '');
      };
      const first = await send(topic, 3, 30);
      expect((await consume()).sort()).toEqual([...first].sort());
      await restart();
      const second = await send(topic, 3, 12);
      expect((await consume()).sort()).toEqual([...second].sort());
    });
  });

  async function groupOf(clients: ('ck' | 'kp')[], assignor: string): Promise<void> {
    const partitions = 6;
    const topic = await topicWith(partitions);
    const group = `${topic}-${clients.join('-')}`;
    const first = await send(topic, partitions, 60);
    let members = clients.map((c) => new PyMember(c, b.bootstrap, topic, group, stopFile(), assignor));
    await waitFor('every record consumed', () => members.reduce((n, m) => n + m.records.length, 0) >= first.length, 40_000);
    // Each member holds a disjoint part of the topic once the group has settled.
    if (clients.length > 1) {
      await waitFor('every member assigned', () => members.every((m) => (m.assignments.at(-1)?.length ?? 0) > 0), 20_000);
      const owned = members.flatMap((m) => m.assignments.at(-1)!);
      expect(owned.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    }
    await Promise.all(members.map((m) => m.stop()));
    const seen = members.flatMap((m) => m.records.map((r) => r.value));
    expect(seen.sort()).toEqual([...first].sort());

    await restart();
    const second = await send(topic, partitions, 24);
    members = clients.map((c) => new PyMember(c, b.bootstrap, topic, group, stopFile(), assignor));
    await waitFor('the new records consumed', () => members.reduce((n, m) => n + m.records.length, 0) >= second.length, 40_000);
    await new Promise((r) => setTimeout(r, 1_000));
    await Promise.all(members.map((m) => m.stop()));
    expect(members.flatMap((m) => m.records.map((r) => r.value)).sort()).toEqual([...second].sort());
  }

  describeIf(ck, 'confluent-kafka-python', () => {
    it('two members share a topic, commit, and resume after a restart', () => groupOf(['ck', 'ck'], 'roundrobin'), 120_000);
  });

  describeIf(kp, 'kafka-python', () => {
    it('two members share a topic, commit, and resume after a restart', () => groupOf(['kp', 'kp'], 'range'), 120_000);
  });

  describeIf([ck, kp], 'librdkafka and kafka-python in one group', () => {
    it('share a topic with the range assignor, commit, and resume after a restart', () => groupOf(['ck', 'kp'], 'range'), 120_000);
  });
});
