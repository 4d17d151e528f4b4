/**
 * The partition actor: lives on one worker thread and is the only owner of its partition's
 * SQLite log (src/storage/partition-log.ts). Nothing else opens that database for writing.
 *
 * Each turn it receives every message queued since the last one. Consecutive appends are
 * committed together in one transaction (group commit), which is what lets one partition take
 * hundreds of thousands of records per second; reads and other messages are handled in arrival
 * order between those runs, so a read always sees every append queued before it.
 *
 * Expected failures (corrupt batch, sequence gap, offset out of range) are error outcomes with
 * the Kafka error name as code. A storage failure (KAFKA_STORAGE_ERROR: a failing disk or an
 * armed failure point) throws, which crashes the actor: the supervisor restarts it, and the
 * restart reopens and recovers the log.
 *
 * Log maintenance runs as turns of the actor, in bounded steps: the actor schedules itself an
 * internal `RunMaintenance` message (ActorContext.schedule), so a step that throws (a failing
 * disk) fails the actor and the supervisor restarts it at once, as an append would. Retention
 * runs every `logRetentionCheckIntervalMs` (the node's log.retention.check.interval.ms, 5
 * minutes by default, as in Kafka; the first check comes at most 30 s after the actor starts);
 * compaction, for compacted topics, every `compactionIntervalMs`. While a step reports more work
 * the next follows `maintenanceBacklogIntervalMs` later, so a backlog clears without stalling
 * produce and fetch. A topic whose compression.type names a codec has its batches
 * recompressed before they are appended, and a compacted topic has its records checked for keys;
 * such a turn is asynchronous (the codecs are).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fail, ok, type Actor, type ActorContext, type CancelScheduled, type Outcome } from '../../src/runtime/actor.js';
import type { MessageOf } from '../../src/runtime/protocol.js';
import { withTransfer } from '../../src/runtime/envelope.js';
import { compactionBytesPerStepDefault, retentionBatchesPerStepDefault } from '../../src/storage/limits.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { concatBatches } from '../../src/storage/partition-log-read.js';
import { walCheckpointerOfThread } from '../../src/storage/wal-checkpointer.js';
import { CpuPoolBusyError, cpuPoolOfThread, type CpuPool } from '../../src/compression/cpu-pool.js';
import { StorageError } from '../../src/storage/storage-error.js';
import { compacts, targetCodec } from '../../src/storage/topic-config.js';
import { CacheStateWriter } from '../../src/cluster/batch-cache-state.js';
import type { Appended, HighWatermarkAdvanced, PartitionConfig, PartitionMessage, PartitionOffsets, PartitionProtocol, PartitionState, ReadResult } from './messages.js';
import { Replication, ReplicationError } from './replication.js';

type Append = MessageOf<PartitionProtocol, 'Append'>;
/** Every message but the two a turn handles apart: appends (group commit) and maintenance (asynchronous). */
type AnsweredType = Exclude<keyof PartitionProtocol, 'Append' | 'RunMaintenance' | 'Maintain'>;

export function createPartitionActor(ctx: ActorContext<PartitionProtocol>, config: unknown): Actor<PartitionProtocol> {
  const cfg = config as PartitionConfig;
  // The main thread's batch cache serves nothing of this partition while its log opens (recovery).
  if (cfg.cacheState) new CacheStateWriter(cfg.cacheState).begin();
  return new PartitionActor(ctx, cfg, openPartitionLog(ctx, cfg));
}

/** Opens a partition's log as its owner does; shared with the group coordinator, which owns a __consumer_offsets partition. */
export function openPartitionLog(ctx: Pick<ActorContext, 'now'>, cfg: PartitionConfig): PartitionLog {
  mkdirSync(dirname(cfg.path), { recursive: true });
  return PartitionLog.open({
    path: cfg.path,
    durability: cfg.durability,
    clock: ctx.now,
    config: cfg.topicConfig,
    walCheckpointer: walCheckpointerOfThread(),
    // Compaction's decompress and recompress run on the thread's CPU pool, off this thread.
    codecs: cpuPoolOfThread(cfg.cpuPool),
  });
}

