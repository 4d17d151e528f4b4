/**
 * BrookNode: one Brook node process. Lives on the main thread and wires the layers together:
 * the supervisor and its worker threads (src/runtime, started with the registry of actor kinds
 * in actors/), the cluster metadata, the partition actors it implies and the clients through
 * which everyone asks them (src/cluster), and the Kafka and HTTP gateways.
 */
import { hostname } from 'node:os';
import { ActorAsks } from './cluster/actor-asks.js';
import { Controller } from './cluster/controller.js';
import { GroupCoordinatorClient } from './cluster/group-coordinator-client.js';
import { PartitionClient } from './cluster/partition-client.js';
import { PartitionManager } from './cluster/partition-manager.js';
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
import { WalCheckpointerThread } from './storage/wal-checkpointer.js';
import { actorKindsUrl } from '../actors/registry.js';
import { OFFSETS_TOPIC } from './cluster/offsets-topic.js';
import type { GroupCoordinatorSettings } from '../actors/group-coordinator/messages.js';

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
  advertised = { host: '', port: 0 };

  private constructor(
    readonly config: NodeConfig,
    readonly log: Logger,
    readonly supervisor: Supervisor,
    readonly controller: Controller,
    readonly walCheckpointer: WalCheckpointerThread,
    private readonly dataDirLock: DataDirLock,
  ) {
    const routes = new RoutingTable(controller.image, config.nodeId);
    this.asks = new ActorAsks(config.nodeId, supervisor);
    this.partitions = new PartitionClient(this.asks, routes, supervisor);
    this.groups = new GroupCoordinatorClient(this.asks, routes, controller.image);
    this.partitionManager = new PartitionManager(supervisor, this.partitions, controller, config.nodeId, config.dataDir, config.durability, groupSettingsOf(config), {
      logRetentionCheckIntervalMs: config.logRetentionCheckIntervalMs,
      cpuPool: { threads: config.cpuPoolThreads, queueMax: config.cpuPoolQueueMax },
    });
    this.nodeProbe = new NodeProbe(this.metrics, this);
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
    let controller: Controller;
    try {
      controller = new Controller(dataDir, {
        nodeId: config.nodeId,
        defaultPartitions: config.numPartitions,
        defaultReplicationFactor: config.defaultReplicationFactor,
      });
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
      supervisor = await Supervisor.start({ workers: config.workers, actorKinds: actorKindsUrl(), threadPorts: () => ({ walCheckpointer: checkpointer.connect() }) });
    } catch (err) {
      await checkpointer.stop();
      controller.close();
      lock.release();
      throw err;
    }
    logLifecycle(supervisor, log);
    const node = new BrookNode({ ...config, dataDir }, log, supervisor, controller, checkpointer, lock);
    try {
      await node.partitionManager.startAll();
      await node.createOffsetsTopic();
      await node.listen();
      await node.listenHttp();
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
        topics: controller.image.topicsByName.size,
      },
      'brook node started',
    );
    return node;
  }

  /** Creates __consumer_offsets (compacted, as in Kafka) the first time the node starts. */
  private async createOffsetsTopic(): Promise<void> {
    if (this.controller.image.topicsByName.has(OFFSETS_TOPIC)) return;
    const created = await this.controller.createTopic({
      name: OFFSETS_TOPIC,
      numPartitions: this.config.offsetsTopicPartitions,
      replicationFactor: -1,
      configs: [{ name: 'cleanup.policy', value: 'compact' }],
    });
    if ('error' in created) throw new Error(`cannot create ${OFFSETS_TOPIC}: ${created.error}: ${created.message}`);
  }

  private async listen(): Promise<void> {
    const gateway = new Gateway(this);
    const port = await gateway.listen(this.config.host, this.config.port);
    this.gateway = gateway;
    const host = this.config.advertisedHost ?? (this.config.host === '0.0.0.0' || this.config.host === '::' ? hostname() : this.config.host);
    this.advertised = { host, port };
    this.controller.registerBroker(host, port);
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
      await this.gateway?.close();
      await this.http?.close();
      await this.supervisor.shutdown();
      await this.walCheckpointer.stop();
      this.controller.close();
      this.dataDirLock.release();
      this.log.info('brook node stopped');
    })();
    return this.stopping;
  }
}
