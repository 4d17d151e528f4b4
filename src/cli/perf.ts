/**
 * `brook perf produce` and `brook perf consume`, in the shape of kafka-producer-perf-test.sh and
 * kafka-consumer-perf-test.sh: the same options where Brook's client has them, the same progress
 * lines and the same final lines, so numbers read beside Kafka's.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { Admin, Consumer, Producer } from '../client/index.js';
import {
  acksOption,
  acksValue,
  clientOptions,
  compressionOption,
  intParser,
  note,
  out,
  topicInfo,
  topicOf,
  withBootstrap,
  type BootstrapOptions,
  type CompressionOption,
} from './options.js';

/** Latencies kept for percentiles at most (Kafka keeps 500,000 samples too); beyond, every n-th record. */
const LATENCY_SAMPLES_MAX = 500_000;
const MB = 1024 * 1024;
/**
 * How the tool feeds the producer. Kafka's tool calls send() once per record, which costs a Java
 * method call; here each send() is a promise, a result array and a callback, and one per record
 * held Brook's producer to ~250-370k records/s of 100 B while the same producer took 1.1M given
 * 1000 records a call. So the tool hands the producer up to SEND_RECORDS_MAX records a call (no
 * more than SEND_BYTES_MAX of them), each record's latency counted from its call, and keeps at
 * most RECORDS_OUTSTANDING_MAX records (and half the producer's buffer memory) unacknowledged:
 * measured with 100 B records, 16-32 calls of 1000 ran at the same rate, while 195,000 records
 * outstanding (a full 32 MiB buffer) was slower (garbage collection of the records' results)
 * and tripled the latency.
 */
const SEND_RECORDS_MAX = 1000;
const SEND_BYTES_MAX = 512 * 1024;
const RECORDS_OUTSTANDING_MAX = 32_000;

interface ProducePerfOptions extends BootstrapOptions {
  topic?: string;
  numRecords: number;
  recordSize: number;
  throughput: number;
  acks: string;
  batchSize?: number;
  lingerMs?: number;
  compression: CompressionOption;
  recordsPerSend?: number;
  reportingIntervalMs: number;
}

interface ConsumePerfOptions extends BootstrapOptions {
  topic?: string;
  messages: number;
  group?: string;
  fromLatest?: boolean;
  timeoutMs: number;
  reportingIntervalMs: number;
  hideHeader?: boolean;
}

export function registerPerf(program: Command): void {
  const perf = program.command('perf').description('producer and consumer performance tests');

  withBootstrap(perf.command('produce'))
    .description('produce records as fast as allowed and report throughput and latency (kafka-producer-perf-test)')
    .argument('[topic]', 'topic name (or --topic)')
    .option('--topic <name>', 'topic name')
    .requiredOption('--num-records <n>', 'records to produce', intParser(1))
    .requiredOption('--record-size <bytes>', 'bytes per record value', intParser(0, 64 * MB))
    .addOption(new Option('--throughput <records/s>', 'records per second at most; -1 for no limit').default(-1).argParser(intParser(-1)))
    .addOption(acksOption())
    .option('--batch-size <bytes>', 'largest batch in bytes (batch.size)', intParser(100))
    .option('--linger-ms <ms>', 'how long a batch waits for more records (linger.ms)', intParser(0, 60_000))
    .addOption(compressionOption())
    .option(
      '--records-per-send <n>',
      'records handed to the producer per send() call (default: up to 1000 and 512 KiB; with --throughput, about 1 ms of records)',
      intParser(1, 100_000),
    )
    .option('--reporting-interval-ms <ms>', 'interval between progress lines', intParser(100), 5000)
    .action(async (positional: string | undefined, opts: ProducePerfOptions) => {
      await producePerf(topicOf(positional, opts.topic), opts);
    });

  withBootstrap(perf.command('consume'))
    .description('consume records as fast as possible and report throughput (kafka-consumer-perf-test)')
    .argument('[topic]', 'topic name (or --topic)')
    .option('--topic <name>', 'topic name')
    .requiredOption('--messages <n>', 'records to consume', intParser(1))
    .option('--group <id>', 'consume as this group (default: no group, every partition from the earliest offset)')
    .option('--from-latest', 'with --group and no committed offsets, start at the latest offset')
    .option('--timeout-ms <ms>', 'give up when no record arrives for this long', intParser(1), 10_000)
    .option('--reporting-interval-ms <ms>', 'interval between progress lines', intParser(100), 5000)
    .option('--hide-header', 'omit the header of the final line')
    .action(async (positional: string | undefined, opts: ConsumePerfOptions) => {
      await consumePerf(topicOf(positional, opts.topic), opts);
    });
}

