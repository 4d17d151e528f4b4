/**
 * One partition replica's part in Kafka's ISR replication, kept by its partition actor (and so
 * by a group coordinator for its `__consumer_offsets` partition). Runs on the actor's worker
 * thread, inside the actor's turns; not thread-safe.
 *
 * As leader it tracks each follower's log end (the offset of its last fetch) and when it last
 * caught up; the high watermark is the lowest log end in the ISR (the committed ISR plus any
 * addition it has proposed, KIP-497's "maximal ISR", so a shrink counts only once the controller
 * has committed it) and never moves back; a follower caught up to the high watermark within the
 * current epoch is proposed for the ISR, one not caught up for replica.lag.time.max.ms is proposed
 * out. Proposals go to the main thread (IsrChangeProposed), which asks the controller; the answer
 * comes back as the next SetRole, which also clears the proposal.
 *
 * As follower it appends the leader's batches unchanged, takes the leader's high watermark
 * (bounded by its own log end) and log start, and truncates where its log diverged from the
 * leader's, found by leader epoch.
 *
 * Without a role (a single node) the replica leads alone: its high watermark follows its log end.
 */
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { concatBatches } from '../../src/storage/partition-log-read.js';
import type { EpochEndOffset, IsrChangeProposed, ReplicaFetched, ReplicaRole, ReplicaStatus } from './messages.js';

/** An expected refusal: becomes an error outcome with the Kafka error name as its code. */
export class ReplicationError extends Error {
  override readonly name = 'ReplicationError';
  constructor(
    readonly code: 'NOT_LEADER_OR_FOLLOWER' | 'FENCED_LEADER_EPOCH' | 'UNKNOWN_LEADER_EPOCH' | 'NOT_ENOUGH_REPLICAS',
    message: string,
  ) {
    super(message);
  }
}

interface FollowerProgress {
  /** The follower's log end: the offset of its last fetch in this epoch; -1 until it fetched. */
  leo: number;
  /** When it was last caught up with the leader's log end (Kafka's lastCaughtUpTimeMs). */
  lastCaughtUpMs: number;
  /** The leader's log end and the time at its previous fetch. */
  lastFetchLeaderLeo: number;
  lastFetchMs: number;
}

type Leader = Extract<ReplicaRole, { role: 'leader' }>;

/** A proposal the controller has not answered within this long may be made again. */
const proposalTimeoutMs = 5_000;

export class Replication {
  private role: ReplicaRole | undefined;
  private readonly followers = new Map<number, FollowerProgress>();
  private pendingIsr: readonly number[] | null = null;
  private pendingSinceMs = 0;
  /** Where the current leader epoch starts in the log: a follower below it is not yet caught up in this epoch. */
  private epochStartOffset = 0;

  constructor(
    private readonly log: PartitionLog,
    private readonly now: () => number,
    /** Publishes a proposal; the actor adds its topic and partition. */
    private readonly propose: (proposal: Omit<IsrChangeProposed, 'topic' | 'partition'>) => void,
    role: ReplicaRole | undefined,
  ) {
    if (role) this.setRole(role);
    else this.log.setHighWatermarkFollowsLogEnd(true);
  }

  get isLeader(): boolean {
    return this.role === undefined || this.role.role === 'leader';
  }

  /** The epoch the replica is in (a follower: its leader's). */
  get leaderEpoch(): number {
    return this.role?.leaderEpoch ?? this.log.leaderEpoch;
  }

  get isrSize(): number {
    if (!this.role) return 1;
    return this.role.role === 'leader' ? this.role.isr.length : 0;
  }

  /** Whether the high watermark is the ISR's (a replicated partition) rather than the log end. */
  get tracksHighWatermark(): boolean {
    const r = this.role;
    return r !== undefined && (r.role === 'follower' || r.replicas.length > 1);
  }

  get minInsyncReplicas(): number {
    return this.role?.role === 'leader' ? this.role.minInsyncReplicas : 1;
  }

  /** How often the leader checks its followers, or null when it has none. */
  get checkIntervalMs(): number | null {
    const r = this.role;
    if (!r || r.role !== 'leader' || r.replicas.length <= 1) return null;
    return Math.min(Math.max(Math.floor(r.replicaLagTimeMaxMs / 2), 100), 5_000);
  }

