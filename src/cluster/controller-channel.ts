/**
 * ControllerChannel: how a node that is not the controller has the controller make a metadata
 * change (main thread; a cluster view). As Kafka's brokers forward CreateTopics, DeleteTopics,
 * CreatePartitions and the config alters to the active controller, this node sends the same
 * request over the Kafka protocol to the controller's advertised listener, with Brook's own
 * client connection (one, reopened when it dies), and relays the answer. Producer-id blocks
 * come the same way (AllocateProducerIds, api 67), and so do partition reassignments
 * (AlterPartitionReassignments, api 45) and leader elections (ElectLeaders, api 43).
 *
 * Forwarded requests carry the client id FORWARDED_CLIENT_ID, so a node that receives one and
 * is not (or no longer) the controller answers NOT_CONTROLLER instead of forwarding again.
 */
import { Connection } from '../client/connection.js';
import { errorName } from '../protocol/errors.js';
import type { ConfigResourceType } from './metadata-records.js';
import type { PartitionImage } from './metadata-image.js';

export const FORWARDED_CLIENT_ID = 'brook-controller-forward';

/** A Kafka error as the controller answered it. */
export interface ForwardedError {
  readonly error: string;
  readonly message: string;
}

export interface ForwardTarget {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

const RESOURCE_TYPE: Record<ConfigResourceType, number> = { topic: 2, broker: 4 };
const OP_SET = 0;
const OP_DELETE = 1;

/** A leader's proposed ISR for one partition (AlterPartition). */
export interface IsrChange {
  readonly topicId: string;
  readonly partition: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly isr: readonly number[];
}

export class ControllerChannel {
  private conn: { target: ForwardTarget; open: Promise<Connection> } | undefined;

  constructor(
    private readonly nodeId: number,
    private readonly requestTimeoutMs: number,
  ) {}

