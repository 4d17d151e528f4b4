/**
 * Metadata 0-12 and DescribeCluster 0-1: brokers, controller and topics with their partitions'
 * leaders, replicas and ISR, from the metadata image. Unknown topics are created when the request
 * allows it and auto.create.topics.enable is on, as Kafka does.
 */
import type { TopicImage } from '../../cluster/metadata-image.js';
import { errorCode, type KafkaErrorName } from '../../protocol/errors.js';
import type { MetadataResponseInput } from '../../protocol/messages/metadata.js';
import { handler, type RequestContext } from '../context.js';

/** Kafka's "not requested" value for authorized-operations fields. */
const OPS_NOT_REQUESTED = -2147483648;
/** Without ACLs every operation is allowed: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11. */
const TOPIC_OPS_ALL = [3, 4, 5, 6, 7, 8, 10, 11].reduce((bits, op) => bits | (1 << op), 0);
/** CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12. */
const CLUSTER_OPS_ALL = [5, 7, 8, 9, 10, 11, 12].reduce((bits, op) => bits | (1 << op), 0);
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** The nodes serving clients now (live in the metadata store), as Metadata and DescribeCluster list them. */
export function brokersOf(ctx: RequestContext): { nodeId: number; host: string; port: number; rack: string | null }[] {
  return ctx.broker.controller.liveNodes().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }));
}

/** A topic's partitions as Metadata shows them: an offline partition (leader -1) is LEADER_NOT_AVAILABLE, replicas on dead nodes offline. */
export function topicMetadata(t: TopicImage, includeOps: boolean, live: ReadonlySet<number>): MetadataResponseInput.MetadataResponseTopic {
  return {
    errorCode: 0,
    name: t.name,
    topicId: t.topicId,
    isInternal: t.name.startsWith('__'),
    partitions: t.partitions.map((p) => ({
      errorCode: p.leader < 0 ? errorCode('LEADER_NOT_AVAILABLE') : 0,
      partitionIndex: p.partition,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      offlineReplicas: p.replicas.filter((r) => !live.has(r)),
    })),
    topicAuthorizedOperations: includeOps ? TOPIC_OPS_ALL : OPS_NOT_REQUESTED,
  };
}

function topicError(name: string | null, topicId: string, error: KafkaErrorName): MetadataResponseInput.MetadataResponseTopic {
  return { errorCode: errorCode(error), name, topicId, isInternal: false, partitions: [] };
}

export const metadata = handler(3, 0, 12, async (ctx, req) => {
  const { image } = ctx.broker.controller;
  const brokers = brokersOf(ctx);
  const live = new Set(brokers.map((b) => b.nodeId));
  const version = ctx.header.apiVersion;
  const includeOps = req.includeTopicAuthorizedOperations;
  // v0 cannot say null: an empty list there means every topic.
  const all = req.topics === null || (version === 0 && req.topics.length === 0);
  const topics: MetadataResponseInput.MetadataResponseTopic[] = [];
  if (all) {
    for (const t of image.topicsByName.values()) topics.push(topicMetadata(t, includeOps, live));
  } else {
    for (const wanted of req.topics!) {
      // From v10 a topic may be named by id, its name null (or empty, from some clients). Before
      // v10 there are no ids and an empty name is a name, which topic creation refuses. The name
      // is echoed as sent: a null in v10-11, whose answer has no null name, is answered with
      // INVALID_REQUEST by the connection (Connection.encode), as Kafka does.
      if (wanted.name === null || (wanted.name === '' && version >= 10)) {
        const t = image.topicsById.get(wanted.topicId);
        topics.push(t ? topicMetadata(t, includeOps, live) : topicError(wanted.name, wanted.topicId, 'UNKNOWN_TOPIC_ID'));
        continue;
      }
      topics.push(await namedTopic(ctx, wanted.name, version < 4 || req.allowAutoTopicCreation, includeOps, live));
    }
  }
  return {
    throttleTimeMs: 0,
    brokers,
    clusterId: image.clusterId,
    controllerId: ctx.broker.controller.controllerId,
    topics,
    clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_OPS_ALL : OPS_NOT_REQUESTED,
  };
});

async function namedTopic(
  ctx: RequestContext,
  name: string,
  allowCreate: boolean,
  includeOps: boolean,
  live: ReadonlySet<number>,
): Promise<MetadataResponseInput.MetadataResponseTopic> {
  const { controller, config } = ctx.broker;
  const known = controller.image.topicsByName.get(name);
  if (known) return topicMetadata(known, includeOps, live);
  if (!allowCreate || !config.autoCreateTopics) return topicError(name, ZERO_UUID, 'UNKNOWN_TOPIC_OR_PARTITION');
  // Created by the controller (forwarded there from any other node), as Kafka does.
  const created = await controller.createTopic({ name, numPartitions: -1, replicationFactor: -1 }, false, { clientId: ctx.header.clientId ?? undefined });
  if ('error' in created) {
    // Another request may have created it meanwhile; anything else is the creation's own error.
    const now = controller.image.topicsByName.get(name);
    if (now) return topicMetadata(now, includeOps, live);
    if (created.error === 'INVALID_TOPIC_EXCEPTION') return topicError(name, ZERO_UUID, 'INVALID_TOPIC_EXCEPTION');
    // A controller that cannot be reached now: retriable, so clients ask again.
    return topicError(name, ZERO_UUID, created.error === 'NOT_CONTROLLER' || created.error === 'REQUEST_TIMED_OUT' ? 'LEADER_NOT_AVAILABLE' : 'UNKNOWN_TOPIC_OR_PARTITION');
  }
  ctx.broker.log.info({ topic: name, partitions: created.partitions.length }, 'topic auto-created');
  return topicMetadata(created, includeOps, live);
}

export const describeCluster = handler(60, 0, 1, (ctx, req) => ({
  throttleTimeMs: 0,
  errorCode: 0,
  errorMessage: null,
  endpointType: 1,
  clusterId: ctx.broker.controller.image.clusterId,
  controllerId: ctx.broker.controller.controllerId,
  brokers: brokersOf(ctx).map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
  clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_OPS_ALL : OPS_NOT_REQUESTED,
}));
