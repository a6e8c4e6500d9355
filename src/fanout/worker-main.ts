/**
 * The entry of a fan-out worker process (`child_process.fork` by pool.ts). It lives as long as its IPC
 * channel: the primary's exit closes it, and the worker exits with it.
 */
import { FanoutWorker } from './worker.js';
import type { PrimaryMessage, WorkerMessage } from './protocol.js';

const COUNTS_INTERVAL_MS = 1000;
const TICK_MS = 250;

const send = (m: WorkerMessage, done?: () => void): void => {
  if (process.connected) process.send?.(m, undefined, {}, () => done?.());
};
const worker = new FanoutWorker(send);
process.on('message', (m: PrimaryMessage, handle: unknown) => {
  worker.handle(m, handle);
});
process.on('disconnect', () => process.exit(0));
let lastCountsMs = 0;
setInterval(() => {
  worker.tick();
  const now = performance.now();
  if (now - lastCountsMs >= COUNTS_INTERVAL_MS) {
    lastCountsMs = now;
    send({ t: 'counts', counts: worker.counts() });
  }
}, TICK_MS);
