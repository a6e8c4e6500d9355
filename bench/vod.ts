// `npm run bench:vod`: N readers of ONE file on demand, each at a different position, measured from outside the
// server. Issue 4: "100 readers of one file, each at a different position: server CPU and RSS per reader".
//
//   npm run bench:vod -- [--readers 100] [--seconds 20] [--server rtspkit|gst|both] [--file-seconds 90]
//                        [--warmup 3] [--ramp 50] [--clip FILE] [--json] [--out FILE]
//
// The bench loops --clip into a --file-seconds long MP4 in a scratch folder (ffmpeg -stream_loop, -c copy,
// +faststart). For each server and each N: the server runs as its own process (rtspkit: `serve --media DIR
// --no-udp`; gst-rtsp-server: bench/gst_vod_server.py, a non-shared media factory, one pipeline per client),
// and this same script, started again with `--child`, opens the N readers in another process: DESCRIBE, SETUP
// of every track over TCP interleaved, PLAY with `Range: npt=<start>-`, the starts spread evenly over
// [0, file - window - warm-up - 10 s] so that no reader reaches the end of the file before the window closes.
// After every reader plays and a warm-up, a window of --seconds is measured: bytes, RTP packets and sequence
// gaps from the readers; the server's CPU (utime+stime from /proc/PID/stat over wall time) and RSS (VmRSS).
// Everything runs on 127.0.0.1; every child is ended by its PID, also on errors and Ctrl-C.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { getControl } from '../src/sdp/attributes.js';
import { parseSdp } from '../src/sdp/parse.js';
import { parseRange } from '../src/rtsp/range.js';
import { parseSession } from '../src/rtsp/session.js';
import { parseTransport } from '../src/rtsp/transport.js';
import { parseRtspUrl, resolveControlUrl, resolveSessionUrl } from '../src/rtsp/url.js';
import type { InterleavedFrame } from '../src/rtsp/message.js';
import { RtspConn } from './rtsp-conn.js';

const HOST = '127.0.0.1';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
/** Seconds kept free at the end of the file, beyond window and warm-up, for the ramp. */
const END_MARGIN_S = 10;

type ServerKind = 'rtspkit' | 'gst';

// ---------------------------------------------------------------------------------------------------------
// Reader process (`--child`): JSON lines on stdout ({"type":"ready"} once every setup ended, {"type":"report"}
// after "stop" on stdin); "mark" on stdin starts the window. Exits after the report or when stdin closes.

export interface ReadyMessage {
  type: 'ready';
  requested: number;
  playing: number;
  failures: Record<string, number>;
  rampMs: number;
}

export interface ReportMessage {
  type: 'report';
  requested: number;
  /** Readers whose PLAY was answered 200. */
  playing: number;
  failures: Record<string, number>;
  /** Readers whose connection ended after PLAY, before "stop"; readers that got an RTCP BYE (end of range). */
  closedAfterPlay: number;
  closeReasons: Record<string, number>;
  byeReaders: number;
  windowMs: number;
  /** Over the window: `$` frame bytes (headers included), RTP packets, sequence gaps, duplicates, reorders. */
  windowBytes: number;
  windowRtpPackets: number;
  windowLost: number;
  windowDuplicates: number;
  windowReordered: number;
  windowSilentReaders: number;
  windowMinReaderBytes: number;
  windowMaxReaderBytes: number;
  totalRtpPackets: number;
  totalLost: number;
  /** Per playing reader, ms: connect to DESCRIBE reply; PLAY request to reply; PLAY request to first RTP. */
  describeMs: number[];
  playReplyMs: number[];
  firstPacketMs: number[];
  /** Per playing reader, s: requested start minus the start in the PLAY reply's Range (keyframe before it). */
  startBackS: number[];
  cpuUserMs: number;
  cpuSystemMs: number;
}

interface ChildArgs {
  url: string;
  count: number;
  ramp: number;
  maxStartS: number;
  timeoutMs: number;
}

