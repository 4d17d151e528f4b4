/**
 * `brook cluster nodes` (every node of the cluster: state, rack, leaderships, address) and
 * `brook cluster describe` (cluster id, controller, metadata store and version), read from any
 * running node's HTTP API.
 */
import type { Command } from 'commander';
import type { ClusterNodeView } from '../http/cluster-routes.js';
import { nodeApi } from './node-api.js';
import { formatTable } from './options.js';

interface ClusterView {
  clusterId: string;
  controllerId: number;
  nodeId: number;
  metadataStore: string;
  metadataOffset: number;
  topics: number;
  partitions: number;
  offlinePartitions: number;
  nodes: ClusterNodeView[];
}

const httpOption = ['--http <host:port>', "any node's HTTP API", '127.0.0.1:8080'] as const;

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('the nodes of a Brook cluster and its controller');
  cluster
    .command('nodes')
    .description('list the nodes: state, rack, partitions led, Kafka and HTTP addresses, which is controller')
    .option(...httpOption)
    .option('--json', 'print JSON')
    .action(async (opts: { http: string; json?: boolean }) => {
      const view = await nodeApi<ClusterView>(opts.http, '/api/cluster');
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(view.nodes, null, 2)}\n`);
        return;
      }
      const rows = view.nodes.map((n) => [
        String(n.nodeId),
        n.state,
        n.controller ? 'yes' : '',
        n.rack ?? '-',
        String(n.leaderships),
        n.port >= 0 ? `${n.host}:${n.port}` : '-',
        n.httpPort >= 0 ? `${n.host}:${n.httpPort}` : '-',
      ]);
      process.stdout.write(formatTable(['NODE', 'STATE', 'CONTROLLER', 'RACK', 'LEADERS', 'ADDRESS', 'HTTP'], rows));
    });
  cluster
    .command('describe')
    .description('show the cluster id, the controller, the metadata store and the metadata version')
    .option(...httpOption)
    .option('--json', 'print JSON')
    .action(async (opts: { http: string; json?: boolean }) => {
      const view = await nodeApi<ClusterView>(opts.http, '/api/cluster');
      const live = view.nodes.filter((n) => n.state !== 'offline').length;
      if (opts.json) {
        const { nodes, ...rest } = view;
        process.stdout.write(`${JSON.stringify({ ...rest, nodes: nodes.length, liveNodes: live }, null, 2)}\n`);
        return;
      }
      const lines = [
        `Cluster id:        ${view.clusterId}`,
        `Controller:        ${view.controllerId < 0 ? 'none elected' : `node ${view.controllerId}`}`,
        `Metadata store:    ${view.metadataStore}`,
        `Metadata version:  ${view.metadataOffset} (records applied by node ${view.nodeId})`,
        `Nodes:             ${live} live of ${view.nodes.length}`,
        `Topics:            ${view.topics} (${view.partitions} partitions, ${view.offlinePartitions} offline)`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
