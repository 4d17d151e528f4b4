/**
 * Connection: one client's TCP connection to the Kafka listener. Lives on the main thread.
 *
 * - Framing: a 4-byte size then the frame. A frame larger than the cap closes the connection
 *   with a logged reason; the cap is small until the connection has sent a well-formed request
 *   (clients start with ApiVersions), then `maxRequestBytes`. Frames are assembled from chunks
 *   as they arrive, so a declared size allocates nothing until its bytes are here.
 * - Pipelining: requests are decoded and dispatched as they arrive, at most
 *   `inFlightRequestsMax` at a time (reading pauses beyond that), and responses are written in
 *   request order; a request without a response (acks=0) still keeps its place.
 * - Bad input: a frame that does not decode closes this connection only, with a logged reason.
 *   A request that decodes but carries a null its answer cannot (see `encode`) is answered with
 *   INVALID_REQUEST, or closed when the answer has no error code to say so.
 */
import type { Socket } from 'node:net';
import {
  API_NAMES,
  decodeRequest,
  encodeResponseSegments,
  invalidRequestResponse,
  NullFieldError,
  ProtocolError,
  UnknownApiError,
  UnsupportedVersionError,
  type DecodedRequest,
} from '../protocol/index.js';
import type { Broker, HandlerEntry, RequestContext } from './context.js';
import { handlerFor, supportedApiVersions } from './handlers/index.js';
import { gatewayLimits } from './limits.js';

interface Slot {
  done: boolean;
  /** The encoded response as buffers to write in order (see encodeResponseSegments). */
  response: Buffer[] | null;
}

let nextConnectionId = 1;

/** A request the connection refuses by closing, for a reason that is the client's, not Brook's. */
class RefusedRequest extends Error {}

/** Whether a decoded request holds a null in a field called `field`, at any depth. */
function carriesNull(value: unknown, field: string): boolean {
  if (Array.isArray(value)) return value.some((v) => carriesNull(v, field));
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return false;
  return Object.entries(value).some(([k, v]) => (k === field && v === null) || carriesNull(v, field));
}

export class Connection {
  readonly id = nextConnectionId++;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected = -1;
  private trusted = false;
  private readonly slots: Slot[] = [];
  private inFlight = 0;
  private closed = false;
  private paused = false;
  private corked = false;

  constructor(
    private readonly socket: Socket,
    private readonly broker: Broker,
    private readonly onClose: (c: Connection) => void,
  ) {
    socket.setNoDelay(true);
    socket.setTimeout(broker.config.idleTimeoutMs, () => this.close('idle timeout'));
    socket.on('data', (chunk: Buffer) => {
      // A bug on one connection must never take the node down: close it and say why.
      try {
        this.onData(chunk);
      } catch (err) {
        this.broker.log.error({ err, connection: this.id }, 'unexpected error while reading a request');
        this.close(`unexpected error: ${(err as Error).message}`, 'warn');
      }
    });
    socket.on('drain', () => this.updateFlow());
    socket.on('error', () => this.close('socket error'));
    socket.on('close', () => this.close('closed by client'));
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? 'unknown';
  }

