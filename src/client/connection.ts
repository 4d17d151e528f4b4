/**
 * One TCP connection to one broker, on the caller's thread. Requests are pipelined: many may be
 * in flight (at most CONNECTION_IN_FLIGHT_MAX; more wait for a slot), and responses are matched
 * by correlation id. The first request on a new connection is ApiVersions, and every later
 * request uses the version negotiated from its answer. Every request has a timeout; a close or
 * socket error fails every request in flight with ConnectionError, after which the connection is
 * dead and its owner opens a new one. Not thread-safe (nothing here is shared across threads).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { API_NAMES, decodeResponse, encodeRequest, type ApiKey, type RequestInputs, type ResponseBodies } from '../protocol/index.js';
import { ClientClosedError, ConnectionError, KafkaClientError, TimeoutError } from './errors.js';
import { CONNECTION_IN_FLIGHT_MAX, RESPONSE_FRAME_BYTES_MAX } from './limits.js';
import { negotiateVersion } from './versions.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Called once when the connection dies, for its owner to drop it. */
  onClose?: (conn: Connection) => void;
}

interface Pending {
  apiKey: ApiKey;
  version: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Produce with acks=0 has no response: the promise resolves once the request is written. */
  expectResponse?: boolean;
}

export class Connection {
  private socket: Socket | null = null;
  private readonly pending = new Map<number, Pending>();
  private slotWaiters: (() => void)[] = [];
  private nextCorrelationId = 1;
  private versions = new Map<number, number>();
  private chunks: Buffer[] = [];
  private buffered = 0;
  private frameSize = -1;
  private dead = false;
  /** Produce requests in flight; the producer reads it to decide whether to linger. */
  produceInFlight = 0;

  private constructor(readonly opts: ConnectionOptions) {}

  /** Opens the socket and negotiates api versions, within connectTimeoutMs. */
  static async open(opts: ConnectionOptions): Promise<Connection> {
    const conn = new Connection(opts);
    await conn.connectSocket();
    try {
      await conn.negotiate();
    } catch (err) {
      conn.destroy(err as Error);
      throw err;
    }
    return conn;
  }

  get address(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  get isDead(): boolean {
    return this.dead;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** The negotiated version of an api, or -1 when the broker does not serve it. */
  versionOf(apiKey: ApiKey): number {
    return this.versions.get(apiKey) ?? -1;
  }

  private connectSocket(): Promise<void> {
    const { host, port, connectTimeoutMs } = this.opts;
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TimeoutError(`connect to ${host}:${port} timed out after ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        socket.on('data', (chunk: Buffer) => this.onData(chunk));
        socket.on('error', (err) => this.destroy(new ConnectionError(`connection to ${host}:${port} failed: ${err.message}`, { cause: err })));
        socket.on('close', () => this.destroy(new ConnectionError(`connection to ${host}:${port} closed`)));
        this.socket = socket;
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new ConnectionError(`connect to ${host}:${port} failed: ${err.message}`, { cause: err }));
      });
    });
  }

  private async negotiate(): Promise<void> {
    // ApiVersions v3 first; a broker that lacks it answers in v0 layout, so fall back to v0.
    let res: ResponseBodies[18];
    try {
      res = await this.send(18, 3, { clientSoftwareName: 'brook', clientSoftwareVersion: '0.1.0' }, {});
    } catch (err) {
      if (this.dead) throw err;
      res = await this.send(18, 0, {}, {});
    }
    if (res.errorCode !== 0) throw new KafkaClientError(`ApiVersions failed with error ${res.errorCode}`, res.errorCode, false);
    for (const a of res.apiKeys) {
      const v = negotiateVersion(a.apiKey as ApiKey, a.minVersion, a.maxVersion);
      if (v >= 0) this.versions.set(a.apiKey, v);
    }
  }

  /**
   * Sends a request at the negotiated version and resolves with the decoded response body.
   * `build` receives the version so callers can shape version-dependent fields.
   */
  async request<K extends ApiKey>(apiKey: K, body: RequestInputs[K] | ((version: number) => RequestInputs[K]), opts: RequestOptions = {}): Promise<ResponseBodies[K]> {
    const version = this.versionOf(apiKey);
    if (version < 0) throw new KafkaClientError(`broker ${this.address} does not support ${apiName(apiKey)} at a version this client speaks`, 35, false);
    const b = typeof body === 'function' ? body(version) : body;
    return this.send(apiKey, version, b, opts);
  }

  private async send<K extends ApiKey>(apiKey: K, version: number, body: RequestInputs[K], opts: RequestOptions): Promise<ResponseBodies[K]> {
    const timeoutMs = opts.timeoutMs ?? this.opts.requestTimeoutMs;
    if (this.pending.size >= CONNECTION_IN_FLIGHT_MAX) await this.waitForSlot(timeoutMs);
    if (this.dead || this.socket === null) throw new ConnectionError(`connection to ${this.address} is closed`);
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    const frame = encodeRequest(apiKey, version, correlationId, this.opts.clientId, body);
    if (opts.expectResponse === false) {
      this.socket.write(frame);
      return undefined as unknown as ResponseBodies[K];
    }
    return new Promise<ResponseBodies[K]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        this.releaseSlot();
        reject(new TimeoutError(`${apiName(apiKey)} v${version} request to ${this.address} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, { apiKey, version, resolve: resolve as (b: unknown) => void, reject, timer });
      this.socket!.write(frame);
    });
  }

