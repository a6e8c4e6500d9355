// `npm run bench:fanout`: live fan-out of one published stream to N readers, measured from outside the server.
//
//   npm run bench:fanout -- [--readers 1,100,500] [--seconds 20] [--server rtspkit|gst|floor|both|all|LIST]
//                           [--transport tcp|udp|http] [--coalesce 0,20] [--warmup 3] [--ramp 50]
//                           [--rtp-port-range A-B] [--fanout-workers 0,2] [--udp-batch auto,off] [--json] [--out FILE]
//
// For each server and each N: the server runs as its own process (rtspkit through its CLI; gst-rtsp-server
// through ../shared/peers/gst_server.py in publish -> relay mode), ffmpeg publishes the clip in real time over
// TCP, and dist/bench/readers.js opens the N readers in another process (see readers.ts). After every reader
// plays and a warm-up, a window of --seconds is measured: bytes and RTP sequence gaps from the readers; the
// server's CPU (utime+stime from /proc/PID/stat over wall time, in % of one core) and RSS (VmRSS) from /proc.
// Everything runs on 127.0.0.1; every child is ended by its PID, also on errors and Ctrl-C.
// --fanout-workers 0,2 runs rtspkit once per value (`fanoutWorkers`, src/fanout/): "CPU %" is then the
// primary's, "wkrs CPU %" the workers' sum (children of the server process), over the same window.
// --udp-batch auto,off runs rtspkit once per value (`udpBatchSend`: sendmmsg through the optional add-on, or
// one dgram send per datagram): the A/B of the two UDP send paths in one run.
// --readers-impl c runs the readers in bench/native/rtsp-readers.c instead of readers.ts (TCP only; compiled
// with gcc once per bench run into a scratch directory): same arguments, protocol and report, a fraction of
// the CPU, so that a join storm of 1000 readers measures the server and not the readers process (issue 21).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReaderTransport, ReadyMessage, ReportMessage } from './readers.js';
import { HOST, canConnect, describeOk, freePort, freeUdpPortPair } from './probe.js';
import {
  cpuSeconds,
  cpuSplitSeconds,
  endRun,
  killAllNow,
  killAllOnExit,
  MEM_LOG_PREFIX,
  Proc,
  rssKB,
  scratchDirs,
  sleep,
  waitUntil,
} from './proc.js';
import { fmt, markdownTable, p50p99, percentile } from './stats.js';
import { countSendCalls, totalSends, type SendCounts } from './syscall-count.js';
import { SERVE_NODE_ENV, SERVE_NODE_FLAGS } from '../src/cli/node-flags.js';
import {
  ReadersLink,
  assertAlive,
  intList,
  measureWindow,
  parseRunnerOptions,
  type RunnerOptions,
} from './runner.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const READERS = fileURLToPath(new URL('./readers.js', import.meta.url));
const FLOOR = fileURLToPath(new URL('./floor.js', import.meta.url));
const MEMLOG = fileURLToPath(new URL('./memlog.js', import.meta.url));
/** The native readers client's source: in the repository's bench/, beside dist/ (not copied by the build). */
const NATIVE_READERS_C = fileURLToPath(new URL('../../bench/native/rtsp-readers.c', import.meta.url));

type ServerKind = 'rtspkit' | 'gst' | 'floor';

interface Options extends RunnerOptions {
  servers: ServerKind[];
  transport: ReaderTransport;
  /** rtspkit: serve UDP from this port range (rtpPortRange) instead of one shared pair. */
  rtpPortRange: string | undefined;
  /** Local ports the UDP readers bind their pairs from. */
  readerUdpPorts: string;
  /** rtspkit writeCoalesceMs values; undefined = the server's default. */
  coalesce: (number | undefined)[];
  /** Directory for `node --cpu-prof` profiles of the rtspkit server and of the readers process (readers.cpuprofile), written when they exit. */
  cpuProf: string | undefined;
  /** Preload bench/memlog.js into the rtspkit server: process.memoryUsage() idle / window start / end. */
  memLog: boolean;
  /**
   * Node options of the rtspkit server: by default those `rtspkit serve` adds itself (SERVE_NODE_FLAGS, see
   * the README's Performance section); `--node-args ''` runs it with Node's defaults.
   */
  rtspkitNodeArgs: string[];
  /**
   * Environment of the rtspkit server: by default what `rtspkit serve` adds itself (SERVE_NODE_ENV);
   * `--node-env ''` runs it with glibc's defaults. The server gets RTSPKIT_NODE_FLAGS=none either way:
   * it runs with what the bench says and does not start itself again.
   */
  rtspkitEnv: Record<string, string>;
  /** rtspkit `fanoutWorkers` values, one run each; undefined = the server's default (0). */
  fanoutWorkers: (number | undefined)[];
  /** rtspkit `udpBatchSend` values, one run each; undefined = the server's default (auto). */
  udpBatch: ('auto' | 'off' | undefined)[];
  /** How ffmpeg publishes to rtspkit: RTSP (-f rtsp) or RTMP (-f flv to rtmpAddress); bench/rtmp.ts compares them. */
  ingest: 'rtsp' | 'rtmp';
  /** Count each server's send system calls over the window with `perf stat` (syscall-count.ts). */
  syscalls: boolean;
  /** The readers process: readers.ts on Node, or bench/native/rtsp-readers.c (TCP only). */
  readersImpl: 'node' | 'c';
}

