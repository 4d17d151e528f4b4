/**
 * `brook consume`: prints a topic's records, in the spirit of kafka-console-consumer.sh. Without
 * --group it reads every partition (or --partition) on its own; with --group it joins the group
 * and commits what it printed. Text output follows Kafka's DefaultMessageFormatter: the fields
 * asked for (CreateTime:ts, Partition:p, Offset:o, headers, key) then the value, separated by the
 * key separator; `null` for a null key or value, NO_HEADERS for none. --format json prints one
 * object per record, hex prints keys, values and header values as hex.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { Consumer, type ConsumerRecord, type TopicPartition } from '../client/index.js';
import { clientOptions, intParser, note, topicInfo, topicOf, unescape, UsageError, withAdmin, withBootstrap, type BootstrapOptions } from './options.js';

export type OutputFormat = 'text' | 'json' | 'hex';

interface ConsumeOptions extends BootstrapOptions {
  topic?: string;
  group?: string;
  fromBeginning?: boolean;
  partition?: number;
  offset?: string;
  maxMessages?: number;
  timeoutMs?: number;
  format: OutputFormat;
  printKey?: boolean;
  printTimestamp?: boolean;
  printPartition?: boolean;
  printOffset?: boolean;
  printHeaders?: boolean;
  keySeparator: string;
  headersSeparator: string;
  headersKeySeparator: string;
}

export interface PrintOptions {
  format: OutputFormat;
  key: boolean;
  timestamp: boolean;
  partition: boolean;
  offset: boolean;
  headers: boolean;
  separator: string;
  headersSeparator: string;
  headersKeySeparator: string;
}

export function registerConsume(program: Command): void {
  withBootstrap(program.command('consume'))
    .description('print records of a topic (new ones, or from the beginning)')
    .argument('[topic]', 'topic name (or --topic)')
    .option('--topic <name>', 'topic name')
    .option('--group <id>', 'consume as a member of this group, committing offsets as records are printed')
    .option('--from-beginning', 'start at the earliest offset when there is no committed offset')
    .option('--partition <n>', 'read only this partition (not with --group)', intParser(0))
    .option('--offset <offset>', 'where to start without a group: earliest, latest or an offset number')
    .option('--max-messages <n>', 'exit after this many records', intParser(1))
    .option('--timeout-ms <ms>', 'exit when no record arrives for this long', intParser(1))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'hex']).default('text'))
    .option('--print-key', 'print the key (text and hex formats)')
    .option('--print-timestamp', 'print the timestamp as CreateTime:ms')
    .option('--print-partition', 'print the partition as Partition:n')
    .option('--print-offset', 'print the offset as Offset:n')
    .option('--print-headers', 'print headers as key:value,... (NO_HEADERS when none)')
    .option('--key-separator <sep>', 'between printed fields', '\\t')
    .option('--headers-separator <sep>', 'between printed headers', ',')
    .option('--headers-key-separator <sep>', "between a printed header's key and value", ':')
    .action(async (positional: string | undefined, opts: ConsumeOptions) => {
      const topic = topicOf(positional, opts.topic);
      checkConsumeOptions(opts);
      const print: PrintOptions = {
        format: opts.format,
        key: opts.printKey ?? false,
        timestamp: opts.printTimestamp ?? false,
        partition: opts.printPartition ?? false,
        offset: opts.printOffset ?? false,
        headers: opts.printHeaders ?? false,
        separator: unescape(opts.keySeparator),
        headersSeparator: unescape(opts.headersSeparator),
        headersKeySeparator: unescape(opts.headersKeySeparator),
      };
      const count = await consume(topic, opts, print);
      note(`Processed a total of ${count} message${count === 1 ? '' : 's'}`);
    });
}

function checkConsumeOptions(opts: ConsumeOptions): void {
  if (opts.group !== undefined && opts.partition !== undefined) throw new UsageError('--partition cannot be used with --group (the group assigns partitions)');
  if (opts.group !== undefined && opts.offset !== undefined) throw new UsageError('--offset cannot be used with --group (use groups reset-offsets)');
  if (opts.offset !== undefined && opts.fromBeginning) throw new UsageError('--offset and --from-beginning cannot be used together');
  if (opts.offset !== undefined && !['earliest', 'latest'].includes(opts.offset) && !/^\d+$/.test(opts.offset)) {
    throw new UsageError(`--offset must be earliest, latest or a non-negative integer, got '${opts.offset}'`);
  }
}

/**
 * The partitions to read without a group, checked before reading: the topic must exist (a
 * missing one is not waited for), --partition must be one of its partitions, and a numeric
 * --offset must not be past a partition's log end, which the consumer would otherwise reset
 * silently (to the latest offset) and then wait at for records that may never come.
 */
