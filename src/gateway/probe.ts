/**
 * GatewayProbe: the Kafka gateway's metrics (Redpanda's `_probe` role), on the main thread.
 * Names follow Redpanda's public metrics and kafka_exporter, prefixed `brook_`: request latency
 * per API, records and bytes produced and fetched per topic. Registered on the node's
 * prom-client registry, which /metrics serves.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export class GatewayProbe {
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
  }

  requestFailed(api: string): void {
    this.errors.inc({ api });
  }

  produced(topic: string, records: number, bytes: number): void {
    this.recordsProduced.inc({ topic }, records);
    this.bytesProduced.inc({ topic }, bytes);
  }

  fetched(topic: string, records: Uint8Array): void {
    if (records.length === 0) return;
    this.recordsFetched.inc({ topic }, countRecords(records));
    this.bytesFetched.inc({ topic }, records.length);
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