const USAGE = `usage: node dist/bench/fanout.js [--readers 1,100,500] [--seconds 20]
       [--server rtspkit|gst|floor|both|all|rtspkit,floor,...] [--transport tcp|udp|http] [--coalesce MS[,MS...]]
       [--rtp-port-range A-B] [--reader-udp-ports A-B] [--warmup S] [--ramp K] [--clip FILE] [--json] [--out FILE]
       [--cpu-prof DIR] [--mem-log] [--node-args "--max-semi-space-size=2"] [--node-env "MALLOC_ARENA_MAX=2"]
       [--ingest rtsp|rtmp] [--fanout-workers N[,N...]] [--udp-batch auto,off] [--syscalls] [--readers-impl node|c]`;

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
    rtspkitNodeArgs: [...SERVE_NODE_FLAGS],
    rtspkitEnv: { ...SERVE_NODE_ENV },
    fanoutWorkers: [undefined],
    udpBatch: [undefined],
    ingest: 'rtsp',
    syscalls: false,
    readersImpl: 'node',
  };
  parseRunnerOptions(
    argv,
    o,
    USAGE,
    (a) => {
      if (a === '--mem-log') o.memLog = true;
      else if (a === '--syscalls') o.syscalls = true;
      else return false;
      return true;
    },
    (a, v) => {
      switch (a) {
        case '--server':
          if (v === 'both') o.servers = ['rtspkit', 'gst'];
          else if (v === 'all') o.servers = ['rtspkit', 'gst', 'floor'];
          else {
            const kinds = v.split(',');
            if (kinds.some((k) => k !== 'rtspkit' && k !== 'gst' && k !== 'floor'))
              throw new Error(`--server: rtspkit, gst, floor, both, all or a comma list`);
            o.servers = kinds as ServerKind[];
          }
          return true;
        case '--transport':
          if (v !== 'tcp' && v !== 'udp' && v !== 'http') throw new Error('--transport: tcp, udp or http');
          o.transport = v;
          return true;
        case '--rtp-port-range':
          o.rtpPortRange = v;
          return true;
        case '--reader-udp-ports':
          o.readerUdpPorts = v;
          return true;
        case '--coalesce':
          o.coalesce = intList(v, a, 0);
          return true;
        case '--fanout-workers':
          o.fanoutWorkers = intList(v, a, 0);
          return true;
        case '--udp-batch': {
          const modes = v.split(',');
          if (modes.some((m) => m !== 'auto' && m !== 'off'))
            throw new Error('--udp-batch: auto, off or auto,off');
          o.udpBatch = modes as ('auto' | 'off')[];
          return true;
        }
        case '--cpu-prof':
          o.cpuProf = v;
          return true;
        case '--ingest':
          if (v !== 'rtsp' && v !== 'rtmp') throw new Error('--ingest: rtsp or rtmp');
          o.ingest = v;
          return true;
        case '--readers-impl':
          if (v !== 'node' && v !== 'c') throw new Error('--readers-impl: node or c');
          o.readersImpl = v;
          return true;
        case '--node-args':
          o.rtspkitNodeArgs = v.split(/\s+/).filter((x) => x !== '');
          return true;
        case '--node-env':
          o.rtspkitEnv = Object.fromEntries(
            v
              .split(/\s+/)
              .filter((x) => x !== '')
              .map((x) => {
                const eq = x.indexOf('=');
                if (eq <= 0) throw new Error(`--node-env: NAME=VALUE, not ${x}`);
                return [x.slice(0, eq), x.slice(eq + 1)];
              }),
          );
          return true;
        default:
          return false;
      }
    },
  );
  if (o.readersImpl === 'c' && o.transport !== 'tcp')
    throw new Error(
      `--readers-impl c reads over TCP only (not --transport ${o.transport}): use --readers-impl node`,
    );
  return o;
}

