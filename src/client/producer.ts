/**
 * Brook's producer, on the caller's thread. send() appends records to one open batch per
 * partition (the accumulator); a drain loop closes batches that are full, older than lingerMs,
 * being flushed, or whose leader has no produce request in flight (so a lone send does not wait
 * for the linger), and sends each leader one Produce request carrying one batch per partition.
 *
 * Idempotence (on by default): the producer gets a producer id with InitProducerId, gives each
 * batch its partition's next sequence number when the batch closes, and keeps the finished bytes,
 * so a retry resends the identical batch and the broker drops duplicates. A partition has at most
 * IDEMPOTENT_IN_FLIGHT_MAX batches in flight; when one fails retriably the partition stops
 * sending, waits for its other in-flight batches to settle (later ones fail with
 * OUT_OF_ORDER_SEQUENCE_NUMBER, which is then expected), and resends the failed batches in
 * sequence order. Nothing is duplicated or reordered. A batch that fails for good leaves a gap in
 * the sequence, so the producer then takes a new producer id and renumbers what is not yet sent.
 *
 * Memory is bounded: records held (queued or in flight) count against bufferMemoryBytes and
 * send() waits, at most maxBlockMs, for room. Not thread-safe.
 */
import { codecId, type CompressionName } from '../compression/index.js';
import { backoffMs, Cluster, type ClientOptions } from './cluster.js';
import { ClientClosedError, InvalidArgumentError, isRetriableError, KafkaClientError, KafkaProtocolError, TimeoutError } from './errors.js';
import {
  BATCH_BYTES_DEFAULT,
  BUFFER_MEMORY_BYTES_DEFAULT,
  DELIVERY_TIMEOUT_MS_DEFAULT,
  IDEMPOTENT_IN_FLIGHT_MAX,
  LINGER_MS_DEFAULT,
  MAX_BLOCK_MS_DEFAULT,
  MAX_REQUEST_BYTES_DEFAULT,
  PRODUCE_TIMEOUT_MS_DEFAULT,
  PRODUCER_IN_FLIGHT_MAX_DEFAULT,
} from './limits.js';
import { defaultPartitioner, type Partitioner } from './partitioner.js';
import { BATCH_HEADER_BYTES, BatchBuilder, type Bytes, type HeadersInput } from './record-batch.js';
import { isRetriable } from '../protocol/index.js';

/** UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH: the metadata is stale. */
const LEADERSHIP_ERRORS = new Set([3, 5, 6, 74, 75]);

export interface ProducerOptions extends ClientOptions {
  /** -1 (all, the default), 1 (leader) or 0 (no response). Idempotence requires -1. */
  acks?: -1 | 0 | 1;
  idempotent?: boolean;
  compression?: CompressionName;
  batchBytes?: number;
  lingerMs?: number;
  bufferMemoryBytes?: number;
  maxBlockMs?: number;
  deliveryTimeoutMs?: number;
  maxRequestBytes?: number;
  /** Produce requests in flight per broker; capped at 5 with idempotence. */
  maxInFlightRequests?: number;
  allowAutoTopicCreation?: boolean;
  partitioner?: Partitioner;
  produceTimeoutMs?: number;
}

/** The settings a producer runs with, defaults filled in (for tools that print them). */
export interface ProducerSettings {
  acks: -1 | 0 | 1;
  idempotent: boolean;
  compression: CompressionName;
  batchBytes: number;
  lingerMs: number;
  bufferMemoryBytes: number;
  maxInFlightRequests: number;
  maxRequestBytes: number;
}

export interface ProducerMessage {
  key?: Bytes | null;
  value: Bytes | null;
  headers?: HeadersInput;
  partition?: number;
  timestamp?: number;
}

export interface ProducerRecord {
  topic: string;
  messages: ProducerMessage[];
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** The record's offset; -1 with acks=0 or when the broker reported a duplicate. */
  offset: number;
}

/** One send() call's outstanding records. */
class SendCall {
  remaining: number;
  readonly results: RecordMetadata[];
  error: Error | null = null;
  constructor(
    count: number,
    readonly resolve: (r: RecordMetadata[]) => void,
    readonly reject: (e: Error) => void,
  ) {
    this.remaining = count;
    this.results = new Array<RecordMetadata>(count);
  }
}

/** A contiguous run of one send call's records inside one batch. */
interface Segment {
  call: SendCall;
  firstIndex: number;
  firstDelta: number;
  count: number;
}

