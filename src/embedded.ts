/**
 * The embedded broker: a real Brook node inside a Node.js program or test suite, with an
 * ephemeral port and, unless a data dir is given, a temporary data dir removed on stop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, type NodeConfig } from './config.js';
import { createLogger } from './log.js';
import { BrookNode } from './node.js';

export interface EmbeddedBroker {
  /** 'host:port' for a client's bootstrap servers. */
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly node: BrookNode;
  stop(): Promise<void>;
}

export type StartBrokerOptions = Partial<NodeConfig>;

export async function startBroker(opts: StartBrokerOptions = {}): Promise<EmbeddedBroker> {
  const temporary = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'brook-'));
  const config: NodeConfig = { ...defaultConfig(), port: 0, httpPort: 0, workers: 2, logLevel: 'warn', ...opts, dataDir };
  const node = await BrookNode.start(config, { logger: createLogger(config.logLevel, { pretty: false }) });
  const { host, port } = node.advertised;
  return {
    bootstrap: `${host}:${port}`,
    host,
    port,
    dataDir,
    node,
    async stop() {
      await node.stop();
      if (temporary) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
