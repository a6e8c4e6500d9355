// Interop: GStreamer's rtspclientsink publishes; rtspsrc reads over tcp and udp at the same time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { gstRead, skipUnlessGstReader } from './support/gst.js';
import { endsWithin, finishPublisher, parseProbe, run, waitFor } from './support/process.js';
import { startTestServer, watchReaderStarts } from './support/server.js';
import type { RtspServer } from '../src/server/server.js';
import type { Stream } from '../src/media/stream.js';

const CLIP = 'h264_base_aac.mp4';
const skip = skipUnless('gst-launch-1.0', 'ffprobe') || skipUnlessGstReader() || skipUnlessMedia(CLIP);

describe('GStreamer publishes and reads', { skip }, () => {
  let server: RtspServer;
  let url: (p: string) => string;
  let dir: string;
  before(async () => {
    ({ server, url } = await startTestServer());
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-gst-'));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const publishTransport of ['tcp', 'udp'] as const) {
    test(`rtspclientsink over ${publishTransport}, rtspsrc over tcp and udp`, async (ctx) => {
      const path = `gst_${publishTransport}`;
      const pub = run(
        'gst-launch-1.0',
        ['-q', 'filesrc', `location=${mediaPath(CLIP)}`, '!', 'qtdemux', 'name=d']
          .concat(['d.video_0', '!', 'queue', '!', 'h264parse', '!'])
          .concat(['rtspclientsink', 'name=s', `location=${url(path)}`, `protocols=${publishTransport}`])
          .concat(['d.audio_0', '!', 'queue', '!', 'aacparse', '!', 's.']),
        { timeoutMs: 40_000 },
      );
      let stream: Stream | undefined;
      await waitFor(() => (stream = server.paths.get(path)?.stream) !== undefined, 15_000, 'the publish');
      const transports = ['tcp', 'udp'] as const;
      const outputs = transports.map((t) => join(dir, `${path}_${t}.h264`));
      const readers = transports.map((t, i) =>
        gstRead(url(path), { protocols: t, videoOut: outputs[i]!, timeoutMs: 40_000 }),
      );
      const watch = watchReaderStarts(server, path);
      const published = await finishPublisher(pub, () => stream?.accessUnitsIn ?? 0, 247);
      if (published.nudged) ctx.diagnostic('rtspclientsink did not reach EOS by itself; ended with SIGINT');
      else assert.equal(published.code, 0, `rtspclientsink failed: ${published.stderr}`);
      // Readers stop by themselves: tcp when the server closes the connection, udp on RTCP BYE.
      const ends = await Promise.all(readers.map((r) => endsWithin(r, 15_000)));
      const startByTransport = watch.stop();
      for (const [i, e] of ends.entries()) {
        const tail = e.stderr.slice(-2000);
        assert.ok(!e.timedOut, `${transports[i]!} reader did not stop after the publisher left: ${tail}`);
        assert.equal(e.code, 0, `${transports[i]!} reader failed: ${tail}`);
      }
      const sent = stream!.accessUnitsIn;
      assert.ok(Math.abs(sent - 250) <= 3, `server received ${sent} frames of 250`);
      for (const [i, t] of transports.entries()) {
        const probe = run(
          'ffprobe',
          [
            '-v',
            'error',
            '-count_frames',
            '-of',
            'json',
            '-show_entries',
            'stream=codec_name,width,height,nb_read_frames',
          ].concat([outputs[i]!]),
          { timeoutMs: 20_000 },
        );
        const r = await probe.done;
        const [video] = parseProbe(r.stdout);
        assert.equal(video?.codec_name, 'h264', `${t}: ${r.stderr}`);
        assert.equal(video.width, 640, `${t}: ${ends[i]!.stderr.slice(-2000)}`);
        assert.equal(video.height, 360);
        const start = startByTransport.get(t);
        assert.ok(start !== undefined, `no ${t} reader session seen`);
        const expected = sent - start;
        const got = Number(video.nb_read_frames);
        assert.ok(
          Math.abs(got - expected) <= Math.max(1, expected * 0.02),
          `${t} reader wrote ${got} frames, the server sent ${expected} from its start`,
        );
      }
    });
  }
});
