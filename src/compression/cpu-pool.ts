/**
 * The CPU pool: piscina threads that do a partition's stateless, CPU-heavy batch work —
 * recompression to a topic's `compression.type`, compaction's decompress and recompress — off
 * the partition's worker thread, where that work would delay every other partition of the thread.
 *
 * One pool per worker thread that hosts partition actors, created on first use (a node that never
 * recompresses starts no pool thread) and living on that worker thread; its threads exit after
 * `idleTimeoutMs` without work. Not thread-safe: only its own worker thread calls it.
 *
 * Bounds (src/compression/limits.ts, overridable by node settings): at most `threads` tasks run
 * and `queueMax` wait in piscina's queue. A caller that finds the queue full waits for room —
 * backpressure, so a partition that recompresses faster than the pool can keeps its requests in
 * its own bounded mailbox instead of growing memory here — for at most `queueWaitTimeoutMs`, and
 * at most `waitersMax` callers wait; past either bound the call fails with CpuPoolBusyError,
 * which the partition actor answers with a retriable error.
 *
 * Inputs below `inlineBytesMax` run inline on the caller's thread: a hop to a pool thread costs
 * two postMessage copies or transfers and a wake-up (about 70 µs, shared/design/PERFORMANCE.md:
 * piscina runs ~15k tasks/s), more than compressing a few KiB costs. `threads: 0` runs
 * everything inline (a test, or a node told not to use the pool).
 */
import { Piscina } from 'piscina';
import type { BatchCodecs } from '../storage/batch-rewrite.js';
import { compress, decompress } from './index.js';
import { CPU_POOL_DEFAULTS, type CpuPoolSettings } from './limits.js';
import { runCpuTask, settled, type CpuTask, type CpuTaskOutcome } from './cpu-task.js';

export type { CpuPoolSettings };

/** The pool's queue stayed full for longer than a caller may wait; the caller should retry later. */
export class CpuPoolBusyError extends Error {
  override readonly name = 'CpuPoolBusyError';
}

export interface CpuPoolStats {
  readonly threads: number;
  readonly queued: number;
  readonly waiting: number;
  /** Tasks running or queued in the pool (at most threads + queueMax). */
  readonly inFlight: number;
  readonly completedInPool: number;
  readonly completedInline: number;
}

function taskEntryUrl(): URL {
  const here = new URL(import.meta.url);
  // Tests run the TypeScript sources; a pool thread needs the build output, as worker-handle.ts explains.
  if (here.pathname.endsWith('.ts')) return new URL('../../dist/src/compression/cpu-pool-thread.js', here);
  return new URL('./cpu-pool-thread.js', here);
}

export class CpuPool implements BatchCodecs {
  private pool: Piscina | undefined;
  private readonly waiters: (() => void)[] = [];
  private inFlight = 0;
  private completedInPool = 0;
  private completedInline = 0;
  private closed = false;
  readonly settings: CpuPoolSettings;

  constructor(settings: Partial<CpuPoolSettings> = {}) {
    this.settings = { ...CPU_POOL_DEFAULTS, ...settings };
  }

  compress(codec: number, buf: Buffer): Promise<Buffer> {
    return codec === 0 ? Promise.resolve(buf) : this.run({ op: 'compress', codec, bytes: buf });
  }

  decompress(codec: number, buf: Buffer): Promise<Buffer> {
    return codec === 0 ? Promise.resolve(buf) : this.run({ op: 'decompress', codec, bytes: buf });
  }

  /** A produce request's records with every batch in `codec` (see batch-rewrite's recompressRecords). */
  recompressRecords(records: Uint8Array, codec: number): Promise<Buffer> {
    return this.run({ op: 'recompressRecords', codec, bytes: records });
  }

  /** Refuses records without a key (INVALID_RECORD), as a compacted topic must (see batch-rewrite's requireKeys). */
  async requireKeys(records: Uint8Array): Promise<void> {
    await this.run({ op: 'requireKeys', codec: 0, bytes: records });
  }

  stats(): CpuPoolStats {
    return {
      threads: this.pool?.threads.length ?? 0,
      queued: this.pool?.queueSize ?? 0,
      waiting: this.waiters.length,
      inFlight: this.inFlight,
      completedInPool: this.completedInPool,
      completedInline: this.completedInline,
    };
  }

  /** Ends the pool's threads; later calls run inline. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    for (const wake of this.waiters.splice(0)) wake();
    await pool?.destroy();
  }

  private async run(task: CpuTask): Promise<Buffer> {
    if (this.closed || this.settings.threads === 0 || task.bytes.byteLength < this.settings.inlineBytesMax) {
      const outcome = await runCpuTask(task, { compress, decompress });
      this.completedInline++;
      return settled(outcome);
    }
    await this.slot();
    if (this.closed) {
      this.release();
      return this.run(task);
    }
    try {
      // The input goes to the pool thread as a copy of its own, transferred: transferring the
      // caller's buffer would detach it (and a view into a produce frame would take the whole
      // frame with it), and a plain postMessage would copy it twice.
      const own = Uint8Array.prototype.slice.call(task.bytes) as Uint8Array;
      const pool = this.started();
      const out = (await pool.run({ op: task.op, codec: task.codec, bytes: own }, { transferList: [own.buffer as ArrayBuffer] })) as Uint8Array | CpuTaskOutcome;
      this.completedInPool++;
      return settled(out instanceof Uint8Array ? { ok: out } : out);
    } finally {
      this.release();
    }
  }

  private release(): void {
    this.inFlight--;
    this.waiters.shift()?.();
  }

  private started(): Piscina {
    this.pool ??= new Piscina({
      filename: taskEntryUrl().href,
      minThreads: 0,
      maxThreads: this.settings.threads,
      idleTimeout: this.settings.idleTimeoutMs,
      // slot() keeps at most queueMax waiting; piscina's own bound is a backstop behind it.
      maxQueue: this.settings.queueMax + this.settings.threads,
      // Pool threads wait for work on their message port, not with Atomics.wait, so an idle
      // thread costs no CPU and exits at idleTimeout.
      atomics: 'disabled',
    });
    return this.pool;
  }

  /**
   * Takes one of the pool's `threads + queueMax` places (counted here, synchronously, so callers
   * that arrive in the same tick cannot all see room), waiting for one when all are taken
   * (backpressure), within the bounds in the header.
   */
  private async slot(): Promise<void> {
    const capacity = this.settings.threads + this.settings.queueMax;
    if (this.inFlight < capacity && this.waiters.length === 0) {
      this.inFlight++;
      return;
    }
    if (this.waiters.length >= this.settings.waitersMax) {
      throw new CpuPoolBusyError(`CPU pool full: ${this.inFlight} tasks running or queued and ${this.waiters.length} callers waiting`);
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new CpuPoolBusyError(`CPU pool queue stayed full for ${this.settings.queueWaitTimeoutMs} ms`));
      }, this.settings.queueWaitTimeoutMs);
      // A finished task hands its place straight to the first waiter, so inFlight never drops
      // below what is really running or queued.
      const wake = () => {
        clearTimeout(timer);
        this.inFlight++;
        resolve();
      };
      this.waiters.push(wake);
    });
  }
}

let threadPool: CpuPool | undefined;

/**
 * The CPU pool of the calling worker thread, created on first use. Its settings are node-wide
 * (every partition actor is given the same), so the first caller's are everyone's.
 */
export function cpuPoolOfThread(settings: Partial<CpuPoolSettings> = {}): CpuPool {
  threadPool ??= new CpuPool(settings);
  return threadPool;
}
