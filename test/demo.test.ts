// The demo that `npm start` serves: ffmpeg decodes 30 s (three loops of the 10 s clip) without an
// error while GStreamer plays it too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../src/app.js';
import { defaultConfig } from '../src/config/config.js';
import { skipUnless } from './support/tools.js';
import { run } from './support/process.js';

const skip = skipUnless('ffmpeg', 'gst-launch-1.0');

test(
  'the demo stream plays for 30 s across loops without decode errors',
  { skip, timeout: 90_000 },
  async () => {
    const app = await startApp({
      ...defaultConfig(),
      logLevel: 'silent',
      rtspAddress: '127.0.0.1:0',
      rtpPort: 0,
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
          '30',
          '-progress',
          'pipe:1',
          '-f',
          'null',
          '-',
        ],
        { timeoutMs: 60_000 },
      );
      const gst = run(
        'gst-launch-1.0',
        ['-q', 'rtspsrc', `location=${url}`, 'protocols=udp', '!', 'decodebin', '!', 'fakesink'],
        {
          timeoutMs: 12_000,
        },
      );
      const r = await ff.done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', 'ffmpeg reported decode errors');
      const frames = Number(/frame=(\d+)\s*\n(?![\s\S]*frame=)/.exec(r.stdout)?.[1]);
      assert.ok(frames >= 30 * 25 - 10, `decoded ${frames} frames in 30 s`);
      const g = await gst.done;
      // Ended by the test's time limit (SIGKILL) after playing; an error would have ended it sooner.
      assert.equal(g.signal, 'SIGKILL', `GStreamer stopped early: ${g.stderr}`);
    } finally {
      await app.close();
    }
  },
);
