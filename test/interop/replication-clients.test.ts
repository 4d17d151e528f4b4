/**
 * Real clients across a leader's death (issue 16's "done when"): kcat, kafkajs and
 * confluent-kafka-python each produce a few thousand records at about 1,000 records/s with
 * idempotence and acks=all to one partition of a replication-factor-3 topic
 * (min.insync.replicas=2) on a three-node cluster on etcd, and the partition leader's node is
 * SIGKILLed mid-run. Afterwards, read from the survivors alone, every record the client was told
 * was written (kcat's and librdkafka's delivery reports, kafkajs's resolved sends) is there
 * exactly once, at the offset it was reported at, in the order it was sent, and no record is
 * there twice. The killed node then restarts, catches up to an identical copy and rejoins the ISR.
 *
 * Skipped without etcd; each client's test is skipped, with a message naming the Debian
 * package, when kcat or python3-confluent-kafka is missing.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, findKcat, kcatRequirement, missing, PYTHON, PYTHON_DIR, pythonRequirement, uniqueTopic } from '../helpers/clients.js';
import { BrookCluster, waitUntil } from '../helpers/cluster.js';
import { etcdRequirement } from '../helpers/etcd.js';
import type { FetchedRecord } from '../helpers/raw-client.js';
import {
  checkAcknowledged,
  createReplicatedTopic,
  describeLogs,
  logsIdentical,
  readPartition,
  replicaLogs,
  sameSet,
  waitForIsr,
  type PartitionMd,
} from '../helpers/replication.js';
import { sleep } from '../helpers/tmp.js';

const ALL = [1, 2, 3];
/** Records each client sends, at about RATE records/s; the leader dies once KILL_AFTER are acknowledged. */
const COUNT = 3_000;
const RATE = 1_000;
const KILL_AFTER = 800;

const ck = pythonRequirement('confluent_kafka');
const kc = kcatRequirement();

interface Acked {
  value: string;
  partition: number;
  offset: number;
  seq: number;
}

/** A child process whose output is read as it comes; `done` resolves at its exit, or kills it after `timeoutMs`. */
function startChild(cmd: string, args: string[], timeoutMs: number) {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  proc.stdin.on('error', () => undefined);
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, timeoutMs);
  const done = new Promise<{ code: number | null; timedOut: boolean }>((resolve) => {
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut });
    });
  });
  return { proc, done, stdout: () => stdout, stderr: () => stderr };
}