  /** True when the role moved the replica to another epoch or between leading and following. */
  setRole(next: ReplicaRole): boolean {
    const prev = this.role;
    const changedEpoch = !prev || prev.role !== next.role || prev.leaderEpoch !== next.leaderEpoch;
    if (prev && next.leaderEpoch < prev.leaderEpoch) return false; // a stale message: the image only moves forward
    this.role = next;
    this.pendingIsr = null;
    if (next.role === 'follower') {
      this.followers.clear();
      this.log.setHighWatermarkFollowsLogEnd(false);
      return changedEpoch;
    }
    if (changedEpoch) {
      if (next.leaderEpoch > this.log.leaderEpoch || this.log.latestEpoch < next.leaderEpoch) this.log.setLeaderEpoch(Math.max(next.leaderEpoch, this.log.leaderEpoch));
      const own = this.log.leaderEpochs.find((e) => e.epoch === next.leaderEpoch);
      this.epochStartOffset = own ? own.startOffset : this.log.logEndOffset;
      this.followers.clear();
    }
    const now = this.now();
    for (const r of next.replicas) {
      if (r === next.nodeId || this.followers.has(r)) continue;
      // As Kafka does for a new leader: the ISR's followers count as caught up now, their log ends unknown.
      this.followers.set(r, { leo: -1, lastCaughtUpMs: now, lastFetchLeaderLeo: -1, lastFetchMs: now });
    }
    for (const r of [...this.followers.keys()]) if (!next.replicas.includes(r)) this.followers.delete(r);
    this.log.setHighWatermarkFollowsLogEnd(next.replicas.length <= 1);
    this.maybeAdvanceHighWatermark();
    return changedEpoch;
  }

  /** Refuses an append this replica must not take now. */
  checkAppend(acks: number | undefined): void {
    const r = this.role;
    if (!r) return;
    if (r.role !== 'leader') throw new ReplicationError('NOT_LEADER_OR_FOLLOWER', `this replica follows node ${r.leader} in epoch ${r.leaderEpoch}`);
    if (acks === -1 && r.isr.length < r.minInsyncReplicas) {
      throw new ReplicationError(
        'NOT_ENOUGH_REPLICAS',
        `only ${r.isr.length} in-sync replica(s) (node ${r.isr.join(', ')}), fewer than min.insync.replicas=${r.minInsyncReplicas}`,
      );
    }
  }

  /** After appends: an ISR of the leader alone commits at once. */
  afterAppend(): void {
    this.maybeAdvanceHighWatermark();
  }

