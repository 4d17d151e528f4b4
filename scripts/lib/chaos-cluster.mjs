// The fault test's cluster (scripts/chaos.mjs): etcd and three Brook nodes as child processes on
// 127.0.0.1, each node in a cgroup v2 of its own so that nftables can cut it off from the other
// nodes and from etcd (`socket cgroupv2` matches the cgroup of the local socket a packet leaves
// from or arrives at; clients in this process are not in those cgroups and still reach the node).
// Faults: SIGKILL + restart, SIGSTOP/SIGCONT, network isolation, etcd SIGKILL + restart.
// Every wait has a timeout; cleanupSync() (for process 'exit') SIGKILLs what is left, deletes the
// nftables table and removes the cgroups.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import { BROOK_BIN, freePort, nodeStarted, startEtcd } from './cluster-processes.mjs';

export const NFT_MISSING = 'nft not found: install the Debian package nftables (apt-get install nftables)';

function exitWithin(exited, ms) {
  let timer;
  return Promise.race([exited.then(() => true), new Promise((r) => (timer = setTimeout(() => r(false), ms)))]).finally(() => clearTimeout(timer));
}

/** Runs nft with `args` (or a ruleset on stdin); returns { ok, out }. */
function nft(args, input) {
  const r = spawnSync('nft', input === undefined ? args : ['-f', '-'], { input, encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error.message) : ''}`.trim() };
}

/** The cgroup v2 mount point, or null. */
function cgroup2Mount() {
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [pre, post] = line.split(' - ');
      if (post?.split(' ')[0] === 'cgroup2') return pre.split(' ')[4];
    }
  } catch {
    // no /proc
  }
  return null;
}

/** This process's cgroup v2 path ("0::/path" in /proc/self/cgroup), or null. */
function ownCgroup() {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    return line ? line.slice(3) : null;
  } catch {
    return null;
  }
}

/**
 * Network isolation of nodes with nftables and cgroup v2. `create()` resolves to an instance, or
 * to { unavailable: reason } when nft is missing (and could not be found), cgroup v2 is not
 * mounted or writable, or the `socket cgroupv2` match does not work here (checked with a probe
 * process: a connection from inside a cgroup must fail while the rule is in place).
 */
export class NetFaults {
  static async create(tag) {
    const probe = spawnSync('nft', ['--version'], { encoding: 'utf8', timeout: 5_000 });
    if (probe.status !== 0) return { unavailable: NFT_MISSING };
    const mount = cgroup2Mount();
    const own = ownCgroup();
    if (mount === null || own === null) return { unavailable: 'cgroup v2 is not mounted (needed to tell the nodes apart in nftables rules)' };
    const base = join(mount, own, tag);
    // nft resolves `socket cgroupv2` paths below /sys/fs/cgroup.
    const nftBase = relative('/sys/fs/cgroup', base);
    if (nftBase.startsWith('..')) return { unavailable: `the cgroup v2 mount ${mount} is not below /sys/fs/cgroup, where nft looks up cgroup paths` };
    try {
      mkdirSync(base, { recursive: true });
    } catch (err) {
      return { unavailable: `cannot create cgroup ${base}: ${err.message}` };
    }
    const net = new NetFaults(tag.replace(/[^a-zA-Z0-9_]/g, '_'), base, nftBase, own.split('/').filter(Boolean).length + 2);
    const table = nft(
      [],
      `table inet ${net.table} {\n  chain output { type filter hook output priority 0; policy accept; }\n  chain input { type filter hook input priority 0; policy accept; }\n}\n`,
    );
    if (!table.ok) {
      net.cleanupSync();
      return { unavailable: `nft could not create a table (${table.out})` };
    }
    const works = await net.selfTest();
    if (!works) {
      net.cleanupSync();
      return { unavailable: `nftables "socket cgroupv2" matching did not block a probe connection here (cgroup ${base})` };
    }
    return net;
  }

  constructor(table, base, nftBase, level) {
    this.table = table;
    this.base = base;
    this.nftBase = nftBase;
    this.level = level;
    this.cgroups = new Set();
    this.isolated = null;
  }

  /** The cgroup directory for `name` (created). */
  cgroup(name) {
    const dir = join(this.base, name);
    mkdirSync(dir, { recursive: true });
    this.cgroups.add(dir);
    return dir;
  }

  match(name) {
    return `socket cgroupv2 level ${this.level} "${this.nftBase}/${name}"`;
  }

  /** Drop rules: loopback traffic between sockets of cgroup `name` and `ports`, both directions. */
  rules(name, ports) {
    const set = `{ ${[...new Set(ports)].join(', ')} }`;
    return [
      `add rule inet ${this.table} output oifname "lo" ${this.match(name)} tcp dport ${set} drop`,
      `add rule inet ${this.table} input iifname "lo" ${this.match(name)} tcp sport ${set} drop`,
    ];
  }

  /** Cuts node cgroup `name` off from `remotePorts` (other nodes, etcd), and the other nodes' cgroups off from `ownPorts`. */
  isolate(name, remotePorts, others, ownPorts) {
    const lines = [...this.rules(name, remotePorts), ...others.flatMap((o) => this.rules(o, ownPorts))];
    const r = nft([], `${lines.join('\n')}\n`);
    if (!r.ok) throw new Error(`nft: ${r.out}\n${lines.join('\n')}`);
    this.isolated = name;
  }

  heal() {
    for (const chain of ['output', 'input']) {
      const r = nft(['flush', 'chain', 'inet', this.table, chain]);
      if (!r.ok) throw new Error(`nft flush chain ${chain}: ${r.out}`);
    }
    this.isolated = null;
  }

  /** A node child in cgroup "probe" connects to a local server; with the rule in place it must not get through. */
  async selfTest() {
    const srv = createServer((s) => s.destroy());
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const port = srv.address().port;
    const dir = this.cgroup('probe');
    const tryConnect = async () => {
      const script = `const s=require('net').connect(${port},'127.0.0.1');s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',()=>{console.log('error');process.exit(0)});setTimeout(()=>{console.log('blocked');process.exit(0)},800)`;
      const child = spawn('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const done = new Promise((r) => child.once('exit', r));
      if (!(await exitWithin(done, 10_000))) child.kill('SIGKILL');
      return out.trim();
    };
    try {
      const before = await tryConnect();
      if (before !== 'connected') return false;
      this.isolate('probe', [port], [], []);
      const during = await tryConnect();
      this.heal();
      return during === 'blocked';
    } catch {
      return false;
    } finally {
      srv.close();
      try {
        this.heal();
      } catch {
        // table gone
      }
      this.removeCgroup(dir);
    }
  }

  removeCgroup(dir) {
    try {
      rmdirSync(dir);
      this.cgroups.delete(dir);
    } catch {
      // still has processes, or gone
    }
  }

  /** Deletes the table and removes the cgroups (those still holding a process stay). Safe to call twice. */
  cleanupSync() {
    nft(['delete', 'table', 'inet', this.table]);
    for (const dir of [...this.cgroups]) this.removeCgroup(dir);
    try {
      rmdirSync(this.base);
    } catch {
      // not empty or gone
    }
  }
}

