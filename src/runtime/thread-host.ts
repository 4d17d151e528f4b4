/**
 * ThreadHost: the worker-thread side of the runtime. Lives on one worker thread and hosts many
 * actors; nothing here is shared with other threads.
 *
 * Invariants:
 * - An actor handles one turn at a time; messages that arrive during an async turn wait in its
 *   mailbox and form the next turn, in arrival order.
 * - Every ask that reaches this thread is answered exactly once: by the actor, or with an error
 *   if the actor is unknown, failed, or stopped.
 * - Mailboxes are bounded by the sender: the supervisor never has more than `mailboxCapacity`
 *   asks outstanding per actor, so a mailbox here never holds more than that, plus the
 *   messages the actor scheduled to itself (`ActorContext.schedule`: one per timer it keeps,
 *   answered to nobody, cleared when it stops).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Actor, ActorContext, ActorFactory, Outcome, ThreadEvents } from './actor.js';
import type { ActorInspection, Percentiles, StopResult, WorkerControl, WorkerStats } from './control.js';
import { serializeError, type FromWorker, type ToWorker } from './envelope.js';
import { createEmitter } from './events.js';
import { runtimeDefaults, threadStatsWindowMs } from './limits.js';

const loopDelayResolutionMs = 10;

interface Queued {
  /** The ask's id, or null for a message the actor scheduled to itself (nobody awaits it). */
  readonly id: number | null;
  readonly msg: unknown;
  readonly enqueuedAt: number;
}

interface Hosted {
  readonly id: string;
  readonly kind: string;
  readonly actor: Actor;
  mailbox: Queued[];
  /** Asks answered with a deferred outcome and not yet completed. */
  readonly deferred: Set<number>;
  /** Messages the actor scheduled to itself that are not yet in its mailbox. */
  readonly timers: Set<NodeJS.Timeout>;
  busy: boolean;
  messagesHandled: number;
  readonly waitMs: SampleRing;
  readonly runMs: SampleRing;
}

/** A fixed-size ring of recent samples: enough for percentiles on the console, bounded memory. */
class SampleRing {
  private readonly samples = new Float64Array(256);
  private count = 0;
  add(v: number): void {
    this.samples[this.count % this.samples.length] = v;
    this.count++;
  }
  percentiles(): Percentiles {
    const n = Math.min(this.count, this.samples.length);
    if (n === 0) return { p50: 0, p99: 0, max: 0 };
    const sorted = Array.from(this.samples.subarray(0, n)).sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))]!;
    return { p50: at(0.5), p99: at(0.99), max: sorted[n - 1]! };
  }
}

export interface ThreadTransport {
  post(batch: FromWorker[], transfer: ArrayBuffer[]): void;
}

