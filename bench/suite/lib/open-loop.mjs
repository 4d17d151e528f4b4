// Open-loop load: sends are scheduled on a fixed timetable (rate per second) and each latency is
// measured from the scheduled time, not from when the send actually happened, so a stalled
// client or server shows up in the percentiles instead of silently lowering the rate
// (coordinated omission).
import { percentiles } from './stats.mjs';
import { startTicker } from './ticker.mjs';

/**
 * send(i, scheduledMs) must return a promise resolving when record i is acknowledged.
 * Returns { p50, p99, p99.9, count, achievedRate }.
 */
export async function openLoop({ rate, durationMs, send, warmupMs = 0 }) {
  const total = Math.round((rate * durationMs) / 1000);
  const warm = Math.round((rate * warmupMs) / 1000);
  const lat = new Float64Array(total);
  let next = 0;
  let done = 0;
  let failed = null;
  const interval = 1000 / rate;
  const t0 = performance.now() + 5;
  let ticker;
  try {
    await new Promise((resolve, reject) => {
      const tick = () => {
        if (failed) return reject(failed);
        const now = performance.now();
        while (next < total && t0 + next * interval <= now) {
          const i = next++;
          const scheduled = t0 + i * interval;
          send(i, scheduled).then(
            () => {
              lat[i] = performance.now() - scheduled;
              if (++done === total) resolve();
            },
            (e) => {
              failed = e;
              reject(e);
            },
          );
        }
      };
      ticker = startTicker(tick);
    });
  } finally {
    await ticker?.stop();
  }
  const elapsed = performance.now() - t0;
  const measured = lat.subarray(warm);
  return { ...percentiles(measured), count: measured.length, achievedRate: total / (elapsed / 1000) };
}

/**
 * End-to-end latency: records are produced on a timetable; consumeLoop(onRecords, stopSignal)
 * calls onRecords(n) as records arrive in production order. Latency of the k-th record = time it
 * was received minus time it was scheduled.
 */
export async function endToEnd({ rate, durationMs, send, startConsumer, warmupMs = 0 }) {
  const total = Math.round((rate * durationMs) / 1000);
  const warm = Math.round((rate * warmupMs) / 1000);
  const lat = new Float64Array(total);
  const interval = 1000 / rate;
  let received = 0;
  let resolveAll;
  const all = new Promise((r) => {
    resolveAll = r;
  });
  let t0 = 0;
  const consumer = await startConsumer((n) => {
    const now = performance.now();
    for (let k = 0; k < n && received < total; k++, received++) lat[received] = now - (t0 + received * interval);
    if (received >= total) resolveAll();
  });
  t0 = performance.now() + 20;
  let next = 0;
  let failed = null;
  let ticker;
  try {
    await new Promise((resolve, reject) => {
      const tick = () => {
        if (failed) return reject(failed);
        const now = performance.now();
        while (next < total && t0 + next * interval <= now) {
          const i = next++;
          send(i, t0 + i * interval).catch((e) => {
            failed = e;
          });
        }
        if (next >= total) resolve();
      };
      ticker = startTicker(tick);
    });
  } finally {
    await ticker?.stop();
  }
  const timeout = new Promise((_, rej) => setTimeout(() => rej(new Error(`end-to-end: only ${received}/${total} records consumed`)), 30_000));
  try {
    await Promise.race([all, timeout]);
  } finally {
    await consumer.stop();
  }
  return { ...percentiles(lat.subarray(warm)), count: total - warm };
}
