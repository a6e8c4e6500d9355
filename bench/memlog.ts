// Preloaded into the rtspkit server by `bench:fanout --mem-log` (node --import): one line a second on stderr
// with process.memoryUsage(), so the RSS growth per reader can be split into JS heap, external memory
// (Buffers outside the heap; arrayBuffers is the part of it held by ArrayBuffers) and the rest (native: libuv
// handles, malloc'd socket state, fragmentation; kernel socket buffers are not in RSS at all); and the event
// loop's delay over that second (perf_hooks.monitorEventLoopDelay, 5 ms resolution: how late a timer due
// every 5 ms ran), so the bench can say where a join storm's time goes. `spaces`: the heap's spaces' sizes
// (bytes), so that heapTotal's growth splits into what grows with readers (old space) and what does once
// (the young generation growing to its bound, code compiled for the first reader's requests).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

const MEM_LOG_PREFIX = 'rtspkit-bench-mem ';
const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();

setInterval(() => {
  const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
  const loopDelayMs = {
    p50: ms(delay.percentile(50)),
    p99: ms(delay.percentile(99)),
    max: ms(delay.max),
    samples: delay.count,
  };
  delay.reset();
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
  process.stderr.write(
    `${MEM_LOG_PREFIX}${JSON.stringify({ ...process.memoryUsage(), spaces, loopDelayMs })}\n`,
  );
}, 1000).unref();
