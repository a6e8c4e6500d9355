// `npm run bench:fanout`: live fan-out of one published stream to N readers, measured from outside the server.
//
//   npm run bench:fanout -- [--readers 1,100,500] [--seconds 20] [--server rtspkit|gst|floor|both|all|LIST]
//                           [--transport tcp|udp|http] [--coalesce 0,20] [--warmup 3] [--ramp 50]
//                           [--rtp-port-range A-B] [--json] [--out FILE]
//
// For each server and each N: the server runs as its own process (rtspkit through its CLI; gst-rtsp-server
// through ../shared/peers/gst_server.py in publish -> relay mode), ffmpeg publishes the clip in real time over
// TCP, and dist/bench/readers.js opens the N readers in another process (see readers.ts). After every reader
// plays and a warm-up, a window of --seconds is measured: bytes and RTP sequence gaps from the readers; the
// server's CPU (utime+stime from /proc/PID/stat over wall time, in % of one core) and RSS (VmRSS) from /proc.
// Everything runs on 127.0.0.1; every child is ended by its PID, also on errors and Ctrl-C.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ReaderTransport, ReadyMessage, ReportMessage } from './readers.js';
import { RtspConn } from './rtsp-conn.js';

const HOST = '127.0.0.1';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const READERS = fileURLToPath(new URL('./readers.js', import.meta.url));
const FLOOR = fileURLToPath(new URL('./floor.js', import.meta.url));
const MEMLOG = fileURLToPath(new URL('./memlog.js', import.meta.url));
/** As in memlog.ts (not imported: importing it would start its timer here). */
const MEM_LOG_PREFIX = 'rtspkit-bench-mem ';

type ServerKind = 'rtspkit' | 'gst' | 'floor';

interface Options {
  readers: number[];
  seconds: number;
  servers: ServerKind[];
  transport: ReaderTransport;
  /** rtspkit: serve UDP from this port range (rtpPortRange) instead of one shared pair. */
  rtpPortRange: string | undefined;
  /** Local ports the UDP readers bind their pairs from. */
  readerUdpPorts: string;
  /** rtspkit writeCoalesceMs values; undefined = the server's default. */
  coalesce: (number | undefined)[];
  clip: string;
  gstServer: string;
  warmupS: number;
  ramp: number;
  json: boolean;
  out: string | undefined;
  /** Directory for `node --cpu-prof` profiles of the rtspkit server (written when it exits). */
  cpuProf: string | undefined;
  /** Preload bench/memlog.js into the rtspkit server: process.memoryUsage() idle / window start / end. */
  memLog: boolean;
  /**
   * Node options of the rtspkit server: by default those `npm start` uses (--max-semi-space-size=2, see
   * the README's Performance section); `--node-args ''` runs it with Node's defaults.
   */
  rtspkitNodeArgs: string[];
}