class ProducerBatch {
  readonly segments: Segment[] = [];
  bytes: Promise<Buffer> | null = null;
  baseSequence = -1;
  attempts = 0;
  full = false;
  reservedBytes = 0;
  readonly createdAtMs = Date.now();
  constructor(
    readonly state: PartitionState,
    readonly builder: BatchBuilder,
  ) {}
}

class PartitionState {
  open: ProducerBatch | null = null;
  readonly ready: ProducerBatch[] = [];
  readonly inflight: ProducerBatch[] = [];
  readonly retry: ProducerBatch[] = [];
  nextSequence = 0;
  /** Size the partition's last batch reached: the next one's buffer starts there (see BatchBuilder). */
  lastBatchBytes = 0;
  retrying = false;
  backoffUntilMs = 0;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get isEmpty(): boolean {
    return this.open === null && this.ready.length === 0 && this.inflight.length === 0 && this.retry.length === 0;
  }
}

export class Producer {
  readonly cluster: Cluster;
  private readonly acks: -1 | 0 | 1;
  private readonly idempotent: boolean;
  private readonly compressionName: CompressionName;
  private readonly compression: number;
  private readonly batchBytes: number;
  private readonly lingerMs: number;
  private readonly bufferMemoryBytes: number;
  private readonly maxBlockMs: number;
  private readonly deliveryTimeoutMs: number;
  private readonly maxRequestBytes: number;
  private readonly maxInFlight: number;
  private readonly allowAutoTopicCreation: boolean;
  private readonly partitioner: Partitioner;
  private readonly produceTimeoutMs: number;

  private readonly partitions = new Map<string, PartitionState>();
  private readonly partitionsByTopic = new Map<string, PartitionState[]>();
  private readonly sticky = new Map<string, number>();
  private readonly nodeInFlight = new Map<number, number>();
  private readonly nodeWriteTail = new Map<number, Promise<void>>();
  private bufferedBytes = 0;
  private memoryWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private batchesOutstanding = 0;
  private flushing = 0;
  private drainTimer: NodeJS.Timeout | null = null;
  private drainTimerAt = Infinity;
  private drainImmediate: NodeJS.Immediate | null = null;
  private producerId = -1;
  private producerEpoch = -1;
  private initializing: Promise<void> | null = null;
  private needsReset = false;
  private closed = false;
  private appendTail: Promise<void> = Promise.resolve();
  private closedError: ClientClosedError | undefined;
  private appendsQueued = 0;

  constructor(opts: ProducerOptions) {
    this.cluster = new Cluster({ clientId: 'brook-producer', ...opts });
    this.idempotent = opts.idempotent ?? true;
    this.acks = opts.acks ?? -1;
    if (this.idempotent && this.acks !== -1) throw new InvalidArgumentError('an idempotent producer needs acks=-1 (all); set idempotent: false for acks 0 or 1');
    this.compressionName = opts.compression ?? 'none';
    this.compression = codecId(this.compressionName);
    this.batchBytes = opts.batchBytes ?? BATCH_BYTES_DEFAULT;
    this.lingerMs = opts.lingerMs ?? LINGER_MS_DEFAULT;
    this.bufferMemoryBytes = opts.bufferMemoryBytes ?? BUFFER_MEMORY_BYTES_DEFAULT;
    this.maxBlockMs = opts.maxBlockMs ?? MAX_BLOCK_MS_DEFAULT;
    this.deliveryTimeoutMs = opts.deliveryTimeoutMs ?? DELIVERY_TIMEOUT_MS_DEFAULT;
    this.maxRequestBytes = opts.maxRequestBytes ?? MAX_REQUEST_BYTES_DEFAULT;
    const inFlight = opts.maxInFlightRequests ?? PRODUCER_IN_FLIGHT_MAX_DEFAULT;
    this.maxInFlight = this.idempotent ? Math.min(inFlight, IDEMPOTENT_IN_FLIGHT_MAX) : inFlight;
    this.allowAutoTopicCreation = opts.allowAutoTopicCreation ?? true;
    this.partitioner = opts.partitioner ?? defaultPartitioner;
    this.produceTimeoutMs = opts.produceTimeoutMs ?? PRODUCE_TIMEOUT_MS_DEFAULT;
    if (this.batchBytes < BATCH_HEADER_BYTES + 16 || this.batchBytes > this.maxRequestBytes)
      throw new InvalidArgumentError(`batchBytes ${this.batchBytes} must be between 77 and maxRequestBytes`);
  }

