// Soak run: a server under readers and publishers that join and leave, for a bounded time.
//
//   npm run soak -- [--minutes 10] [--readers 40] [--publishers 3] [--json]
//
// The server runs as its own process (the CLI, `serve --demo`, UDP on). For the whole run:
// - `--publishers` slots, each publishing a clip of ../shared/media with ffmpeg (-re, TCP or UDP at random)
//   for 5-20 s to its own path, then the next one;
// - `--readers` slots, each an RtspClient (this process) that reads the demo or a published path over
//   TCP or UDP for 2-15 s, then leaves with TEARDOWN, or (one in five) by dropping its connection;
// - once a second, a connection that sends garbage (the server must answer 400 or close, nothing else).
// At the end: the server still answers OPTIONS and plays the demo, and the summary gives sessions served,
// errors by kind and the server's RSS at start (after 10 s), at the end, and at most, and its JS heap after a
// full GC at both ends (bench/heaplog.ts, asked with SIGUSR2).
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { RtspClient } from '../src/client/client.js';
import { HOST, freePort } from './probe.js';
import { rssKB, sleep } from './proc.js';
import { fileURLToPath } from 'node:url';
// `rtspkit serve` re-executes itself without these (cli/node-flags.ts): given here, the PID measured is the server's.
import { SERVE_NODE_ENV, SERVE_NODE_FLAGS } from '../src/cli/node-flags.js';

const HEAPLOG = fileURLToPath(new URL('./heaplog.js', import.meta.url));
const HEAP_LOG_PREFIX = 'rtspkit-bench-heap ';

const repo = join(import.meta.dirname, '..', '..');
const media = join(repo, '..', 'shared', 'media');
const CLIPS = ['h264_base_aac.mp4', 'h264_main_aac.mp4', 'h265_aac.mp4'];

interface Options {
  minutes: number;
  readers: number;
  publishers: number;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { minutes: 10, readers: 40, publishers: 3, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number`);
      return v;
    };
    if (a === '--minutes') o.minutes = next();
    else if (a === '--readers') o.readers = next();
    else if (a === '--publishers') o.publishers = next();
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const children = new Set<ChildProcess>();
function endChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', endChildren);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    endChildren();
    process.exit(130);
  });

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const between = (lo: number, hi: number): number => lo + Math.random() * (hi - lo);

const rssMB = (pid: number): number => rssKB(pid) / 1024;

const counts = {
  readerSessions: 0,
  readerAccessUnits: 0,
  publisherRuns: 0,
  garbageConnections: 0,
};
const errors = new Map<string, number>();
function countError(kind: string): void {
  errors.set(kind, (errors.get(kind) ?? 0) + 1);
}

async function readerSlot(port: number, publishedPaths: Set<string>, until: number): Promise<void> {
  while (Date.now() < until) {
    const path = publishedPaths.size > 0 && Math.random() < 0.5 ? pick([...publishedPaths]) : 'demo';
    const client = new RtspClient(`rtsp://${HOST}:${port}/${path}`, { timeoutMs: 5000 });
    client.on('error', () => undefined);
    client.on('accessUnit', () => {
      counts.readerAccessUnits++;
    });
    try {
      await client.connect();
      await client.describe();
      await client.setup({ transport: Math.random() < 0.5 ? 'tcp' : 'udp' });
      await client.play();
      counts.readerSessions++;
      await sleep(between(2000, 15000));
      if (Math.random() < 0.8) await client.teardown();
    } catch (err) {
      // A published path may end between DESCRIBE and PLAY: 404/454 are expected then.
      const msg = err instanceof Error ? err.message : String(err);
      countError(path === 'demo' ? `reader demo: ${msg.slice(0, 60)}` : 'reader of an ending publish');
    } finally {
      client.close();
    }
    await sleep(between(100, 1000));
  }
}

async function publisherSlot(port: number, slot: number, paths: Set<string>, until: number): Promise<void> {
  let run = 0;
  while (Date.now() < until - 5000) {
    const path = `pub${slot}_${run++}`;
    const seconds = Math.round(between(5, 20));
    const child = spawn(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-re',
        '-stream_loop',
        '-1',
        '-i',
        join(media, pick(CLIPS)),
      ].concat([
        '-t',
        String(seconds),
        '-c',
        'copy',
        '-f',
        'rtsp',
        '-rtsp_transport',
        Math.random() < 0.5 ? 'tcp' : 'udp',
        `rtsp://${HOST}:${port}/${path}`,
      ]),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString();
    });
    setTimeout(() => paths.add(path), 1000);
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000);
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    clearTimeout(timer);
    children.delete(child);
    paths.delete(path);
    counts.publisherRuns++;
    if (code !== 0) countError(`ffmpeg publisher exit ${code}: ${stderr.trim().slice(0, 80)}`);
    await sleep(between(200, 2000));
  }
}

