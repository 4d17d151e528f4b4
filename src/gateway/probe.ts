/**
 * GatewayProbe: the Kafka gateway's metrics (Redpanda's `_probe` role), on the main thread.
 * Names follow Redpanda's public metrics and kafka_exporter, prefixed `brook_`: request latency
 * per API, records and bytes produced and fetched per topic. Registered on the node's
 * prom-client registry, which /metrics serves. It also keeps a bounded per-second history of
 * produce and fetch throughput and latency (`history`), which the console charts.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { RecordSet, type Records } from '../protocol/record-set.js';

/** One second of produce and fetch traffic, as the console charts it. */
export interface SecondStats {
  /** Unix time of the second's start, in seconds. */
  second: number;
  producedRecords: number;
  producedBytes: number;
  fetchedRecords: number;
  fetchedBytes: number;
  produceRequests: number;
  produceLatencyMsSum: number;
  produceLatencyMsMax: number;
  fetchRequests: number;
  fetchLatencyMsSum: number;
  fetchLatencyMsMax: number;
}

/**
 * A ring of the last `secondsMax` seconds (main thread; not thread-safe). Seconds with no
 * traffic have no slot written; `snapshot` fills them with zeros so charts have even spacing.
 */
export class SecondsHistory {
  private readonly slots: (SecondStats | undefined)[];

  constructor(
    readonly secondsMax = 600,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.slots = new Array<SecondStats | undefined>(secondsMax).fill(undefined);
  }

  /** The slot of the current second, reset if it still holds an older second. */
  current(): SecondStats {
    const second = Math.floor(this.nowMs() / 1000);
    const i = second % this.secondsMax;
    let s = this.slots[i];
    if (!s || s.second !== second) {
      s = emptySecond(second);
      this.slots[i] = s;
    }
    return s;
  }

  /** The last `seconds` whole seconds (the current, partial one excluded), oldest first. */
  snapshot(seconds = this.secondsMax): SecondStats[] {
    const n = Math.max(1, Math.min(seconds, this.secondsMax - 1));
    const now = Math.floor(this.nowMs() / 1000);
    const out: SecondStats[] = [];
    for (let second = now - n; second < now; second++) {
      const s = this.slots[second % this.secondsMax];
      out.push(s && s.second === second ? { ...s } : emptySecond(second));
    }
    return out;
  }
}

export class GatewayProbe {
  /** Per-second produce/fetch throughput and latency over the last ten minutes. */
  readonly history = new SecondsHistory();
  private readonly latency: Histogram<'api'>;
  private readonly errors: Counter<'api'>;
  private readonly recordsProduced: Counter<'topic'>;
  private readonly bytesProduced: Counter<'topic'>;
  private readonly recordsFetched: Counter<'topic'>;
  private readonly bytesFetched: Counter<'topic'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.latency = new Histogram({
      name: 'brook_kafka_request_latency_seconds',
      help: 'Time from a request being decoded to its response being ready, per Kafka API',
      labelNames: ['api'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers,
    });
    this.errors = new Counter({ name: 'brook_kafka_request_failures_total', help: 'Requests whose handler failed and closed the connection', labelNames: ['api'], registers });
    this.recordsProduced = new Counter({ name: 'brook_kafka_records_produced_total', help: 'Records appended by Produce requests', labelNames: ['topic'], registers });
    this.bytesProduced = new Counter({ name: 'brook_kafka_bytes_produced_total', help: 'Record batch bytes appended by Produce requests', labelNames: ['topic'], registers });
    this.recordsFetched = new Counter({ name: 'brook_kafka_records_fetched_total', help: 'Records returned by Fetch requests', labelNames: ['topic'], registers });
    this.bytesFetched = new Counter({ name: 'brook_kafka_bytes_fetched_total', help: 'Record batch bytes returned by Fetch requests', labelNames: ['topic'], registers });
  }

  requestDone(api: string, seconds: number): void {
    this.latency.observe({ api }, seconds);
    if (api !== 'Produce' && api !== 'Fetch') return;
    const s = this.history.current();
    const ms = seconds * 1000;
    if (api === 'Produce') {
      s.produceRequests++;
      s.produceLatencyMsSum += ms;
      s.produceLatencyMsMax = Math.max(s.produceLatencyMsMax, ms);
    } else {
      s.fetchRequests++;
      s.fetchLatencyMsSum += ms;
      s.fetchLatencyMsMax = Math.max(s.fetchLatencyMsMax, ms);
    }
  }

  requestFailed(api: string): void {
    this.errors.inc({ api });
  }

  produced(topic: string, records: number, bytes: number): void {
    this.recordsProduced.inc({ topic }, records);
    this.bytesProduced.inc({ topic }, bytes);
    const s = this.history.current();
    s.producedRecords += records;
    s.producedBytes += bytes;
  }

  fetched(topic: string, records: Records): void {
    if (records.length === 0) return;
    const n = records instanceof RecordSet ? records.parts.reduce((k, part) => k + countRecords(part), 0) : countRecords(records);
    this.recordsFetched.inc({ topic }, n);
    this.bytesFetched.inc({ topic }, records.length);
    const s = this.history.current();
    s.fetchedRecords += n;
    s.fetchedBytes += records.length;
  }
}

/**
 * Counts records in stored batches from their headers alone (no CRC, no decoding): the fetch
 * path must not pay for validation the append path already did.
 */
export function countRecords(batches: Uint8Array): number {
  const view = new DataView(batches.buffer, batches.byteOffset, batches.byteLength);
  let n = 0;
  let pos = 0;
  while (pos + 61 <= batches.length) {
    n += view.getInt32(pos + 57);
    pos += 12 + view.getInt32(pos + 8);
  }
  return n;
}

/** A second with nothing counted yet. */
function emptySecond(second: number): SecondStats {
  return {
    second,
    producedRecords: 0,
    producedBytes: 0,
    fetchedRecords: 0,
    fetchedBytes: 0,
    produceRequests: 0,
    produceLatencyMsSum: 0,
    produceLatencyMsMax: 0,
    fetchRequests: 0,
    fetchLatencyMsSum: 0,
    fetchLatencyMsMax: 0,
  };
}
