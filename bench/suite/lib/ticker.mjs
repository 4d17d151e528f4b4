// A fine-grained ticker for open-loop timetables. setTimeout cannot sleep less than 1 ms and a
// setImmediate spin would take a whole core from the broker on this 2-core machine, so a worker
// thread sleeps in Atomics.wait for `periodMs` and pings the main thread, which then sends every
// record whose scheduled time has come.
import { Worker } from 'node:worker_threads';

const src = `
const { parentPort, workerData } = require('node:worker_threads');
const sab = new Int32Array(new SharedArrayBuffer(4));
const period = workerData.periodMs;
let running = true;
parentPort.on('message', () => { running = false; });
(function loop() {
  // A burst of ticks between yields so the 'stop' message is still seen.
  for (let i = 0; i < 50 && running; i++) { Atomics.wait(sab, 0, 0, period); parentPort.postMessage(0); }
  if (running) setImmediate(loop); else process.exit(0);
})();
`;

export function startTicker(onTick, periodMs = 0.2) {
  const w = new Worker(src, { eval: true, workerData: { periodMs } });
  w.on('message', onTick);
  w.unref();
  return {
    stop: () =>
      new Promise((r) => {
        w.once('exit', r);
        w.postMessage('stop');
      }),
  };
}
