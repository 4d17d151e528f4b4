#!/usr/bin/env node
// Consumer groups through the Kafka listener of a node started as a child process:
// 1. Rebalance: a 10-member group (each member its own connection, thin client, JoinGroup v9 /
//    SyncGroup v5, heartbeats every --heartbeat-ms) loses one member (LeaveGroup) and gets it
//    back; measured is the time from the returning member's first JoinGroup to the group being
//    Stable again (its SyncGroup answered, which happens when the leader's assignment lands).
//    The other members notice the rebalance through a heartbeat, so the figure includes up to
//    one heartbeat interval; it is printed beside it.
// 2. OffsetCommit v8 requests/s: pipelined commits (1 and 10 partitions per request) from
//    several connections, to one group (one coordinator actor) and to 16 groups.
// Run after `npm run build`: node bench/groups.mjs [--rounds 20] [--seconds 3] [--heartbeat-ms 50]
import { parseArgs } from 'node:util';
import { startNodeProcess } from './lib/node-process.mjs';
import { ThinClient } from './lib/thin-client.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '3' },
    'heartbeat-ms': { type: 'string', default: '50' },
    workers: { type: 'string', default: '2' },
    connections: { type: 'string', default: '4' },
    'in-flight': { type: 'string', default: '32' },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const heartbeatMs = Number(values['heartbeat-ms']);
const MEMBER_ID_REQUIRED = 79;
const REBALANCE_IN_PROGRESS = 27;

function pct(samples, q) {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** A minimal classic-protocol member: join (with KIP-394's member id round), sync, heartbeat, rejoin on REBALANCE_IN_PROGRESS. */
class Member {
  constructor(client, groupId, name) {
    this.client = client;
    this.groupId = groupId;
    this.name = name;
    this.memberId = '';
    this.generationId = -1;
    this.joining = null;
    this.stopped = false;
  }

  join() {
    this.joining ??= this.doJoin().finally(() => (this.joining = null));
    return this.joining;
  }

  async doJoin() {
    for (;;) {
      const j = await this.client.request(11, 9, {
        groupId: this.groupId,
        sessionTimeoutMs: 30_000,
        rebalanceTimeoutMs: 30_000,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.from(this.name) }],
        reason: null,
      });
      if (j.errorCode === MEMBER_ID_REQUIRED) {
        this.memberId = j.memberId;
        continue;
      }
      if (j.errorCode !== 0) throw new Error(`${this.name}: JoinGroup error ${j.errorCode}`);
      this.generationId = j.generationId;
      const assignments = j.leader === this.memberId ? j.members.map((m) => ({ memberId: m.memberId, assignment: Buffer.from('a') })) : [];
      const s = await this.client.request(14, 5, {
        groupId: this.groupId,
        generationId: j.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: j.protocolName,
        assignments,
      });
      if (s.errorCode === REBALANCE_IN_PROGRESS) continue;
      if (s.errorCode !== 0) throw new Error(`${this.name}: SyncGroup error ${s.errorCode}`);
      return;
    }
  }

  startHeartbeats() {
    const beat = async () => {
      if (this.stopped) return;
      if (!this.joining && this.generationId >= 0) {
        const h = await this.client.request(12, 4, { groupId: this.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: null });
        if (h.errorCode === REBALANCE_IN_PROGRESS) await this.join();
      }
      this.timer = setTimeout(beat, heartbeatMs);
    };
    this.timer = setTimeout(beat, heartbeatMs);
  }

  async leave() {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.client.request(13, 5, { groupId: this.groupId, members: [{ memberId: this.memberId, groupInstanceId: null, reason: null }] });
    this.memberId = '';
    this.generationId = -1;
    this.stopped = false;
  }
}

async function describeState(client, groupId) {
  const d = await client.request(15, 5, { groups: [groupId], includeAuthorizedOperations: false });
  return { state: d.groups[0].groupState, members: d.groups[0].members.length };
}

