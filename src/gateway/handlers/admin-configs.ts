/**
 * DescribeConfigs 1-4, AlterConfigs 0-2 and IncrementalAlterConfigs 0-1 for topics (resource
 * type 2) and brokers (type 4, named by this node's id, or '' for the cluster-wide defaults).
 * Values and sources follow Kafka's precedence: a topic override, then this broker's dynamic
 * value, then the cluster-wide dynamic default, then the built-in default. The controller
 * validates every change; these handlers only shape requests into its calls and back.
 */
import type { CallerOptions, ControllerError } from '../../cluster/controller.js';
import type { MetadataImage } from '../../cluster/metadata-image.js';
import type { ConfigResourceType } from '../../cluster/metadata-records.js';
import {
  ConfigSource,
  ConfigType,
  topicConfigByBrokerName,
  topicConfigByName,
  topicConfigDefs,
  validateBrokerConfig,
  validateTopicConfig,
  type TopicConfigDef,
} from '../../cluster/topic-configs.js';
import type { NodeConfig } from '../../config.js';
import { errorCode, type KafkaErrorName } from '../../protocol/errors.js';
import type { DescribeConfigsRequest } from '../../protocol/messages/describe-configs.js';
import type { DescribeConfigsResponseInput } from '../../protocol/messages/describe-configs.js';
import type { IncrementalAlterConfigsRequest } from '../../protocol/messages/incremental-alter-configs.js';
import { handler, type RequestContext } from '../context.js';

/** Kafka's ConfigResource.Type codes that Brook serves. */
const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
/** IncrementalAlterConfigs operations (Kafka's AlterConfigOp.OpType). */
const OP_SET = 0;
const OP_DELETE = 1;
const OP_APPEND = 2;
const OP_SUBTRACT = 3;

type ConfigEntry = DescribeConfigsResponseInput.DescribeConfigsResourceResult;
type Synonym = DescribeConfigsResponseInput.DescribeConfigsSynonym;
type ResourceResult = DescribeConfigsResponseInput.DescribeConfigsResult;

/** A resource-level failure: the Kafka error name and why. */
interface Failure {
  readonly error: KafkaErrorName;
  readonly message: string;
}

export function codeOf(error: string): number {
  return errorCode(error as KafkaErrorName);
}

