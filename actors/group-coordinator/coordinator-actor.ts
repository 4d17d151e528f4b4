/**
 * The group coordinator actor: lives on one worker thread, under the actor id of the
 * `__consumer_offsets` partition it owns (`partition:__consumer_offsets:N`), and is the only
 * owner of that partition's log. It answers every PartitionMessage through an embedded
 * PartitionActor (so fetches of the offsets topic behave as for any partition) and the group
 * messages of every group that maps to its partition through a GroupStateMachine.
 *
 * On start it replays its log (committed offsets and group metadata, see records.ts) into the
 * state machine before it serves (Kafka's coordinator load). After each turn the records the
 * state machine queued are appended in one batch through the embedded partition actor (one
 * transaction: group commit), and only then are the deferred JoinGroup/SyncGroup answers
 * released, so an answer never reports state the log has not got. The state machine's timers
 * run as turns too: the actor schedules itself an internal `Tick` every
 * `groupLimits.tickIntervalMs` (ActorContext.schedule).
 *
 * A storage failure while appending throws, in a tick as in any other turn: the actor crashes
 * at once and its restart reloads the log, which is the state every answer was based on.
 */
import { performance } from 'node:perf_hooks';
import { deferred, ok, type Actor, type ActorContext, type Handlers, type Outcome } from '../../src/runtime/actor.js';
import { buildBatch, iterateRecords, splitBatches } from '../../src/storage/record-batch.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { openPartitionLog, PartitionActor } from '../partition/partition-actor.js';
import type { PartitionConfig, PartitionMessage, PartitionProtocol } from '../partition/messages.js';
import { GroupStateMachine } from './group-state-machine.js';
import { groupLimits } from './limits.js';
import type { CoordinatorMessage, GroupCoordinatorProtocol, GroupCoordinatorSettings, GroupCoordinatorState, GroupMessage, GroupProtocol } from './messages.js';
import { decodeRecord, encodeRecord } from './records.js';

export interface GroupCoordinatorConfig extends PartitionConfig {
  readonly groups: GroupCoordinatorSettings;
}

