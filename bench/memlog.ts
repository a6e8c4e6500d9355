// Preloaded into the rtspkit server by `bench:fanout --mem-log` (node --import): one line a second on stderr
// with process.memoryUsage(), so the RSS growth per reader can be split into JS heap, external memory
// (Buffers outside the heap; arrayBuffers is the part of it held by ArrayBuffers) and the rest (native: libuv
// handles, malloc'd socket state, fragmentation; kernel socket buffers are not in RSS at all).
const MEM_LOG_PREFIX = 'rtspkit-bench-mem ';

setInterval(() => {
  process.stderr.write(`${MEM_LOG_PREFIX}${JSON.stringify(process.memoryUsage())}\n`);
}, 1000).unref();
