/**
 * BrookNode: one Brook node process. Lives on the main thread and wires the layers together:
 * the supervisor and its worker threads (src/runtime), the cluster metadata (src/cluster) and
 * the Kafka gateway (src/gateway).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { NodeConfig } from './config.js';
import { createLogger, logLifecycle, type Logger } from './log.js';
import { Supervisor } from './runtime/supervisor.js';

export class BrookNode {
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly config: NodeConfig,
    readonly log: Logger,
    readonly supervisor: Supervisor,
  ) {}

  static async start(config: NodeConfig, opts: { logger?: Logger } = {}): Promise<BrookNode> {
    const log = opts.logger ?? createLogger(config.logLevel);
    const dataDir = resolve(config.dataDir);
    mkdirSync(dataDir, { recursive: true });
    const supervisor = await Supervisor.start({ workers: config.workers });
    logLifecycle(supervisor, log);
    const node = new BrookNode({ ...config, dataDir }, log, supervisor);
    log.info({ nodeId: config.nodeId, dataDir, workers: config.workers, durability: config.durability }, 'brook node started');
    return node;
  }

  /** Drains mailboxes, closes every database and stops the worker threads. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('brook node stopping');
      await this.supervisor.shutdown();
      this.log.info('brook node stopped');
    })();
    return this.stopping;
  }
}
