/**
 * Supervisor: the node's supervisor actor. Lives on the main thread, beside the gateway; this is
 * a node view (it knows only this node's threads and actors).
 *
 * It spawns, stops, restarts and moves actors across worker threads, and routes every ask to the
 * thread that hosts the addressed actor. Supervision is one-for-one: a failed actor is restarted
 * alone, with exponential backoff, at most `maxRestarts` times in `restartWindowMs`; past that it
 * is marked failed and reported, not restarted forever. A worker thread that throws or exits is
 * replaced, and every actor it hosted is restarted on the replacement.
 *
 * Invariants:
 * - At most `mailboxCapacity` asks are outstanding per actor (sent and not yet answered). Asks
 *   beyond that, or for an actor that is starting, restarting or moving, wait here in a buffer of
 *   at most `pendingCapacity` and are sent in arrival order; past that `ask` fails at once with
 *   MAILBOX_FULL. So per actor, delivery order equals `ask` order.
 * - An actor is hosted by at most one thread at a time: a move drains the actor's outstanding
 *   asks, stops it (closing its database), and only then spawns it on the new thread.
 * - Lifecycle operations on one actor (spawn, stop, restart, move, passivate, activate) run one
 *   at a time.
 *
 * Passivation (for the kinds named in `passivation`, the partition and group-coordinator actors):
 * an actor with no ask for `idleMs` is stopped (its database closed, its memory released) and
 * its record stays, status `passivated`, with no thread. The next ask reactivates it on the least
 * loaded thread while asks wait here in order, so callers see only the extra latency. At most
 * `activationsMax` activations run at once (node-wide, first come first served), so a burst of
 * first touches cannot hold a thread for seconds. At most `maxActive` of them are active at once:
 * past it the least recently used idle ones are passivated. An actor that said, when it stopped,
 * that it must run again at some time (its next retention deletion) is woken then with
 * `wakeMessage` and passivated again right after, at most `wakesPerSweep` per sweep; an actor
 * registered lazily (`spawn` with `lazy`) has not said, so it is woken once within
 * `firstWakeWithinMs`. Wakes are background asks: they do not count as use.
 */
import type { MessagePort } from 'node:worker_threads';
import { createEmitter, type Emitter } from './events.js';
import type { ActorInspection, StopResult, ThreadStats } from './control.js';
import { RemoteActorError, type SerializedError } from './envelope.js';
import { RuntimeError } from './errors.js';
import type { ActorAddress, AskableType, MessageOf, Protocol, ReplyOf } from './protocol.js';
import { runtimeDefaults, type RuntimeLimits } from './limits.js';
import { WorkerHandle, type SentAsk } from './worker-handle.js';

export type ActorStatus = 'starting' | 'running' | 'restarting' | 'moving' | 'stopping' | 'failed' | 'stopped' | 'passivating' | 'passivated';

/** Lifecycle events of the node's actors, fanned out on the main thread (mitt). */
export type LifecycleEvents = {
  started: { actorId: string; threadIndex: number };
  stopped: { actorId: string; reason: string };
  restarted: { actorId: string; threadIndex: number; restarts: number; reason: string };
  failed: { actorId: string; reason: string };
  moved: { actorId: string; from: number; to: number; reason: string };
  workerExited: { threadIndex: number; reason: string };
  workerAdded: { threadIndex: number };
  passivated: { actorId: string; reason: string };
  activated: { actorId: string; threadIndex: number; waitedMs: number };
};

/** Which actors passivate when idle, and the bounds on how many are active and activating. */
export interface PassivationOptions {
  /** Actor kinds that passivate. */
  readonly kinds: readonly string[];
  /** An actor of those kinds with no ask for this long is passivated; 0 never passivates for idleness. */
  readonly idleMs: number;
  /** At most this many of them active at once; past it the least recently used idle ones passivate. */
  readonly maxActive: number;
  /** Activations under way at once, node-wide; more wait their turn in arrival order. */
  readonly activationsMax: number;
  /** Asked of a passivated actor when its wake time comes (its maintenance); it passivates again after. */
  readonly wakeMessage: { readonly type: string };
  /** A lazily registered actor is woken once within this long (spread at random), to learn its own wake time. */
  readonly firstWakeWithinMs: number;
  /** Wakes started per sweep (one sweep a second). */
  readonly wakesPerSweep: number;
}

/** How many actors are active and passivated, and the bound. */
export interface PassivationStats {
  readonly active: number;
  readonly passivated: number;
  readonly maxActive: number;
  readonly activations: number;
  readonly passivations: number;
  readonly activationsWaiting: number;
}

