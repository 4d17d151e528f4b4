/**
 * `brook partitions`: partition reassignment and leader election, in the shape of Kafka's
 * kafka-reassign-partitions.sh and kafka-leader-election.sh.
 *
 * `brook partitions reassign` takes one action:
 * - `--generate` with `--topics-to-move-json-file` ({"version":1,"topics":[{"topic":"t"}]}) and
 *   `--broker-list 1,2,3`: prints the current assignment of those topics and a proposed one that
 *   spreads their replicas (each topic keeping its replication factor) over the listed brokers,
 *   racks alternating, as {"version":1,"partitions":[{"topic","partition","replicas"}]}.
 * - `--execute` with `--reassignment-json-file`: prints the current assignment (to roll back
 *   with) and starts the reassignments. `--throttle <bytes/s>` first sets
 *   leader.replication.throttled.rate and follower.replication.throttled.rate on every broker
 *   the plan names (current and target replicas), as Kafka does; Brook throttles the fetches of
 *   the replicas being added (see src/cluster/replica-fetcher.ts). Refused while any
 *   reassignment is under way, unless `--additional`.
 * - `--verify` with the plan: each partition's progress; once every one is complete, removes
 *   the throttle from every broker (unless `--preserve-throttles`).
 * - `--cancel` with the plan: cancels the reassignments of its partitions that are under way
 *   (their replicas go back to what they were) and removes the throttle.
 * - `--list`: the reassignments under way.
 *
 * `brook partitions elect-leaders --election-type preferred|unclean` with `--topic t --partition n`,
 * `--path-to-json-file` ({"partitions":[{"topic","partition"}]}) or `--all-topic-partitions`.
 *
 * A plan or topics file that cannot be read or is not in the expected form is a usage error
 * (exit 2); a partition the cluster refuses makes the command fail (exit 1) after it reports
 * every partition.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { Admin, ElectionType, PartitionOutcome } from '../client/admin.js';
import { errorName } from '../protocol/errors.js';
import { assignReplicas } from '../cluster/controller.js';
import { intParser, out, UsageError, withAdmin, withBootstrap, type BootstrapOptions } from './options.js';

/** One partition's replicas, as the plan files write them. */
export interface PartitionAssignment {
  topic: string;
  partition: number;
  replicas: number[];
}

interface ReassignOptions extends BootstrapOptions {
  topicsToMoveJsonFile?: string;
  brokerList?: number[];
  reassignmentJsonFile?: string;
  generate?: boolean;
  execute?: boolean;
  verify?: boolean;
  cancel?: boolean;
  list?: boolean;
  throttle?: number;
  additional?: boolean;
  preserveThrottles?: boolean;
}

interface ElectOptions extends BootstrapOptions {
  electionType: ElectionType;
  topic?: string;
  partition?: number;
  allTopicPartitions?: boolean;
  pathToJsonFile?: string;
}

/** The broker configs `--throttle` sets and `--verify`/`--cancel` remove (Kafka's names). */
export const THROTTLE_CONFIGS = ['leader.replication.throttled.rate', 'follower.replication.throttled.rate'] as const;

const NO_REASSIGNMENT_IN_PROGRESS = 85;
const ELECTION_NOT_NEEDED = 84;

