// `npm run bench:playback`: playback of a long recording over RTSP. Issue 17: "PLAY to first keyframe p50 <=
// 100 ms on a 1-hour recording, any start time; a seek likewise" and "100 playback readers at different times of
// the same recording, against gst-rtsp-server serving the same content as a file: CPU ratio".
//
//   npm run bench:playback -- [--hours 1] [--trials 30] [--readers 100] [--seconds 20] [--warmup 3] [--server both|rtspkit|gst]
//
// The recording is made without the recorder, by our own muxer (test/support/muxed-recordings.ts): the demo clip
// looped to 60 s, written as 60 s segments (fMP4 parts with prft) under `<dir>/rec/`, one after the other. The
// server is `rtspkit serve` (its own process) with that folder as its recordPath, so it indexes the recording at
// start. The URL `rtsp://host/rec?start=<first segment>` plays it, npt 0 being its start.
//   0. describe: the first DESCRIBE of the URL after the server started (every segment indexed, the window
//      joined), a DESCRIBE of another window (`?start=` half-way: the segments' indexes are shared, the window
//      is joined again) and `--trials` DESCRIBEs of the same URL again (the joined window shared); ms each.
//   1. start: `--trials` sessions, each DESCRIBE, SETUP (TCP interleaved), then PLAY `Range: npt=<random>-` and
//      the time from sending PLAY to the first RTP packet of the video track (the keyframe the play starts at).
//   2. seek: in each of those sessions, PAUSE, then PLAY at another random time: PLAY sent to first video packet.
//   3. readers: `bench/vod.js --child` opens --readers readers spread over the recording, against rtspkit and
//      against gst-rtsp-server (bench/gst_vod_server.py) serving the same recording exported as one MP4 (through
//      rtspkit's own /v1/recordings/rec/get?format=mp4); server CPU over a window, as bench:vod measures it.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseSdp } from '../src/sdp/parse.js';
import type { InterleavedFrame } from '../src/rtsp/message.js';
import { unixMsToNtp } from '../src/base/clock.js';
import { childBoxes } from '../src/container/mp4/boxes.js';
import { parsePrft } from '../src/container/fmp4/reader.js';
import { segmentFileName, writeRecording, type SegmentSpec } from '../test/support/muxed-recordings.js';
import { HOST, describeOk, freePort } from './probe.js';

import {
  endRun,
  killAllNow,
  killAllOnExit,
  Proc,
  rssKB,
  scratchDirs,
  sleep,
  waitUntil,
  within,
} from './proc.js';
import { benchServerConfigLines } from './server-config.js';
import { RtspConn } from './rtsp-conn.js';
import { ReadersLink, assertAlive, measureWindow, type WindowResult } from './runner.js';
import { fmt, markdownTable, p50p99, percentile } from './stats.js';
import type { ReadyMessage, ReportMessage } from './vod.js';
// `rtspkit serve` re-executes itself without these (cli/node-flags.ts): given here, the PID measured is the server's.
import { SERVE_NODE_ENV, SERVE_NODE_FLAGS } from '../src/cli/node-flags.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const VOD_READERS = fileURLToPath(new URL('./vod.js', import.meta.url));
const CLIP = join(REPO, 'media', 'demo.mp4');
const SEGMENT_S = 60;
const TIMEOUT_MS = 20_000;

interface Options {
  hours: number;
  trials: number;
  readers: number;
  seconds: number;
  warmupS: number;
  servers: ('rtspkit' | 'gst')[];
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    hours: 1,
    trials: 30,
    readers: 100,
    seconds: 20,
    warmupS: 3,
    servers: ['rtspkit', 'gst'],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[++i];
    if (v === undefined) throw new Error(`missing value after ${a}`);
    if (a === '--hours') o.hours = Number(v);
    else if (a === '--trials') o.trials = Number(v);
    else if (a === '--readers') o.readers = Number(v);
    else if (a === '--seconds') o.seconds = Number(v);
    else if (a === '--warmup') o.warmupS = Number(v);
    else if (a === '--server') o.servers = v === 'both' ? ['rtspkit', 'gst'] : [v as 'rtspkit' | 'gst'];
    else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.hours > 0)) throw new Error('--hours must be > 0');
  for (const k of ['trials', 'readers', 'seconds', 'warmupS'] as const)
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`--${k} must be a positive integer`);
  return o;
}