const USAGE = `usage: node dist/bench/fanout.js [--readers 1,100,500] [--seconds 20]
       [--server rtspkit|gst|floor|both|all|rtspkit,floor,...] [--transport tcp|udp|http] [--coalesce MS[,MS...]]
       [--rtp-port-range A-B] [--reader-udp-ports A-B] [--warmup S] [--ramp K] [--clip FILE] [--json] [--out FILE]
       [--cpu-prof DIR] [--mem-log] [--node-args "--max-semi-space-size=2"]`;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    readers: [1, 100, 500],
    seconds: 20,
    servers: ['rtspkit', 'gst'],
    transport: 'tcp',
    rtpPortRange: undefined,
    readerUdpPorts: '40000-59999',
    coalesce: [undefined],
    clip: join(REPO, '../shared/media/h264_base_aac.mp4'),
    gstServer: join(REPO, '../shared/peers/gst_server.py'),
    warmupS: 3,
    ramp: 50,
    json: false,
    out: undefined,
    cpuProf: undefined,
    memLog: false,
    rtspkitNodeArgs: ['--max-semi-space-size=2'],
  };
  const intList = (v: string, what: string, min: number): number[] => {
    const xs = v.split(',').map((s) => Number(s.trim()));
    if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < min))
      throw new Error(`${what}: expected a comma-separated list of integers >= ${min}`);
    return xs;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') {
      o.json = true;
      continue;
    }
    if (a === '--mem-log') {
      o.memLog = true;
      continue;
    }
    if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`missing value after ${a}\n${USAGE}`);
    switch (a) {
      case '--readers':
        o.readers = intList(v, a, 1);
        break;
      case '--seconds':
        o.seconds = intList(v, a, 1)[0]!;
        break;
      case '--server':
        if (v === 'both') o.servers = ['rtspkit', 'gst'];
        else if (v === 'all') o.servers = ['rtspkit', 'gst', 'floor'];
        else {
          const kinds = v.split(',');
          if (kinds.some((k) => k !== 'rtspkit' && k !== 'gst' && k !== 'floor'))
            throw new Error(`--server: rtspkit, gst, floor, both, all or a comma list`);
          o.servers = kinds as ServerKind[];
        }
        break;
      case '--transport':
        if (v !== 'tcp' && v !== 'udp' && v !== 'http') throw new Error('--transport: tcp, udp or http');
        o.transport = v;
        break;
      case '--rtp-port-range':
        o.rtpPortRange = v;
        break;
      case '--reader-udp-ports':
        o.readerUdpPorts = v;
        break;
      case '--coalesce':
        o.coalesce = intList(v, a, 0);
        break;
      case '--warmup':
        o.warmupS = intList(v, a, 0)[0]!;
        break;
      case '--ramp':
        o.ramp = intList(v, a, 1)[0]!;
        break;
      case '--clip':
        o.clip = v;
        break;
      case '--gst-server':
        o.gstServer = v;
        break;
      case '--cpu-prof':
        o.cpuProf = v;
        break;
      case '--node-args':
        o.rtspkitNodeArgs = v.split(/\s+/).filter((x) => x !== '');
        break;
      case '--out':
        o.out = v;
        break;
      default:
        throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------
// Child processes: tracked, ended by PID.

class Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  exited = false;
  exitInfo = '';
  readonly exit: Promise<void>;
  #stderr: string[] = [];
  #stderrListeners: ((line: string) => void)[] = [];

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    opts: { cwd?: string; stdin?: 'pipe' | 'ignore' } = {},
  ) {
    // `ulimit -n` soft limit raised to the hard limit for N sockets; exec keeps the PID the real process's.
    this.child = spawn(
      'bash',
      ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'bash', cmd, ...args],
      {
        stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
        ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      },
    );
    if (this.child.pid === undefined) throw new Error(`${name}: could not spawn ${cmd}`);
    this.pid = this.child.pid;
    live.add(this);
    this.exit = new Promise<void>((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = true;
        this.exitInfo = signal !== null ? `signal ${signal}` : `code ${code}`;
        live.delete(this);
        resolve();
      });
      this.child.on('error', (err) => {
        this.exited = true;
        this.exitInfo = err.message;
        live.delete(this);
        resolve();
      });
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      if (!line.startsWith(MEM_LOG_PREFIX)) {
        this.#stderr.push(line);
        if (this.#stderr.length > 40) this.#stderr.shift();
      }
      for (const l of this.#stderrListeners) l(line);
    });
  }

  onStderrLine(listener: (line: string) => void): void {
    this.#stderrListeners.push(listener);
  }

  stderrTail(lines = 8): string {
    return this.#stderr.slice(-lines).join('\n');
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    signalPid(this.pid, 'SIGTERM');
    if (await within(this.exit, graceMs)) return;
    signalPid(this.pid, 'SIGKILL');
    await within(this.exit, 2000);
  }
}

const live = new Set<Proc>();

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Scratch directories of runs in progress, removed on exit. */
const scratchDirs = new Set<string>();

function killAllNow(): void {
  for (const p of live) signalPid(p.pid, 'SIGKILL');
  for (const d of scratchDirs) rmSync(d, { recursive: true, force: true });
}

