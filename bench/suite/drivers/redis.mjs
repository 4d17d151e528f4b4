// Redis Streams (Debian redis-server, AOF everysec), one stream per partition. Two clients: a raw
// RESP client (pipelined XADD, one entry per command; XRANGE COUNT 1000; XREAD BLOCK) and ioredis.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, freePort, startProcess } from '../lib/proc.mjs';
import { RespClient, encodeCommand } from '../lib/resp.mjs';
import { batchPlan, RECORDS_IN_FLIGHT, share } from './common.mjs';

const PIPELINE = 1000; // XADD commands per socket write
const WINDOW = RECORDS_IN_FLIGHT / PIPELINE; // pipelines in flight
const RANGE = 1000; // entries per XRANGE

function rate0() {
  return performance.now();
}

/** Exclusive start for XRANGE after `id` ("ms-seq"). */
const after = (id) => `(${id}`;

function rawClient(getPort) {
  return {
    key: 'raw',
    client: 'raw RESP client',
    async produce({ topic, partitions, count, size }) {
      const c = await RespClient.connect('127.0.0.1', getPort());
      const value = Buffer.alloc(size, 120);
      // Pre-encode one pipeline per stream: the same bytes are written again and again.
      const pipes = Array.from({ length: partitions }, (_, p) => (n) => {
        const one = encodeCommand(['XADD', `${topic}:${p}`, '*', 'v', value]);
        return Buffer.concat(Array.from({ length: n }, () => one));
      });
      const full = pipes.map((f) => f(PIPELINE));
      const plan = batchPlan(count, partitions, PIPELINE);
      const t0 = rate0();
      let next = 0;
      const lane = async () => {
        while (next < plan.length) {
          const { p, n } = plan[next++];
          await c.send(n === PIPELINE ? full[p] : pipes[p](n), n);
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, lane));
      const ms = rate0() - t0;
      c.close();
      return { ms, records: count };
    },
    async consume({ topic, partitions, count }) {
      const c = await RespClient.connect('127.0.0.1', getPort());
      const t0 = rate0();
      let got = 0;
      // One reader loop per stream, all pipelined on the one connection.
      await Promise.all(
        Array.from({ length: partitions }, async (_, p) => {
          let start = '-';
          const want = share(count, partitions, p);
          let mine = 0;
          while (mine < want) {
            const r = await c.call('XRANGE', `${topic}:${p}`, start, '+', 'COUNT', RANGE);
            if (!r.length) throw new Error(`XRANGE ${topic}:${p} ended at ${mine}/${want}`);
            mine += r.length;
            start = after(r[r.length - 1][0].toString('latin1'));
          }
          got += mine;
        }),
      );
      const ms = rate0() - t0;
      c.close();
      return { ms, records: got };
    },
    async ackSetup({ topic, size }) {
      const c = await RespClient.connect('127.0.0.1', getPort());
      const cmd = encodeCommand(['XADD', topic, '*', 'v', Buffer.alloc(size, 120)]);
      return { send: () => c.send(cmd), close: () => c.close() };
    },
    async e2eConsumer({ topic }, onRecords) {
      const c = await RespClient.connect('127.0.0.1', getPort());
      let stopped = false;
      let last = '0-0';
      const done = (async () => {
        while (!stopped) {
          const r = await c.call('XREAD', 'COUNT', 10000, 'BLOCK', 200, 'STREAMS', topic, last);
          if (!r) continue;
          const entries = r[0][1];
          if (!entries.length) continue;
          last = entries[entries.length - 1][0].toString('latin1');
          onRecords(entries.length);
        }
      })().catch((e) => {
        if (!stopped) throw e;
      });
      return {
        async stop() {
          stopped = true;
          await done;
          c.close();
        },
      };
    },
  };
}

async function ioredisClient(getPort) {
  const { default: Redis } = await import('ioredis');
  const open = async () => {
    const r = new Redis({ host: '127.0.0.1', port: getPort(), lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: 0 });
    await r.connect();
    return r;
  };
  return {
    key: 'ioredis',
    client: 'ioredis',
    async produce({ topic, partitions, count, size }) {
      const r = await open();
      const value = Buffer.alloc(size, 120);
      const plan = batchPlan(count, partitions, PIPELINE);
      const t0 = rate0();
      let next = 0;
      const lane = async () => {
        while (next < plan.length) {
          const { p, n } = plan[next++];
          const pipe = r.pipeline();
          for (let i = 0; i < n; i++) pipe.xadd(`${topic}:${p}`, '*', 'v', value);
          const res = await pipe.exec();
          for (const [err] of res) if (err) throw err;
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, lane));
      const ms = rate0() - t0;
      r.disconnect();
      return { ms, records: count };
    },
    async consume({ topic, partitions, count }) {
      const r = await open();
      const t0 = rate0();
      let got = 0;
      await Promise.all(
        Array.from({ length: partitions }, async (_, p) => {
          let start = '-';
          const want = share(count, partitions, p);
          let mine = 0;
          while (mine < want) {
            const res = await r.xrangeBuffer(`${topic}:${p}`, start, '+', 'COUNT', RANGE);
            if (!res.length) throw new Error(`XRANGE ${topic}:${p} ended at ${mine}/${want}`);
            mine += res.length;
            start = after(res[res.length - 1][0].toString('latin1'));
          }
          got += mine;
        }),
      );
      const ms = rate0() - t0;
      r.disconnect();
      return { ms, records: got };
    },
    async ackSetup({ topic, size }) {
      const r = await open();
      const value = Buffer.alloc(size, 120);
      return { send: () => r.xadd(topic, '*', 'v', value), close: () => r.disconnect() };
    },
    async e2eConsumer({ topic }, onRecords) {
      const r = await open();
      let stopped = false;
      let last = '0-0';
      const done = (async () => {
        while (!stopped) {
          const res = await r.xreadBuffer('COUNT', 10000, 'BLOCK', 200, 'STREAMS', topic, last);
          if (!res) continue;
          const entries = res[0][1];
          if (!entries.length) continue;
          last = entries[entries.length - 1][0].toString('latin1');
          onRecords(entries.length);
        }
      })().catch((e) => {
        if (!stopped) throw e;
      });
      return {
        async stop() {
          stopped = true;
          await done;
          r.disconnect();
        },
      };
    },
  };
}

export function redisSystem({ usualClient = true } = {}) {
  const bin = findBinary('redis-server');
  let proc, dir, port;
  const getPort = () => port;
  const clients = [rawClient(getPort)];
  const sys = {
    system: 'Redis Streams',
    unavailable: bin ? null : 'redis-server is not installed (Debian package `redis-server`: apt-get install redis-server)',
    clients,
    async start() {
      if (usualClient && clients.length === 1) clients.push(await ioredisClient(getPort));
      dir = mkdtempSync(join(tmpdir(), 'brook-redis-'));
      port = await freePort();
      proc = await startProcess(
        bin,
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--protected-mode', 'no'],
        { ready: /Ready to accept connections/, name: 'redis-server' },
      );
      const v = /Redis version=([\d.]+)/.exec(proc.output()) ?? /v=([\d.]+)/.exec(proc.output());
      return { pid: proc.pid, version: v ? v[1] : '' };
    },
    async stop() {
      await proc?.stop();
      proc = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return sys;
}
