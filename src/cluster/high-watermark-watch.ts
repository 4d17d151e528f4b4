/**
 * HighWatermarkWatch: the one place on the main thread that waits for a partition's high
 * watermark to move (Kafka's delayed-fetch purgatory, and the console's live tail). Partition
 * actors publish HighWatermarkAdvanced after a turn that added records; this subscribes to the
 * supervisor once and wakes whoever waits on that actor.
 *
 * Two ways to wait: `wait` (a long-polling fetch: the first event for any of its partitions, or
 * its deadline) and `subscribe` (a live tail: every event, until unsubscribed).
 *
 * A third, `waitForCommit`, is acks=all: a produce waits until the leader's high watermark passes
 * its records in the epoch it appended them in, and fails when the replica stops leading in that
 * epoch (its records may then be truncated) or the ISR is below min.insync.replicas by then.
 *
 * Bounded: at most `maxWaiters` fetches wait at once; beyond that a fetch answers at once with
 * what it has, which is always correct for Kafka clients (they fetch again). At most
 * `maxWaiters` produces wait for a commit; beyond that one answers REQUEST_TIMED_OUT at once.
 */
import type { HighWatermarkAdvanced } from '../../actors/partition/messages.js';
import type { Supervisor } from '../runtime/supervisor.js';

/** How an acks=all wait ends: null when committed, else the Kafka error name for the produce. */
export type CommitOutcome = null | 'NOT_LEADER_OR_FOLLOWER' | 'NOT_ENOUGH_REPLICAS_AFTER_APPEND' | 'REQUEST_TIMED_OUT';

interface CommitWaiter {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly settle: (outcome: CommitOutcome) => void;
}

interface Waiter {
  readonly actorIds: readonly string[];
  /** With the actor whose event woke it, or null at the deadline. */
  readonly wake: (actorId: string | null) => void;
}

export class HighWatermarkWatch {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly subscribers = new Map<string, Set<() => void>>();
  private count = 0;
  /** The last event of each actor that published one: a commit wait starts from it. */
  private readonly last = new Map<string, HighWatermarkAdvanced>();
  private readonly commits = new Map<string, Set<CommitWaiter>>();
  private commitCount = 0;

  constructor(
    supervisor: Supervisor,
    private readonly maxWaiters = 10_000,
  ) {
    supervisor.onNotify((actorId, event) => {
      if ((event as Partial<HighWatermarkAdvanced>).type === 'HighWatermarkAdvanced') this.advanced(actorId, event as HighWatermarkAdvanced);
    });
    // A stopped actor's last word no longer holds (it may restart elsewhere in another epoch).
    supervisor.events.on('stopped', (e: { actorId: string }) => this.last.delete(e.actorId));
  }

  /** Resolves with the first of `actorIds` that has new data, or with null after `timeoutMs`. */
  wait(actorIds: readonly string[], timeoutMs: number): Promise<string | null> {
    if (timeoutMs <= 0 || actorIds.length === 0 || this.count >= this.maxWaiters) return Promise.resolve(null);
    return new Promise<string | null>((resolve) => {
      let done = false;
      const waiter: Waiter = {
        actorIds,
        wake: (actorId) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          this.remove(waiter);
          resolve(actorId);
        },
      };
      const timer = setTimeout(() => waiter.wake(null), timeoutMs);
      this.count++;
      for (const id of actorIds) {
        let set = this.waiters.get(id);
        if (!set) this.waiters.set(id, (set = new Set()));
        set.add(waiter);
      }
    });
  }

  /** Calls `onAdvanced` after every turn of `actorId` that moved its high watermark; returns the unsubscribe. */
  subscribe(actorId: string, onAdvanced: () => void): () => void {
    let set = this.subscribers.get(actorId);
    if (!set) this.subscribers.set(actorId, (set = new Set()));
    set.add(onAdvanced);
    return () => {
      const s = this.subscribers.get(actorId);
      if (!s) return;
      s.delete(onAdvanced);
      if (s.size === 0) this.subscribers.delete(actorId);
    };
  }

  /**
   * Resolves once the actor's high watermark passes `offset` (the end of an append) in
   * `leaderEpoch`: null when committed with an ISR of at least min.insync.replicas, else why not; after
   * `timeoutMs`, REQUEST_TIMED_OUT.
   */
  waitForCommit(actorId: string, offset: number, leaderEpoch: number, timeoutMs: number): Promise<CommitOutcome> {
    const known = this.last.get(actorId);
    const now = known ? commitOutcome(known, offset, leaderEpoch) : undefined;
    if (now !== undefined) return Promise.resolve(now);
    if (this.commitCount >= this.maxWaiters) return Promise.resolve('REQUEST_TIMED_OUT');
    return new Promise<CommitOutcome>((resolve) => {
      let set = this.commits.get(actorId);
      if (!set) this.commits.set(actorId, (set = new Set()));
      const waiters = set;
      const waiter: CommitWaiter = {
        offset,
        leaderEpoch,
        settle: (outcome) => {
          if (!waiters.delete(waiter)) return;
          clearTimeout(timer);
          this.commitCount--;
          if (waiters.size === 0 && this.commits.get(actorId) === waiters) this.commits.delete(actorId);
          resolve(outcome);
        },
      };
      const timer = setTimeout(() => waiter.settle('REQUEST_TIMED_OUT'), Math.max(1, timeoutMs));
      waiters.add(waiter);
      this.commitCount++;
    });
  }

  /** Produces waiting for a commit now. */
  get committing(): number {
    return this.commitCount;
  }

  /** Fetches waiting now. */
  get waiting(): number {
    return this.count;
  }

  private advanced(actorId: string, event: HighWatermarkAdvanced): void {
    this.last.set(actorId, event);
    const commits = this.commits.get(actorId);
    if (commits) {
      for (const w of [...commits]) {
        const outcome = commitOutcome(event, w.offset, w.leaderEpoch);
        if (outcome !== undefined) w.settle(outcome);
      }
    }
    const set = this.waiters.get(actorId);
    if (set) for (const w of [...set]) w.wake(actorId);
    const subs = this.subscribers.get(actorId);
    if (subs) for (const f of [...subs]) f();
  }

  private remove(w: Waiter): void {
    this.count--;
    for (const id of w.actorIds) {
      const set = this.waiters.get(id);
      if (!set) continue;
      set.delete(w);
      if (set.size === 0) this.waiters.delete(id);
    }
  }
}

/** What an event says of an acks=all wait: undefined while it must go on waiting. */
function commitOutcome(e: HighWatermarkAdvanced, offset: number, leaderEpoch: number): CommitOutcome | undefined {
  // An event from before the append's epoch (this replica led in an older one) says nothing of it.
  if (e.leaderEpoch < leaderEpoch) return undefined;
  if (e.leaderEpoch > leaderEpoch || !e.leader) return 'NOT_LEADER_OR_FOLLOWER';
  if (e.highWatermark < offset) return undefined;
  return e.isrSize < e.minInsyncReplicas ? 'NOT_ENOUGH_REPLICAS_AFTER_APPEND' : null;
}