/** The clip looped to one segment's length (stream copy), for writeRecording. */
async function segmentClip(dir: string): Promise<string> {
  const file = join(dir, 'segment-clip.mp4');
  const ff = new Proc('ffmpeg', 'ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-stream_loop', '-1', '-i', CLIP],
    ...['-t', String(SEGMENT_S + 2), '-map', '0', '-c', 'copy', '-y', file],
  ]);
  if (!(await within(ff.exit, 60_000)) || ff.exitInfo !== 'code 0')
    throw new Error(`ffmpeg failed (${ff.exitInfo}): ${ff.stderrTail()}`);
  return file;
}

/**
 * `count` segments of SEGMENT_S one after the other from `t0`: the first muxed by writeRecording, the others
 * its copies with their `prft` times moved (muxing each again takes seconds on a loaded machine).
 */
async function writeSegments(dir: string, clip: string, t0: number, count: number): Promise<void> {
  const spec: SegmentSpec = { startMs: t0, fromS: 0, seconds: SEGMENT_S };
  const [first] = await writeRecording(dir, 'rec', clip, [spec]);
  const bytes = readFileSync(first!.file);
  const prfts = childBoxes(bytes, 0, bytes.length).filter((b) => b.type === 'prft');
  for (let i = 1; i < count; i++) {
    const startMs = t0 + i * SEGMENT_S * 1000;
    const copy = Buffer.from(bytes);
    for (const b of prfts) {
      // prft v1: header 8, version/flags 4, reference_track_ID 4, then the NTP time (§8.16.5).
      const ntp = unixMsToNtp(parsePrft(bytes.subarray(b.start, b.end)).wallClockMs + (startMs - t0));
      copy.writeUInt32BE(ntp.seconds, b.start + 16);
      copy.writeUInt32BE(ntp.fraction, b.start + 20);
    }
    writeFileSync(join(dir, 'rec', segmentFileName(startMs)), copy);
  }
}

/** One reader session: DESCRIBE, SETUP of every track (interleaved), and the video track's RTP channel. */
async function openSession(
  port: number,
  url: string,
): Promise<{ conn: RtspConn; session: string; base: string; videoChannel: number }> {
  const conn = await RtspConn.connect(port, HOST, TIMEOUT_MS);
  const desc = await conn.request('DESCRIBE', url, { Accept: 'application/sdp' }, TIMEOUT_MS);
  if (desc.statusCode !== 200) throw new Error(`DESCRIBE ${desc.statusCode}`);
  const base = desc.headers.get('Content-Base') ?? `${url}/`;
  const sdp = parseSdp(desc.body.toString('utf8'));
  let session = '';
  let videoChannel = -1;
  for (const [i, md] of sdp.media.entries()) {
    const control = md.attributes.find((a) => a.name === 'control')?.value ?? `trackID=${i}`;
    const trackUrl = /^rtsp:/i.test(control) ? control : base + control;
    const headers: Record<string, string> = {
      Transport: `RTP/AVP/TCP;unicast;interleaved=${2 * i}-${2 * i + 1}`,
    };
    if (session !== '') headers.Session = session;
    const res = await conn.request('SETUP', trackUrl, headers, TIMEOUT_MS);
    if (res.statusCode !== 200) throw new Error(`SETUP ${res.statusCode}`);
    session = (res.headers.get('Session') ?? '').split(';')[0]!.trim();
    if (md.type === 'video' && videoChannel < 0) videoChannel = 2 * i;
  }
  if (videoChannel < 0) throw new Error('no video track');
  return { conn, session, base, videoChannel };
}

