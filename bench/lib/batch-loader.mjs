#!/usr/bin/env node
// A background producer in its own process, so its batch encoding does not share the measuring
// client's event loop: sends 1000-record batches of 1 KiB JSON-like values, uncompressed, with
// 4 in flight, to partition 0 of a topic until SIGTERM (or --max-seconds), then prints
// {"bytes": N, "seconds": S} on stdout and exits.
// Usage: node bench/lib/batch-loader.mjs <bootstrap> <topic> [maxSeconds=120]
import { Producer } from '../../dist/src/index.js';

const [bootstrap, topic, maxSeconds = '120'] = process.argv.slice(2);
const producer = new Producer({ bootstrapServers: [bootstrap], acks: -1, lingerMs: 0, compression: 'none' });

/** 1 KiB values that compress like JSON events do (repeated field names, varying values). */
function eventValue(i) {
  const body = JSON.stringify({ id: i, kind: 'order-placed', customer: `c-${i % 977}`, amount: (i * 7919) % 100_000, items: [`sku-${i % 31}`, `sku-${i % 17}`] });
  return Buffer.from(body.padEnd(1024, ' '));
}

const messages = Array.from({ length: 1000 }, (_, i) => ({ value: eventValue(i), partition: 0 }));
const perBatch = messages.reduce((n, m) => n + m.value.length, 0);
let stopped = false;
let bytes = 0;
const t0 = performance.now();
const stop = () => {
  stopped = true;
};
process.on('SIGTERM', stop);
setTimeout(stop, Number(maxSeconds) * 1000).unref();
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (!stopped) {
      await producer.send({ topic, messages });
      bytes += perBatch;
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
await producer.close();
process.stdout.write(`${JSON.stringify({ bytes, seconds })}\n`);
