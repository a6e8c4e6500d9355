// The demo that `npm start` serves: ffmpeg decodes 21 s (two loop boundaries of the 10 s clip) without
// an error while GStreamer decodes 12 s of it (across a loop) and ends cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../src/app.js';
import { defaultConfig } from '../src/config/config.js';
import { skipUnless } from './support/tools.js';
import { run } from './support/process.js';

const skip = skipUnless('ffmpeg', 'gst-launch-1.0');
/** Seconds ffmpeg decodes: past two loop boundaries wherever the loop is when it joins. */
const DECODE_S = 21;

test(
  'the demo stream plays for 21 s across two loops without decode errors',
  { skip, timeout: 90_000 },
  async () => {
    const app = await startApp({
      ...defaultConfig(),
      logLevel: 'silent',
      rtspAddress: '127.0.0.1:0',
      rtpPort: 0,
      rtmpAddress: null,
      demo: true,
    });
    try {
      const url = `rtsp://127.0.0.1:${app.server.port}/demo`;
      const ff = run(
        'ffmpeg',
        [
          '-hide_banner',
          '-v',
          'error',
          '-rtsp_transport',
          'tcp',
          '-i',
          url,
          '-t',
          String(DECODE_S),
          '-progress',
          'pipe:1',
          '-f',
          'null',
          '-',
        ],
        { timeoutMs: 60_000 },
      );
      // 300 decoded pictures (12 s at 25 fps: across a loop boundary wherever it starts), then EOS from
      // the sink. Only the video pad is linked (see DEVELOPERS.md on gst-launch's delayed links).
      const gst = run(
        'gst-launch-1.0',
        ['rtspsrc', `location=${url}`, 'protocols=udp', '!', 'rtph264depay', '!', 'h264parse'].concat([
          '!',
          'avdec_h264',
          '!',
          'fakesink',
          'num-buffers=300',
        ]),
        { timeoutMs: 60_000 },
      );
      const r = await ff.done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', 'ffmpeg reported decode errors');
      const frames = Number(/frame=(\d+)\s*\n(?![\s\S]*frame=)/.exec(r.stdout)?.[1]);
      assert.ok(frames >= DECODE_S * 25 - 10, `decoded ${frames} frames in ${DECODE_S} s`);
      const g = await gst.done;
      assert.equal(g.code, 0, `GStreamer: ${g.stdout}${g.stderr}`);
      assert.match(g.stdout, /Got EOS from element/, 'GStreamer decoded 300 pictures');
      assert.doesNotMatch(g.stdout + g.stderr, /WARNING|ERROR/, 'GStreamer warnings or errors');
    } finally {
      await app.close();
    }
  },
);
