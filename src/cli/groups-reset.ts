/**
 * `brook groups reset-offsets`, as kafka-consumer-groups.sh --reset-offsets: one scenario
 * (--to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime,
 * --by-duration, --from-file) over a scope (--topic topic[:partitions], repeatable, or
 * --all-topics; --from-file carries its own). The plan is printed (a table, or CSV with --export)
 * and only committed with --execute. Like Kafka, a group with active members is refused: its
 * members would overwrite the reset with their next commit.
 *
 * Every new offset is clamped to the partition's [earliest, latest]; a partition with no
 * committed offset counts as being at its latest offset for --to-current and --shift-by.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Admin } from '../client/index.js';
import { collect, formatTable, note, out, topicInfo, UsageError, withAdmin, withBootstrap, type BootstrapOptions } from './options.js';

interface ResetOptions extends BootstrapOptions {
  group?: string;
  topic?: string[];
  allTopics?: boolean;
  toEarliest?: boolean;
  toLatest?: boolean;
  toCurrent?: boolean;
  toOffset?: string;
  shiftBy?: string;
  toDatetime?: string;
  byDuration?: string;
  fromFile?: string;
  dryRun?: boolean;
  execute?: boolean;
  export?: boolean;
}

type Scenario =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'current' }
  | { kind: 'offset'; offset: number }
  | { kind: 'shift'; by: number }
  | { kind: 'timestamp'; timestampMs: number }
  | { kind: 'file'; rows: PlanRow[] };

export interface PlanRow {
  topic: string;
  partition: number;
  offset: number;
}

export function registerResetOffsets(groups: Command): void {
  withBootstrap(groups.command('reset-offsets'))
    .description('plan (and with --execute, commit) new offsets for a group with no active members')
    .argument('[group]', 'group id (or --group)')
    .option('--group <id>', 'group id')
    .option('--topic <topic[:partitions]>', 'a topic, or some of its partitions (events:0,1 or events:0-3); repeat for more', collect)
    .option('--all-topics', 'every topic the group has committed offsets for')
    .option('--to-earliest', 'reset to the earliest offset')
    .option('--to-latest', 'reset to the latest offset (the log end)')
    .option('--to-current', 'reset to the committed offset')
    .option('--to-offset <offset>', 'reset to this offset')
    .option('--shift-by <n>', 'move the committed offset by n (negative moves back)')
    .option('--to-datetime <datetime>', 'reset to the first offset at or after YYYY-MM-DDTHH:mm:SS.sss (local time unless Z or +hh:mm is given)')
    .option('--by-duration <duration>', 'reset to the first offset at or after now minus an ISO-8601 duration (PnDTnHnMn.nS, e.g. PT10M)')
    .option('--from-file <csv>', 'reset to the offsets in a CSV file of topic,partition,offset lines')
    .option('--dry-run', 'print the plan only (the default)')
    .option('--execute', 'commit the plan')
    .option('--export', 'print the plan as CSV (topic,partition,offset), the format --from-file reads')
    .action(async (positional: string | undefined, opts: ResetOptions) => {
      const groupId = positional ?? opts.group;
      if (groupId === undefined) throw new UsageError('a group is required: give it as an argument or with --group');
      if (positional !== undefined && opts.group !== undefined && positional !== opts.group) throw new UsageError(`two groups given: '${positional}' and --group '${opts.group}'`);
      if (opts.dryRun && opts.execute) throw new UsageError('--dry-run and --execute cannot be used together');
      const scenario = scenarioOf(opts);
      if (scenario.kind !== 'file' && (opts.topic === undefined) === !opts.allTopics) throw new UsageError('give the topics to reset: --topic (repeatable) or --all-topics');
      if (scenario.kind === 'file' && (opts.topic !== undefined || opts.allTopics)) throw new UsageError('--from-file names its own partitions: drop --topic/--all-topics');
      await withAdmin(opts, async (admin) => {
        const [desc] = await admin.describeGroups([groupId]);
        const state = desc?.state ?? 'Dead';
        if (state !== 'Empty' && state !== 'Dead') {
          throw new Error(`Assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${state}.`);
        }
        const plan = await planReset(admin, groupId, scenario, opts);
        if (opts.export) out(plan.map((r) => `${r.topic},${r.partition},${r.offset}\n`).join(''));
        else
          out(
            formatTable(
              ['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'],
              plan.map((r) => [groupId, r.topic, String(r.partition), String(r.offset)]),
            ),
          );
        if (!opts.execute) {
          note('Dry run: no offsets were changed. Add --execute to commit them.');
          return;
        }
        const byTopic = new Map<string, PlanRow[]>();
        for (const r of plan) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
        for (const [topic, rows] of byTopic) await admin.setOffsets({ groupId, topic, partitions: rows.map((r) => ({ partition: r.partition, offset: r.offset })) });
      });
    });
}

function scenarioOf(opts: ResetOptions): Scenario {
  const given: Scenario[] = [];
  if (opts.toEarliest) given.push({ kind: 'earliest' });
  if (opts.toLatest) given.push({ kind: 'latest' });
  if (opts.toCurrent) given.push({ kind: 'current' });
  if (opts.toOffset !== undefined) given.push({ kind: 'offset', offset: integer('--to-offset', opts.toOffset, 0) });
  if (opts.shiftBy !== undefined) given.push({ kind: 'shift', by: integer('--shift-by', opts.shiftBy, -Number.MAX_SAFE_INTEGER) });
  if (opts.toDatetime !== undefined) given.push({ kind: 'timestamp', timestampMs: parseDatetime(opts.toDatetime) });
  if (opts.byDuration !== undefined) given.push({ kind: 'timestamp', timestampMs: Date.now() - parseDuration(opts.byDuration) });
  if (opts.fromFile !== undefined) given.push({ kind: 'file', rows: readPlanFile(opts.fromFile) });
  if (given.length !== 1) {
    throw new UsageError(`give exactly one of --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime, --by-duration, --from-file (got ${given.length})`);
  }
  return given[0]!;
}

function integer(option: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${option} must be an integer${min === 0 ? ' >= 0' : ''}, got '${raw}'`);
  return n;
}

/** Kafka's --to-datetime format, YYYY-MM-DDTHH:mm:SS.sss with an optional zone (Z, +hh:mm, +hhmm). */
export function parseDatetime(raw: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:?\d{2})?$/.exec(raw);
  const ms = m === null ? NaN : Date.parse(m[1]! + (m[2] === undefined ? '' : m[2] === 'Z' ? 'Z' : m[2].replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2')));
  if (Number.isNaN(ms)) throw new UsageError(`--to-datetime expects YYYY-MM-DDTHH:mm:SS.sss (optionally with Z or +hh:mm), got '${raw}'`);
  return ms;
}

/** An ISO-8601 duration as Java's Duration.parse reads it: PnDTnHnMn.nS. */
export function parseDuration(raw: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(raw.trim());
  if (m === null || raw.trim().length <= 1 || /T$/i.test(raw.trim())) throw new UsageError(`--by-duration expects an ISO-8601 duration such as PT10M or P1DT2H, got '${raw}'`);
  const [, d, h, min, s] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Math.round(Number(s ?? 0) * 1000);
}

/** topic,partition,offset lines (the --export format); blank lines are skipped. */
export function readPlanFile(path: string): PlanRow[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--from-file ${path}: ${(err as Error).message}`);
  }
  const rows: PlanRow[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^\s*([^,]+?)\s*,\s*(\d+)\s*,\s*(\d+)\s*$/.exec(line);
    if (m === null) throw new UsageError(`--from-file ${path} line ${i + 1}: expected topic,partition,offset, got '${line}'`);
    rows.push({ topic: m[1]!, partition: Number(m[2]), offset: Number(m[3]) });
  });
  if (rows.length === 0) throw new UsageError(`--from-file ${path}: no topic,partition,offset lines`);
  return rows;
}

/** `events`, `events:0,2` or `events:0-3`. */
export function parseTopicSpec(spec: string): { topic: string; partitions?: number[] } {
  const colon = spec.lastIndexOf(':');
  if (colon < 0) return { topic: spec };
  const topic = spec.slice(0, colon);
  const partitions: number[] = [];
  for (const part of spec.slice(colon + 1).split(',')) {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
    if (topic === '' || m === null) throw new UsageError(`--topic expects topic or topic:partitions (0,1 or 0-3), got '${spec}'`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let p = from; p <= to; p++) partitions.push(p);
  }
  return { topic, partitions };
}

async function planReset(admin: Admin, groupId: string, scenario: Scenario, opts: ResetOptions): Promise<PlanRow[]> {
  const committed = new Map<string, number>();
  for (const c of await admin.fetchOffsets({ groupId })) if (c.offset >= 0) committed.set(`${c.topic}\u0000${c.partition}`, c.offset);
  // The partitions in scope, by topic.
  const scope = new Map<string, Set<number>>();
  const add = (topic: string, ps: number[]) => {
    const s = scope.get(topic) ?? new Set<number>();
    for (const p of ps) s.add(p);
    scope.set(topic, s);
  };
  if (scenario.kind === 'file') {
    for (const r of scenario.rows) add(r.topic, [r.partition]);
  } else if (opts.allTopics) {
    for (const k of committed.keys()) add(k.split('\u0000')[0]!, [Number(k.split('\u0000')[1])]);
    if (scope.size === 0) throw new Error(`group '${groupId}' has no committed offsets: name the topics with --topic`);
  } else {
    for (const spec of (opts.topic ?? []).map(parseTopicSpec)) {
      const info = await topicInfo(admin, spec.topic);
      const all = info.partitions.map((p) => p.partition);
      const bad = (spec.partitions ?? []).filter((p) => !all.includes(p));
      if (bad.length > 0) throw new UsageError(`--topic ${spec.topic}: no partition ${bad.join(', ')} (it has ${all.length})`);
      add(spec.topic, spec.partitions ?? all);
    }
  }
  const plan: PlanRow[] = [];
  for (const [topic, set] of [...scope].sort(([a], [b]) => a.localeCompare(b))) {
    const partitions = [...set].sort((a, b) => a - b);
    const earliest = await offsetsAt(admin, topic, partitions, 'earliest');
    const latest = await offsetsAt(admin, topic, partitions, 'latest');
    const atTime = scenario.kind === 'timestamp' ? await offsetsAt(admin, topic, partitions, { timestamp: scenario.timestampMs }) : null;
    for (const partition of partitions) {
      const lo = earliest.get(partition)!;
      const hi = latest.get(partition)!;
      const current = committed.get(`${topic}\u0000${partition}`) ?? hi;
      let target: number;
      switch (scenario.kind) {
        case 'earliest':
          target = lo;
          break;
        case 'latest':
          target = hi;
          break;
        case 'current':
          target = current;
          break;
        case 'offset':
          target = scenario.offset;
          break;
        case 'shift':
          target = current + scenario.by;
          break;
        case 'timestamp': {
          const at = atTime!.get(partition)!;
          target = at < 0 ? hi : at;
          break;
        }
        case 'file':
          target = scenario.rows.find((r) => r.topic === topic && r.partition === partition)!.offset;
          break;
      }
      plan.push({ topic, partition, offset: Math.min(hi, Math.max(lo, target)) });
    }
  }
  return plan;
}

async function offsetsAt(admin: Admin, topic: string, partitions: number[], at: 'earliest' | 'latest' | { timestamp: number }): Promise<Map<number, number>> {
  const res = await admin.listOffsets({ topic, partitions, at }).catch((err: Error) => {
    throw new Error(`topic ${topic}: ${err.message}`);
  });
  return new Map(res.map((o) => [o.partition, o.offset]));
}
