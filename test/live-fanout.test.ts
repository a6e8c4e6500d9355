// Interop fan-out: ffmpeg publishes; five ffprobe readers (tcp and udp) play the path at once while
// a sixth reader never reads its socket; each of the five decodes every frame the server sent from
// the keyframe it started at. (On loopback the kernel buffers a few MB for the stalled socket, more
// than this clip, before its backlog shows in user space: the cut-off at the backlog bound is
// tested with 6 MB of scripted frames in server-protocol.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, probeFrames, publishFile, waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import { RawClient, sessionId } from './support/raw-client.js';
import type { RtspServer } from '../src/server/server.js';
import type { Stream } from '../src/media/stream.js';

const CLIP = 'h264_base_aac.mp4';
const SECONDS = 5;
const READERS = ['tcp', 'udp', 'tcp', 'udp', 'tcp'] as const;
const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(CLIP);

describe('five readers and a stalled one', { skip }, () => {
  let server: RtspServer;
  let url: (p: string) => string;
  before(async () => {
    ({ server, url } = await startTestServer());
  });
  after(async () => {
    await server.close();
  });

  test('every reader decodes every frame sent from its start despite the stalled one', async () => {
    const path = 'fanout';
    const pub = publishFile(mediaPath(CLIP), url(path), 'tcp', { durationS: SECONDS, timeoutMs: 30_000 });
    let stream: Stream | undefined;
    await waitFor(() => (stream = server.paths.get(path)?.stream) !== undefined, 10_000, 'the publish');

    const stalled = await RawClient.connect(server.port);
    const s = await stalled.request('SETUP', `${url(path)}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal((await stalled.request('PLAY', url(path), { Session: sessionId(s) })).statusCode, 200);
    stalled.socket.pause();
    const stalledId = sessionId(s);

    const readers = READERS.map((t) => probeFrames(url(path), ['-rtsp_transport', t], 30_000));
    // The first frame of each reader session, while it lives (one per session, readers in any order).
    const starts = new Map<string, number>();
    const watch = setInterval(() => {
      for (const sess of server.sessions.values()) {
        if (sess.path !== path || sess.id === stalledId || sess.stream === undefined) continue;
        const start = sess.stream.readerStartAccessUnit(sess);
        if (start !== undefined && !starts.has(sess.id)) starts.set(sess.id, start);
      }
    }, 5);
    const published = await pub.done;
    const results = await Promise.all(readers.map((r) => r.done));
    clearInterval(watch);
    stalled.close();
    assert.equal(published.code, 0, `ffmpeg publisher failed: ${published.stderr}`);

    const sent = stream!.accessUnitsIn;
    assert.ok(Math.abs(sent - SECONDS * 25) <= 2, `server received ${sent} frames`);
    assert.equal(starts.size, READERS.length, 'a start for each reader session');
    const got = results.map((r, i) => {
      assert.equal(r.code, 0, `reader ${i} (${READERS[i]!}) failed: ${r.stderr}`);
      const [video] = parseProbe(r.stdout);
      assert.equal(video?.codec_name, 'h264');
      return Number(video.nb_read_frames);
    });
    // Readers and sessions pair up in order of how much they got.
    const expected = [...starts.values()].map((start) => sent - start).sort((a, b) => a - b);
    const decoded = [...got].sort((a, b) => a - b);
    decoded.forEach((n, i) => {
      const e = expected[i]!;
      assert.ok(
        Math.abs(n - e) <= Math.max(1, e * 0.02),
        `readers decoded ${decoded.join(', ')} frames, the server sent ${expected.join(', ')} from their starts`,
      );
    });
  });
});
