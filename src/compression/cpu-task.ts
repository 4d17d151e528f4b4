/**
 * The CPU pool's tasks: what one call does, the same whether it runs on a pool thread
 * (cpu-pool-thread.ts) or inline on the caller's thread (cpu-pool.ts, for small inputs). Pure:
 * no state survives a task, so any thread may run any task.
 */
import { recompressRecords, type BatchCodecs } from '../storage/batch-rewrite.js';
import type { CompressionCodec } from '../storage/record-batch.js';

export interface CpuTask {
  readonly op: 'compress' | 'decompress' | 'recompressRecords';
  readonly codec: number;
  readonly bytes: Uint8Array;
}

export async function runCpuTask(task: CpuTask, codecs: BatchCodecs): Promise<Buffer> {
  const bytes = Buffer.isBuffer(task.bytes) ? task.bytes : Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  switch (task.op) {
    case 'compress': return codecs.compress(task.codec, bytes);
    case 'decompress': return codecs.decompress(task.codec, bytes);
    case 'recompressRecords': return recompressRecords(bytes, task.codec as CompressionCodec, codecs);
  }
}
