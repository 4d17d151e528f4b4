/**
 * HighWatermarkWatch: the one place on the main thread that waits for a partition's high
 * watermark to move (Kafka's delayed-fetch purgatory, and the console's live tail). Partition
 * actors publish HighWatermarkAdvanced after a turn that added records; this subscribes to the
 * supervisor once and wakes whoever waits on that actor.
 *
 * Two ways to wait: `wait` (a long-polling fetch: the first event for any of its partitions, or
 * its deadline) and `subscribe` (a live tail: every event, until unsubscribed).
 *
 * Bounded: at most `maxWaiters` fetches wait at once; beyond that a fetch answers at once with
 * what it has, which is always correct for Kafka clients (they fetch again).
 */
import type { HighWatermarkAdvanced } from '../../actors/partition/messages.js';
import type { Supervisor } from '../runtime/supervisor.js';

interface Waiter {
  readonly actorIds: readonly string[];
  readonly wake: () => void;
}

export class HighWatermarkWatch {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly subscribers = new Map<string, Set<() => void>>();
  private count = 0;

  constructor(
    supervisor: Supervisor,
    private readonly maxWaiters = 10_000,
  ) {
    supervisor.onNotify((actorId, event) => {
      if ((event as Partial<HighWatermarkAdvanced>).type === 'HighWatermarkAdvanced') this.advanced(actorId);
    });
  }

  /** Resolves when any of `actorIds` has new data, or after `timeoutMs`. */
  wait(actorIds: readonly string[], timeoutMs: number): Promise<void> {
    if (timeoutMs <= 0 || actorIds.length === 0 || this.count >= this.maxWaiters) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let done = false;
      const waiter: Waiter = {
        actorIds,
        wake: () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          this.remove(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, timeoutMs);
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

  /** Fetches waiting now. */
  get waiting(): number {
    return this.count;
  }

  private advanced(actorId: string): void {
    const set = this.waiters.get(actorId);
    if (set) for (const w of [...set]) w.wake();
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