export interface SupervisorOptions {
  /** Worker threads to start with (at least 1). */
  readonly workers: number;
  /**
   * The module every worker thread imports its actor kinds from: it exports `actorKinds`, a map
   * of kind name to factory (the project's is actors/index.ts, see actors/registry.ts). Handed
   * over as a URL so that the runtime never imports the actors it hosts.
   */
  readonly actorKinds: URL | string;
  readonly limits?: Partial<RuntimeLimits>;
  readonly now?: () => number;
  /**
   * Ports to services outside the runtime, made afresh for every worker thread it starts
   * (including replacements and added threads) and handed to the thread's entry as `ports`.
   */
  readonly threadPorts?: () => Record<string, MessagePort>;
  readonly passivation?: PassivationOptions;
}

export interface AskOptions {
  readonly timeoutMs?: number;
  /** Buffers to move to the worker instead of copying; the caller must not touch them after. */
  readonly transfer?: ArrayBuffer[];
  /** A background ask (a maintenance wake) does not count as use, so it does not keep the actor active. */
  readonly background?: boolean;
}

interface Pending extends SentAsk {
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
}

interface ActorRecord {
  readonly id: string;
  readonly kind: string;
  /** What the actor is (re)started with; `updateConfig` keeps it current across restarts and moves. */
  config: unknown;
  host: WorkerHandle | null;
  status: ActorStatus;
  inFlight: number;
  waiting: Pending[];
  restartTimes: number[];
  restarts: number;
  lastError: string | undefined;
  drained: (() => void)[];
  /** Serialises lifecycle operations on this actor. */
  op: Promise<void>;
  /** Whether this actor's kind passivates. */
  readonly passivatable: boolean;
  /** When it was last asked (not counting background asks), by the supervisor's clock. */
  lastUsedMs: number;
  /** Asks not in the background so far: a wake passivates again only if none came meanwhile. */
  uses: number;
  /** When a passivated actor wants to run again (ms since the epoch), or null. */
  wakeAtMs: number | null;
  /** An activation is queued or under way. */
  activating: boolean;
}

export interface ActorSummary {
  readonly id: string;
  readonly kind: string;
  readonly status: ActorStatus;
  readonly threadIndex: number | null;
  readonly inFlight: number;
  readonly waiting: number;
  readonly restarts: number;
  readonly lastError: string | undefined;
}

export class Supervisor {
  readonly events: Emitter<LifecycleEvents> = createEmitter<LifecycleEvents>();
  readonly limits: RuntimeLimits;
  private readonly hosts: WorkerHandle[] = [];
  private readonly actors = new Map<string, ActorRecord>();
  /** The records with a thread (not passivated): what thread loads and the open-log budget count. */
  private readonly onThread = new Set<ActorRecord>();
  /** The passivating kinds' records on a thread, least recently used first (a Map keeps insertion order). */
  private readonly recency = new Map<ActorRecord, true>();
  private readonly notifyHandlers: ((actorId: string, event: unknown) => void)[] = [];
  private readonly now: () => number;
  private nextThreadIndex = 0;
  /** When worker threads died, within the replacement window. */
  private threadExits: number[] = [];
  private shuttingDown = false;
  private readonly passivation: PassivationOptions | undefined;
  private activationsRunning = 0;
  private readonly activationQueue: (() => void)[] = [];
  private activationCount = 0;
  private passivationCount = 0;
  private sweepTimer: NodeJS.Timeout | undefined;

  private readonly threadPorts: () => Record<string, MessagePort>;
  private readonly actorKindsUrl: string;
  private constructor(opts: SupervisorOptions) {
    this.actorKindsUrl = String(opts.actorKinds);
    this.limits = { ...runtimeDefaults, ...opts.limits };
    this.now = opts.now ?? Date.now;
    this.threadPorts = opts.threadPorts ?? (() => ({}));
    this.passivation = opts.passivation;
    if (this.passivation) {
      // Often enough that an idle actor closes within about 1.5 x idleMs, at most once a second.
      const everyMs = this.passivation.idleMs > 0 ? Math.min(SWEEP_MS, Math.max(SWEEP_MIN_MS, this.passivation.idleMs / 2)) : SWEEP_MS;
      this.sweepTimer = setInterval(() => this.sweep(), everyMs);
      this.sweepTimer.unref();
    }
  }

  static async start(opts: SupervisorOptions): Promise<Supervisor> {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new Error(`workers must be an integer >= 1, got ${opts.workers}`);
    const sup = new Supervisor(opts);
    for (let i = 0; i < opts.workers; i++) sup.hosts.push(sup.newHost());
    await Promise.all(sup.hosts.map((h) => sup.withTimeout(h.control.list(), 'worker start')));
    return sup;
  }

  get threadCount(): number {
    return this.hosts.length;
  }

