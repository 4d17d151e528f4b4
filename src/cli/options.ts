/**
 * Options and helpers shared by the client commands (topics, produce, consume, groups, configs,
 * perf): the bootstrap option, value parsers whose errors name the option, the usage error that
 * exits with code 2, Kafka-style tables, and a scope that opens a client and always closes it.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { Admin, ConnectionError, KafkaClientError, KafkaProtocolError, type ClientOptions, type TopicInfo } from '../client/index.js';

export const BOOTSTRAP_DEFAULT = '127.0.0.1:9092';

/** A usage error found after parsing (a missing or conflicting option): exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface BootstrapOptions {
  bootstrapServer: string;
}

/** Adds `--bootstrap-server` (also read from BROOK_BOOTSTRAP_SERVER) to a client command. */
export function withBootstrap(cmd: Command): Command {
  return cmd.addOption(
    new Option('--bootstrap-server <host:port[,host:port...]>', 'brokers to connect to').default(BOOTSTRAP_DEFAULT).env('BROOK_BOOTSTRAP_SERVER').argParser(parseBootstrap),
  );
}

function parseBootstrap(raw: string): string {
  const servers = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (servers.length === 0) throw new InvalidArgumentError('expected host:port[,host:port...]');
  for (const s of servers) {
    const m = /^(.+):(\d+)$/.exec(s);
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new InvalidArgumentError(`'${s}' is not host:port (port 1-65535)`);
  }
  return servers.join(',');
}

export function clientOptions(opts: BootstrapOptions, clientId: string): ClientOptions {
  return { bootstrapServers: opts.bootstrapServer.split(','), clientId };
}

/** A commander value parser for an integer in [min, max]; its error names the option. */
export function intParser(min: number, max = Number.MAX_SAFE_INTEGER): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** A commander value parser for a repeatable option: each use appends. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Splits `k=v`; the error names the option. */
export function keyValue(option: string, raw: string): [string, string] {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new UsageError(`${option} expects key=value, got '${raw}'`);
  return [raw.slice(0, eq), raw.slice(eq + 1)];
}

/** Separators given on a command line: `\t`, `\n`, `\r`, `\\` and `\0` are escapes, as in Kafka's tools. */
export function unescape(raw: string): string {
  return raw.replace(/\\([tnr0\\])/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r', '0': '\0', '\\': '\\' })[c]!);
}

/** The topic from a positional argument or `--topic` (either; both must agree). */
export function topicOf(positional: string | undefined, option: string | undefined): string {
  if (positional !== undefined && option !== undefined && positional !== option) {
    throw new UsageError(`two topics given: '${positional}' and --topic '${option}'`);
  }
  const topic = positional ?? option;
  if (topic === undefined || topic === '') throw new UsageError('a topic is required: give it as an argument or with --topic');
  return topic;
}

/** Runs `fn` with an Admin client and closes it however `fn` ends. */
export async function withAdmin<T>(opts: BootstrapOptions, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(clientOptions(opts, 'brook-cli'));
  try {
    return await fn(admin);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/**
 * The message printed for a failed command. A connection failure names --bootstrap-server, the
 * usual cause; a broker error keeps the client's message, which names the request and the code.
 */
export function failureMessage(err: unknown): string {
  if (err instanceof ConnectionError) return `cannot reach the broker (--bootstrap-server): ${err.message}`;
  if (err instanceof KafkaClientError) return err.message;
  return (err as Error)?.message ?? String(err);
}

/** Left-aligned columns separated by a space, widths from the content (kafka-consumer-groups' layout). */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join(' ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

export function out(text: string): void {
  process.stdout.write(text);
}

export function note(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Kafka's ConfigSource names, by code. */
export const CONFIG_SOURCES: Record<number, string> = {
  0: 'UNKNOWN',
  1: 'DYNAMIC_TOPIC_CONFIG',
  2: 'DYNAMIC_BROKER_CONFIG',
  3: 'DYNAMIC_DEFAULT_BROKER_CONFIG',
  4: 'STATIC_BROKER_CONFIG',
  5: 'DEFAULT_CONFIG',
  6: 'DYNAMIC_BROKER_LOGGER_CONFIG',
};

export const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionOption = (typeof COMPRESSION_NAMES)[number];

/** `--acks`: 0, 1, all or -1. A producer with acks other than all is not idempotent. */
export function acksOption(): Option {
  return new Option('--acks <acks>', 'acknowledgements: 0 (none), 1 (leader) or all (-1)').default('all').argParser((raw: string) => {
    if (!['0', '1', 'all', '-1'].includes(raw)) throw new InvalidArgumentError('must be 0, 1, all or -1');
    return raw;
  });
}

export function acksValue(raw: string): -1 | 0 | 1 {
  return raw === '0' ? 0 : raw === '1' ? 1 : -1;
}

export function compressionOption(): Option {
  return new Option('--compression <codec>', 'compression of produced batches').choices(COMPRESSION_NAMES).default('none');
}

/** One topic's partitions; a missing topic is an error saying so plainly. */
export async function topicInfo(admin: Admin, topic: string): Promise<TopicInfo> {
  try {
    return (await admin.describeTopics([topic]))[0]!;
  } catch (err) {
    if (err instanceof KafkaProtocolError && err.type === 'UNKNOWN_TOPIC_OR_PARTITION') throw new Error(`topic ${topic} does not exist`, { cause: err });
    throw err;
  }
}

const UNKNOWN_TOPIC_OR_PARTITION = 3;
const LEADER_NOT_AVAILABLE = 5;

/**
 * Checks, before a producer is fed, that `topic` exists or is created on use. The Metadata
 * request allows auto-creation, so a broker that creates topics does so here; one that does not
 * answers UNKNOWN_TOPIC_OR_PARTITION, which is final, so the command says so at once rather
 * than let the producer wait its max block time (60 s) for a topic nobody will create. Any other
 * topic error (an invalid name) is reported as the broker gave it; a leader not yet elected is
 * the producer's to wait for.
 */
export async function checkTopicForProduce(admin: Admin, topic: string): Promise<void> {
  const res = await admin.cluster.withRetry('Metadata', async () =>
    (await admin.cluster.anyConnection()).request(3, {
      topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }),
  );
  const code = res.topics.find((t) => t.name === topic)?.errorCode ?? UNKNOWN_TOPIC_OR_PARTITION;
  if (code === UNKNOWN_TOPIC_OR_PARTITION) {
    throw new Error(`topic ${topic} does not exist, and the broker does not create topics on use (create it with: brook topics create ${topic})`);
  }
  if (code !== 0 && code !== LEADER_NOT_AVAILABLE) throw new KafkaProtocolError(code, `Metadata ${topic}`);
}
