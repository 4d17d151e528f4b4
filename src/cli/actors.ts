/**
 * `brook actors` (the actors of a running node per worker thread, with mailbox depth and state)
 * and `brook workers add N` (grow the running node's worker threads; actors move to them).
 */
import type { Command } from 'commander';
import { nodeApi } from './node-api.js';
import { intParser } from './options.js';

interface ActorRow {
  id: string;
  kind: string;
  status: string;
  threadIndex: number | null;
  inFlight: number;
  waiting: number;
  restarts: number;
  lastError?: string;
  messagesHandled?: number;
  state?: Record<string, unknown>;
}

const httpOption = ['--http <host:port>', "the node's HTTP API", '127.0.0.1:8080'] as const;

export function registerActors(program: Command): void {
  program
    .command('actors')
    .description('list the actors of a running node per worker thread, with mailbox depth and state')
    .option(...httpOption)
    .option('--json', 'print JSON')
    .action(async (opts: { http: string; json?: boolean }) => {
      const rows = await nodeApi<ActorRow[]>(opts.http, '/api/actors');
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      process.stdout.write(formatActors(rows));
    });

  const workers = program.command('workers').description('worker threads of a running node');
  workers
    .command('add')
    .description('add worker threads to a running node; actors move to them')
    // A bad count is a usage error (exit 2), found by commander before the node is asked.
    .argument('<count>', 'threads to add (1-64)', intParser(1, 64))
    .option(...httpOption)
    .action(async (n: number, opts: { http: string }) => {
      const r = await nodeApi<{ added: number[]; moved: { actorId: string; from: number; to: number }[] }>(opts.http, '/api/workers', { method: 'POST', body: { count: n } });
      process.stdout.write(`added thread(s) ${r.added.join(', ')}; moved ${r.moved.length} actor(s)\n`);
      for (const m of r.moved) process.stdout.write(`  ${m.actorId}: thread ${m.from} -> ${m.to}\n`);
    });
}

/**
 * Actors per thread (threads in numeric order, unplaced actors last), as the web console lists
 * them: user partitions first, then the group coordinators, each in numeric order of partition
 * (t:2 before t:10). A partition shows its log; a group coordinator its log (of its
 * __consumer_offsets partition) and the groups and members it holds.
 */
export function formatActors(rows: ActorRow[]): string {
  const byThread = new Map<number | null, ActorRow[]>();
  for (const r of rows) {
    if (!byThread.has(r.threadIndex)) byThread.set(r.threadIndex, []);
    byThread.get(r.threadIndex)!.push(r);
  }
  const lines: string[] = rows.length === 0 ? ['no actors'] : [];
  const threads = [...byThread.keys()].sort((a, b) => (a ?? Infinity) - (b ?? Infinity));
  for (const thread of threads) {
    const actors = byThread.get(thread)!.sort(byKindThenId);
    lines.push(`THREAD ${thread ?? 'none'} (${actors.length} actors)`);
    lines.push(`  ${'ACTOR'.padEnd(40)} ${'KIND'.padEnd(18)} ${'STATUS'.padEnd(10)} ${'MAILBOX'.padStart(7)} ${'RESTARTS'.padStart(8)}  STATE`);
    for (const a of actors) {
      lines.push(
        `  ${a.id.padEnd(40)} ${a.kind.padEnd(18)} ${a.status.padEnd(10)} ${String(a.inFlight + a.waiting).padStart(7)} ${String(a.restarts).padStart(8)}  ${stateText(a.state)}${a.lastError ? ` last error: ${a.lastError}` : ''}`.trimEnd(),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

const numeric = new Intl.Collator('en', { numeric: true });

function byKindThenId(x: ActorRow, y: ActorRow): number {
  const order = (a: ActorRow) => (a.kind === 'partition' ? 0 : 1);
  return order(x) - order(y) || numeric.compare(x.id, y.id);
}

/** A group coordinator's state nests its log under `partition`, beside `groups`. */
function stateText(state: Record<string, unknown> | undefined): string {
  if (state === undefined) return '';
  const nested = state.partition;
  const log = (typeof nested === 'object' && nested !== null ? nested : state) as {
    logStartOffset?: number;
    logEndOffset?: unknown;
    highWatermark?: number;
    leaderEpoch?: number;
    sizeBytes?: number;
  };
  const parts: string[] = [];
  if (typeof log.logEndOffset === 'number') {
    parts.push(`start=${log.logStartOffset} end=${log.logEndOffset} hw=${log.highWatermark} epoch=${log.leaderEpoch} bytes=${log.sizeBytes}`);
  }
  const groups = state.groups as { groups?: number; members?: number } | undefined;
  if (typeof groups === 'object' && groups !== null) parts.push(`groups=${groups.groups} members=${groups.members}`);
  return parts.join(' ');
}
