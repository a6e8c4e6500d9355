// `npm run bench:record`: N paths of ~2 Mbit/s recorded at once, rtspkit's recorder beside GStreamer recording
// the same streams. Issue 17: "Recording 50 paths of ~2 Mbit/s at once: CPU per path and bytes written per byte
// received (<= 1.05), side by side with GStreamer (rtspsrc ! ... ! splitmuxsink to fMP4); 0 frames lost".
//
//   npm run bench:record -- [--paths 50] [--seconds 30] [--warmup 5] [--bitrate-kbps 2000] [--server both|rtspkit|gst]
//
// A clip is encoded once (testsrc2 1280x720 25 fps, x264 CBR at --bitrate-kbps, a keyframe every 2 s, no
// B-frames, 20 s). Each run starts `rtspkit serve` (its own process, TCP only) and N ffmpeg publishers looping
// the clip (-re, -c copy) for warm-up + window + 2 s:
//   rtspkit: the server records every path (`record: true`, fMP4 parts of 1 s, segments of 60 s);
//   gst:     the server only relays, and N `gst-launch-1.0 -e rtspsrc buffer-mode=none ! rtph264depay ! h264parse !
//            splitmuxsink async-finalize=true muxer-factory=mp4mux muxer-properties="properties,fragment-duration=1000"`
//            record the paths in fragmented MP4 (isofmp4mux and cmafmux are not installed here: gst-plugins-rs is
//            not in Debian 12), stopped by SIGINT (EOS) at the window's end.
// In the window: CPU of the server (and of the gst processes, summed) from /proc over wall time. After the
// publishers end: bytes on disk per byte the server received (the paths' last bytesIn, RTP as sent), and the
// frames in the files (ffprobe -count_packets) against the frames published (window + warm-up + 2 s at 25 fps).
// rtspkit's figure per path is its recorder's cost: server CPU recording minus server CPU relaying to gst (the
// same publishers and one reader each), beside gst's own processes per path.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST, freePort } from './probe.js';
import {
  cpuSeconds,
  endRun,
  killAllNow,
  killAllOnExit,
  Proc,
  removeScratch,
  scratchDirs,
  sleep,
  waitUntil,
  within,
} from './proc.js';
import { benchServerConfigLines } from './server-config.js';
import { fmt, markdownTable } from './stats.js';
// `rtspkit serve` re-executes itself without these (cli/node-flags.ts): given here, the PID measured is the server's.
import { SERVE_NODE_ENV, SERVE_NODE_FLAGS } from '../src/cli/node-flags.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const FPS = 25;
/** Seconds the publishers (and gst recorders) get to start, and that each publishes beyond the window. */
const START_BUDGET_S = 60;

interface Options {
  paths: number;
  seconds: number;
  warmupS: number;
  bitrateKbps: number;
  servers: ('rtspkit' | 'gst')[];
}

function parseOptions(argv: string[]): Options {
  const o: Options = { paths: 50, seconds: 30, warmupS: 5, bitrateKbps: 2000, servers: ['rtspkit', 'gst'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[++i];
    if (v === undefined) throw new Error(`missing value after ${a}`);
    if (a === '--paths') o.paths = Number(v);
    else if (a === '--seconds') o.seconds = Number(v);
    else if (a === '--warmup') o.warmupS = Number(v);
    else if (a === '--bitrate-kbps') o.bitrateKbps = Number(v);
    else if (a === '--server') o.servers = v === 'both' ? ['rtspkit', 'gst'] : [v as 'rtspkit' | 'gst'];
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['paths', 'seconds', 'warmupS', 'bitrateKbps'] as const)
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`--${k} must be a positive integer`);
  return o;
}

interface RunResult {
  kind: 'rtspkit' | 'gst';
  paths: number;
  serverCpuPct?: number;
  gstCpuPct?: number;
  bytesIn?: number;
  bytesOnDisk?: number;
  framesPublished?: number;
  framesInFiles?: number;
  pathsShort?: number;
  files?: number;
  /** Files ffprobe cannot read (no moov). */
  unreadableFiles?: number;
  load1?: number;
  error?: string;
}