describeIf(etcdRequirement(), "interop: kcat, kafkajs and confluent-kafka-python lose nothing acknowledged when a partition leader's node is SIGKILLed", () => {
  let cluster: BrookCluster;

  beforeAll(async () => {
    cluster = BrookCluster.create({ nodeIds: ALL });
    await cluster.startAll();
    for (const id of ALL) await cluster.waitForBrokers(ALL, id);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /** A replication-factor-3 topic and the partition the client writes to: one not led by the controller, so the failover is the partition's alone. */
  async function prepare(prefix: string): Promise<{ topic: string; target: PartitionMd; victim: number; survivors: number[] }> {
    const topic = uniqueTopic(prefix);
    const controller = await cluster.waitForController(1);
    const parts = await createReplicatedTopic(cluster, topic, 3, 3, { 'min.insync.replicas': '2' });
    const target = parts.find((p) => p.leaderId !== controller) ?? parts[0]!;
    const victim = target.leaderId;
    return { topic, target, victim, survivors: ALL.filter((id) => id !== victim) };
  }

  /**
   * After the run: the partition has a new leader from the ISR in a higher epoch; the survivors
   * hold every acknowledged record exactly once, in order; the killed node restarts, catches up
   * to an identical copy and rejoins the ISR.
   */
  async function verify(topic: string, target: PartitionMd, victim: number, survivors: number[], acked: Acked[]): Promise<void> {
    const at = target.partitionIndex;
    const now = await waitForIsr(
      cluster,
      survivors[0]!,
      topic,
      (p) => p.partitionIndex !== at || (p.leaderId >= 0 && p.leaderId !== victim),
      `a new leader of partition ${at}`,
      20_000,
    );
    const p = now.find((x) => x.partitionIndex === at)!;
    expect(
      target.isrNodes.filter((id) => id !== victim),
      `new leader of ${topic}-${at}`,
    ).toContain(p.leaderId);
    expect(p.leaderEpoch).toBeGreaterThan(target.leaderEpoch);

    let problems: string[] = [];
    let records: FetchedRecord[] = [];
    await waitUntil(
      async () => {
        records = await readPartition(cluster, survivors[0]!, topic, at);
        problems = checkAcknowledged(acked, new Map([[at, records]]));
        return problems.length === 0 ? true : undefined;
      },
      20_000,
      `every acknowledged record of ${topic}-${at} on the survivors`,
      () => ({ problems: problems.slice(0, 20), stored: records.length, acknowledged: acked.length }),
    );

    await cluster.startNode(victim);
    await waitForIsr(cluster, survivors[0]!, topic, (x) => sameSet(x.isrNodes, x.replicaNodes), `node ${victim} back in the ISR`, 30_000);
    await waitUntil(
      async () => (logsIdentical(replicaLogs(cluster, topic, at, p.replicaNodes)) ? true : undefined),
      20_000,
      `node ${victim}'s copy of ${topic}-${at} identical to the others'`,
      () => describeLogs(replicaLogs(cluster, topic, at, p.replicaNodes)),
    );
  }

  it('kcat -P (idempotent, acks=all): every delivery report is a record stored once, in order', async (ctx) => {
    if (missing(kc)) return ctx.skip();
    const { topic, target, victim, survivors } = await prepare('repl-kcat');
    const at = target.partitionIndex;
    const child = startChild(
      findKcat()!,
      [
        '-b',
        cluster.bootstraps().join(','),
        '-P',
        '-t',
        topic,
        '-p',
        String(at),
        '-X',
        'enable.idempotence=true',
        '-X',
        'acks=all',
        '-X',
        'message.timeout.ms=60000',
        '-X',
        'linger.ms=5',
        '-X',
        'topic.metadata.refresh.interval.ms=2000',
        '-vvv',
      ],
      120_000,
    );
    const deliveredRe = /Message delivered to partition (\d+) \(offset (-?\d+)\)/g;
    const delivered = () => [...child.stderr().matchAll(deliveredRe)].map((m) => ({ partition: Number(m[1]), offset: Number(m[2]) }));
    let killed = false;
    let atKill = 0;
    const lines = Array.from({ length: COUNT }, (_, i) => `kcat-${i}\n`);
    for (let i = 0; i < COUNT; i += RATE / 20) {
      child.proc.stdin.write(lines.slice(i, i + RATE / 20).join(''));
      await sleep(50);
      if (!killed && delivered().length >= KILL_AFTER) {
        atKill = delivered().length;
        await cluster.kill9(victim);
        killed = true;
      }
    }
    child.proc.stdin.end();
    if (!killed) {
      await waitUntil(
        async () => (delivered().length >= KILL_AFTER ? true : undefined),
        30_000,
        `${KILL_AFTER} delivery reports`,
        () => child.stderr().slice(-2000),
      );
      atKill = delivered().length;
      await cluster.kill9(victim);
    }
    const exit = await child.done;
    const reports = delivered();
    const failures = child.stderr().match(/Delivery failed/g)?.length ?? 0;
    const tail = child.stderr().replace(deliveredRe, '').replace(/\n+/g, '\n').slice(-3000);
    expect(exit, tail).toEqual({ code: 0, timedOut: false });
    expect(reports.length + failures, tail).toBe(COUNT);
    expect(failures, `delivery failures: ${tail}`).toBe(0);
    expect(atKill, 'delivery reports when the leader was killed').toBeLessThan(COUNT);
    // librdkafka reports an idempotent producer's records of one partition in the order they were produced.
    const acked: Acked[] = reports.map((r, i) => ({ value: `kcat-${i}`, partition: r.partition, offset: r.offset, seq: i }));
    await verify(topic, target, victim, survivors, acked);
  });

  it('kafkajs idempotent producer (acks=all): every resolved send is stored once, at its offsets, in order', async () => {
    const { topic, target, victim, survivors } = await prepare('repl-kafkajs');
    const at = target.partitionIndex;
    const kafka = new Kafka({
      clientId: 'repl-kafkajs',
      brokers: cluster.bootstraps(),
      connectionTimeout: 3_000,
      requestTimeout: 10_000,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2_000 },
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, metadataMaxAge: 2_000 });
    await producer.connect();
    const acked: Acked[] = [];
    const failed: { from: number; error: string }[] = [];
    const per = 20;
    let sent = 0;
    let atKill: number | undefined;
    const sender = (async () => {
      while (sent < COUNT) {
        const from = sent;
        const messages = Array.from({ length: per }, (_, j) => ({ value: `kafkajs-${from + j}`, partition: at }));
        sent += per;
        const started = Date.now();
        try {
          const [meta] = await producer.send({ topic, acks: -1, messages });
          const base = Number(meta!.baseOffset);
          messages.forEach((m, j) => acked.push({ value: m.value, partition: at, offset: base + j, seq: from + j }));
        } catch (err) {
          failed.push({ from, error: (err as Error).message });
        }
        await sleep(Math.max(0, (per * 1000) / RATE - (Date.now() - started)));
      }
    })();
    try {
      await waitUntil(
        async () => (acked.length >= KILL_AFTER ? true : undefined),
        30_000,
        `${KILL_AFTER} acknowledged records`,
        () => ({ acked: acked.length, failed }),
      );
      atKill = acked.length;
      await cluster.kill9(victim);
      await Promise.race([sender, sleep(100_000).then(() => Promise.reject(new Error(`kafkajs sends not done within 100 s (${acked.length} acknowledged)`)))]);
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
    expect(failed, 'sends that failed').toEqual([]);
    expect(atKill ?? COUNT, 'records acknowledged when the leader was killed').toBeLessThan(COUNT);
    expect(acked).toHaveLength(COUNT);
    await verify(topic, target, victim, survivors, acked);
  });

  it('confluent-kafka-python (idempotent, acks=all): every delivery report is a record stored once, at its offset, in order', async (ctx) => {
    if (missing(ck)) return ctx.skip();
    const { topic, target, victim, survivors } = await prepare('repl-ck');
    const at = target.partitionIndex;
    const child = startChild(PYTHON, [join(PYTHON_DIR, 'ck_failover.py')], 120_000);
    child.proc.stdin.end(JSON.stringify({ bootstrap: cluster.bootstraps().join(','), topic, partition: at, count: COUNT, rate: RATE, prefix: 'ck' }));
    const progress = () => {
      const m = [...child.stderr().matchAll(/^progress (\d+) (\d+)$/gm)].at(-1);
      return m ? Number(m[1]) : 0;
    };
    await waitUntil(
      async () => (progress() >= KILL_AFTER ? true : undefined),
      30_000,
      `${KILL_AFTER} delivery reports`,
      () => child.stderr().slice(-2000),
    );
    const atKill = progress();
    await cluster.kill9(victim);
    const exit = await child.done;
    const tail = child
      .stderr()
      .replace(/^progress .*\n/gm, '')
      .slice(-3000);
    expect(exit, tail).toEqual({ code: 0, timedOut: false });
    const reply = JSON.parse(child.stdout().trim().split('\n').at(-1)!) as {
      delivered: { value: string; offset: number; partition: number }[];
      errors: { value: string; error: string }[];
      unflushed: number;
    };
    expect(reply.errors, tail).toEqual([]);
    expect(reply.unflushed).toBe(0);
    expect(reply.delivered).toHaveLength(COUNT);
    expect(atKill, 'delivery reports when the leader was killed').toBeLessThan(COUNT);
    const acked = reply.delivered.map((d) => ({ value: d.value, partition: d.partition, offset: d.offset, seq: Number(d.value.slice('ck-'.length)) }));
    await verify(topic, target, victim, survivors, acked);
  });
});
