// The client commands of `brook` end to end: each runs as a child process (bin/brook.js, the
// built dist/) against a real node started in this process. The children run with async spawn,
// never spawnSync: the node lives on this test's event loop and must keep answering.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { sleep, tempDir, waitFor } from '../helpers/tmp.js';

const bin = join(import.meta.dirname, '../../bin/brook.js');
let broker: EmbeddedBroker;
let tmp: { dir: string; cleanup: () => void };

beforeAll(async () => {
  tmp = tempDir('brook-cli-');
  broker = await startBroker({ logLevel: 'silent', groupInitialRebalanceDelayMs: 0 });
});
afterAll(async () => {
  await broker?.stop();
  tmp?.cleanup();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, BROOK_BOOTSTRAP_SERVER: broker.bootstrap, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs `brook ...args` to its end, with `input` on stdin; the bootstrap comes from BROOK_BOOTSTRAP_SERVER. */
function brook(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = start(args, opts.env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`brook ${args.join(' ')} did not exit within ${opts.timeoutMs ?? 30_000} ms\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a command that must succeed and returns its stdout. */
async function ok(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
  const r = await brook(args, opts);
  if (r.code !== 0) throw new Error(`brook ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** A table printed by the CLI as objects keyed by its header's column names. */
function table(text: string): Record<string, string>[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Consumer group'));
  const header = lines[0]!.split(/\s+/);
  return lines.slice(1).map((l) => Object.fromEntries(l.split(/\s+/).map((v, i) => [header[i]!, v])));
}

/** `groups describe` rows by partition. */
async function offsetsOf(group: string): Promise<Map<number, Record<string, string>>> {
  const rows = table(await ok(['groups', 'describe', group]));
  return new Map(rows.map((r) => [Number(r.PARTITION), r]));
}

describe('brook --help and usage errors', () => {
  it('prints help for every command and subcommand with exit code 0', async () => {
    const commands = [
      [],
      ['topics'],
      ['topics', 'create'],
      ['topics', 'list'],
      ['topics', 'describe'],
      ['topics', 'alter'],
      ['topics', 'delete'],
      ['produce'],
      ['consume'],
      ['groups'],
      ['groups', 'list'],
      ['groups', 'describe'],
      ['groups', 'delete'],
      ['groups', 'reset-offsets'],
      ['configs'],
      ['configs', 'describe'],
      ['configs', 'alter'],
      ['perf'],
      ['perf', 'produce'],
      ['perf', 'consume'],
    ];
    const runs = await Promise.all(commands.map((c) => brook([...c, '--help'])));
    runs.forEach((r, i) => {
      expect(r.code, `${commands[i]!.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Usage: brook ${commands[i]!.join(' ')}`.trimEnd());
    });
    expect(runs[2]!.stdout).toContain('--bootstrap-server');
    expect(runs[2]!.stdout).toContain('--if-not-exists');
    expect(runs[13]!.stdout).toContain('--to-datetime');
  });

  it('exits 2 with a message naming the bad option or value', async () => {
    const cases: [string[], string][] = [
      [['topics', 'create', 'x', '--partitions', 'abc'], '--partitions'],
      [['topics', 'create'], 'a topic is required'],
      [['topics', 'create', 'x', '--config', 'novalue'], '--config expects key=value'],
      [['topics', 'alter', 'x'], '--partitions'],
      [['topics', 'list', '--bootstrap-server', 'nohostport'], '--bootstrap-server'],
      [['topics', 'list', '--no-such-option'], '--no-such-option'],
      [['produce', 'x', '--acks', '2'], '--acks'],
      [['produce', 'x', '--compression', 'brotli'], '--compression'],
      [['consume', 'x', '--format', 'xml'], '--format'],
      [['consume', 'x', '--offset', 'soon'], '--offset'],
      [['consume', 'x', '--group', 'g', '--partition', '0'], '--partition cannot be used with --group'],
      [['groups', 'describe'], 'a group is required'],
      [['groups', 'reset-offsets', 'g', '--topic', 'x'], 'give exactly one of --to-earliest'],
      [['groups', 'reset-offsets', 'g', '--to-earliest'], '--all-topics'],
      [['groups', 'reset-offsets', 'g', '--topic', 'x', '--to-datetime', 'yesterday'], '--to-datetime'],
      [['groups', 'reset-offsets', 'g', '--topic', 'x', '--by-duration', '10m'], '--by-duration'],
      [['groups', 'reset-offsets', 'g', '--topic', 'x', '--to-latest', '--dry-run', '--execute'], '--dry-run and --execute'],
      [['configs', 'describe'], 'exactly one of --topic, --broker or --broker-defaults'],
      [['configs', 'alter', '--topic', 'x'], 'nothing to alter'],
      [['configs', 'alter', '--broker', 'zero', '--add-config', 'a=b'], '--broker'],
      [['perf', 'produce', 'x', '--record-size', '10'], '--num-records'],
      [['perf', 'produce', 'x', '--num-records', '10', '--record-size', '10', '--throughput', '-5'], '--throughput'],
      [['perf', 'consume', 'x'], '--messages'],
      [['workers', 'add', '0'], "argument 'count'"],
      [['workers', 'add', 'two'], "argument 'count'"],
    ];
    const runs = await Promise.all(cases.map(([args]) => brook(args)));
    runs.forEach((r, i) => {
      const [args, needle] = cases[i]!;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(needle);
    });
  });

  it('exits 1 with the reason when the command fails, naming --bootstrap-server when no broker answers', async () => {
    const unreachable = await brook(['topics', 'list', '--bootstrap-server', '127.0.0.1:1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('cannot reach the broker (--bootstrap-server)');
    const missing = await brook(['topics', 'describe', 'no-such-topic']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it("names Kafka APIs in errors as Kafka's tools do (DescribeTopics, not describeTopics)", async () => {
    const missing = await brook(['topics', 'describe', 'no-such-topic']);
    expect(missing.stderr).toBe('brook: DescribeTopics no-such-topic: UNKNOWN_TOPIC_OR_PARTITION\n');
    const defaults = await brook(['configs', 'alter', '--broker-defaults', '--add-config', 'node.id=3']);
    expect(defaults.code).toBe(1);
    expect(defaults.stderr).toMatch(/^brook: IncrementalAlterConfigs broker <default>: INVALID_CONFIG /);
  });

  it('prints the package version with --version', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await brook([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it('takes --bootstrap-server over BROOK_BOOTSTRAP_SERVER', async () => {
    const r = await brook(['topics', 'list', '--bootstrap-server', broker.bootstrap], { env: { BROOK_BOOTSTRAP_SERVER: '127.0.0.1:1' } });
    expect(r.code).toBe(0);
  });
});

describe('brook topics', () => {
  it('creates, lists, describes, alters and deletes a topic', async () => {
    expect(
      await ok(['topics', 'create', '--topic', 't-life', '--partitions', '2', '--replication-factor', '1', '--config', 'retention.ms=60000', '--config', 'cleanup.policy=compact']),
    ).toBe('Created topic t-life.\n');
    const again = await brook(['topics', 'create', 't-life']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('TOPIC_ALREADY_EXISTS');
    expect(await ok(['topics', 'create', 't-life', '--if-not-exists'])).toBe('Topic t-life already exists.\n');
    expect((await ok(['topics', 'list'])).split('\n')).toContain('t-life');
    expect(await ok(['topics', 'list', '--include-internal'])).toContain('__consumer_offsets');

    const described = (await ok(['topics', 'describe', 't-life'])).trimEnd().split('\n');
    expect(described[0]).toMatch(/^Topic: t-life\tTopicId: [0-9a-f-]{36}\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: /);
    expect(described[0]).toContain('cleanup.policy=compact');
    expect(described[0]).toContain('retention.ms=60000');
    expect(described[0]).not.toContain('segment.bytes');
    expect(described.slice(1)).toEqual(['\tTopic: t-life\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0', '\tTopic: t-life\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0']);
    expect(await ok(['topics', 'describe', 't-life', '--all-configs'])).toContain('segment.bytes=');

    expect(await ok(['topics', 'alter', 't-life', '--partitions', '4'])).toBe('Topic t-life now has 4 partitions.\n');
    expect(await ok(['topics', 'describe', '--topic', 't-life'])).toContain('PartitionCount: 4');
    const shrink = await brook(['topics', 'alter', 't-life', '--partitions', '1']);
    expect(shrink.code).toBe(1);
    expect(shrink.stderr).toContain('INVALID_PARTITIONS');

    expect(await ok(['topics', 'delete', 't-life'])).toBe('Deleted topic t-life.\n');
    expect((await ok(['topics', 'list'])).split('\n')).not.toContain('t-life');
    expect(await ok(['topics', 'delete', 't-life', '--if-exists'])).toBe('Topic t-life does not exist.\n');
  });

  it('describes every topic when none is named', async () => {
    await ok(['topics', 'create', 't-all-a']);
    await ok(['topics', 'create', 't-all-b']);
    const text = await ok(['topics', 'describe']);
    expect(text).toMatch(/^Topic: t-all-a\t/m);
    expect(text).toMatch(/^Topic: t-all-b\t/m);
    expect(text).not.toContain('__consumer_offsets');
  });

  it('lists only under-replicated or unavailable partitions with their flags: none on a healthy single node', async () => {
    await ok(['topics', 'create', 't-healthy', '--partitions', '2']);
    // Partition lines only (no header), as kafka-topics.sh: a healthy node has none to print.
    expect(await ok(['topics', 'describe', '--under-replicated-partitions'])).toBe('');
    expect(await ok(['topics', 'describe', 't-healthy', '--unavailable-partitions'])).toBe('');
    expect(await ok(['topics', 'describe', 't-healthy', '--under-replicated-partitions', '--unavailable-partitions'])).toBe('');
    expect(await ok(['topics', 'describe', 't-healthy', '--under-min-isr-partitions'])).toBe('');
    // One replica with min.insync.replicas 1: at the minimum, as Kafka's tool reports it.
    expect(await ok(['topics', 'describe', 't-healthy', '--at-min-isr-partitions'])).toBe(
      '\tTopic: t-healthy\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0\n\tTopic: t-healthy\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0\n',
    );
    const help = await ok(['topics', 'describe', '--help']);
    expect(help).toContain('--under-replicated-partitions');
    expect(help).toContain('--unavailable-partitions');
    expect(help).toContain('--under-min-isr-partitions');
  });
});

describe('brook produce and consume', () => {
  it('produces keyed lines with headers and prints them back as text, JSON and hex', async () => {
    await ok(['topics', 'create', 't-pc', '--partitions', '1']);
    const r = await brook(['produce', 't-pc', '--parse-key', '--header', 'src=cli'], { input: 'k1\tone\nk2\ttwo\n' });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('Produced 2 records to topic t-pc.\n');
    // Per-line headers: headers, tab, key, ':' (a custom key separator), value.
    await ok(['produce', 't-pc', '--key-separator', ':', '--parse-headers', '--acks', '1', '--compression', 'gzip'], { input: 'trace:abc,empty\tk3:three\n' });
    await ok(['produce', 't-pc', '--acks', '0', '--compression', 'zstd'], { input: 'no key\n' });

    const text = await brook(['consume', 't-pc', '--from-beginning', '--max-messages', '4', '--print-key', '--print-offset', '--print-partition', '--print-headers']);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(
      [
        'Partition:0\tOffset:0\tsrc:cli\tk1\tone',
        'Partition:0\tOffset:1\tsrc:cli\tk2\ttwo',
        'Partition:0\tOffset:2\ttrace:abc,empty:null\tk3\tthree',
        'Partition:0\tOffset:3\tNO_HEADERS\tnull\tno key',
        '',
      ].join('\n'),
    );
    expect(text.stderr).toBe('Processed a total of 4 messages\n');

    const plain = await ok(['consume', 't-pc', '--from-beginning', '--max-messages', '2']);
    expect(plain).toBe('one\ntwo\n');
    const withTime = await ok(['consume', 't-pc', '--from-beginning', '--max-messages', '1', '--print-timestamp', '--key-separator', ' | ', '--print-key']);
    expect(withTime).toMatch(/^CreateTime:\d{13} \| k1 \| one\n$/);

    const json = (await ok(['consume', 't-pc', '--from-beginning', '--max-messages', '3', '--format', 'json']))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { timestamp: number; headers: unknown });
    expect(json[0]).toMatchObject({ topic: 't-pc', partition: 0, offset: 0, key: 'k1', value: 'one', headers: [{ key: 'src', value: 'cli' }] });
    expect(json[0]!.timestamp).toBeGreaterThan(0);
    expect(json[2]!.headers).toEqual([
      { key: 'trace', value: 'abc' },
      { key: 'empty', value: null },
    ]);

    const hex = await ok(['consume', 't-pc', '--from-beginning', '--max-messages', '1', '--format', 'hex', '--print-key']);
    expect(hex).toBe(`${Buffer.from('k1').toString('hex')}\t${Buffer.from('one').toString('hex')}\n`);
  });

  it('reads --file, sends to --partition, and consumes one partition from an --offset', async () => {
    await ok(['topics', 'create', 't-file', '--partitions', '3']);
    const file = join(tmp.dir, 'lines.txt');
    writeFileSync(file, 'a\nb\nc\r\nd\n');
    await ok(['produce', 't-file', '--file', file, '--partition', '2']);
    expect(await ok(['consume', 't-file', '--partition', '2', '--offset', '1', '--max-messages', '3', '--print-offset'])).toBe('Offset:1\tb\nOffset:2\tc\nOffset:3\td\n');
    expect(await ok(['consume', 't-file', '--partition', '2', '--offset', 'earliest', '--max-messages', '1'])).toBe('a\n');
    const empty = await brook(['consume', 't-file', '--partition', '0', '--from-beginning', '--timeout-ms', '500']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toBe('Processed a total of 0 messages\n');
    const badPartition = await brook(['consume', 't-file', '--partition', '7']);
    expect(badPartition.code).toBe(2);
    expect(badPartition.stderr).toContain('--partition 7');
  });

  it('reports a line without the key separator by its number, after sending the lines before it', async () => {
    const r = await brook(['produce', 't-badline', '--parse-key'], { input: 'k\tv\nnokey\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('line 2: no key separator "\\t" found');
    expect(await ok(['consume', 't-badline', '--from-beginning', '--max-messages', '1', '--print-key'])).toBe('k\tv\n');
  });

  it('waits for new records without --from-beginning and stops at --timeout-ms', async () => {
    await ok(['topics', 'create', 't-tail']);
    await ok(['produce', 't-tail'], { input: 'old\n' });
    const child = start(['consume', 't-tail', '--timeout-ms', '3000']);
    let stdout = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    await sleep(1000);
    await ok(['produce', 't-tail'], { input: 'new\n' });
    expect(await exited).toBe(0);
    expect(stdout).toBe('new\n');
  });
});

describe('brook groups', () => {
  it('consumes with --group, then lists and describes the group with lag', async () => {
    await ok(['topics', 'create', 't-grp', '--partitions', '2']);
    await ok(['produce', 't-grp', '--parse-key'], { input: ['a\t1', 'b\t2', 'c\t3', 'd\t4', 'e\t5', 'f\t6'].join('\n') });
    const consumed = await brook(['consume', 't-grp', '--group', 'g-lag', '--from-beginning', '--max-messages', '6']);
    expect(consumed.code).toBe(0);
    expect(consumed.stdout.trimEnd().split('\n').sort()).toEqual(['1', '2', '3', '4', '5', '6']);
    expect((await ok(['groups', 'list'])).split('\n')).toContain('g-lag');
    expect(table(await ok(['groups', 'list', '--state'])).find((r) => r.GROUP === 'g-lag')?.STATE).toBe('Empty');

    await ok(['produce', 't-grp', '--partition', '0'], { input: 'x\ny\n' });
    const text = await ok(['groups', 'describe', 'g-lag']);
    expect(text.split('\n')[0]).toBe("Consumer group 'g-lag' has no active members.");
    expect(text.split('\n')[1]).toMatch(/^GROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID\s+HOST\s+CLIENT-ID$/);
    const rows = await offsetsOf('g-lag');
    expect([...rows.keys()]).toEqual([0, 1]);
    const total = (k: string) => [...rows.values()].reduce((s, r) => s + Number(r[k]), 0);
    expect(total('CURRENT-OFFSET')).toBe(6);
    expect(total('LOG-END-OFFSET')).toBe(8);
    expect(total('LAG')).toBe(2);
    expect(rows.get(0)!['CONSUMER-ID']).toBe('-');
    expect(await ok(['groups', 'describe', 'g-lag', '--members'])).toBe("Consumer group 'g-lag' has no active members.\n");
    expect(await ok(['groups', 'describe', 'g-lag', '--state'])).toMatch(/^g-lag\s+127\.0\.0\.1:\d+ \(0\)\s+(\S+\s+)?Empty\s+0$/m);

    const missing = await brook(['groups', 'describe', 'no-such-group']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("Consumer group 'no-such-group' does not exist.");
  });

  it('shows an active member with --members and --state, refuses to reset it, and commits on Ctrl-C', async () => {
    await ok(['topics', 'create', 't-live', '--partitions', '2']);
    await ok(['produce', 't-live'], { input: 'one\ntwo\nthree\n' });
    const child = start(['consume', 't-live', '--group', 'g-live', '--from-beginning']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    try {
      await waitFor(() => stdout.split('\n').length > 3, 20_000, 'the group consumer to print three records');

      const members = table(await ok(['groups', 'describe', 'g-live', '--members']));
      expect(members).toHaveLength(1);
      expect(members[0]!['CLIENT-ID']).toBe('brook-cli-consumer');
      expect(members[0]!['#PARTITIONS']).toBe('2');
      expect(await ok(['groups', 'describe', 'g-live', '--members', '--verbose'])).toContain('t-live(0,1)');

      const state = await ok(['groups', 'describe', 'g-live', '--state']);
      expect(state.split('\n')[0]).toMatch(/^GROUP\s+COORDINATOR \(ID\)\s+ASSIGNMENT-STRATEGY\s+STATE\s+#MEMBERS$/);
      expect(state).toMatch(new RegExp(`g-live\\s+${broker.bootstrap.replace(/\./g, '\\.')} \\(0\\)\\s+\\S+\\s+Stable\\s+1`));

      const offsets = await ok(['groups', 'describe', 'g-live']);
      expect(offsets).not.toContain('has no active members');
      expect(table(offsets).every((r) => r['CONSUMER-ID'] !== '-' && r['CLIENT-ID'] === 'brook-cli-consumer')).toBe(true);

      const refused = await brook(['groups', 'reset-offsets', 'g-live', '--topic', 't-live', '--to-earliest', '--execute']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("Assignments can only be reset if the group 'g-live' is inactive, but the current state is Stable.");
      const busy = await brook(['groups', 'delete', 'g-live']);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain('NON_EMPTY_GROUP');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('Processed a total of 3 messages');
    const after = await offsetsOf('g-live');
    expect([...after.values()].reduce((s, r) => s + Number(r['CURRENT-OFFSET']), 0)).toBe(3);
    expect([...after.values()].every((r) => r.LAG === '0')).toBe(true);
  });

  it('plans a reset in a dry run without changing offsets, then executes it, checked with groups describe', async () => {
    await ok(['topics', 'create', 't-reset', '--partitions', '2']);
    await ok(['produce', 't-reset', '--partition', '0'], { input: 'a\nb\nc\nd\n' });
    await ok(['produce', 't-reset', '--partition', '1'], { input: 'e\nf\n' });
    await ok(['consume', 't-reset', '--group', 'g-reset', '--from-beginning', '--max-messages', '6']);
    const before = await offsetsOf('g-reset');
    expect(before.get(0)!['CURRENT-OFFSET']).toBe('4');
    expect(before.get(1)!['CURRENT-OFFSET']).toBe('2');

    // A dry run (the default) prints the plan and changes nothing.
    const dry = await brook(['groups', 'reset-offsets', 'g-reset', '--topic', 't-reset', '--to-earliest']);
    expect(dry.code).toBe(0);
    expect(table(dry.stdout)).toEqual([
      { GROUP: 'g-reset', TOPIC: 't-reset', PARTITION: '0', 'NEW-OFFSET': '0' },
      { GROUP: 'g-reset', TOPIC: 't-reset', PARTITION: '1', 'NEW-OFFSET': '0' },
    ]);
    expect(dry.stderr).toContain('Dry run');
    expect((await offsetsOf('g-reset')).get(0)!['CURRENT-OFFSET']).toBe('4');
    await ok(['groups', 'reset-offsets', 'g-reset', '--topic', 't-reset', '--to-earliest', '--dry-run']);
    expect((await offsetsOf('g-reset')).get(0)!['CURRENT-OFFSET']).toBe('4');

    // --execute commits it: lag is now the whole log.
    await ok(['groups', 'reset-offsets', 'g-reset', '--topic', 't-reset', '--to-earliest', '--execute']);
    let now = await offsetsOf('g-reset');
    expect([now.get(0)!['CURRENT-OFFSET'], now.get(0)!.LAG, now.get(1)!['CURRENT-OFFSET'], now.get(1)!.LAG]).toEqual(['0', '4', '0', '2']);

    // The consumer group reads from the reset offsets.
    expect((await ok(['consume', 't-reset', '--group', 'g-reset', '--max-messages', '6'])).trimEnd().split('\n').sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);

    // One partition, --to-offset (clamped to the log), --shift-by.
    await ok(['groups', 'reset-offsets', 'g-reset', '--topic', 't-reset:0', '--to-offset', '1', '--execute']);
    now = await offsetsOf('g-reset');
    expect([now.get(0)!['CURRENT-OFFSET'], now.get(1)!['CURRENT-OFFSET']]).toEqual(['1', '2']);
    await ok(['groups', 'reset-offsets', 'g-reset', '--topic', 't-reset:1', '--to-offset', '99', '--execute']);
    expect((await offsetsOf('g-reset')).get(1)!['CURRENT-OFFSET']).toBe('2');
    await ok(['groups', 'reset-offsets', 'g-reset', '--all-topics', '--shift-by', '1', '--execute']);
    now = await offsetsOf('g-reset');
    expect([now.get(0)!['CURRENT-OFFSET'], now.get(1)!['CURRENT-OFFSET']]).toEqual(['2', '2']);
    await ok(['groups', 'reset-offsets', 'g-reset', '--topic', 't-reset', '--shift-by', '-5', '--execute']);
    now = await offsetsOf('g-reset');
    expect([now.get(0)!['CURRENT-OFFSET'], now.get(1)!['CURRENT-OFFSET']]).toEqual(['0', '0']);
    await ok(['groups', 'reset-offsets', 'g-reset', '--topic', 't-reset', '--to-latest', '--execute']);
    now = await offsetsOf('g-reset');
    expect([now.get(0)!.LAG, now.get(1)!.LAG]).toEqual(['0', '0']);
    const current = table(await ok(['groups', 'reset-offsets', 'g-reset', '--topic', 't-reset', '--to-current']));
    expect(current.map((r) => r['NEW-OFFSET'])).toEqual(['4', '2']);
  });

  it('resets by time (--to-datetime, --by-duration) and round-trips --export into --from-file', async () => {
    await ok(['topics', 'create', 't-time']);
    await ok(['produce', 't-time'], { input: 'a\nb\n' });
    await sleep(50);
    const between = new Date().toISOString();
    await sleep(50);
    await ok(['produce', 't-time'], { input: 'c\n' });
    await ok(['consume', 't-time', '--group', 'g-time', '--from-beginning', '--max-messages', '3']);

    const at = table(await ok(['groups', 'reset-offsets', 'g-time', '--topic', 't-time', '--to-datetime', between]));
    expect(at[0]!['NEW-OFFSET']).toBe('2');
    expect(table(await ok(['groups', 'reset-offsets', 'g-time', '--topic', 't-time', '--by-duration', 'P1D']))[0]!['NEW-OFFSET']).toBe('0');
    expect(table(await ok(['groups', 'reset-offsets', 'g-time', '--topic', 't-time', '--by-duration', 'PT0S']))[0]!['NEW-OFFSET']).toBe('3');

    const exported = await brook(['groups', 'reset-offsets', 'g-time', '--topic', 't-time', '--to-datetime', between, '--export']);
    expect(exported.stdout).toBe('t-time,0,2\n');
    const file = join(tmp.dir, 'plan.csv');
    writeFileSync(file, exported.stdout);
    await ok(['groups', 'reset-offsets', 'g-time', '--from-file', file, '--execute']);
    expect((await offsetsOf('g-time')).get(0)!['CURRENT-OFFSET']).toBe('2');
    expect(await ok(['consume', 't-time', '--group', 'g-time', '--max-messages', '1'])).toBe('c\n');

    writeFileSync(file, 't-time,zero,1\n');
    const bad = await brook(['groups', 'reset-offsets', 'g-time', '--from-file', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('line 1: expected topic,partition,offset');
  });

  it('deletes a group', async () => {
    await ok(['topics', 'create', 't-del']);
    await ok(['produce', 't-del'], { input: 'x\n' });
    await ok(['consume', 't-del', '--group', 'g-del', '--from-beginning', '--max-messages', '1']);
    expect(await ok(['groups', 'delete', '--group', 'g-del'])).toBe("Deletion of requested consumer groups ('g-del') was successful.\n");
    expect((await ok(['groups', 'list'])).split('\n')).not.toContain('g-del');
  });
});

describe('brook configs', () => {
  it("describes and alters a topic's configs", async () => {
    await ok(['topics', 'create', 't-cfg']);
    expect(await ok(['configs', 'describe', '--topic', 't-cfg'])).toBe('Dynamic configs for topic t-cfg are:\n');
    expect(await ok(['configs', 'alter', '--topic', 't-cfg', '--add-config', 'retention.ms=60000,cleanup.policy=[compact,delete]'])).toBe(
      'Completed updating config for topic t-cfg.\n',
    );
    expect(await ok(['configs', 'describe', '--topic', 't-cfg'])).toBe(
      [
        'Dynamic configs for topic t-cfg are:',
        '  cleanup.policy=compact,delete sensitive=false source=DYNAMIC_TOPIC_CONFIG',
        '  retention.ms=60000 sensitive=false source=DYNAMIC_TOPIC_CONFIG',
        '',
      ].join('\n'),
    );
    await ok(['configs', 'alter', '--topic', 't-cfg', '--delete-config', 'cleanup.policy']);
    expect(await ok(['configs', 'describe', '--topic', 't-cfg'])).not.toContain('cleanup.policy');
    const all = await ok(['configs', 'describe', '--topic', 't-cfg', '--all']);
    expect(all).toContain('All configs for topic t-cfg are:');
    expect(all).toContain('  cleanup.policy=delete sensitive=false source=DEFAULT_CONFIG');
    const bad = await brook(['configs', 'alter', '--topic', 't-cfg', '--add-config', 'no.such.config=1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('INVALID_CONFIG');
  });

  it('describes and alters a broker and the broker defaults', async () => {
    expect(await ok(['configs', 'alter', '--broker-defaults', '--add-config', 'log.retention.ms=7200000'])).toBe('Completed updating default config for brokers in the cluster.\n');
    expect(await ok(['configs', 'describe', '--broker-defaults'])).toContain('  log.retention.ms=7200000 sensitive=false source=DYNAMIC_DEFAULT_BROKER_CONFIG');
    expect(await ok(['configs', 'alter', '--broker', '0', '--add-config', 'log.retention.ms=3600000'])).toBe('Completed updating config for broker 0.\n');
    expect(await ok(['configs', 'describe', '--broker', '0'])).toBe('Dynamic configs for broker 0 are:\n  log.retention.ms=3600000 sensitive=false source=DYNAMIC_BROKER_CONFIG\n');
    expect(await ok(['configs', 'describe', '--broker', '0', '--all'])).toMatch(/node\.id=0 sensitive=false source=STATIC_BROKER_CONFIG readOnly=true/);
    await ok(['configs', 'alter', '--broker', '0', '--delete-config', 'log.retention.ms']);
    await ok(['configs', 'alter', '--broker-defaults', '--delete-config', 'log.retention.ms']);
    expect(await ok(['configs', 'describe', '--broker', '0'])).toBe('Dynamic configs for broker 0 are:\n');
  });
});

describe('brook perf', () => {
  it('perf produce prints progress lines and a final line with latency percentiles; perf consume reads them back', async () => {
    await ok(['topics', 'create', 't-perf', '--partitions', '2']);
    const produced = await ok([
      'perf',
      'produce',
      't-perf',
      '--num-records',
      '3000',
      '--record-size',
      '100',
      '--throughput',
      '3000',
      '--reporting-interval-ms',
      '200',
      '--acks',
      '1',
      '--linger-ms',
      '2',
      '--batch-size',
      '16384',
      '--compression',
      'lz4',
    ]);
    const lines = produced.trimEnd().split('\n');
    const progress = /^\d+ records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency\.$/;
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines.slice(0, -1)) expect(l).toMatch(progress);
    expect(lines.at(-1)).toMatch(
      /^3000 records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$/,
    );
    // --throughput 3000 records/s: 3000 records take about a second.
    const rate = Number(/records sent, ([\d.]+) records\/sec/.exec(lines.at(-1)!)![1]);
    expect(rate).toBeLessThan(4500);

    // With no limit the tool hands the producer 1000 records a call and says so, with the producer's settings, on stderr.
    const unlimited = await brook(['perf', 'produce', '--topic', 't-perf', '--num-records', '2000', '--record-size', '10', '--throughput', '-1']);
    expect(unlimited.code).toBe(0);
    expect(unlimited.stdout).toMatch(/^2000 records sent, /m);
    expect(unlimited.stderr).toBe(
      'brook perf produce: 2000 records of 10 bytes to t-perf, no throughput limit; acks=all enable.idempotence=true batch.size=1000000 linger.ms=5 compression.type=none ' +
        'max.in.flight.requests.per.connection=5 buffer.memory=33554432; 1000 records per send() call, at most 32000 records unacknowledged\n',
    );

    const consumedRun = await brook(['perf', 'consume', 't-perf', '--messages', '5000']);
    expect(consumedRun.code).toBe(0);
    expect(consumedRun.stderr).toBe(
      'brook perf consume: 5000 records from t-perf, no group (every partition); auto.offset.reset=earliest isolation.level=read_uncommitted fetch.max.bytes=16777216 ' +
        'max.partition.fetch.bytes=4194304 fetch.max.wait.ms=500 fetch.min.bytes=1 prefetch bytes=33554432\n',
    );
    const consumed = consumedRun.stdout.trimEnd().split('\n');
    expect(consumed.at(-2)).toBe(
      'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec',
    );
    const fields = consumed.at(-1)!.split(', ');
    expect(fields).toHaveLength(10);
    expect(Number(fields[4])).toBe(5000);
    expect(Number(fields[2])).toBeCloseTo((3000 * 100 + 2000 * 10) / 1024 / 1024, 3);
    expect(Number(fields[3])).toBeGreaterThan(0);
    expect(Number(fields[5])).toBeGreaterThan(0);

    const grouped = (await ok(['perf', 'consume', 't-perf', '--messages', '5000', '--group', 'g-perf', '--hide-header'])).trimEnd().split('\n');
    expect(grouped.at(-1)!.split(', ')[4]).toBe('5000');
    expect(table(await ok(['groups', 'list', '--state'])).find((r) => r.GROUP === 'g-perf')).toBeDefined();

    const short = await brook(['perf', 'consume', 't-perf', '--messages', '6000', '--timeout-ms', '500']);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('5000 of 6000');
  });
});

describe('brook output into a pipe that closes early', () => {
  /**
   * Runs `brook ...args | head -n` in a shell. The shell reports brook's own exit code on
   * stderr, as a pipeline's status is the last command's (head's).
   */
  function intoHead(args: string[], lines: number): Promise<Run> {
    const quoted = args.map((a) => `'${a}'`).join(' ');
    return new Promise((resolve, reject) => {
      const child = spawn('sh', ['-c', `{ "${process.execPath}" "${bin}" ${quoted}; echo "brook exited $?" >&2; } | head -${lines}`], {
        env: { ...process.env, BROOK_BOOTSTRAP_SERVER: broker.bootstrap },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => {
        stdout += c;
      });
      child.stderr.on('data', (c) => {
        stderr += c;
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`brook ${args.join(' ')} | head did not end within 30 s\n${stdout}\n${stderr}`));
      }, 30_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it('consume and actors --json end quietly, with exit code 0 and no stack trace, when head stops reading', async () => {
    await ok(['topics', 'create', 't-pipe']);
    // Far more output than a pipe buffers (64 KiB), so brook is still writing when head exits.
    const line = 'x'.repeat(200);
    await ok(['produce', 't-pipe'], { input: Array.from({ length: 3000 }, (_, i) => `${i} ${line}`).join('\n') });

    const consumed = await intoHead(['consume', 't-pipe', '--from-beginning'], 2);
    expect(consumed.stdout).toBe(`0 ${line}\n1 ${line}\n`);
    expect(consumed.stderr).toBe('brook exited 0\n');

    // A wide topic makes the actor list far longer than a pipe buffers, too.
    await ok(['topics', 'create', 't-pipe-wide', '--partitions', '100']);
    const actors = await intoHead(['actors', '--json', '--http', `127.0.0.1:${broker.node.httpPort}`], 1);
    expect(actors.stdout).toBe('[\n');
    expect(actors.stderr).toBe('brook exited 0\n');
  });
});

describe('brook consume and produce on a missing topic or past the log end', () => {
  let strict: EmbeddedBroker;
  beforeAll(async () => {
    strict = await startBroker({ logLevel: 'silent', autoCreateTopics: false, workers: 1, offsetsTopicPartitions: 4, groupInitialRebalanceDelayMs: 0 });
  });
  afterAll(async () => {
    await strict?.stop();
  });
  const onStrict = () => ({ env: { BROOK_BOOTSTRAP_SERVER: strict.bootstrap }, timeoutMs: 20_000 });

  it('consume says a missing topic does not exist, with --group as without, and exits 1', async () => {
    const alone = await brook(['consume', 'ghost'], onStrict());
    const grouped = await brook(['consume', 'ghost', '--group', 'g-ghost'], onStrict());
    for (const r of [alone, grouped]) {
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('brook: topic ghost does not exist\n');
    }
  });

  it('produce fails at once on a missing topic when the broker does not create topics, and creates it when it does', async () => {
    const began = Date.now();
    const refused = await brook(['produce', 'ghost'], { ...onStrict(), input: 'x\n' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('topic ghost does not exist');
    expect(Date.now() - began).toBeLessThan(15_000);
    expect((await ok(['topics', 'list'], { env: { BROOK_BOOTSTRAP_SERVER: strict.bootstrap } })).split('\n')).not.toContain('ghost');

    // The node of the other tests creates topics on use: produce creates it and the record is there.
    const created = await brook(['produce', 't-created-on-use'], { input: 'hello\n' });
    expect(created.code).toBe(0);
    expect(await ok(['consume', 't-created-on-use', '--from-beginning', '--max-messages', '1'])).toBe('hello\n');
  });

  it('consume --offset past the log end says so, naming the log end, and exits 1', async () => {
    await ok(['topics', 'create', 't-end', '--partitions', '2']);
    await ok(['produce', 't-end', '--partition', '0'], { input: 'a\nb\nc\n' });
    const past = await brook(['consume', 't-end', '--partition', '0', '--offset', '5'], { timeoutMs: 20_000 });
    expect(past.code).toBe(1);
    expect(past.stderr).toBe('brook: --offset 5 is past the log end of t-end-0 (log end offset 3)\n');
    // Every partition read is checked: partition 1 is empty.
    const all = await brook(['consume', 't-end', '--offset', '2'], { timeoutMs: 20_000 });
    expect(all.code).toBe(1);
    expect(all.stderr).toBe('brook: --offset 2 is past the log end of t-end-1 (log end offset 0)\n');
    // The log end itself is where the next record will be: it waits there, as asked.
    const atEnd = await brook(['consume', 't-end', '--partition', '0', '--offset', '3', '--timeout-ms', '500']);
    expect(atEnd.code).toBe(0);
    expect(atEnd.stderr).toBe('Processed a total of 0 messages\n');
  });
});

describe('brook actors and brook console', () => {
  const http = () => `127.0.0.1:${broker.node.httpPort}`;

  it('actors lists partitions in numeric order, then the group coordinators with their groups and members', async () => {
    await ok(['topics', 'create', 't-actors', '--partitions', '12']);
    await ok(['produce', 't-actors', '--partition', '10'], { input: 'x\n' });
    await ok(['consume', 't-actors', '--group', 'g-actors', '--from-beginning', '--max-messages', '1']);
    const text = await ok(['actors', '--http', http()]);
    const threads = text.split(/^THREAD /m).slice(1);
    expect(threads.length).toBeGreaterThan(0);
    let groups = 0;
    for (const t of threads) {
      const rows = t
        .split('\n')
        .slice(2)
        .filter((l) => l.trim() !== '')
        .map((l) => l.trim().split(/\s+/));
      const kinds = rows.map((r) => r[1]);
      // Partitions first, then group coordinators, as the web console lists them.
      const firstCoordinator = kinds.indexOf('group-coordinator');
      if (firstCoordinator >= 0) expect(kinds.slice(firstCoordinator).every((k) => k === 'group-coordinator')).toBe(true);
      const ours = rows.filter((r) => r[0]!.startsWith('partition:t-actors:')).map((r) => Number(r[0]!.split(':')[2]));
      expect(ours).toEqual([...ours].sort((a, b) => a - b));
      const offsets = rows.filter((r) => r[1] === 'group-coordinator').map((r) => Number(/__consumer_offsets:(\d+)/.exec(r[0]!)![1]));
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      // Coordinators that were never asked are passivated (no thread, no state); running ones show their groups.
      const coordinators = rows.filter((r) => r[1] === 'group-coordinator' && r[2] === 'running').map((r) => r.join(' '));
      for (const c of coordinators) {
        const m = /start=\d+ end=\d+ hw=\d+ epoch=\d+ bytes=\d+ groups=(\d+) members=(\d+)/.exec(c);
        expect(m, c).not.toBeNull();
        groups += Number(m![1]);
      }
    }
    expect(text).toMatch(/partition:t-actors:10\s+partition\s+running\s+\d+\s+\d+\s+start=0 end=1 hw=1/);
    expect(groups).toBeGreaterThanOrEqual(1);
  });

  it('console awaits the promises it prints, in order, also inside an array or object', async () => {
    const input = ['overview().then(() => "first")', '"second"', '[overview(), topics()]', '({ o: overview(), n: 1 })', 'Promise.reject(new Error("refused"))', '"last"', ''].join(
      '\n',
    );
    const r = await brook(['console', '--http', http()], { input });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('Promise {');
    expect(r.stdout).not.toContain('<pending>');
    expect(r.stdout).toMatch(/nodeId: 0/);
    expect(r.stdout).toContain("name: 't-actors'");
    expect(r.stdout).toContain('n: 1');
    const order = ["'first'", "'second'", 'nodeId: 0', 'refused', "'last'"].map((s) => r.stdout.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });
});

describe('brook configs alter, refused', () => {
  it("shows the broker's error and exits 1 without saying the configs were updated", async () => {
    await ok(['topics', 'create', 't-cfg-refused']);
    const r = await brook(['configs', 'alter', '--topic', 't-cfg-refused', '--add-config', 'retention.ms=soon']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("brook: IncrementalAlterConfigs topic t-cfg-refused: INVALID_CONFIG (invalid value 'soon' for retention.ms: must be an integer >= -1)\n");
    expect(await ok(['configs', 'describe', '--topic', 't-cfg-refused'])).toBe('Dynamic configs for topic t-cfg-refused are:\n');
  });
});
