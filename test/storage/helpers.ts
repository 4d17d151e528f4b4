import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { type BuildBatchOptions, buildBatch } from '../../src/storage/record-batch.js';
import { PartitionLog, type PartitionLogOptions } from '../../src/storage/partition-log.js';

/** A fresh temp dir per test, removed (with every log opened in it closed) after the test. */
export function useTempLogs() {
  const dirs: string[] = [];
  const logs: PartitionLog[] = [];
  afterEach(() => {
    for (const log of logs.splice(0)) log.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir(): string {
      const dir = mkdtempSync(join(tmpdir(), 'brook-storage-'));
      dirs.push(dir);
      return dir;
    },
    open(opts: Partial<PartitionLogOptions> & { path?: string } = {}): PartitionLog {
      const path = opts.path ?? join(this.dir(), 'partition.db');
      const log = PartitionLog.open({ ...opts, path });
      logs.push(log);
      return log;
    },
  };
}

/** A batch of `count` records with values `v<i>` and timestamps from `timestampMs`, one ms apart. */
export function batchOf(count: number, extra: Partial<BuildBatchOptions> & { timestampMs?: number } = {}): Buffer {
  const timestampMs = extra.timestampMs ?? 1_000;
  const records = Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `v${i}`, timestamp: timestampMs + i }));
  return buildBatch({ records, ...extra, timestampMs });
}

/** Bytes 0-7 (baseOffset) and 12-15 (partitionLeaderEpoch) zeroed: what the broker may rewrite. */
export function withoutRewrittenFields(batch: Uint8Array): Buffer {
  const copy = Buffer.from(batch);
  copy.fill(0, 0, 8);
  copy.fill(0, 12, 16);
  return copy;
}
