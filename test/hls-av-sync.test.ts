// A/V alignment of HLS and of recordings: ffmpeg publishes a flash/beep clip (H.264 with B-frames + AAC,
// test/support/flash-beep.ts) over RTSP to a recorded path of the whole app; ffmpeg reads the path's
// HLS playlist as a player, joining ~2 s after the publisher started (from the GOP cache), and each
// recorded file; each must show flash and beep together, within a frame (25 ms).
//
// What went wrong before: the HLS muxer and the recorder placed tracks by arrival, but ffmpeg sends up
// to 0.7 s of AAC frames per RTP packet (so audio came late by what was aggregated, whatever the
// join), and negative composition offsets of B-frames made ffmpeg's mov demuxer show video late by
// the largest of them (80 ms here). beep - flash was +168, -400 or +490 ms through HLS depending on
// the join, +101 ms in the first recorded file and about ±480 ms in the next ones.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type App } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { indexFmp4Buffer } from '../src/container/fmp4/reader.js';
import { beepMinusFlash, detectFlashBeep, makeFlashBeepClip } from './support/flash-beep.js';
import { publishFile, waitFor } from './support/process.js';
import { closedSegments } from './support/recordings.js';
import { LOOPBACK_APP_CONFIG_LINES } from './support/server.js';
import { skipUnless } from './support/tools.js';

const SECONDS = 8;
/** One picture at 25 fps: what the issue allows (the detector itself is exact to 1 ms on the clip). */
const BOUND_S = 0.025;
const skip = skipUnless('ffmpeg', 'ffprobe');

/**
 * ffmpeg's mov demuxer (5.1) presents every sample of a track later by the largest negative
 * composition offset the file has (its `dts_shift`): what it adds to video, in seconds. HLS segments
 * have none (Fmp4Muxer's presentation delay); recordings may (see the test below).
 */
function ffmpegVideoShiftSeconds(file: Buffer): number {
  const index = indexFmp4Buffer(file);
  const video = index.tracks.find((t) => t.codec === 'h264');
  assert.ok(video !== undefined);
  let lowest = 0;
  for (const f of index.fragments)
    for (const r of f.runs)
      if (r.trackId === video.trackId) for (const c of r.compositionOffset) lowest = Math.min(lowest, c);
  return -lowest / video.timescale;
}

describe('A/V alignment of HLS and recordings of an RTSP publish', { skip }, () => {
  let dir: string;
  let clip: string;
  let app: App;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rtspkit-hls-avsync-'));
    clip = join(dir, 'flash-beep.mp4');
    [app] = await Promise.all([
      startApp(
        parseConfig(
          [
            ...LOOPBACK_APP_CONFIG_LINES,
            'pathDefaults:',
            `  recordPath: ${JSON.stringify(join(dir, 'rec', '%path', '%Y-%m-%d_%H-%M-%S-%f'))}`,
            '  record: true',
            '  recordPartDuration: 1',
            // Several files: each one's audio must start right, not only the first's.
            '  recordSegmentDuration: 3',
          ].join('\n'),
        ),
      ),
      makeFlashBeepClip(clip, SECONDS),
    ]);
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  test(
    'ffmpeg reading HLS and each recorded file sees flash and beep within a frame',
    { timeout: 90_000 },
    async (t) => {
      const source = beepMinusFlash(await detectFlashBeep(dir, 'file', ['-i', clip]));
      assert.equal(source.length, SECONDS, `the clip's own flashes: ${JSON.stringify(source)}`);
      assert.ok(
        source.every((o) => Math.abs(o) <= 0.001),
        `the clip is aligned: ${JSON.stringify(source)}`,
      );

      const path = 'live/avsync';
      const pub = publishFile(clip, `rtsp://127.0.0.1:${app.server.port}/${path}`, 'tcp', {
        timeoutMs: 60_000,
      });
      await waitFor(() => app.server.paths.get(path)?.stream !== undefined, 15_000, 'the publish');
      // A player that comes later: it starts from the GOP cache, with audio the publisher sent before.
      await new Promise((r) => setTimeout(r, 2000));
      const hls = await detectFlashBeep(
        dir,
        'hls',
        ['-i', `http://127.0.0.1:${app.api!.port}/hls/${path}/index.m3u8`],
        60_000,
      );
      const published = await pub.done;
      assert.equal(published.code, 0, published.stderr);

      const seen = beepMinusFlash(hls);
      t.diagnostic(`HLS: beep minus flash (ms) ${seen.map((x) => (x * 1000).toFixed(1)).join(' ')}`);
      assert.ok(seen.length >= 2, `HLS: ${seen.length} flashes seen (${JSON.stringify(hls)})`);
      assert.ok(
        seen.every((x) => Math.abs(x) <= BOUND_S),
        `HLS: beep minus flash ${JSON.stringify(seen)} s`,
      );

      const segments = await closedSegments(app, path);
      assert.ok(segments.length >= 2, `${segments.length} recorded files`);
      for (const [i, segment] of segments.entries()) {
        const shift = ffmpegVideoShiftSeconds(await readFile(segment.file));
        const o = beepMinusFlash(await detectFlashBeep(dir, `rec${i}`, ['-i', segment.file]));
        // As written in the file: ffmpeg's own shift of the video put back.
        const written = o.map((x) => x + shift);
        t.diagnostic(
          `recording ${i}: beep minus flash (ms) as ffmpeg shows it ${o.map((x) => (x * 1000).toFixed(1)).join(' ')}, ` +
            `as written ${written.map((x) => (x * 1000).toFixed(1)).join(' ')}`,
        );
        assert.ok(o.length >= 1, `recording ${i}: no flash seen`);
        assert.ok(
          written.every((x) => Math.abs(x) <= BOUND_S),
          `recording ${i}: beep minus flash ${JSON.stringify(written)} s as written`,
        );
      }
    },
  );
});