killAllOnExit('bench:fanout');

/** The readers process's command: Node and readers.js, or the native client built by buildNativeReaders. */
interface ReadersCommand {
  file: string;
  args: string[];
  label: string;
}

/**
 * Compiles bench/native/rtsp-readers.c (libc only) into a scratch directory removed at exit; once per bench
 * run, so the binary always matches the source.
 */
function buildNativeReaders(): ReadersCommand {
  if (!existsSync(NATIVE_READERS_C)) throw new Error(`--readers-impl c: ${NATIVE_READERS_C} not found`);
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-readers-c-'));
  scratchDirs.add(dir);
  const out = join(dir, 'rtsp-readers');
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-Werror', '-o', out, NATIVE_READERS_C], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new Error('--readers-impl c needs gcc on the PATH (apt-get install gcc)', { cause: err });
    throw new Error(`--readers-impl c: gcc failed: ${e.stderr?.toString().trim() ?? e.message}`, {
      cause: err,
    });
  }
  return { file: out, args: [], label: 'c (bench/native/rtsp-readers.c)' };
}

/** TcpExt ListenOverflows of /proc/net/netstat (host-wide), or NaN where it cannot be read. */
function listenOverflows(): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('TcpExt:'));
    const names = lines[0]!.split(/\s+/);
    return Number(lines[1]!.split(/\s+/)[names.indexOf('ListenOverflows')]);
  } catch {
    return NaN;
  }
}

/** The children of a process (the fan-out workers of an rtspkit server), from /proc. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((x) => x !== '')
      .map(Number);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------
// One measured run: one server, one N.

interface Variant {
  kind: ServerKind;
  coalesceMs: number | undefined;
  /** rtspkit: `fanoutWorkers`. */
  fanoutWorkers?: number | undefined;
  /** rtspkit: `udpBatchSend`. */
  udpBatch?: 'auto' | 'off' | undefined;
  label: string;
}

/** A bench/memlog.js line: process.memoryUsage() and the heap's spaces' sizes (bytes, by V8's name). */
type MemSample = NodeJS.MemoryUsage & { spaces?: Record<string, number> };

export interface RunResult {
  server: string;
  readers: number;
  seconds: number;
  error?: string;
  ready?: ReadyMessage;
  report?: ReportMessage;
  /** Server, % of one core over the window; publisher (ffmpeg) and readers process likewise. */
  serverCpuPct?: number;
  /** The server's CPU over the window apart: user (JS, GC, libuv) and system (system calls, the kernel's TCP work). */
  serverUserPct?: number;
  serverSysPct?: number;
  /** With --syscalls: the server's send system calls over the window, and the window's length. */
  sendCalls?: SendCounts;
  sendCallsSeconds?: number;
  publisherCpuPct?: number;
  readersCpuPct?: number;
  /** rtspkit with fanoutWorkers: each worker's % of one core over the window, and its VmRSS at the end (kB). */
  workersCpuPct?: number[];
  workersRssKB?: number[];
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
  memIdle?: MemSample;
  memStart?: MemSample;
  memEnd?: MemSample;
  /**
   * With --mem-log (rtspkit): the server's event-loop delay, one sample a second (p50/p99/max of that
   * second, ms), by phase: `join` from the readers' start to every reader playing, `window` the window.
   */
  loopDelayMs?: Record<LoopPhase, LoopDelaySecond[]>;
  /** From the readers' start to every reader playing: its length and the server's and readers' CPU, % of a core. */
  joinCpuPct?: { seconds: number; server: number; readers: number };
  /**
   * From the readers' start to every reader playing: connections the kernel refused to queue on a full
   * accept queue (TcpExt ListenOverflows of /proc/net/netstat, host-wide; on loopback, the bench's). A
   * listener's queue is `backlog` long (Node: 511); a client whose SYN or handshake ACK is dropped retries
   * after 1 s (SYN) or its RTO: setup tails of 1 s and more that are neither process's CPU.
   */
  joinListenOverflows?: number;
}

type LoopPhase = 'join' | 'window';
interface LoopDelaySecond {
  p50: number;
  p99: number;
  max: number;
}