function parseChildArgs(argv: string[]): ChildArgs {
  const out: ChildArgs = { url: '', count: 1, ramp: 50, maxStartS: 0, timeoutMs: 20_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--child') continue;
    const v = argv[++i];
    if (v === undefined) throw new Error(`missing value after ${a}`);
    if (a === '--url') out.url = v;
    else if (a === '--count') out.count = Number(v);
    else if (a === '--ramp') out.ramp = Number(v);
    else if (a === '--max-start') out.maxStartS = Number(v);
    else if (a === '--timeout-ms') out.timeoutMs = Number(v);
    else throw new Error(`unknown argument ${a}`);
  }
  if (out.url === '') throw new Error('--url is required');
  if (!Number.isFinite(out.maxStartS) || out.maxStartS < 0) throw new Error('--max-start must be >= 0');
  for (const k of ['count', 'ramp', 'timeoutMs'] as const)
    if (!Number.isInteger(out[k]) || out[k] < 1) throw new Error(`--${k} must be a positive integer`);
  return out;
}

interface Channel {
  rtp: boolean;
  lastSeq: number;
}

class Reader {
  conn: RtspConn | undefined;
  state: 'idle' | 'setup' | 'playing' | 'failed' | 'closed' = 'idle';
  failure = '';
  sessionId = '';
  sessionUrl = '';
  keepaliveEveryMs = 20_000;
  nextKeepaliveAt = 0;
  channels: (Channel | undefined)[] = [];
  setupStart = 0;
  describeMs = -1;
  playSentAt = 0;
  playReplyMs = -1;
  firstPacketMs = -1;
  startBackS = NaN;
  bye = false;
  rtpPackets = 0;
  lost = 0;
  wBytes = 0;
  wPackets = 0;
  wLost = 0;
  wDup = 0;
  wReorder = 0;

  constructor(readonly startS: number) {}

  onFrame(f: InterleavedFrame): void {
    const p = f.payload;
    this.wBytes += p.length + 4;
    const ch = this.channels[f.channel];
    if (ch === undefined) return;
    if (!ch.rtp) {
      // RTCP compound (RFC 3550 §6.1): look for a BYE (PT 203), sent when the range has ended.
      for (let o = 0; o + 4 <= p.length; o += 4 * (p.readUInt16BE(o + 2) + 1))
        if (p[o + 1] === 203) this.bye = true;
      return;
    }
    if (p.length < 12) return;
    this.rtpPackets++;
    this.wPackets++;
    if (this.firstPacketMs < 0) this.firstPacketMs = performance.now() - this.playSentAt;
    const seq = p.readUInt16BE(2);
    if (ch.lastSeq >= 0) {
      const d = (seq - ch.lastSeq) & 0xffff;
      if (d === 0) this.wDup++;
      else if (d >= 0x8000) this.wReorder++;
      else {
        if (d > 1) {
          this.lost += d - 1;
          this.wLost += d - 1;
        }
        ch.lastSeq = seq;
      }
    } else {
      ch.lastSeq = seq;
    }
  }

