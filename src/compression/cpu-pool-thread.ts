/**
 * The entry of a CPU pool thread (piscina): runs one task and transfers its result back. Runs on
 * the pool's own threads, never on a partition's worker thread.
 */
import { Piscina } from 'piscina';
import { compress, decompress } from './index.js';
import { runCpuTask, type CpuTask, type CpuTaskOutcome } from './cpu-task.js';

/** A task's bytes come back as a transferred Uint8Array; an expected failure as its plain outcome object. */
export default async function cpuPoolTask(task: CpuTask): Promise<Uint8Array | Exclude<CpuTaskOutcome, { ok: Uint8Array }>> {
  const outcome = await runCpuTask(task, { compress, decompress });
  if (!('ok' in outcome)) return outcome;
  // The result goes back transferred, as its own ArrayBuffer: a Buffer may be a slice of Node's
  // shared allocation pool, which must not (and cannot) be transferred.
  const out = outcome.ok;
  const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : (Uint8Array.prototype.slice.call(out) as Uint8Array);
  return Piscina.move(own) as Uint8Array;
}