/** How often a compaction step runs when idle, and maintenance while a step says there is more to do. */
const compactionIntervalMs = 1000;
const maintenanceBacklogIntervalMs = 10;
/** Kafka's replica.high.watermark.checkpoint.interval.ms. */
const highWatermarkCheckpointIntervalMs = 5_000;
/** Kafka's log.retention.check.interval.ms default, for a config that does not name one. */
const logRetentionCheckIntervalDefaultMs = 300_000;
/** Kafka's InitialTaskDelayMs: the first retention check waits at most this long, so a node restarted often still checks. */
const retentionInitialDelayMs = 30_000;

/** Exported so the group coordinator can embed one for the `__consumer_offsets` partition it owns. */
export class PartitionActor implements Actor<PartitionProtocol> {
  /** The maintenance step scheduled to this actor and not yet delivered. */
  private cancelMaintenance: CancelScheduled | undefined;
  private stopped = false;
  private lastMaintenanceError: string | undefined;
  private readonly retentionCheckIntervalMs: number;
  /** When the next retention check is due, by ctx.now. */
  private nextRetentionCheckMs: number;
  /** True while the last retention step stopped at its bound with more to delete. */
  private retentionBacklog = false;
  private retentionChecks = 0;
  /** This thread's CPU pool: appends to recompress or to check for keys are prepared there. */
  private readonly cpuPool: CpuPool;
  /** Shared with the main thread's batch cache (src/cluster/batch-cache-state.ts); absent when it is off. */
  private readonly cacheState: CacheStateWriter | undefined;
  /** Appends whose records the CPU pool recompressed: their buffers are not the request's own, so the cache gets a copy. */
  private readonly recompressed = new WeakSet<Append>();
  private publishedHighWatermark = -1;
  private publishedLogStart = -1;
  /** This replica's role in the partition's replication (single node: it leads alone). */
  private readonly replication: Replication;
  private cancelReplicaCheck: CancelScheduled | undefined;
  private lastHighWatermarkCheckpointMs = 0;
  /** What the last HighWatermarkAdvanced said, so a turn that changed none of it publishes nothing. */
  private published = { highWatermark: -1, logEndOffset: -1, leaderEpoch: -1, leader: false, isrSize: -1 };

  /** Answers to every message but appends and maintenance, checked against the protocol's replies. */
  private readonly answers: { readonly [T in AnsweredType]: (m: MessageOf<PartitionProtocol, T>) => PartitionProtocol[T]['reply'] } = {
    Read: (m) => this.read(m.fetchOffset, m.maxBytes),
    GetOffsets: () => this.offsets(),
    GetOffsetForTimestamp: (m) => this.log.offsetForTimestamp(m.timestampMs),
    GetMaxTimestampOffset: () => this.log.maxTimestampOffset(),
    // The cache checks the log start itself: batches above it stay valid.
    DeleteRecordsBefore: (m) => this.changingLog(false, () => ({ logStartOffset: this.log.deleteRecordsBefore(m.offset) })),
    TruncateTo: (m) =>
      this.changingLog(true, () => {
        this.log.truncateTo(m.offset);
        return this.offsets();
      }),
    SetLeaderEpoch: (m) => {
      this.log.setLeaderEpoch(m.leaderEpoch);
      return this.offsets();
    },
    SetTopicConfig: (m) =>
      this.changingLog(true, () => {
        this.log.setConfig(m.config);
        this.scheduleMaintenance(0);
        return this.offsets();
      }),
    SetRole: (m) => {
      // Only a new epoch, or leading <-> following, invalidates what the batch cache holds.
      this.cacheState?.begin();
      let moved = true;
      try {
        moved = this.replication.setRole(m.replication);
      } finally {
        this.publishCacheState(moved, this.cacheState !== undefined);
      }
      this.scheduleReplicaCheck();
      return this.replication.status();
    },
    ReplicaFetch: (m) => {
      const fetched = this.replication.replicaFetch(m);
      return fetched.records.byteLength > 0 ? withTransfer(fetched, [fetched.records.buffer as ArrayBuffer]) : fetched;
    },
    AppendReplica: (m) => this.changingLog(false, () => this.replication.appendReplica(m)),
    TruncateOnDivergence: (m) => this.changingLog(true, () => this.replication.truncateOnDivergence(m)),
    ResetTo: (m) => this.changingLog(true, () => this.replication.resetTo(m)),
    GetReplicaStatus: () => this.replication.status(),
    GetEpochEndOffset: (m) => this.replication.epochEndOffset(m),
    CheckReplicas: () => {
      this.replication.checkReplicas();
      this.scheduleReplicaCheck();
    },
    SetFailurePoint: (m) => {
      this.log.failurePoints.set(m.point, m.enabled, m.times);
      return { armed: this.log.failurePoints.armed() };
    },
  };