async function garbageLoop(port: number, until: number): Promise<void> {
  const junk = [
    'GARBAGE\r\n\r\n',
    'OPTIONS rtsp://x RTSP/9.9\r\nCSeq: 1\r\n\r\n',
    `DESCRIBE rtsp://${HOST}/${'a'.repeat(9000)} RTSP/1.0\r\nCSeq: 1\r\n\r\n`,
    '$\x00\xff\xff' + 'x'.repeat(100),
    'SETUP rtsp://x/demo RTSP/1.0\r\nCSeq: 1\r\nTransport: nonsense\r\n\r\n',
  ];
  while (Date.now() < until) {
    await new Promise<void>((resolve) => {
      const s = net.connect(port, HOST, () => s.write(pick(junk)));
      let answer = '';
      s.on('data', (d) => (answer += d.toString('latin1')));
      s.setTimeout(3000, () => s.destroy());
      s.on('close', () => {
        counts.garbageConnections++;
        if (answer !== '' && !/^RTSP\/1\.0 (400|404|413|414|461|505) /.test(answer))
          countError(`garbage answered: ${answer.slice(0, 40)}`);
        resolve();
      });
      s.on('error', () => undefined);
      setTimeout(() => s.end(), 300);
    });
    await sleep(1000);
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const port = await freePort();
  const rtpPort = 20000 + 2 * Math.floor(Math.random() * 10000);
  const server = spawn(
    process.execPath,
    [
      ...SERVE_NODE_FLAGS,
      '--expose-gc',
      '--import',
      HEAPLOG,
      join(repo, 'dist', 'src', 'cli', 'main.js'),
    ].concat([
      'serve',
      '--demo',
      '--host',
      HOST,
      '--port',
      String(port),
      '--rtp-port',
      String(rtpPort),
      '--log-level',
      'warn',
    ]),
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...SERVE_NODE_ENV } },
  );
  children.add(server);
  let serverLog = '';
  const heapWaiters: ((heapUsedBytes: number) => void)[] = [];
  server.stderr.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (line.startsWith(HEAP_LOG_PREFIX)) {
        const { heapUsed } = JSON.parse(line.slice(HEAP_LOG_PREFIX.length)) as { heapUsed: number };
        heapWaiters.shift()?.(heapUsed);
      } else if (line !== '' && serverLog.length < 20000) serverLog += `${line}\n`;
    }
  });
  /** The server's JS heap after a full GC, MB (NaN when it does not answer within 5 s). */
  const heapAfterGcMB = (): Promise<number> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(NaN), 5000);
      heapWaiters.push((bytes) => {
        clearTimeout(timer);
        resolve(bytes / 1024 / 1024);
      });
      server.kill('SIGUSR2');
    });
  const pid = server.pid!;
  for (let i = 0; i < 50 && !(await canPlayDemo(port)); i++) await sleep(200);
  const start = Date.now();
  const until = start + o.minutes * 60_000;
  const paths = new Set<string>();
  let rssStart = NaN;
  let rssMax = 0;
  let heapStart: Promise<number> | undefined;
  const sampler = setInterval(() => {
    const r = rssMB(pid);
    rssMax = Math.max(rssMax, r);
    if (Number.isNaN(rssStart) && Date.now() - start > 10_000) {
      rssStart = r;
      heapStart = heapAfterGcMB();
    }
  }, 1000);
  await Promise.all([
    ...Array.from({ length: o.readers }, () => readerSlot(port, paths, until)),
    ...Array.from({ length: o.publishers }, (_, i) => publisherSlot(port, i, paths, until)),
    garbageLoop(port, until),
  ]);
  clearInterval(sampler);
  await sleep(3000);
  const alive = server.exitCode === null && (await canPlayDemo(port));
  const summary = {
    minutes: o.minutes,
    readerSlots: o.readers,
    publisherSlots: o.publishers,
    ...counts,
    errors: Object.fromEntries(errors),
    serverAliveAndPlaying: alive,
    rssMB: { start: Math.round(rssStart), end: Math.round(rssMB(pid)), max: Math.round(rssMax) },
    heapAfterGcMB: { start: Math.round((await heapStart) ?? NaN), end: Math.round(await heapAfterGcMB()) },
    serverWarnings: serverLog.split('\n').filter((l) => l.includes('"level":40') || l.includes('"level":50'))
      .length,
  };
  server.kill('SIGTERM');
  if (o.json) console.log(JSON.stringify(summary, null, 2));
  else {
    console.log(`soak: ${o.minutes} min, ${o.readers} reader slots, ${o.publishers} publisher slots`);
    for (const [k, v] of Object.entries(summary)) console.log(`  ${k}: ${JSON.stringify(v)}`);
  }
  process.exitCode = alive ? 0 : 1;
}

async function canPlayDemo(port: number): Promise<boolean> {
  const c = new RtspClient(`rtsp://${HOST}:${port}/demo`, { timeoutMs: 3000 });
  c.on('error', () => undefined);
  let frames = 0;
  c.on('accessUnit', () => frames++);
  try {
    await c.connect();
    await c.options();
    await c.describe();
    await c.setup({ transport: 'tcp' });
    await c.play();
    for (let i = 0; i < 20 && frames === 0; i++) await sleep(100);
    await c.teardown();
    return frames > 0;
  } catch {
    return false;
  } finally {
    c.close();
  }
}

main().catch((err: unknown) => {
  console.error(`soak: ${err instanceof Error ? err.message : String(err)}`);
  endChildren();
  process.exitCode = 1;
});