  /** The settings in effect, defaults filled in. */
  get settings(): ProducerSettings {
    return {
      acks: this.acks,
      idempotent: this.idempotent,
      compression: this.compressionName,
      batchBytes: this.batchBytes,
      lingerMs: this.lingerMs,
      bufferMemoryBytes: this.bufferMemoryBytes,
      maxInFlightRequests: this.maxInFlight,
      maxRequestBytes: this.maxRequestBytes,
    };
  }

  /** Bytes of records held by the producer (queued or in flight). */
  get bufferedBytesNow(): number {
    return this.bufferedBytes;
  }

  /**
   * Appends the messages to their partitions' batches and resolves, once every one is
   * acknowledged, with each message's partition and offset, in the order given.
   */
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(new ClientClosedError('producer'));
    const { topic, messages } = record;
    if (messages.length === 0) return Promise.resolve([]);
    let resolve!: (r: RecordMetadata[]) => void;
    let reject!: (e: Error) => void;
    const done = new Promise<RecordMetadata[]>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const call = new SendCall(messages.length, resolve, reject);
    // Sends append in call order, so records of one partition keep the order of the calls. The
    // common case (producer id and topic known, memory free, nothing queued) appends at once;
    // anything that must wait goes through one chain, and later sends queue behind it.
    let from = 0;
    if (this.appendsQueued === 0 && (!this.idempotent || this.producerId >= 0)) {
      const info = this.cluster.topic(topic);
      if (info !== undefined) from = this.appendFrom(call, topic, messages, info.partitions.length, 0);
    }
    if (from < messages.length) {
      this.appendsQueued++;
      this.appendTail = this.appendTail
        .then(() => this.appendSlow(call, topic, messages, from))
        .catch((err: Error) => this.failRemaining(call, from, err))
        .finally(() => {
          this.appendsQueued--;
        });
    }
    this.scheduleDrain(0);
    return done;
  }

  private async appendSlow(call: SendCall, topic: string, messages: ProducerMessage[], from: number): Promise<void> {
    // One error for every send still queued at close: building an Error per send captures a
    // stack through the whole chain of queued sends, which made failing N of them cost O(N²).
    if (this.closed) throw (this.closedError ??= new ClientClosedError('producer'));
    if (this.idempotent && this.producerId < 0) await this.initProducerId();
    let info = this.cluster.topic(topic);
    if (info === undefined) info = (await this.cluster.waitForTopics([topic], this.maxBlockMs, this.allowAutoTopicCreation)).get(topic)!;
    let i = from;
    while (i < messages.length) {
      i = this.appendFrom(call, topic, messages, info.partitions.length, i);
      if (i < 0) return;
      if (i < messages.length) {
        try {
          await this.waitForMemory(this.recordBytes(messages[i]!));
        } catch (err) {
          this.failRemaining(call, i, err as Error);
          return;
        }
      }
    }
    this.scheduleDrain(0);
  }

  private recordBytes(m: ProducerMessage): number {
    // The record's encoded size plus a little for its offset and timestamp deltas.
    return BatchBuilder.recordSize(m.key, m.value, m.headers, 0, 0) + 8;
  }

  /**
   * Appends messages from index `from` until one needs buffer memory that is not free; returns
   * the index it stopped at (messages.length when all are in), or -1 after failing the call.
   */
  private appendFrom(call: SendCall, topic: string, messages: ProducerMessage[], numPartitions: number, from: number): number {
    const now = Date.now();
    for (let i = from; i < messages.length; i++) {
      const m = messages[i]!;
      let partition = m.partition ?? this.partitioner({ topic, key: m.key, numPartitions });
      if (partition < 0) partition = this.stickyPartition(topic, numPartitions);
      if (partition >= numPartitions || !Number.isInteger(partition)) {
        this.failRemaining(call, i, new InvalidArgumentError(`partition ${partition} of ${topic} does not exist (it has ${numPartitions})`));
        return -1;
      }
      const size = this.recordBytes(m);
      if (size + BATCH_HEADER_BYTES > this.maxRequestBytes || size > this.bufferMemoryBytes) {
        this.failRemaining(call, i, new InvalidArgumentError(`a record of ${size} bytes is larger than maxRequestBytes ${this.maxRequestBytes}`, 10));
        return -1;
      }
      if (this.bufferedBytes + size > this.bufferMemoryBytes) return i;
      this.append(call, i, topic, partition, m, m.timestamp ?? now, size);
    }
    return messages.length;
  }

  private failRemaining(call: SendCall, from: number, err: Error): void {
    call.error ??= err;
    call.remaining -= call.results.length - from;
    if (call.remaining === 0) call.reject(call.error);
  }

  private stickyPartition(topic: string, numPartitions: number): number {
    let p = this.sticky.get(topic);
    if (p === undefined || p >= numPartitions) {
      p = Math.floor(Math.random() * numPartitions);
      this.sticky.set(topic, p);
    }
    return p;
  }

  private partitionState(topic: string, partition: number): PartitionState {
    // By topic, then partition index: append() asks once per record, and a string key per
    // record (topic + partition) was an allocation per record.
    let byPartition = this.partitionsByTopic.get(topic);
    if (byPartition === undefined) this.partitionsByTopic.set(topic, (byPartition = []));
    let s = byPartition[partition];
    if (s === undefined) {
      s = new PartitionState(topic, partition);
      byPartition[partition] = s;
      this.partitions.set(`${topic}\u0000${partition}`, s);
    }
    return s;
  }

  private append(call: SendCall, index: number, topic: string, partition: number, m: ProducerMessage, timestampMs: number, size: number): void {
    const state = this.partitionState(topic, partition);
    let batch = state.open;
    if (batch === null || !batch.builder.tryAppend(m.key, m.value, m.headers, timestampMs)) {
      if (batch !== null) {
        batch.full = true;
        this.closeBatch(state);
      }
      batch = new ProducerBatch(state, new BatchBuilder(this.batchBytes, state.lastBatchBytes));
      state.open = batch;
      this.batchesOutstanding++;
      if (!batch.builder.tryAppend(m.key, m.value, m.headers, timestampMs)) throw new Error('invariant: the first record of a batch always fits');
    }
    batch.reservedBytes += size;
    this.bufferedBytes += size;
    const delta = batch.builder.count - 1;
    const last = batch.segments[batch.segments.length - 1];
    if (last !== undefined && last.call === call && last.firstIndex + last.count === index) last.count++;
    else batch.segments.push({ call, firstIndex: index, firstDelta: delta, count: 1 });
  }

  /** Moves the open batch to the ready queue, giving it the partition's next sequence. */
  private closeBatch(state: PartitionState): void {
    const batch = state.open;
    if (batch === null) return;
    state.open = null;
    state.lastBatchBytes = batch.builder.sizeBytes;
    if (this.sticky.get(state.topic) === state.partition) this.sticky.delete(state.topic);
    this.finishBatch(batch);
    state.ready.push(batch);
  }

  private finishBatch(batch: ProducerBatch): void {
    const state = batch.state;
    if (this.idempotent) {
      batch.baseSequence = state.nextSequence;
      state.nextSequence = (state.nextSequence + batch.builder.count) % 0x80000000;
    }
    batch.bytes = batch.builder.finish({
      producerId: this.idempotent ? this.producerId : -1,
      producerEpoch: this.idempotent ? this.producerEpoch : -1,
      baseSequence: batch.baseSequence,
      compression: this.compression,
    });
    // A compression failure surfaces when the batch is sent; avoid an unhandled rejection meanwhile.
    batch.bytes.catch(() => undefined);
  }

  private async initProducerId(): Promise<void> {
    this.initializing ??= (async () => {
      const res = await this.cluster.withRetry('InitProducerId', async () => {
        const conn = await this.cluster.anyConnection();
        const r = await conn.request(22, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
        if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, 'InitProducerId');
        return r;
      });
      this.producerId = res.producerId;
      this.producerEpoch = res.producerEpoch;
    })().finally(() => {
      this.initializing = null;
    });
    return this.initializing;
  }

  private waitForMemory(size: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = (): void => {
        if (this.bufferedBytes + size <= this.bufferMemoryBytes || this.closed) {
          clearTimeout(timer);
          this.memoryWaiters = this.memoryWaiters.filter((w) => w !== waiter);
          if (this.closed) reject(new ClientClosedError('producer'));
          else resolve();
        }
      };
      const timer = setTimeout(() => {
        this.memoryWaiters = this.memoryWaiters.filter((w) => w !== waiter);
        reject(new TimeoutError(`no buffer memory for a ${size}-byte record within maxBlockMs ${this.maxBlockMs} (${this.bufferedBytes} of ${this.bufferMemoryBytes} bytes held)`));
      }, this.maxBlockMs);
      this.memoryWaiters.push(waiter);
      // Records may be waiting in open batches; make sure they go out so memory comes back.
      this.scheduleDrain(0);
    });
  }

  private releaseMemory(bytes: number): void {
    this.bufferedBytes -= bytes;
    for (const w of [...this.memoryWaiters]) w();
  }

  // -------------------------------------------------------------------------------------
  // The drain loop.

  private scheduleDrain(delayMs: number): void {
    if (this.closed && this.batchesOutstanding === 0) return;
    if (delayMs <= 0) {
      this.drainImmediate ??= setImmediate(() => {
        this.drainImmediate = null;
        this.drain();
      });
      return;
    }
    const at = Date.now() + delayMs;
    if (this.drainTimer !== null && this.drainTimerAt <= at) return;
    if (this.drainTimer !== null) clearTimeout(this.drainTimer);
    this.drainTimerAt = at;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = null;
      this.drainTimerAt = Infinity;
      this.drain();
    }, delayMs);
  }

  private drain(): void {
    if (this.needsReset) {
      this.maybeReset();
      return;
    }
    const now = Date.now();
    let nextWakeMs = Infinity;
    const byNode = new Map<number, PartitionState[]>();
    for (const state of this.partitions.values()) {
      if (state.isEmpty) continue;
      const topic = this.cluster.topic(state.topic);
      const leader = topic?.partitions[state.partition]?.leader ?? -1;
      if (state.open !== null) {
        const age = now - state.open.createdAtMs;
        const idle = leader >= 0 && (this.nodeInFlight.get(leader) ?? 0) === 0;
        if (state.open.full || age >= this.lingerMs || this.flushing > 0 || idle || this.memoryWaiters.length > 0) this.closeBatch(state);
        else nextWakeMs = Math.min(nextWakeMs, this.lingerMs - age);
      }
      if (state.ready.length === 0 || state.retrying || state.inflight.length >= IDEMPOTENT_IN_FLIGHT_MAX) continue;
      if (state.backoffUntilMs > now) {
        nextWakeMs = Math.min(nextWakeMs, state.backoffUntilMs - now);
        continue;
      }
      if (leader < 0) {
        this.cluster.refresh([state.topic], this.allowAutoTopicCreation).catch(() => undefined);
        state.backoffUntilMs = now + backoffMs(state.ready[0]!.attempts, this.cluster.retryBackoffMs);
        nextWakeMs = Math.min(nextWakeMs, state.backoffUntilMs - now);
        continue;
      }
      let list = byNode.get(leader);
      if (list === undefined) byNode.set(leader, (list = []));
      list.push(state);
    }
    for (const [nodeId, states] of byNode) this.sendToNode(nodeId, states);
    if (nextWakeMs < Infinity) this.scheduleDrain(Math.max(1, nextWakeMs));
  }

  /** Sends Produce requests to one broker while it has free in-flight slots and ready batches. */
  private sendToNode(nodeId: number, states: PartitionState[]): void {
    while ((this.nodeInFlight.get(nodeId) ?? 0) < this.maxInFlight) {
      const batches: ProducerBatch[] = [];
      let bytes = 0;
      for (const s of states) {
        if (s.ready.length === 0 || s.retrying || s.inflight.length >= IDEMPOTENT_IN_FLIGHT_MAX) continue;
        const b = s.ready[0]!;
        const size = b.builder.sizeBytes;
        if (batches.length > 0 && bytes + size > this.maxRequestBytes) continue;
        s.ready.shift();
        s.inflight.push(b);
        batches.push(b);
        bytes += size;
      }
      if (batches.length === 0) return;
      this.nodeInFlight.set(nodeId, (this.nodeInFlight.get(nodeId) ?? 0) + 1);
      void this.produce(nodeId, batches);
    }
  }

  private async produce(nodeId: number, batches: ProducerBatch[]): Promise<void> {
    let res: import('../protocol/index.js').ResponseBodies[0] | undefined;
    let requestError: Error | null = null;
    // Requests to one broker are written in the order they were drained, even though their
    // batches finish (compress) asynchronously: a later batch of a partition must never reach
    // the broker before an earlier one, or idempotence sees a sequence gap.
    const prev = this.nodeWriteTail.get(nodeId) ?? Promise.resolve();
    const turn = prev.then(async () => {
      const records = await Promise.all(batches.map((b) => b.bytes!));
      const byTopic = new Map<string, { index: number; records: Buffer }[]>();
      batches.forEach((b, i) => {
        let l = byTopic.get(b.state.topic);
        if (l === undefined) byTopic.set(b.state.topic, (l = []));
        l.push({ index: b.state.partition, records: records[i]! });
      });
      const conn = await this.cluster.connection(nodeId);
      for (const b of batches) b.attempts++;
      // Wrapped so the chain moves on once the request is written, not when it is answered.
      return {
        response: conn.request(
          0,
          {
            transactionalId: null,
            acks: this.acks,
            timeoutMs: this.produceTimeoutMs,
            topicData: [...byTopic].map(([name, partitionData]) => ({ name, partitionData })),
          },
          { expectResponse: this.acks !== 0 },
        ),
      };
    });
    this.nodeWriteTail.set(
      nodeId,
      turn.then(
        () => undefined,
        () => undefined,
      ),
    );
    try {
      res = await (await turn).response;
    } catch (err) {
      requestError = err as Error;
    } finally {
      this.nodeInFlight.set(nodeId, (this.nodeInFlight.get(nodeId) ?? 1) - 1);
    }
    for (const b of batches) {
      if (requestError !== null) {
        // The node is gone or unreachable: its partitions may have a new leader already.
        this.refreshLeaders(b.state.topic);
        this.onBatchError(b, requestError, isRetriableError(requestError));
        continue;
      }
      if (res === undefined) {
        this.onBatchDone(b, -1);
        continue;
      }
      const p = res.responses.find((t) => t.name === b.state.topic)?.partitionResponses.find((x) => x.index === b.state.partition);
      if (p === undefined) this.onBatchError(b, new KafkaProtocolError(-1, `Produce response lacks ${b.state.topic}-${b.state.partition}`), true);
      else if (p.errorCode === 0) this.onBatchDone(b, p.baseOffset);
      else if (p.errorCode === 46)
        this.onBatchDone(b, -1); // DUPLICATE_SEQUENCE_NUMBER: already written.
      else {
        // OUT_OF_ORDER_SEQUENCE_NUMBER while an earlier batch of the partition failed or is still
        // unanswered is expected (the broker has not seen that one yet: after a leader change it went
        // to the old leader); as the Java producer does, the batch is retried after it.
        const expected = p.errorCode === 45 && (b.state.retrying || b.state.inflight.some((x) => x !== b && x.baseSequence < b.baseSequence));
        // The leader moved (or is moving): learn the new one now, so the retry goes there.
        if (LEADERSHIP_ERRORS.has(p.errorCode)) this.refreshLeaders(b.state.topic);
        this.onBatchError(b, new KafkaProtocolError(p.errorCode, `Produce to ${b.state.topic}-${b.state.partition}`, p.errorMessage), expected || isRetriable(p.errorCode));
      }
    }
    this.scheduleDrain(0);
  }

  /** Refreshes a topic's metadata in the background (coalesced with any refresh under way). */
  private refreshLeaders(topic: string): void {
    this.cluster.invalidate(topic);
    this.cluster.refresh([topic], this.allowAutoTopicCreation).catch(() => undefined);
  }

  private removeInflight(b: ProducerBatch): void {
    const i = b.state.inflight.indexOf(b);
    if (i >= 0) b.state.inflight.splice(i, 1);
  }

  private onBatchDone(b: ProducerBatch, baseOffset: number): void {
    this.removeInflight(b);
    const { topic, partition } = b.state;
    for (const seg of b.segments) {
      const call = seg.call;
      for (let i = 0; i < seg.count; i++) {
        call.results[seg.firstIndex + i] = { topic, partition, offset: baseOffset < 0 ? -1 : baseOffset + seg.firstDelta + i };
      }
      call.remaining -= seg.count;
      if (call.remaining === 0) {
        if (call.error !== null) call.reject(call.error);
        else call.resolve(call.results);
      }
    }
    this.retireBatch(b);
    this.settleRetries(b.state);
  }

  private onBatchError(b: ProducerBatch, err: Error, retriable: boolean): void {
    this.removeInflight(b);
    const state = b.state;
    const expired = Date.now() - b.createdAtMs > this.deliveryTimeoutMs;
    if (retriable && !expired && !this.closed) {
      state.retrying = true;
      state.retry.push(b);
      this.settleRetries(state);
      return;
    }
    for (const seg of b.segments) {
      const call = seg.call;
      call.error ??=
        expired && retriable
          ? new TimeoutError(`records to ${state.topic}-${state.partition} not delivered within deliveryTimeoutMs ${this.deliveryTimeoutMs}: ${err.message}`)
          : err;
      call.remaining -= seg.count;
      if (call.remaining === 0) call.reject(call.error);
    }
    this.retireBatch(b);
    // The failed batch leaves a hole in the partition's sequence: start over with a new producer id.
    if (this.idempotent) this.needsReset = true;
    this.settleRetries(state);
  }

  /** Once a retrying partition has nothing in flight, its failed batches go back to the front, in order. */
  private settleRetries(state: PartitionState): void {
    if (!state.retrying || state.inflight.length > 0) return;
    state.retry.sort((a, b) => a.baseSequence - b.baseSequence);
    state.ready.unshift(...state.retry);
    const attempts = state.retry[0]?.attempts ?? 1;
    state.retry.length = 0;
    state.retrying = false;
    state.backoffUntilMs = Date.now() + backoffMs(attempts - 1, this.cluster.retryBackoffMs);
    this.scheduleDrain(0);
  }

  private retireBatch(b: ProducerBatch): void {
    this.batchesOutstanding--;
    this.releaseMemory(b.reservedBytes);
    if (this.batchesOutstanding === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  /**
   * After a batch failed for good: once nothing is in flight, take a new producer id and renumber
   * every batch never sent, so the broker sees a fresh, gapless sequence. A batch that was sent
   * and is waiting to be retried may already be in the log: under a new producer id the broker
   * could not tell it from a new one and would write it twice, so it fails instead (its outcome
   * is unknown, as for a batch that timed out).
   */
  private maybeReset(): void {
    for (const s of this.partitions.values()) if (s.inflight.length > 0) return;
    if (this.initializing !== null) return;
    this.needsReset = false;
    this.producerId = -1;
    this.initProducerId().then(
      () => {
        for (const s of this.partitions.values()) {
          s.nextSequence = 0;
          const unsent = s.ready.filter((b) => b.attempts === 0);
          const sent = s.ready.filter((b) => b.attempts > 0);
          s.ready.splice(0, s.ready.length, ...unsent);
          for (const b of sent) {
            const err = new KafkaProtocolError(
              45,
              `Produce to ${s.topic}-${s.partition}`,
              'outcome unknown: the batch was sent before the producer had to take a new producer id, and is not sent again under it (it could be written twice)',
            );
            this.onBatchError(b, err, false);
          }
          for (const b of s.ready) this.finishBatch(b);
        }
        this.needsReset = false;
        this.scheduleDrain(0);
      },
      (err: Error) => {
        for (const s of this.partitions.values()) {
          for (const b of s.ready.splice(0)) this.onBatchError(b, err, false);
        }
        this.needsReset = false;
      },
    );
  }

  /** Sends everything buffered now and resolves when all of it is acknowledged or failed. */
  async flush(timeoutMs = this.deliveryTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Sends queued behind a producer-id or metadata lookup make their batches only when their
    // turn in the append chain comes: wait for the chain first, or flush would miss them.
    while (this.appendsQueued > 0) await this.untilDeadline(this.appendTail, deadline, 'flush');
    if (this.batchesOutstanding === 0) return;
    this.flushing++;
    try {
      this.scheduleDrain(0);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new TimeoutError(`flush did not finish within ${timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    } finally {
      this.flushing--;
    }
  }

  private untilDeadline(p: Promise<void>, deadline: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`${what} did not finish in time`)), Math.max(0, deadline - Date.now()));
      p.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /** Flushes (bounded by deliveryTimeoutMs), then closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } catch (err) {
      if (!(err instanceof KafkaClientError)) throw err;
    } finally {
      this.closed = true;
      for (const w of [...this.memoryWaiters]) w();
      if (this.drainTimer !== null) clearTimeout(this.drainTimer);
      if (this.drainImmediate !== null) clearImmediate(this.drainImmediate);
      await this.cluster.close();
    }
  }
}
