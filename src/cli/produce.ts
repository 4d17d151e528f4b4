/**
 * `brook produce`: one record per input line (stdin or --file), in the spirit of
 * kafka-console-producer.sh. A line is, with every part optional but the value:
 *
 *   [headers <headers-delimiter>] [key <key-separator>] value
 *   headers = key<headers-key-separator>value <headers-separator> ...
 *
 * Keys are parsed with --parse-key (or when --key-separator is given; default separator a tab),
 * headers with --parse-headers (or when any --headers-* separator is given; defaults tab, comma
 * and colon, as Kafka's parse.headers). --header k=v adds a header to every record.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { Producer, type ProducerMessage, type RecordHeader } from '../client/index.js';
import {
  acksOption,
  acksValue,
  checkTopicForProduce,
  clientOptions,
  collect,
  compressionOption,
  intParser,
  keyValue,
  note,
  topicOf,
  unescape,
  UsageError,
  withAdmin,
  withBootstrap,
  type BootstrapOptions,
  type CompressionOption,
} from './options.js';

/** Records per send() call, and send() calls awaited together: bounds what the CLI holds. */
const SEND_CHUNK_RECORDS = 500;
const SENDS_IN_FLIGHT_MAX = 20;

interface ProduceOptions extends BootstrapOptions {
  topic?: string;
  file?: string;
  parseKey?: boolean;
  keySeparator?: string;
  parseHeaders?: boolean;
  headersDelimiter?: string;
  headersSeparator?: string;
  headersKeySeparator?: string;
  header?: string[];
  partition?: number;
  acks: string;
  compression: CompressionOption;
  lingerMs?: number;
}

/** How to split one input line into a record. */
export interface LineFormat {
  keySeparator: string | null;
  headers: { delimiter: string; separator: string; keySeparator: string } | null;
  fixedHeaders: RecordHeader[];
}

export function registerProduce(program: Command): void {
  withBootstrap(program.command('produce'))
    .description('produce one record per line of stdin (or --file)')
    .argument('[topic]', 'topic name (or --topic)')
    .option('--topic <name>', 'topic name')
    .option('--file <path>', 'read lines from this file instead of stdin')
    .option('--parse-key', 'split each line into key and value at the key separator')
    .option('--key-separator <sep>', 'key separator (implies --parse-key; \\t escapes work)', '\\t')
    .option('--parse-headers', 'read headers at the start of each line, before the headers delimiter')
    .option('--headers-delimiter <sep>', 'between the headers and the rest of the line (implies --parse-headers)', '\\t')
    .option('--headers-separator <sep>', 'between two headers (implies --parse-headers)', ',')
    .option('--headers-key-separator <sep>', "between a header's key and value (implies --parse-headers)", ':')
    .option('--header <key=value>', 'a header added to every record; repeat for more', collect)
    .option('--partition <n>', 'send every record to this partition (default: by key, else sticky)', intParser(0))
    .addOption(acksOption())
    .addOption(compressionOption())
    .option('--linger-ms <ms>', 'how long a batch waits for more records', intParser(0, 60_000))
    .action(async (positional: string | undefined, opts: ProduceOptions, cmd: Command) => {
      const topic = topicOf(positional, opts.topic);
      const format = lineFormat(opts, (name) => cmd.getOptionValueSource(name) === 'cli');
      const acks = acksValue(opts.acks);
      await withAdmin(opts, (admin) => checkTopicForProduce(admin, topic));
      const producer = new Producer({
        ...clientOptions(opts, 'brook-cli-producer'),
        acks,
        idempotent: acks === -1,
        compression: opts.compression,
        lingerMs: opts.lingerMs,
      });
      const input = opts.file === undefined ? process.stdin : createReadStream(opts.file);
      let produced: number;
      try {
        produced = await produceLines(producer, topic, input, format, opts.partition);
      } finally {
        await producer.close().catch(() => undefined);
      }
      note(`Produced ${produced} record${produced === 1 ? '' : 's'} to topic ${topic}.`);
    });
}