/** PLAY at `npt` and the ms from sending it to the first RTP packet of the video track. */
async function playToFirstVideo(
  s: { conn: RtspConn; session: string; base: string; videoChannel: number },
  npt: number,
): Promise<number> {
  let resolveFirst: (ms: number) => void = () => undefined;
  const first = new Promise<number>((r) => (resolveFirst = r));
  const sent = performance.now();
  s.conn.onFrame = (f: InterleavedFrame) => {
    if (f.channel === s.videoChannel) resolveFirst(performance.now() - sent);
  };
  const res = await s.conn.request(
    'PLAY',
    s.base,
    { Session: s.session, Range: `npt=${npt.toFixed(3)}-` },
    TIMEOUT_MS,
  );
  if (res.statusCode !== 200) throw new Error(`PLAY ${res.statusCode}`);
  if (!(await within(first, TIMEOUT_MS))) throw new Error('no video packet after PLAY');
  return first;
}

async function startLatency(port: number, url: string, durationS: number, trials: number) {
  const start: number[] = [];
  const seek: number[] = [];
  const random = (): number => Math.random() * (durationS - 30);
  for (let i = 0; i < trials; i++) {
    const s = await openSession(port, url);
    try {
      start.push(await playToFirstVideo(s, random()));
      const pause = await s.conn.request('PAUSE', s.base, { Session: s.session }, TIMEOUT_MS);
      if (pause.statusCode !== 200) throw new Error(`PAUSE ${pause.statusCode}`);
      await sleep(50); // packets already on their way
      seek.push(await playToFirstVideo(s, random()));
      await s.conn.request('TEARDOWN', s.base, { Session: s.session }, TIMEOUT_MS).catch(() => undefined);
    } finally {
      s.conn.close();
    }
  }
  return { start, seek };
}

/** ms of one DESCRIBE of `url` on a new connection (throws unless 200). */
async function describeMs(port: number, url: string): Promise<number> {
  const conn = await RtspConn.connect(port, HOST, TIMEOUT_MS);
  try {
    const sent = performance.now();
    const res = await conn.request('DESCRIBE', url, { Accept: 'application/sdp' }, 120_000);
    if (res.statusCode !== 200) throw new Error(`DESCRIBE ${res.statusCode}`);
    return performance.now() - sent;
  } finally {
    conn.close();
  }
}

interface ReadersResult extends WindowResult {
  server: 'rtspkit' | 'gst';
  rampMs?: number;
  serverCpuPct?: number;
  report?: ReportMessage;
  error?: string;
}

async function readersRun(
  kind: 'rtspkit' | 'gst',
  server: Proc,
  port: number,
  url: string,
  durationS: number,
  o: Options,
): Promise<ReadersResult> {
  const result: ReadersResult = { server: kind };
  const maxStartS = Math.max(0, durationS - o.seconds - o.warmupS - 10);
  const readers = new Proc(
    'readers',
    process.execPath,
    [VOD_READERS, '--child', '--url', url, '--count', String(o.readers), '--ramp', '20'].concat([
      '--max-start',
      maxStartS.toFixed(3),
    ]),
    { stdin: 'pipe' },
  );
  try {
    await waitUntil('DESCRIBE 200', TIMEOUT_MS, () => describeOk(port, url, 5000));
    const link = new ReadersLink<ReadyMessage, ReportMessage>(readers);
    const alive = (): void => assertAlive([server, readers]);
    const ready = await link.ready(o.readers, 60_000 + o.readers * 500, alive);
    result.rampMs = ready.rampMs;
    // Readers that could not set up (a DESCRIBE or SETUP past its 20 s timeout, a refusal), by reason.
    if (Object.keys(ready.failures).length > 0)
      process.stderr.write(`  ${kind}: readers not set up: ${JSON.stringify(ready.failures)}\n`);
    await sleep(o.warmupS * 1000);
    await measureWindow(result, server, [[server, 'serverCpuPct']], o.seconds, link, alive);
    result.report = await link.report();
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    await readers.stop();
  }
  return result;
}