  /** Subscribes to notifications actors publish (for example a partition's high watermark). */
  onNotify(handler: (actorId: string, event: unknown) => void): void {
    this.notifyHandlers.push(handler);
  }

  has(actorId: string): boolean {
    return this.actors.has(actorId);
  }

  /**
   * Spawns an actor on the least loaded thread (or the given one) and waits until it runs. With
   * `lazy`, an actor of a passivating kind is only registered, passivated: its first ask starts it,
   * and unless `firstWake` is false (nothing of its own to maintain yet, as a new partition) it is
   * woken once within `firstWakeWithinMs` to learn when it needs waking after that.
   */
  async spawn(actorId: string, kind: string, config: unknown, threadIndex?: number, opts: { lazy?: boolean; firstWake?: boolean } = {}): Promise<void> {
    if (this.shuttingDown) throw new RuntimeError('SHUTTING_DOWN', 'the node is shutting down');
    if (this.actors.has(actorId)) throw new Error(`actor ${actorId} already exists`);
    const passivatable = this.passivation?.kinds.includes(kind) ?? false;
    const lazy = passivatable && opts.lazy === true && threadIndex === undefined;
    const host = lazy ? null : threadIndex === undefined ? this.leastLoaded() : this.hosts[threadIndex];
    if (host === undefined) throw new Error(`no worker thread ${threadIndex}`);
    const rec: ActorRecord = {
      id: actorId,
      kind,
      config,
      host,
      status: lazy ? 'passivated' : 'starting',
      inFlight: 0,
      waiting: [],
      restartTimes: [],
      restarts: 0,
      lastError: undefined,
      drained: [],
      op: Promise.resolve(),
      passivatable,
      lastUsedMs: this.now(),
      uses: 0,
      wakeAtMs: lazy && opts.firstWake !== false ? Date.now() + Math.floor(Math.random() * this.passivation!.firstWakeWithinMs) : null,
      activating: false,
    };
    this.actors.set(actorId, rec);
    if (lazy || !host) return;
    this.onThread.add(rec);
    await this.serialise(rec, async () => {
      try {
        await this.withTimeout(host.control.spawn(actorId, kind, config), `spawn ${actorId}`);
      } catch (err) {
        this.actors.delete(actorId);
        this.onThread.delete(rec);
        this.recency.delete(rec);
        this.failWaiting(rec, 'ACTOR_UNAVAILABLE', `actor ${actorId} could not start: ${(err as Error).message}`);
        throw err;
      }
      rec.status = 'running';
      this.events.emit('started', { actorId, threadIndex: host.threadIndex });
      this.pump(rec);
    });
  }

  /**
   * Replaces the config an actor will be restarted or moved with. The running actor is told of
   * the change by its own message (the caller's job), so both stay in step.
   */
  updateConfig(actorId: string, config: unknown): void {
    this.requireRecord(actorId).config = config;
  }

  /** Stops an actor after its outstanding asks are answered; later asks fail. */
  async stop(actorId: string, reason = 'stopped by request'): Promise<void> {
    const rec = this.actors.get(actorId);
    if (!rec) return;
    await this.serialise(rec, async () => {
      if (rec.status === 'stopped') return;
      const wasRunning = rec.status === 'running';
      rec.status = 'stopping';
      this.failWaiting(rec, 'ACTOR_UNAVAILABLE', `actor ${actorId} is stopping`);
      if (wasRunning) await this.drain(rec);
      if (rec.host?.alive) await this.withTimeout(rec.host.control.stop(actorId, reason), `stop ${actorId}`).catch(() => undefined);
      rec.status = 'stopped';
      this.actors.delete(actorId);
      this.onThread.delete(rec);
      this.recency.delete(rec);
      this.events.emit('stopped', { actorId, reason });
    });
  }

  /** Restarts an actor through supervision (the console's "restart" action). */
  async restart(actorId: string, reason = 'restart requested'): Promise<void> {
    const rec = this.requireRecord(actorId);
    await this.serialise(rec, async () => {
      if (rec.status !== 'running') throw new Error(`actor ${actorId} is ${rec.status}, not running`);
      rec.status = 'restarting';
      await this.drain(rec);
      if (rec.host?.alive) await this.withTimeout(rec.host.control.stop(actorId, reason), `stop ${actorId}`);
      await this.startOn(rec, rec.host && rec.host.alive ? rec.host : this.leastLoaded(), reason);
    });
  }

  /**
   * Sends a message of the actor's protocol and waits for its reply, typed by the protocol: a
   * message the protocol does not have, a wrong field or a wrong reply type does not compile.
   * The address must be of this node (the caller's ask path checks, see src/cluster/actor-asks.ts).
   */
  ask<P extends Protocol, K extends AskableType<P>>(to: ActorAddress<P>, msg: MessageOf<P, K>, opts: AskOptions = {}): Promise<ReplyOf<P, K>> {
    return this.askUnchecked(to.actorId, msg, opts);
  }

