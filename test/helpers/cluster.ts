/**
 * A Brook cluster for tests: one etcd (test/helpers/etcd.ts) and N nodes, each a child process
 * (`node bin/brook.js start`, as test/crash/child-node.ts starts one) with its own node id,
 * free Kafka and HTTP ports, its own data dir and `--workers 1`. Nodes are stopped, killed,
 * paused and restarted by PID (same ports and data dir on restart); metadata is read from a
 * chosen node with a raw Metadata request, so a test sees what that node tells clients.
 * Every wait polls with a deadline; stop() ends every process and removes every dir.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin } from '../../src/client/index.js';
import type { MetadataResponse } from '../../src/protocol/messages/metadata.js';
import { freePort, startChildNode, type ChildNode } from '../crash/child-node.js';
import { run, type RunResult } from './clients.js';
import { startEtcd, type EtcdServer } from './etcd.js';
import { RawClient } from './raw-client.js';
import { sleep, tempDir } from './tmp.js';

export const BROOK_BIN = fileURLToPath(new URL('../../bin/brook.js', import.meta.url));

/** The node's lease TTL in the tests: the shortest the node accepts is 2000. */
export const SESSION_TIMEOUT_MS = 2_000;

/** One node of GET /api/cluster. */
export interface ClusterApiNode {
  nodeId: number;
  state: 'alive' | 'shutting-down' | 'offline';
  rack: string | null;
  host: string;
  port: number;
  httpPort: number;
  leaderships: number;
  controller: boolean;
}

/** GET /api/cluster. */
export interface ClusterApi {
  clusterId: string;
  controllerId: number;
  metadataStore: string;
  metadataOffset: number;
  nodes: ClusterApiNode[];
}

export type Metadata = MetadataResponse;
export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null };

export interface ClusterNodeHandle {
  readonly nodeId: number;
  readonly port: number;
  readonly httpPort: number;
  readonly dataDir: string;
  readonly rack: string | undefined;
  /** 127.0.0.1:port */
  readonly bootstrap: string;
  /** The running (or last) process; null before the first start. */
  child: ChildNode | null;
  /** Output of every process this node ran, oldest first. */
  outputs: string[];
  /** The metadata store is given in BROOK_METADATA_STORE instead of --metadata-store. */
  readonly storeFromEnv: boolean;
}

export interface ClusterOptions {
  /** Node ids to start (default [1, 2, 3]). */
  nodeIds?: number[];
  sessionTimeoutMs?: number;
  /** node id -> rack */
  racks?: Record<number, string>;
  /** Extra `brook start` arguments for every node. */
  extraArgs?: string[];
  /** Start the nodes one after the other (default: all at once). */
  sequential?: boolean;
  startTimeoutMs?: number;
}

/** Polls `probe` until it returns something other than undefined; fails after `timeoutMs` with `what` and the last value seen. */
export async function waitUntil<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string, last?: () => unknown): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const seen = last ? `\nlast seen: ${JSON.stringify(last())?.slice(0, 3000)}` : '';
      const err = lastError !== null ? `\nlast error: ${String((lastError as Error)?.message ?? lastError)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen}${err}`);
    }
    await sleep(100);
  }
}

function exitWithin(child: ChildNode, ms: number): Promise<ExitInfo | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    child.exited.finally(() => clearTimeout(timer)),
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), ms);
    }),
  ]);
}

/** Clusters not stopped yet: their nodes are SIGKILLed should the test process exit first (a hook timeout). */
const unstopped = new Set<BrookCluster>();
let exitHook = false;
function track(c: BrookCluster): void {
  unstopped.add(c);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const cl of unstopped) cl.killNow();
  });
}

export class BrookCluster {
  readonly nodes = new Map<number, ClusterNodeHandle>();
  private readonly tmp = tempDir('brook-cluster-');
  private stopped = false;

  private etcdServer: EtcdServer | null = null;

  private constructor(
    readonly sessionTimeoutMs: number,
    private readonly opts: ClusterOptions,
  ) {
    track(this);
  }

  /**
   * A cluster with nothing started yet. Assign it before `await cluster.startAll()` in a
   * beforeAll, so that afterAll's stop() ends whatever did start even when the start failed
   * or the hook timed out.
   */
  static create(opts: ClusterOptions = {}): BrookCluster {
    return new BrookCluster(opts.sessionTimeoutMs ?? SESSION_TIMEOUT_MS, opts);
  }

