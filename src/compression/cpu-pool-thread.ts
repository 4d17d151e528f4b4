/**
 * The entry of a CPU pool thread (piscina): runs one task and transfers its result back. Runs on
 * the pool's own threads, never on a partition's worker thread.
 */
import { Piscina } from 'piscina';
import { compress, decompress } from './index.js';
import { runCpuTask, type CpuTask } from './cpu-task.js';

export default async function cpuPoolTask(task: CpuTask): Promise<unknown> {
  const out = await runCpuTask(task, { compress, decompress });
  // The result goes back transferred, as its own ArrayBuffer: a Buffer may be a slice of Node's
  // shared allocation pool, which must not (and cannot) be transferred.
  const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : Uint8Array.prototype.slice.call(out);
  return Piscina.move(own);
}
