/**
 * A tiny raw Kafka client over node:net, for tests that need byte-level control: well-formed
 * requests through the project's codec (encodeRequest / decodeResponse), arbitrary bytes through
 * sendRaw, and a view of the server closing the socket. Every wait has a timeout.
 *
 * Responses are matched by correlation id. A response frame nobody waits for is kept in
 * `unmatched` so a test can assert the server sent nothing unexpected.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest, type ApiKey, type RequestInputs, type ResponseBodies } from '../../src/protocol/index.js';
import { iterateRecords } from '../../src/storage/record-batch.js';

interface Pending {
  decode: (frame: Buffer) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class RawClientClosedError extends Error {}

export class RawClient {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private closedFlag = false;
  private closeWaiters: (() => void)[] = [];
  /** Response frames (without size prefix) that matched no pending request. */
  readonly unmatched: Buffer[] = [];
  /** Every response frame received, in order (without size prefix). */
  readonly frames: Buffer[] = [];

  private constructor(
    private readonly socket: Socket,
    readonly clientId: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      /* surfaced through 'close' */
    });
    socket.on('close', () => this.onClose());
  }

  static connect(host: string, port: number, opts: { timeoutMs?: number; clientId?: string } = {}): Promise<RawClient> {
    const timeoutMs = opts.timeoutMs ?? 5_000;
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RawClient(socket, opts.clientId ?? 'raw-client'));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** A correlation id not used by this client before. */
  allocateCorrelationId(): number {
    const id = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    return id;
  }

  /** Sends a well-formed request and resolves with its decoded response body. */
  request<K extends ApiKey>(apiKey: K, version: number, body: RequestInputs[K], timeoutMs = 10_000): Promise<ResponseBodies[K]> {
    const correlationId = this.allocateCorrelationId();
    const frame = encodeRequest(apiKey, version, correlationId, this.clientId, body);
    const response = this.expect<ResponseBodies[K]>(
      correlationId,
      (f) => {
        const decoded = decodeResponse(apiKey, version, f);
        return decoded.body;
      },
      timeoutMs,
      `api ${apiKey} v${version}`,
    );
    this.sendRaw(frame);
    return response;
  }

  /**
   * Registers interest in the response with `correlationId` (for frames sent with sendRaw);
   * `decode` receives the frame without its size prefix. Rejects on timeout, on a close before
   * the response, or when decode throws.
   */
  expect<T>(correlationId: number, decode: (frame: Buffer) => T, timeoutMs = 10_000, what = 'response'): Promise<T> {
    if (this.pending.has(correlationId)) throw new Error(`correlation id ${correlationId} already pending`);
    return new Promise<T>((resolve, reject) => {
      if (this.closedFlag) {
        reject(new RawClientClosedError(`${what} (correlation id ${correlationId}): connection already closed`));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new Error(`${what} (correlation id ${correlationId}) timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, {
        decode,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer,
      });
    });
  }

  /** Writes raw bytes (size prefix included, or not: whatever the test wants on the wire). */
  sendRaw(bytes: Uint8Array): void {
    if (this.closedFlag) return;
    this.socket.write(bytes);
  }

  /** Half-closes: sends FIN, keeps reading. */
  end(): void {
    if (!this.closedFlag) this.socket.end();
  }

  /** Resolves true once the socket is closed (by the server or otherwise), false after `timeoutMs`. */
  waitClosed(timeoutMs: number): Promise<boolean> {
    if (this.closedFlag) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.closeWaiters = this.closeWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.closeWaiters.push(waiter);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 4) return;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [all];
      const size = all.readInt32BE(0);
      if (size < 0) {
        this.fail(new Error(`server sent a negative frame size ${size}`));
        return;
      }
      if (all.length < 4 + size) return;
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Buffer): void {
    this.frames.push(frame);
    if (frame.length < 4) {
      this.unmatched.push(frame);
      return;
    }
    const correlationId = frame.readInt32BE(0);
    const p = this.pending.get(correlationId);
    if (!p) {
      this.unmatched.push(frame);
      return;
    }
    this.pending.delete(correlationId);
    clearTimeout(p.timer);
    try {
      p.resolve(p.decode(frame));
    } catch (err) {
      p.reject(new Error(`response (correlation id ${correlationId}) failed to decode: ${(err as Error).message}`));
    }
  }

  private fail(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RawClientClosedError(`connection closed before the response to correlation id ${id}`));
    }
    this.pending.clear();
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const w of waiters) w();
  }
}

/** Frames a request header + body written by hand: size prefix + bytes. */
export function frameOf(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

/**
 * A request header of version 1 (non-flexible) or 2 (flexible, with `taggedFields` raw bytes,
 * default one zero byte meaning no tagged fields), written by hand so tests can send versions
 * and api keys the codec refuses to encode.
 */
export function rawHeader(apiKey: number, apiVersion: number, correlationId: number, clientId: string | null, flexible = false, taggedFields: Buffer = Buffer.from([0])): Buffer {
  const id = clientId === null ? null : Buffer.from(clientId, 'utf8');
  const head = Buffer.allocUnsafe(10 + (id?.length ?? 0));
  head.writeInt16BE(apiKey, 0);
  head.writeInt16BE(apiVersion, 2);
  head.writeInt32BE(correlationId, 4);
  head.writeInt16BE(id === null ? -1 : id.length, 8);
  id?.copy(head, 10);
  return flexible ? Buffer.concat([head, taggedFields]) : head;
}

// ---------------------------------------------------------------------------------------
// Small conveniences over RawClient for the usual round trips.

const RETRIABLE = new Set([3, 5, 6, 7, 13, 15, 19, 20]);

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Creates `topic` by Metadata v12 auto-creation and waits until its partitions have a leader. */
export async function ensureTopic(c: RawClient, topic: string, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const md = await c.request(3, 12, { topics: [{ name: topic }], allowAutoTopicCreation: true });
    const t = md.topics.find((x) => x.name === topic);
    if (t && t.errorCode === 0 && t.partitions.length > 0 && t.partitions.every((p) => p.errorCode === 0 && p.leaderId >= 0)) {
      return t.partitions.length;
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic} not ready after ${timeoutMs} ms: ${JSON.stringify(t)}`);
    await sleepMs(50);
  }
}

/** Produce v9 of one batch to one partition; retries retriable errors until `timeoutMs`. Returns the partition response. */
export async function produceBatch(c: RawClient, topic: string, partition: number, records: Buffer, acks = -1, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await c.request(0, 9, { acks, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
    const p = res.responses[0]!.partitionResponses[0]!;
    if (p.errorCode === 0 || !RETRIABLE.has(p.errorCode) || Date.now() > deadline) return p;
    await sleepMs(50);
  }
}

/** ListOffsets v7 latest (timestamp -1) of one partition; retries retriable errors. */
export async function latestOffset(c: RawClient, topic: string, partition: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await c.request(2, 7, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1 }] }] });
    const p = res.topics[0]!.partitions[0]!;
    if (p.errorCode === 0) return p.offset;
    if (!RETRIABLE.has(p.errorCode) || Date.now() > deadline) throw new Error(`ListOffsets ${topic}-${partition}: error ${p.errorCode}`);
    await sleepMs(50);
  }
}