  private waitForSlot(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.slotWaiters = this.slotWaiters.filter((w) => w !== waiter);
        reject(new TimeoutError(`no request slot on ${this.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.slotWaiters.push(waiter);
    });
  }

  private releaseSlot(): void {
    const w = this.slotWaiters.shift();
    if (w !== undefined) w();
  }

  /**
   * Accumulates chunks until a whole frame is present, then slices it out. A frame's size is read
   * once and the chunks are joined once per frame, so a multi-megabyte fetch response costs one
   * copy rather than one per arriving chunk.
   */
  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (true) {
      if (this.frameSize < 0) {
        if (this.buffered < 4) return;
        if (this.chunks[0]!.length < 4) this.joinChunks();
        this.frameSize = this.chunks[0]!.readInt32BE(0);
        if (this.frameSize < 4 || this.frameSize > RESPONSE_FRAME_BYTES_MAX) {
          this.destroy(new ConnectionError(`broker ${this.address} sent a frame of ${this.frameSize} bytes`));
          return;
        }
      }
      if (this.buffered < 4 + this.frameSize) return;
      if (this.chunks[0]!.length < 4 + this.frameSize) this.joinChunks();
      const head = this.chunks[0]!;
      const frame = head.subarray(4, 4 + this.frameSize);
      const rest = head.subarray(4 + this.frameSize);
      if (rest.length > 0) this.chunks[0] = rest;
      else this.chunks.shift();
      this.buffered -= 4 + this.frameSize;
      this.frameSize = -1;
      this.onFrame(frame);
      if (this.dead) return;
    }
  }

  private joinChunks(): void {
    this.chunks = [Buffer.concat(this.chunks, this.buffered)];
  }

  private onFrame(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const p = this.pending.get(correlationId);
    if (p === undefined) return; // A response to a request that already timed out.
    this.pending.delete(correlationId);
    clearTimeout(p.timer);
    this.releaseSlot();
    let body: unknown;
    try {
      body = decodeResponse(p.apiKey, p.version, frame).body;
    } catch (err) {
      p.reject(new ConnectionError(`${apiName(p.apiKey)} v${p.version} response from ${this.address} did not decode: ${(err as Error).message}`, { cause: err }));
      return;
    }
    p.resolve(body);
  }

  /** Closes the socket and fails everything in flight with `err` (or ClientClosedError). */
  destroy(err?: Error): void {
    if (this.dead) return;
    this.dead = true;
    const reason = err ?? new ClientClosedError(`connection to ${this.address}`);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(reason);
    }
    this.pending.clear();
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const w of waiters) w();
    this.socket?.destroy();
    this.chunks = [];
    this.opts.onClose?.(this);
  }

  /** For tests: the raw socket, e.g. to destroy it mid-flight. */
  get rawSocket(): Socket | null {
    return this.socket;
  }
}

/** Kafka's name of an API (Metadata, ListOffsets) for messages, as Kafka's own tools name them. */
function apiName(apiKey: ApiKey): string {
  return API_NAMES[apiKey] ?? `api ${apiKey}`;
}