  async setup(url: string, port: number, host: string, timeoutMs: number): Promise<void> {
    this.state = 'setup';
    this.setupStart = performance.now();
    const conn = await RtspConn.connect(port, host, timeoutMs);
    this.conn = conn;
    conn.onClose = (err) => {
      if (this.state === 'playing') {
        this.state = 'closed';
        this.failure = err.message;
      }
    };
    const desc = await conn.request('DESCRIBE', url, { Accept: 'application/sdp' }, timeoutMs);
    if (desc.statusCode !== 200) throw new Error(`DESCRIBE ${desc.statusCode}`);
    this.describeMs = performance.now() - this.setupStart;
    const sdp = parseSdp(desc.body.toString('utf8'));
    const base = {
      requestUrl: url,
      ...(desc.headers.get('Content-Base') !== undefined
        ? { contentBase: desc.headers.get('Content-Base')! }
        : {}),
      ...(getControl(sdp) !== undefined ? { sessionControl: getControl(sdp)! } : {}),
    };
    this.sessionUrl = resolveSessionUrl(base);
    let i = 0;
    for (const md of sdp.media) {
      const control = getControl(md);
      const trackUrl = resolveControlUrl({
        ...base,
        ...(control !== undefined ? { mediaControl: control } : {}),
      });
      const headers: Record<string, string> = {
        Transport: `RTP/AVP/TCP;unicast;interleaved=${2 * i}-${2 * i + 1}`,
      };
      if (this.sessionId !== '') headers.Session = this.sessionId;
      const res = await conn.request('SETUP', trackUrl, headers, timeoutMs);
      if (res.statusCode !== 200) throw new Error(`SETUP ${res.statusCode}`);
      const session = parseSession(res.headers.get('Session') ?? '');
      this.sessionId = session.id;
      if (session.timeoutS !== undefined && session.timeoutS > 0)
        this.keepaliveEveryMs = Math.max(1000, (session.timeoutS * 1000) / 3);
      const spec = parseTransport(res.headers.get('Transport') ?? '')[0];
      const rtpCh = spec?.interleaved?.rtp ?? 2 * i;
      const rtcpCh = spec?.interleaved?.rtcp ?? rtpCh + 1;
      this.channels[rtpCh] = { rtp: true, lastSeq: -1 };
      this.channels[rtcpCh] = { rtp: false, lastSeq: -1 };
      i++;
    }
    conn.onFrame = (f) => this.onFrame(f);
    this.playSentAt = performance.now();
    const play = await conn.request(
      'PLAY',
      this.sessionUrl,
      { Session: this.sessionId, Range: `npt=${this.startS.toFixed(3)}-` },
      timeoutMs,
    );
    if (play.statusCode !== 200) throw new Error(`PLAY ${play.statusCode}`);
    this.playReplyMs = performance.now() - this.playSentAt;
    const range = play.headers.get('Range');
    if (range !== undefined) {
      try {
        const r = parseRange(range);
        if (r.unit === 'npt' && typeof r.start === 'number') this.startBackS = this.startS - r.start;
      } catch {
        // an unreadable Range in the reply: leave NaN
      }
    }
    this.nextKeepaliveAt = performance.now() + this.keepaliveEveryMs * (0.5 + Math.random() / 2);
    this.state = 'playing';
  }

  mark(): void {
    this.wBytes = 0;
    this.wPackets = 0;
    this.wLost = 0;
    this.wDup = 0;
    this.wReorder = 0;
  }
}

function countReason(map: Record<string, number>, reason: string): void {
  const key = reason.replace(/\d{4,}/g, 'N').slice(0, 80);
  map[key] = (map[key] ?? 0) + 1;
}

