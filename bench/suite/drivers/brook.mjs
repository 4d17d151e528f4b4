// Brook through the Kafka protocol, with two clients: Brook's own TypeScript client (src/client:
// Producer, Consumer, Admin) and the thin pipelined client of bench/lib (Brook's codec, Produce v9
// of prebuilt 16 KiB batches, Fetch v13), which shows what the client costs. PRIMARY (one line)
// names the one whose figures are compared with the peers and checked against the goals.
import { availableParallelism } from 'node:os';
import { buildBatch, splitBatches } from '../../../dist/src/storage/record-batch.js';
import { startNodeProcess } from '../../lib/node-process.mjs';
import { ThinClient } from '../../lib/thin-client.mjs';
import { batchPlan, lanes, perBatch, RECORDS_IN_FLIGHT } from './common.mjs';

/** Adapter over a Kafka client: connect, createTopic, produce(batch), fetch(many partitions). */
const thinKafka = {
  label: 'thin Kafka client (bench/lib, Brook codec)',
  async connect(broker) {
    const c = await ThinClient.connect(broker.host, broker.port);
    const topicIds = new Map();
    return {
      async createTopic(topic, partitions) {
        const r = await c.request(19, 5, {
          topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
          timeoutMs: 10_000,
          validateOnly: false,
        });
        const code = r.topics[0].errorCode;
        if (code !== 0) throw new Error(`CreateTopics ${topic}: error ${code}`);
      },
      async produce(topic, partition, records) {
        const r = await c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
        const code = r.responses[0].partitionResponses[0].errorCode;
        if (code !== 0) throw new Error(`Produce ${topic}/${partition}: error ${code}`);
      },
      /** offsets: array of next offsets per partition; resolves with one records buffer per partition. */
      async fetch(topic, offsets, { maxWaitMs = 0, partitionMaxBytes = 1 << 20 } = {}) {
        let topicId = topicIds.get(topic);
        if (!topicId) {
          const meta = await c.request(3, 12, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
          topicId = meta.topics[0].topicId;
          topicIds.set(topic, topicId);
        }
        const r = await c.request(
          1,
          13,
          {
            replicaId: -1,
            maxWaitMs,
            minBytes: 1,
            maxBytes: 64 << 20,
            isolationLevel: 0,
            sessionId: 0,
            sessionEpoch: -1,
            topics: [
              {
                topicId,
                partitions: offsets.map((fetchOffset, partition) => ({
                  partition,
                  currentLeaderEpoch: -1,
                  fetchOffset,
                  lastFetchedEpoch: -1,
                  logStartOffset: -1,
                  partitionMaxBytes,
                })),
              },
            ],
            forgottenTopicsData: [],
            rackId: '',
          },
          { timeoutMs: maxWaitMs + 30_000 },
        );
        const out = new Array(offsets.length).fill(null);
        for (const p of r.responses[0].partitions) {
          if (p.errorCode !== 0) throw new Error(`Fetch ${topic}/${p.partitionIndex}: error ${p.errorCode}`);
          out[p.partitionIndex] = p.records;
        }
        return out;
      },
      close() {
        c.close();
      },
    };
  },
};

const kafkaClient = thinKafka;

const IN_FLIGHT = 16;

/** Consumes from `offsets` until `want` records arrived, calling onRecords(n) per batch. */
async function consumeLoop(c, topic, offsets, want, onRecords, opts) {
  let got = 0;
  while (got < want) {
    const parts = await c.fetch(topic, offsets, opts);
    for (let p = 0; p < parts.length; p++) {
      if (!parts[p] || !parts[p].length) continue;
      for (const h of splitBatches(parts[p])) {
        const n = h.lastOffsetDelta + 1;
        got += n;
        offsets[p] = h.baseOffset + n;
        onRecords?.(n);
      }
    }
    if (opts?.stop?.()) break;
  }
  return got;
}

export const PRIMARY = 'brook-client'; // or 'thin'

/** Brook's own client (dist/src/index.js), loaded lazily so a broken client only skips its column. */
async function brookOwnClient(getNode) {
  const { Producer, Consumer, Admin } = await import('../../../dist/src/index.js');
  const opts = () => ({ bootstrapServers: [getNode().bootstrap], clientId: 'brook-bench' });
  async function createTopic(topic, partitions) {
    const admin = new Admin(opts());
    try {
      await admin.createTopics({ topics: [{ name: topic, numPartitions: partitions }], waitForLeaders: true });
    } finally {
      await admin.close();
    }
  }
  async function consumeAll(topic, partitions, want, onRecords, extra = {}) {
    const consumer = new Consumer({ ...opts(), autoOffsetReset: 'earliest', ...extra });
    await consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
    let got = 0;
    let valueBytes = 0;
    let resolve;
    const all = new Promise((r) => {
      resolve = r;
    });
    await consumer.run({
      eachBatch: (b) => {
        // Every value is read, as the peers' clients hand over each entry's bytes: records are
        // decoded lazily, so counting them alone would make no value at all.
        for (const r of b.records) valueBytes += r.value.length;
        got += b.records.length;
        onRecords?.(b.records.length);
        if (got >= want) resolve();
      },
    });
    return { consumer, all, got: () => got, valueBytes: () => valueBytes };
  }
  return {
    key: 'own',
    client: "Brook's client (src/client)",
    async produce({ topic, partitions, count, size }) {
      await createTopic(topic, partitions);
      const producer = new Producer({ ...opts(), acks: -1 });
      const value = Buffer.alloc(size, 120);
      const PER_SEND = 1000;
      const t0 = performance.now();
      await lanes(RECORDS_IN_FLIGHT / PER_SEND, Math.ceil(count / PER_SEND), async (k) => {
        const n = Math.min(PER_SEND, count - k * PER_SEND);
        const messages = new Array(n);
        for (let i = 0; i < n; i++) messages[i] = { value, partition: (k * PER_SEND + i) % partitions };
        await producer.send({ topic, messages });
      });
      const ms = performance.now() - t0;
      await producer.close();
      return { ms, records: count };
    },
    async consume({ topic, partitions, count, size }) {
      const t0 = performance.now();
      const c = await consumeAll(topic, partitions, count, null, { fetchPartitionMaxBytes: partitions === 1 ? 8 << 20 : 1 << 20 });
      await c.all;
      const ms = performance.now() - t0;
      await c.consumer.close();
      if (c.valueBytes() < count * size) throw new Error(`read ${c.valueBytes()} value bytes of ${count * size}`);
      return { ms, records: c.got() };
    },
    async ackSetup({ topic, size }) {
      await createTopic(topic, 1);
      const producer = new Producer({ ...opts(), acks: -1, lingerMs: 0 });
      const value = Buffer.alloc(size, 120);
      return { send: () => producer.send({ topic, messages: [{ value, partition: 0 }] }), close: () => producer.close() };
    },
    async e2eConsumer({ topic }, onRecords) {
      const c = await consumeAll(topic, 1, Infinity, onRecords, { fetchMaxWaitMs: 200 });
      return { stop: () => c.consumer.close() };
    },
  };
}

export function brookSystem({ execArgv = [], workers = availableParallelism() } = {}) {
  let node;
  const thin = {
    key: 'thin',
    client: kafkaClient.label,
    async produce({ topic, partitions, count, size }) {
      const c = await kafkaClient.connect(node);
      await c.createTopic(topic, partitions);
      const value = Buffer.alloc(size, 120);
      const per = perBatch(size);
      // Batches per partition, round robin over partitions.
      const plan = batchPlan(count, partitions, per);
      const t0 = performance.now();
      await lanes(IN_FLIGHT, plan.length, async (i) => {
        const { p, n } = plan[i];
        // Built here, as a real client would, so the client's cost is counted.
        const batch = buildBatch({ records: Array.from({ length: n }, () => ({ key: null, value })) });
        await c.produce(topic, p, batch);
      });
      const ms = performance.now() - t0;
      c.close();
      return { ms, records: count };
    },
    async consume({ topic, partitions, count }) {
      const c = await kafkaClient.connect(node);
      const offsets = new Array(partitions).fill(0);
      const t0 = performance.now();
      const got = await consumeLoop(c, topic, offsets, count, null, { partitionMaxBytes: partitions === 1 ? 8 << 20 : 1 << 20 });
      const ms = performance.now() - t0;
      c.close();
      return { ms, records: got };
    },
    async ackSetup({ topic, size }) {
      const c = await kafkaClient.connect(node);
      await c.createTopic(topic, 1);
      const value = Buffer.alloc(size, 120);
      return {
        send: () => c.produce(topic, 0, buildBatch({ records: [{ key: null, value }] })),
        close: () => c.close(),
      };
    },
    async e2eConsumer({ topic }, onRecords) {
      const c = await kafkaClient.connect(node);
      let stopped = false;
      const offsets = [0];
      const done = consumeLoop(c, topic, offsets, Infinity, onRecords, { maxWaitMs: 200, partitionMaxBytes: 1 << 20, stop: () => stopped }).catch((e) => {
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
  const clients = [];
  let loaded = false;
  return {
    system: 'Brook',
    clients,
    async start() {
      node = await startNodeProcess({ workers, execArgv });
      if (!loaded) {
        loaded = true;
        let own = null;
        try {
          own = await brookOwnClient(() => node);
        } catch (e) {
          console.log(`  ! Brook's own client failed to load (${e.message}); measuring with the thin client only`);
        }
        const ordered = PRIMARY === 'thin' || !own ? [thin, own] : [own, thin];
        for (const c of ordered) if (c) clients.push(c);
      }
      return { pid: node.pid };
    },
    async stop() {
      await node?.stop();
      node = undefined;
    },
  };
}