  replicaFetch(m: { replicaId: number; fetchOffset: number; lastFetchedEpoch: number; currentLeaderEpoch: number; maxBytes: number }): ReplicaFetched {
    const r = this.leading(m.currentLeaderEpoch);
    const f = this.followers.get(m.replicaId);
    if (!f) throw new ReplicationError('NOT_LEADER_OR_FOLLOWER', `node ${m.replicaId} is not a replica of this partition (replicas ${r.replicas.join(',')})`);
    const log = this.log;
    if (m.lastFetchedEpoch >= 0) {
      const e = log.epochEndOffset(m.lastFetchedEpoch);
      if (e.endOffset < m.fetchOffset || e.epoch < m.lastFetchedEpoch) {
        return { ...this.offsets(), records: new Uint8Array(0), divergingEpoch: { leaderEpoch: e.epoch, endOffset: e.endOffset } };
      }
    }
    if (m.fetchOffset < log.logStartOffset || m.fetchOffset > log.logEndOffset) return { ...this.offsets(), records: new Uint8Array(0), outOfRange: true };
    const now = this.now();
    if (m.fetchOffset >= log.logEndOffset) f.lastCaughtUpMs = now;
    else if (f.lastFetchLeaderLeo >= 0 && m.fetchOffset >= f.lastFetchLeaderLeo) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs);
    f.lastFetchLeaderLeo = log.logEndOffset;
    f.lastFetchMs = now;
    f.leo = m.fetchOffset;
    if (!r.isr.includes(m.replicaId) && this.pendingIsr === null && f.leo >= log.highWatermark && f.leo >= this.epochStartOffset) {
      this.proposeIsr([...r.isr, m.replicaId]);
    }
    this.maybeAdvanceHighWatermark();
    const read = log.read(m.fetchOffset, m.maxBytes, { maxOffsetExclusive: log.logEndOffset });
    return { ...this.offsets(), records: concatBatches(read) };
  }

  appendReplica(m: { leaderEpoch: number; records: Uint8Array; leaderHighWatermark: number; leaderLogStartOffset: number }): ReplicaStatus {
    this.following(m.leaderEpoch);
    const log = this.log;
    if (m.records.length > 0) log.appendReplica(m.records);
    log.setHighWatermark(Math.min(m.leaderHighWatermark, log.logEndOffset));
    // DeleteRecords on the leader reaches its followers through its log start.
    const start = Math.min(m.leaderLogStartOffset, log.highWatermark);
    if (start > log.logStartOffset) log.deleteRecordsBefore(start);
    return this.status();
  }

  /**
   * Truncates where this log diverged from the leader's (Kafka's truncation by leader epoch): the
   * leader's `epoch` (the largest it has at or below this replica's last fetched epoch) ends at
   * `endOffset`; where this replica has that epoch too, both agree up to the smaller end; where it
   * does not, everything from its first epoch after the leader's goes, and the next fetch checks again.
   * With no epoch (-1), the log is cut at `endOffset` (the start when that is -1).
   */
  truncateOnDivergence(m: { leaderEpoch: number; epoch: number; endOffset: number }): ReplicaStatus {
    this.following(m.leaderEpoch);
    const log = this.log;
    let to: number;
    // No epoch: the leader only knows where its log ends (-1: nothing of ours is on it).
    if (m.epoch < 0) to = Math.max(log.logStartOffset, Math.min(m.endOffset, log.logEndOffset));
    else {
      const own = log.epochEndOffset(m.epoch);
      if (own.epoch < 0) to = log.logStartOffset;
      else if (own.epoch === m.epoch) to = Math.min(m.endOffset, own.endOffset);
      else to = Math.min(own.endOffset, log.logEndOffset);
    }
    // Even with nothing to cut, the epoch cache loses epochs starting at or past the cut: an epoch
    // this replica led without writing must not be named as its last fetched one again.
    log.truncateTo(Math.min(to, log.logEndOffset));
    return this.status();
  }

  resetTo(m: { leaderEpoch: number; offset: number }): ReplicaStatus {
    this.following(m.leaderEpoch);
    this.log.resetTo(m.offset);
    return this.status();
  }

  epochEndOffset(m: { leaderEpoch: number; currentLeaderEpoch: number }): EpochEndOffset {
    if (this.role) this.leading(m.currentLeaderEpoch);
    const e = this.log.epochEndOffset(m.leaderEpoch);
    return { leaderEpoch: e.epoch, endOffset: e.endOffset };
  }

  /** The leader's periodic check: followers not caught up for replica.lag.time.max.ms leave the ISR; a stale proposal lapses. */
  checkReplicas(): void {
    const r = this.role;
    if (!r || r.role !== 'leader') return;
    const now = this.now();
    if (this.pendingIsr !== null) {
      if (now - this.pendingSinceMs < proposalTimeoutMs) return;
      this.pendingIsr = null;
    }
    const lagging = r.isr.filter((id) => id !== r.nodeId && now - (this.followers.get(id)?.lastCaughtUpMs ?? 0) > r.replicaLagTimeMaxMs);
    if (lagging.length > 0) this.proposeIsr(r.isr.filter((id) => !lagging.includes(id)));
  }

  status(): ReplicaStatus {
    return { ...this.offsets(), latestEpoch: this.log.latestEpoch };
  }

  /** For inspect: the role and, on a leader, each follower's progress. */
  describe(): unknown {
    return {
      role: this.role ?? { role: 'leader (single node)' },
      pendingIsr: this.pendingIsr,
      epochStartOffset: this.epochStartOffset,
      followers: Object.fromEntries([...this.followers].map(([id, f]) => [id, { ...f, lagRecords: f.leo < 0 ? null : this.log.logEndOffset - f.leo }])),
    };
  }

  private offsets() {
    const log = this.log;
    return { logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset, highWatermark: log.highWatermark, leaderEpoch: this.leaderEpoch };
  }

  private leading(currentLeaderEpoch: number): Leader {
    const r = this.role;
    if (r && r.role !== 'leader') throw new ReplicationError('NOT_LEADER_OR_FOLLOWER', `this replica follows node ${r.leader} in epoch ${r.leaderEpoch}`);
    if (!r) throw new ReplicationError('NOT_LEADER_OR_FOLLOWER', 'this partition is not replicated');
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < r.leaderEpoch) {
      throw new ReplicationError('FENCED_LEADER_EPOCH', `leader epoch ${currentLeaderEpoch} is older than the current ${r.leaderEpoch}`);
    }
    if (currentLeaderEpoch > r.leaderEpoch) throw new ReplicationError('UNKNOWN_LEADER_EPOCH', `leader epoch ${currentLeaderEpoch} is newer than the current ${r.leaderEpoch}`);
    return r;
  }

  private following(leaderEpoch: number): void {
    const r = this.role;
    if (!r || r.role !== 'follower') throw new ReplicationError('NOT_LEADER_OR_FOLLOWER', 'this replica is not a follower');
    if (leaderEpoch !== r.leaderEpoch) {
      throw new ReplicationError('FENCED_LEADER_EPOCH', `fetched in leader epoch ${leaderEpoch}, but this replica follows node ${r.leader} in epoch ${r.leaderEpoch}`);
    }
  }

  private proposeIsr(isr: readonly number[]): void {
    const r = this.role as Leader;
    this.pendingIsr = isr;
    this.pendingSinceMs = this.now();
    this.propose({ type: 'IsrChangeProposed', leaderEpoch: r.leaderEpoch, partitionEpoch: r.partitionEpoch, isr });
  }

  /** The lowest log end in the maximal ISR, when every member's is known; the high watermark never moves back. */
  private maybeAdvanceHighWatermark(): void {
    const r = this.role;
    if (!r || r.role !== 'leader' || r.replicas.length <= 1) return;
    let hw = this.log.logEndOffset;
    const members = this.pendingIsr ? [...new Set([...r.isr, ...this.pendingIsr])] : r.isr;
    for (const id of members) {
      if (id === r.nodeId) continue;
      const f = this.followers.get(id);
      if (!f || f.leo < 0) return;
      hw = Math.min(hw, f.leo);
    }
    if (hw > this.log.highWatermark) this.log.setHighWatermark(hw);
  }
}