async function childMain(): Promise<void> {
  const args = parseChildArgs(process.argv.slice(2));
  const url = parseRtspUrl(args.url);
  const step = args.count > 1 ? args.maxStartS / (args.count - 1) : 0;
  const readers = Array.from({ length: args.count }, (_, i) => new Reader(i * step));
  const failures: Record<string, number> = {};
  const send = (msg: ReadyMessage | ReportMessage): Promise<void> =>
    new Promise((resolve) => process.stdout.write(`${JSON.stringify(msg)}\n`, () => resolve()));

  let stopped = false;
  let markAt = performance.now();
  let markCpu = process.cpuUsage();
  let stopResolve: () => void = () => undefined;
  const stopSignal = new Promise<void>((resolve) => (stopResolve = resolve));
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'mark') {
      for (const r of readers) r.mark();
      markAt = performance.now();
      markCpu = process.cpuUsage();
    } else if (line.trim() === 'stop') {
      stopped = true;
      stopResolve();
    }
  });
  lines.on('close', () => {
    for (const r of readers) r.conn?.close();
    process.exit(3);
  });

  const keepalive = setInterval(() => {
    const now = performance.now();
    for (const r of readers) {
      if (r.state === 'playing' && now >= r.nextKeepaliveAt) {
        r.nextKeepaliveAt = now + r.keepaliveEveryMs;
        r.conn?.send('OPTIONS', r.sessionUrl, { Session: r.sessionId });
      }
    }
  }, 1000);

  // At most `ramp` setups in flight; every reader is tried once, in order of its start position.
  const rampStart = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!stopped && next < readers.length) {
      const r = readers[next++]!;
      try {
        await r.setup(args.url, url.port, url.host, args.timeoutMs);
      } catch (err) {
        r.state = 'failed';
        r.failure = err instanceof Error ? err.message : String(err);
        countReason(failures, r.failure);
        r.conn?.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(args.ramp, readers.length) }, () => worker()));
  await send({
    type: 'ready',
    requested: args.count,
    playing: readers.filter((r) => r.state === 'playing').length,
    failures,
    rampMs: performance.now() - rampStart,
  });

  await stopSignal;
  const windowMs = performance.now() - markAt;
  const cpu = process.cpuUsage(markCpu);
  clearInterval(keepalive);
  const played = readers.filter((r) => r.playReplyMs >= 0);
  const closeReasons: Record<string, number> = {};
  for (const r of played) if (r.state === 'closed') countReason(closeReasons, r.failure);
  const wBytes = played.map((r) => r.wBytes);
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const report: ReportMessage = {
    type: 'report',
    requested: args.count,
    playing: played.length,
    failures,
    closedAfterPlay: played.filter((r) => r.state === 'closed').length,
    closeReasons,
    byeReaders: played.filter((r) => r.bye).length,
    windowMs,
    windowBytes: sum(wBytes),
    windowRtpPackets: sum(played.map((r) => r.wPackets)),
    windowLost: sum(played.map((r) => r.wLost)),
    windowDuplicates: sum(played.map((r) => r.wDup)),
    windowReordered: sum(played.map((r) => r.wReorder)),
    windowSilentReaders: wBytes.filter((b) => b === 0).length,
    windowMinReaderBytes: wBytes.length > 0 ? Math.min(...wBytes) : 0,
    windowMaxReaderBytes: wBytes.length > 0 ? Math.max(...wBytes) : 0,
    totalRtpPackets: sum(played.map((r) => r.rtpPackets)),
    totalLost: sum(played.map((r) => r.lost)),
    describeMs: played.map((r) => r.describeMs),
    playReplyMs: played.map((r) => r.playReplyMs),
    firstPacketMs: played.filter((r) => r.firstPacketMs >= 0).map((r) => r.firstPacketMs),
    startBackS: played.filter((r) => !Number.isNaN(r.startBackS)).map((r) => r.startBackS),
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
  };
  for (const r of readers) r.conn?.close();
  await send(report);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------------------
// Parent: options.

interface Options {
  readers: number[];
  seconds: number;
  servers: ServerKind[];
  fileSeconds: number;
  clip: string;
  gstServer: string;
  warmupS: number;
  ramp: number;
  json: boolean;
  out: string | undefined;
}

const USAGE = `usage: node dist/bench/vod.js [--readers 100[,50,200]] [--seconds 20] [--server rtspkit|gst|both]
       [--file-seconds 90] [--warmup S] [--ramp K] [--clip FILE] [--json] [--out FILE]`;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    readers: [100],
    seconds: 20,
    servers: ['rtspkit', 'gst'],
    fileSeconds: 90,
    clip: join(REPO, '../shared/media/h264_base_aac.mp4'),
    gstServer: join(REPO, 'bench/gst_vod_server.py'),
    warmupS: 3,
    ramp: 50,
    json: false,
    out: undefined,
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
        else if (v === 'rtspkit' || v === 'gst') o.servers = [v];
        else throw new Error(`--server: rtspkit, gst or both`);
        break;
      case '--file-seconds':
        o.fileSeconds = intList(v, a, 10)[0]!;
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
      case '--out':
        o.out = v;
        break;
      default:
        throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
  }
  if (o.fileSeconds - o.seconds - o.warmupS - END_MARGIN_S < 0)
    throw new Error(`--file-seconds must be at least --seconds + --warmup + ${END_MARGIN_S}`);
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
    // `ulimit -n` soft limit raised to the hard limit; exec keeps the PID the real process's.
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
      this.#stderr.push(line);
      if (this.#stderr.length > 40) this.#stderr.shift();
      for (const l of this.#stderrListeners) l(line);
    });
  }

  onStderrLine(listener: (line: string) => void): void {
    this.#stderrListeners.push(listener);
  }

  stderrTail(lines = 8): string {
    return this.#stderr.slice(-lines).join('\n');
  }

  /** All stderr lines kept (the last 40). */
  stderrLines(): string[] {
    return [...this.#stderr];
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

const scratchDirs = new Set<string>();

function killAllNow(): void {
  for (const p of live) signalPid(p.pid, 'SIGKILL');
  for (const d of scratchDirs) rmSync(d, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers.

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), t]);
  } finally {
    clearTimeout(timer);
  }
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

