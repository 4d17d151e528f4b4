/**
 * Real Kafka clients for interop tests: detection of the Debian-packaged tools (kcat,
 * confluent-kafka-python, kafka-python) with skips that name the missing package, and
 * child-process runners where every wait has a timeout.
 *
 * Python always means Debian's /usr/bin/python3: the python3 first on PATH may be a pyenv
 * build that cannot see Debian's python3-* packages.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

export const PYTHON = '/usr/bin/python3';

/** Folder of the interop tests' python scripts. */
export const PYTHON_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'interop', 'python');

/** A tool a test needs: whether it is here and, if not, which Debian package provides it. */
export interface Requirement {
  readonly name: string;
  readonly available: boolean;
  /** The Debian package to install when unavailable. */
  readonly debianPackage: string;
  /** Path of the executable (kcat) when available. */
  readonly path: string | null;
}

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/local/bin'])) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

let kcatPath: string | null | undefined;
/** Path of kcat (or its pre-bookworm name kafkacat), or null. */
export function findKcat(): string | null {
  if (kcatPath !== undefined) return kcatPath;
  kcatPath = null;
  for (const name of ['kcat', 'kafkacat']) {
    const p = which(name);
    if (!p) continue;
    const r = spawnSync(p, ['-V'], { timeout: 5_000, encoding: 'utf8' });
    if (r.status === 0) {
      kcatPath = p;
      break;
    }
  }
  return kcatPath;
}

const moduleCache = new Map<string, boolean>();
/** Whether Debian's python can import `mod`. */
export function hasPythonModule(mod: string): boolean {
  const cached = moduleCache.get(mod);
  if (cached !== undefined) return cached;
  let ok = false;
  if (existsSync(PYTHON)) {
    const r = spawnSync(PYTHON, ['-c', `import ${mod}`], { timeout: 10_000, encoding: 'utf8' });
    ok = r.status === 0;
  }
  moduleCache.set(mod, ok);
  return ok;
}

export function kcatRequirement(): Requirement {
  const path = findKcat();
  return { name: 'kcat', available: path !== null, debianPackage: 'kcat', path };
}

export function pythonRequirement(mod: 'confluent_kafka' | 'kafka'): Requirement {
  const debianPackage = mod === 'confluent_kafka' ? 'python3-confluent-kafka' : 'python3-kafka';
  return { name: `python module ${mod}`, available: hasPythonModule(mod), debianPackage, path: PYTHON };
}

/** Like describe(), but skipped — never silently — unless every requirement is met. */
export function describeIf(reqs: Requirement | Requirement[], name: string, fn: () => void): void {
  const missing = (Array.isArray(reqs) ? reqs : [reqs]).filter((r) => !r.available);
  if (missing.length > 0) {
    for (const r of missing) console.warn(`skipping "${name}": ${r.name} not found; install Debian package ${r.debianPackage}`);
  }
  describe.skipIf(missing.length > 0)(name, fn);
}

/** For it.skipIf(): true (and a warning naming the package) when some requirement is missing. */
export function missing(...reqs: Requirement[]): boolean {
  const m = reqs.filter((r) => !r.available);
  for (const r of m) console.warn(`skipping: ${r.name} not found; install Debian package ${r.debianPackage}`);
  return m.length > 0;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface RunOptions {
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  /** Kill (SIGKILL after SIGTERM) and resolve with timedOut=true after this long. Default 15 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a child process to completion, capturing stdout and stderr. Never waits past the timeout. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args as string[], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    child.stdin.on('error', () => {}); // the child may exit before reading stdin
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** A failed run as an Error carrying the command and both streams, for test output. */
export function runError(what: string, r: RunResult): Error {
  const why = r.timedOut ? 'timed out' : `exited with code ${r.code}${r.signal ? ' signal ' + r.signal : ''}`;
  return new Error(`${what} ${why}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`);
}

/** Runs kcat with `args`; rejects when it is missing, fails, or times out. */
export async function kcat(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const path = findKcat();
  if (!path) throw new Error('kcat not found; install Debian package kcat');
  const r = await run(path, args, opts);
  if (r.code !== 0 || r.timedOut) throw runError(`kcat ${args.join(' ')}`, r);
  return r;
}

/** One record as kcat -J prints it. */
export interface KcatRecord {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  broker: number;
  headers?: string[];
  key: string | null;
  payload: string | null;
}

/**
 * Reads every record of `topic` (all partitions, or `partition`) from the beginning to the
 * end with kcat -C -e -J.
 */
export async function kcatConsumeAll(bootstrap: string, topic: string, partition?: number, timeoutMs = 15_000): Promise<KcatRecord[]> {
  const args = ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q'];
  if (partition !== undefined) args.push('-p', String(partition));
  const r = await kcat(args, { timeoutMs });
  return r.stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as KcatRecord);
}

/**
 * Runs one of the JSON-in/JSON-out python scripts in test/interop/python/ with Debian's
 * python: `request` goes to stdin as JSON, the last stdout line is parsed as the reply.
 */
export async function runPythonScript<T = unknown>(script: string, request: unknown, opts: RunOptions = {}): Promise<T> {
  const path = join(PYTHON_DIR, script);
  const r = await run(PYTHON, [path], { timeoutMs: 20_000, ...opts, input: JSON.stringify(request) });
  if (r.code !== 0 || r.timedOut) throw runError(`${PYTHON} ${script} ${JSON.stringify(request).slice(0, 300)}`, r);
  const lines = r.stdout.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw runError(`${PYTHON} ${script}: no JSON reply`, r);
  }
}

/** Runs an inline python program with Debian's python; resolves with its stdout. */
export async function runPythonInline(code: string, opts: RunOptions = {}): Promise<string> {
  const r = await run(PYTHON, ['-c', code], { timeoutMs: 20_000, ...opts });
  if (r.code !== 0 || r.timedOut) throw runError('python -c', r);
  return r.stdout;
}

/** A topic name unique to this process and call. */
let topicSeq = 0;
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${++topicSeq}`;
}