  constructor(
    private readonly ctx: ActorContext<PartitionProtocol>,
    private readonly cfg: PartitionConfig,
    private readonly log: PartitionLog,
  ) {
    this.retentionCheckIntervalMs = cfg.logRetentionCheckIntervalMs ?? logRetentionCheckIntervalDefaultMs;
    this.cpuPool = cpuPoolOfThread(cfg.cpuPool);
    this.cacheState = cfg.cacheState ? new CacheStateWriter(cfg.cacheState) : undefined;
    this.replication = new Replication(log, ctx.now, (proposal) => ctx.notify({ ...proposal, topic: cfg.topic, partition: cfg.partition }), cfg.replication);
    this.scheduleReplicaCheck();
    // A log just opened (recovered, or reopened after passivation or a move): nothing cached before counts.
    this.cacheState?.begin();
    this.publishCacheState(true, true);
    this.nextRetentionCheckMs = ctx.now() + Math.min(this.retentionCheckIntervalMs, retentionInitialDelayMs);
    this.scheduleMaintenance(this.idleDelayMs());
  }

  /**
   * Handles a turn. Two kinds of turn are asynchronous: one with appends to prepare (a compacted
   * topic refuses records without a key, and a compression.type codec recompresses, the codecs
   * being asynchronous), and one with a maintenance step (compaction may await its codecs). Any
   * other turn is handled synchronously by `receiveNow`.
   */
  receive(messages: readonly PartitionMessage[]): Outcome[] | Promise<Outcome[]> {
    const maintenanceAt = messages.findIndex((m) => m.type === 'RunMaintenance' || m.type === 'Maintain');
    if (maintenanceAt >= 0) return this.receiveWithMaintenance(messages, maintenanceAt);
    const codec = targetCodec(this.log.config.compressionType);
    const keysRequired = compacts(this.log.config);
    if ((codec === null && !keysRequired) || !messages.some((m) => m.type === 'Append')) return this.receiveNow(messages);
    return this.prepareThenReceive(messages, codec, keysRequired);
  }

  /**
   * A turn holding a maintenance step: the messages before it, then the step, then the rest, so
   * the step sees the log as every earlier message left it. A second step in the same turn (one
   * rescheduled while the first waited in the mailbox) is part of the rest and runs after.
   */
  private async receiveWithMaintenance(messages: readonly PartitionMessage[], at: number): Promise<Outcome[]> {
    const before = await this.receive(messages.slice(0, at));
    // A wake for maintenance checks retention now, whatever the schedule says.
    if (messages[at]!.type === 'Maintain') this.nextRetentionCheckMs = Math.min(this.nextRetentionCheckMs, this.ctx.now());
    await this.maintain();
    const after = await this.receive(messages.slice(at + 1));
    return [...before, ok(undefined), ...after];
  }

  private async prepareThenReceive(messages: readonly PartitionMessage[], codec: 0 | 1 | 2 | 3 | 4 | null, keysRequired: boolean): Promise<Outcome[]> {
    const rejected = new Map<number, Outcome>();
    const prepared = await Promise.all(
      messages.map(async (m, i): Promise<PartitionMessage | undefined> => {
        if (m.type !== 'Append') return m;
        try {
          // Both decode every batch; on the thread's CPU pool, so the other partitions of this
          // thread are not held up by this one's codec work (bench/recompression-sharing.mjs).
          if (keysRequired) await this.cpuPool.requireKeys(m.records);
          if (codec === null) return m;
          const recompressed: Append = { type: 'Append' as const, records: await this.cpuPool.recompressRecords(m.records, codec) };
          this.recompressed.add(recompressed);
          return recompressed;
        } catch (err) {
          if (err instanceof CpuPoolBusyError) {
            // A full pool is backpressure: the producer retries, as after a full mailbox.
            rejected.set(i, fail({ name: err.name, message: err.message, code: 'REQUEST_TIMED_OUT' }));
            return undefined;
          }
          if (!(err instanceof StorageError)) throw err;
          rejected.set(i, fail(err));
          return undefined;
        }
      }),
    );
    if (this.stopped) throw new Error('partition actor stopped while preparing appends');
    const kept = prepared.filter((m): m is PartitionMessage => m !== undefined);
    const answers = this.receiveNow(kept);
    let k = 0;
    return messages.map((_, i) => rejected.get(i) ?? answers[k++]!);
  }

