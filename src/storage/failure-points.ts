import { StorageError } from './storage-error.js';

/** Named places where a fault can be injected, in the order an append reaches them. */
export type FailurePointName = 'append' | 'commit' | 'read' | 'truncate' | 'deleteRecords';

/**
 * A tiny registry of armed failure points, in the spirit of Redpanda's named failure
 * injection: tests and the debug console arm a point, and the next operations that reach
 * it throw KAFKA_STORAGE_ERROR as a failing disk would. Not thread-safe: each
 * PartitionLog owns one, on the thread of its partition actor.
 */
export class FailurePoints {
  private readonly remaining = new Map<FailurePointName, number>();

  /** Arms `name` for the next `times` operations (all of them by default), or disarms it. */
  set(name: FailurePointName, enabled: boolean, times = Number.POSITIVE_INFINITY): void {
    if (enabled && times > 0) this.remaining.set(name, times);
    else this.remaining.delete(name);
  }

  /** The points currently armed, for the console. */
  armed(): FailurePointName[] {
    return [...this.remaining.keys()];
  }

  /** Throws if `name` is armed, counting the hit. */
  check(name: FailurePointName): void {
    const left = this.remaining.get(name);
    if (left === undefined) return;
    if (left <= 1) this.remaining.delete(name);
    else this.remaining.set(name, left - 1);
    throw new StorageError('KAFKA_STORAGE_ERROR', `injected failure at failure point '${name}'`);
  }
}