/** Fetch v12 of one partition from `fetchOffset`: the records bytes (possibly empty) and the high watermark. */
export async function fetchOnce(c: RawClient, topic: string, partition: number, fetchOffset: number, maxBytes = 1024 * 1024) {
  const res = await c.request(1, 12, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, fetchOffset, partitionMaxBytes: maxBytes }] }],
  });
  if (res.errorCode !== 0) throw new Error(`Fetch: top-level error ${res.errorCode}`);
  const p = res.responses[0]!.partitions[0]!;
  return { errorCode: p.errorCode, highWatermark: p.highWatermark, records: p.records ?? Buffer.alloc(0) };
}

export interface FetchedRecord {
  offset: number;
  key: string | null;
  value: string | null;
}

/** The whole batches in a fetch's records bytes (a trailing partial batch is dropped, as clients do). */
export function recordsOf(records: Buffer): FetchedRecord[] {
  const out: FetchedRecord[] = [];
  let pos = 0;
  while (records.length - pos >= 12) {
    const size = records.readInt32BE(pos + 8) + 12;
    if (size < 12 || pos + size > records.length) break;
    for (const r of iterateRecords(records.subarray(pos, pos + size))) {
      out.push({ offset: r.offset, key: r.key?.toString('utf8') ?? null, value: r.value?.toString('utf8') ?? null });
    }
    pos += size;
  }
  return out;
}

/** Fetches everything from `from` up to the high watermark (Fetch v12 in a loop). */
export async function fetchAll(c: RawClient, topic: string, partition: number, from = 0, timeoutMs = 20_000): Promise<{ records: FetchedRecord[]; highWatermark: number }> {
  const deadline = Date.now() + timeoutMs;
  const records: FetchedRecord[] = [];
  let offset = from;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`fetchAll ${topic}-${partition} timed out at offset ${offset}`);
    const f = await fetchOnce(c, topic, partition, offset);
    if (f.errorCode !== 0) {
      if (RETRIABLE.has(f.errorCode)) {
        await sleepMs(50);
        continue;
      }
      throw new Error(`Fetch ${topic}-${partition} at ${offset}: error ${f.errorCode}`);
    }
    const got = recordsOf(f.records).filter((r) => r.offset >= offset);
    records.push(...got);
    if (got.length > 0) offset = got[got.length - 1]!.offset + 1;
    if (offset >= f.highWatermark) return { records, highWatermark: f.highWatermark };
    if (got.length === 0) throw new Error(`Fetch ${topic}-${partition} at ${offset} returned no records below the high watermark ${f.highWatermark}`);
  }
}
