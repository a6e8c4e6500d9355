// A/V alignment through RTMP: a clip whose every second starts with a white video frame and a 1 kHz
// beep at the same instant (made in `before` with ffmpeg's lavfi; H.264 Main with B-frames + AAC) is
// published with ffmpeg over RTMP and read back at once over RTSP (ffmpeg, TCP) and over RTMP
// (ffmpeg); each reader decodes, and the flash and beep onsets it sees must coincide within one AAC
// frame (issue 20: "A/V stay aligned within one audio frame").
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless } from './support/tools.js';
import { run, waitFor } from './support/process.js';
import { startRtmpTestServer, type RtmpTestServer } from './support/rtmp.js';

const SECONDS = 4;
const AUDIO_RATE = 48000;
/** One AAC frame: 1024 samples. */
const AAC_FRAME_S = 1024 / AUDIO_RATE;
/**
 * What the measurement itself adds, on top of the one frame the issue allows: the beep onset is read
 * in windows of 48 samples (1 ms: a window is loud from the sample the beep starts in), and RTMP
 * carries milliseconds (each of the two tracks' times rounded by up to 0.5 ms). Decoding the clip file
 * itself with the same detector gives flash and beep on the same millisecond.
 */
const MEASURE_TOLERANCE_S = 0.002;
const skip = skipUnless('ffmpeg');

/** A flash (video mean luma over LUMA_FLASH) and a beep (audio RMS over -30 dBFS) every second. */
const LUMA_FLASH = 100;
const BEEP_DBFS = -30;

async function makeClip(file: string): Promise<void> {
  const out = await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-y'].concat(
      ['-f', 'lavfi', '-i'],
      [
        `color=c=black:s=320x240:r=25:d=${SECONDS},` +
          "drawbox=c=white:t=fill:enable='lt(mod(t\\,1)\\,0.04)'",
      ],
      // aevalsrc gates per sample (a `volume` enable would gate per 1024-sample frame of `sine`).
      ['-f', 'lavfi', '-i'],
      [`aevalsrc='0.5*sin(2*PI*1000*t)*lt(mod(t\\,1)\\,0.1)':s=${AUDIO_RATE}:d=${SECONDS}:c=stereo`],
      ['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-bf', '2', '-pix_fmt', 'yuv420p'],
      ['-g', '25', '-keyint_min', '25', '-sc_threshold', '0'],
      ['-c:a', 'aac', '-b:a', '96k', '-ar', String(AUDIO_RATE), '-ac', '2', file],
    ),
    { timeoutMs: 30_000 },
  ).done;
  assert.equal(out.code, 0, out.stderr);
}

/** Times (s) at which `loud` turns true, from frames a metadata filter printed (`pts_time:` lines). */
function onsets(printed: string, key: string, loud: (value: string) => boolean): number[] {
  const out: number[] = [];
  let t: number | undefined;
  let was: boolean | undefined;
  for (const line of printed.split('\n')) {
    const time = /pts_time:(\S+)/.exec(line);
    if (time !== null) t = Number(time[1]);
    else if (line.startsWith(`${key}=`) && t !== undefined) {
      const now = loud(line.slice(key.length + 1));
      // Only a change seen whole: the reader's first frame may be in the middle of a flash.
      if (now && was === false) out.push(t);
      was = now;
    }
  }
  return out;
}

interface Onsets {
  flashes: number[];
  beeps: number[];
}