/** Kafka's ProducerPerformance.Stats: a window of progress plus every record's latency for percentiles. */
export class ProduceStats {
  private readonly start = Date.now();
  private readonly samples: Float64Array;
  private readonly sampling: number;
  private sampled = 0;
  private count = 0;
  private bytes = 0;
  private latencyTotalMs = 0;
  private latencyMaxMs = 0;
  private window = { start: Date.now(), count: 0, bytes: 0, latencyTotalMs: 0, latencyMaxMs: 0 };

  constructor(
    numRecords: number,
    private readonly reportingIntervalMs: number,
    private readonly print: (line: string) => void,
  ) {
    this.sampling = Math.ceil(numRecords / Math.min(numRecords, LATENCY_SAMPLES_MAX));
    this.samples = new Float64Array(Math.ceil(numRecords / this.sampling));
  }

  /** `count` records from `firstIndex` on, all acknowledged after `latencyMs`, each of `bytes` bytes. */
  record(firstIndex: number, count: number, latencyMs: number, bytes: number): void {
    this.count += count;
    this.bytes += bytes * count;
    this.latencyTotalMs += latencyMs * count;
    this.latencyMaxMs = Math.max(this.latencyMaxMs, latencyMs);
    const w = this.window;
    w.count += count;
    w.bytes += bytes * count;
    w.latencyTotalMs += latencyMs * count;
    w.latencyMaxMs = Math.max(w.latencyMaxMs, latencyMs);
    // The samples are every `sampling`-th record's latency.
    for (let i = Math.ceil(firstIndex / this.sampling) * this.sampling; i < firstIndex + count && this.sampled < this.samples.length; i += this.sampling)
      this.samples[this.sampled++] = latencyMs;
    const now = Date.now();
    if (now - w.start >= this.reportingIntervalMs) {
      this.print(progressLine(w.count, now - w.start, w.bytes, w.latencyTotalMs, w.latencyMaxMs));
      this.window = { start: now, count: 0, bytes: 0, latencyTotalMs: 0, latencyMaxMs: 0 };
    }
  }

  finalLine(): string {
    const elapsedMs = Math.max(1, Date.now() - this.start);
    const sorted = this.samples.subarray(0, this.sampled).sort();
    const pct = (p: number) => (sorted.length === 0 ? 0 : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!));
    const recsPerSec = (this.count * 1000) / elapsedMs;
    const mbPerSec = (this.bytes * 1000) / elapsedMs / MB;
    const avg = this.count === 0 ? 0 : this.latencyTotalMs / this.count;
    return `${this.count} records sent, ${recsPerSec.toFixed(1)} records/sec (${mbPerSec.toFixed(2)} MB/sec), ${avg.toFixed(2)} ms avg latency, ${this.latencyMaxMs.toFixed(2)} ms max latency, ${pct(0.5)} ms 50th, ${pct(0.95)} ms 95th, ${pct(0.99)} ms 99th, ${pct(0.999)} ms 99.9th.\n`;
  }
}

function progressLine(count: number, elapsedMs: number, bytes: number, latencyTotalMs: number, latencyMaxMs: number): string {
  const secs = Math.max(elapsedMs, 1) / 1000;
  return `${count} records sent, ${(count / secs).toFixed(1)} records/sec (${(bytes / secs / MB).toFixed(2)} MB/sec), ${(count === 0 ? 0 : latencyTotalMs / count).toFixed(1)} ms avg latency, ${latencyMaxMs.toFixed(1)} ms max latency.\n`;
}

/** Records per send() call: at most SEND_RECORDS_MAX and SEND_BYTES_MAX, or about 1 ms of records at a set throughput. */
export function recordsPerSend(recordSize: number, throughput: number, numRecords: number): number {
  let n = Math.max(1, Math.min(SEND_RECORDS_MAX, Math.floor(SEND_BYTES_MAX / (recordSize + 64))));
  if (throughput > 0) n = Math.min(n, Math.max(1, Math.round(throughput / 1000)));
  return Math.min(n, numRecords);
}