async function startServer(
  v: Variant,
  port: number,
  workDir: string,
  maxSeconds: number,
  o: Options,
  rtmpPort?: number,
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
      `logLevel: warn\nrtmpAddress: ${rtmpPort !== undefined ? `'${HOST}:${rtmpPort}'` : 'null'}\n${udpConfig}${v.coalesceMs !== undefined ? `writeCoalesceMs: ${v.coalesceMs}\n` : ''}${v.fanoutWorkers !== undefined ? `fanoutWorkers: ${v.fanoutWorkers}\n` : ''}${v.udpBatch !== undefined ? `udpBatchSend: ${v.udpBatch}\n` : ''}`,
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
        env: { ...o.rtspkitEnv, RTSPKIT_NODE_FLAGS: 'none' },
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

async function runOne(v: Variant, n: number, o: Options, readersCmd: ReadersCommand): Promise<RunResult> {
  const result: RunResult = { server: v.label, readers: n, seconds: o.seconds };
  const procs: Proc[] = [];
  const workDir = mkdtempSync(join(tmpdir(), 'rtspkit-fanout-'));
  scratchDirs.add(workDir);
  try {
    const port = await freePort();
    const readyBudgetS = 60 + Math.ceil(n / 10);
    const maxSeconds = readyBudgetS + o.seconds + o.warmupS + 120;
    const rtmpPort = o.ingest === 'rtmp' && v.kind === 'rtspkit' ? await freePort() : undefined;
    const server = await startServer(v, port, workDir, maxSeconds, o, rtmpPort);
    procs.push(server);
    let lastMem: MemSample | undefined;
    let phase: LoopPhase | undefined;
    server.onStderrLine((line) => {
      if (!line.startsWith(MEM_LOG_PREFIX)) return;
      const m = JSON.parse(line.slice(MEM_LOG_PREFIX.length)) as MemSample & {
        loopDelayMs?: LoopDelaySecond;
      };
      const { loopDelayMs, ...mem } = m;
      lastMem = mem;
      if (phase !== undefined && loopDelayMs !== undefined)
        (result.loopDelayMs ??= { join: [], window: [] })[phase].push(loopDelayMs);
    });

    const publishUrl =
      rtmpPort !== undefined
        ? `rtmp://${HOST}:${rtmpPort}/bench`
        : `rtsp://${HOST}:${port}/${v.kind === 'gst' ? 'pub' : 'bench'}`;
    const publishFormat = rtmpPort !== undefined ? ['-f', 'flv'] : ['-f', 'rtsp', '-rtsp_transport', 'tcp'];
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
      ...publishFormat,
      publishUrl,
    ]);
    procs.push(ffmpeg);
    await waitUntil('the published stream to be readable (DESCRIBE 200)', 30_000, async () => {
      if (ffmpeg.exited) throw new Error(`ffmpeg exited (${ffmpeg.exitInfo}): ${ffmpeg.stderrTail()}`);
      if (server.exited) throw new Error(`server exited (${server.exitInfo}): ${server.stderrTail()}`);
      return describeOk(port, readUrl, 3000);
    });
    await sleep(2000); // a keyframe or two into the stream
    result.rssIdleKB = rssKB(server.pid);
    if (lastMem !== undefined) result.memIdle = lastMem;

    const readers = new Proc(
      'readers',
      readersCmd.file,
      [
        ...(o.cpuProf !== undefined && o.readersImpl === 'node'
          ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProf, '--cpu-prof-name', 'readers.cpuprofile']
          : []),
        ...readersCmd.args,
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
    const link = new ReadersLink<ReadyMessage, ReportMessage>(readers);
    const alive = (): void => assertAlive([server, ffmpeg, readers]);
    phase = 'join';
    const join0 = {
      ms: performance.now(),
      server: cpuSeconds(server.pid),
      readers: cpuSeconds(readers.pid),
      listenOverflows: listenOverflows(),
    };
    result.ready = await link.ready(n, readyBudgetS * 1000, alive);
    phase = undefined;
    const joinS = (performance.now() - join0.ms) / 1000;
    result.joinCpuPct = {
      seconds: joinS,
      server: ((cpuSeconds(server.pid) - join0.server) / joinS) * 100,
      readers: ((cpuSeconds(readers.pid) - join0.readers) / joinS) * 100,
    };
    result.joinListenOverflows = listenOverflows() - join0.listenOverflows;
    await sleep(o.warmupS * 1000);
    alive();

    // The window.
    let workers0: { ms: number; cpu: [number, number][] } | undefined;
    let split0: { ms: number; user: number; sys: number } | undefined;
    let sends: ReturnType<typeof countSendCalls> | undefined;
    await measureWindow(
      result,
      server,
      [
        [server, 'serverCpuPct'],
        [ffmpeg, 'publisherCpuPct'],
        [readers, 'readersCpuPct'],
      ],
      o.seconds,
      link,
      alive,
      () => {
        if (lastMem !== undefined) result.memStart = lastMem;
        phase = 'window';
        split0 = { ms: performance.now(), ...cpuSplitSeconds(server.pid) };
        if (o.syscalls) sends = countSendCalls(server.pid);
        workers0 = { ms: performance.now(), cpu: childPids(server.pid).map((pid) => [pid, cpuSeconds(pid)]) };
      },
      () => {
        if (lastMem !== undefined) result.memEnd = lastMem;
        phase = undefined;
        if (split0 !== undefined) {
          const wallS = (performance.now() - split0.ms) / 1000;
          const split = cpuSplitSeconds(server.pid);
          result.serverUserPct = ((split.user - split0.user) / wallS) * 100;
          result.serverSysPct = ((split.sys - split0.sys) / wallS) * 100;
          result.sendCallsSeconds = wallS;
        }
        if (workers0 !== undefined && workers0.cpu.length > 0) {
          const wallS = (performance.now() - workers0.ms) / 1000;
          result.workersCpuPct = workers0.cpu.map(([pid, s0]) => ((cpuSeconds(pid) - s0) / wallS) * 100);
          result.workersRssKB = workers0.cpu.map(([pid]) => rssKB(pid));
        }
      },
    );
    const sendCalls = await sends?.stop();
    if (sendCalls !== undefined) result.sendCalls = sendCalls;
    const report = await link.report();
    result.report = report;
    result.deliveredMbps = (report.windowBytes * 8) / (report.windowMs / 1000) / 1e6;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    await endRun(procs, workDir);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Output.

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
    'wkrs CPU %',
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
      p50p99(rep.setupMs),
      p50p99(rep.playReplyMs),
      p50p99(rep.firstKeyframeMs),
      `${fmt(rep.addedDelayMs.p50, 1)}/${fmt(rep.addedDelayMs.p99, 1)}`,
      `${rep.playing > 0 ? Math.round((100 * rep.firstVideoIsKeyframe) / rep.playing) : 0}%`,
      fmt(r.readersCpuPct, 0),
      r.workersCpuPct === undefined ? '' : r.workersCpuPct.map((c) => fmt(c, 1)).join('+'),
      fmt(r.loadavgBefore?.[0], 2),
    ];
  });
  return markdownTable(head, rows);
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

