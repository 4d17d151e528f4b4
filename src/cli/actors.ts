/**
 * `brook actors` (the actors of a running node per worker thread, with mailbox depth and state)
 * and `brook workers add N` (grow the running node's worker threads; actors move to them).
 */
import type { Command } from 'commander';
import { nodeApi } from './node-api.js';

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

const httpOption = ['--http <host:port>', 'the node\'s HTTP API', '127.0.0.1:8080'] as const;

export function registerActors(program: Command): void {
  program.command('actors')
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
  workers.command('add')
    .description('add worker threads to a running node; actors move to them')
    .argument('<count>', 'threads to add (1-64)')
    .option(...httpOption)
    .action(async (count: string, opts: { http: string }) => {
      const n = Number(count);
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`count must be an integer from 1 to 64, got '${count}'`);
      const r = await nodeApi<{ added: number[]; moved: { actorId: string; from: number; to: number }[] }>(opts.http, '/api/workers', { method: 'POST', body: { count: n } });
      process.stdout.write(`added thread(s) ${r.added.join(', ')}; moved ${r.moved.length} actor(s)\n`);
      for (const m of r.moved) process.stdout.write(`  ${m.actorId}: thread ${m.from} -> ${m.to}\n`);
    });
}

export function formatActors(rows: ActorRow[]): string {
  const byThread = new Map<string, ActorRow[]>();
  for (const r of rows) {
    const key = r.threadIndex === null ? 'none' : String(r.threadIndex);
    if (!byThread.has(key)) byThread.set(key, []);
    byThread.get(key)!.push(r);
  }
  const lines: string[] = rows.length === 0 ? ['no actors'] : [];
  for (const [thread, actors] of [...byThread.entries()].sort()) {
    lines.push(`THREAD ${thread} (${actors.length} actors)`);
    lines.push(`  ${'ACTOR'.padEnd(40)} ${'KIND'.padEnd(18)} ${'STATUS'.padEnd(10)} ${'MAILBOX'.padStart(7)} ${'RESTARTS'.padStart(8)}  STATE`);
    for (const a of actors.sort((x, y) => x.id.localeCompare(y.id))) {
      const s = a.state ?? {};
      const state = 'logEndOffset' in s ? `start=${s.logStartOffset} end=${s.logEndOffset} hw=${s.highWatermark} epoch=${s.leaderEpoch} bytes=${s.sizeBytes}` : '';
      lines.push(`  ${a.id.padEnd(40)} ${a.kind.padEnd(18)} ${a.status.padEnd(10)} ${String(a.inFlight + a.waiting).padStart(7)} ${String(a.restarts).padStart(8)}  ${state}${a.lastError ? ` last error: ${a.lastError}` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
