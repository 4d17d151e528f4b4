/**
 * `brook console`: a REPL (node:repl) attached to a running node over its HTTP API. Every
 * helper is async and returns plain data, which the REPL awaits and prints:
 *
 *   actors()                 every actor with thread, status, mailbox and state
 *   inspect(id)              one actor, inspected on its thread
 *   send(id, message)        asks the actor one message of its kind's union; returns the reply
 *   restart(id)              restart through the supervisor
 *   failurePoint(id, point, enabled = true, times?)
 *   topics(), groups(), group(id), overview()
 *   tail(topic, partition?)  prints records as they arrive; tail.stop() ends it
 *   workers.add(n)           adds worker threads; actors move to them
 *
 * Completion: besides JavaScript's, a string argument of inspect/send/restart/failurePoint
 * completes to actor ids, and of tail/group to topic and group names (fetched and cached for a
 * few seconds).
 */
import repl, { type REPLServer } from 'node:repl';
import type { Command } from 'commander';
import WebSocket from 'ws';
import { nodeApi } from './node-api.js';

const completionCacheMs = 3000;

export interface ConsoleApi {
  overview(): Promise<unknown>;
  actors(): Promise<unknown[]>;
  inspect(id: string): Promise<unknown>;
  send(id: string, message: unknown): Promise<unknown>;
  restart(id: string): Promise<unknown>;
  failurePoint(id: string, point: string, enabled?: boolean, times?: number): Promise<unknown>;
  topics(): Promise<unknown[]>;
  groups(): Promise<unknown[]>;
  group(id: string): Promise<unknown>;
  tail: ((topic: string, partition?: number) => Promise<string>) & { stop(): string };
  workers: { add(n?: number): Promise<unknown> };
}

/** The helpers bound to one node's HTTP address; `print` is where tailed records go. */
export function consoleApi(http: string, print: (line: string) => void): ConsoleApi {
  const get = <T>(path: string) => nodeApi<T>(http, path);
  const post = <T>(path: string, body: unknown) => nodeApi<T>(http, path, { method: 'POST', body });
  const enc = encodeURIComponent;
  let socket: WebSocket | undefined;
  const tail = Object.assign(
    (topic: string, partition?: number): Promise<string> =>
      new Promise((resolve, reject) => {
        tail.stop();
        const base = http.includes('://') ? http.replace(/^http/, 'ws') : `ws://${http}`;
        const ws = new WebSocket(`${base}/api/tail?topic=${enc(topic)}${partition === undefined ? '' : `&partition=${partition}`}`);
        socket = ws;
        ws.on('unexpected-response', (_req, res) => reject(new Error(`tail ${topic}: HTTP ${res.statusCode}`)));
        ws.on('error', (err) => reject(err));
        ws.on('message', (data) => {
          // The socket's binaryType is the default 'nodebuffer': a message arrives as one Buffer.
          const m = JSON.parse((data as Buffer).toString()) as {
            type: string;
            records?: { partition: number; offset: number; key: { b64: string } | null; value: { b64: string } | null }[];
            partitions?: unknown[];
          };
          if (m.type === 'subscribed') resolve(`tailing ${topic} (${m.partitions?.length ?? 0} partitions); tail.stop() to end`);
          for (const r of m.records ?? []) print(`${topic}-${r.partition}@${r.offset} ${text(r.key)} ${text(r.value)}`);
          if (m.type !== 'records' && m.type !== 'subscribed') print(JSON.stringify(m));
        });
      }),
    {
      stop(): string {
        if (!socket) return 'no tail running';
        // terminate, not close: a socket still connecting cannot be closed politely.
        socket.terminate();
        socket = undefined;
        return 'tail stopped';
      },
    },
  );
  return {
    overview: () => get('/api/overview'),
    actors: () => get<unknown[]>('/api/actors'),
    inspect: (id) => get(`/api/actors/${enc(id)}`),
    send: async (id, message) => (await post<{ reply: unknown }>(`/api/actors/${enc(id)}/send`, { message })).reply,
    restart: (id) => post(`/api/actors/${enc(id)}/restart`, {}),
    failurePoint: (id, point, enabled = true, times) => post(`/api/actors/${enc(id)}/failure-points`, { point, enabled, times }),
    topics: () => get<unknown[]>('/api/topics'),
    groups: () => get<unknown[]>('/api/groups'),
    group: (id) => get(`/api/groups/${enc(id)}`),
    tail,
    workers: { add: (n = 1) => post('/api/workers', { count: n }) },
  };
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as { then?: unknown } | null)?.then === 'function';

/** A plain object of any realm: the REPL's context is another realm, so no instanceof checks. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** `v` with a promise, or promises one level inside an array or plain object, replaced by their values. */
export async function settled(v: unknown): Promise<unknown> {
  if (isThenable(v)) return v;
  if (Array.isArray(v) && v.some(isThenable)) return Promise.all(v);
  if (isPlainObject(v) && Object.values(v).some(isThenable)) {
    return Object.fromEntries(await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await x] as const)));
  }
  return v;
}

function text(v: { b64: string } | null): string {
  return v === null ? 'null' : Buffer.from(v.b64, 'base64').toString('utf8');
}

/**
 * Completes a string argument of the helpers from the node's names: `inspect('part` lists
 * actor ids starting with 'part'. Returns undefined when the line is not such an argument.
 */
