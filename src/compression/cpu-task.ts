/**
 * The CPU pool's tasks: what one call does, the same whether it runs on a pool thread
 * (cpu-pool-thread.ts) or inline on the caller's thread (cpu-pool.ts, for small inputs). Pure:
 * no state survives a task, so any thread may run any task.
 *
 * A task's expected failures (a corrupt or keyless batch: StorageError; a malformed compressed
 * payload: CompressionError) come back as values, not thrown: an Error crossing threads loses its
 * class and its code, and the partition actor must still tell "refuse this produce" from "I am
 * broken". `settled()` turns the value back into the same error on the caller's side.
 */
import { recompressRecords, requireKeys, type BatchCodecs } from '../storage/batch-rewrite.js';
import type { CompressionCodec } from '../storage/record-batch.js';
import { StorageError, type StorageErrorCode } from '../storage/storage-error.js';
import { CompressionError } from './index.js';

export interface CpuTask {
  readonly op: 'compress' | 'decompress' | 'recompressRecords' | 'requireKeys';
  readonly codec: number;
  readonly bytes: Uint8Array;
}

export type CpuTaskOutcome =
  | { readonly ok: Uint8Array }
  | { readonly storageError: { readonly code: StorageErrorCode; readonly message: string } }
  | { readonly compressionError: { readonly codec: number; readonly message: string } };

const empty = new Uint8Array(0);

export async function runCpuTask(task: CpuTask, codecs: BatchCodecs): Promise<CpuTaskOutcome> {
  const bytes = Buffer.isBuffer(task.bytes) ? task.bytes : Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  try {
    switch (task.op) {
      case 'compress':
        return { ok: await codecs.compress(task.codec, bytes) };
      case 'decompress':
        return { ok: await codecs.decompress(task.codec, bytes) };
      case 'recompressRecords':
        return { ok: await recompressRecords(bytes, task.codec as CompressionCodec, codecs) };
      case 'requireKeys':
        await requireKeys(bytes, codecs);
        return { ok: empty };
    }
  } catch (err) {
    if (err instanceof StorageError) return { storageError: { code: err.code, message: err.message } };
    if (err instanceof CompressionError) return { compressionError: { codec: err.codec, message: err.message } };
    throw err;
  }
}

/** The task's bytes, or its expected failure thrown as the error it was. */
export function settled(outcome: CpuTaskOutcome): Buffer {
  if ('storageError' in outcome) throw new StorageError(outcome.storageError.code, outcome.storageError.message);
  if ('compressionError' in outcome) throw new CompressionError(outcome.compressionError.codec, outcome.compressionError.message);
  const out = outcome.ok;
  return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