async function producePerf(topic: string, opts: ProducePerfOptions): Promise<void> {
  const acks = acksValue(opts.acks);
  const producer = new Producer({
    ...clientOptions(opts, 'brook-perf-producer'),
    acks,
    idempotent: acks === -1,
    compression: opts.compression,
    batchBytes: opts.batchSize,
    lingerMs: opts.lingerMs,
  });
  const perSend = Math.min(opts.recordsPerSend ?? recordsPerSend(opts.recordSize, opts.throughput, opts.numRecords), opts.numRecords);
  // Records unacknowledged at most: RECORDS_OUTSTANDING_MAX, within half the producer's buffer memory.
  const settings = producer.settings;
  const outstandingMax = Math.max(perSend, Math.min(RECORDS_OUTSTANDING_MAX, Math.floor(settings.bufferMemoryBytes / 2 / (opts.recordSize + 64))));
  note(
    `brook perf produce: ${opts.numRecords} records of ${opts.recordSize} bytes to ${topic}, ${opts.throughput > 0 ? `at most ${opts.throughput} records/s` : 'no throughput limit'}; ` +
      `acks=${settings.acks === -1 ? 'all' : settings.acks} enable.idempotence=${settings.idempotent} batch.size=${settings.batchBytes} linger.ms=${settings.lingerMs} ` +
      `compression.type=${settings.compression} max.in.flight.requests.per.connection=${settings.maxInFlightRequests} buffer.memory=${settings.bufferMemoryBytes}; ` +
      `${perSend} records per send() call, at most ${outstandingMax} records unacknowledged`,
  );
  // One payload of random capital letters, as Kafka's tool makes when no payload file is given.
  const payload = Buffer.alloc(opts.recordSize);
  for (let i = 0; i < payload.length; i++) payload[i] = 65 + Math.floor(Math.random() * 26);
  // The producer keeps no reference to the messages it is given, so one array of one message serves every call.
  const message = { value: payload };
  const messages = new Array<typeof message>(perSend).fill(message);
  const stats = new ProduceStats(opts.numRecords, opts.reportingIntervalMs, out);
  let outstanding = 0;
  // Set by the send callbacks; typed so, since TypeScript does not see assignments in callbacks.
  let failure = null as Error | null;
  let slot: (() => void) | null = null;
  let sinceYield = 0;
  const start = Date.now();
  try {
    for (let i = 0; i < opts.numRecords && failure === null;) {
      const n = Math.min(perSend, opts.numRecords - i);
      if (opts.throughput > 0) {
        // Kafka's ThroughputThrottler: sleep while ahead of the target rate.
        const aheadMs = (i * 1000) / opts.throughput - (Date.now() - start);
        if (aheadMs >= 1) await new Promise((r) => setTimeout(r, aheadMs));
      }
      if (outstanding > 0 && outstanding + n > outstandingMax) {
        await new Promise<void>((r) => {
          slot = r;
        });
        sinceYield = 0;
      } else if (sinceYield >= SEND_RECORDS_MAX) {
        // Sends only leave when the event loop turns: yield every 1000 records or so, so batches
        // go out while the loop keeps producing, as Kafka's I/O thread sends while the tool's
        // thread appends.
        await new Promise<void>((r) => setImmediate(r));
        sinceYield = 0;
      }
      sinceYield += n;
      const first = i;
      const sentAt = performance.now();
      outstanding += n;
      i += n;
      producer
        .send({ topic, messages: n === perSend ? messages : messages.slice(0, n) })
        .then(
          () => stats.record(first, n, performance.now() - sentAt, payload.length),
          (err: Error) => {
            failure ??= err;
          },
        )
        .finally(() => {
          outstanding -= n;
          const s = slot;
          slot = null;
          s?.();
        });
    }
    // Every send must settle before close(): the producer's flush() does not wait for sends
    // still queued behind its first InitProducerId/metadata lookup (see the report of issue 6).
    while (outstanding > 0)
      await new Promise<void>((r) => {
        slot = r;
      });
  } finally {
    await producer.close().catch(() => undefined);
  }
  if (failure !== null) throw failure;
  out(stats.finalLine());
}

