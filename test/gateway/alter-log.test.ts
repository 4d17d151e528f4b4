/**
 * The node logs "configs altered" for an alter the controller applied, and never for one it
 * refused (an unknown topic, a value out of range): the log is what an operator reads to learn
 * what changed, so a refused alter must not appear in it as a change.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../src/client/admin.js';
import { defaultConfig, type NodeConfig } from '../../src/config.js';
import { BrookNode } from '../../src/node.js';
import { tempDir } from '../helpers/tmp.js';

interface LogLine {
  msg: string;
  resourceName?: string;
  changes?: string[];
}

const dir = tempDir('brook-alter-log-');
const lines: LogLine[] = [];
let node: BrookNode;
let admin: Admin;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  const config: NodeConfig = { ...defaultConfig(), port: 0, httpPort: -1, workers: 1, logLevel: 'info', dataDir: dir.dir };
  node = await BrookNode.start(config, { logger: pino({ level: 'info' }, sink) });
  admin = new Admin({ bootstrapServers: [`${node.advertised.host}:${node.advertised.port}`] });
  await admin.createTopics({ topics: [{ name: 'audited', numPartitions: 1 }] });
}, 60_000);

afterAll(async () => {
  await admin?.close();
  await node?.stop();
  dir.cleanup();
}, 60_000);

const altered = () => lines.filter((l) => l.msg === 'configs altered');

describe('the "configs altered" log line', () => {
  it('is not written for refused alters, incremental or legacy', async () => {
    await expect(
      admin.incrementalAlterConfigs({
        resources: [{ type: 'topic', name: 'audited', ops: [{ name: 'retention.ms', op: 'set', value: 'soon' }] }],
      }),
    ).rejects.toThrow();
    await expect(
      admin.incrementalAlterConfigs({
        resources: [{ type: 'topic', name: 'no-such-topic', ops: [{ name: 'retention.ms', op: 'set', value: '1000' }] }],
      }),
    ).rejects.toThrow();
    await expect(
      admin.alterConfigs({
        resources: [{ type: 'topic', name: 'audited', configs: { 'cleanup.policy': 'sometimes' } }],
      }),
    ).rejects.toThrow();
    expect(altered()).toEqual([]);
  });

  it('is written once for an applied alter, naming the resource and the changed keys', async () => {
    await admin.incrementalAlterConfigs({
      resources: [{ type: 'topic', name: 'audited', ops: [{ name: 'retention.ms', op: 'set', value: '3600000' }] }],
    });
    expect(altered()).toEqual([expect.objectContaining({ resourceName: 'audited', changes: ['retention.ms'] })]);
  });
});
