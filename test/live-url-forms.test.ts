// Interop: readers whose URL carries a query (an access token, a camera option) set up tracks with
// the URL shapes of their own: ffmpeg `path?query/trackID=N`; GStreamer 1.22 first resolves the
// control against the Content-Base (`/trackID=N`, the query lost) and on 404 retries with
// `path?query/trackID=N`. Each must play the stream over tcp and udp.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { gstRead, skipUnlessGstReader } from './support/gst.js';
import { endsWithin, parseProbe, probeFrames, publishFile, waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import type { RtspServer } from '../src/server/server.js';

const CLIP = 'h264_base_aac.mp4';
const SECONDS = 4;
const skip =
  skipUnless('ffmpeg', 'ffprobe', 'gst-launch-1.0') || skipUnlessGstReader() || skipUnlessMedia(CLIP);

describe('readers with a query in the URL', { skip }, () => {
  let server: RtspServer;
  let url: (p: string) => string;
  let dir: string;
  before(async () => {
    ({ server, url } = await startTestServer());
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-urlforms-'));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ffprobe and rtspsrc read path?token=... over tcp and udp', async () => {
    const path = 'urlforms';
    const pub = publishFile(mediaPath(CLIP), url(path), 'tcp', { durationS: SECONDS, timeoutMs: 30_000 });
    await waitFor(() => server.paths.get(path)?.stream !== undefined, 10_000, 'the publish');
    const withQuery = `${url(path)}?token=abc`;
    const transports = ['tcp', 'udp'] as const;
    const probes = transports.map((t) => probeFrames(withQuery, ['-rtsp_transport', t], 30_000));
    const outputs = transports.map((t) => join(dir, `gst_${t}.h264`));
    const gst = transports.map((t, i) =>
      gstRead(withQuery, { protocols: t, videoOut: outputs[i]!, timeoutMs: 30_000 }),
    );
    const published = await pub.done;
    assert.equal(published.code, 0, `ffmpeg publisher failed: ${published.stderr}`);
    const probed = await Promise.all(probes.map((p) => p.done));
    const gstEnds = await Promise.all(gst.map((g) => endsWithin(g, 15_000)));

    for (const [i, t] of transports.entries()) {
      const r = probed[i]!;
      assert.equal(r.code, 0, `ffprobe over ${t}: ${r.stderr}`);
      const streams = parseProbe(r.stdout);
      assert.deepEqual(
        streams.map((s) => s.codec_name),
        ['h264', 'aac'],
        `ffprobe over ${t}`,
      );
      // At least a GOP decoded: the reader joined and played (frame counts are checked elsewhere).
      assert.ok(Number(streams[0]!.nb_read_frames) >= 25, `ffprobe over ${t}: ${r.stdout}`);

      const g = gstEnds[i]!;
      assert.ok(!g.timedOut, `rtspsrc over ${t} did not stop: ${g.stderr.slice(-2000)}`);
      assert.equal(g.code, 0, `rtspsrc over ${t} failed: ${g.stderr.slice(-2000)}`);
      const file = await probeFrames(outputs[i]!, [], 20_000).done;
      const [video] = parseProbe(file.stdout);
      assert.equal(video?.codec_name, 'h264', `rtspsrc over ${t}: ${file.stderr}`);
      assert.equal(video.width, 640);
      assert.ok(Number(video.nb_read_frames) >= 25, `rtspsrc over ${t} wrote ${video.nb_read_frames} frames`);
    }
  });
});