export function lineFormat(opts: ProduceOptions, given: (option: string) => boolean): LineFormat {
  const parseKey = opts.parseKey === true || given('keySeparator');
  const parseHeaders = opts.parseHeaders === true || given('headersDelimiter') || given('headersSeparator') || given('headersKeySeparator');
  const keySeparator = unescape(opts.keySeparator ?? '\\t');
  if (parseKey && keySeparator === '') throw new UsageError('--key-separator must not be empty');
  const headers = parseHeaders
    ? { delimiter: unescape(opts.headersDelimiter ?? '\\t'), separator: unescape(opts.headersSeparator ?? ','), keySeparator: unescape(opts.headersKeySeparator ?? ':') }
    : null;
  if (headers !== null && (headers.delimiter === '' || headers.separator === '' || headers.keySeparator === '')) {
    throw new UsageError('--headers-delimiter, --headers-separator and --headers-key-separator must not be empty');
  }
  const fixedHeaders = (opts.header ?? []).map((h) => {
    const [key, value] = keyValue('--header', h);
    return { key, value: Buffer.from(value) };
  });
  return { keySeparator: parseKey ? keySeparator : null, headers, fixedHeaders };
}

/** One line as a record; a line without a separator the format requires is an error naming its number. */
export function parseLine(line: string, lineNumber: number, format: LineFormat): ProducerMessage {
  let rest = line;
  const headers: RecordHeader[] = [...format.fixedHeaders];
  if (format.headers !== null) {
    const at = rest.indexOf(format.headers.delimiter);
    if (at < 0) throw new Error(`line ${lineNumber}: no headers delimiter ${JSON.stringify(format.headers.delimiter)} found`);
    const block = rest.slice(0, at);
    rest = rest.slice(at + format.headers.delimiter.length);
    for (const h of block === '' ? [] : block.split(format.headers.separator)) {
      const ks = h.indexOf(format.headers.keySeparator);
      headers.push(ks < 0 ? { key: h, value: null } : { key: h.slice(0, ks), value: Buffer.from(h.slice(ks + format.headers.keySeparator.length)) });
    }
  }
  let key: Buffer | null = null;
  if (format.keySeparator !== null) {
    const at = rest.indexOf(format.keySeparator);
    if (at < 0) throw new Error(`line ${lineNumber}: no key separator ${JSON.stringify(format.keySeparator)} found`);
    key = Buffer.from(rest.slice(0, at));
    rest = rest.slice(at + format.keySeparator.length);
  }
  return { key, value: Buffer.from(rest), headers: headers.length > 0 ? headers : undefined };
}

async function produceLines(producer: Producer, topic: string, input: NodeJS.ReadableStream, format: LineFormat, partition: number | undefined): Promise<number> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let chunk: ProducerMessage[] = [];
  let inFlight: Promise<void>[] = [];
  let failure: Error | null = null;
  let lineNumber = 0;
  let produced = 0;
  const settle = async () => {
    await Promise.all(inFlight);
    inFlight = [];
    if (failure !== null) throw failure;
  };
  const send = async () => {
    const messages = chunk;
    chunk = [];
    // The rejection is caught here at once, so a failed send is never an unhandled rejection.
    inFlight.push(
      producer.send({ topic, messages }).then(
        () => {
          produced += messages.length;
        },
        (err: Error) => {
          failure ??= err;
        },
      ),
    );
    if (inFlight.length >= SENDS_IN_FLIGHT_MAX || failure !== null) await settle();
  };
  let badLine: Error | null = null;
  try {
    for await (const line of lines) {
      lineNumber++;
      let m: ProducerMessage;
      try {
        m = parseLine(line, lineNumber, format);
      } catch (err) {
        // As kafka-console-producer: the lines before a bad one are sent, then the command fails.
        badLine = err as Error;
        break;
      }
      if (partition !== undefined) m.partition = partition;
      chunk.push(m);
      if (chunk.length >= SEND_CHUNK_RECORDS) await send();
    }
    if (chunk.length > 0) await send();
  } finally {
    // Records already handed to the producer are delivered (or fail) before the command ends.
    await Promise.all(inFlight);
  }
  await settle();
  if (badLine !== null) throw new Error(`${badLine.message} (the ${produced} record${produced === 1 ? '' : 's'} before it ${produced === 1 ? 'was' : 'were'} produced)`);
  return produced;
}