export async function completeNames(line: string, names: (what: 'actors' | 'topics' | 'groups') => Promise<string[]>): Promise<[string[], string] | undefined> {
  const m = /\b(inspect|send|restart|failurePoint|tail|group)\(\s*(['"`])([^'"`]*)$/.exec(line);
  if (!m) return undefined;
  const what = m[1] === 'tail' ? 'topics' : m[1] === 'group' ? 'groups' : 'actors';
  const prefix = m[3]!;
  const hits = (await names(what)).filter((n) => n.startsWith(prefix)).sort();
  return [hits, prefix];
}

function cachedNames(http: string): (what: 'actors' | 'topics' | 'groups') => Promise<string[]> {
  const cache = new Map<string, { at: number; names: string[] }>();
  return async (what) => {
    const hit = cache.get(what);
    if (hit && Date.now() - hit.at < completionCacheMs) return hit.names;
    const path = what === 'actors' ? '/api/actors' : what === 'topics' ? '/api/topics' : '/api/groups';
    const rows = await nodeApi<{ id?: string; name?: string; groupId?: string }[]>(http, path, { timeoutMs: 2000 }).catch(() => []);
    const names = rows.map((r) => r.id ?? r.name ?? r.groupId ?? '').filter(Boolean);
    cache.set(what, { at: Date.now(), names });
    return names;
  };
}

export function startConsole(http: string, opts: { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream; terminal?: boolean } = {}): REPLServer {
  const output = opts.output ?? process.stdout;
  // `print` runs only on a tailed socket's messages, so after `server` below is set.
  const print = (line: string) => {
    output.write(`${line}\n`);
    server.displayPrompt(true);
  };
  const helpers = consoleApi(http, print);
  const names = cachedNames(http);
  const server = repl.start({
    prompt: 'brook> ',
    input: opts.input ?? process.stdin,
    output,
    terminal: opts.terminal,
    useGlobal: false,
    ignoreUndefined: true,
  });
  // Every helper is async, so the REPL awaits what it prints: a promise, and promises directly
  // inside an array or a plain object (`[inspect(a), inspect(b)]`). Lines are evaluated one after
  // another: piped input (a script) sends the next line before the answer to this one, and its
  // results must print in order, each line seeing what the lines before it did. Ctrl-C stops
  // waiting for the current answer, so a promise that never settles does not hang the console.
  type Evaluator = (cmd: string, context: object, file: string, cb: (err: Error | null, result?: unknown) => void) => void;
  const ev = server as unknown as { eval: Evaluator };
  const evaluate = ev.eval;
  let queue: Promise<void> = Promise.resolve();
  let interrupt: (() => void) | undefined;
  ev.eval = function (this: unknown, cmd, context, file, cb) {
    queue = queue.then(
      () =>
        new Promise<void>((done) => {
          let answered = false;
          const answer = (err: Error | null, result?: unknown) => {
            if (answered) return;
            answered = true;
            interrupt = undefined;
            cb(err, result);
            done();
          };
          interrupt = () => {
            // Only the message: a stack into the console's own code would say nothing to the user.
            const err = new Error('interrupted; the answer was not awaited');
            err.stack = `Error: ${err.message}`;
            answer(err);
          };
          try {
            evaluate.call(this, cmd, context, file, (err, result) => {
              if (err) answer(err);
              else
                settled(result).then(
                  (v) => answer(null, v),
                  (e: Error) => answer(e),
                );
            });
          } catch (err) {
            answer(err as Error);
          }
        }),
    );
  };
  server.on('SIGINT', () => interrupt?.());
  // Name arguments complete from the node; everything else goes to the REPL's own JavaScript
  // completer, which readline calls as `this.completer` with the server as `this`.
  type Completer = (line: string, cb: (err: Error | null, r?: [string[], string]) => void) => void;
  const r = server as unknown as { completer: Completer };
  const builtIn = r.completer;
  r.completer = function (this: unknown, line, callback) {
    completeNames(line, names).then(
      (named) => {
        if (named) callback(null, named);
        else builtIn.call(this, line, callback);
      },
      (err: Error) => callback(err),
    );
  };
  Object.assign(server.context, helpers, { http });
  server.defineCommand('help-brook', {
    help: 'List the Brook helpers',
    action() {
      output.write(
        'actors() inspect(id) send(id, msg) restart(id) failurePoint(id, point, on, times) topics() groups() group(id) overview() tail(topic, p?) tail.stop() workers.add(n)\n',
      );
      this.displayPrompt();
    },
  });
  server.on('exit', () => helpers.tail.stop());
  return server;
}

export function registerConsole(program: Command): void {
  program
    .command('console')
    .description('a REPL attached to a running node: actors(), inspect(id), send(id, msg), tail(topic), workers.add(n)')
    .option('--http <host:port>', "the node's HTTP API", '127.0.0.1:8080')
    .action(async (opts: { http: string }) => {
      const o = await nodeApi<{ nodeId: number; listener: string; threads: unknown[] }>(opts.http, '/api/overview');
      process.stdout.write(`connected to node ${o.nodeId} (${o.listener}, ${o.threads.length} threads) at ${opts.http}; .help-brook lists the helpers\n`);
      const server = startConsole(opts.http);
      await new Promise<void>((resolve) => server.on('exit', () => resolve()));
    });
}