async function run(cmd: string, args: string[], timeoutMs: number): Promise<Proc> {
  const p = new Proc(cmd, cmd, args);
  if (!(await within(p.exit, timeoutMs))) {
    await p.stop();
    throw new Error(`${cmd} took over ${timeoutMs} ms`);
  }
  if (p.exitInfo !== 'code 0') throw new Error(`${cmd} failed (${p.exitInfo}): ${p.stderrTail()}`);
  return p;
}

async function makeClip(dir: string, bitrateKbps: number): Promise<string> {
  const file = join(dir, 'clip.mp4');
  const k = `${bitrateKbps}k`;
  await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-nostdin', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25']
      .concat(['-t', '20', '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', k, '-maxrate', k, '-bufsize', k])
      .concat(['-g', '50', '-bf', '0', '-pix_fmt', 'yuv420p', '-y', file]),
    120_000,
  );
  return file;
}

async function getJson(url: string): Promise<unknown> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status}`);
  return r.json();
}

/**
 * Frames (packets) of the video stream of each file under `dir`, by path (the file's folder or prefix), and
 * the seconds the files span (stream duration), by path.
 */
function framesByPath(
  dir: string,
  pathOf: (file: string) => string,
): { frames: Map<string, number>; seconds: Map<string, number>; unreadable: number } {
  const out = new Map<string, number>();
  const seconds = new Map<string, number>();
  let unreadable = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith('.mp4')) {
        let probed: string;
        try {
          probed = execFileSync(
            'ffprobe',
            ['-v', 'error', '-select_streams', 'v:0', '-count_packets'].concat([
              '-show_entries',
              'stream=duration,nb_read_packets',
              '-of',
              'csv=p=0',
              f,
            ]),
            { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
          );
        } catch (err) {
          if (!(err instanceof Error)) throw err;
          unreadable++; // e.g. a gst file whose moov was never written
          continue;
        }
        const [duration, n] = probed.trim().split(',').map(Number);
        seconds.set(pathOf(f), (seconds.get(pathOf(f)) ?? 0) + (Number.isFinite(duration) ? duration! : 0));
        out.set(pathOf(f), (out.get(pathOf(f)) ?? 0) + (Number.isFinite(n) ? n! : 0));
      }
    }
  };
  walk(dir);
  return { frames: out, seconds, unreadable };
}

function bytesUnder(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = join(d, e.name);
      if (e.isDirectory()) walk(f);
      else {
        bytes += statSync(f).size;
        files++;
      }
    }
  };
  walk(dir);
  return { bytes, files };
}

async function runOne(kind: 'rtspkit' | 'gst', clip: string, o: Options): Promise<RunResult> {
  const result: RunResult = { kind, paths: o.paths };
  const work = mkdtempSync(join(tmpdir(), `rtspkit-bench-record-${kind}-`));
  scratchDirs.add(work);
  const procs: Proc[] = [];
  try {
    const port = await freePort();
    const apiPort = await freePort();
    const recDir = join(work, 'rec');
    mkdirSync(recDir);
    const config = join(work, 'rtspkit.yml');
    writeFileSync(
      config,
      [
        ...benchServerConfigLines(HOST, port, apiPort),
        'pathDefaults:',
        `  record: ${kind === 'rtspkit'}`,
        `  recordPath: ${JSON.stringify(join(recDir, '%path', '%Y-%m-%d_%H-%M-%S-%f'))}`,
        '  recordSegmentDuration: 60',
        '  recordPartDuration: 1',
        '',
      ].join('\n'),
    );
    const server = new Proc('rtspkit', process.execPath, [...SERVE_NODE_FLAGS, CLI, 'serve', '-c', config], {
      cwd: work,
      env: SERVE_NODE_ENV,
    });
    procs.push(server);
    const api = `http://${HOST}:${apiPort}`;
    await waitUntil('the server', 20_000, async () => {
      if (server.exited) throw new Error(`server exited (${server.exitInfo}): ${server.stderrTail()}`);
      return (await fetch(`${api}/v1/paths`).catch(() => undefined))?.status === 200;
    });
    // Each publisher sends exactly publishS s of frames, however long the others take to start (a loaded
    // machine starts 50 ffmpeg in tens of seconds): the window opens once every path is published.
    const publishS = o.warmupS + o.seconds + START_BUDGET_S;
    result.framesPublished = publishS * FPS;
    const names = Array.from({ length: o.paths }, (_, i) => `cam${i}`);
    const publishers = names.map((name) => {
      const p = new Proc('ffmpeg', 'ffmpeg', [
        ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', clip],
        ...['-t', String(publishS), '-c', 'copy', '-f', 'rtsp', '-rtsp_transport', 'tcp'],
        `rtsp://${HOST}:${port}/${name}`,
      ]);
      procs.push(p);
      return p;
    });
    const lastBytesIn = new Map<string, number>();
    const samplePaths = async (): Promise<number> => {
      const body = (await getJson(`${api}/v1/paths`)) as { items: { name: string; bytesIn: number }[] };
      for (const p of body.items) lastBytesIn.set(p.name, p.bytesIn);
      return body.items.length;
    };
    await waitUntil(
      'every path published',
      START_BUDGET_S * 1000,
      async () => (await samplePaths()) === o.paths,
    );
    const gst: Proc[] = [];
    const bytesInNow = (): number => [...lastBytesIn.values()].reduce((a, b) => a + b, 0);
    // gst records from its start to its SIGINT: its files are compared with what the server received then.
    const gstBytesFrom = bytesInNow();
    let gstBytesTo = 0;
    if (kind === 'gst') {
      mkdirSync(join(recDir, 'gst'));
      for (const name of names) {
        const p = new Proc('gst', 'gst-launch-1.0', [
          '-e',
          ...[
            'rtspsrc',
            `location=rtsp://${HOST}:${port}/${name}`,
            'protocols=tcp',
            // In its default (auto: slave) mode rtspsrc 1.22 let some buffers of our relay out with no PTS
            // (18 of 171 in 6 s), and mp4mux stops at the first ("Buffer has no PTS"): no moov, no file.
            'buffer-mode=none',
            '!',
            'rtph264depay',
            '!',
          ],
          // muxer-factory and muxer-properties apply only with async-finalize (gst-inspect splitmuxsink);
          // a `muxer=mp4mux` string sets no element, so the default mp4mux wrote its moov only at EOS.
          ...['h264parse', '!', 'splitmuxsink', 'async-finalize=true', 'muxer-factory=mp4mux'],
          'muxer-properties=properties,fragment-duration=1000',
          `location=${join(recDir, 'gst', `${name}_%05d.mp4`)}`,
          'max-size-time=60000000000',
        ]);
        procs.push(p);
        gst.push(p);
      }
    }
    await sleep(o.warmupS * 1000);
    result.load1 = loadavg()[0] ?? NaN;
    const cpuOf = (ps: readonly Proc[]): number =>
      ps.reduce((n, p) => n + (p.exited ? 0 : cpuSeconds(p.pid)), 0);
    const t0 = performance.now();
    const server0 = cpuSeconds(server.pid);
    const gst0 = cpuOf(gst);
    for (let s = 0; s < o.seconds; s++) {
      await sleep(1000);
      await samplePaths();
    }
    const wallS = (performance.now() - t0) / 1000;
    result.serverCpuPct = ((cpuSeconds(server.pid) - server0) / wallS) * 100;
    if (kind === 'gst') result.gstCpuPct = ((cpuOf(gst) - gst0) / wallS) * 100;
    // gst-launch -e turns SIGINT into EOS, which finishes splitmuxsink's file (done while the streams still
    // run: a stream's end reaches rtspsrc as an error, not EOS, and leaves the file without its moov).
    await samplePaths();
    gstBytesTo = bytesInNow();
    for (const p of gst) if (!p.exited) p.child.kill('SIGINT');
    await Promise.all(gst.map((p) => within(p.exit, 60_000)));
    // The publishers end by themselves (-t); keep the last bytesIn of each path.
    for (;;) {
      const left = publishers.filter((p) => !p.exited).length;
      if (left === 0) break;
      await samplePaths().catch(() => 0);
      await sleep(200);
    }
    await server.stop(); // SIGTERM: the recorders close their segments
    result.bytesIn = kind === 'gst' ? gstBytesTo - gstBytesFrom : bytesInNow();
    const filesDir = kind === 'gst' ? join(recDir, 'gst') : recDir;
    const { bytes, files } = bytesUnder(filesDir);
    result.bytesOnDisk = bytes;
    result.files = files;
    const { frames, seconds, unreadable } = framesByPath(filesDir, (f) =>
      kind === 'gst' ? /([^/]+)_\d+\.mp4$/.exec(f)![1]! : f.split('/').at(-2)!,
    );
    result.framesInFiles = [...frames.values()].reduce((a, b) => a + b, 0);
    result.unreadableFiles = unreadable;
    // gst records from its join to its SIGINT: each path's files are measured against their own span (25 fps
    // x the video stream's duration, one frame of rounding), and a path with no readable file is short.
    const expected = (n: string): number =>
      kind === 'gst' ? Math.round((seconds.get(n) ?? 0) * FPS) - 1 : result.framesPublished!;
    if (kind === 'gst')
      result.framesPublished = Math.round(([...seconds.values()].reduce((a, b) => a + b, 0) * FPS) / o.paths);
    result.pathsShort = names.filter((n) => !frames.has(n) || frames.get(n)! < expected(n)).length;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    await endRun(procs, work);
  }
  return result;
}