async function describeOk(port: number, url: string): Promise<boolean> {
  let conn: RtspConn | undefined;
  try {
    conn = await RtspConn.connect(port, HOST, 2000);
    const res = await conn.request('DESCRIBE', url, { Accept: 'application/sdp' }, 5000);
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

function procStatus(pid: number, field: 'VmRSS' | 'Threads'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m !== null ? Number(m[1]) : NaN;
}
const rssKB = (pid: number): number => procStatus(pid, 'VmRSS');

function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

// ---------------------------------------------------------------------------------------------------------
// One measured run: one server, one N.

export interface RunResult {
  server: ServerKind;
  readers: number;
  seconds: number;
  maxStartS: number;
  error?: string;
  ready?: ReadyMessage;
  report?: ReportMessage;
  /** Server, % of one core over the window; the readers process likewise. */
  serverCpuPct?: number;
  readersCpuPct?: number;
  /** Server VmRSS, kB: before any reader (after one DESCRIBE); at the start and end of the window; max. */
  rssIdleKB?: number;
  rssStartKB?: number;
  rssEndKB?: number;
  rssMaxKB?: number;
  rssSamplesKB?: number[];
  threadsIdle?: number;
  threadsEnd?: number;
  deliveredMbps?: number;
  loadavgBefore?: number[];
  loadavgAfter?: number[];
  /** Warnings and errors the server wrote on stderr (the last 40 lines). */
  serverStderr?: string[];
}

interface Media {
  dir: string;
  name: string;
  durationS: number;
}

async function startServer(
  kind: ServerKind,
  port: number,
  workDir: string,
  media: Media,
  maxSeconds: number,
  o: Options,
): Promise<{ proc: Proc; url: string }> {
  if (kind === 'rtspkit') {
    let rtpPort = await freePort();
    if (rtpPort % 2 === 1) rtpPort = rtpPort > 60000 ? rtpPort - 1 : rtpPort + 1;
    const p = new Proc(
      'rtspkit',
      process.execPath,
      [
        CLI,
        'serve',
        '--host',
        HOST,
        '--port',
        String(port),
        '--rtp-port',
        String(rtpPort),
        '--no-udp',
        '--media',
        media.dir,
        '--log-level',
        'warn',
      ],
      { cwd: workDir }, // no stray ./rtspkit.yml
    );
    return { proc: p, url: `rtsp://${HOST}:${port}/${media.name}` };
  }
  let ready = false;
  const p = new Proc(
    'gst',
    '/usr/bin/python3',
    [
      o.gstServer,
      '--file',
      join(media.dir, media.name),
      '--mount',
      '/vod',
      '--port',
      String(port),
      '--max-seconds',
      String(maxSeconds),
    ],
    { cwd: workDir },
  );
  p.onStderrLine((line) => {
    if (line.includes('ready pid=')) ready = true;
  });
  await waitUntil('gst_vod_server.py ready', 20_000, () => {
    if (p.exited) throw new Error(`gst_vod_server.py exited (${p.exitInfo}): ${p.stderrTail()}`);
    return ready;
  });
  return { proc: p, url: `rtsp://${HOST}:${port}/vod` };
}

async function runOne(kind: ServerKind, n: number, media: Media, o: Options): Promise<RunResult> {
  const maxStartS = Math.max(0, media.durationS - o.seconds - o.warmupS - END_MARGIN_S);
  const result: RunResult = { server: kind, readers: n, seconds: o.seconds, maxStartS };
  const procs: Proc[] = [];
  const workDir = mkdtempSync(join(tmpdir(), 'rtspkit-vod-run-'));
  scratchDirs.add(workDir);
  let server: Proc | undefined;
  try {
    const port = await freePort();
    const readyBudgetS = 60 + Math.ceil(n / 5);
    const maxSeconds = readyBudgetS + o.seconds + o.warmupS + 120;
    const started = await startServer(kind, port, workDir, media, maxSeconds, o);
    server = started.proc;
    procs.push(server);
    const srv = server;
    await waitUntil('the file to be described (DESCRIBE 200)', 20_000, async () => {
      if (srv.exited) throw new Error(`server exited (${srv.exitInfo}): ${srv.stderrTail()}`);
      return describeOk(port, started.url);
    });
    await sleep(1000);
    result.rssIdleKB = rssKB(srv.pid);
    result.threadsIdle = procStatus(srv.pid, 'Threads');

    const readers = new Proc(
      'readers',
      process.execPath,
      [
        SELF,
        '--child',
        '--url',
        started.url,
        '--count',
        String(n),
        '--ramp',
        String(o.ramp),
        '--max-start',
        maxStartS.toFixed(3),
      ],
      { stdin: 'pipe' },
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
      for (const p of [srv, readers])
        if (p.exited) throw new Error(`${p.name} exited (${p.exitInfo}): ${p.stderrTail()}`);
    };
    await waitUntil(`${n} readers to set up`, readyBudgetS * 1000, () => {
      alive();
      return messages.some((m) => m.type === 'ready');
    });
    result.ready = messages.find((m): m is ReadyMessage => m.type === 'ready')!;
    await sleep(o.warmupS * 1000);
    alive();

    result.loadavgBefore = loadavg();
    const t0 = performance.now();
    const cpu0 = cpuSeconds(srv.pid);
    const rdCpu0 = cpuSeconds(readers.pid);
    result.rssStartKB = rssKB(srv.pid);
    readers.child.stdin!.write('mark\n');
    const rssSamples = [result.rssStartKB];
    const end = t0 + o.seconds * 1000;
    for (let now = performance.now(); now < end; now = performance.now()) {
      await sleep(Math.min(1000, end - now));
      alive();
      rssSamples.push(rssKB(srv.pid));
    }
    const wallS = (performance.now() - t0) / 1000;
    result.serverCpuPct = ((cpuSeconds(srv.pid) - cpu0) / wallS) * 100;
    result.readersCpuPct = ((cpuSeconds(readers.pid) - rdCpu0) / wallS) * 100;
    result.rssEndKB = rssKB(srv.pid);
    result.threadsEnd = procStatus(srv.pid, 'Threads');
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
    if (server !== undefined) {
      const lines = server
        .stderrLines()
        .filter((l) => !/ready pid=|serving .* on demand|\[gst_vod_server\] exit/.test(l));
      if (lines.length > 0) result.serverStderr = lines;
    }
    rmSync(workDir, { recursive: true, force: true });
    scratchDirs.delete(workDir);
  }
  return result;
}

/** Loops the clip into one file of about `seconds` (stream copy), in a new scratch folder. */
async function makeMedia(o: Options): Promise<Media> {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-vod-'));
  scratchDirs.add(dir);
  const probe = (file: string): number =>
    Number(
      execFileSync(
        'ffprobe',
        ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', file],
        { encoding: 'utf8', timeout: 20_000 },
      ).trim(),
    );
  const clipS = probe(o.clip);
  if (!(clipS > 0)) throw new Error(`ffprobe: no duration for ${o.clip}`);
  const loops = Math.max(0, Math.ceil(o.fileSeconds / clipS) - 1);
  const mediaDir = join(dir, 'media');
  mkdirSync(mediaDir);
  const name = 'long.mp4';
  const ff = new Proc('ffmpeg', 'ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-stream_loop',
    String(loops),
    '-i',
    o.clip,
    '-map',
    '0',
    '-c',
    'copy',
    '-movflags',
    '+faststart',
    '-y',
    join(mediaDir, name),
  ]);
  if (!(await within(ff.exit, 60_000))) {
    await ff.stop();
    throw new Error('ffmpeg took over 60 s to write the file');
  }
  if (ff.exitInfo !== 'code 0') throw new Error(`ffmpeg failed (${ff.exitInfo}): ${ff.stderrTail()}`);
  return { dir: mediaDir, name, durationS: probe(join(mediaDir, name)) };
}

// ---------------------------------------------------------------------------------------------------------
// Output.

function fmt(x: number | undefined, digits = 0): string {
  return x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits);
}

