// Memory per TCP reader, in-process (issue 21): the server (`startApp`, the demo path, `logLevel: warn`) runs
// in this process, N readers of dist/bench/readers.js in another. Two figures, before and after the readers:
// - live heap: heapUsed after two full GCs (needs node --expose-gc), what a reader's objects hold;
// - growth: memoryUsage() without a forced GC after W seconds of play, RSS split into the heap, external, the
//   rest, and /proc/self/smaps' main malloc arena (`[heap]`) and anonymous mappings beyond the V8 heap (the
//   threads' arenas).
// The environment that `rtspkit serve` adds itself (SERVE_NODE_ENV) must be given on this command line, as the
// node flags are: see the usage.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startApp } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { freePort } from './probe.js';

const USAGE = `usage: MALLOC_ARENA_MAX=2 node --expose-gc --max-semi-space-size=2 dist/bench/reader-memory.js [--readers N] [--seconds W]`;
const READERS = fileURLToPath(new URL('./readers.js', import.meta.url));

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const n = option('--readers', 1000);
const seconds = option('--seconds', 10);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined || !Number.isInteger(n) || n < 1 || !(seconds >= 0)) {
  console.error(USAGE);
  process.exit(2);
}

/** RSS of this process by mapping (KB): glibc's main arena, anonymous (V8's heap, the threads' arenas). */
function smapsKB(): { mainArena: number; anon: number } {
  const out = { mainArena: 0, anon: 0 };
  let kind: 'mainArena' | 'anon' | 'other' = 'other';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping !== null) {
      const name = mapping[1]!;
      kind = name === '[heap]' ? 'mainArena' : name === '' ? 'anon' : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null && kind !== 'other') out[kind] += Number(rss[1]);
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const port = await freePort();
const app = await startApp(
  parseConfig(`logLevel: warn\nrtmpAddress: null\ndemo: true\nrtspAddress: '127.0.0.1:${port}'\n`),
);
await sleep(4000); // a GOP or two into the demo stream
const before = process.memoryUsage();
const smapsBefore = smapsKB();
const liveBefore = (gc(), gc(), process.memoryUsage());
const joinStart = performance.now();
const readers = spawn(
  process.execPath,
  [
    READERS,
    '--url',
    `rtsp://127.0.0.1:${port}/demo`,
    '--count',
    String(n),
    '--ramp',
    '50',
    '--transport',
    'tcp',
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
await new Promise<void>((resolve, reject) => {
  readers.stdout.on('data', (d: Buffer) => {
    if (d.toString().includes('"ready"')) resolve();
  });
  readers.on('exit', (code) => reject(new Error(`readers exited (${code})`)));
});
const joinS = (performance.now() - joinStart) / 1000;
await sleep(seconds * 1000);
const after = process.memoryUsage();
const smapsAfter = smapsKB();
const liveAfter = (gc(), gc(), process.memoryUsage());

const kb = (bytes: number): string => (bytes / 1024 / n).toFixed(1);
const rest = (m: NodeJS.MemoryUsage): number => m.rss - m.heapTotal - m.external;
console.log(
  `${n} TCP readers (join ${joinS.toFixed(1)} s, load1 ${loadavg()[0]!.toFixed(1)}), KB per reader:\n` +
    `  live heap after full GCs: ${kb(liveAfter.heapUsed - liveBefore.heapUsed)}\n` +
    `  growth after ${seconds} s of play: RSS ${kb(after.rss - before.rss)} (idle ${(before.rss / 1048576).toFixed(1)} MB, ` +
    `end ${(after.rss / 1048576).toFixed(1)} MB), heapTotal ${kb(after.heapTotal - before.heapTotal)}, ` +
    `external ${kb(after.external - before.external)}, rest ${kb(rest(after) - rest(before))}; ` +
    `glibc's main arena ${((smapsAfter.mainArena - smapsBefore.mainArena) / n).toFixed(1)}, ` +
    `anonymous beyond the heap ${kb((smapsAfter.anon - smapsBefore.anon) * 1024 - (after.heapTotal - before.heapTotal))}`,
);
readers.kill();
await app.close();
process.exit(0);
