import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { logPageBytes } from '../../src/storage/partition-log-recovery.js';
import { buildBatch } from '../../src/storage/record-batch.js';
import {
  checkpointRounds,
  portCheckpointer,
  walBackstopBytes,
  walCheckpointBytes,
  walFinishInlineBytes,
  type WalCheckpointer,
  WalCheckpointerThread,
  type WalCheckpointerStats,
} from '../../src/storage/wal-checkpointer.js';
import { useTempLogs } from './helpers.js';

const temp = useTempLogs();
const threads: WalCheckpointerThread[] = [];
afterEach(async () => {
  for (const t of threads.splice(0)) await t.stop();
});

function startThread(): WalCheckpointerThread {
  const t = WalCheckpointerThread.start();
  threads.push(t);
  return t;
}

async function statsWhen(t: WalCheckpointerThread, done: (s: WalCheckpointerStats) => boolean, timeoutMs = 10_000): Promise<WalCheckpointerStats> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await t.stats();
    if (done(s) || Date.now() > until) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('WAL checkpoints on the checkpointer thread', () => {
  const value = Buffer.alloc(16 * 1024, 7);
  const batch = () => buildBatch({ records: Array.from({ length: 4 }, () => ({ key: null, value })) }); // ~64 KiB

  it('keeps the WAL short: the thread copies, the writer copies the tail, the WAL restarts; nothing is lost', async () => {
    const t = startThread();
    const path = join(temp.dir(), 'p.db');
    // The real port, watched: while a request is out the writer waits for its answer, as a
    // checkpointer that keeps up would let it (on a saturated machine the niced thread may not).
    const port = portCheckpointer(t.connect());
    // Set in request(): typed by a cast so that TypeScript does not narrow it to `null` here.
    let outstanding = null as Promise<void> | null;
    const watched: WalCheckpointer = {
      request(p, finish) {
        outstanding = new Promise((resolve) =>
          port.request(p, (framesLeft) => {
            finish(framesLeft);
            resolve();
          }),
        );
      },
    };
    const log = temp.open({ path, walCheckpointer: watched });
    const written = 640 * 64 * 1024; // ~40 MiB, ten times the checkpoint threshold
    for (let i = 0; i < 640; i++) {
      const [r] = log.appendMany([batch()]);
      expect(r).not.toBeInstanceOf(Error);
      if (outstanding) {
        await outstanding;
        outstanding = null;
      }
    }
    const s = await t.stats();
    expect(s.requests).toBeGreaterThanOrEqual(8);
    expect(s.checkpoints).toBeGreaterThanOrEqual(s.requests);
    expect(s.errors).toBe(0);
    // The file size is the WAL's high-water mark: about one threshold (4 MiB) of frames,
    // where without the checkpoints it would hold every page written (~40 MiB). The database
    // file holds the copied pages.
    expect(statSync(`${path}-wal`).size).toBeLessThan(2 * walCheckpointBytes);
    expect(statSync(path).size).toBeGreaterThan(written / 2);

    const end = log.logEndOffset;
    log.close();
    const again = PartitionLog.open({ path });
    try {
      expect(again.logEndOffset).toBe(end);
      expect(again.read(0, 1 << 20).batches.length).toBeGreaterThan(0);
    } finally {
      again.close();
    }
  });

  it('keeps the WAL under the backstop when the checkpointer never answers', () => {
    const path = join(temp.dir(), 'p.db');
    let asked = 0;
    const log = temp.open({
      path,
      walCheckpointer: {
        request: () => {
          asked++;
        },
      },
    });
    for (let i = 0; i < 800; i++) log.appendMany([batch()]); // ~50 MiB
    expect(asked).toBeGreaterThan(0);
    // SQLite's own checkpoint at walBackstopBytes (32 MiB) still runs in the commit.
    expect(statSync(`${path}-wal`).size).toBeLessThan(walBackstopBytes + 2 * 64 * 1024 + 1024 * 1024);
  });

  it('copies what the checkpointer left only when it is little; a writer that kept writing asks again instead', () => {
    const path = join(temp.dir(), 'p.db');
    const finishers: ((framesLeft: number) => void)[] = [];
    const log = temp.open({ path, walCheckpointer: { request: (_p, finish) => finishers.push(finish) } });
    /** Frames in the WAL, seen from a connection of its own (whose checkpoint then copies them all). */
    const walFrames = (): number => {
      const db = new Database(path);
      try {
        return (db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!.log;
      } finally {
        db.close();
      }
    };
    const small = () => buildBatch({ records: [{ key: null, value: 'small' }] });
    while (finishers.length === 0) log.appendMany([batch()]);
    // The checkpointer left megabytes and the writer kept writing: it asks again, copies nothing,
    // so its next commit still appends to the long WAL.
    log.appendMany([batch()]);
    finishers[0]!(1000);
    expect(finishers).toHaveLength(2);
    // Left much, but the writer wrote nothing since it asked: the checkpointer was held up; no spinning.
    finishers[1]!(1000);
    expect(finishers).toHaveLength(2);
    log.append(small());
    expect(walFrames()).toBeGreaterThan(walCheckpointBytes / logPageBytes / 2); // the request's estimate counts a few b-tree pages more
    // A checkpoint that did not run (-1) waits for the next threshold.
    while (finishers.length === 2) log.appendMany([batch()]);
    finishers[2]!(-1);
    expect(finishers).toHaveLength(3);
    // Little left: the writer copies it itself, and its next commit restarts the WAL from the start.
    while (finishers.length === 3) log.appendMany([batch()]);
    finishers[3]!(Math.floor(walFinishInlineBytes / (2 * logPageBytes)));
    expect(finishers).toHaveLength(4);
    log.append(small());
    expect(walFrames()).toBeLessThan(10);
  });

  it('ignores files that are gone, counts files that are not databases, and keeps serving', async () => {
    const t = startThread();
    const port = portCheckpointer(t.connect());
    const dir = temp.dir();
    const none = () => undefined;
    port.request(join(dir, 'deleted.db'), none);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a SQLite database, it is long enough to have a header of sorts'.repeat(100));
    port.request(junk, none);
    const s = await statsWhen(t, (x) => x.requests === 2 && x.pending === 0);
    expect(s.requests).toBe(2);
    expect(s.errors).toBe(1);
    expect(s.lastError).toContain('junk.db');
    expect(existsSync(join(dir, 'deleted.db'))).toBe(false); // never created by the checkpointer
    expect(t.alive).toBe(true);
  });

  it('keeps one request per file outstanding and calls finish once it is done', async () => {
    const t = startThread();
    const path = join(temp.dir(), 'p.db');
    const log = temp.open({ path });
    log.append(buildBatch({ records: [{ key: null, value: 'x' }] }));
    // Two writer threads' ports asking for the same file many times before an answer.
    const ports = [portCheckpointer(t.connect()), portCheckpointer(t.connect())];
    let finished = 0;
    for (let i = 0; i < 1000; i++)
      ports[i % 2]!.request(path, () => {
        finished++;
      });
    const s = await statsWhen(t, (x) => x.requests === 2 && x.pending === 0);
    await new Promise((r) => setTimeout(r, 50)); // the answers reach this thread
    expect(s.requests).toBe(2); // each port sent once; the rest waited for its answer
    expect(s.checkpoints).toBeLessThanOrEqual(2 * checkpointRounds);
    expect(s.errors).toBe(0);
    expect(finished).toBe(2); // the latest finish of each port, once
  });

  it('stops within its timeout and then refuses stats', async () => {
    const t = WalCheckpointerThread.start();
    await t.stop();
    expect(t.alive).toBe(false);
    await expect(t.stats()).rejects.toThrow(/exited/);
  });
});
