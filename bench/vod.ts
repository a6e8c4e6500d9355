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
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseRange } from '../src/rtsp/range.js';
import { parseRtspUrl } from '../src/rtsp/url.js';
import type { InterleavedFrame } from '../src/rtsp/message.js';
import { HOST, describeOk, freePort } from './probe.js';
import {
  killAllNow,
  killAllOnExit,
  Proc,
  procStatus,
  removeScratch,
  rssKB,
  scratchDirs,
  sleep,
  waitUntil,
  within,
} from './proc.js';
import {
  closeTotals,
  countRtp,
  describeTracks,
  setupTrack,
  driveReaders,
  packetTotals,
  resetWindow,
  sendLine,
  type DrivenReader,
  type PacketTotals,
} from './reader-driver.js';
import { RtspConn } from './rtsp-conn.js';
import {
  ReadersLink,
  assertAlive,
  intList,
  measureWindow,
  parseRunnerOptions,
  type RunnerOptions,
} from './runner.js';
import { fmt, markdownTable, p50p99, percentile } from './stats.js';
// `rtspkit serve` re-executes itself without these (cli/node-flags.ts): given here, the PID measured is the server's.
import { SERVE_NODE_ENV, SERVE_NODE_FLAGS } from '../src/cli/node-flags.js';

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

export interface ReportMessage extends PacketTotals {
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

class Reader implements DrivenReader {
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
    if (this.firstPacketMs < 0) this.firstPacketMs = performance.now() - this.playSentAt;
    countRtp(this, ch, p.readUInt16BE(2));
  }

  async setup(url: string, port: number, host: string, timeoutMs: number): Promise<void> {
    this.state = 'setup';
    this.setupStart = performance.now();
    const conn = await RtspConn.connect(port, host, timeoutMs);
    const tracks = await describeTracks(this, conn, url, timeoutMs);
    let i = 0;
    for (const { trackUrl } of tracks) {
      const spec = await setupTrack(
        this,
        trackUrl,
        `RTP/AVP/TCP;unicast;interleaved=${2 * i}-${2 * i + 1}`,
        timeoutMs,
      );
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
    resetWindow(this);
  }
}

async function childMain(): Promise<void> {
  const args = parseChildArgs(process.argv.slice(2));
  const url = parseRtspUrl(args.url);
  const step = args.count > 1 ? args.maxStartS / (args.count - 1) : 0;
  const readers = Array.from({ length: args.count }, (_, i) => new Reader(i * step));
  // At most `ramp` setups in flight; every reader is tried once, in order of its start position.
  const { failures, windowMs, cpu } = await driveReaders(
    readers,
    args.ramp,
    (r) => r.setup(args.url, url.port, url.host, args.timeoutMs),
    (failures, rampMs) => {
      const ready: ReadyMessage = {
        type: 'ready',
        requested: args.count,
        playing: readers.filter((r) => r.state === 'playing').length,
        failures,
        rampMs,
      };
      return sendLine(ready);
    },
  );
  const played = readers.filter((r) => r.playReplyMs >= 0);
  const report: ReportMessage = {
    type: 'report',
    requested: args.count,
    playing: played.length,
    failures,
    ...closeTotals(played),
    byeReaders: played.filter((r) => r.bye).length,
    windowMs,
    ...packetTotals(played),
    describeMs: played.map((r) => r.describeMs),
    playReplyMs: played.map((r) => r.playReplyMs),
    firstPacketMs: played.filter((r) => r.firstPacketMs >= 0).map((r) => r.firstPacketMs),
    startBackS: played.filter((r) => !Number.isNaN(r.startBackS)).map((r) => r.startBackS),
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
  };
  for (const r of readers) r.conn?.close();
  await sendLine(report);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------------------
// Parent: options.

interface Options extends RunnerOptions {
  servers: ServerKind[];
  fileSeconds: number;
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
  parseRunnerOptions(
    argv,
    o,
    USAGE,
    () => false,
    (a, v) => {
      switch (a) {
        case '--server':
          if (v === 'both') o.servers = ['rtspkit', 'gst'];
          else if (v === 'rtspkit' || v === 'gst') o.servers = [v];
          else throw new Error(`--server: rtspkit, gst or both`);
          return true;
        case '--file-seconds':
          o.fileSeconds = intList(v, a, 10)[0]!;
          return true;
        default:
          return false;
      }
    },
  );
  if (o.fileSeconds - o.seconds - o.warmupS - END_MARGIN_S < 0)
    throw new Error(`--file-seconds must be at least --seconds + --warmup + ${END_MARGIN_S}`);
  return o;
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
        ...SERVE_NODE_FLAGS,
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
      { cwd: workDir, env: SERVE_NODE_ENV }, // no stray ./rtspkit.yml
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
      return describeOk(port, started.url, 5000);
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
    const link = new ReadersLink<ReadyMessage, ReportMessage>(readers);
    const alive = (): void => assertAlive([srv, readers]);
    result.ready = await link.ready(n, readyBudgetS * 1000, alive);
    await sleep(o.warmupS * 1000);
    alive();

    await measureWindow(
      result,
      srv,
      [
        [srv, 'serverCpuPct'],
        [readers, 'readersCpuPct'],
      ],
      o.seconds,
      link,
      alive,
      undefined,
      () => {
        result.threadsEnd = procStatus(srv.pid, 'Threads');
      },
    );
    const report = await link.report();
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
    removeScratch(workDir);
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
      p50p99(rep.describeMs),
      p50p99(rep.playReplyMs),
      p50p99(rep.firstPacketMs),
      fmt(r.readersCpuPct, 0),
      fmt(r.loadavgBefore?.[0], 2),
    ];
  });
  return markdownTable(head, rows);
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
  killAllOnExit('bench:vod');
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