  /**
   * `ask` without the protocol's types, for the one caller that cannot have them: the console's
   * debugging route, which checks the message's type by name first.
   */
  askUnchecked(actorId: string, msg: unknown, opts: AskOptions = {}): Promise<unknown> {
    const rec = this.actors.get(actorId);
    if (this.shuttingDown) return Promise.reject(new RuntimeError('SHUTTING_DOWN', 'the node is shutting down'));
    if (!rec || rec.status === 'failed' || rec.status === 'stopped' || rec.status === 'stopping') {
      return Promise.reject(new RuntimeError('ACTOR_UNAVAILABLE', `actor ${actorId} is ${rec ? rec.status : 'unknown'}`));
    }
    if (!opts.background) {
      rec.lastUsedMs = this.now();
      rec.uses++;
      if (rec.passivatable && this.recency.delete(rec)) this.recency.set(rec, true);
    }
    return new Promise<unknown>((resolve, reject) => {
      const p: Pending = {
        actorId,
        msg,
        transfer: opts.transfer,
        settled: false,
        timer: undefined,
        settle: (ok, value) => {
          if (p.settled) return;
          p.settled = true;
          if (p.timer) clearTimeout(p.timer);
          if (ok) resolve(value);
          else reject(toError(value));
        },
      };
      const timeoutMs = opts.timeoutMs ?? this.limits.askTimeoutMs;
      p.timer = setTimeout(() => p.settle(false, { name: 'RuntimeError', code: 'REQUEST_TIMED_OUT', message: `no reply from ${actorId} within ${timeoutMs} ms` }), timeoutMs);
      p.timer.unref();
      if (rec.status === 'running' && rec.waiting.length === 0 && rec.inFlight < this.limits.mailboxCapacity) {
        this.sendNow(rec, p);
      } else if (rec.waiting.length < this.limits.pendingCapacity) {
        rec.waiting.push(p);
        if (rec.status === 'passivated') this.activate(rec);
      } else {
        p.settle(false, { name: 'RuntimeError', code: 'MAILBOX_FULL', message: `mailbox of ${actorId} is full (${rec.inFlight} in flight, ${rec.waiting.length} waiting)` });
      }
    });
  }