process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nbench:fanout: ${sig}, ending ${live.size} child process(es)\n`);
    killAllNow();
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers.

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True when `p` settles within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), t]);
  } finally {
    clearTimeout(timer);
  }
}

/** An even UDP port whose odd neighbour is free too (rtspkit's rtpPort: RTP there, RTCP on the next). */
async function freeUdpPortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10000 + 2 * Math.floor(Math.random() * 5000);
    const sockets = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
    const ok = await Promise.all(
      sockets.map(
        (s, k) =>
          new Promise<boolean>((resolve) => {
            s.once('error', () => resolve(false));
            s.bind(port + k, HOST, () => resolve(true));
          }),
      ),
    );
    await Promise.all(
      sockets.map((s) => new Promise<void>((r) => s.close(() => r()))).map((p) => within(p, 500)),
    );
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no free UDP port pair for rtspkit');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean> | boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: HOST });
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function describeOk(port: number, url: string): Promise<boolean> {
  let conn: RtspConn | undefined;
  try {
    conn = await RtspConn.connect(port, HOST, 2000);
    const res = await conn.request('DESCRIBE', url, { Accept: 'application/sdp' }, 3000);
    return res.statusCode === 200;
  } catch {
    return false;
  } finally {
    conn?.close();
  }
}

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep 100, the Linux default
}

/** utime + stime of a process, in seconds (proc(5): fields 14 and 15, counted after the `(comm)` field). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clkTck;
}

function rssKB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m !== null ? Number(m[1]) : NaN;
}

function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

// ---------------------------------------------------------------------------------------------------------
// One measured run: one server, one N.

interface Variant {
  kind: ServerKind;
  coalesceMs: number | undefined;
  label: string;
}

export interface RunResult {
  server: string;
  readers: number;
  seconds: number;
  error?: string;
  ready?: ReadyMessage;
  report?: ReportMessage;
  /** Server, % of one core over the window; publisher (ffmpeg) and readers process likewise. */
  serverCpuPct?: number;
  publisherCpuPct?: number;
  readersCpuPct?: number;
  /** Server VmRSS, kB: after publishing and before readers; at the start and end of the window; max seen. */
  rssIdleKB?: number;
  rssStartKB?: number;
  rssEndKB?: number;
  rssMaxKB?: number;
  /** Server VmRSS about once a second over the window, kB. */
  rssSamplesKB?: number[];
  deliveredMbps?: number;
  loadavgBefore?: number[];
  loadavgAfter?: number[];
  /** With --mem-log (rtspkit): process.memoryUsage() of the server, bytes. */
  memIdle?: NodeJS.MemoryUsage;
  memStart?: NodeJS.MemoryUsage;
  memEnd?: NodeJS.MemoryUsage;
}

async function startServer(
  v: Variant,
  port: number,
  workDir: string,
  maxSeconds: number,
  o: Options,
): Promise<Proc> {
  if (v.kind === 'floor') {
    const p = new Proc(
      'floor',
      process.execPath,
      [FLOOR, '--host', HOST, '--port', String(port), '--coalesce-ms', String(v.coalesceMs ?? 0)],
      { cwd: workDir },
    );
    await waitUntil('floor to listen', 15_000, async () => {
      if (p.exited) throw new Error(`floor exited (${p.exitInfo}): ${p.stderrTail()}`);
      return canConnect(port);
    });
    return p;
  }
  if (v.kind === 'rtspkit') {
    // An explicit config file (in a scratch cwd, so no stray ./rtspkit.yml is picked up). UDP only for
    // UDP runs: one shared server pair (rtpPort, a free even port) unless --rtp-port-range is given.
    const cfg = join(workDir, 'rtspkit.yml');
    let udpConfig = '';
    if (o.transport === 'udp')
      udpConfig =
        o.rtpPortRange !== undefined
          ? `rtpPortRange: "${o.rtpPortRange}"\n`
          : `rtpPort: ${await freeUdpPortPair()}\n`;
    writeFileSync(
      cfg,
      `logLevel: warn\n${udpConfig}${v.coalesceMs !== undefined ? `writeCoalesceMs: ${v.coalesceMs}\n` : ''}`,
    );
    const p = new Proc(
      'rtspkit',
      process.execPath,
      [
        ...o.rtspkitNodeArgs,
        ...(o.cpuProf !== undefined ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProf] : []),
        ...(o.memLog ? ['--import', MEMLOG] : []),
        CLI,
        'serve',
        '-c',
        cfg,
        '--host',
        HOST,
        '--port',
        String(port),
        ...(o.transport === 'udp' ? [] : ['--no-udp']),
      ],
      {
        cwd: workDir,
      },
    );
    await waitUntil('rtspkit to listen', 15_000, async () => {
      if (p.exited) throw new Error(`rtspkit exited (${p.exitInfo}): ${p.stderrTail()}`);
      return canConnect(port);
    });
    return p;
  }
  // gst-rtsp-server takes server ports per stream of the shared media from this pool (below the readers'
  // --reader-udp-ports and the ephemeral range's busy end).
  const udpBase = 20000 + 2 * Math.floor(Math.random() * 4000);
  let ready = false;
  const p = new Proc(
    'gst',
    '/usr/bin/python3',
    [
      o.gstServer,
      '--record-mount',
      '/pub',
      '--relay-mount',
      '/bench',
      '--port',
      String(port),
      '--udp-ports',
      `${udpBase}-${udpBase + 199}`,
      '--max-seconds',
      String(maxSeconds),
    ],
    { cwd: workDir },
  );
  p.onStderrLine((line) => {
    if (line.includes('ready pid=')) ready = true;
  });
  await waitUntil('gst_server.py ready', 20_000, () => {
    if (p.exited) throw new Error(`gst_server.py exited (${p.exitInfo}): ${p.stderrTail()}`);
    return ready;
  });
  return p;
}

async function runOne(v: Variant, n: number, o: Options): Promise<RunResult> {
  const result: RunResult = { server: v.label, readers: n, seconds: o.seconds };
  const procs: Proc[] = [];
  const workDir = mkdtempSync(join(tmpdir(), 'rtspkit-fanout-'));
  scratchDirs.add(workDir);
  try {
    const port = await freePort();
    const readyBudgetS = 60 + Math.ceil(n / 10);
    const maxSeconds = readyBudgetS + o.seconds + o.warmupS + 120;
    const server = await startServer(v, port, workDir, maxSeconds, o);
    procs.push(server);
    let lastMem: NodeJS.MemoryUsage | undefined;
    server.onStderrLine((line) => {
      if (line.startsWith(MEM_LOG_PREFIX))
        lastMem = JSON.parse(line.slice(MEM_LOG_PREFIX.length)) as NodeJS.MemoryUsage;
    });

    const publishUrl = `rtsp://${HOST}:${port}/${v.kind === 'gst' ? 'pub' : 'bench'}`;
    const readUrl = `rtsp://${HOST}:${port}/bench`;
    const ffmpeg = new Proc('ffmpeg', 'ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostdin',
      '-re',
      '-stream_loop',
      '-1',
      '-i',
      o.clip,
      '-map',
      '0',
      '-c',
      'copy',
      '-f',
      'rtsp',
      '-rtsp_transport',
      'tcp',
      publishUrl,
    ]);
    procs.push(ffmpeg);
    await waitUntil('the published stream to be readable (DESCRIBE 200)', 30_000, async () => {
      if (ffmpeg.exited) throw new Error(`ffmpeg exited (${ffmpeg.exitInfo}): ${ffmpeg.stderrTail()}`);
      if (server.exited) throw new Error(`server exited (${server.exitInfo}): ${server.stderrTail()}`);
      return describeOk(port, readUrl);
    });
    await sleep(2000); // a keyframe or two into the stream
    result.rssIdleKB = rssKB(server.pid);
    if (lastMem !== undefined) result.memIdle = lastMem;

    const readers = new Proc(
      'readers',
      process.execPath,
      [
        READERS,
        '--url',
        readUrl,
        '--count',
        String(n),
        '--ramp',
        String(o.ramp),
        '--transport',
        o.transport,
        '--udp-ports',
        o.readerUdpPorts,
      ],
      {
        stdin: 'pipe',
      },
    );
    procs.push(readers);
    const messages: (ReadyMessage | ReportMessage)[] = [];
    createInterface({ input: readers.child.stdout! }).on('line', (line) => {
      try {
        messages.push(JSON.parse(line) as ReadyMessage | ReportMessage);
      } catch {
        process.stderr.write(`readers: ${line}\n`);
      }
    });
    const alive = (): void => {
      for (const p of [server, ffmpeg, readers])
        if (p.exited) throw new Error(`${p.name} exited (${p.exitInfo}): ${p.stderrTail()}`);
    };
    await waitUntil(`${n} readers to set up`, readyBudgetS * 1000, () => {
      alive();
      return messages.some((m) => m.type === 'ready');
    });
    result.ready = messages.find((m): m is ReadyMessage => m.type === 'ready')!;
    await sleep(o.warmupS * 1000);
    alive();

    // The window.
    result.loadavgBefore = loadavg();
    const t0 = performance.now();
    const cpu0 = cpuSeconds(server.pid);
    const pubCpu0 = cpuSeconds(ffmpeg.pid);
    const rdCpu0 = cpuSeconds(readers.pid);
    result.rssStartKB = rssKB(server.pid);
    if (lastMem !== undefined) result.memStart = lastMem;
    readers.child.stdin!.write('mark\n');
    const rssSamples = [result.rssStartKB];
    const end = t0 + o.seconds * 1000;
    for (let now = performance.now(); now < end; now = performance.now()) {
      await sleep(Math.min(1000, end - now));
      alive();
      rssSamples.push(rssKB(server.pid));
    }
    const t1 = performance.now();
    const wallS = (t1 - t0) / 1000;
    result.serverCpuPct = ((cpuSeconds(server.pid) - cpu0) / wallS) * 100;
    result.publisherCpuPct = ((cpuSeconds(ffmpeg.pid) - pubCpu0) / wallS) * 100;
    result.readersCpuPct = ((cpuSeconds(readers.pid) - rdCpu0) / wallS) * 100;
    result.rssEndKB = rssKB(server.pid);
    if (lastMem !== undefined) result.memEnd = lastMem;
    rssSamples.push(result.rssEndKB);
    result.rssSamplesKB = rssSamples;
    result.rssMaxKB = Math.max(...rssSamples);
    result.loadavgAfter = loadavg();
    readers.child.stdin!.write('stop\n');
    await waitUntil('the readers report', 20_000, () => {
      if (readers.exited && !messages.some((m) => m.type === 'report'))
        throw new Error(`readers exited (${readers.exitInfo}) without a report: ${readers.stderrTail()}`);
      return messages.some((m) => m.type === 'report');
    });
    const report = messages.find((m): m is ReportMessage => m.type === 'report')!;
    result.report = report;
    result.deliveredMbps = (report.windowBytes * 8) / (report.windowMs / 1000) / 1e6;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    for (const p of procs.reverse()) await p.stop();
    rmSync(workDir, { recursive: true, force: true });
    scratchDirs.delete(workDir);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Output.

