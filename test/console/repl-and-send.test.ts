/**
 * `brook console` (the REPL over a node's HTTP API) as a child process with piped stdin, its
 * name completion, and the POST /api/actors/:id/send route it uses: only the actor kind's own
 * message types, bytes as {"$bytes": base64}, bounded replies.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeNames } from '../../src/cli/console.js';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { buildBatch, splitBatches } from '../../src/storage/record-batch.js';
import { waitFor } from '../helpers/tmp.js';

const bin = join(import.meta.dirname, '../../bin/brook.js');
let broker: EmbeddedBroker;
let base: string;

beforeAll(async () => {
  broker = await startBroker({ logLevel: 'silent', workers: 1 });
  base = `http://127.0.0.1:${broker.node.httpPort}`;
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 50 } });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: 'repl',
    messages: [
      { key: 'a', value: 'first' },
      { key: 'b', value: 'second' },
    ],
  });
  await producer.disconnect();
});
afterAll(async () => {
  await broker.stop();
});

async function send(id: string, message: unknown): Promise<{ status: number; json: { reply?: unknown; error?: string } }> {
  const res = await fetch(`${base}/api/actors/${encodeURIComponent(id)}/send`, {
    method: 'POST',
    body: JSON.stringify({ message }),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, json: (await res.json()) as { reply?: unknown; error?: string } };
}

describe('POST /api/actors/:id/send', () => {
  it('asks a partition actor and returns its reply, bytes as base64', async () => {
    const offsets = await send('partition:repl:0', { type: 'GetOffsets' });
    expect(offsets.status).toBe(200);
    expect(offsets.json.reply).toMatchObject({ logStartOffset: 0, highWatermark: 2 });
    const read = await send('partition:repl:0', { type: 'Read', fetchOffset: 0, maxBytes: 1024 });
    const bytes = Buffer.from((read.json.reply as { records: { $bytes: string } }).records.$bytes, 'base64');
    expect(splitBatches(bytes, { allowSparse: true }).reduce((n, h) => n + h.recordCount, 0)).toBe(2);
  });

  it('appends a batch sent as {"$bytes": base64}', async () => {
    const batch = buildBatch({ records: [{ key: 'c', value: 'third' }] });
    const r = await send('partition:repl:0', { type: 'Append', records: { $bytes: batch.toString('base64') } });
    expect(r.status).toBe(200);
    expect(r.json.reply).toMatchObject({ baseOffset: 2, lastOffset: 2 });
  });

  it("refuses message types outside the actor kind's union, unknown actors, and bad bodies", async () => {
    const wrong = await send('partition:repl:0', { type: 'JoinGroup', groupId: 'g' });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toContain('partition actors accept Append, Read, GetOffsets');
    const coordinator = await send('partition:__consumer_offsets:0', { type: 'ListGroups', statesFilter: [], typesFilter: [] });
    expect(coordinator.status).toBe(200);
    expect(coordinator.json.reply).toEqual({ groups: [] });
    expect((await send('partition:nope:0', { type: 'GetOffsets' })).status).toBe(404);
    expect((await send('partition:repl:0', 'GetOffsets')).status).toBe(400);
    const big = await fetch(`${base}/api/actors/partition:repl:0/send`, { method: 'POST', body: 'x'.repeat(70_000) });
    expect(big.status).toBe(413);
  });
});

describe('brook console', () => {
  it('evaluates the helpers against the node and tails a topic', async () => {
    const child = spawn(process.execPath, [bin, 'console', '--http', `127.0.0.1:${broker.node.httpPort}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const line = async (text: string, expectText: string | RegExp) => {
      child.stdin.write(`${text}\n`);
      await waitFor(() => (typeof expectText === 'string' ? out.includes(expectText) : expectText.test(out)), 10_000, `${text} -> ${String(expectText)}`);
    };
    try {
      await waitFor(() => out.includes('brook> '), 10_000, 'prompt');
      expect(out).toContain('connected to node 0');
      await line('(await actors()).find(a => a.id === "partition:repl:0").kind', "'partition'");
      await line('inspect("partition:repl:0").then(a => "end=" + a.state.logEndOffset)', "'end=3'");
      await line('send("partition:repl:0", { type: "GetOffsets" }).then(r => "hw=" + r.highWatermark)', "'hw=3'");
      await line('tail("repl")', 'tailing repl (1 partitions)');
      const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: 'repl', messages: [{ key: 'k', value: 'tailed in the repl' }] });
      await producer.disconnect();
      await waitFor(() => out.includes('repl-0@3 k tailed in the repl'), 10_000, 'tailed record');
      await line('tail.stop()', "'tail stopped'");
      await line('workers.add(1).then(r => "added " + r.added.join(","))', "'added 1'");
      await line('send("partition:repl:0", { type: "Nope" })', /Error[\s\S]*partition actors accept/);
    } finally {
      child.stdin.end();
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('completes actor ids, topics and groups in string arguments', async () => {
    const names = async (what: string) => (what === 'actors' ? ['partition:repl:0', 'partition:__consumer_offsets:0'] : what === 'topics' ? ['repl', 'other'] : ['billing']);
    expect(await completeNames('inspect("partition:r', names)).toEqual([['partition:repl:0'], 'partition:r']);
    expect(await completeNames("send('part", names)).toEqual([['partition:__consumer_offsets:0', 'partition:repl:0'], 'part']);
    expect(await completeNames('tail("re', names)).toEqual([['repl'], 're']);
    expect(await completeNames('group("b', names)).toEqual([['billing'], 'b']);
    expect(await completeNames('actors(', names)).toBeUndefined();
  });
});
