// A/V alignment through RTMP: a clip whose every second has a white video frame and a 1 kHz beep at
// the same instant (test/support/flash-beep.ts; H.264 Main with B-frames + AAC) is
// published with ffmpeg over RTMP and read back at once over RTSP (ffmpeg, TCP) and over RTMP
// (ffmpeg); each reader decodes, and the flash and beep onsets it sees must coincide within one AAC
// frame (issue 20: "A/V stay aligned within one audio frame").
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless } from './support/tools.js';
import { run, waitFor } from './support/process.js';
import { startRtmpTestServer, type RtmpTestServer } from './support/rtmp.js';
import {
  beepMinusFlash,
  detectFlashBeep,
  FLASH_BEEP_AUDIO_RATE,
  makeFlashBeepClip,
} from './support/flash-beep.js';

const SECONDS = 4;
/** One AAC frame: 1024 samples. */
const AAC_FRAME_S = 1024 / FLASH_BEEP_AUDIO_RATE;
/**
 * What the measurement itself adds, on top of the one frame the issue allows: the beep onset is read
 * in windows of 48 samples (1 ms: a window is loud from the sample the beep starts in), and RTMP
 * carries milliseconds (each of the two tracks' times rounded by up to 0.5 ms). Decoding the clip file
 * itself with the same detector gives flash and beep on the same millisecond.
 */
const MEASURE_TOLERANCE_S = 0.002;
const skip = skipUnless('ffmpeg');

describe('A/V alignment of a path published over RTMP', { skip }, () => {
  let s: RtmpTestServer;
  let dir: string;
  let clip: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rtspkit-avsync-'));
    clip = join(dir, 'flash-beep.mp4');
    [s] = await Promise.all([startRtmpTestServer(), makeFlashBeepClip(clip, SECONDS)]);
  });
  after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('flash and beep stay within one AAC frame over RTSP and over RTMP', { timeout: 60_000 }, async (t) => {
    const source = beepMinusFlash(await detectFlashBeep(dir, 'file', ['-i', clip]));
    assert.equal(source.length, SECONDS, `the clip's own flashes: ${JSON.stringify(source)}`);
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
      detectFlashBeep(dir, 'rtsp', ['-rtsp_transport', 'tcp', '-i', s.rtspUrl(path)]),
      detectFlashBeep(dir, 'rtmp', ['-i', s.rtmpUrl(path)]),
    ]);
    const published = await pub.done;
    assert.equal(published.code, 0, published.stderr);

    const bound = AAC_FRAME_S + MEASURE_TOLERANCE_S;
    for (const [what, seen] of [
      ['RTSP', rtsp],
      ['RTMP', rtmp],
    ] as const) {
      const o = beepMinusFlash(seen);
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
