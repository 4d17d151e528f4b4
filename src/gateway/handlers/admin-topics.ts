/**
 * CreateTopics 2-7, DeleteTopics 1-6 and CreatePartitions 0-3: each topic of a request is one
 * controller call, served in request order; one topic's failure is its own error code and does
 * not stop the others. Any node takes them: a node that is not the controller forwards each to
 * it. The answer goes out once this node has applied the change (and, where it leads a new
 * partition, started its actor).
 */
import type { NewTopic } from '../../cluster/controller.js';
import type { TopicImage } from '../../cluster/metadata-image.js';
import { errorCode, type KafkaErrorName } from '../../protocol/errors.js';
import type { CreateTopicsRequest, CreateTopicsResponseInput } from '../../protocol/messages/create-topics.js';
import type { DeleteTopicsRequest, DeleteTopicsResponseInput } from '../../protocol/messages/delete-topics.js';
import type { CreatePartitionsRequest, CreatePartitionsResponseInput } from '../../protocol/messages/create-partitions.js';
import { handler, type RequestContext } from '../context.js';
import { callerOf, codeOf, topicConfigEntries } from './admin-configs.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

type CreatableTopicResult = CreateTopicsResponseInput.CreatableTopicResult;
type DeletableTopicResult = DeleteTopicsResponseInput.DeletableTopicResult;
type CreatePartitionsResult = CreatePartitionsResponseInput.CreatePartitionsTopicResult;

/** Names given more than once in one request; Kafka answers each of their entries INVALID_REQUEST. */
function duplicateNames(names: readonly string[]): Set<string> {
  return new Set(names.filter((n, i) => names.indexOf(n) !== i));
}

// ---------------------------------------------------------------------------------------------
// CreateTopics.

export const createTopics = handler(19, 2, 7, async (ctx, req) => {
  const twice = duplicateNames(req.topics.map((t) => t.name));
  const topics: CreatableTopicResult[] = [];
  for (const t of req.topics) {
    topics.push(twice.has(t.name) ? createFailed(t.name, 'INVALID_REQUEST', `topic '${t.name}' appears more than once in the request`) : await createOne(ctx, t, req.validateOnly));
  }
  return { throttleTimeMs: 0, topics };
});

function createFailed(name: string, error: string, message: string): CreatableTopicResult {
  return { name, topicId: ZERO_UUID, errorCode: codeOf(error), errorMessage: message, numPartitions: -1, replicationFactor: -1, configs: [] };
}

async function createOne(ctx: RequestContext, t: CreateTopicsRequest.CreatableTopic, validateOnly: boolean): Promise<CreatableTopicResult> {
  const wanted: NewTopic = {
    name: t.name,
    numPartitions: t.numPartitions,
    replicationFactor: t.replicationFactor,
    assignments: t.assignments,
    configs: t.configs,
  };
  const created = await ctx.broker.controller.createTopic(wanted, validateOnly, callerOf(ctx));
  if ('error' in created) return createFailed(t.name, created.error, created.message);
  if (!validateOnly) ctx.broker.log.info({ topic: t.name, partitions: created.partitions.length }, 'topic created');
  // A validated-only topic has no partitions or configs in the image; report what it would get.
  const shape = validateOnly ? plannedShape(ctx, t) : actualShape(created);
  const overrides = validateOnly ? requestedConfigs(t) : created.configs;
  return {
    name: t.name,
    topicId: validateOnly ? ZERO_UUID : created.topicId,
    errorCode: 0,
    errorMessage: null,
    ...shape,
    configs: topicConfigEntries(ctx, overrides, { synonyms: false, documentation: false }).map((c) => ({
      name: c.name,
      value: c.value,
      readOnly: c.readOnly,
      configSource: c.configSource,
      isSensitive: c.isSensitive,
    })),
  };
}

function actualShape(topic: TopicImage): { numPartitions: number; replicationFactor: number } {
  return { numPartitions: topic.partitions.length, replicationFactor: topic.partitions[0]?.replicas.length ?? 0 };
}