  async createTopic(
    to: ForwardTarget,
    t: {
      name: string;
      numPartitions: number;
      replicationFactor: number;
      assignments?: readonly { partitionIndex: number; brokerIds: readonly number[] }[];
      configs?: readonly { name: string; value: string | null }[];
    },
    validateOnly: boolean,
  ): Promise<ForwardedError | undefined> {
    const res = await this.send(to, (c) =>
      c.request(19, {
        topics: [
          {
            name: t.name,
            numPartitions: t.numPartitions,
            replicationFactor: t.replicationFactor,
            assignments: (t.assignments ?? []).map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: [...a.brokerIds] })),
            configs: (t.configs ?? []).map((c) => ({ name: c.name, value: c.value })),
          },
        ],
        timeoutMs: this.requestTimeoutMs,
        validateOnly,
      }),
    );
    const r = res.topics[0];
    return r ? failure(r.errorCode, r.errorMessage) : { error: 'UNKNOWN_SERVER_ERROR', message: 'the controller answered CreateTopics without the topic' };
  }

  async deleteTopic(to: ForwardTarget, name: string): Promise<ForwardedError | undefined> {
    const res = await this.send(to, (c) =>
      c.request(20, (v) =>
        v >= 6 ? { topics: [{ name, topicId: ZERO_UUID }], topicNames: [], timeoutMs: this.requestTimeoutMs } : { topicNames: [name], timeoutMs: this.requestTimeoutMs },
      ),
    );
    const r = res.responses[0];
    return r ? failure(r.errorCode, r.errorMessage) : { error: 'UNKNOWN_SERVER_ERROR', message: 'the controller answered DeleteTopics without the topic' };
  }

  async createPartitions(
    to: ForwardTarget,
    name: string,
    count: number,
    assignments: readonly (readonly number[])[] | null,
    validateOnly: boolean,
  ): Promise<ForwardedError | undefined> {
    const res = await this.send(to, (c) =>
      c.request(37, {
        topics: [{ name, count, assignments: assignments ? assignments.map((a) => ({ brokerIds: [...a] })) : null }],
        timeoutMs: this.requestTimeoutMs,
        validateOnly,
      }),
    );
    const r = res.results[0];
    return r ? failure(r.errorCode, r.errorMessage) : { error: 'UNKNOWN_SERVER_ERROR', message: 'the controller answered CreatePartitions without the topic' };
  }

  async alterConfigs(
    to: ForwardTarget,
    resourceType: ConfigResourceType,
    resourceName: string,
    changes: readonly { readonly name: string; readonly value: string | null }[],
    mode: 'replace' | 'incremental',
    validateOnly: boolean,
  ): Promise<ForwardedError | undefined> {
    const type = RESOURCE_TYPE[resourceType];
    const res =
      mode === 'incremental'
        ? await this.send(to, (c) =>
            c.request(44, {
              resources: [
                { resourceType: type, resourceName, configs: changes.map((x) => ({ name: x.name, configOperation: x.value === null ? OP_DELETE : OP_SET, value: x.value })) },
              ],
              validateOnly,
            }),
          )
        : await this.send(to, (c) =>
            c.request(33, { resources: [{ resourceType: type, resourceName, configs: changes.map((x) => ({ name: x.name, value: x.value })) }], validateOnly }),
          );
    const r = res.responses[0];
    return r ? failure(r.errorCode, r.errorMessage) : { error: 'UNKNOWN_SERVER_ERROR', message: 'the controller answered without the resource' };
  }

  /** A leader's ISR change, applied by the controller: the partition as it now is, or why not. */
  async alterPartition(to: ForwardTarget, c: IsrChange): Promise<ForwardedError | PartitionImage> {
    const res = await this.send(to, (conn) =>
      conn.request(56, {
        brokerId: this.nodeId,
        brokerEpoch: -1,
        topics: [
          {
            topicName: '',
            topicId: c.topicId,
            partitions: [
              {
                partitionIndex: c.partition,
                leaderEpoch: c.leaderEpoch,
                newIsr: [...c.isr],
                newIsrWithEpochs: c.isr.map((brokerId) => ({ brokerId, brokerEpoch: -1 })),
                leaderRecoveryState: 0,
                partitionEpoch: c.partitionEpoch,
              },
            ],
          },
        ],
      }),
    );
    const p = res.topics[0]?.partitions[0];
    if (!p) return failure(res.errorCode, null) ?? { error: 'UNKNOWN_SERVER_ERROR', message: 'the controller answered AlterPartition without the partition' };
    return (
      failure(p.errorCode, null) ?? {
        partition: p.partitionIndex,
        leader: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        isr: p.isr,
        replicas: [],
        partitionEpoch: p.partitionEpoch,
      }
    );
  }

  /** Reassignments started (target replicas) or cancelled (null) by the controller: each partition's outcome. */
  async alterPartitionReassignments(
    to: ForwardTarget,
    changes: readonly { readonly topic: string; readonly partition: number; readonly replicas: readonly number[] | null }[],
  ): Promise<ForwardedError | PartitionOutcome[]> {
    const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
    for (const c of changes) {
      const list = byTopic.get(c.topic) ?? [];
      list.push({ partitionIndex: c.partition, replicas: c.replicas === null ? null : [...c.replicas] });
      byTopic.set(c.topic, list);
    }
    const res = await this.send(to, (c) =>
      c.request(45, { timeoutMs: this.requestTimeoutMs, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) }, { timeoutMs: 2 * this.requestTimeoutMs }),
    );
    const top = failure(res.errorCode, res.errorMessage);
    if (top) return top;
    return res.responses.flatMap((t) => t.partitions.map((p) => outcome(t.name, p.partitionIndex, p.errorCode, p.errorMessage)));
  }

  /** A preferred or unclean election by the controller (null: every partition): each partition's outcome. */
  async electLeaders(
    to: ForwardTarget,
    type: 'preferred' | 'unclean',
    partitions: readonly { readonly topic: string; readonly partitions: readonly number[] }[] | null,
  ): Promise<ForwardedError | PartitionOutcome[]> {
    const res = await this.send(to, (c) =>
      c.request(
        43,
        {
          electionType: type === 'preferred' ? 0 : 1,
          topicPartitions: partitions === null ? null : partitions.map((p) => ({ topic: p.topic, partitions: [...p.partitions] })),
          timeoutMs: this.requestTimeoutMs,
        },
        { timeoutMs: 2 * this.requestTimeoutMs },
      ),
    );
    const top = failure(res.errorCode, null);
    if (top) return top;
    return res.replicaElectionResults.flatMap((t) => t.partitionResult.map((p) => outcome(t.topic, p.partitionId, p.errorCode, p.errorMessage)));
  }

  /** A block of producer ids from the controller: [start, start + length). */
  async allocateProducerIds(to: ForwardTarget): Promise<ForwardedError | { start: number; length: number }> {
    const res = await this.send(to, (c) => c.request(67, { brokerId: this.nodeId, brokerEpoch: -1 }));
    return failure(res.errorCode, null) ?? { start: res.producerIdStart, length: res.producerIdLen };
  }

  close(): void {
    const open = this.conn?.open;
    this.conn = undefined;
    open?.then(
      (c) => c.destroy(),
      () => undefined,
    );
  }

  private async send<R>(to: ForwardTarget, call: (c: Connection) => Promise<R>): Promise<R> {
    const c = await this.connection(to);
    return call(c);
  }

  private connection(to: ForwardTarget): Promise<Connection> {
    const cur = this.conn;
    if (cur && cur.target.nodeId === to.nodeId && cur.target.host === to.host && cur.target.port === to.port) {
      return cur.open.then((c) => (c.isDead ? this.reopen(to) : c));
    }
    return this.reopen(to);
  }

  private reopen(to: ForwardTarget): Promise<Connection> {
    this.close();
    const open = Connection.open({
      host: to.host,
      port: to.port,
      clientId: FORWARDED_CLIENT_ID,
      connectTimeoutMs: Math.min(5_000, this.requestTimeoutMs),
      requestTimeoutMs: this.requestTimeoutMs,
    });
    const entry = { target: to, open };
    this.conn = entry;
    open.catch(() => {
      if (this.conn === entry) this.conn = undefined;
    });
    return open;
  }
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** One partition's outcome as the controller answered it. */
export interface PartitionOutcome {
  readonly topic: string;
  readonly partition: number;
  readonly error?: ForwardedError;
}

function outcome(topic: string, partition: number, code: number, message: string | null): PartitionOutcome {
  const error = failure(code, message);
  return error ? { topic, partition, error } : { topic, partition };
}

function failure(code: number, message: string | null): ForwardedError | undefined {
  if (code === 0) return undefined;
  const name = errorName(code) ?? 'UNKNOWN_SERVER_ERROR';
  return { error: name, message: message ?? name };
}
