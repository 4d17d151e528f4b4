/**
 * EtcdMetadataStore: the cluster's metadata in etcd (main thread; a cluster view). We do not
 * write our own consensus: etcd orders the log, elects the controller and tells live nodes from
 * dead ones, as ZooKeeper did for Kafka.
 *
 * Keys, under the prefix (default `/brook/`, or the path of the etcd:// URL):
 * - `nodes/<id>`: a node's registration (NodeRegistration as JSON), attached to the node's lease,
 *   so it disappears when the node dies, pauses or is cut off for longer than the session timeout.
 * - `controller`: the elected controller ({nodeId, incarnationId}), attached to its lease; a node
 *   campaigns by creating it only if it does not exist.
 * - `log/<offset>`: one appended batch of metadata records (deflated JSON), offset zero-padded.
 *   Each append is one transaction conditional on the controller key's create revision being
 *   the writer's own election (so a deposed controller, paused or cut off, cannot write) and on
 *   the batch's key not existing (offsets stay dense and single-writer).
 * - `snapshot` and `snapshots/<offset>/<chunk>`: the image as records covering the log below
 *   `offset`. The controller writes one every SNAPSHOT_EVERY records, deletes the log and the
 *   snapshots below it in the same transaction, and compacts etcd's history to that revision,
 *   so the history stays bounded. A node that starts (or whose watch fell behind a compaction)
 *   loads the snapshot and the log after it.
 *
 * Every node watches the prefix and applies what it sees in revision order: records to its
 * image (through the listener), registrations to its live set, the controller key to who leads.
 * Every call has a deadline; an unreachable etcd is an UNAVAILABLE error, never a hang. While
 * etcd is away nodes keep what they have (their actors keep serving); when it returns the
 * client reconnects, the watch resumes (or reloads), and a node whose lease expired meanwhile
 * registers again.
 */
import { ExponentialBackoff, noop } from 'cockatiel';
import { Etcd3, type IKeyValue, type Lease, type Watcher } from 'etcd3';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { parseEtcdUrl } from './etcd-url.js';
import type { MetadataRecord } from './metadata-records.js';
import { MetadataStoreError, type MetadataBatch, type MetadataStore, type MetadataStoreListener, type NodeRegistration } from './metadata-store.js';

