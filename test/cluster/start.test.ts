/**
 * Starting a node of a Brook cluster on etcd: BROOK_METADATA_STORE in place of
 * --metadata-store, a second live node with the same --node-id refused (exit 1, naming the
 * id), and an unreachable etcd refused within about 15 s (exit 1, naming the endpoints).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf } from '../helpers/clients.js';
import { BrookCluster } from '../helpers/cluster.js';
import { etcdRequirement } from '../helpers/etcd.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort } from '../crash/child-node.js';

describeIf(etcdRequirement(), 'cluster: starting a node', () => {
  let cluster: BrookCluster;
  const tmp = tempDir('brook-cluster-start-');

  beforeAll(async () => {
    cluster = BrookCluster.create({ nodeIds: [1] });
    await cluster.startAll();
  });
  afterAll(async () => {
    await cluster?.stop();
    tmp.cleanup();
  });

  it('a node given the store in BROOK_METADATA_STORE joins the cluster', async () => {
    await cluster.addNode(2, { storeFromEnv: true });
    await cluster.waitForBrokers([1, 2], 1);
    await cluster.waitForBrokers([1, 2], 2);
  });

  it('a second live node with the same --node-id exits with code 1 and says so', async () => {
    const port = await freePort();
    const httpPort = await freePort();
    const started = Date.now();
    const r = await cluster.cli(
      [
        'start',
        '--node-id',
        '1',
        '--metadata-store',
        cluster.metadataStore,
        '--port',
        String(port),
        '--http-port',
        String(httpPort),
        '--data-dir',
        `${tmp.dir}/dup`,
        '--workers',
        '1',
        '--node-session-timeout-ms',
        '2000',
      ],
      30_000,
    );
    expect(r.timedOut, `still running after ${Date.now() - started} ms:\n${r.stdout}\n${r.stderr}`).toBe(false);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/node id 1\b/);
    expect(r.stderr).toMatch(/already/);
    // The first node 1 is untouched.
    expect(cluster.alive(1)).toBe(true);
    await cluster.waitForBrokers([1, 2], 2);
  });

  it('an unreachable etcd: exit code 1 within about 15 s, naming the endpoints', async () => {
    const dead1 = await freePort();
    const dead2 = await freePort();
    const port = await freePort();
    const started = Date.now();
    const r = await cluster.cli(
      [
        'start',
        '--node-id',
        '9',
        '--metadata-store',
        `etcd://127.0.0.1:${dead1},127.0.0.1:${dead2}`,
        '--port',
        String(port),
        '--http-port',
        '-1',
        '--data-dir',
        `${tmp.dir}/unreachable`,
        '--workers',
        '1',
      ],
      30_000,
    );
    const tookMs = Date.now() - started;
    expect(r.timedOut, `still running after ${tookMs} ms:\n${r.stdout}\n${r.stderr}`).toBe(false);
    expect(r.code, r.stderr).toBe(1);
    expect(tookMs).toBeLessThan(20_000);
    expect(r.stderr).toContain(`127.0.0.1:${dead1}`);
    expect(r.stderr).toContain(`127.0.0.1:${dead2}`);
  });
});