const rssPerReaderKB = (r: RunResult): number =>
  r.rssIdleKB !== undefined && r.rssEndKB !== undefined ? (r.rssEndKB - r.rssIdleKB) / r.readers : NaN;

function table(results: readonly RunResult[]): string {
  const head = [
    'server',
    'N',
    'playing',
    'Mbit/s',
    'lost',
    'CPU %',
    'CPU %/rdr',
    'RSS MB idle/start/end',
    'KB/rdr',
    'thr idle/end',
    'DESCRIBE p50/p99 ms',
    'PLAY rep p50/p99 ms',
    '1st pkt p50/p99 ms',
    'rdrs CPU %',
    'load1',
  ];
  const rows = results.map((r) => {
    if (r.error !== undefined || r.report === undefined)
      return [r.server, String(r.readers), `ERROR: ${r.error ?? '?'}`];
    const rep = r.report;
    const mb = (kb: number | undefined): string => fmt(kb === undefined ? undefined : kb / 1024, 1);
    const pp = (xs: number[]): string => `${fmt(percentile(xs, 50))}/${fmt(percentile(xs, 99))}`;
    const active = rep.playing - rep.closedAfterPlay - rep.windowSilentReaders;
    return [
      r.server,
      String(r.readers),
      `${active}/${rep.requested}`,
      fmt(r.deliveredMbps, 1),
      `${rep.windowLost}${rep.totalLost !== rep.windowLost ? ` (${rep.totalLost})` : ''}`,
      fmt(r.serverCpuPct, 1),
      fmt((r.serverCpuPct ?? NaN) / r.readers, 3),
      `${mb(r.rssIdleKB)}/${mb(r.rssStartKB)}/${mb(r.rssEndKB)}`,
      fmt(rssPerReaderKB(r), 0),
      `${fmt(r.threadsIdle)}/${fmt(r.threadsEnd)}`,
      pp(rep.describeMs),
      pp(rep.playReplyMs),
      pp(rep.firstPacketMs),
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
  for (const n of [...new Set(results.map((r) => r.readers))]) {
    const ok = (k: ServerKind): RunResult | undefined =>
      results.find((r) => r.readers === n && r.server === k && r.report !== undefined);
    const a = ok('rtspkit');
    const g = ok('gst');
    if (a === undefined || g === undefined) continue;
    const play = (x: RunResult): number => percentile(x.report!.playReplyMs, 50);
    const desc = (x: RunResult): number => percentile(x.report!.describeMs, 50);
    out.push(
      `N=${n} rtspkit/gst: CPU ${fmt((a.serverCpuPct ?? NaN) / (g.serverCpuPct ?? NaN), 2)}, ` +
        `RSS per reader ${fmt(rssPerReaderKB(a) / rssPerReaderKB(g), 2)}, ` +
        `RSS end ${fmt((a.rssEndKB ?? NaN) / (g.rssEndKB ?? NaN), 2)}, ` +
        `DESCRIBE p50 ${fmt(desc(a) / desc(g), 2)}, PLAY reply p50 ${fmt(play(a) / play(g), 2)}, ` +
        `Mbit/s ${fmt((a.deliveredMbps ?? NaN) / (g.deliveredMbps ?? NaN), 2)}`,
    );
  }
  return out.join('\n');
}

function notes(results: readonly RunResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    const rep = r.report;
    const items: string[] = [];
    if (rep !== undefined) {
      const fails = Object.values(rep.failures).reduce((a, b) => a + b, 0);
      if (fails > 0) items.push(`${fails} setups failed: ${JSON.stringify(rep.failures)}`);
      if (rep.closedAfterPlay > 0)
        items.push(`${rep.closedAfterPlay} closed after PLAY: ${JSON.stringify(rep.closeReasons)}`);
      if (rep.byeReaders > 0) items.push(`${rep.byeReaders} readers got an RTCP BYE`);
      if (rep.windowSilentReaders > 0)
        items.push(`${rep.windowSilentReaders} readers got nothing in the window`);
      if (rep.windowDuplicates + rep.windowReordered > 0)
        items.push(`${rep.windowDuplicates} duplicate and ${rep.windowReordered} reordered packets`);
      const back = rep.startBackS;
      if (back.length > 0)
        items.push(
          `PLAY reply Range start = requested minus ${fmt(Math.min(...back), 2)}..${fmt(Math.max(...back), 2)} s ` +
            `(p50 ${fmt(percentile(back, 50), 2)}); per-reader window bytes ${rep.windowMinReaderBytes}..${rep.windowMaxReaderBytes}`,
        );
      items.push(
        `readers set up in ${fmt((r.ready?.rampMs ?? NaN) / 1000, 1)} s; RSS max ${fmt((r.rssMaxKB ?? NaN) / 1024, 1)} MB`,
      );
    }
    if (r.serverStderr !== undefined)
      items.push(
        `server stderr (${r.serverStderr.length} lines kept), last: ${r.serverStderr.slice(-3).join(' | ').slice(0, 400)}`,
      );
    if (items.length > 0) out.push(`${r.server} N=${r.readers}: ${items.join('; ')}`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench:vod: ${sig}, ending ${live.size} child process(es)\n`);
      killAllNow();
      process.exit(130);
    });
  }
  const o = parseOptions(process.argv.slice(2));
  const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, Node ${process.version}`;
  const media = await makeMedia(o);
  const maxStartS = Math.max(0, media.durationS - o.seconds - o.warmupS - END_MARGIN_S);
  process.stderr.write(
    `bench:vod: ${machine}; readers ${o.readers.join(',')}; ${o.seconds} s window after ${o.warmupS} s warm-up; ` +
      `file ${fmt(media.durationS, 1)} s (${o.clip} looped); starts spread over 0-${fmt(maxStartS, 1)} s\n`,
  );
  const results: RunResult[] = [];
  for (const n of o.readers) {
    for (const kind of o.servers) {
      process.stderr.write(`  ${kind}, N=${n} ... `);
      const r = await runOne(kind, n, media, o);
      results.push(r);
      process.stderr.write(
        r.error !== undefined
          ? `error: ${r.error}\n`
          : `${fmt(r.deliveredMbps, 1)} Mbit/s, CPU ${fmt(r.serverCpuPct, 1)} %, ` +
              `RSS ${fmt(rssPerReaderKB(r), 0)} KB/reader\n`,
      );
    }
  }
  if (o.out !== undefined)
    writeFileSync(
      o.out,
      `${JSON.stringify({ machine, options: o, fileSeconds: media.durationS, results }, null, 2)}\n`,
    );
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ machine, fileSeconds: media.durationS, results }, null, 2)}\n`);
  } else {
    process.stdout.write(
      `\n${machine}; ${o.seconds} s window; file ${fmt(media.durationS, 1)} s, starts 0-${fmt(maxStartS, 1)} s; ` +
        `TCP interleaved\n\n${table(results)}\n`,
    );
    const rat = ratios(results);
    if (rat !== '') process.stdout.write(`\n${rat}\n`);
    const n = notes(results);
    if (n !== '') process.stdout.write(`\nnotes:\n${n}\n`);
    process.stdout.write(
      '\nplaying: readers that received data in the window. Mbit/s: sum over readers of `$` frame bytes in the ' +
        'window. lost: RTP sequence gaps in the window (whole run in parentheses when different). CPU %: server ' +
        'utime+stime / wall time (100 = one core); CPU %/rdr = CPU % / N. RSS idle: after one DESCRIBE, before ' +
        'the readers; KB/rdr = (RSS end - idle) / N. thr: server threads. DESCRIBE: connect to reply. PLAY rep: ' +
        'PLAY request to reply (includes the seek). 1st pkt: PLAY request to first RTP packet. load1: 1-min load ' +
        'average at the window start.\n',
    );
  }
  if (results.some((r) => r.error !== undefined)) process.exitCode = 1;
}

if (process.argv.includes('--child')) {
  childMain().catch((err: unknown) => {
    process.stderr.write(`vod readers: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:vod: ${err instanceof Error ? err.message : String(err)}\n`);
    killAllNow();
    process.exit(1);
  });
}