  close(reason: string, level: 'debug' | 'warn' = 'debug'): void {
    if (this.closed) return;
    this.closed = true;
    this.broker.log[level]({ connection: this.id, remote: this.remoteAddress, reason }, 'connection closed');
    this.chunks = [];
    this.socket.destroy();
    this.onClose(this);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < 4) return;
        const head = this.take(4);
        const size = head.readInt32BE(0);
        const cap = this.trusted ? this.broker.config.maxRequestBytes : gatewayLimits.untrustedFrameBytesMax;
        if (size < gatewayLimits.requestHeaderBytesMin || size > cap) {
          this.close(`frame of ${size} bytes is outside ${gatewayLimits.requestHeaderBytesMin}..${cap}`, 'warn');
          return;
        }
        this.expected = size;
      }
      if (this.buffered < this.expected) return;
      const frame = this.take(this.expected);
      this.expected = -1;
      this.dispatch(frame);
      if (this.closed) return;
    }
  }

  /** Takes `n` bytes off the front of the buffered chunks; copies only when a frame spans chunks. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      this.buffered -= n;
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    // A buffer of its own (never a slice of Node's shared pool), so the frame may be transferred.
    const out = Buffer.allocUnsafeSlow(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const want = n - filled;
      if (c.length <= want) {
        c.copy(out, filled);
        filled += c.length;
        this.chunks.shift();
      } else {
        c.copy(out, filled, 0, want);
        this.chunks[0] = c.subarray(want);
        filled += want;
      }
    }
    this.buffered -= n;
    return out;
  }

  private dispatch(frame: Buffer): void {
    let req: DecodedRequest;
    try {
      req = decodeRequest(frame);
    } catch (err) {
      this.rejectFrame(err);
      return;
    }
    const entry = handlerFor(req.apiKey);
    const v = req.header.apiVersion;
    if (!entry || v < entry.minVersion || v > entry.maxVersion) {
      if (req.apiKey === 18) this.queueResponse(Promise.resolve(this.apiVersionsUnsupported(req.header.correlationId)));
      else this.close(`unsupported ${entry ? 'version ' + v + ' of' : ''} api ${req.apiKey}`, 'warn');
      return;
    }
    this.trusted = true;
    this.queueResponse(this.handle(entry, req, frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength));
  }

  private async handle(entry: HandlerEntry, req: DecodedRequest, frameOwned: boolean): Promise<Buffer[] | null> {
    const ctx: RequestContext = { broker: this.broker, header: req.header, clientHost: this.remoteAddress, frameOwned };
    const api = API_NAMES[req.apiKey];
    const start = performance.now();
    try {
      const body = await (entry.handle as (c: RequestContext, b: unknown) => unknown)(ctx, req.body);
      if (body === null) return null;
      return this.encode(req, body);
    } catch (err) {
      this.broker.probe.requestFailed(api);
      throw err;
    } finally {
      this.broker.probe.requestDone(api, (performance.now() - start) / 1000);
    }
  }

  /**
   * Encodes a handler's answer. Handlers echo request fields into their answers (topic names,
   * resource names), and a field that a request version lets be null may have no null in the
   * response version (Metadata v10-11's topic name, nullable in the request from v10 and in the
   * response only from v12). The encoder refuses such a null; when the request itself carried a
   * null under that field's name, the client asked something this version cannot answer, which
   * is not a fault of the node: the item is answered with INVALID_REQUEST, as Kafka does, or the
   * connection is closed when the answer has no error code to carry, as for a request that does
   * not decode. A null the request did not carry is Brook's own bug and fails loudly.
   */
  private encode(req: DecodedRequest, body: unknown): Buffer[] {
    const { apiVersion: v, correlationId } = req.header;
    try {
      return encodeResponseSegments(req.apiKey, v, correlationId, body as never);
    } catch (err) {
      if (!(err instanceof NullFieldError) || !carriesNull(req.body, err.field)) throw err;
      const why = `${err.field} may not be null in ${API_NAMES[req.apiKey]} v${v}`;
      const answer = invalidRequestResponse(req.apiKey, v, body as never, why);
      if (answer === null) throw new RefusedRequest(`bad request: ${why}`);
      this.broker.log.debug({ connection: this.id, api: API_NAMES[req.apiKey], version: v, field: err.field }, 'request answered with INVALID_REQUEST');
      return encodeResponseSegments(req.apiKey, v, correlationId, answer);
    }
  }

  private rejectFrame(err: unknown): void {
    if (err instanceof UnsupportedVersionError && err.apiKey === 18) {
      // An ApiVersions version newer than ours: answer in v0 with UNSUPPORTED_VERSION and our
      // ranges, so the client retries with one we speak; the connection stays open.
      this.queueResponse(Promise.resolve(this.apiVersionsUnsupported(err.correlationId)));
      return;
    }
    if (err instanceof UnsupportedVersionError || err instanceof UnknownApiError || err instanceof ProtocolError) {
      this.close(`bad request: ${err.message}`, 'warn');
      return;
    }
    this.close(`request failed to decode: ${(err as Error).message}`, 'warn');
  }

  private apiVersionsUnsupported(correlationId: number): Buffer[] {
    return encodeResponseSegments(18, 0, correlationId, { errorCode: 35, apiKeys: supportedApiVersions(), throttleTimeMs: 0 });
  }

  private queueResponse(work: Promise<Buffer[] | null>): void {
    const slot: Slot = { done: false, response: null };
    this.slots.push(slot);
    this.inFlight++;
    this.updateFlow();
    work.then(
      (response) => {
        slot.done = true;
        slot.response = response;
        this.inFlight--;
        this.writeReady();
      },
      (err: Error) => {
        if (err instanceof RefusedRequest) {
          this.close(err.message, 'warn');
          return;
        }
        this.broker.log.error({ err, connection: this.id }, 'request handler failed');
        this.close(`request handler failed: ${err.message}`, 'warn');
      },
    );
  }

  /** Writes every finished response at the head of the queue, keeping request order. */
  private writeReady(): void {
    if (this.closed) return;
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      if (!slot.response) continue;
      // Responses finished in the same tick (a batch of replies from a worker thread resolves
      // many at once) leave in one writev instead of one write syscall each.
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(this.uncork);
      }
      for (const b of slot.response) this.socket.write(b);
    }
    this.updateFlow();
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  /** Pauses reading while too many requests are in flight or the socket's write buffer is full. */
  private updateFlow(): void {
    if (this.closed) return;
    const busy = this.inFlight >= gatewayLimits.inFlightRequestsMax || this.socket.writableLength > gatewayLimits.writeBufferBytesMax;
    if (busy && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!busy && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }
}