  /**
   * Adds worker threads and moves actors onto them until every thread hosts about the same
   * number. Each move drains the actor, stops it on its old thread and starts it on the new one,
   * while asks for it wait in order; nothing is lost, duplicated or reordered.
   */
  async addWorkers(n: number): Promise<{ added: number[]; moved: { actorId: string; from: number; to: number }[] }> {
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`workers to add must be an integer from 1 to 64, got ${n}`);
    const fresh: WorkerHandle[] = [];
    for (let i = 0; i < n; i++) fresh.push(this.newHost());
    await Promise.all(fresh.map((h) => this.withTimeout(h.control.list(), 'worker start')));
    this.hosts.push(...fresh);
    for (const h of fresh) this.events.emit('workerAdded', { threadIndex: h.threadIndex });
    const plan = this.rebalancePlan();
    const moved: { actorId: string; from: number; to: number }[] = [];
    await Promise.all(
      plan.map(async ({ rec, to }) => {
        const from = rec.host!.threadIndex;
        await this.move(rec, to, `rebalancing onto added thread(s) ${fresh.map((h) => h.threadIndex).join(', ')}`);
        moved.push({ actorId: rec.id, from, to: to.threadIndex });
      }),
    );
    return { added: fresh.map((h) => h.threadIndex), moved };
  }

  /** Moves one actor to another thread (also used by the console). */
  async moveActor(actorId: string, threadIndex: number): Promise<void> {
    const to = this.hosts.find((h) => h.threadIndex === threadIndex && h.alive);
    if (!to) throw new Error(`no live worker thread ${threadIndex}`);
    await this.move(this.requireRecord(actorId), to, 'moved by request');
  }

  summary(actorId: string): ActorSummary | undefined {
    const rec = this.actors.get(actorId);
    return rec && this.summarise(rec);
  }

  listActors(): ActorSummary[] {
    return [...this.actors.values()].map((r) => this.summarise(r));
  }

  /** Passivates an actor now (the console's "passivate"): false if it is busy or not of a passivating kind. */
  async passivateActor(actorId: string): Promise<boolean> {
    const rec = this.requireRecord(actorId);
    if (!rec.passivatable) throw new Error(`actors of kind ${rec.kind} do not passivate`);
    await this.passivate(rec, 'passivated by request');
    return rec.status === 'passivated';
  }

  /** Activates a passivated actor now (the console's "wake") and waits until it runs. */
  async activateActor(actorId: string): Promise<void> {
    const rec = this.requireRecord(actorId);
    this.activate(rec);
    await rec.op;
    if (rec.status !== 'running') throw new Error(`actor ${actorId} is ${rec.status}`);
  }

  passivationStats(): PassivationStats {
    let active = 0;
    let passivated = 0;
    for (const rec of this.actors.values()) {
      if (!rec.passivatable) continue;
      if (rec.status === 'passivated') passivated++;
      else if (rec.status !== 'stopped' && rec.status !== 'failed') active++;
    }
    return {
      active,
      passivated,
      maxActive: this.passivation?.maxActive ?? 0,
      activations: this.activationCount,
      passivations: this.passivationCount,
      activationsWaiting: this.activationQueue.length,
    };
  }

  /** Inspects one actor on its thread: mailbox, timings and the actor's own state. */
  async inspect(actorId: string): Promise<ActorInspection | null> {
    const rec = this.actors.get(actorId);
    if (!rec?.host?.alive || rec.status !== 'running') return null;
    return this.withTimeout(rec.host.control.inspect(actorId), `inspect ${actorId}`);
  }

  /**
   * Per live thread: its stats (its own, over the control plane, and its event-loop
   * utilisation, which its handle measures from this thread) and the actors it hosts.
   */
  async threads(): Promise<{ stats: ThreadStats; actors: ActorInspection[] }[]> {
    const live = this.hosts.filter((h) => h.alive);
    return Promise.all(
      live.map(async (h) => ({
        stats: { ...(await this.withTimeout(h.control.stats(), 'stats')), ...h.eventLoopLoad() },
        actors: await this.withTimeout(h.control.list(), 'list'),
      })),
    );
  }

  /** Terminates a worker thread abruptly, as a crash would (for tests and fault drills). */
  async killThread(threadIndex: number): Promise<void> {
    const h = this.hosts.find((x) => x.threadIndex === threadIndex);
    if (!h) throw new Error(`no worker thread ${threadIndex}`);
    await h.terminate();
  }

  /** Drains every actor, stops them (closing their databases) and terminates the threads. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    clearInterval(this.sweepTimer);
    for (const wake of this.activationQueue.splice(0)) wake();
    await Promise.all(
      [...this.actors.values()].map(async (rec) => {
        await rec.op.catch(() => undefined);
        this.failWaiting(rec, 'SHUTTING_DOWN', 'the node is shutting down');
        await this.drain(rec).catch(() => undefined);
        if (rec.host?.alive && rec.status === 'running') {
          await this.withTimeout(rec.host.control.stop(rec.id, 'shutdown'), `stop ${rec.id}`).catch(() => undefined);
        }
        rec.status = 'stopped';
      }),
    );
    this.actors.clear();
    this.onThread.clear();
    this.recency.clear();
    await Promise.all(this.hosts.map((h) => h.terminate().catch(() => undefined)));
  }

  // ---- internals -------------------------------------------------------------------------

  /** Starts a passivated actor on the least loaded thread, within the activation bound; asks wait meanwhile. */
  private activate(rec: ActorRecord): void {
    if (rec.status !== 'passivated' || rec.activating) return;
    rec.activating = true;
    const queuedAt = this.now();
    void this.serialise(rec, async () => {
      await this.activationSlot();
      try {
        rec.activating = false;
        if (rec.status !== 'passivated') return;
        if (this.shuttingDown) {
          this.failWaiting(rec, 'SHUTTING_DOWN', 'the node is shutting down');
          return;
        }
        const host = this.leastLoaded();
        rec.status = 'starting';
        this.setHost(rec, host);
        try {
          await this.withTimeout(host.control.spawn(rec.id, rec.kind, rec.config), `activate ${rec.id}`);
        } catch (err) {
          this.setHost(rec, null);
          rec.status = 'passivated';
          rec.lastError = `activation failed: ${(err as Error).message}`;
          this.failWaiting(rec, 'ACTOR_UNAVAILABLE', `actor ${rec.id} could not be activated: ${(err as Error).message}`);
          return;
        }
        rec.status = 'running';
        rec.wakeAtMs = null;
        this.activationCount++;
        this.events.emit('activated', { actorId: rec.id, threadIndex: host.threadIndex, waitedMs: this.now() - queuedAt });
        this.pump(rec);
      } finally {
        this.releaseActivationSlot();
      }
      this.enforceBudget();
    }).catch(() => undefined);
  }

  private activationSlot(): Promise<void> {
    const max = this.passivation?.activationsMax ?? Number.POSITIVE_INFINITY;
    if (this.activationsRunning < max) {
      this.activationsRunning++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.activationQueue.push(() => {
        this.activationsRunning++;
        resolve();
      }),
    );
  }

  private releaseActivationSlot(): void {
    this.activationsRunning--;
    this.activationQueue.shift()?.();
  }

  /**
   * Stops an idle actor and keeps its record, passivated. Skipped when it has asks in flight or
   * waiting; asks that arrive while it stops wait, and activate it again once it has stopped.
   */
  private passivate(rec: ActorRecord, reason: string): Promise<void> {
    return this.serialise(rec, async () => {
      if (rec.status !== 'running' || rec.inFlight > 0 || rec.waiting.length > 0 || !rec.host) return;
      const host = rec.host;
      rec.status = 'passivating';
      let stopped: StopResult = { wakeAtMs: null };
      try {
        stopped = await this.withTimeout(host.control.stop(rec.id, reason), `passivate ${rec.id}`);
      } catch (err) {
        if (host.alive) {
          rec.status = 'running';
          this.pump(rec);
          throw err;
        }
      }
      this.setHost(rec, null);
      rec.status = 'passivated';
      rec.wakeAtMs = stopped.wakeAtMs;
      this.passivationCount++;
      this.events.emit('passivated', { actorId: rec.id, reason });
      if (rec.waiting.length > 0) this.activate(rec);
    });
  }

  /** Once a second: passivate the idle, keep within the bound, wake those whose time has come. */
  private sweep(): void {
    const p = this.passivation;
    if (!p || this.shuttingDown) return;
    const now = this.now();
    const wallNow = Date.now();
    let wakes = 0;
    for (const rec of this.actors.values()) {
      if (!rec.passivatable) continue;
      if (rec.status === 'running' && p.idleMs > 0 && rec.inFlight === 0 && rec.waiting.length === 0 && now - rec.lastUsedMs >= p.idleMs) {
        void this.passivate(rec, `idle for ${p.idleMs} ms`).catch(() => undefined);
      } else if (rec.status === 'passivated' && !rec.activating && rec.wakeAtMs !== null && rec.wakeAtMs <= wallNow && wakes < p.wakesPerSweep) {
        wakes++;
        this.wake(rec, p.wakeMessage);
      }
    }
    this.enforceBudget();
  }

  /** Wakes a passivated actor for its own work, then passivates it again unless it was used meanwhile. */
  private wake(rec: ActorRecord, message: { readonly type: string }): void {
    rec.wakeAtMs = null;
    const uses = rec.uses;
    void this.askUnchecked(rec.id, message, { background: true })
      .catch(() => undefined)
      .then(() => {
        if (rec.uses === uses) return this.passivate(rec, 'maintenance done');
        return undefined;
      })
      .catch(() => undefined);
  }

  /** Passivates the least recently used idle actors while more than `maxActive` are active. */
  private enforceBudget(): void {
    const p = this.passivation;
    if (!p || this.shuttingDown) return;
    let excess = this.recency.size - p.maxActive;
    if (excess <= 0) return;
    // From the least recently used; those closing already count as gone.
    for (const rec of this.recency.keys()) {
      if (excess <= 0) break;
      if (rec.status === 'passivating') {
        excess--;
        continue;
      }
      if (rec.status !== 'running' || rec.inFlight > 0 || rec.waiting.length > 0) continue;
      excess--;
      void this.passivate(rec, `over the budget of ${p.maxActive} active`).catch(() => undefined);
    }
  }

  private newHost(): WorkerHandle {
    const handle: WorkerHandle = new WorkerHandle(this.nextThreadIndex++, this.actorKindsUrl, this.threadPorts(), {
      onReply: (ask) => this.onReply(ask),
      onActorFailed: (h, actorId, error) => this.onActorFailed(h, actorId, error),
      onNotify: (actorId, event) => {
        for (const f of this.notifyHandlers) f(actorId, event);
      },
      onExit: (h, reason) => this.onWorkerExit(h, reason),
    });
    return handle;
  }

  private sendNow(rec: ActorRecord, p: Pending): void {
    rec.inFlight++;
    rec.host!.send(p);
  }

  private onReply(ask: SentAsk): void {
    const rec = this.actors.get(ask.actorId);
    if (!rec) return;
    rec.inFlight--;
    if (rec.inFlight === 0 && rec.drained.length > 0) {
      const waiters = rec.drained;
      rec.drained = [];
      for (const w of waiters) w();
    }
    this.pump(rec);
  }

  /** Sends waiting asks while the actor runs and has mailbox room. */
  private pump(rec: ActorRecord): void {
    while (rec.status === 'running' && rec.inFlight < this.limits.mailboxCapacity && rec.waiting.length > 0) {
      const p = rec.waiting.shift()!;
      if (!p.settled) this.sendNow(rec, p);
    }
  }

  private drain(rec: ActorRecord): Promise<void> {
    if (rec.inFlight === 0) return Promise.resolve();
    return this.withTimeout(new Promise<void>((resolve) => rec.drained.push(resolve)), `drain ${rec.id}`, this.limits.moveDrainTimeoutMs);
  }

  private async move(rec: ActorRecord, to: WorkerHandle, reason: string): Promise<void> {
    await this.serialise(rec, async () => {
      const from = rec.host;
      if (rec.status !== 'running' || !from || from === to) return;
      rec.status = 'moving';
      try {
        await this.drain(rec);
      } catch (err) {
        rec.status = 'running';
        this.pump(rec);
        throw err;
      }
      try {
        await this.withTimeout(from.control.stop(rec.id, `moving to thread ${to.threadIndex}`), `stop ${rec.id}`);
      } catch (err) {
        // A thread that died mid-move has released the actor anyway; a live one that cannot
        // stop it keeps it, and the actor goes on running where it was.
        if (from.alive) {
          rec.status = 'running';
          this.pump(rec);
          throw err;
        }
      }
      this.setHost(rec, to);
      try {
        await this.withTimeout(to.control.spawn(rec.id, rec.kind, rec.config), `spawn ${rec.id}`);
      } catch (err) {
        this.recordFailure(rec, `move to thread ${to.threadIndex} failed: ${(err as Error).message}`);
        return;
      }
      rec.status = 'running';
      this.events.emit('moved', { actorId: rec.id, from: from.threadIndex, to: to.threadIndex, reason });
      this.pump(rec);
    });
  }

  private onActorFailed(h: WorkerHandle, actorId: string, error: SerializedError): void {
    const rec = this.actors.get(actorId);
    if (!rec || rec.host !== h || rec.status !== 'running') return;
    this.recordFailure(rec, error.message);
  }

  private onWorkerExit(h: WorkerHandle, reason: string): void {
    const idx = this.hosts.indexOf(h);
    if (idx >= 0) this.hosts.splice(idx, 1);
    if (this.shuttingDown) return;
    this.events.emit('workerExited', { threadIndex: h.threadIndex, reason });
    const replacement = this.replacementFor(h);
    for (const rec of this.actors.values()) {
      if (rec.host !== h) continue;
      this.setHost(rec, replacement ?? this.liveHost());
      if (rec.host === null) this.markFailed(rec, `worker thread ${h.threadIndex} died (${reason}) and no thread is left to host it`);
      else if (rec.status === 'running') this.recordFailure(rec, `worker thread ${h.threadIndex} died: ${reason}`);
    }
  }

  /** A new thread in place of a dead one, unless threads die faster than the replacement bound allows. */
  private replacementFor(dead: WorkerHandle): WorkerHandle | null {
    const now = this.now();
    this.threadExits = this.threadExits.filter((t) => now - t < this.limits.threadReplacementWindowMs);
    this.threadExits.push(now);
    if (this.threadExits.length > this.limits.threadReplacementsMax) {
      this.events.emit('failed', {
        actorId: `thread:${dead.threadIndex}`,
        reason: `${this.threadExits.length} worker threads died within ${this.limits.threadReplacementWindowMs} ms; not replacing thread ${dead.threadIndex}`,
      });
      return null;
    }
    const replacement = this.newHost();
    this.hosts.push(replacement);
    this.events.emit('workerAdded', { threadIndex: replacement.threadIndex });
    return replacement;
  }

  private liveHost(): WorkerHandle | null {
    return this.hosts.some((x) => x.alive) ? this.leastLoaded() : null;
  }

  private markFailed(rec: ActorRecord, reason: string): void {
    rec.lastError = reason;
    rec.status = 'failed';
    this.failWaiting(rec, 'ACTOR_UNAVAILABLE', `actor ${rec.id} failed: ${reason}`);
    this.events.emit('failed', { actorId: rec.id, reason });
  }

  /**
   * One-for-one supervision: counts the failure against the restart intensity, then either
   * schedules a restart with backoff or marks the actor failed for good.
   */
  private recordFailure(rec: ActorRecord, reason: string): void {
    rec.lastError = reason;
    const now = this.now();
    rec.restartTimes = rec.restartTimes.filter((t) => now - t < this.limits.restartWindowMs);
    if (rec.restartTimes.length >= this.limits.maxRestarts) {
      this.markFailed(rec, `restart intensity exceeded (${this.limits.maxRestarts} in ${this.limits.restartWindowMs} ms): ${reason}`);
      return;
    }
    rec.restartTimes.push(now);
    rec.status = 'restarting';
    const n = rec.restartTimes.length;
    const backoffMs = Math.min(this.limits.restartBackoffMaxMs, this.limits.restartBackoffMinMs * 2 ** (n - 1));
    const timer = setTimeout(() => {
      void this.serialise(rec, async () => {
        if (rec.status !== 'restarting' || this.shuttingDown) return;
        const host = rec.host?.alive ? rec.host : this.liveHost();
        if (host === null) {
          this.markFailed(rec, `${reason}; no live worker thread to restart it on`);
          return;
        }
        await this.startOn(rec, host, reason);
      }).catch(() => undefined);
    }, backoffMs);
    timer.unref();
  }

  private async startOn(rec: ActorRecord, host: WorkerHandle, reason: string): Promise<void> {
    this.setHost(rec, host);
    try {
      await this.withTimeout(host.control.spawn(rec.id, rec.kind, rec.config), `spawn ${rec.id}`);
    } catch (err) {
      this.recordFailure(rec, `restart failed: ${(err as Error).message}`);
      return;
    }
    rec.restarts++;
    rec.status = 'running';
    this.events.emit('restarted', { actorId: rec.id, threadIndex: host.threadIndex, restarts: rec.restarts, reason });
    this.pump(rec);
  }

  private failWaiting(rec: ActorRecord, code: string, message: string): void {
    const waiting = rec.waiting;
    rec.waiting = [];
    for (const p of waiting) p.settle(false, { name: 'RuntimeError', code, message });
  }

  /** Plans moves so that every live thread hosts within one actor of the others. */
  private rebalancePlan(): { rec: ActorRecord; to: WorkerHandle }[] {
    const live = this.hosts.filter((h) => h.alive);
    const byHost = new Map<WorkerHandle, ActorRecord[]>(live.map((h) => [h, []]));
    for (const rec of this.actors.values()) if (rec.host && byHost.has(rec.host) && rec.status === 'running') byHost.get(rec.host)!.push(rec);
    const plan: { rec: ActorRecord; to: WorkerHandle }[] = [];
    for (;;) {
      const sorted = [...byHost.entries()].sort((a, b) => a[1].length - b[1].length);
      const [minHost, minList] = sorted[0]!;
      const [, maxList] = sorted[sorted.length - 1]!;
      if (maxList.length - minList.length <= 1) break;
      const rec = maxList.pop()!;
      minList.push(rec);
      plan.push({ rec, to: minHost });
    }
    return plan;
  }

  private setHost(rec: ActorRecord, host: WorkerHandle | null): void {
    rec.host = host;
    if (host) {
      this.onThread.add(rec);
      if (rec.passivatable && !this.recency.has(rec)) this.recency.set(rec, true);
    } else {
      this.onThread.delete(rec);
      this.recency.delete(rec);
    }
  }

  private leastLoaded(): WorkerHandle {
    const live = this.hosts.filter((h) => h.alive);
    if (live.length === 0) throw new RuntimeError('ACTOR_UNAVAILABLE', 'no live worker thread');
    const counts = new Map<WorkerHandle, number>(live.map((h) => [h, 0]));
    // Actors on a thread only: with many passivated partitions the whole map is far larger.
    for (const rec of this.onThread) if (rec.host && counts.has(rec.host)) counts.set(rec.host, counts.get(rec.host)! + 1);
    return live.reduce((a, b) => (counts.get(b)! < counts.get(a)! ? b : a));
  }

  private requireRecord(actorId: string): ActorRecord {
    const rec = this.actors.get(actorId);
    if (!rec) throw new RuntimeError('ACTOR_UNAVAILABLE', `unknown actor ${actorId}`);
    return rec;
  }

  private summarise(rec: ActorRecord): ActorSummary {
    return {
      id: rec.id,
      kind: rec.kind,
      status: rec.status,
      threadIndex: rec.host?.threadIndex ?? null,
      inFlight: rec.inFlight,
      waiting: rec.waiting.length,
      restarts: rec.restarts,
      lastError: rec.lastError,
    };
  }

  private serialise(rec: ActorRecord, fn: () => Promise<void>): Promise<void> {
    const next = rec.op.catch(() => undefined).then(fn);
    rec.op = next.catch(() => undefined);
    return next;
  }

  private withTimeout<T>(p: Promise<T>, what: string, timeoutMs = this.limits.controlTimeoutMs): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RuntimeError('REQUEST_TIMED_OUT', `${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }
}

/** How often idle actors are passivated and due wakes started (at most; sooner for a short idleMs). */
const SWEEP_MS = 1_000;
const SWEEP_MIN_MS = 50;

function toError(value: unknown): Error {
  const e = value as SerializedError;
  if (e && typeof e === 'object' && typeof e.message === 'string') {
    return e.name === 'RuntimeError' && e.code ? new RuntimeError(e.code as never, e.message) : new RemoteActorError(e);
  }
  return new Error(String(value));
}