  /** create() and startAll(); on a failure everything started so far is stopped. */
  static async start(opts: ClusterOptions = {}): Promise<BrookCluster> {
    const cluster = BrookCluster.create(opts);
    try {
      await cluster.startAll();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Starts etcd, then the nodes (`nodeIds`, default [1, 2, 3]). */
  async startAll(): Promise<void> {
    const etcd = await startEtcd();
    if (this.stopped) {
      await etcd.destroy();
      throw new Error('cluster stopped while etcd was starting');
    }
    this.etcdServer = etcd;
    const ids = this.opts.nodeIds ?? [1, 2, 3];
    if (this.opts.sequential) for (const id of ids) await this.addNode(id);
    else await Promise.all(ids.map((id) => this.addNode(id)));
  }

  get etcd(): EtcdServer {
    if (this.etcdServer === null) throw new Error('etcd is not started (startAll)');
    return this.etcdServer;
  }

  get metadataStore(): string {
    return this.etcd.url;
  }

  /** The args `brook start` gets for node `id` (without the ones startChildNode adds). */
  startArgs(h: ClusterNodeHandle): string[] {
    const store = h.storeFromEnv ? [] : ['--metadata-store', this.metadataStore];
    const args = ['--node-id', String(h.nodeId), ...store, '--http-port', String(h.httpPort), '--node-session-timeout-ms', String(this.sessionTimeoutMs)];
    if (h.rack !== undefined) args.push('--rack', h.rack);
    return [...args, ...(this.opts.extraArgs ?? [])];
  }

  /** A new node with fresh ports and data dir, started; resolves once it logged "brook node started". */
  async addNode(id: number, opts: { rack?: string; storeFromEnv?: boolean } = {}): Promise<ClusterNodeHandle> {
    if (this.nodes.has(id)) throw new Error(`node ${id} exists already`);
    const port = await freePort();
    let httpPort = await freePort();
    while (httpPort === port) httpPort = await freePort();
    const h: ClusterNodeHandle = {
      nodeId: id,
      port,
      httpPort,
      dataDir: join(this.tmp.dir, `node-${id}`),
      rack: opts.rack ?? this.opts.racks?.[id],
      bootstrap: `127.0.0.1:${port}`,
      child: null,
      outputs: [],
      storeFromEnv: opts.storeFromEnv ?? false,
    };
    this.nodes.set(id, h);
    await this.startNode(id);
    return h;
  }

  /** (Re)starts node `id` on its ports and data dir. */
  async startNode(id: number): Promise<ChildNode> {
    const h = this.node(id);
    if (h.child?.alive()) throw new Error(`node ${id} is running (pid ${h.child.proc.pid})`);
    try {
      const child = await startChildNode({
        port: h.port,
        dataDir: h.dataDir,
        workers: 1,
        timeoutMs: this.opts.startTimeoutMs ?? 30_000,
        extraArgs: this.startArgs(h),
        env: h.storeFromEnv ? { ...process.env, BROOK_METADATA_STORE: this.metadataStore } : process.env,
      });
      if (this.stopped) {
        await child.kill9();
        throw new Error('cluster stopped while the node was starting');
      }
      h.child = child;
      h.outputs.push('');
      const idx = h.outputs.length - 1;
      const sync = () => (h.outputs[idx] = child.output());
      child.proc.stdout?.on('data', sync);
      child.proc.stderr?.on('data', sync);
      sync();
      return child;
    } catch (err) {
      h.outputs.push(String((err as Error).message));
      throw new Error(`node ${id} did not start: ${(err as Error).message}\n${this.etcdState()}`, { cause: err });
    }
  }

  node(id: number): ClusterNodeHandle {
    const h = this.nodes.get(id);
    if (!h) throw new Error(`no node ${id}`);
    return h;
  }

  alive(id: number): boolean {
    return this.nodes.get(id)?.child?.alive() ?? false;
  }

  /** Ids of the nodes whose process is running (paused ones included). */
  runningIds(): number[] {
    return [...this.nodes.keys()].filter((id) => this.alive(id)).sort((a, b) => a - b);
  }

  pid(id: number): number {
    return this.node(id).child?.proc.pid ?? -1;
  }

  /** host:port of node `id`, or of the first running node. */
  bootstrap(id?: number): string {
    if (id !== undefined) return this.node(id).bootstrap;
    const first = this.runningIds()[0];
    if (first === undefined) throw new Error('no node is running');
    return this.node(first).bootstrap;
  }

  bootstraps(): string[] {
    return this.runningIds().map((id) => this.node(id).bootstrap);
  }

  signal(id: number, sig: NodeJS.Signals): void {
    const c = this.node(id).child;
    if (!c?.alive()) throw new Error(`node ${id} is not running`);
    c.proc.kill(sig);
  }

  /** SIGTERM (controlled shutdown) and waits for the exit; SIGKILL after `timeoutMs` (then throws). */
  async sigterm(id: number, timeoutMs = 30_000): Promise<ExitInfo> {
    const c = this.node(id).child;
    if (!c?.alive()) throw new Error(`node ${id} is not running`);
    c.proc.kill('SIGTERM');
    const e = await exitWithin(c, timeoutMs);
    if (e === null) {
      await c.kill9();
      throw new Error(`node ${id} did not exit within ${timeoutMs} ms of SIGTERM:\n${c.output().slice(-4000)}`);
    }
    return e;
  }

  async kill9(id: number): Promise<void> {
    await this.node(id).child?.kill9();
  }

  pause(id: number): void {
    this.signal(id, 'SIGSTOP');
  }

  resume(id: number): void {
    this.signal(id, 'SIGCONT');
  }

  /** Metadata v12 as node `id` answers it (all topics when `topics` is null). */
  async metadata(id: number, topics: string[] | null = null, timeoutMs = 5_000): Promise<Metadata> {
    const h = this.node(id);
    const c = await RawClient.connect('127.0.0.1', h.port, { timeoutMs, clientId: 'cluster-test' });
    try {
      return await c.request(3, 12, { topics: topics === null ? null : topics.map((name) => ({ name })), allowAutoTopicCreation: false }, timeoutMs);
    } finally {
      c.close();
    }
  }

  /** Polls node `id`'s Metadata until `pred` holds; returns that answer. A timeout's error carries the nodes' and etcd's logs. */
  async waitForMetadata(id: number, pred: (md: Metadata) => boolean, what: string, opts: { topics?: string[] | null; timeoutMs?: number } = {}): Promise<Metadata> {
    let last: Metadata | null = null;
    try {
      return await waitUntil(
        async () => {
          last = await this.metadata(id, opts.topics ?? null);
          return pred(last) ? last : undefined;
        },
        opts.timeoutMs ?? 20_000,
        `${what} (metadata from node ${id})`,
        () => last,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.logs(1500)}`, { cause: err });
    }
  }

  /** Waits until node `via` lists exactly the brokers `ids`. */
  async waitForBrokers(ids: number[], via: number, timeoutMs = 20_000): Promise<Metadata> {
    const want = [...ids].sort((a, b) => a - b).join(',');
    return this.waitForMetadata(
      via,
      (md) =>
        md.brokers
          .map((b) => b.nodeId)
          .sort((a, b) => a - b)
          .join(',') === want,
      `brokers [${want}]`,
      { topics: [], timeoutMs },
    );
  }

  /** Waits until node `via` names a live controller for which `pred` holds; returns its id. */
  async waitForController(via: number, pred: (controllerId: number) => boolean = () => true, timeoutMs = 20_000): Promise<number> {
    const md = await this.waitForMetadata(via, (m) => m.controllerId >= 0 && m.brokers.some((b) => b.nodeId === m.controllerId) && pred(m.controllerId), 'a controller', {
      topics: [],
      timeoutMs,
    });
    return md.controllerId;
  }

  /** Polls node `via` until every partition of `topic` has a leader for which `pred` holds. */
  async waitForLeaders(
    via: number,
    topic: string,
    pred: (leader: number, partition: number) => boolean = (l) => l >= 0,
    timeoutMs = 20_000,
  ): Promise<MetadataResponse.MetadataResponsePartition[]> {
    const md = await this.waitForMetadata(
      via,
      (m) => {
        const t = m.topics.find((x) => x.name === topic);
        return t !== undefined && t.errorCode === 0 && t.partitions.length > 0 && t.partitions.every((p) => pred(p.leaderId, p.partitionIndex));
      },
      `leaders of ${topic}`,
      { topics: [topic], timeoutMs },
    );
    return [...md.topics[0]!.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
  }

  /**
   * Creates `name` with Brook's own Admin client bootstrapped from node `via` (default: the
   * first running node), then waits until every running node reports a leader for each
   * partition. Returns the partitions as node `via` reports them.
   */
  async createTopic(
    name: string,
    numPartitions: number,
    opts: { replicationFactor?: number; via?: number; timeoutMs?: number } = {},
  ): Promise<MetadataResponse.MetadataResponsePartition[]> {
    const via = opts.via ?? this.runningIds()[0]!;
    const admin = new Admin({ bootstrapServers: [this.bootstrap(via)], requestTimeoutMs: 10_000 });
    try {
      await admin.createTopics({ topics: [{ name, numPartitions, replicationFactor: opts.replicationFactor ?? 1 }], timeoutMs: opts.timeoutMs ?? 10_000 });
    } finally {
      await admin.close();
    }
    let parts: MetadataResponse.MetadataResponsePartition[] = [];
    for (const id of this.runningIds()) {
      const p = await this.waitForLeaders(id, name, undefined, opts.timeoutMs ?? 15_000);
      if (id === via) parts = p;
    }
    return parts;
  }

  /** GET /api/cluster of node `id`. */
  /** A raw Kafka connection to node `id` for `fn`, closed afterwards whatever `fn` does. */
  async withRaw<T>(id: number, fn: (c: RawClient) => Promise<T>): Promise<T> {
    const c = await RawClient.connect('127.0.0.1', this.node(id).port, { clientId: 'cluster-test' });
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  }

  async clusterApi(id: number, timeoutMs = 5_000): Promise<ClusterApi> {
    const res = await fetch(`http://127.0.0.1:${this.node(id).httpPort}/api/cluster`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`GET /api/cluster on node ${id}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as ClusterApi;
  }

  /** CreateTopics v7 sent to node `id` itself (not routed to the controller by the client). */
  async createTopicsVia(id: number, topics: { name: string; numPartitions: number; replicationFactor?: number }[], timeoutMs = 10_000) {
    const c = await RawClient.connect('127.0.0.1', this.node(id).port, { timeoutMs: 5_000, clientId: 'cluster-test' });
    try {
      const res = await c.request(
        19,
        7,
        {
          topics: topics.map((t) => ({ name: t.name, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor ?? 1, assignments: [], configs: [] })),
          timeoutMs,
          validateOnly: false,
        },
        timeoutMs + 5_000,
      );
      return res.topics;
    } finally {
      c.close();
    }
  }

  /** Runs `brook <args>` (the CLI) to completion. */
  cli(args: string[], timeoutMs = 20_000): Promise<RunResult> {
    return run(process.execPath, [BROOK_BIN, ...args], { timeoutMs });
  }

  /** etcd's state and the end of its output, for a failing test's message. */
  etcdState(): string {
    const e = this.etcdServer;
    if (e === null) return '--- etcd not started ---';
    return `--- etcd ${e.endpoint} pid ${e.pid}: ${e.alive() ? 'running' : `exited ${JSON.stringify(e.exitInfo())}`} ---\n${e.output().slice(-2000)}`;
  }

  /** The last `n` characters of every node's output and etcd's state, for a failing test's message. */
  logs(n = 3000): string {
    return [...[...this.nodes.values()].map((h) => `--- node ${h.nodeId} ---\n${h.outputs.join('\n--- restart ---\n').slice(-n)}`), this.etcdState()].join('\n');
  }

  /** Synchronously SIGKILLs every node and removes the dirs (the process is exiting); etcd's own hook kills it. */
  killNow(): void {
    for (const h of this.nodes.values()) if (h.child?.alive()) h.child.proc.kill('SIGKILL');
    this.tmp.cleanup();
  }

  /** Ends every node (SIGCONT + SIGKILL: nothing to keep) and etcd, removes every dir. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    unstopped.delete(this);
    await Promise.all(
      [...this.nodes.values()].map(async (h) => {
        const c = h.child;
        if (!c?.alive()) return;
        c.proc.kill('SIGCONT');
        await c.kill9().catch(() => undefined);
      }),
    );
    await this.etcdServer?.destroy().catch(() => undefined);
    this.tmp.cleanup();
  }
}
