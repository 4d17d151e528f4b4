/**
 * The group coordinator actor: lives on one worker thread, under the actor id of the
 * `__consumer_offsets` partition it owns (`partition:__consumer_offsets:N`), and is the only
 * owner of that partition's log. It answers every PartitionMessage through an embedded
 * PartitionActor (so fetches of the offsets topic behave as for any partition) and the group
 * messages of every group that maps to its partition through a GroupStateMachine.
 *
 * On start it replays its log (committed offsets and group metadata, see records.ts) into the
 * state machine before it serves (Kafka's coordinator load). After each turn, and after each
 * timer tick, the records the state machine queued are appended in one batch through the
 * embedded partition actor (one transaction: group commit), and only then are the deferred
 * JoinGroup/SyncGroup answers released, so an answer never reports state the log has not got.
 *
 * A storage failure while appending throws: the actor crashes and its restart reloads the
 * log, which is the state every answer was based on.
 */
import { performance } from 'node:perf_hooks';
import { deferred, fail, ok, type Actor, type ActorContext, type Outcome } from '../../src/runtime/actor.js';
import { buildBatch, iterateRecords, splitBatches } from '../../src/storage/record-batch.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { openPartitionLog, PartitionActor } from '../partition/partition-actor.js';
import type { PartitionConfig, PartitionMessage } from '../partition/messages.js';
import { GroupStateMachine } from './group-state-machine.js';
import { groupLimits } from './limits.js';
import type { CoordinatorMessage, GroupCoordinatorSettings, GroupCoordinatorState, GroupMessage } from './messages.js';
import { decodeRecord, encodeRecord } from './records.js';

export interface GroupCoordinatorConfig extends PartitionConfig {
  readonly groups: GroupCoordinatorSettings;
}

const groupMessageTypes: ReadonlySet<string> = new Set<GroupMessage['type']>([
  'JoinGroup', 'SyncGroup', 'Heartbeat', 'LeaveGroup', 'CommitOffsets', 'FetchOffsets', 'DeleteOffsets',
  'DeleteGroups', 'ListGroups', 'DescribeGroups',
]);

function isGroupMessage(m: CoordinatorMessage): m is GroupMessage {
  return groupMessageTypes.has(m.type);
}

export function createGroupCoordinatorActor(ctx: ActorContext, config: unknown): Actor {
  const cfg = config as GroupCoordinatorConfig;
  const log = openPartitionLog(ctx, cfg);
  const started = performance.now();
  const stm = new GroupStateMachine({ settings: cfg.groups });
  let loadedRecords = 0;
  try {
    loadedRecords = load(log, stm, ctx.now());
  } catch (err) {
    log.close();
    throw err;
  }
  const partition = new PartitionActor(ctx, cfg, log);
  return new GroupCoordinatorActor(ctx, partition, stm, { loadedRecords, loadMs: performance.now() - started });
}

/** Replays the log into the state machine; returns how many records it applied. */
function load(log: PartitionLog, stm: GroupStateMachine, now: number): number {
  let offset = log.logStartOffset;
  let count = 0;
  while (offset < log.highWatermark) {
    const r = log.read(offset, groupLimits.loadReadBytes);
    if (r.batches.length === 0) break;
    for (const bytes of r.batches) {
      for (const h of splitBatches(bytes)) {
        offset = Math.max(offset, h.baseOffset + h.lastOffsetDelta + 1);
        // Only the coordinator writes this log, uncompressed and never as control batches; a
        // batch a client produced into the topic is not ours and is skipped.
        if (h.isControl || h.compression !== 0) continue;
        for (const rec of iterateRecords(bytes.subarray(h.position, h.position + h.sizeBytes))) {
          const decoded = rec.key ? safeDecode(rec.key, rec.value) : null;
          if (decoded) {
            stm.applyLoaded(decoded, now);
            count++;
          }
        }
      }
    }
  }
  stm.finishLoad(now);
  stm.takeWrites();
  return count;
}

function safeDecode(key: Buffer, value: Buffer | null): ReturnType<typeof decodeRecord> {
  try {
    return decodeRecord(key, value);
  } catch {
    return null;
  }
}

class GroupCoordinatorActor implements Actor {
  private readonly timer: NodeJS.Timeout;
  /** Deferred answers released once the turn's records are in the log. */
  private releases: (() => void)[] = [];
  private lastRetentionCheck: number;
  /** A failure during a timer tick, rethrown by the next turn so the host restarts the actor. */
  private broken: unknown = undefined;