async function partitionsToRead(opts: ConsumeOptions, topic: string, start: string): Promise<TopicPartition[]> {
  return withAdmin(opts, async (admin) => {
    const info = await topicInfo(admin, topic);
    const all = info.partitions.map((p) => p.partition).sort((a, b) => a - b);
    if (opts.partition !== undefined && !all.includes(opts.partition)) {
      throw new UsageError(`--partition ${opts.partition}: topic ${topic} has partitions 0 to ${all.length - 1}`);
    }
    const partitions = opts.partition === undefined ? all : [opts.partition];
    if (/^\d+$/.test(start)) {
      const offset = Number(start);
      const ends = await admin.listOffsets({ topic, partitions, at: 'latest' });
      const past = ends.filter((e) => offset > e.offset);
      if (past.length > 0) {
        const shown = past.slice(0, 5).map((e) => `${topic}-${e.partition} (log end offset ${e.offset})`);
        const where = `${shown.join(', ')}${past.length > shown.length ? ` and ${past.length - shown.length} more partition${past.length - shown.length === 1 ? '' : 's'}` : ''}`;
        throw new Error(`--offset ${offset} is past the log end of ${where}`);
      }
    }
    return partitions.map((partition) => ({ topic, partition }));
  });
}

async function consume(topic: string, opts: ConsumeOptions, print: PrintOptions): Promise<number> {
  const start = opts.offset ?? (opts.fromBeginning ? 'earliest' : 'latest');
  const consumer = new Consumer({
    ...clientOptions(opts, 'brook-cli-consumer'),
    groupId: opts.group,
    autoOffsetReset: start === 'earliest' ? 'earliest' : 'latest',
  });
  let stop: () => void = () => undefined;
  const stopped = new Promise<'stop'>((resolve) => {
    stop = () => resolve('stop');
  });
  const onSignal = () => stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let count = 0;
  try {
    if (opts.group !== undefined) {
      // A group member would wait for a missing topic to appear, forever; as without --group,
      // a topic that does not exist is an error at once.
      await withAdmin(opts, (admin) => topicInfo(admin, topic));
      await consumer.subscribe({ topics: [topic], fromBeginning: opts.fromBeginning });
    } else {
      const tps = await partitionsToRead(opts, topic, start);
      await consumer.assign(tps);
      if (/^\d+$/.test(start)) for (const tp of tps) consumer.seek({ ...tp, offset: Number(start) });
    }
    const records = consumer[Symbol.asyncIterator]();
    while (opts.maxMessages === undefined || count < opts.maxMessages) {
      const waits: Promise<IteratorResult<ConsumerRecord> | 'stop' | 'timeout'>[] = [records.next(), stopped];
      let timer: NodeJS.Timeout | undefined;
      if (opts.timeoutMs !== undefined)
        waits.push(
          new Promise((resolve) => {
            timer = setTimeout(() => resolve('timeout'), opts.timeoutMs);
          }),
        );
      const next = await Promise.race(waits);
      clearTimeout(timer);
      if (next === 'stop' || next === 'timeout' || next.done) break;
      process.stdout.write(formatRecord(next.value, print));
      count++;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await consumer.close();
  }
  return count;
}

function bytesText(b: Buffer | null, format: OutputFormat): string {
  if (b === null) return 'null';
  return format === 'hex' ? b.toString('hex') : b.toString('utf8');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A byte string in JSON: the UTF-8 text, or { base64 } for bytes that are not UTF-8. */
function bytesJson(b: Buffer | null): string | { base64: string } | null {
  if (b === null) return null;
  try {
    return utf8.decode(b);
  } catch {
    return { base64: b.toString('base64') };
  }
}

export function formatRecord(r: ConsumerRecord, p: PrintOptions): string {
  if (p.format === 'json') {
    return `${JSON.stringify({
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      timestamp: r.timestamp,
      key: bytesJson(r.key),
      value: bytesJson(r.value),
      headers: r.headers.map((h) => ({ key: h.key, value: bytesJson(h.value) })),
    })}\n`;
  }
  const fields: string[] = [];
  if (p.timestamp) fields.push(`CreateTime:${r.timestamp}`);
  if (p.partition) fields.push(`Partition:${r.partition}`);
  if (p.offset) fields.push(`Offset:${r.offset}`);
  if (p.headers) {
    fields.push(r.headers.length === 0 ? 'NO_HEADERS' : r.headers.map((h) => `${h.key}${p.headersKeySeparator}${bytesText(h.value, p.format)}`).join(p.headersSeparator));
  }
  if (p.key) fields.push(bytesText(r.key, p.format));
  fields.push(bytesText(r.value, p.format));
  return `${fields.join(p.separator)}\n`;
}