async function main(): Promise<void> {
  killAllOnExit('bench:record');
  const o = parseOptions(process.argv.slice(2));
  const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, Node ${process.version}`;
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-bench-record-'));
  scratchDirs.add(dir);
  try {
    const clip = await makeClip(dir, o.bitrateKbps);
    process.stderr.write(
      `bench:record: ${machine}; ${o.paths} paths of ${o.bitrateKbps} kbit/s; ${o.seconds} s window after ${o.warmupS} s\n`,
    );
    const results: RunResult[] = [];
    for (const kind of o.servers) {
      process.stderr.write(`  ${kind} ... `);
      const r = await runOne(kind, clip, o);
      results.push(r);
      process.stderr.write(r.error !== undefined ? `error: ${r.error}\n` : `done\n`);
    }
    const relay = results.find((r) => r.kind === 'gst')?.serverCpuPct;
    const rows = results.map((r) => {
      if (r.error !== undefined) return [r.kind, String(r.paths), `ERROR: ${r.error}`];
      const recorderCpu = r.kind === 'rtspkit' ? r.serverCpuPct! - (relay ?? 0) : r.gstCpuPct!;
      return [
        r.kind,
        String(r.paths),
        fmt(r.serverCpuPct, 1),
        r.kind === 'gst' ? fmt(r.gstCpuPct, 1) : '-',
        relay !== undefined || r.kind === 'gst' ? fmt(recorderCpu / r.paths, 2) : '-',
        fmt(r.bytesOnDisk! / r.bytesIn!, 3),
        `${r.framesInFiles}/${r.framesPublished! * r.paths}`,
        String(r.pathsShort),
        `${r.files}${r.unreadableFiles! > 0 ? ` (${r.unreadableFiles} unreadable)` : ''}`,
        fmt(r.load1, 2),
      ];
    });
    const head = [
      'recorder',
      'paths',
      'server CPU %',
      'gst CPU %',
      'recording CPU %/path',
      'disk/received',
    ].concat(['frames in files/published', 'paths short', 'files', 'load1']);
    process.stdout.write(
      `\n${machine}; ${o.paths} paths x ${o.bitrateKbps} kbit/s H.264 1280x720 25 fps, ${o.seconds} s window\n\n` +
        `${markdownTable(head, rows)}\n\n` +
        'server CPU %: the rtspkit process (100 = one core): recording every path (rtspkit), relaying to the gst ' +
        'recorders (gst). gst CPU %: the gst-launch processes summed. recording CPU %/path: rtspkit = (server ' +
        'recording - server relaying) / paths; gst = gst processes / paths (their RTSP client, depayloader and ' +
        'muxer). disk/received: bytes of the files over the RTP bytes the server received (gst: from its start ' +
        'to its SIGINT; a new reader also gets the frames since the last keyframe at once, so it may pass 1). ' +
        'frames: ffprobe ' +
        '-count_packets over every file against 25 fps x the publishing time (rtspkit: the recorder joins before ' +
        'the first packet); for gst, against 25 fps x the span of its files (it joins running streams and is ' +
        'stopped by SIGINT before they end); paths short: paths with fewer frames than that (or no readable file).\n',
    );
    if (results.some((r) => r.error !== undefined)) process.exitCode = 1;
  } finally {
    removeScratch(dir);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:record: ${err instanceof Error ? err.message : String(err)}\n`);
  killAllNow();
  process.exit(1);
});