async function main(): Promise<void> {
  killAllOnExit('bench:playback');
  const o = parseOptions(process.argv.slice(2));
  const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, Node ${process.version}`;
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-bench-playback-'));
  scratchDirs.add(dir);
  const procs: Proc[] = [];
  try {
    const clip = await segmentClip(dir);
    const segments = Math.ceil((o.hours * 3600) / SEGMENT_S);
    const t0 = Date.UTC(2026, 0, 1, 0, 0, 0);
    const made = performance.now();
    await writeSegments(join(dir, 'rec'), clip, t0, segments);
    const durationS = segments * SEGMENT_S;
    process.stderr.write(
      `bench:playback: ${machine}; ${segments} segments of ${SEGMENT_S} s (${fmt(durationS / 3600, 2)} h) ` +
        `written in ${fmt((performance.now() - made) / 1000, 1)} s; load1 ${fmt(loadavg()[0], 2)}\n`,
    );
    const port = await freePort();
    const apiPort = await freePort();
    const config = join(dir, 'rtspkit.yml');
    writeFileSync(
      config,
      [
        ...benchServerConfigLines(HOST, port, apiPort),
        'pathDefaults:',
        '  record: false',
        '  recordDeleteAfter: 0',
        `  recordPath: ${JSON.stringify(join(dir, 'rec', '%path', '%Y-%m-%d_%H-%M-%S-%f'))}`,
        '',
      ].join('\n'),
    );
    const server = new Proc('rtspkit', process.execPath, [...SERVE_NODE_FLAGS, CLI, 'serve', '-c', config], {
      cwd: dir,
      env: SERVE_NODE_ENV,
    });
    procs.push(server);
    const url = `rtsp://${HOST}:${port}/rec?start=${new Date(t0).toISOString()}`;
    // The server is up once it answers (a path with nothing recorded: 404); the recording is not opened yet.
    await waitUntil('the server to answer', 60_000, async () => {
      if (server.exited) throw new Error(`server exited (${server.exitInfo}): ${server.stderrTail()}`);
      return RtspConn.connect(port, HOST, 1000).then(
        (c) => (c.close(), true),
        () => false,
      );
    });
    const rssIdleKB = rssKB(server.pid);
    const firstDescribeMs = await describeMs(port, url);
    const otherWindowMs = await describeMs(
      port,
      `rtsp://${HOST}:${port}/rec?start=${new Date(t0 + (durationS / 2) * 1000).toISOString()}`,
    );
    const againMs: number[] = [];
    for (let i = 0; i < o.trials; i++) againMs.push(await describeMs(port, url));
    const rssDescribedKB = rssKB(server.pid);
    process.stderr.write(
      `  first DESCRIBE ${fmt(firstDescribeMs, 0)} ms, another window ${fmt(otherWindowMs, 0)} ms, the same again ` +
        `p50 ${fmt(percentile(againMs, 50), 1)} ms; RSS ${fmt(rssIdleKB / 1024, 0)} -> ${fmt(rssDescribedKB / 1024, 0)} MB\n`,
    );

    const lat = await startLatency(port, url, durationS, o.trials);
    const results: ReadersResult[] = [];
    if (o.servers.includes('rtspkit'))
      results.push(await readersRun('rtspkit', server, port, url, durationS, o));
    process.stderr.write(
      `  PLAY to first video packet p50 ${fmt(percentile(lat.start, 50), 1)} ms, seek p50 ` +
        `${fmt(percentile(lat.seek, 50), 1)} ms; rtspkit readers CPU ${fmt(results[0]?.serverCpuPct, 1)} %\n`,
    );
    if (o.servers.includes('gst')) {
      // The same content as one MP4, from our own export.
      const media = join(dir, 'media');
      mkdirSync(media);
      const exportUrl = `http://${HOST}:${apiPort}/v1/recordings/rec/get?start=${new Date(t0).toISOString()}&duration=${durationS}&format=mp4`;
      const r = await fetch(exportUrl);
      if (r.status !== 200) throw new Error(`export: ${r.status}`);
      writeFileSync(join(media, 'rec.mp4'), Buffer.from(await r.arrayBuffer()));
      const gstPort = await freePort();
      const gst = new Proc('gst', '/usr/bin/python3', [
        ...[join(REPO, 'bench', 'gst_vod_server.py'), '--file', join(media, 'rec.mp4'), '--mount', '/vod'],
        ...['--port', String(gstPort), '--max-seconds', String(600 + o.readers * 2)],
      ]);
      procs.push(gst);
      results.push(await readersRun('gst', gst, gstPort, `rtsp://${HOST}:${gstPort}/vod`, durationS, o));
    }

    const rows = results.map((r) =>
      r.error !== undefined || r.report === undefined
        ? [r.server, String(o.readers), `ERROR: ${r.error ?? '?'}`]
        : [
            r.server,
            `${r.report.playing - r.report.closedAfterPlay - r.report.windowSilentReaders}/${r.report.requested}`,
            fmt((r.report.windowBytes * 8) / (r.report.windowMs / 1000) / 1e6, 1),
            String(r.report.windowLost),
            fmt(r.serverCpuPct, 1),
            `${fmt((r.rssEndKB ?? NaN) / 1024, 1)} / ${fmt((r.rssMaxKB ?? NaN) / 1024, 1)}`,
            fmt((r.rampMs ?? NaN) / 1000, 1),
            p50p99(r.report.playReplyMs),
            p50p99(r.report.firstPacketMs),
            fmt(r.loadavgBefore?.[0], 2),
          ],
    );
    const a = results.find((r) => r.server === 'rtspkit' && r.report !== undefined);
    const g = results.find((r) => r.server === 'gst' && r.report !== undefined);
    process.stdout.write(
      `\n${machine}; recording of ${fmt(durationS / 3600, 2)} h (${segments} fMP4 segments, demo.mp4 H.264 + AAC)\n\n` +
        markdownTable(
          ['measure', 'trials', 'p50 ms', 'p99 ms', 'max ms'],
          [
            ['first DESCRIBE (index and join the recording)', '1', fmt(firstDescribeMs, 1), '-', '-'],
            ['DESCRIBE of another window (segments shared)', '1', fmt(otherWindowMs, 1), '-', '-'],
            ['DESCRIBE of the same URL again', String(againMs.length)]
              .concat([fmt(percentile(againMs, 50), 1), fmt(percentile(againMs, 99), 1)])
              .concat([fmt(Math.max(...againMs), 1)]),
            [
              'PLAY to first video packet',
              String(lat.start.length),
              fmt(percentile(lat.start, 50), 1),
            ].concat([fmt(percentile(lat.start, 99), 1), fmt(Math.max(...lat.start), 1)]),
            ['seek (PAUSE, PLAY elsewhere) to first video packet', String(lat.seek.length)]
              .concat([fmt(percentile(lat.seek, 50), 1), fmt(percentile(lat.seek, 99), 1)])
              .concat([fmt(Math.max(...lat.seek), 1)]),
          ],
        ) +
        `\n\n${o.readers} readers at different times, ${o.seconds} s window, TCP interleaved:\n\n` +
        markdownTable(
          [
            'server',
            'playing',
            'Mbit/s',
            'lost',
            'CPU %',
            'RSS end/max MB',
            'set up s',
            'PLAY rep p50/p99 ms',
            '1st pkt p50/p99 ms',
            'load1',
          ],
          rows,
        ) +
        (a !== undefined && g !== undefined
          ? `\n\nCPU rtspkit/gst-rtsp-server: ${fmt((a.serverCpuPct ?? NaN) / (g.serverCpuPct ?? NaN), 2)}\n`
          : '\n'),
    );
    if (results.some((r) => r.error !== undefined)) process.exitCode = 1;
  } finally {
    await endRun(procs, dir);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:playback: ${err instanceof Error ? err.message : String(err)}\n`);
  killAllNow();
  process.exit(1);
});