export function registerPartitions(program: Command): void {
  const partitions = program.command('partitions').description('reassign partitions between brokers and elect their leaders');

  withBootstrap(partitions.command('reassign'))
    .description('move partition replicas between brokers, as kafka-reassign-partitions.sh: --generate, --execute, --verify, --cancel or --list')
    .option('--topics-to-move-json-file <file>', 'with --generate: the topics to move, {"version":1,"topics":[{"topic":"t"}]}')
    .option('--broker-list <ids>', 'with --generate: the brokers to spread the replicas over, e.g. 1,2,3', parseBrokerList)
    .option('--reassignment-json-file <file>', 'the plan: {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}')
    .option('--generate', 'print the current assignment and a proposed balanced one')
    .option('--execute', 'start the reassignments of the plan')
    .option('--verify', "print each partition's progress; once all are complete, remove the throttle")
    .option('--cancel', "cancel the plan's reassignments under way (their replicas go back) and remove the throttle")
    .option('--list', 'list the reassignments under way')
    .option('--throttle <bytes/s>', 'with --execute: limit the replication of moving replicas to this many bytes/s per broker', intParser(1))
    .option('--additional', 'with --execute: start even though reassignments are under way')
    .option('--preserve-throttles', 'with --verify or --cancel: keep the throttle')
    .action(async (opts: ReassignOptions) => {
      const action = reassignAction(opts);
      await withAdmin(opts, async (admin) => {
        if (action === 'generate') out(await generate(admin, readTopicsToMove(opts.topicsToMoveJsonFile!), opts.brokerList!));
        else if (action === 'list') out(await listReassignments(admin));
        else {
          const plan = readPlan(opts.reassignmentJsonFile!);
          if (action === 'execute') out(await execute(admin, plan, opts.throttle, opts.additional ?? false));
          else if (action === 'verify') out(await verify(admin, plan, opts.preserveThrottles ?? false));
          else out(await cancel(admin, plan, opts.preserveThrottles ?? false));
        }
      });
    });

  withBootstrap(partitions.command('elect-leaders'))
    .description('elect the preferred replica (or, for a partition without a leader, any live replica) as leader, as kafka-leader-election.sh')
    .requiredOption('--election-type <type>', 'preferred (the first replica, when it is alive and in sync) or unclean (only partitions without a leader)', parseElectionType)
    .option('--topic <name>', 'the topic of the partition (with --partition)')
    .option('--partition <n>', 'the partition (with --topic)', intParser(0))
    .option('--path-to-json-file <file>', 'the partitions: {"partitions":[{"topic":"t","partition":0}]}')
    .option('--all-topic-partitions', 'every partition of every topic')
    .action(async (opts: ElectOptions) => {
      const partitions = electionTargets(opts);
      const results = await withAdmin(opts, (admin) => admin.electLeaders({ electionType: opts.electionType, partitions }));
      const { text, failed } = electionReport(opts.electionType, results);
      out(text);
      if (failed > 0) throw new Error(`${failed} replica(s) could not be elected`);
    });
}

// ---------------------------------------------------------------------------------------------
// Parsing.

function parseBrokerList(raw: string): number[] {
  const ids = raw.split(',').map((s) => s.trim());
  if (ids.some((s) => !/^\d+$/.test(s))) throw new InvalidArgumentError('expected broker ids separated by commas, e.g. 1,2,3');
  const out = ids.map(Number);
  if (new Set(out).size !== out.length) throw new InvalidArgumentError(`a broker is listed twice in '${raw}'`);
  return out;
}

function parseElectionType(raw: string): ElectionType {
  const t = raw.toLowerCase();
  if (t !== 'preferred' && t !== 'unclean') throw new InvalidArgumentError('must be preferred or unclean');
  return t;
}

function reassignAction(opts: ReassignOptions): 'generate' | 'execute' | 'verify' | 'cancel' | 'list' {
  const actions = (['generate', 'execute', 'verify', 'cancel', 'list'] as const).filter((a) => opts[a] === true);
  if (actions.length !== 1) throw new UsageError('give exactly one of --generate, --execute, --verify, --cancel or --list');
  const action = actions[0]!;
  if (action === 'generate') {
    if (opts.topicsToMoveJsonFile === undefined) throw new UsageError('--generate needs --topics-to-move-json-file');
    if (opts.brokerList === undefined) throw new UsageError('--generate needs --broker-list');
  } else if (action !== 'list' && opts.reassignmentJsonFile === undefined) throw new UsageError(`--${action} needs --reassignment-json-file`);
  if (opts.throttle !== undefined && action !== 'execute') throw new UsageError('--throttle goes with --execute');
  if (opts.additional && action !== 'execute') throw new UsageError('--additional goes with --execute');
  if (opts.preserveThrottles && action !== 'verify' && action !== 'cancel') throw new UsageError('--preserve-throttles goes with --verify or --cancel');
  return action;
}