export function createGroupCoordinatorActor(ctx: ActorContext<GroupCoordinatorProtocol>, config: unknown): Actor<GroupCoordinatorProtocol> {
  const cfg = config as GroupCoordinatorConfig;
  const log = openPartitionLog(ctx, cfg);
  const started = performance.now();
  const stm = new GroupStateMachine({ settings: cfg.groups });
  let loadedRecords: number;
  try {
    loadedRecords = load(log, stm, ctx.now());
  } catch (err) {
    log.close();
    throw err;
  }
  // The embedded partition schedules its maintenance to this actor, which hands it back.
  const partitionCtx: ActorContext<PartitionProtocol> = { ...ctx, schedule: (msg, delayMs) => ctx.schedule(msg, delayMs) };
  const partition = new PartitionActor(partitionCtx, cfg, log);
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

class GroupCoordinatorActor implements Actor<GroupCoordinatorProtocol> {
  /** Deferred answers released once the turn's records are in the log. */
  private releases: (() => void)[] = [];
  private lastRetentionCheck: number;
  private stopped = false;

  /**
   * One handler per group message, each answering with its protocol reply. The table is the only
   * list of group message types: a message whose type has no handler here is a partition's.
   */
  private readonly handlers: Handlers<GroupProtocol, Extract<keyof GroupProtocol, string>, [now: number]> = {
    JoinGroup: (m, now) => {
      const d = deferred<GroupProtocol['JoinGroup']['reply']>();
      this.stm.joinGroup(m, now, (r) => this.releases.push(() => d.complete(ok(r))));
      return d.outcome;
    },
    SyncGroup: (m, now) => {
      const d = deferred<GroupProtocol['SyncGroup']['reply']>();
      this.stm.syncGroup(m, now, (r) => this.releases.push(() => d.complete(ok(r))));
      return d.outcome;
    },
    Heartbeat: (m, now) => ok({ errorCode: this.stm.heartbeat(m, now) }),
    LeaveGroup: (m, now) => ok(this.stm.leaveGroup(m, now)),
    CommitOffsets: (m, now) => ok(this.stm.commitOffsets(m, now)),
    FetchOffsets: (m) => ok(this.stm.fetchOffsets(m)),
    DeleteOffsets: (m) => ok(this.stm.deleteOffsets(m)),
    DeleteGroups: (m) => ok({ errorCodes: this.stm.deleteGroups(m.groupIds) }),
    ListGroups: (m) => ok({ groups: this.stm.listGroups(m.statesFilter, m.typesFilter) }),
    DescribeGroups: (m) => ok({ groups: m.groupIds.map((id) => this.stm.describeGroup(id)) }),
    Tick: (_m, now) => {
      this.tick(now);
      return ok(undefined);
    },
  };

  constructor(
    private readonly ctx: ActorContext<GroupCoordinatorProtocol>,
    private readonly partition: PartitionActor,
    private readonly stm: GroupStateMachine,
    private readonly loadStats: { loadedRecords: number; loadMs: number },
  ) {
    this.lastRetentionCheck = ctx.now();
    ctx.schedule({ type: 'Tick' }, groupLimits.tickIntervalMs);
  }

  /**
   * Handles the group messages of a turn, appends what they wrote, then hands the turn's
   * partition messages to the embedded partition actor (asynchronously when one of them is a
   * maintenance step or an append that needs preparing).
   */
  receive(messages: readonly CoordinatorMessage[]): Outcome[] | Promise<Outcome[]> {
    const out = new Array<Outcome>(messages.length);
    const partitionAt: number[] = [];
    const now = this.ctx.now();
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (this.isGroupMessage(m)) out[i] = this.handle(m, now);
      else partitionAt.push(i);
    }
    this.flush();
    if (partitionAt.length === 0) return out;
    const answers = this.partition.receive(partitionAt.map((i) => messages[i] as PartitionMessage));
    const merge = (a: Outcome[]) => {
      partitionAt.forEach((at, k) => (out[at] = a[k]!));
      return out;
    };
    return Array.isArray(answers) ? merge(answers) : answers.then(merge);
  }

  private isGroupMessage(m: CoordinatorMessage): m is GroupMessage {
    return Object.hasOwn(this.handlers, m.type);
  }

  private handle(m: GroupMessage, now: number): Outcome {
    // The table is typed per message type; indexing it by a union loses that pairing, which
    // the table's own type already checked.
    const h = this.handlers[m.type] as (m: GroupMessage, now: number) => Outcome;
    return h(m, now);
  }

  /** The state machine's deadlines, offset expiry now and then, and the next tick. */
  private tick(now: number): void {
    if (this.stopped) return;
    this.ctx.schedule({ type: 'Tick' }, groupLimits.tickIntervalMs);
    this.stm.tick(now);
    if (now - this.lastRetentionCheck >= groupLimits.retentionCheckIntervalMs) {
      this.lastRetentionCheck = now;
      this.stm.expireOffsets(now);
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
        groups: this.stm.groups.size,
        members,
        offsets,
        pendingJoins: this.stm.pendingJoins,
        loadedRecords: this.loadStats.loadedRecords,
        loadMs: Math.round(this.loadStats.loadMs),
      },
    };
  }

  stop(): void {
    this.stopped = true;
    this.partition.stop();
  }

  /** Its partition's wake time, or sooner while it holds committed offsets that may expire. */
  nextWakeAtMs(): number | null {
    const partition = this.partition.nextWakeAtMs();
    if (this.stm.groups.size === 0) return partition;
    const offsets = this.ctx.now() + groupLimits.retentionCheckIntervalMs;
    return partition === null ? offsets : Math.min(partition, offsets);
  }
}