  /**
   * Handles one turn synchronously (the group coordinator calls this for its offsets partition).
   * A maintenance step cannot run here: it goes through `receive`.
   */
  receiveNow(messages: readonly PartitionMessage[]): Outcome[] {
    const out = new Array<Outcome>(messages.length);
    let i = 0;
    while (i < messages.length) {
      const m = messages[i]!;
      if (m.type === 'Append') {
        let j = i;
        while (j < messages.length && messages[j]!.type === 'Append') j++;
        this.appendRun(messages.slice(i, j) as Append[], out, i);
        i = j;
      } else {
        out[i] = this.handle(m);
        i++;
      }
    }
    this.publishCacheState(false);
    this.publishProgress();
    this.maybeCheckpointHighWatermark();
    return out;
  }

  /**
   * A replicated log's high watermark is written down every few seconds (Kafka's
   * replica.high.watermark.checkpoint.interval.ms): after a crash the replica restarts from it,
   * never above what the ISR had. A log whose high watermark follows its end needs none.
   */
  private maybeCheckpointHighWatermark(): void {
    if (!this.replication.tracksHighWatermark || this.log.isClosed) return;
    const now = this.ctx.now();
    if (now - this.lastHighWatermarkCheckpointMs < highWatermarkCheckpointIntervalMs) return;
    this.lastHighWatermarkCheckpointMs = now;
    this.log.checkpointHighWatermark();
  }

  /** Tells the main thread (fetches waiting, acks=all waiting, the live tail) what moved in this turn. */
  private publishProgress(): void {
    if (this.log.isClosed) return;
    const p = this.published;
    const { highWatermark, logEndOffset } = this.log;
    const { leaderEpoch, isLeader: leader, isrSize } = this.replication;
    if (p.highWatermark === highWatermark && p.logEndOffset === logEndOffset && p.leaderEpoch === leaderEpoch && p.leader === leader && p.isrSize === isrSize) return;
    const first = p.highWatermark === -1;
    this.published = { highWatermark, logEndOffset, leaderEpoch, leader, isrSize };
    // The first turn only records the state: nothing has moved yet that anyone waits for.
    if (first && leader && isrSize <= 1) return;
    const minInsyncReplicas = this.replication.minInsyncReplicas;
    const event: HighWatermarkAdvanced = { type: 'HighWatermarkAdvanced', highWatermark, logEndOffset, leaderEpoch, leader, isrSize, minInsyncReplicas };
    this.ctx.notify(event);
  }

  /** Commits a run of consecutive appends in one transaction. */
  private appendRun(all: readonly Append[], out: Outcome[], at: number): void {
    // A replica that does not lead, or an acks=all append below min.insync.replicas, is refused before anything is written.
    const run: Append[] = [];
    const runAt: number[] = [];
    all.forEach((m, k) => {
      try {
        this.replication.checkAppend(m.acks);
        run.push(m);
        runAt.push(at + k);
      } catch (err) {
        if (!(err instanceof ReplicationError)) throw err;
        out[at + k] = fail(err);
      }
    });
    if (run.length === 0) return;
    const results = this.log.appendMany(run.map((m) => m.records));
    this.replication.afterAppend();
    const leaderEpoch = this.replication.leaderEpoch;
    // The stored bytes go back to the main thread's batch cache with the reply (never a compacted topic's).
    const cacheEpoch = this.cacheState && !compacts(this.log.config) ? this.cacheState.epoch : undefined;
    const transferred = cacheEpoch === undefined ? undefined : new Set<ArrayBufferLike>();
    for (let k = 0; k < results.length; k++) {
      const r = results[k]!;
      if (r instanceof StorageError) {
        if (r.code === 'KAFKA_STORAGE_ERROR') throw r;
        out[runAt[k]!] = fail(r);
      } else {
        const appended: Appended = {
          baseOffset: r.baseOffset,
          lastOffset: r.lastOffset,
          logAppendTimeMs: r.logAppendTimeMs,
          logStartOffset: r.logStartOffset,
          duplicate: r.duplicate,
          leaderEpoch,
        };
        const m = run[k]!;
        let stored = m.records;
        if (transferred && !r.duplicate && this.recompressed.has(m)) stored = new Uint8Array(stored);
        const buffer = stored.buffer;
        // The request's own buffer (the main thread copied or handed over its frame) goes back as it is.
        if (transferred && !r.duplicate && buffer instanceof ArrayBuffer && !transferred.has(buffer)) {
          transferred.add(buffer);
          out[runAt[k]!] = ok(withTransfer({ ...appended, stored, cacheEpoch }, [buffer]));
        } else out[runAt[k]!] = ok(appended);
      }
    }
  }