function plannedShape(ctx: RequestContext, t: CreateTopicsRequest.CreatableTopic): { numPartitions: number; replicationFactor: number } {
  if (t.assignments.length > 0) return { numPartitions: t.assignments.length, replicationFactor: t.assignments[0]!.brokerIds.length };
  const { config } = ctx.broker;
  return {
    numPartitions: t.numPartitions === -1 ? config.numPartitions : t.numPartitions,
    replicationFactor: t.replicationFactor === -1 ? config.defaultReplicationFactor : t.replicationFactor,
  };
}

function requestedConfigs(t: CreateTopicsRequest.CreatableTopic): Map<string, string> {
  return new Map(t.configs.filter((c) => c.value !== null).map((c) => [c.name, c.value!]));
}

// ---------------------------------------------------------------------------------------------
// DeleteTopics.

export const deleteTopics = handler(20, 1, 6, async (ctx, req) => {
  // v6 names each topic by name or by id; earlier versions send names only.
  const wanted: DeleteTopicsRequest.DeleteTopicState[] = ctx.header.apiVersion >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
  const responses: DeletableTopicResult[] = [];
  for (const w of wanted) responses.push(await deleteOne(ctx, w));
  return { throttleTimeMs: 0, responses };
});

function deleteFailed(name: string | null, topicId: string, error: KafkaErrorName, message: string): DeletableTopicResult {
  return { name, topicId, errorCode: errorCode(error), errorMessage: message };
}

async function deleteOne(ctx: RequestContext, w: DeleteTopicsRequest.DeleteTopicState): Promise<DeletableTopicResult> {
  const byName = w.name !== null && w.name !== '';
  if (byName && w.topicId !== ZERO_UUID) {
    return deleteFailed(w.name, w.topicId, 'INVALID_REQUEST', 'give a topic name or a topic id, not both');
  }
  const name = byName ? w.name! : ctx.broker.controller.image.topicsById.get(w.topicId)?.name;
  if (name === undefined) return deleteFailed(null, w.topicId, 'UNKNOWN_TOPIC_ID', `no topic has id ${w.topicId}`);
  const deleted = await ctx.broker.controller.deleteTopic(name, callerOf(ctx));
  if ('error' in deleted) return { name, topicId: w.topicId, errorCode: codeOf(deleted.error), errorMessage: deleted.message };
  ctx.broker.log.info({ topic: name, topicId: deleted.topicId }, 'topic deleted');
  return { name, topicId: deleted.topicId, errorCode: 0, errorMessage: null };
}

// ---------------------------------------------------------------------------------------------
// CreatePartitions.

export const createPartitions = handler(37, 0, 3, async (ctx, req) => {
  const twice = duplicateNames(req.topics.map((t) => t.name));
  const results: CreatePartitionsResult[] = [];
  for (const t of req.topics) {
    results.push(
      twice.has(t.name)
        ? { name: t.name, errorCode: errorCode('INVALID_REQUEST'), errorMessage: `topic '${t.name}' appears more than once in the request` }
        : await growOne(ctx, t, req.validateOnly),
    );
  }
  return { throttleTimeMs: 0, results };
});

async function growOne(ctx: RequestContext, t: CreatePartitionsRequest.CreatePartitionsTopic, validateOnly: boolean): Promise<CreatePartitionsResult> {
  const assignments = t.assignments?.map((a) => a.brokerIds) ?? null;
  const grown = await ctx.broker.controller.createPartitions(t.name, t.count, assignments, validateOnly, callerOf(ctx));
  if ('error' in grown) return { name: t.name, errorCode: codeOf(grown.error), errorMessage: grown.message };
  if (!validateOnly) ctx.broker.log.info({ topic: t.name, partitions: t.count }, 'partitions created');
  return { name: t.name, errorCode: 0, errorMessage: null };
}