export class ThreadHost implements WorkerControl {
  private readonly actors = new Map<string, Hosted>();
  private readonly ready = new Set<Hosted>();
  private outbox: FromWorker[] = [];
  private outTransfer: ArrayBuffer[] = [];
  private drainScheduled = false;
  private flushScheduled = false;
  /**
   * Samples this thread's event-loop delay every 10 ms. It is closed into `lastDelayWindow` and
   * reset on a timer of this thread's own, not at each `stats` call: otherwise every reader (the
   * console's overview and actors pages, /metrics, a second browser tab) would shorten the
   * window the others are shown. (Event-loop utilisation is measured from the main thread, by
   * WorkerHandle, so that a thread busy in a long turn is measured rather than waited for.)
   */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: loopDelayResolutionMs });
  private lastDelayWindow: Percentiles | null = null;
  private readonly delayWindowTimer: NodeJS.Timeout;
  readonly events = createEmitter<ThreadEvents>();

  constructor(
    readonly threadIndex: number,
    private readonly kinds: ReadonlyMap<string, ActorFactory>,
    private readonly transport: ThreadTransport,
    private readonly now: () => number = Date.now,
  ) {
    this.loopDelay.enable();
    this.delayWindowTimer = setInterval(() => {
      this.lastDelayWindow = this.delayPercentiles();
      this.loopDelay.reset();
    }, threadStatsWindowMs);
    // The window timer must not keep a thread (or a test that builds a host) alive.
    this.delayWindowTimer.unref();
  }

  /** Data plane: a batch of asks from the supervisor. */
  deliver(batch: readonly ToWorker[]): void {
    const t = performance.now();
    for (const env of batch) {
      const hosted = this.actors.get(env.to);
      if (!hosted) {
        this.reply(env.id, false, {
          name: 'RuntimeError',
          code: 'ACTOR_FAILED',
          message: `actor ${env.to} is not running on thread ${this.threadIndex}`,
        });
        continue;
      }
      hosted.mailbox.push({ id: env.id, msg: env.msg, enqueuedAt: t });
      this.ready.add(hosted);
    }
    this.scheduleDrain();
    this.scheduleFlush();
  }

  async spawn(actorId: string, kind: string, config: unknown): Promise<void> {
    if (this.actors.has(actorId)) throw new Error(`actor ${actorId} already runs on thread ${this.threadIndex}`);
    const factory = this.kinds.get(kind);
    if (!factory) throw new Error(`unknown actor kind ${kind}; known kinds: ${[...this.kinds.keys()].join(', ')}`);
    const timers = new Set<NodeJS.Timeout>();
    const ctx: ActorContext = {
      id: actorId,
      kind,
      threadIndex: this.threadIndex,
      now: this.now,
      notify: (event) => this.notify(actorId, event),
      events: this.events,
      schedule: (msg, delayMs) => this.schedule(actorId, timers, msg, delayMs),
    };
    const actor = await factory(ctx, config);
    this.actors.set(actorId, {
      id: actorId,
      kind,
      actor,
      mailbox: [],
      deferred: new Set(),
      timers,
      busy: false,
      messagesHandled: 0,
      waitMs: new SampleRing(),
      runMs: new SampleRing(),
    });
    this.events.emit('started', { actorId, kind });
  }

  /**
   * A message an actor sends itself after `delayMs`: it joins the mailbox as an ask would and
   * forms a turn, so whatever it triggers is supervised like any other message. Timers that have
   * not fired are cleared when the actor stops or fails (`clearTimers`); a timer that fires for
   * an actor id now hosted by a new incarnation finds its own set gone and delivers nothing.
   */
  private schedule(actorId: string, timers: Set<NodeJS.Timeout>, msg: unknown, delayMs: number): () => void {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        const hosted = this.actors.get(actorId);
        if (!hosted || hosted.timers !== timers) return;
        hosted.mailbox.push({ id: null, msg, enqueuedAt: performance.now() });
        this.ready.add(hosted);
        this.scheduleDrain();
      },
      Math.max(0, delayMs),
    );
    // An actor's own timers must not keep its thread (or a test's process) alive.
    timer.unref();
    timers.add(timer);
    return () => {
      clearTimeout(timer);
      timers.delete(timer);
    };
  }

  private clearTimers(hosted: Hosted): void {
    for (const t of hosted.timers) clearTimeout(t);
    hosted.timers.clear();
  }

  async stop(actorId: string, reason: string): Promise<StopResult> {
    const hosted = this.actors.get(actorId);
    if (!hosted) return { wakeAtMs: null };
    this.actors.delete(actorId);
    this.ready.delete(hosted);
    this.clearTimers(hosted);
    this.failMailbox(hosted, 'ACTOR_UNAVAILABLE', `actor ${actorId} stopped: ${reason}`);
    const wakeAtMs = hosted.actor.nextWakeAtMs?.() ?? null;
    await hosted.actor.stop();
    this.events.emit('stopped', { actorId, reason });
    return { wakeAtMs };
  }

  // WorkerControl's methods answer with promises (over comlink); these three need no await.
  inspect(actorId: string): Promise<ActorInspection | null> {
    const hosted = this.actors.get(actorId);
    return Promise.resolve(hosted ? this.describe(hosted) : null);
  }

  list(): Promise<ActorInspection[]> {
    return Promise.resolve([...this.actors.values()].map((h) => this.describe(h)));
  }

  stats(): Promise<WorkerStats> {
    return Promise.resolve({
      threadIndex: this.threadIndex,
      actors: this.actors.size,
      // Before the first window closes, what has been recorded since the thread started.
      eventLoopDelayMs: this.lastDelayWindow ?? this.delayPercentiles(),
    });
  }

  private delayPercentiles(): Percentiles {
    const d = this.loopDelay;
    // The histogram records the time between its timer's ticks, which includes the 10 ms
    // resolution itself; the delay is what lies beyond it.
    const delayMs = (ns: number) => Math.max(0, ns / 1e6 - loopDelayResolutionMs);
    return d.count === 0 ? { p50: 0, p99: 0, max: 0 } : { p50: delayMs(d.percentile(50)), p99: delayMs(d.percentile(99)), max: delayMs(d.max) };
  }

  private describe(h: Hosted): ActorInspection {
    let state: unknown;
    try {
      state = h.actor.inspect();
    } catch (err) {
      state = { error: serializeError(err).message };
    }
    return {
      id: h.id,
      kind: h.kind,
      threadIndex: this.threadIndex,
      mailboxDepth: h.mailbox.length,
      busy: h.busy,
      messagesHandled: h.messagesHandled,
      waitMs: h.waitMs.percentiles(),
      runMs: h.runMs.percentiles(),
      state,
    };
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    // setImmediate rather than a microtask: every batch that arrived in this event-loop turn
    // joins the same actor turn, which is what makes group commit effective.
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    const ready = [...this.ready];
    this.ready.clear();
    for (const hosted of ready) {
      if (!hosted.busy && hosted.mailbox.length > 0 && this.actors.get(hosted.id) === hosted) this.runTurn(hosted);
    }
    this.scheduleFlush();
  }

  private runTurn(hosted: Hosted): void {
    const turn = hosted.mailbox;
    hosted.mailbox = [];
    const start = performance.now();
    for (const q of turn) hosted.waitMs.add(start - q.enqueuedAt);
    let result: Outcome[] | Promise<Outcome[]>;
    try {
      // The host cannot check what crossed the thread boundary; the sender's ask was typed.
      result = hosted.actor.receive(turn.map((q) => q.msg) as Parameters<Actor['receive']>[0]);
    } catch (err) {
      this.actorFailed(hosted, turn, err);
      return;
    }
    if (Array.isArray(result)) {
      this.finishTurn(hosted, turn, result, start);
      return;
    }
    hosted.busy = true;
    result.then(
      (outcomes) => {
        hosted.busy = false;
        this.finishTurn(hosted, turn, outcomes, start);
        if (hosted.mailbox.length > 0) this.ready.add(hosted);
        this.scheduleDrain();
        this.scheduleFlush();
      },
      (err) => {
        hosted.busy = false;
        this.actorFailed(hosted, turn, err);
        this.scheduleFlush();
      },
    );
  }

  private finishTurn(hosted: Hosted, turn: Queued[], outcomes: Outcome[], start: number): void {
    if (outcomes.length !== turn.length) {
      this.actorFailed(hosted, turn, new Error(`actor ${hosted.id} answered ${outcomes.length} of ${turn.length} messages`));
      return;
    }
    hosted.runMs.add(performance.now() - start);
    hosted.messagesHandled += turn.length;
    for (let i = 0; i < turn.length; i++) {
      const id = turn[i]!.id;
      // A scheduled message has nobody to answer: its error outcome is the actor's to record.
      if (id !== null) this.answer(hosted, id, outcomes[i]!);
    }
  }

  private answer(hosted: Hosted, id: number, o: Outcome): void {
    if (o.ok === 'deferred') {
      hosted.deferred.add(id);
      o.bind((later) => {
        // An actor that stopped has already failed its deferred asks; a late answer is dropped.
        if (!hosted.deferred.delete(id)) return;
        this.answer(hosted, id, later);
        this.scheduleFlush();
      });
    } else if (o.ok) {
      this.reply(id, true, this.takeTransfer(o.value));
    } else {
      this.reply(id, false, o.error);
    }
  }

  /** Moves a reply's `transfer` list into the batch's transfer list (see `withTransfer`). */
  private takeTransfer(value: unknown): unknown {
    if (value !== null && typeof value === 'object' && 'transfer' in value) {
      const t = (value as { transfer?: ArrayBuffer[] }).transfer;
      if (t) for (const b of t) this.outTransfer.push(b);
      delete (value as { transfer?: unknown }).transfer;
    }
    return value;
  }

  private actorFailed(hosted: Hosted, turn: Queued[], err: unknown): void {
    const error = serializeError(err);
    for (const q of turn) if (q.id !== null) this.reply(q.id, false, { ...error, code: 'ACTOR_FAILED' });
    if (this.actors.get(hosted.id) !== hosted) return;
    this.actors.delete(hosted.id);
    this.ready.delete(hosted);
    this.clearTimers(hosted);
    this.failMailbox(hosted, 'ACTOR_FAILED', `actor ${hosted.id} failed: ${error.message}`);
    // Release the actor's resources before reporting, so a restart can reopen them at once.
    Promise.resolve()
      .then(() => hosted.actor.stop())
      .catch(() => undefined)
      .finally(() => {
        this.events.emit('failed', { actorId: hosted.id, error });
        this.outbox.push({ k: 'failed', actorId: hosted.id, error });
        this.scheduleFlush();
      });
  }

  private failMailbox(hosted: Hosted, code: string, message: string): void {
    for (const q of hosted.mailbox) if (q.id !== null) this.reply(q.id, false, { name: 'RuntimeError', code, message });
    for (const id of hosted.deferred) this.reply(id, false, { name: 'RuntimeError', code, message });
    hosted.deferred.clear();
    hosted.mailbox = [];
    this.scheduleFlush();
  }

  private reply(id: number, ok: boolean, value: unknown): void {
    this.outbox.push({ k: 'reply', id, ok, value });
  }

  private notify(actorId: string, event: unknown): void {
    this.outbox.push({ k: 'notify', actorId, event });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.outbox.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.outbox.length > 0) {
      const batch = this.outbox.splice(0, runtimeDefaults.batchEnvelopesMax);
      const transfer = this.outbox.length === 0 ? this.outTransfer : [];
      if (this.outbox.length === 0) this.outTransfer = [];
      this.transport.post(batch, transfer);
    }
  }
}