/** Decodes `input` to the end and returns the flash and beep onsets it sees. */
async function detect(dir: string, name: string, input: string[]): Promise<Onsets> {
  const vFile = join(dir, `${name}-v.txt`);
  const aFile = join(dir, `${name}-a.txt`);
  const graph =
    `[0:v]signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=${vFile}[v];` +
    `[0:a]asetnsamples=n=48:p=0,astats=metadata=1:reset=1,` +
    `ametadata=print:key=lavfi.astats.Overall.RMS_level:file=${aFile}[a]`;
  const out = await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', ...input].concat([
      '-filter_complex',
      graph,
      '-map',
      '[v]',
      '-map',
      '[a]',
      '-f',
      'null',
      '-',
    ]),
    { timeoutMs: 40_000 },
  ).done;
  assert.equal(out.code, 0, `${name}: ${out.stderr}`);
  return {
    flashes: onsets(await readFile(vFile, 'utf8'), 'lavfi.signalstats.YAVG', (v) => Number(v) > LUMA_FLASH),
    beeps: onsets(
      await readFile(aFile, 'utf8'),
      'lavfi.astats.Overall.RMS_level',
      (v) => v !== '-inf' && Number(v) > BEEP_DBFS,
    ),
  };
}

/** Each flash's distance (s, audio minus video) to the nearest beep onset. */
function offsets({ flashes, beeps }: Onsets): number[] {
  return flashes.map((f) => {
    let best = Infinity;
    for (const b of beeps) if (Math.abs(b - f) < Math.abs(best)) best = b - f;
    return best;
  });
}

describe('A/V alignment of a path published over RTMP', { skip }, () => {
  let s: RtmpTestServer;
  let dir: string;
  let clip: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rtspkit-avsync-'));
    clip = join(dir, 'flash-beep.mp4');
    [s] = await Promise.all([startRtmpTestServer(), makeClip(clip)]);
  });
  after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('flash and beep stay within one AAC frame over RTSP and over RTMP', { timeout: 60_000 }, async (t) => {
    const source = offsets(await detect(dir, 'file', ['-i', clip]));
    assert.equal(source.length, SECONDS - 1, `the clip's own flashes: ${JSON.stringify(source)}`);
    assert.ok(
      source.every((o) => Math.abs(o) <= 0.001),
      `the clip is aligned to the millisecond: ${JSON.stringify(source)}`,
    );

    const path = 'live/avsync';
    const pub = run(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-re', '-i', clip, '-c', 'copy', '-f', 'flv', s.rtmpUrl(path)],
      { timeoutMs: 30_000 },
    );
    await waitFor(() => s.server.paths.get(path)?.stream !== undefined, 10_000, 'the publish');
    const [rtsp, rtmp] = await Promise.all([
      detect(dir, 'rtsp', ['-rtsp_transport', 'tcp', '-i', s.rtspUrl(path)]),
      detect(dir, 'rtmp', ['-i', s.rtmpUrl(path)]),
    ]);
    const published = await pub.done;
    assert.equal(published.code, 0, published.stderr);

    const bound = AAC_FRAME_S + MEASURE_TOLERANCE_S;
    for (const [what, seen] of [
      ['RTSP', rtsp],
      ['RTMP', rtmp],
    ] as const) {
      const o = offsets(seen);
      t.diagnostic(`${what}: beep minus flash (ms) ${o.map((x) => (x * 1000).toFixed(1)).join(' ')}`);
      // The readers join a second or so in (later on a loaded machine); the last second is seen whole.
      assert.ok(o.length >= 1, `${what}: ${o.length} flashes seen (${JSON.stringify(seen)})`);
      assert.ok(
        o.every((x) => Math.abs(x) <= bound),
        `${what}: beep minus flash ${JSON.stringify(o)} s, more than ${bound} s`,
      );
      // Tighter, what the server does: no arrival time enters a timestamp (audio is counted in
      // samples from the instant video starts on the publisher's timeline), so only the measurement's
      // own rounding remains. Placing a reader's tracks by arrival (the GOP cache's burst) gave 22.7
      // and 67 ms here.
      assert.ok(
        o.every((x) => Math.abs(x) <= MEASURE_TOLERANCE_S),
        `${what}: beep minus flash ${JSON.stringify(o)} s, more than the measurement's ${MEASURE_TOLERANCE_S} s`,
      );
    }
  });
});