function readJson(option: string, file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${option} ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${option} ${file} is not JSON: ${(err as Error).message}`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPartitionIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The topics of --topics-to-move-json-file. */
export function readTopicsToMove(file: string): string[] {
  const option = '--topics-to-move-json-file';
  const json = readJson(option, file);
  const form = `expected {"version":1,"topics":[{"topic":"name"},...]}`;
  if (!isRecord(json) || !Array.isArray(json.topics)) throw new UsageError(`${option} ${file}: ${form}`);
  if (json.version !== undefined && json.version !== 1) throw new UsageError(`${option} ${file}: version ${JSON.stringify(json.version)} is not supported; expected 1`);
  const topics = json.topics.map((t: unknown) => (isRecord(t) && typeof t.topic === 'string' && t.topic !== '' ? t.topic : undefined));
  if (topics.length === 0 || topics.some((t) => t === undefined)) throw new UsageError(`${option} ${file}: ${form}`);
  const names = topics as string[];
  const twice = names.filter((t, i) => names.indexOf(t) !== i);
  if (twice.length > 0) throw new UsageError(`${option} ${file}: topic ${twice[0]} is listed twice`);
  return names;
}

/** The partitions and target replicas of --reassignment-json-file (log_dirs, when given, must be "any"). */
export function readPlan(file: string): PartitionAssignment[] {
  const option = '--reassignment-json-file';
  const json = readJson(option, file);
  const form = 'expected {"version":1,"partitions":[{"topic":"name","partition":0,"replicas":[1,2]},...]}';
  if (!isRecord(json) || !Array.isArray(json.partitions)) throw new UsageError(`${option} ${file}: ${form}`);
  if (json.version !== undefined && json.version !== 1) throw new UsageError(`${option} ${file}: version ${JSON.stringify(json.version)} is not supported; expected 1`);
  if (json.partitions.length === 0) throw new UsageError(`${option} ${file}: the plan has no partitions`);
  const seen = new Set<string>();
  return json.partitions.map((p: unknown, i: number): PartitionAssignment => {
    if (!isRecord(p) || typeof p.topic !== 'string' || p.topic === '' || !isPartitionIndex(p.partition) || !Array.isArray(p.replicas)) {
      throw new UsageError(`${option} ${file}: entry ${i} is not {"topic":"name","partition":n,"replicas":[...]}`);
    }
    const where = `${p.topic}-${p.partition}`;
    const replicas = p.replicas as unknown[];
    if (replicas.length === 0 || !replicas.every(isPartitionIndex)) throw new UsageError(`${option} ${file}: ${where} needs replicas as a non-empty list of broker ids`);
    if (new Set(replicas).size !== replicas.length) throw new UsageError(`${option} ${file}: ${where} lists a broker twice in its replicas`);
    if (p.log_dirs !== undefined) {
      if (!Array.isArray(p.log_dirs) || p.log_dirs.length !== replicas.length || p.log_dirs.some((d) => d !== 'any')) {
        throw new UsageError(`${option} ${file}: ${where}: log_dirs must list "any" for each replica (Brook has one log directory per node)`);
      }
    }
    if (seen.has(where)) throw new UsageError(`${option} ${file}: ${where} appears twice`);
    seen.add(where);
    return { topic: p.topic, partition: p.partition, replicas };
  });
}

function electionTargets(opts: ElectOptions): { topic: string; partition: number }[] | null {
  const given = [opts.topic !== undefined || opts.partition !== undefined, opts.allTopicPartitions === true, opts.pathToJsonFile !== undefined].filter(Boolean).length;
  if (given !== 1) throw new UsageError('give exactly one of --topic with --partition, --path-to-json-file or --all-topic-partitions');
  if (opts.allTopicPartitions) return null;
  if (opts.pathToJsonFile !== undefined) {
    const option = '--path-to-json-file';
    const json = readJson(option, opts.pathToJsonFile);
    const form = 'expected {"partitions":[{"topic":"name","partition":0},...]}';
    if (!isRecord(json) || !Array.isArray(json.partitions) || json.partitions.length === 0) throw new UsageError(`${option} ${opts.pathToJsonFile}: ${form}`);
    return json.partitions.map((p: unknown) => {
      if (!isRecord(p) || typeof p.topic !== 'string' || !isPartitionIndex(p.partition)) throw new UsageError(`${option} ${opts.pathToJsonFile}: ${form}`);
      return { topic: p.topic, partition: p.partition };
    });
  }
  if (opts.topic === undefined) throw new UsageError('--partition needs --topic');
  if (opts.partition === undefined) throw new UsageError('--topic needs --partition');
  return [{ topic: opts.topic, partition: opts.partition }];
}

// ---------------------------------------------------------------------------------------------
// Reassignment.

/** {"version":1,"partitions":[...]} on one line, partitions by topic and number. */
export function planJson(assignments: readonly PartitionAssignment[]): string {
  const sorted = [...assignments].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return JSON.stringify({ version: 1, partitions: sorted.map((a) => ({ topic: a.topic, partition: a.partition, replicas: a.replicas })) });
}

const label = (p: { topic: string; partition: number }) => `${p.topic}-${p.partition}`;

/** The current replicas of every partition of `topics`. */
async function currentAssignment(admin: Admin, topics: readonly string[]): Promise<PartitionAssignment[]> {
  const infos = await admin.describeTopics([...new Set(topics)]);
  return infos.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition, replicas: [...p.replicas] })));
}

async function generate(admin: Admin, topics: string[], brokerList: number[]): Promise<string> {
  const cluster = await admin.describeCluster();
  const missing = brokerList.filter((id) => !cluster.brokers.some((b) => b.nodeId === id));
  if (missing.length > 0)
    throw new Error(`broker(s) ${missing.join(',')} of --broker-list are not in the cluster (live brokers: ${cluster.brokers.map((b) => b.nodeId).join(',')})`);
  const nodes = cluster.brokers.filter((b) => brokerList.includes(b.nodeId)).map((b) => ({ nodeId: b.nodeId, rack: b.rack }));
  const current = await currentAssignment(admin, topics);
  const proposed: PartitionAssignment[] = [];
  topics.forEach((topic, i) => {
    const parts = current.filter((a) => a.topic === topic).sort((a, b) => a.partition - b.partition);
    const rf = parts[0]?.replicas.length ?? 1;
    if (rf > nodes.length) throw new Error(`topic ${topic} has replication factor ${rf}, more than the ${nodes.length} broker(s) of --broker-list`);
    assignReplicas(nodes, parts.length, rf, i % nodes.length).forEach((replicas, partition) => proposed.push({ topic, partition, replicas }));
  });
  return `Current partition replica assignment\n${planJson(current)}\n\nProposed partition reassignment configuration\n${planJson(proposed)}\n`;
}

async function setThrottle(admin: Admin, brokers: readonly number[], rate: number): Promise<void> {
  for (const id of brokers) {
    await admin.incrementalAlterConfigs({
      resources: [{ type: 'broker', name: String(id), ops: THROTTLE_CONFIGS.map((name) => ({ name, op: 'set' as const, value: String(rate) })) }],
    });
  }
}

/** Removes the throttle from every broker of the cluster; the report line. */
async function clearThrottle(admin: Admin): Promise<string> {
  const brokers = (await admin.describeCluster()).brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  for (const id of brokers) {
    await admin.incrementalAlterConfigs({ resources: [{ type: 'broker', name: String(id), ops: THROTTLE_CONFIGS.map((name) => ({ name, op: 'delete' as const })) }] });
  }
  return `Clearing broker-level throttles on brokers ${brokers.join(',')}\n`;
}

function failures(results: readonly PartitionOutcome[], skip: (r: PartitionOutcome) => boolean = () => false): string[] {
  return results.filter((r) => r.errorCode !== 0 && !skip(r)).map((r) => `${label(r)}: ${errorName(r.errorCode) ?? r.errorCode}${r.errorMessage ? ` (${r.errorMessage})` : ''}`);
}

async function execute(admin: Admin, plan: PartitionAssignment[], throttle: number | undefined, additional: boolean): Promise<string> {
  const ongoing = await admin.listPartitionReassignments();
  if (ongoing.length > 0 && !additional) {
    throw new Error(
      `cannot execute because there is an existing partition reassignment (${ongoing.map(label).join(',')}); use --additional to start this one anyway, or --cancel the one under way`,
    );
  }
  const current = (
    await currentAssignment(
      admin,
      plan.map((p) => p.topic),
    )
  ).filter((c) => plan.some((p) => p.topic === c.topic && p.partition === c.partition));
  const unknown = plan.filter((p) => !current.some((c) => c.topic === p.topic && c.partition === p.partition));
  if (unknown.length > 0) throw new Error(`partition(s) ${unknown.map(label).join(',')} of the plan do not exist`);
  let text = `Current partition replica assignment\n\n${planJson(current)}\n\nSave this to use as the --reassignment-json-file option during rollback\n`;
  if (throttle !== undefined) {
    const brokers = [...new Set([...current, ...plan].flatMap((p) => p.replicas))].sort((a, b) => a - b);
    await setThrottle(admin, brokers, throttle);
    text += `Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\n`;
    text += `The inter-broker throttle limit was set to ${throttle} B/s on brokers ${brokers.join(',')}\n`;
  }
  const results = await admin.alterPartitionReassignments({ reassignments: plan.map((p) => ({ topic: p.topic, partition: p.partition, replicas: p.replicas })) });
  const failed = failures(results);
  const started = results.filter((r) => r.errorCode === 0);
  if (started.length > 0) text += `Successfully started partition reassignment${started.length === 1 ? '' : 's'} for ${started.map(label).join(',')}\n`;
  if (failed.length > 0) {
    out(text);
    throw new Error(`error reassigning partition(s):\n${failed.join('\n')}`);
  }
  return text;
}

async function verify(admin: Admin, plan: PartitionAssignment[], preserveThrottles: boolean): Promise<string> {
  const ongoing = new Set((await admin.listPartitionReassignments({ partitions: plan.map((p) => ({ topic: p.topic, partition: p.partition })) })).map(label));
  const current = new Map(
    (
      await currentAssignment(
        admin,
        plan.map((p) => p.topic),
      )
    ).map((c) => [label(c), c.replicas]),
  );
  const lines = ['Status of partition reassignment:'];
  let done = true;
  for (const p of plan) {
    const now = current.get(label(p)) ?? [];
    if (ongoing.has(label(p))) {
      done = false;
      lines.push(`Reassignment of partition ${label(p)} is still in progress.`);
    } else if (now.length === p.replicas.length && now.every((r, i) => r === p.replicas[i])) {
      lines.push(`Reassignment of partition ${label(p)} is completed.`);
    } else {
      lines.push(`There is no active reassignment of partition ${label(p)}, but replica set is ${now.join(',')} rather than ${p.replicas.join(',')}.`);
    }
  }
  let text = `${lines.join('\n')}\n`;
  if (done && !preserveThrottles) text += `\n${await clearThrottle(admin)}`;
  return text;
}

async function cancel(admin: Admin, plan: PartitionAssignment[], preserveThrottles: boolean): Promise<string> {
  const results = await admin.alterPartitionReassignments({ reassignments: plan.map((p) => ({ topic: p.topic, partition: p.partition, replicas: null })) });
  const cancelled = results.filter((r) => r.errorCode === 0);
  const failed = failures(results, (r) => r.errorCode === NO_REASSIGNMENT_IN_PROGRESS);
  let text =
    cancelled.length > 0 ? `Successfully cancelled partition reassignments for: ${cancelled.map(label).join(',')}\n` : 'None of the specified partition moves are active.\n';
  if (failed.length > 0) {
    out(text);
    throw new Error(`error cancelling partition reassignment(s):\n${failed.join('\n')}`);
  }
  if (!preserveThrottles) text += await clearThrottle(admin);
  return text;
}

async function listReassignments(admin: Admin): Promise<string> {
  const ongoing = await admin.listPartitionReassignments();
  if (ongoing.length === 0) return 'No partition reassignments found.\n';
  const lines = ongoing.map((r) => `${label(r)}: replicas: ${r.replicas.join(',')}. adding: ${r.addingReplicas.join(',')}. removing: ${r.removingReplicas.join(',')}.`);
  return `Current partition reassignments:\n${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Leader election.

/** kafka-leader-election.sh's report: successes, partitions whose leader was right already, failures. */
export function electionReport(type: ElectionType, results: readonly PartitionOutcome[]): { text: string; failed: number } {
  const kind = type.toUpperCase();
  const elected = results.filter((r) => r.errorCode === 0).map(label);
  const notNeeded = results.filter((r) => r.errorCode === ELECTION_NOT_NEEDED).map(label);
  const failed = failures(results, (r) => r.errorCode === ELECTION_NOT_NEEDED);
  const lines: string[] = [];
  if (elected.length > 0) lines.push(`Successfully completed leader election (${kind}) for partitions ${elected.join(', ')}`);
  if (notNeeded.length > 0) lines.push(`Valid replica already elected for partitions ${notNeeded.join(', ')}`);
  for (const f of failed) lines.push(`Error completing leader election (${kind}) for partition: ${f}`);
  if (lines.length === 0) lines.push(`No leader election (${kind}) was needed.`);
  return { text: `${lines.join('\n')}\n`, failed: failed.length };
}