export interface EtcdStoreOptions {
  /** `etcd://host:port[,host:port...][/prefix]` */
  readonly url: string;
  /** The lease TTL: how long a silent node stays live. */
  readonly sessionTimeoutMs: number;
  /** Deadline of each etcd call. */
  readonly callTimeoutMs: number;
  /** Records between snapshots. */
  readonly snapshotEvery?: number;
  readonly log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

const SNAPSHOT_EVERY = 1_000;
/** Bytes of deflated snapshot per key (etcd refuses requests above 1.5 MiB by default). */
const SNAPSHOT_CHUNK_BYTES = 1_000_000;
/** A log batch above this (deflated) cannot be one etcd request. */
const BATCH_BYTES_MAX = 1_400_000;
const OFFSET_DIGITS = 16;

interface ControllerValue {
  readonly nodeId: number;
  readonly incarnationId: string;
}

export class EtcdMetadataStore implements MetadataStore {
  readonly description: string;
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly hosts: string[];
  private lease: Lease | undefined;
  private self: NodeRegistration | undefined;
  private listener: MetadataStoreListener | undefined;
  private watcher: Watcher | undefined;
  private readonly nodes = new Map<number, NodeRegistration>();
  private controller: ControllerValue | undefined;
  /** The create revision of the controller key when this node created it: its election. */
  private electedAt: string | undefined;
  /** The offset after the last batch delivered to the listener. */
  private applied = 0;
  private snapshotAt = 0;
  private snapshotting = false;
  /** Everything the watch delivers runs through this chain, in order. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private campaigning = false;
  private reregistering = false;

  constructor(private readonly opts: EtcdStoreOptions) {
    const parsed = parseEtcdUrl(opts.url);
    if (typeof parsed === 'string') throw new Error(`--metadata-store: ${parsed}`);
    this.hosts = parsed.hosts;
    this.prefix = parsed.prefix;
    this.description = `etcd://${this.hosts.join(',')}${this.prefix.slice(0, -1)}`;
    this.client = new Etcd3({
      hosts: this.hosts.map((h) => `http://${h}`),
      dialTimeout: opts.callTimeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + opts.callTimeoutMs }),
      faultHandling: {
        host: () => noop,
        global: noop,
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }).next(),
      },
    });
  }

  async open(self: NodeRegistration, listener: MetadataStoreListener): Promise<void> {
    this.self = self;
    this.listener = listener;
    try {
      await this.client.get(this.key('controller')).string();
    } catch (err) {
      throw new MetadataStoreError('UNAVAILABLE', `cannot reach etcd at ${this.hosts.join(', ')} (--metadata-store ${this.opts.url}): ${message(err)}`);
    }
    await this.claimNodeId();
    await this.enqueue(() => this.reload());
  }

  async register(self: NodeRegistration): Promise<void> {
    this.self = self;
    const lease = this.lease;
    if (!lease) throw new MetadataStoreError('UNAVAILABLE', 'no etcd lease (the node is registering again)');
    await this.call('register', () =>
      lease
        .put(this.key(`nodes/${self.nodeId}`))
        .value(JSON.stringify(self))
        .exec(),
    );
    if (self.state === 'alive') void this.campaign();
  }

  liveNodes(): ReadonlyMap<number, NodeRegistration> {
    return this.nodes;
  }

  controllerId(): number {
    return this.controller?.nodeId ?? -1;
  }

  isController(): boolean {
    return this.electedAt !== undefined && this.controller?.nodeId === this.self?.nodeId && this.controller?.incarnationId === this.self?.incarnationId;
  }

  async append(offset: number, records: readonly MetadataRecord[]): Promise<number> {
    const electedAt = this.electedAt;
    if (electedAt === undefined || !this.isController()) throw new MetadataStoreError('NOT_CONTROLLER', `node ${this.self?.nodeId} is not the controller`);
    const value = encode({ offset, records });
    if (value.length > BATCH_BYTES_MAX) {
      throw new Error(`metadata change of ${records.length} records is ${value.length} bytes deflated, above the ${BATCH_BYTES_MAX} one etcd request may carry`);
    }
    const logKey = this.key(`log/${pad(offset)}`);
    const res = await this.call('append', () =>
      this.client.if(this.key('controller'), 'Create', '==', electedAt).and(logKey, 'Create', '==', 0).then(this.client.put(logKey).value(value)).commit(),
    );
    if (!res.succeeded) {
      // Either another node holds the controller key now, or the log moved past `offset`.
      await this.refreshController();
      if (!this.isController()) throw new MetadataStoreError('NOT_CONTROLLER', `node ${this.self?.nodeId} lost the controllership`);
      throw new MetadataStoreError('NOT_CONTROLLER', `the metadata log has moved past offset ${offset}; retry`);
    }
    return offset + records.length;
  }

  async committedEnd(): Promise<number> {
    const res = await this.call('read the log end', () => this.client.getAll().prefix(this.key('log/')).sort('Key', 'Descend').limit(1).exec());
    const last = res.kvs[0];
    if (last) {
      const b = decode(last.value);
      return b.offset + b.records.length;
    }
    const snap = await this.call('read the snapshot', () => this.client.get(this.key('snapshot')).string());
    return snap ? (JSON.parse(snap) as { offset: number }).offset : 0;
  }

  async resign(): Promise<void> {
    const electedAt = this.electedAt;
    if (electedAt === undefined) return;
    this.electedAt = undefined;
    await this.call('resign', () =>
      this.client
        .if(this.key('controller'), 'Create', '==', electedAt)
        .then(this.client.delete().key(this.key('controller')))
        .commit(),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.watcher?.cancel().catch(() => undefined);
    if (this.isController()) await this.resign().catch(() => undefined);
    // Revoking the lease deletes the registration at once: the controller need not wait for the TTL.
    await this.lease?.revoke({ deadline: Date.now() + this.opts.callTimeoutMs }).catch(() => undefined);
    this.client.close();
  }

  // -------------------------------------------------------------------------------------------

  private key(k: string): string {
    return this.prefix + k;
  }

  /** One etcd call with its deadline; any failure is UNAVAILABLE naming the endpoints. */
  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw new MetadataStoreError('UNAVAILABLE', `etcd at ${this.hosts.join(', ')} did not ${what}: ${message(err)}`);
    }
  }

  private ttlSeconds(): number {
    return Math.max(2, Math.ceil(this.opts.sessionTimeoutMs / 1000));
  }

  /**
   * Takes this node's id under a new lease. A key left by this node's previous process (killed)
   * expires within the session timeout, so a holder is waited for that long before this node
   * is refused as a duplicate.
   */
  private async claimNodeId(): Promise<void> {
    const self = this.self!;
    const lease = this.client.lease(this.ttlSeconds(), { autoKeepAlive: true });
    lease.on('lost', (err) => this.onLeaseLost(lease, err));
    await this.call('grant a lease', () => lease.grant());
    this.lease = lease;
    const nodeKey = this.key(`nodes/${self.nodeId}`);
    const deadline = Date.now() + this.opts.sessionTimeoutMs * 1.5 + 1_000;
    for (;;) {
      const res = await this.call('register this node', () =>
        this.client
          .if(nodeKey, 'Create', '==', 0)
          .then(lease.put(nodeKey).value(JSON.stringify(self)))
          .else(this.client.get(nodeKey))
          .commit(),
      );
      if (res.succeeded) return;
      const holder = res.responses[0]?.response_range?.kvs?.[0];
      const other = holder ? (JSON.parse(holder.value.toString()) as NodeRegistration) : undefined;
      if (holder && other?.incarnationId === self.incarnationId) {
        // This process's own registration, under the lease it lost while etcd was away: moved to
        // the new lease in place, so the node never leaves the live set.
        const moved = await this.call('register this node', () =>
          this.client
            .if(nodeKey, 'Mod', '==', holder.mod_revision)
            .then(lease.put(nodeKey).value(JSON.stringify(self)))
            .commit(),
        );
        if (moved.succeeded) return;
        continue;
      }
      if (Date.now() >= deadline) {
        await lease.revoke().catch(() => undefined);
        this.lease = undefined;
        const where = other ? ` (incarnation ${other.incarnationId}, listening on ${other.host}:${other.port})` : '';
        throw new MetadataStoreError('DUPLICATE_NODE_ID', `node id ${self.nodeId} is already registered by a live node${where}; give this node another --node-id`);
      }
      await sleep(250);
    }
  }

  private onLeaseLost(lease: Lease, err: Error): void {
    if (this.closed || lease !== this.lease) return;
    this.opts.log.warn({ err: err.message }, 'etcd lease lost: this node left the live set; registering again');
    this.lease = undefined;
    // Whether this node still leads is unknown until etcd answers: it acts as controller no more.
    this.electedAt = undefined;
    void this.reregister();
  }

  /** After a lost lease: a new lease and registration, retried until etcd answers. */
  private async reregister(): Promise<void> {
    if (this.reregistering) return;
    this.reregistering = true;
    try {
      while (!this.closed && !this.lease) {
        try {
          await this.claimNodeId();
          if (this.self) await this.register(this.self);
          this.opts.log.info({ nodeId: this.self?.nodeId }, 'registered in etcd again');
          // Who leads may have changed while this node was away.
          await this.refreshController();
        } catch (err) {
          if (err instanceof MetadataStoreError && err.code === 'DUPLICATE_NODE_ID') {
            this.opts.log.error({ err: err.message }, 'another node took this node id while this node was away; stop one of them');
          }
          await sleep(1_000);
        }
      }
    } finally {
      this.reregistering = false;
    }
  }

  /** Becomes controller if there is none: creates the controller key under this node's lease. */
  private async campaign(): Promise<void> {
    const self = this.self;
    const lease = this.lease;
    if (this.closed || this.campaigning || !self || !lease || self.state !== 'alive' || this.controller) return;
    this.campaigning = true;
    try {
      const key = this.key('controller');
      const value: ControllerValue = { nodeId: self.nodeId, incarnationId: self.incarnationId };
      const res = await this.call('campaign', () =>
        this.client
          .if(key, 'Create', '==', 0)
          .then(lease.put(key).value(JSON.stringify(value)))
          .else(this.client.get(key))
          .commit(),
      );
      if (!res.succeeded) {
        // Another node leads: learn which (its key's event may have passed while this node was away).
        this.setController(res.responses[0]?.response_range?.kvs?.[0]);
        return;
      }
      await this.enqueue(async () => {
        // Catch up on the log before writing: the watch may not have delivered everything yet.
        await this.catchUp();
        this.controller = value;
        this.electedAt = res.header.revision;
        this.opts.log.info({ nodeId: self.nodeId, revision: res.header.revision }, 'elected controller');
        this.listener?.membershipChanged();
      });
    } catch (err) {
      this.opts.log.warn({ err: message(err) }, 'controller campaign failed; will retry when the controller key changes');
    } finally {
      this.campaigning = false;
    }
  }

  private async refreshController(): Promise<void> {
    const kv = (await this.call('read the controller', () => this.client.get(this.key('controller')).exec())).kvs[0];
    this.setController(kv);
  }

  private setController(kv: IKeyValue | undefined): void {
    const before = this.controller;
    this.controller = kv ? (JSON.parse(kv.value.toString()) as ControllerValue) : undefined;
    if (kv && this.electedAt !== undefined && kv.create_revision !== this.electedAt) this.electedAt = undefined;
    if (!kv) this.electedAt = undefined;
    if (before?.nodeId !== this.controller?.nodeId || before?.incarnationId !== this.controller?.incarnationId) {
      if (this.controller === undefined) void this.campaign();
    }
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.chain.then(work);
    this.chain = run.catch((err: unknown) => {
      if (this.closed) return;
      this.opts.log.error({ err: message(err) }, 'applying metadata from etcd failed; reloading');
      void this.enqueue(() => this.reload());
    });
    return run;
  }

  /**
   * Reads everything under the prefix at one revision: snapshot, log, registrations, controller;
   * delivers what this node has not applied; then watches from the next revision.
   */
  private async reload(): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
    const res = await this.call('load the metadata', () => this.client.getAll().prefix(this.prefix).exec());
    const kvs = res.kvs;
    const byKey = (k: string) => kvs.find((kv) => kv.key.toString() === this.key(k));
    const snapMeta = byKey('snapshot');
    if (snapMeta) {
      const meta = JSON.parse(snapMeta.value.toString()) as { offset: number; chunks: number };
      this.snapshotAt = Math.max(this.snapshotAt, meta.offset);
      if (meta.offset > this.applied) {
        const parts: Buffer[] = [];
        for (let i = 0; i < meta.chunks; i++) {
          const chunk = byKey(`snapshots/${pad(meta.offset)}/${pad(i)}`);
          if (!chunk) throw new Error(`etcd snapshot at ${meta.offset} misses chunk ${i}`);
          parts.push(chunk.value);
        }
        const snap = decode(Buffer.concat(parts));
        await this.deliver({ kind: 'snapshot', offset: meta.offset, records: snap.records });
      }
    }
    const logPrefix = this.key('log/');
    for (const kv of kvs.filter((kv) => kv.key.toString().startsWith(logPrefix)).sort((a, b) => a.key.compare(b.key))) {
      await this.deliverLog(kv.value);
    }
    this.nodes.clear();
    const nodePrefix = this.key('nodes/');
    for (const kv of kvs.filter((kv) => kv.key.toString().startsWith(nodePrefix))) {
      const n = JSON.parse(kv.value.toString()) as NodeRegistration;
      this.nodes.set(n.nodeId, n);
    }
    this.setController(byKey('controller'));
    this.listener?.membershipChanged();
    await this.watch(BigInt(res.header.revision) + 1n);
  }

  private async watch(fromRevision: bigint): Promise<void> {
    if (this.closed) return;
    const watcher = await this.client.watch().prefix(this.prefix).startRevision(String(fromRevision)).create();
    this.watcher = watcher;
    watcher.on('data', (res) => {
      const events = res.events;
      void this.enqueue(async () => {
        if (this.watcher !== watcher) return;
        let membership = false;
        for (const e of events) membership = (await this.onEvent(e.type, e.kv)) || membership;
        if (membership) this.listener?.membershipChanged();
      });
    });
    watcher.on('error', (err) => {
      if (this.closed || this.watcher !== watcher) return;
      this.opts.log.warn({ err: message(err) }, 'etcd watch failed; reloading the metadata');
      void this.enqueue(() => this.reload());
    });
  }

  /** Applies one watched event; true when membership (nodes or controller) changed. */
  private async onEvent(type: 'Put' | 'Delete', kv: IKeyValue): Promise<boolean> {
    const key = kv.key.toString();
    if (key.startsWith(this.key('log/'))) {
      if (type === 'Put') await this.deliverLog(kv.value);
      return false;
    }
    if (key.startsWith(this.key('nodes/'))) {
      const id = Number(key.slice(this.key('nodes/').length));
      if (type === 'Put') this.nodes.set(id, JSON.parse(kv.value.toString()) as NodeRegistration);
      else this.nodes.delete(id);
      return true;
    }
    if (key === this.key('controller')) {
      this.setController(type === 'Put' ? kv : undefined);
      return true;
    }
    return false;
  }

  private async deliverLog(value: Buffer): Promise<void> {
    const b = decode(value);
    if (b.offset + b.records.length <= this.applied) return;
    if (b.offset > this.applied) {
      // A gap: a snapshot replaced records this node never saw. Load it.
      throw new Error(`metadata log gap: next batch at ${b.offset}, applied to ${this.applied}`);
    }
    await this.deliver({ kind: 'records', offset: b.offset, records: b.records });
  }

  private async deliver(b: MetadataBatch): Promise<void> {
    await this.listener!.batch(b);
    this.applied = b.kind === 'snapshot' ? b.offset : b.offset + b.records.length;
    if (this.isController() && this.applied - this.snapshotAt >= (this.opts.snapshotEvery ?? SNAPSHOT_EVERY) && !this.snapshotting) {
      this.snapshotting = true;
      this.writeSnapshot()
        .catch((err: unknown) => this.opts.log.warn({ err: message(err) }, 'metadata snapshot failed; the log keeps growing until the next one'))
        .finally(() => {
          this.snapshotting = false;
        });
    }
  }

  /** Reads and delivers log batches this node has not applied (before acting as controller). */
  private async catchUp(): Promise<void> {
    const res = await this.call('read the log', () =>
      this.client
        .getAll()
        .inRange({ start: this.key(`log/${pad(this.applied)}`), end: this.key('log0') })
        .exec(),
    );
    for (const kv of res.kvs.sort((a, b) => a.key.compare(b.key))) await this.deliverLog(kv.value);
  }

  /** The controller's snapshot: the image below `applied`, the log below it deleted, etcd compacted. */
  private async writeSnapshot(): Promise<void> {
    const electedAt = this.electedAt;
    const snap = this.listener?.snapshot();
    if (!snap || electedAt === undefined) return;
    const data = encode({ offset: snap.offset, records: snap.records });
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += SNAPSHOT_CHUNK_BYTES) chunks.push(data.subarray(i, i + SNAPSHOT_CHUNK_BYTES));
    const ctrl = this.key('controller');
    for (let i = 0; i < chunks.length; i++) {
      const k = this.key(`snapshots/${pad(snap.offset)}/${pad(i)}`);
      const res = await this.call('write a snapshot', () => this.client.if(ctrl, 'Create', '==', electedAt).then(this.client.put(k).value(chunks[i]!)).commit());
      if (!res.succeeded) return;
    }
    const res = await this.call('write a snapshot', () =>
      this.client
        .if(ctrl, 'Create', '==', electedAt)
        .then(
          this.client.put(this.key('snapshot')).value(JSON.stringify({ offset: snap.offset, chunks: chunks.length })),
          this.client.delete().inRange({ start: this.key('log/'), end: this.key(`log/${pad(snap.offset)}`) }),
          this.client.delete().inRange({ start: this.key('snapshots/'), end: this.key(`snapshots/${pad(snap.offset)}`) }),
        )
        .commit(),
    );
    if (!res.succeeded) return;
    this.snapshotAt = snap.offset;
    await this.call('compact', () => this.client.kv.compact({ revision: res.header.revision }));
    this.opts.log.info({ offset: snap.offset, bytes: data.length, revision: res.header.revision }, 'metadata snapshot written; older log and history compacted');
  }
}

function pad(n: number): string {
  return String(n).padStart(OFFSET_DIGITS, '0');
}

function encode(b: { offset: number; records: readonly MetadataRecord[] }): Buffer {
  return deflateRawSync(Buffer.from(JSON.stringify(b)));
}

function decode(value: Buffer): { offset: number; records: MetadataRecord[] } {
  return JSON.parse(inflateRawSync(value).toString()) as { offset: number; records: MetadataRecord[] };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
