// Preloaded into the rtspkit server by `npm run soak` (node --expose-gc --import): on SIGUSR2, a full GC and
// then one line on stderr with process.memoryUsage(), so the soak can tell live heap from RSS (V8 keeps the
// pages a heap grew into, so RSS alone does not show whether memory is still held).
export const HEAP_LOG_PREFIX = 'rtspkit-bench-heap ';

process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  process.stderr.write(`${HEAP_LOG_PREFIX}${JSON.stringify(process.memoryUsage())}\n`);
});