  /** Answers one message that is neither an append nor a maintenance step. */
  private handle(m: PartitionMessage): Outcome {
    if (m.type === 'Append' || m.type === 'RunMaintenance' || m.type === 'Maintain') throw new Error(`partition actor: ${m.type} must not reach handle()`);
    const answer = this.answers[m.type] as ((m: PartitionMessage) => unknown) | undefined;
    if (!answer) return fail({ code: 'INVALID_REQUEST', message: `partition actor got an unknown message: ${JSON.stringify(m).slice(0, 200)}` });
    try {
      return ok(answer(m));
    } catch (err) {
      if (err instanceof ReplicationError) return fail(err);
      if (err instanceof StorageError && err.code !== 'KAFKA_STORAGE_ERROR') return fail(err);
      throw err;
    }
  }

  /**
   * Concatenates the stored batches into one fresh ArrayBuffer and transfers it to the caller:
   * one copy here, none in postMessage, and the gateway writes it to the socket as it is.
   */
  private read(fetchOffset: number, maxBytes: number): ReadResult {
    const records = concatBatches(this.log.read(fetchOffset, maxBytes));
    return withTransfer({ ...this.offsets(), records }, [records.buffer as ArrayBuffer]);
  }

  private offsets(): PartitionOffsets {
    return {
      logStartOffset: this.log.logStartOffset,
      logEndOffset: this.log.logEndOffset,
      highWatermark: this.log.highWatermark,
      leaderEpoch: this.replication.leaderEpoch,
    };
  }

  inspect(): PartitionState {
    return {
      ...this.offsets(),
      topic: this.cfg.topic,
      partition: this.cfg.partition,
      path: this.cfg.path,
      sizeBytes: this.log.sizeBytes,
      durability: this.cfg.durability,
      failurePoints: this.log.failurePoints.armed(),
      segments: this.log.segments.length,
      config: this.log.config,
      cleaner: this.log.cleanerState,
      lastMaintenanceError: this.lastMaintenanceError,
      retentionChecks: this.retentionChecks,
      cpuPool: this.cpuPool.stats(),
      replication: this.replication.describe(),
    };
  }

  stop(): void {
    this.stopped = true;
    this.cancelMaintenance?.();
    this.cancelReplicaCheck?.();
    const { highWatermark, logStartOffset } = this.log;
    this.cacheState?.begin();
    this.log.close();
    // Closed (passivated, moved, stopped): what the cache holds of this incarnation no longer counts.
    this.cacheState?.end(highWatermark, logStartOffset, true);
  }

  /**
   * Runs a change to the log that the main thread's batch cache must not see half done; with
   * `invalidate`, one that may remove or rewrite batches above the log start (truncation, a
   * config change, compaction), after which nothing cached before it is served.
   */
  private changingLog<T>(invalidate: boolean, change: () => T): T {
    if (!this.cacheState) return change();
    this.cacheState.begin();
    try {
      return change();
    } finally {
      this.publishCacheState(invalidate, true);
    }
  }