function resourceTypeOf(code: number): ConfigResourceType | undefined {
  if (code === RESOURCE_TOPIC) return 'topic';
  if (code === RESOURCE_BROKER) return 'broker';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Resolving values and their sources.

/** Where a broker-level value comes from: this broker's dynamic value, the cluster default, the built-in default. */
function brokerChain(def: TopicConfigDef, image: MetadataImage, nodeId: number): Synonym[] {
  const chain: Synonym[] = [];
  const own = image.brokerConfigs.get(String(nodeId))?.get(def.brokerName);
  if (own !== undefined) chain.push({ name: def.brokerName, value: own, source: ConfigSource.DYNAMIC_BROKER_CONFIG });
  const clusterDefault = image.brokerConfigs.get('')?.get(def.brokerName);
  if (clusterDefault !== undefined) {
    chain.push({ name: def.brokerName, value: clusterDefault, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
  }
  chain.push({ name: def.brokerName, value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
  return chain;
}

/** A topic config's precedence chain, most specific first (Kafka's synonym order). */
function topicChain(def: TopicConfigDef, overrides: ReadonlyMap<string, string>, image: MetadataImage, nodeId: number): Synonym[] {
  const own = overrides.get(def.name);
  const chain = brokerChain(def, image, nodeId);
  return own === undefined ? chain : [{ name: def.name, value: own, source: ConfigSource.TOPIC_CONFIG }, ...chain];
}

interface EntryOptions {
  readonly synonyms: boolean;
  readonly documentation: boolean;
}

function entryOf(name: string, chain: Synonym[], type: number, doc: string, readOnly: boolean, opts: EntryOptions): ConfigEntry {
  const effective = chain[0]!;
  return {
    name,
    value: effective.value,
    readOnly,
    isDefault: effective.source === ConfigSource.DEFAULT_CONFIG,
    configSource: effective.source,
    isSensitive: false,
    synonyms: opts.synonyms ? chain : [],
    configType: type,
    documentation: opts.documentation ? doc : null,
  };
}

/** Every topic config of a topic with the given overrides, as CreateTopics v5+ and DescribeConfigs list them. */
export function topicConfigEntries(ctx: RequestContext, overrides: ReadonlyMap<string, string>, opts: EntryOptions): ConfigEntry[] {
  const { image } = ctx.broker.controller;
  const nodeId = ctx.broker.config.nodeId;
  return topicConfigDefs.map((def) => entryOf(def.name, topicChain(def, overrides, image, nodeId), def.type, def.doc, false, opts));
}

/** Settings fixed at start that Kafka also reports, read-only, for a broker. */
function staticBrokerSettings(config: NodeConfig): { name: string; value: string; type: number; doc: string }[] {
  return [
    { name: 'node.id', value: String(config.nodeId), type: ConfigType.INT, doc: "this node's id in the cluster" },
    { name: 'broker.id', value: String(config.nodeId), type: ConfigType.INT, doc: "this node's id in the cluster (the older name)" },
    { name: 'num.partitions', value: String(config.numPartitions), type: ConfigType.INT, doc: 'partitions of a topic created without a count' },
    { name: 'default.replication.factor', value: String(config.defaultReplicationFactor), type: ConfigType.SHORT, doc: 'replicas of a topic created without a replication factor' },
    { name: 'auto.create.topics.enable', value: String(config.autoCreateTopics), type: ConfigType.BOOLEAN, doc: 'whether Metadata requests create unknown topics' },
    { name: 'offsets.topic.num.partitions', value: String(config.offsetsTopicPartitions), type: ConfigType.INT, doc: 'partitions of the __consumer_offsets topic' },
    { name: 'log.dirs', value: config.dataDir, type: ConfigType.LIST, doc: "the directory holding this node's partition logs and metadata" },
    {
      name: 'log.retention.check.interval.ms',
      value: String(config.logRetentionCheckIntervalMs),
      type: ConfigType.LONG,
      doc: 'how often each partition checks retention.ms and retention.bytes',
    },
  ];
}

function brokerConfigEntries(ctx: RequestContext, opts: EntryOptions): ConfigEntry[] {
  const { image } = ctx.broker.controller;
  const { config } = ctx.broker;
  const dynamic = topicConfigDefs.map((def) => entryOf(def.brokerName, brokerChain(def, image, config.nodeId), def.type, def.doc, false, opts));
  const fixed = staticBrokerSettings(config).map((s) => entryOf(s.name, [{ name: s.name, value: s.value, source: ConfigSource.STATIC_BROKER_CONFIG }], s.type, s.doc, true, opts));
  return [...dynamic, ...fixed];
}

/**
 * The cluster-wide default resource ('') lists only the defaults that have been set, as Kafka
 * does: `kafka-configs --entity-default --describe` shows what an operator changed, nothing else.
 */
function clusterDefaultEntries(ctx: RequestContext, opts: EntryOptions): ConfigEntry[] {
  const set = ctx.broker.controller.image.brokerConfigs.get('') ?? new Map<string, string>();
  return [...set].flatMap(([name, value]) => {
    const def = topicConfigByBrokerName.get(name);
    if (!def) return [];
    const chain: Synonym[] = [
      { name, value, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG },
      { name, value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG },
    ];
    return [entryOf(name, chain, def.type, def.doc, false, opts)];
  });
}

// ---------------------------------------------------------------------------------------------
// DescribeConfigs.

function describeResource(ctx: RequestContext, r: DescribeConfigsRequest.DescribeConfigsResource, opts: EntryOptions): ResourceResult {
  const result = (configs: ConfigEntry[]): ResourceResult => ({
    errorCode: 0,
    errorMessage: null,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    configs: filterKeys(configs, r.configurationKeys),
  });
  const failed = (f: Failure): ResourceResult => ({
    errorCode: errorCode(f.error),
    errorMessage: f.message,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    configs: [],
  });
  const type = resourceTypeOf(r.resourceType);
  if (type === 'topic') {
    const topic = ctx.broker.controller.image.topicsByName.get(r.resourceName);
    if (!topic) return failed({ error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic '${r.resourceName}' does not exist` });
    return result(topicConfigEntries(ctx, topic.configs, opts));
  }
  if (type === 'broker') {
    if (r.resourceName === '') return result(clusterDefaultEntries(ctx, opts));
    if (r.resourceName !== String(ctx.broker.config.nodeId)) {
      return failed({ error: 'INVALID_REQUEST', message: `unknown broker '${r.resourceName}'; this is broker ${ctx.broker.config.nodeId}` });
    }
    return result(brokerConfigEntries(ctx, opts));
  }
  return failed({ error: 'INVALID_REQUEST', message: `unsupported resource type ${r.resourceType}; Brook describes topics (2) and brokers (4)` });
}

/** Kafka lists every config for a null key list; an empty list (what kafkajs sends) means the same. */
function filterKeys(configs: ConfigEntry[], keys: string[] | null): ConfigEntry[] {
  if (keys === null || keys.length === 0) return configs;
  const wanted = new Set(keys);
  return configs.filter((c) => wanted.has(c.name));
}

export const describeConfigs = handler(32, 1, 4, (ctx, req) => {
  const opts: EntryOptions = { synonyms: req.includeSynonyms, documentation: req.includeDocumentation };
  return { throttleTimeMs: 0, results: req.resources.map((r) => describeResource(ctx, r, opts)) };
});

// ---------------------------------------------------------------------------------------------
// AlterConfigs and IncrementalAlterConfigs.

interface Change {
  readonly name: string;
  readonly value: string | null;
}

interface AlterResource {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: readonly { readonly name: string }[];
}

/** Checks what every alter request must satisfy: a known resource type and no config named twice. */
function checkResource(r: AlterResource, duplicated: boolean): Failure | ConfigResourceType {
  const type = resourceTypeOf(r.resourceType);
  if (!type) return { error: 'INVALID_REQUEST', message: `unsupported resource type ${r.resourceType}; Brook alters topics (2) and brokers (4)` };
  if (duplicated) return { error: 'INVALID_REQUEST', message: `resource ${r.resourceType}/'${r.resourceName}' appears more than once in the request` };
  const names = r.configs.map((c) => c.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) return { error: 'INVALID_REQUEST', message: `config ${twice} appears more than once for ${r.resourceName || 'the cluster default'}` };
  return type;
}

function duplicatedResources(resources: readonly AlterResource[]): Set<string> {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const r of resources) {
    const key = `${r.resourceType}:${r.resourceName}`;
    if (seen.has(key)) twice.add(key);
    seen.add(key);
  }
  return twice;
}

interface AlterResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

function alterResult(r: AlterResource, outcome: ControllerError | Failure | undefined): AlterResult {
  return {
    errorCode: outcome ? codeOf(outcome.error) : 0,
    errorMessage: outcome ? outcome.message : null,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
  };
}

/**
 * Serves each resource in order: the controller applies one resource's changes atomically, and
 * one resource's failure does not stop the others, as in Kafka.
 */
async function alterEach<R extends AlterResource>(
  resources: readonly R[],
  alterOne: (r: R, type: ConfigResourceType) => Promise<ControllerError | Failure | undefined>,
): Promise<AlterResult[]> {
  const twice = duplicatedResources(resources);
  const out: AlterResult[] = [];
  for (const r of resources) {
    const checked = checkResource(r, twice.has(`${r.resourceType}:${r.resourceName}`));
    out.push(alterResult(r, typeof checked === 'string' ? await alterOne(r, checked) : checked));
  }
  return out;
}

export const alterConfigs = handler(33, 0, 2, async (ctx, req) => ({
  throttleTimeMs: 0,
  responses: await alterEach(req.resources, async (r, type) => {
    // The legacy API replaces the whole set; a null value there has no meaning, and Kafka rejects it.
    const unset = r.configs.find((c) => c.value === null);
    if (unset) return { error: 'INVALID_REQUEST', message: `null value for config ${unset.name}; AlterConfigs needs a value for every config it sets` };
    return alterLogged(ctx, type, r.resourceName, r.configs, 'replace', req.validateOnly);
  }),
}));

export const incrementalAlterConfigs = handler(44, 0, 1, async (ctx, req) => ({
  throttleTimeMs: 0,
  responses: await alterEach(req.resources, async (r, type) => {
    const changes = incrementalChanges(ctx, type, r);
    if (!Array.isArray(changes)) return changes;
    return alterLogged(ctx, type, r.resourceName, changes, 'incremental', req.validateOnly);
  }),
}));

/** Who asks the controller: a request forwarded by another node must not be forwarded again. */
export function callerOf(ctx: RequestContext): CallerOptions {
  return { clientId: ctx.header.clientId ?? undefined };
}

/** Asks the controller to alter, and logs the change only once the controller has applied it (a refused alter changed nothing). */
async function alterLogged(
  ctx: RequestContext,
  type: ConfigResourceType,
  name: string,
  changes: readonly Change[],
  mode: 'replace' | 'incremental',
  validateOnly: boolean,
): Promise<ControllerError | undefined> {
  const outcome = await ctx.broker.controller.alterConfigs(type, name, changes, mode, validateOnly, callerOf(ctx));
  if (outcome === undefined && !validateOnly) {
    ctx.broker.log.info({ resourceType: type, resourceName: name, changes: changes.map((c) => c.name) }, 'configs altered');
  }
  return outcome;
}

/** Turns SET/DELETE/APPEND/SUBTRACT operations into the values the controller sets (null deletes). */
function incrementalChanges(ctx: RequestContext, type: ConfigResourceType, r: IncrementalAlterConfigsRequest.AlterConfigsResource): Change[] | Failure {
  const changes: Change[] = [];
  for (const c of r.configs) {
    const change = incrementalChange(ctx, type, r.resourceName, c);
    if ('error' in change) return change;
    changes.push(change);
  }
  return changes;
}

function incrementalChange(ctx: RequestContext, type: ConfigResourceType, resourceName: string, c: IncrementalAlterConfigsRequest.AlterableConfig): Change | Failure {
  if (c.configOperation === OP_DELETE) return { name: c.name, value: null };
  if (c.configOperation < OP_SET || c.configOperation > OP_SUBTRACT) {
    return { error: 'INVALID_REQUEST', message: `unknown config operation ${c.configOperation} for ${c.name}; expected 0 SET, 1 DELETE, 2 APPEND or 3 SUBTRACT` };
  }
  if (c.value === null) return { error: 'INVALID_REQUEST', message: `null value for config ${c.name}; only DELETE takes no value` };
  if (c.configOperation === OP_SET) return { name: c.name, value: c.value };
  return listChange(ctx, type, resourceName, c.name, c.value, c.configOperation === OP_APPEND);
}

/** APPEND adds the items not yet in the list; SUBTRACT removes the given items. Both only for LIST configs. */
function listChange(ctx: RequestContext, type: ConfigResourceType, resourceName: string, name: string, value: string, append: boolean): Change | Failure {
  const def = type === 'topic' ? topicConfigByName.get(name) : topicConfigByBrokerName.get(name);
  if (!def) return { error: 'INVALID_CONFIG', message: (type === 'topic' ? validateTopicConfig : validateBrokerConfig)(name, null)! };
  const op = append ? 'APPEND' : 'SUBTRACT';
  if (def.type !== ConfigType.LIST) return { error: 'INVALID_CONFIG', message: `${op} is only for list configs; ${name} is not a list` };
  const current = splitList(currentValue(ctx, type, resourceName, name) ?? def.defaultValue);
  const items = splitList(value);
  const next = append ? [...current, ...items.filter((i) => !current.includes(i))] : current.filter((i) => !items.includes(i));
  return { name, value: next.join(',') };
}

function currentValue(ctx: RequestContext, type: ConfigResourceType, resourceName: string, name: string): string | undefined {
  const { image } = ctx.broker.controller;
  if (type === 'topic') return image.topicsByName.get(resourceName)?.configs.get(name);
  return image.brokerConfigs.get(resourceName)?.get(name);
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
