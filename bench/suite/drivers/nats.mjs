// NATS JetStream (Debian nats-server -js, file storage), one stream (with one subject) per
// partition. Two clients: a raw-protocol client (asynchronous publishes with a window of unacked
// messages, pull consumer with ack_policy none) and nats.js.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { findBinary, freePort, startProcess } from '../lib/proc.mjs';
import { NatsClient } from '../lib/nats-proto.mjs';
import { RECORDS_IN_FLIGHT, share } from './common.mjs';

const WINDOW = RECORDS_IN_FLIGHT; // unacked publishes
const CHUNK = 256; // publishes per socket write
const PULL = 1000; // messages per pull request
// Pull requests outstanding per stream: 4 for one stream, 1 each for many, so that what the
// server has in flight to us stays under its 64 MB pending limit for a client (a slow consumer
// would have messages dropped).
const pullsFor = (partitions) => (partitions === 1 ? 4 : 1);

const streamName = (topic, p) => `${topic}_${p}`.replace(/[^A-Za-z0-9_-]/g, '_');
const streamConfig = (name) => ({ name, subjects: [name], storage: 'file', retention: 'limits', discard: 'old', num_replicas: 1 });

function rawClient(getPort) {
  async function ensureStreams(c, topic, partitions) {
    for (let p = 0; p < partitions; p++) {
      const name = streamName(topic, p);
      await c.jsApi(`$JS.API.STREAM.CREATE.${name}`, streamConfig(name));
    }
  }
  return {
    key: 'raw',
    client: 'raw protocol client',
    async produce({ topic, partitions, count, size }) {
      const c = await NatsClient.connect('127.0.0.1', getPort());
      await ensureStreams(c, topic, partitions);
      const value = Buffer.alloc(size, 120);
      const ackSubject = `${c.inbox}.acks`;
      let acked = 0;
      let failed = null;
      let wake = null;
      c.subscribe(ackSubject, (data) => {
        if (data.includes('"error"')) failed ??= new Error(`publish: ${data}`);
        acked++;
        if (wake && (count - acked === 0 || sent - acked <= WINDOW - CHUNK)) {
          const w = wake;
          wake = null;
          w();
        }
      });
      // One pre-encoded chunk of CHUNK publishes per stream, written again and again.
      const enc = (p, n) => {
        const one = Buffer.concat([Buffer.from(`PUB ${streamName(topic, p)} ${ackSubject} ${size}\r\n`), value, Buffer.from('\r\n')]);
        return Buffer.concat(Array.from({ length: n }, () => one));
      };
      const full = Array.from({ length: partitions }, (_, p) => enc(p, CHUNK));
      const left = Array.from({ length: partitions }, (_, p) => share(count, partitions, p));
      let sent = 0;
      let p = 0;
      const t0 = performance.now();
      while (sent < count) {
        if (failed) throw failed;
        if (sent - acked > WINDOW - CHUNK) {
          await new Promise((r) => {
            wake = r;
          });
          continue;
        }
        while (left[p] === 0) p = (p + 1) % partitions;
        const n = Math.min(CHUNK, left[p]);
        c.socket.write(n === CHUNK ? full[p] : enc(p, n));
        left[p] -= n;
        sent += n;
        p = (p + 1) % partitions;
      }
      while (acked < count) {
        if (failed) throw failed;
        await new Promise((r) => {
          wake = r;
        });
      }
      const ms = performance.now() - t0;
      if (failed) throw failed;
      c.close();
      return { ms, records: count };
    },
    async consume({ topic, partitions, count }) {
      const c = await NatsClient.connect('127.0.0.1', getPort());
      const t0 = performance.now();
      let got = 0;
      await Promise.all(
        Array.from({ length: partitions }, async (_, p) => {
          const stream = streamName(topic, p);
          await c.jsApi(`$JS.API.CONSUMER.DURABLE.CREATE.${stream}.reader`, {
            stream_name: stream,
            config: { durable_name: 'reader', ack_policy: 'none', deliver_policy: 'all', max_waiting: 512 },
          });
          const want = share(count, partitions, p);
          const inbox = `${c.inbox}.pull${p}`;
          let mine = 0;
          let requested = 0;
          await new Promise((resolve, reject) => {
            const pull = () => {
              const n = Math.min(PULL, want - requested);
              if (n <= 0) return;
              requested += n;
              c.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.reader`, JSON.stringify({ batch: n }), inbox);
            };
            c.subscribe(inbox, (_data, _s, _r, headers) => {
              if (headers) {
                if (!/^NATS\/1\.0 (100|408|409)/.test(headers)) reject(new Error(`pull: ${headers.split('\r\n')[0]}`));
                return;
              }
              mine++;
              if (mine % PULL === 0) pull();
              if (mine === want) resolve();
            });
            for (let i = 0; i < pullsFor(partitions); i++) pull();
          });
          got += mine;
        }),
      );
      const ms = performance.now() - t0;
      c.close();
      return { ms, records: got };
    },
    async ackSetup({ topic, size }) {
      const c = await NatsClient.connect('127.0.0.1', getPort());
      await ensureStreams(c, topic, 1);
      const subject = streamName(topic, 0);
      const value = Buffer.alloc(size, 120);
      // Each publish has its own reply subject so that each ack resolves its own promise.
      return {
        send: () =>
          c.request(subject, value).then((d) => {
            if (d.includes('"error"')) throw new Error(`publish: ${d}`);
          }),
        close: () => c.close(),
      };
    },
    async e2eConsumer({ topic }, onRecords) {
      const c = await NatsClient.connect('127.0.0.1', getPort());
      const stream = streamName(topic, 0);
      await c.jsApi(`$JS.API.CONSUMER.DURABLE.CREATE.${stream}.tail`, { stream_name: stream, config: { durable_name: 'tail', ack_policy: 'none', deliver_policy: 'all' } });
      // Two short pulls outstanding, each on its own reply subject; a pull that is filled or
      // ends with a status (408 expired, 404 no messages) is replaced by a new one.
      const inbox = `${c.inbox}.tail`;
      const BATCH = 500;
      let stopped = false;
      let nextPull = 1;
      // JetStream delivers with the message's own subject, so each pull gets its own subscription.
      const pull = () => {
        const reply = `${inbox}.${nextPull++}`;
        let due = BATCH;
        let done = false;
        let replaced = false;
        const replace = () => {
          if (!replaced) {
            replaced = true;
            if (!stopped) pull();
          }
        };
        // Replaced by our own clock too, in case the server's expiry status is late or never comes;
        // the subscription stays until the pull is filled or ended, so nothing delivered is lost.
        const timer = setTimeout(replace, 700);
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          c.unsubscribe(sid);
          replace();
        };
        const sid = c.subscribe(reply, (_d, _s, _r, headers) => {
          if (headers) {
            if (!/^NATS\/1\.0 100/.test(headers)) finish();
            return;
          }
          onRecords(1);
          if (--due === 0) finish();
        });
        c.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.tail`, JSON.stringify({ batch: BATCH, expires: 500e6 }), reply);
      };
      pull();
      pull();
      return {
        async stop() {
          stopped = true;
          c.close();
        },
      };
    },
  };
}

async function natsJsClient(getPort) {
  const { connect, AckPolicy, StorageType, DeliverPolicy } = await import('nats');
  const open = () => connect({ servers: `127.0.0.1:${getPort()}` });
  async function ensureStreams(nc, topic, partitions) {
    const jsm = await nc.jetstreamManager();
    for (let p = 0; p < partitions; p++) {
      const name = streamName(topic, p);
      await jsm.streams.add({ name, subjects: [name], storage: StorageType.File });
    }
    return jsm;
  }
  return {
    key: 'natsjs',
    client: 'nats.js',
    async produce({ topic, partitions, count, size }) {
      const nc = await open();
      await ensureStreams(nc, topic, partitions);
      const js = nc.jetstream();
      const value = Buffer.alloc(size, 120);
      const subjects = Array.from({ length: partitions }, (_, p) => streamName(topic, p));
      const t0 = performance.now();
      // Asynchronous publish: up to 1000 acks outstanding, awaited together.
      for (let sent = 0; sent < count;) {
        const n = Math.min(1000, count - sent);
        const acks = [];
        for (let i = 0; i < n; i++) acks.push(js.publish(subjects[(sent + i) % partitions], value));
        await Promise.all(acks);
        sent += n;
      }
      const ms = performance.now() - t0;
      await nc.close();
      return { ms, records: count };
    },
    async consume({ topic, partitions, count }) {
      const nc = await open();
      const jsm = await nc.jetstreamManager();
      const js = nc.jetstream();
      const t0 = performance.now();
      let got = 0;
      await Promise.all(
        Array.from({ length: partitions }, async (_, p) => {
          const stream = streamName(topic, p);
          await jsm.consumers.add(stream, { durable_name: 'reader', ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
          const consumer = await js.consumers.get(stream, 'reader');
          const want = share(count, partitions, p);
          const iter = await consumer.consume({ max_messages: PULL });
          let mine = 0;
          for await (const _m of iter) {
            if (++mine >= want) break;
          }
          got += mine;
        }),
      );
      const ms = performance.now() - t0;
      await nc.close();
      return { ms, records: got };
    },
    async ackSetup({ topic, size }) {
      const nc = await open();
      await ensureStreams(nc, topic, 1);
      const js = nc.jetstream();
      const subject = streamName(topic, 0);
      const value = Buffer.alloc(size, 120);
      return { send: () => js.publish(subject, value), close: () => nc.close() };
    },
    async e2eConsumer({ topic }, onRecords) {
      const nc = await open();
      const stream = streamName(topic, 0);
      const jsm = await nc.jetstreamManager();
      await jsm.consumers.add(stream, { durable_name: 'tail', ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
      const consumer = await nc.jetstream().consumers.get(stream, 'tail');
      const iter = await consumer.consume({ max_messages: 1000, expires: 1000 });
      const done = (async () => {
        for await (const _m of iter) onRecords(1);
      })().catch(() => {});
      return {
        async stop() {
          iter.stop();
          await done;
          await nc.close();
        },
      };
    },
  };
}

export function natsSystem({ usualClient = true } = {}) {
  const bin = findBinary('nats-server');
  let proc, dir, port;
  const getPort = () => port;
  const clients = [rawClient(getPort)];
  return {
    system: 'NATS JetStream',
    unavailable: bin ? null : 'nats-server is not installed (Debian package `nats-server`: apt-get install nats-server)',
    clients,
    async start() {
      if (usualClient && clients.length === 1) clients.push(await natsJsClient(getPort));
      dir = mkdtempSync(join(tmpdir(), 'brook-nats-'));
      port = await freePort();
      proc = await startProcess(bin, ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { ready: /Server is ready/, name: 'nats-server' });
      const v = /Version:\s+([\d.]+)/.exec(proc.output()) ?? /nats-server: v?([\d.]+)/.exec(spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout ?? '');
      return { pid: proc.pid, version: v ? v[1] : '' };
    },
    async stop() {
      await proc?.stop();
      proc = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
