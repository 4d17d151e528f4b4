/**
 * BrookNode: one Brook node process. Lives on the main thread and wires the layers together:
 * the supervisor and its worker threads (src/runtime, started with the registry of actor kinds
 * in actors/), the cluster metadata, the partition actors it implies and the clients through
 * which everyone asks them (src/cluster), and the Kafka and HTTP gateways.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ActorAsks } from './cluster/actor-asks.js';
import { ClusterMetadata } from './cluster/cluster-metadata.js';
import { Controller } from './cluster/controller.js';
import { ControllerChannel } from './cluster/controller-channel.js';
import { LocalMetadataStore } from './cluster/local-metadata-store.js';
import type { MetadataStore, NodeRegistration } from './cluster/metadata-store.js';
import { GroupCoordinatorClient } from './cluster/group-coordinator-client.js';
import { BatchCache } from './cluster/batch-cache.js';
import { PartitionClient } from './cluster/partition-client.js';
import { PartitionManager } from './cluster/partition-manager.js';
import { ReplicaFetcher, replicaFetcherDefaults } from './cluster/replica-fetcher.js';
import { RoutingTable } from './cluster/routing-table.js';
import type { NodeConfig } from './config.js';
import { lockDataDir, prepareDataDir, type DataDirLock } from './data-dir.js';
import type { Broker } from './gateway/context.js';
import { GatewayProbe } from './gateway/probe.js';
import { HttpGateway } from './http/http-gateway.js';
import { NodeProbe } from './node-probe.js';
import { Registry } from 'prom-client';
import { Gateway } from './gateway/gateway.js';
import { createLogger, logLifecycle, type Logger } from './log.js';
import { Supervisor } from './runtime/supervisor.js';
import { LogReaders } from './storage/log-readers.js';
import { WalCheckpointerThread } from './storage/wal-checkpointer.js';
import { actorKindsUrl } from '../actors/registry.js';
import type { GroupCoordinatorSettings } from '../actors/group-coordinator/messages.js';

/** How long a forwarded or local metadata change may take before it is answered with an error. */
const CONTROLLER_REQUEST_TIMEOUT_MS = 15_000;
/** How long a controlled shutdown waits for the controller to move this node's leaderships. */
const CONTROLLED_SHUTDOWN_TIMEOUT_MS = 10_000;
/** Partition logs opened at once when passivated partitions are first touched together (the rest wait in order). */
const ACTIVATIONS_MAX = 8;
/** Passivated partitions woken per second for their retention. */
const WAKES_PER_SECOND = 20;
/** Deadline of each call to etcd. */
const ETCD_CALL_TIMEOUT_MS = 4_000;

/** The embedded store, or etcd (its client loaded only when a cluster is configured). */
async function openStore(config: NodeConfig, dataDir: string, log: Logger): Promise<MetadataStore> {
  if (config.metadataStore === undefined) return new LocalMetadataStore(dataDir);
  const { EtcdMetadataStore } = await import('./cluster/etcd-metadata-store.js');
  return new EtcdMetadataStore({
    url: config.metadataStore,
    sessionTimeoutMs: config.nodeSessionTimeoutMs,
    callTimeoutMs: ETCD_CALL_TIMEOUT_MS,
    snapshotEvery: config.metadataSnapshotRecords,
    log,
  });
}

function groupSettingsOf(c: NodeConfig): GroupCoordinatorSettings {
  return {
    groupMinSessionTimeoutMs: c.groupMinSessionTimeoutMs,
    groupMaxSessionTimeoutMs: c.groupMaxSessionTimeoutMs,
    groupInitialRebalanceDelayMs: c.groupInitialRebalanceDelayMs,
    groupMaxSize: c.groupMaxSize,
    offsetsRetentionMs: c.offsetsRetentionMinutes * 60_000,
    offsetMetadataMaxBytes: c.offsetMetadataMaxBytes,
  };
}

/** The host a browser on this machine or the network reaches the console at (a wildcard bind is not one). */
function consoleHost(bindHost: string, advertisedHost: string): string {
  const host = bindHost === '0.0.0.0' || bindHost === '::' ? advertisedHost : bindHost;
  return host.includes(':') ? `[${host}]` : host;
}