/**
 * Per phase: the seconds sampled, the median of the per-second p50s, the worst per-second p99 and the
 * worst delay seen (ms). A join storm shows as join-phase p99s of hundreds of ms: requests waiting behind
 * fan-out and GOP bursts in the one event loop.
 */
function loopDelaySummary(byPhase: Record<LoopPhase, LoopDelaySecond[]>): string {
  return (Object.entries(byPhase) as [LoopPhase, LoopDelaySecond[]][])
    .filter(([, s]) => s.length > 0)
    .map(([phase, s]) => {
      const p50s = s.map((x) => x.p50).sort((a, b) => a - b);
      return (
        `${phase} ${s.length} s: p50 ${fmt(p50s[Math.floor(p50s.length / 2)], 1)}, ` +
        `worst p99 ${fmt(Math.max(...s.map((x) => x.p99)), 1)}, max ${fmt(Math.max(...s.map((x) => x.max)), 1)} ms`
      );
    })
    .join('; ');
}

/**
 * The server's CPU apart (user, system) and, with --syscalls, what a send costs: send calls per second, bytes
 * per call (the readers' window bytes over the calls) and the server's whole CPU per call.
 */
function sendCostNote(r: RunResult): string {
  if (r.serverUserPct === undefined || r.serverSysPct === undefined) return '';
  let out = `CPU user ${fmt(r.serverUserPct, 1)} % + sys ${fmt(r.serverSysPct, 1)} %`;
  const calls = r.sendCalls;
  const seconds = r.sendCallsSeconds;
  if (calls !== undefined && seconds !== undefined && r.report !== undefined) {
    const perS = totalSends(calls) / seconds;
    const bytesPerS = r.report.windowBytes / (r.report.windowMs / 1000);
    const cpuS = ((r.serverUserPct + r.serverSysPct) / 100) * seconds;
    const kinds = Object.entries(calls)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${fmt(n / seconds, 0)}`)
      .join(', ');
    out +=
      `; sends ${fmt(perS, 0)}/s (${kinds}), ${fmt(bytesPerS / perS, 0)} B each, ` +
      `${fmt((cpuS / (perS * seconds)) * 1e6, 2)} us CPU per send`;
  }
  return out;
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
      const spaceKB = (name: string): string =>
        fmt(((r.memEnd!.spaces?.[name] ?? NaN) - (r.memIdle!.spaces?.[name] ?? NaN)) / 1024 / r.readers, 1);
      if (r.memEnd.spaces !== undefined)
        notes.push(
          `heapTotal's growth by space, KB per reader: old ${spaceKB('old_space')}, new ${spaceKB('new_space')} ` +
            `(once: the young generation up to its bound), code ${spaceKB('code_space')} (once: the first ` +
            `readers' code compiled), large objects ${spaceKB('large_object_space')}`,
        );
    }
    if (r.loopDelayMs !== undefined) notes.push(`event-loop delay: ${loopDelaySummary(r.loopDelayMs)}`);
    const sendCost = sendCostNote(r);
    if (sendCost !== '') notes.push(sendCost);
    if (r.joinCpuPct !== undefined)
      notes.push(
        `join ${fmt(r.joinCpuPct.seconds, 1)} s: CPU server ${fmt(r.joinCpuPct.server, 0)} %, readers process ${fmt(r.joinCpuPct.readers, 0)} %` +
          (r.joinListenOverflows !== undefined && r.joinListenOverflows > 0
            ? `, ${r.joinListenOverflows} accept-queue overflows (host-wide ListenOverflows)`
            : ''),
      );
    // Where a setup's time goes: connect to DESCRIBE reply, then SETUPs and PLAY (the PLAY column).
    if (rep.describeMs.length > 0)
      notes.push(
        `connect to DESCRIBE reply p50/p99 ${p50p99(rep.describeMs)} ms` +
          ` (of which connect ${p50p99(rep.connectMs)})`,
      );
    const readersLoop = r.ready?.joinLoopDelayMs;
    if (readersLoop !== undefined)
      notes.push(
        `readers process's event-loop delay in the join p50/p99/max ${fmt(readersLoop.p50, 1)}/${fmt(readersLoop.p99, 1)}/${fmt(readersLoop.max, 1)} ms`,
      );
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
        for (const w of kind === 'rtspkit' ? o.fanoutWorkers : [undefined])
          for (const b of kind === 'rtspkit' ? o.udpBatch : [undefined]) {
            const label = `${kind}${c === undefined ? '' : ` c=${c}ms`}${w === undefined ? '' : ` w=${w}`}${b === undefined ? '' : ` udpBatch=${b}`}`;
            variants.push({ kind, coalesceMs: c, fanoutWorkers: w, udpBatch: b, label });
          }
  }
  const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, Node ${process.version}`;
  const readersCmd: ReadersCommand =
    o.readersImpl === 'c'
      ? buildNativeReaders()
      : { file: process.execPath, args: [READERS], label: 'node (dist/bench/readers.js)' };
  process.stderr.write(
    `bench:fanout: ${machine}; readers ${o.readers.join(',')}; ${o.seconds} s window after ${o.warmupS} s warm-up; ` +
      `transport ${o.transport}; readers: ${readersCmd.label}; clip ${o.clip}\n`,
  );
  const results: RunResult[] = [];
  for (const n of o.readers) {
    for (const v of variants) {
      process.stderr.write(`  ${v.label}, N=${n} ... `);
      const r = await runOne(v, n, o, readersCmd);
      results.push(r);
      process.stderr.write(
        r.error !== undefined
          ? `error: ${r.error}\n`
          : `${fmt(r.deliveredMbps, 1)} Mbit/s, lost ${r.report?.windowLost}, CPU ${fmt(r.serverCpuPct, 1)} %` +
              (r.workersCpuPct !== undefined
                ? ` + workers ${r.workersCpuPct.map((c) => fmt(c, 1)).join('+')} %`
                : '') +
              `, readers ${fmt(r.readersCpuPct, 1)} %\n`,
      );
    }
  }
  if (o.out !== undefined)
    writeFileSync(
      o.out,
      `${JSON.stringify({ machine, readers: readersCmd.label, options: o, results }, null, 2)}\n`,
    );
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ machine, readers: readersCmd.label, results }, null, 2)}\n`);
  } else {
    process.stdout.write(
      `\n${machine}; ${o.seconds} s window; transport ${o.transport}\nreaders: ${readersCmd.label}\n\n${table(results)}\n`,
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