/** Starts one `brook start` process for `spec` (in `spec.cgroupDir` if given); resolves once it logged "brook node started". */
function launchNode(spec) {
  const { nodeId, metadataStore, port, httpPort, dataDir, sessionTimeoutMs, logFile, cgroupDir, timeoutMs = 30_000 } = spec;
  const args = [BROOK_BIN, 'start', '--node-id', String(nodeId), '--port', String(port), '--http-port', String(httpPort), '--data-dir', dataDir, '--workers', '1'];
  args.push('--metadata-store', metadataStore, '--node-session-timeout-ms', String(sessionTimeoutMs), '--log-level', 'info');
  const opts = { stdio: ['ignore', 'pipe', 'pipe'], detached: true };
  // The shell moves itself into the cgroup, then becomes node: every socket node opens is in it.
  const proc = cgroupDir ? spawn('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroupDir, process.execPath, ...args], opts) : spawn(process.execPath, args, opts);
  const log = createWriteStream(logFile, { flags: 'a' });
  log.write(`\n=== chaos: starting node ${nodeId} at ${new Date().toISOString()} ===\n`);
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  void exited.then((e) => log.end(`\n=== chaos: node ${nodeId} exited ${JSON.stringify(e)} at ${new Date().toISOString()} ===\n`));
  const ready = nodeStarted(proc, exited, { nodeId, timeoutMs, log, where: ` (log ${logFile})` });
  return { proc, exited, ready };
}

/**
 * etcd and nodes 1..n for the fault test, in `dir` (etcd/, node-N/, logs/). Tracks every child
 * so that stopAll() and cleanupSync() end them.
 */
export class ChaosCluster {
  constructor({ dir, nodeCount = 3, sessionTimeoutMs = 2_000, net = null, log = () => {} }) {
    this.dir = dir;
    this.logs = join(dir, 'logs');
    this.nodeCount = nodeCount;
    this.sessionTimeoutMs = sessionTimeoutMs;
    this.net = net;
    this.log = log;
    this.etcd = null;
    this.etcdSpec = null;
    /** nodeId -> { spec, proc, exited, paused, expectExit } */
    this.nodes = new Map();
    /** Node exits this cluster did not cause: { node, at, code, signal }. */
    this.unexpectedExits = [];
    this.closed = false;
  }

  async start() {
    mkdirSync(this.logs, { recursive: true });
    const clientPort = await freePort();
    let peerPort = await freePort();
    while (peerPort === clientPort) peerPort = await freePort();
    this.etcdSpec = { dataDir: join(this.dir, 'etcd'), clientPort, peerPort, logFile: join(this.logs, 'etcd.log'), detached: true };
    await this.startEtcd();
    const used = new Set([clientPort, peerPort]);
    const specs = [];
    for (let id = 1; id <= this.nodeCount; id++) {
      const ports = [];
      while (ports.length < 2) {
        const p = await freePort();
        if (!used.has(p)) {
          used.add(p);
          ports.push(p);
        }
      }
      specs.push({
        nodeId: id,
        port: ports[0],
        httpPort: ports[1],
        dataDir: join(this.dir, `node-${id}`),
        logFile: join(this.logs, `node-${id}.log`),
        metadataStore: this.etcd.url,
        sessionTimeoutMs: this.sessionTimeoutMs,
        cgroupDir: this.net ? this.net.cgroup(`node-${id}`) : null,
      });
    }
    for (const s of specs) this.nodes.set(s.nodeId, { spec: s, proc: null, exited: null, paused: false });
    await Promise.all(specs.map((s) => this.startNode(s.nodeId)));
  }

  bootstraps() {
    return [...this.nodes.values()].map((n) => `127.0.0.1:${n.spec.port}`);
  }

  node(id) {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  alive(id) {
    const n = this.node(id);
    return n.proc !== null && n.proc.exitCode === null && n.proc.signalCode === null;
  }

  async startNode(id) {
    if (this.closed) throw new Error('cluster closed');
    const n = this.node(id);
    if (this.alive(id)) throw new Error(`node ${id} is running`);
    const { proc, exited, ready } = launchNode(n.spec);
    n.proc = proc;
    n.exited = exited;
    n.paused = false;
    n.expectExit = false;
    void exited.then((e) => {
      if (!n.expectExit && !this.closed && n.proc === proc) {
        const at = new Date().toISOString();
        this.unexpectedExits.push({ node: id, at, ...e });
        this.log(`node ${id} exited on its own (${JSON.stringify(e)}); see ${n.spec.logFile}`);
      }
    });
    await ready;
  }

  async kill9(id) {
    const n = this.node(id);
    if (!this.alive(id)) return;
    n.expectExit = true;
    n.proc.kill('SIGKILL');
    if (!(await exitWithin(n.exited, 10_000))) throw new Error(`node ${id} did not exit within 10 s of SIGKILL`);
    n.paused = false;
  }

  pause(id) {
    const n = this.node(id);
    if (!this.alive(id)) throw new Error(`node ${id} is not running`);
    n.proc.kill('SIGSTOP');
    n.paused = true;
  }

  resume(id) {
    const n = this.node(id);
    if (this.alive(id)) n.proc.kill('SIGCONT');
    n.paused = false;
  }

  /** Cuts node `id` off from the other nodes and from etcd (clients still reach it). */
  isolate(id) {
    if (!this.net) throw new Error('network faults are unavailable');
    const me = this.node(id).spec;
    const others = [...this.nodes.values()].filter((n) => n.spec.nodeId !== id).map((n) => n.spec);
    const remote = [this.etcdSpec.clientPort, this.etcdSpec.peerPort, ...others.flatMap((o) => [o.port, o.httpPort])];
    this.net.isolate(
      `node-${id}`,
      remote,
      others.map((o) => `node-${o.nodeId}`),
      [me.port, me.httpPort],
    );
  }

  heal() {
    this.net?.heal();
  }

  async killEtcd() {
    // By PID only while it runs: a PID that exited may belong to another process by now.
    if (!this.etcdAlive()) return;
    const e = this.etcd;
    try {
      process.kill(e.pid, 'SIGKILL');
    } catch {
      // gone already
    }
    if (!(await exitWithin(e.exited, 10_000))) throw new Error('etcd did not exit within 10 s of SIGKILL');
  }

  async startEtcd() {
    if (this.closed) throw new Error('cluster closed');
    const e = await startEtcd(this.etcdSpec);
    e.gone = false;
    void e.exited.then(() => (e.gone = true));
    this.etcd = e;
  }

  etcdAlive() {
    return this.etcd !== null && !this.etcd.gone;
  }

  /** Heals the network, resumes paused nodes, restarts etcd and dead nodes. */
  async reviveAll() {
    this.heal();
    for (const [id, n] of this.nodes) if (n.paused) this.resume(id);
    if (!this.etcdAlive()) await this.startEtcd();
    for (const id of this.nodes.keys()) if (!this.alive(id)) await this.startNode(id);
  }

  /** SIGTERM every node (controlled shutdown), SIGKILL after `graceMs`; then etcd. */
  async stopAll(graceMs = 20_000) {
    this.heal();
    await Promise.all(
      [...this.nodes.entries()].map(async ([id, n]) => {
        if (!this.alive(id)) return;
        n.expectExit = true;
        n.proc.kill('SIGCONT');
        n.proc.kill('SIGTERM');
        if (await exitWithin(n.exited, graceMs)) return;
        this.log(`node ${id} did not stop within ${graceMs} ms of SIGTERM; SIGKILL`);
        n.proc.kill('SIGKILL');
        await exitWithin(n.exited, 10_000);
      }),
    );
    if (this.etcd) await this.etcd.stop(5_000);
  }

  /** For process 'exit': SIGKILL every child still running, delete the nftables table, remove the cgroups. */
  cleanupSync() {
    this.closed = true;
    for (const [id, n] of this.nodes) {
      if (!this.alive(id)) continue;
      try {
        n.proc.kill('SIGKILL');
        n.proc.kill('SIGCONT');
      } catch {
        // gone
      }
    }
    if (this.etcdAlive()) {
      try {
        process.kill(this.etcd.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (this.net) {
      // Killed processes leave their cgroups within moments; wait briefly so the dirs can go.
      const until = Date.now() + 2_000;
      while ([...this.nodes.values()].some((n) => n.spec.cgroupDir && cgroupBusy(n.spec.cgroupDir)) && Date.now() < until) spawnSync('sleep', ['0.05']);
      this.net.cleanupSync();
    }
  }
}

function cgroupBusy(dir) {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() !== '';
  } catch {
    return false;
  }
}
