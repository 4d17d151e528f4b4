/**
 * The node's data dir: checked and created before anything else touches it, then locked for the
 * node's life. Runs on the main thread, once, at the node's start (and the release at its stop).
 *
 * The lock is what Kafka's `.lock` file is: a second node on a dir in use would append to the same
 * SQLite logs and hand out the same offsets, so it must not start. The lock is an OS-level one,
 * so a node that crashed (SIGKILL, power loss) leaves no stale lock behind: it is SQLite's own
 * POSIX advisory lock on `<dataDir>/.lock`, taken with `locking_mode=EXCLUSIVE` and held by one
 * open connection until the node stops. POSIX locks belong to the process and the kernel drops
 * them when it exits, whatever the reason. SQLite also tracks them across connections inside one
 * process, so two embedded brokers in one program on the same dir are refused the same way.
 * The holder writes its PID to `<dataDir>/.lock.pid` after it has the lock; a refused node reads
 * it to name the holder (the lock itself cannot be read while another process holds it).
 */
import Database from 'better-sqlite3';
import { accessSync, constants, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** A data dir that cannot be used: the message names the dir and why. */
export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

export const LOCK_FILE = '.lock';
export const LOCK_PID_FILE = '.lock.pid';

/**
 * Creates `dir` and its missing parents one level at a time, after checking that the nearest
 * existing ancestor is a writable directory. Node 20's `mkdirSync(dir, { recursive: true })`
 * spins forever at 100% CPU when a level answers ENOENT although its parent exists (as /proc
 * does), ignoring signals; creating each level ourselves turns that into an error.
 */
export function prepareDataDir(dir: string): string {
  const abs = resolve(dir);
  const missing: string[] = [];
  let existing = abs;
  for (;;) {
    const kind = kindOf(existing);
    if (kind === 'dir') break;
    if (kind === 'other') throw new DataDirError(`data dir ${abs}: ${existing} exists and is not a directory (--data-dir)`);
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) throw new DataDirError(`data dir ${abs}: no existing ancestor directory (--data-dir)`);
    existing = parent;
  }
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    throw new DataDirError(`data dir ${abs}: ${existing} is not writable by this user (--data-dir)`);
  }
  for (const level of missing) {
    try {
      mkdirSync(level);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EEXIST' && kindOf(level) === 'dir') continue;
      throw new DataDirError(`data dir ${abs}: cannot create ${level}: ${e.code ?? e.message} (--data-dir)`);
    }
  }
  return abs;
}

function kindOf(path: string): 'dir' | 'other' | 'none' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'other';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'none';
    if (code === 'ENOTDIR') return 'other';
    throw new DataDirError(`cannot inspect ${path}: ${code ?? (err as Error).message} (--data-dir)`);
  }
}

/** The held lock of one data dir. `release()` is idempotent. */
export interface DataDirLock {
  readonly dir: string;
  release(): void;
}

/**
 * Takes the data dir's lock or throws a DataDirError naming the dir and the PID that holds it.
 * Never waits: a busy lock is refused at once (SQLite's busy timeout is 0 here).
 */
export function lockDataDir(dir: string): DataDirLock {
  const abs = resolve(dir);
  const db = new Database(join(abs, LOCK_FILE), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // A write transaction takes the exclusive lock; in EXCLUSIVE locking mode SQLite keeps it
    // after the commit until the connection closes.
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since INTEGER NOT NULL)');
    db.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(process.pid, Date.now());
    db.exec('DELETE FROM holder WHERE rowid < (SELECT max(rowid) FROM holder)');
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      const holder = holderPid(abs);
      throw new DataDirError(`data dir ${abs} is in use by another Brook node${holder ? ` (PID ${holder})` : ''}; ` + 'stop it or choose another --data-dir');
    }
    throw new DataDirError(`data dir ${abs}: cannot take the lock ${join(abs, LOCK_FILE)}: ${(err as Error).message}`);
  }
  writeFileSync(join(abs, LOCK_PID_FILE), `${process.pid}\n`);
  let held = true;
  return {
    dir: abs,
    release() {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}

function holderPid(dir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dir, LOCK_PID_FILE), 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