function fmt(x: number | undefined, digits = 0): string {
  return x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits);
}

function table(results: readonly RunResult[]): string {
  const head = [
    'server',
    'N',
    'playing',
    'Mbit/s',
    'per rdr',
    'lost',
    'CPU %',
    'RSS MB idle/start/end',
    'KB/rdr',
    'setup p50/p99 ms',
    'PLAY rep p50/p99',
    'TTFK p50/p99 ms',
    'added p50/p99 ms',
    'key 1st',
    'rdrs CPU %',
    'load1',
  ];
  const rows = results.map((r) => {
    if (r.error !== undefined || r.report === undefined)
      return [r.server, String(r.readers), `ERROR: ${r.error ?? '?'}`];
    const rep = r.report;
    const growth =
      r.rssIdleKB !== undefined && r.rssEndKB !== undefined && r.readers >= 50
        ? (r.rssEndKB - r.rssIdleKB) / r.readers
        : undefined;
    const mb = (kb: number | undefined): string => fmt(kb === undefined ? undefined : kb / 1024, 1);
    return [
      r.server,
      String(r.readers),
      `${rep.playing}/${rep.requested}${rep.closedAfterPlay > 0 ? ` (${rep.closedAfterPlay} closed)` : ''}`,
      fmt(r.deliveredMbps, 1),
      fmt(r.deliveredMbps !== undefined && rep.playing > 0 ? r.deliveredMbps / rep.playing : undefined, 3),
      `${rep.windowLost}${rep.totalLost !== rep.windowLost ? ` (${rep.totalLost})` : ''}`,
      fmt(r.serverCpuPct, 1),
      `${mb(r.rssIdleKB)}/${mb(r.rssStartKB)}/${mb(r.rssEndKB)}`,
      fmt(growth, 1),
      `${fmt(percentile(rep.setupMs, 50))}/${fmt(percentile(rep.setupMs, 99))}`,
      `${fmt(percentile(rep.playReplyMs, 50))}/${fmt(percentile(rep.playReplyMs, 99))}`,
      `${fmt(percentile(rep.firstKeyframeMs, 50))}/${fmt(percentile(rep.firstKeyframeMs, 99))}`,
      `${fmt(rep.addedDelayMs.p50, 1)}/${fmt(rep.addedDelayMs.p99, 1)}`,
      `${rep.playing > 0 ? Math.round((100 * rep.firstVideoIsKeyframe) / rep.playing) : 0}%`,
      fmt(r.readersCpuPct, 0),
      fmt(r.loadavgBefore?.[0], 2),
    ];
  });
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r.length === head.length ? r[i]!.length : 0))),
  );
  const line = (cells: string[]): string =>
    cells.length === head.length
      ? `| ${cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`
      : `| ${cells.join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function ratios(results: readonly RunResult[]): string {
  const out: string[] = [];
  const ns = [...new Set(results.map((r) => r.readers))];
  for (const n of ns) {
    // rtspkit against the floor with the same window.
    for (const r of results) {
      if (r.readers !== n || !r.server.startsWith('rtspkit') || r.report === undefined) continue;
      const floor = results.find(
        (f) => f.readers === n && f.server === r.server.replace('rtspkit', 'floor') && f.report !== undefined,
      );
      if (floor !== undefined)
        out.push(
          `N=${n} ${r.server}/${floor.server}: CPU ${fmt((r.serverCpuPct ?? NaN) / (floor.serverCpuPct ?? NaN), 2)}`,
        );
    }
    const gst = results.find((r) => r.readers === n && r.server === 'gst' && r.report !== undefined);
    if (gst === undefined) continue;
    for (const r of results) {
      if (r.readers !== n || r.server === 'gst' || r.report === undefined) continue;
      const ttfk = (x: RunResult): number => percentile(x.report!.firstKeyframeMs, 50);
      const growth = (x: RunResult): number => (x.rssEndKB ?? NaN) - (x.rssIdleKB ?? NaN);
      out.push(
        `N=${n} ${r.server}/gst: CPU ${fmt((r.serverCpuPct ?? NaN) / (gst.serverCpuPct ?? NaN), 2)}, ` +
          `TTFK p50 ${fmt(ttfk(r) / ttfk(gst), 2)}, RSS growth ${fmt(growth(r) / growth(gst), 2)}, ` +
          `Mbit/s ${fmt((r.deliveredMbps ?? NaN) / (gst.deliveredMbps ?? NaN), 2)}`,
      );
    }
  }
  return out.join('\n');
}

function describeFailures(results: readonly RunResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    const rep = r.report;
    if (rep === undefined) continue;
    const notes: string[] = [];
    if (rep.failed > 0) notes.push(`${rep.failed} setups failed: ${JSON.stringify(rep.failures)}`);
    if (rep.closedAfterPlay > 0)
      notes.push(`${rep.closedAfterPlay} closed after PLAY: ${JSON.stringify(rep.closeReasons)}`);
    if (rep.windowSilentReaders > 0)
      notes.push(`${rep.windowSilentReaders} readers got nothing in the window`);
    if (rep.noKeyframe > 0) notes.push(`${rep.noKeyframe} readers saw no keyframe`);
    if (rep.udpRcvbufErrors !== undefined && rep.udpRcvbufErrors > 0)
      notes.push(
        `${rep.udpRcvbufErrors} datagrams dropped on full receive buffers (host-wide RcvbufErrors over the run)`,
      );
    if (rep.windowDuplicates + rep.windowReordered > 0)
      notes.push(`${rep.windowDuplicates} duplicate and ${rep.windowReordered} reordered packets`);
    if (r.memIdle !== undefined && r.memEnd !== undefined) {
      const perReaderKB = (k: keyof NodeJS.MemoryUsage): string =>
        fmt((r.memEnd![k] - r.memIdle![k]) / 1024 / r.readers, 1);
      const rest =
        (r.memEnd.rss -
          r.memEnd.heapTotal -
          r.memEnd.external -
          (r.memIdle.rss - r.memIdle.heapTotal - r.memIdle.external)) /
        1024 /
        r.readers;
      notes.push(
        `memory growth idle -> end, KB per reader: rss ${perReaderKB('rss')}, heapTotal ${perReaderKB('heapTotal')} ` +
          `(heapUsed ${perReaderKB('heapUsed')}), external ${perReaderKB('external')} ` +
          `(arrayBuffers ${perReaderKB('arrayBuffers')}), rest ${fmt(rest, 1)}`,
      );
    }
    if (notes.length > 0) out.push(`${r.server} N=${r.readers}: ${notes.join('; ')}`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const variants: Variant[] = [];
  for (const kind of o.servers) {
    if (kind === 'gst') variants.push({ kind, coalesceMs: undefined, label: 'gst' });
    else
      for (const c of o.coalesce)
        variants.push({ kind, coalesceMs: c, label: c === undefined ? kind : `${kind} c=${c}ms` });
  }
  const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, Node ${process.version}`;
  process.stderr.write(
    `bench:fanout: ${machine}; readers ${o.readers.join(',')}; ${o.seconds} s window after ${o.warmupS} s warm-up; ` +
      `transport ${o.transport}; clip ${o.clip}\n`,
  );
  const results: RunResult[] = [];
  for (const n of o.readers) {
    for (const v of variants) {
      process.stderr.write(`  ${v.label}, N=${n} ... `);
      const r = await runOne(v, n, o);
      results.push(r);
      process.stderr.write(
        r.error !== undefined
          ? `error: ${r.error}\n`
          : `${fmt(r.deliveredMbps, 1)} Mbit/s, lost ${r.report?.windowLost}, CPU ${fmt(r.serverCpuPct, 1)} %\n`,
      );
    }
  }
  if (o.out !== undefined)
    writeFileSync(o.out, `${JSON.stringify({ machine, options: o, results }, null, 2)}\n`);
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ machine, results }, null, 2)}\n`);
  } else {
    process.stdout.write(
      `\n${machine}; ${o.seconds} s window; transport ${o.transport}\n\n${table(results)}\n`,
    );
    const rat = ratios(results);
    if (rat !== '') process.stdout.write(`\n${rat}\n`);
    const fails = describeFailures(results);
    if (fails !== '') process.stdout.write(`\nnotes:\n${fails}\n`);
    process.stdout.write(
      '\nMbit/s: sum over readers of `$` frame bytes in the window (UDP: datagram bytes). lost: RTP sequence gaps in the window ' +
        '(whole run in parentheses when different). CPU %: server utime+stime / wall time (100 = one core). ' +
        "KB/rdr: (RSS end - idle) / N, for N >= 50 (GC noise of a few MB hides it below). setup: connect to PLAY reply (at most --ramp setups in flight). PLAY rep: PLAY request to reply. TTFK: PLAY request to first keyframe packet. added: video packets' arrival delay minus the reader's smallest, over the window, pooled. key 1st: readers whose " +
        'first video packet started a keyframe. load1: 1-min load average at the window start.\n',
    );
  }
  if (results.some((r) => r.error !== undefined)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:fanout: ${err instanceof Error ? err.message : String(err)}\n`);
  killAllNow();
  process.exit(1);
});
