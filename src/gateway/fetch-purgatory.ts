/**
 * FetchPurgatory: where long-polling fetches wait for data (Kafka's delayed-fetch purgatory).
 * Lives on the main thread. Partition actors publish HighWatermarkAdvanced after a turn that
 * added records; a waiting fetch wakes on the first such event for any of its partitions, or at
 * its deadline, and then reads again.
 *
 * Bounded: at most `maxWaiters` fetches wait at once; beyond that a fetch answers at once with
 * what it has, which is always correct for Kafka clients (they fetch again).
 */
import type { Supervisor } from '../runtime/supervisor.js';

interface Waiter {
  readonly actorIds: readonly string[];
  readonly wake: () => void;
}

export class FetchPurgatory {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private count = 0;

  constructor(supervisor: Supervisor, private readonly maxWaiters = 10_000) {
    supervisor.onNotify((actorId, event) => {
      if ((event as { type?: string }).type === 'HighWatermarkAdvanced') this.wake(actorId);
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

  get waiting(): number {
    return this.count;
  }

  private wake(actorId: string): void {
    const set = this.waiters.get(actorId);
    if (!set) return;
    for (const w of [...set]) w.wake();
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