/** Kafka's consumer perf time format, yyyy-MM-dd HH:mm:ss:SSS in local time. */
function timeText(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}:${p(d.getMilliseconds(), 3)}`;
}

async function consumePerf(topic: string, opts: ConsumePerfOptions): Promise<void> {
  const consumer = new Consumer({
    ...clientOptions(opts, 'brook-perf-consumer'),
    groupId: opts.group,
    autoOffsetReset: opts.fromLatest ? 'latest' : 'earliest',
  });
  const c = consumer.settings;
  note(
    `brook perf consume: ${opts.messages} records from ${topic}, ${c.groupId === null ? 'no group (every partition)' : `group ${c.groupId}`}; ` +
      `auto.offset.reset=${c.autoOffsetReset} isolation.level=${c.isolationLevel} fetch.max.bytes=${c.fetchMaxBytes} max.partition.fetch.bytes=${c.fetchPartitionMaxBytes} ` +
      `fetch.max.wait.ms=${c.fetchMaxWaitMs} fetch.min.bytes=${c.fetchMinBytes} prefetch bytes=${c.prefetchBytesMax}`,
  );
  const startMs = Date.now();
  let assignedMs: number;
  let count = 0;
  let bytes = 0;
  let lastRecordMs = Date.now();
  let window = { start: Date.now(), count: 0, bytes: 0 };
  let timedOut = false;
  try {
    if (opts.group !== undefined) {
      await consumer.subscribe({ topics: [topic] });
      await consumer.waitForAssignment(opts.timeoutMs);
    } else {
      const admin = new Admin(clientOptions(opts, 'brook-perf-consumer'));
      try {
        const info = await topicInfo(admin, topic);
        await consumer.assign(info.partitions.map((p) => ({ topic, partition: p.partition })));
      } finally {
        await admin.close().catch(() => undefined);
      }
    }
    assignedMs = Date.now();
    await new Promise<void>((resolve, reject) => {
      const watchdog = setInterval(
        () => {
          if (Date.now() - lastRecordMs >= opts.timeoutMs) {
            timedOut = true;
            finish();
          }
        },
        Math.min(opts.timeoutMs, 100),
      );
      const finish = (err?: Error) => {
        clearInterval(watchdog);
        if (err) reject(err);
        else resolve();
      };
      consumer
        .run({
          eachBatch: (batch) => {
            if (count >= opts.messages) return;
            const now = Date.now();
            lastRecordMs = now;
            for (const r of batch.records.slice(0, opts.messages - count)) {
              const size = (r.key?.length ?? 0) + (r.value?.length ?? 0);
              count++;
              bytes += size;
              window.count++;
              window.bytes += size;
            }
            if (now - window.start >= opts.reportingIntervalMs) {
              const secs = (now - window.start) / 1000;
              out(`${window.count} records consumed, ${(window.count / secs).toFixed(1)} records/sec (${(window.bytes / secs / MB).toFixed(2)} MB/sec)\n`);
              window = { start: now, count: 0, bytes: 0 };
            }
            if (count >= opts.messages) finish();
          },
        })
        .catch(finish);
    });
  } finally {
    await consumer.close().catch(() => undefined);
  }
  const endMs = Date.now();
  const totalSecs = Math.max(1, endMs - startMs) / 1000;
  const fetchMs = Math.max(1, endMs - assignedMs);
  const mb = bytes / MB;
  if (!opts.hideHeader) out('start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n');
  out(
    `${timeText(startMs)}, ${timeText(endMs)}, ${mb.toFixed(4)}, ${(mb / totalSecs).toFixed(4)}, ${count}, ${(count / totalSecs).toFixed(4)}, ${assignedMs - startMs}, ${fetchMs}, ${((mb * 1000) / fetchMs).toFixed(4)}, ${((count * 1000) / fetchMs).toFixed(4)}\n`,
  );
  if (timedOut) {
    note(`WARNING: Exiting before consuming the expected number of messages: ${count} of ${opts.messages} within the timeout (--timeout-ms ${opts.timeoutMs}).`);
    process.exitCode = 1;
  }
}