async function waitStable(client, groupId, members) {
  for (let i = 0; i < 600; i++) {
    const s = await describeState(client, groupId);
    if (s.state === 'Stable' && s.members === members) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`group ${groupId} did not become Stable with ${members} members`);
}

async function rebalanceBench(broker) {
  const groupId = 'bench-rebalance';
  const admin = await ThinClient.connect(broker.host, broker.port);
  const members = [];
  for (let i = 0; i < 10; i++) members.push(new Member(await ThinClient.connect(broker.host, broker.port), groupId, `m${i}`));
  // Form the group: everyone joins together and heartbeats as soon as it is in.
  await Promise.all(
    members.map(async (m) => {
      await m.join();
      m.startHeartbeats();
    }),
  );
  await waitStable(admin, groupId, 10);
  const samples = [];
  const returning = members[9];
  for (let r = 0; r < rounds; r++) {
    await returning.leave();
    await waitStable(admin, groupId, 9);
    const t0 = performance.now();
    await returning.join();
    samples.push(performance.now() - t0);
    returning.startHeartbeats();
    await waitStable(admin, groupId, 10);
  }
  for (const m of members) {
    m.stopped = true;
    clearTimeout(m.timer);
  }
  for (const m of members) m.client.close();
  admin.close();
  return { p50: +pct(samples, 0.5).toFixed(1), p99: +pct(samples, 0.99).toFixed(1), min: +Math.min(...samples).toFixed(1), rounds };
}

async function commitBench(broker, { groups, partitionsPerRequest }) {
  const topic = 'bench-commits';
  const connections = Number(values.connections);
  const inFlight = Number(values['in-flight']);
  const clients = [];
  for (let i = 0; i < connections; i++) clients.push(await ThinClient.connect(broker.host, broker.port));
  await clients[0].request(19, 5, { topics: [{ name: topic, numPartitions: 10, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
  let requests = 0;
  let errors = 0;
  let offset = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    clients.flatMap((c, ci) =>
      Array.from({ length: inFlight }, async (_, k) => {
        const groupId = `bench-commit-${(ci * inFlight + k) % groups}`;
        while (performance.now() < until) {
          const partitions = Array.from({ length: partitionsPerRequest }, (_, p) => ({
            partitionIndex: p,
            committedOffset: ++offset,
            committedLeaderEpoch: -1,
            committedMetadata: null,
          }));
          const r = await c.request(8, 8, { groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: topic, partitions }] });
          if (r.topics[0].partitions.some((p) => p.errorCode !== 0)) errors++;
          requests++;
        }
      }),
    ),
  );
  const ms = performance.now() - started;
  for (const c of clients) c.close();
  return { groups, partitionsPerRequest, requestsPerSec: Math.round(requests / (ms / 1000)), offsetsPerSec: Math.round((requests * partitionsPerRequest) / (ms / 1000)), errors };
}

const broker = await startNodeProcess({ workers: Number(values.workers), extraArgs: ['--group-initial-rebalance-delay-ms', '0'] });
try {
  const rebalance = await rebalanceBench(broker);
  console.log(`\nRebalance of a 10-member group (member joins -> Stable), heartbeat every ${heartbeatMs} ms, ${rebalance.rounds} rounds:`);
  console.table([{ 'p50 ms': rebalance.p50, 'p99 ms': rebalance.p99, 'min ms': rebalance.min }]);
  const rows = [];
  for (const w of [
    { groups: 1, partitionsPerRequest: 1 },
    { groups: 1, partitionsPerRequest: 10 },
    { groups: 16, partitionsPerRequest: 1 },
  ]) {
    rows.push(await commitBench(broker, w));
  }
  console.log(`\nOffsetCommit v8, ${values.connections} connections x ${values['in-flight']} in flight, ${seconds} s each:`);
  console.table(rows);
} finally {
  await broker.stop();
}