export class BrookNode implements Broker {
  private stopping: Promise<void> | undefined;
  private gateway: Gateway | undefined;
  private http: HttpGateway | undefined;
  readonly metrics = new Registry();
  readonly probe = new GatewayProbe(this.metrics);
  private readonly nodeProbe: NodeProbe;
  /** The bound HTTP port, or -1 when the HTTP gateway is off or could not bind. */
  httpPort = -1;
  /** The one ask path to actors; the clients below route and ask through it. */
  readonly asks: ActorAsks;
  readonly partitions: PartitionClient;
  readonly groups: GroupCoordinatorClient;
  readonly partitionManager: PartitionManager;
  /** Pulls this node's follower replicas from their leaders. */
  readonly replicaFetcher: ReplicaFetcher;
  /** This node's copy of the cluster metadata (the image and its deltas). */
  readonly metadata = new ClusterMetadata();
  readonly controller: Controller;
  advertised = { host: '', port: 0 };
  /** This node's registration as the metadata store has it. */
  private registration: NodeRegistration;

  private constructor(
    readonly config: NodeConfig,
    readonly log: Logger,
    readonly supervisor: Supervisor,
    private readonly store: MetadataStore,
    readonly walCheckpointer: WalCheckpointerThread,
    private readonly dataDirLock: DataDirLock,
  ) {
    this.metrics.setDefaultLabels({ node: String(config.nodeId) });
    this.registration = { nodeId: config.nodeId, incarnationId: randomUUID(), host: '', port: -1, httpPort: -1, rack: config.rack ?? null, state: 'starting' };
    this.controller = new Controller(
      store,
      this.metadata,
      new ControllerChannel(config.nodeId, CONTROLLER_REQUEST_TIMEOUT_MS),
      {
        nodeId: config.nodeId,
        defaultPartitions: config.numPartitions,
        defaultReplicationFactor: config.defaultReplicationFactor,
        offsetsTopicPartitions: config.offsetsTopicPartitions,
        requestTimeoutMs: CONTROLLER_REQUEST_TIMEOUT_MS,
      },
      log,
    );
    const routes = new RoutingTable(this.metadata.image, config.nodeId);
    this.asks = new ActorAsks(config.nodeId, supervisor);
    this.partitions = new PartitionClient(
      this.asks,
      routes,
      supervisor,
      new BatchCache(config.fetchCacheBytes, config.fetchReaderThreads > 0),
      new LogReaders(config.fetchReaderThreads),
    );
    this.groups = new GroupCoordinatorClient(this.asks, routes, this.metadata.image);
    this.replicaFetcher = new ReplicaFetcher(config.nodeId, this.metadata.image, this.partitions, log, {
      ...replicaFetcherDefaults,
      fetchWaitMaxMs: config.replicaFetchWaitMaxMs,
    });
    this.partitionManager = new PartitionManager(
      supervisor,
      this.partitions,
      this.metadata,
      config.nodeId,
      config.dataDir,
      config.durability,
      groupSettingsOf(config),
      {
        logRetentionCheckIntervalMs: config.logRetentionCheckIntervalMs,
        cpuPool: { threads: config.cpuPoolThreads, queueMax: config.cpuPoolQueueMax },
      },
      {
        fetcher: this.replicaFetcher,
        alterIsr: async (change) => {
          const r = await this.controller.alterPartition(change);
          return 'error' in r ? r : undefined;
        },
        replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
      },
      log,
    );
    this.nodeProbe = new NodeProbe(this.metrics, this);
  }

  /** Whether this node is part of a cluster on an external metadata store (etcd). */
  get clustered(): boolean {
    return this.config.metadataStore !== undefined;
  }

  /** This node's registration (its id, incarnation, addresses and state). */
  get self(): NodeRegistration {
    return this.registration;
  }

  /** Prometheus text of every metric, refreshed from the supervisor and worker threads. */
  async metricsText(): Promise<string> {
    await this.nodeProbe.refresh();
    return this.metrics.metrics();
  }