  /**
   * Publishes the offsets to the batch cache when they moved or with `invalidate`; with `begun`,
   * always, ending the change begun with `CacheStateWriter.begin`.
   */
  private publishCacheState(invalidate: boolean, begun = false): void {
    const cache = this.cacheState;
    if (!cache) return;
    const { highWatermark, logStartOffset } = this.log;
    if (!begun && !invalidate && highWatermark === this.publishedHighWatermark && logStartOffset === this.publishedLogStart) return;
    this.publishedHighWatermark = highWatermark;
    this.publishedLogStart = logStartOffset;
    if (!begun) cache.begin();
    cache.end(highWatermark, logStartOffset, invalidate);
  }

  /**
   * When a passivated partition must run again: when a compaction is under way, at the next
   * compaction step; else when retention will first be able to delete its oldest segment (by
   * time; a size limit can only be passed by appends, which activate it anyway); never for a log
   * retention cannot shrink.
   */
  nextWakeAtMs(): number | null {
    if (this.log.isClosed) return null;
    if (compacts(this.log.config) && this.log.cleanerState.phase !== 'idle') return this.ctx.now() + compactionIntervalMs;
    const due = this.log.retentionDueAtMs(this.ctx.now());
    return due === null ? null : Math.max(due, this.ctx.now());
  }

  /** Schedules the leader's next check of its followers, when it has any. */
  private scheduleReplicaCheck(): void {
    this.cancelReplicaCheck?.();
    this.cancelReplicaCheck = undefined;
    const every = this.replication.checkIntervalMs;
    if (every !== null && !this.stopped) this.cancelReplicaCheck = this.ctx.schedule({ type: 'CheckReplicas' }, every);
  }

  /** Schedules the next maintenance step `delayMs` from now, in place of one already scheduled. */
  private scheduleMaintenance(delayMs: number): void {
    if (this.stopped) return;
    this.cancelMaintenance?.();
    this.cancelMaintenance = this.ctx.schedule({ type: 'RunMaintenance' }, delayMs);
  }

  /**
   * How long to wait when no step has more work: until the next retention check, and no longer
   * than the compaction cadence for compacted topics. Clamped to the check interval, so a clock
   * that jumps cannot put maintenance to sleep for longer.
   */
  private idleDelayMs(): number {
    const untilRetentionMs = Math.min(Math.max(0, this.nextRetentionCheckMs - this.ctx.now()), this.retentionCheckIntervalMs);
    return compacts(this.log.config) ? Math.min(compactionIntervalMs, untilRetentionMs) : untilRetentionMs;
  }

  /**
   * One bounded maintenance step, run as a turn: retention when a check is due (or a check's
   * backlog remains), then a compaction step for compacted topics; the next step is scheduled
   * when this one settles, so steps never overlap. An expected storage failure (a StorageError
   * other than KAFKA_STORAGE_ERROR) is kept for `inspect` (the console shows it); anything else
   * throws out of the turn, which fails the actor and has the supervisor restart it.
   */
  private async maintain(): Promise<void> {
    let more = false;
    try {
      more = this.changingLog(false, () => this.retentionStep());
      if (compacts(this.log.config)) {
        this.cacheState?.begin();
        try {
          const step = await this.log.compactStep(this.ctx.now(), compactionBytesPerStepDefault);
          more ||= step.phase !== 'idle';
        } finally {
          if (!this.log.isClosed) this.publishCacheState(true, true);
        }
      }
    } catch (err) {
      if (this.stopped || this.log.isClosed) return;
      if (!(err instanceof StorageError) || err.code === 'KAFKA_STORAGE_ERROR') throw err;
      this.lastMaintenanceError = err.message;
    }
    this.scheduleMaintenance(more ? maintenanceBacklogIntervalMs : this.idleDelayMs());
  }

  /** Runs retention when a check is due or a check's backlog remains; true while more is left. */
  private retentionStep(): boolean {
    const nowMs = this.ctx.now();
    if (!this.retentionBacklog && nowMs < this.nextRetentionCheckMs) return false;
    // A check's backlog steps belong to that check; the next check counts from its start.
    if (!this.retentionBacklog) {
      this.nextRetentionCheckMs = nowMs + this.retentionCheckIntervalMs;
      this.retentionChecks++;
    }
    this.retentionBacklog = false;
    const retention = this.log.enforceRetention(nowMs, retentionBatchesPerStepDefault);
    this.retentionBacklog = retention.more;
    return retention.more;
  }
}