  constructor(
    private readonly ctx: ActorContext,
    private readonly partition: PartitionActor,
    private readonly stm: GroupStateMachine,
    private readonly loadStats: { loadedRecords: number; loadMs: number },
  ) {
    this.lastRetentionCheck = ctx.now();
    this.timer = setInterval(() => this.onTick(), groupLimits.tickIntervalMs);
    this.timer.unref();
  }

  receive(messages: readonly unknown[]): Outcome[] {
    if (this.broken !== undefined) throw this.broken;
    const all = messages as readonly CoordinatorMessage[];
    const out: Outcome[] = new Array(all.length);
    const partitionAt: number[] = [];
    const now = this.ctx.now();
    for (let i = 0; i < all.length; i++) {
      const m = all[i]!;
      if (isGroupMessage(m)) out[i] = this.handle(m, now);
      else partitionAt.push(i);
    }
    this.flush();
    if (partitionAt.length > 0) {
      const answers = this.partition.receiveNow(partitionAt.map((i) => all[i] as PartitionMessage));
      partitionAt.forEach((at, k) => (out[at] = answers[k]!));
    }
    return out;
  }

  private handle(m: GroupMessage, now: number): Outcome {
    switch (m.type) {
      case 'JoinGroup': {
        const d = deferred();
        this.stm.joinGroup(m, now, (r) => this.releases.push(() => d.complete({ ok: true, value: r })));
        return d.outcome;
      }
      case 'SyncGroup': {
        const d = deferred();
        this.stm.syncGroup(m, now, (r) => this.releases.push(() => d.complete({ ok: true, value: r })));
        return d.outcome;
      }
      case 'Heartbeat':
        return ok({ errorCode: this.stm.heartbeat(m, now) });
      case 'LeaveGroup':
        return ok(this.stm.leaveGroup(m, now));
      case 'CommitOffsets':
        return ok(this.stm.commitOffsets(m, now));
      case 'FetchOffsets':
        return ok(this.stm.fetchOffsets(m));
      case 'DeleteOffsets':
        return ok(this.stm.deleteOffsets(m));
      case 'DeleteGroups':
        return ok({ errorCodes: this.stm.deleteGroups(m.groupIds) });
      case 'ListGroups':
        return ok({ groups: this.stm.listGroups(m.statesFilter, m.typesFilter) });
      case 'DescribeGroups':
        return ok({ groups: m.groupIds.map((id) => this.stm.describeGroup(id)) });
      default: {
        const never: never = m;
        return fail({ code: 'INVALID_REQUEST', message: `group coordinator got an unknown message: ${JSON.stringify(never).slice(0, 200)}` });
      }
    }
  }

  /** Appends what the state machine queued, in one batch, then releases the deferred answers. */
  private flush(): void {
    const writes = this.stm.takeWrites();
    if (writes.length > 0) {
      const batch = buildBatch({
        records: writes.map((w) => encodeRecord(w)).map((r) => ({ key: r.key, value: r.value })),
        timestampMs: this.ctx.now(),
      });
      const [answer] = this.partition.receiveNow([{ type: 'Append', records: new Uint8Array(batch.buffer, batch.byteOffset, batch.length) }]);
      if (!answer || answer.ok !== true) {
        throw new Error(`group coordinator ${this.ctx.id} could not append its records: ${JSON.stringify(answer)}`);
      }
    }
    const releases = this.releases;
    this.releases = [];
    for (const r of releases) r();
  }

  private onTick(): void {
    if (this.broken !== undefined) return;
    try {
      const now = this.ctx.now();
      this.stm.tick(now);
      if (now - this.lastRetentionCheck >= groupLimits.retentionCheckIntervalMs) {
        this.lastRetentionCheck = now;
        this.stm.expireOffsets(now);
      }
      this.flush();
    } catch (err) {
      this.broken = err;
    }
  }

  inspect(): { partition: unknown; groups: GroupCoordinatorState } {
    let members = 0;
    let offsets = 0;
    for (const g of this.stm.groups.values()) {
      members += g.members.size;
      offsets += g.offsets.size;
    }
    return {
      partition: this.partition.inspect(),
      groups: {
        groups: this.stm.groups.size, members, offsets, pendingJoins: this.stm.pendingJoins,
        loadedRecords: this.loadStats.loadedRecords, loadMs: Math.round(this.loadStats.loadMs),
      },
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.partition.stop();
  }
}