  static async start(config: NodeConfig, opts: { logger?: Logger } = {}): Promise<BrookNode> {
    const log = opts.logger ?? createLogger(config.logLevel);
    // Checked, created and locked before anything opens a file in it (src/data-dir.ts).
    const dataDir = prepareDataDir(config.dataDir);
    const lock = lockDataDir(dataDir);
    let store: MetadataStore;
    try {
      store = await openStore(config, dataDir, log);
    } catch (err) {
      lock.release();
      throw err;
    }
    // Before the worker threads: each gets a port to it (see src/storage/wal-checkpointer.ts).
    const checkpointer = WalCheckpointerThread.start({
      onExit: (reason) => log.error({ reason }, 'WAL checkpointer thread exited; partition logs now checkpoint inline (every 8000 pages)'),
    });
    let supervisor: Supervisor;
    try {
      supervisor = await Supervisor.start({
        workers: config.workers,
        actorKinds: actorKindsUrl(),
        threadPorts: () => ({ walCheckpointer: checkpointer.connect() }),
        passivation: {
          kinds: ['partition', 'group-coordinator'],
          idleMs: config.partitionIdlePassivateMs,
          maxActive: config.maxOpenPartitionLogs,
          activationsMax: ACTIVATIONS_MAX,
          wakeMessage: { type: 'Maintain' },
          firstWakeWithinMs: config.logRetentionCheckIntervalMs,
          wakesPerSweep: WAKES_PER_SECOND,
        },
      });
    } catch (err) {
      await checkpointer.stop();
      await store.close();
      lock.release();
      throw err;
    }
    logLifecycle(supervisor, log);
    const node = new BrookNode({ ...config, dataDir }, log, supervisor, store, checkpointer, lock);
    try {
      // Claims the node id, then applies the stored metadata: the deltas start this node's actors.
      await store.open(node.registration, {
        batch: (b) => node.metadata.apply(b),
        membershipChanged: () => node.controller.membershipChanged(),
        snapshot: () => ({ kind: 'snapshot', offset: node.metadata.appliedEnd, records: node.metadata.image.toRecords() }),
      });
      await node.listen();
      await node.listenHttp();
      await node.register('alive');
      if (!node.clustered) {
        // The single node is its own controller: its cluster id, registration and
        // __consumer_offsets exist before it says it started. A cluster's controller creates
        // __consumer_offsets on the first FindCoordinator, over the nodes live then.
        const failed = (await node.controller.settle()) ?? (await node.controller.ensureOffsetsTopic());
        if (failed) throw new Error(`cannot set up the node's metadata: ${failed.error}: ${failed.message}`);
      }
    } catch (err) {
      await node.stop();
      throw err;
    }
    log.info(
      {
        nodeId: config.nodeId,
        dataDir,
        workers: config.workers,
        durability: config.durability,
        listener: `${config.host}:${node.advertised.port}`,
        advertised: `${node.advertised.host}:${node.advertised.port}`,
        http: node.httpPort >= 0 ? `${config.host}:${node.httpPort}` : 'off',
        console: node.httpPort >= 0 ? `http://${consoleHost(config.host, node.advertised.host)}:${node.httpPort}` : 'off',
        metadataStore: store.description,
        controller: node.controller.controllerId,
        topics: node.metadata.image.topicsByName.size,
      },
      'brook node started',
    );
    return node;
  }

  private async register(state: NodeRegistration['state']): Promise<void> {
    this.registration = { ...this.registration, host: this.advertised.host, port: this.advertised.port, httpPort: this.httpPort, state };
    await this.store.register(this.registration);
  }

  private async listen(): Promise<void> {
    const gateway = new Gateway(this);
    const port = await gateway.listen(this.config.host, this.config.port);
    this.gateway = gateway;
    const host = this.config.advertisedHost ?? (this.config.host === '0.0.0.0' || this.config.host === '::' ? hostname() : this.config.host);
    this.advertised = { host, port };
  }

  /**
   * The HTTP gateway is auxiliary: if its port is taken the node still serves Kafka, and says so.
   */
  private async listenHttp(): Promise<void> {
    if (this.config.httpPort < 0) return;
    const http = new HttpGateway(this);
    try {
      this.httpPort = await http.listen(this.config.host, this.config.httpPort);
      this.http = http;
    } catch (err) {
      this.log.error({ err: (err as Error).message, httpPort: this.config.httpPort }, 'HTTP gateway could not start; the Kafka listener runs without it');
    }
  }

  /** Closes the listener, drains mailboxes, closes every database and stops the worker threads. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('brook node stopping');
      // Controlled shutdown: leaderships move to other replicas while this node still serves.
      if (this.clustered && this.registration.state === 'alive') await this.controller.controlledShutdown(this.registration, CONTROLLED_SHUTDOWN_TIMEOUT_MS);
      await this.gateway?.close();
      await this.http?.close();
      this.replicaFetcher.close();
      await this.supervisor.shutdown();
      await this.partitions.readers.stop();
      await this.walCheckpointer.stop();
      this.controller.close();
      await this.store.close().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'closing the metadata store failed'));
      this.dataDirLock.release();
      this.log.info('brook node stopped');
    })();
    return this.stopping;
  }
}
