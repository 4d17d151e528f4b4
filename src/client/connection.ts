/**
 * One TCP connection to one broker, on the caller's thread. Requests are pipelined: many may be
 * in flight (at most CONNECTION_IN_FLIGHT_MAX; more wait for a slot), and responses are matched
 * by correlation id. The first request on a new connection is ApiVersions, and every later
 * request uses the version negotiated from its answer. Every request has a timeout; a close or
 * socket error fails every request in flight with ConnectionError, after which the connection is
 * dead and its owner opens a new one. Not thread-safe (nothing here is shared across threads).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { API_NAMES, decodeResponse, encodeRequestSegments, type ApiKey, type RequestInputs, type ResponseBodies } from '../protocol/index.js';
import { ClientClosedError, ConnectionError, KafkaClientError, TimeoutError } from './errors.js';
import { CONNECTION_IN_FLIGHT_MAX, DIRECT_FRAME_BYTES_MIN, READ_BUFFER_BYTES, RESPONSE_FRAME_BYTES_MAX } from './limits.js';
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
  /** Bytes read from the socket and not yet taken: readBuf[readStart, readEnd). */
  private readBuf: Buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  private readStart = 0;
  private readEnd = 0;
  /** A large frame being read straight into its own buffer, and how much of it has arrived. */
  private frame: Buffer | null = null;
  private frameFilled = 0;
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
      // The socket reads into buffers this connection hands it (onread), not into a fresh buffer
      // per read: see nextReadTarget.
      const socket = netConnect({
        host,
        port,
        onread: { buffer: () => this.nextReadTarget(), callback: (n: number) => this.onRead(n) },
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TimeoutError(`connect to ${host}:${port} timed out after ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
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
    const frame = encodeRequestSegments(apiKey, version, correlationId, this.opts.clientId, body);
    if (opts.expectResponse === false) {
      this.write(frame);
      return undefined as unknown as ResponseBodies[K];
    }
    return new Promise<ResponseBodies[K]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        this.releaseSlot();
        reject(new TimeoutError(`${apiName(apiKey)} v${version} request to ${this.address} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, { apiKey, version, resolve: resolve as (b: unknown) => void, reject, timer });
      this.write(frame);
    });
  }

  /**
   * Writes a request's segments (a produce's large batches are the producer's own buffers, not
   * copied into the frame) in one writev. The producer never changes a batch once it is sent.
   */
  private write(segments: Buffer[]): void {
    const socket = this.socket!;
    if (segments.length === 1) {
      socket.write(segments[0]!);
      return;
    }
    socket.cork();
    for (const s of segments) socket.write(s);
    socket.uncork();
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
   * Where the socket's next read goes. A response of DIRECT_FRAME_BYTES_MIN or more (a fetch
   * response) is read straight into a buffer of its own, sized from its length prefix, so its
   * bytes are copied once, by the kernel, and no buffer is allocated per read: before this, each
   * read made a 64 KiB buffer and a frame spanning reads was copied again into one frame, which
   * made a 1 KiB-record consume spend a quarter of its time copying and collecting garbage.
   * Smaller responses land in one reused read buffer and are copied out of it whole.
   */
  private nextReadTarget(): Buffer {
    if (this.frame !== null) return this.frame.subarray(this.frameFilled);
    if (this.readBuf.length - this.readEnd < DIRECT_FRAME_BYTES_MIN) {
      // At most one unfinished small frame is left: move it to the front.
      this.readBuf.copy(this.readBuf, 0, this.readStart, this.readEnd);
      this.readEnd -= this.readStart;
      this.readStart = 0;
    }
    return this.readBuf.subarray(this.readEnd);
  }

  /** Takes a read of `n` bytes into the buffer nextReadTarget gave; true keeps the socket reading. */
  private onRead(n: number): boolean {
    if (this.dead) return false;
    if (this.frame !== null) {
      this.frameFilled += n;
      if (this.frameFilled < this.frame.length) return true;
      const frame = this.frame;
      this.frame = null;
      this.onFrame(frame);
      return true;
    }
    this.readEnd += n;
    this.takeFrames();
    return true;
  }

  /** Hands on every whole frame in the read buffer; a large one's start moves to its own buffer. */
  private takeFrames(): void {
    while (!this.dead && this.readEnd - this.readStart >= 4) {
      const size = this.readBuf.readInt32BE(this.readStart);
      if (size < 4 || size > RESPONSE_FRAME_BYTES_MAX) {
        this.destroy(new ConnectionError(`broker ${this.address} sent a frame of ${size} bytes`));
        return;
      }
      const body = this.readStart + 4;
      if (size >= DIRECT_FRAME_BYTES_MIN) {
        const frame = Buffer.allocUnsafeSlow(size);
        const have = Math.min(this.readEnd - body, size);
        this.readBuf.copy(frame, 0, body, body + have);
        this.readStart = body + have;
        if (have < size) {
          this.frame = frame;
          this.frameFilled = have;
          break;
        }
        this.onFrame(frame);
        continue;
      }
      if (this.readEnd - body < size) break;
      const frame = Buffer.from(this.readBuf.subarray(body, body + size));
      this.readStart = body + size;
      this.onFrame(frame);
    }
    if (this.readStart === this.readEnd) this.readStart = this.readEnd = 0;
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
    this.frame = null;
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
