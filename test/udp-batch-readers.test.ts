// UDP readers (ffprobe) on the batched send path (udpBatchSend: auto, the add-on's sendmmsg) and on the
// dgram path (udpBatchSend: off): each decodes the frames the server sent it from its start.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, probeFrames, publishFile, waitFor } from './support/process.js';
import { startTestServer, watchReaderStarts } from './support/server.js';
import type { Stream } from '../src/media/stream.js';
import { udpBatchCounters, udpSendPath } from '../src/transport/udp-batch.js';

const CLIP = 'h264_base_aac.mp4';
const SECONDS = 4;
const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(CLIP);
const batched = udpSendPath('auto').path === 'sendmmsg';

describe('UDP readers on both send paths', { skip }, () => {
  for (const mode of ['auto', 'off'] as const) {
    test(`udpBatchSend: ${mode}`, async () => {
      const { server, url } = await startTestServer({ udpBatchSend: mode });
      try {
        const path = `udp_${mode}`;
        const sentBefore = udpBatchCounters.sent;
        const pub = publishFile(mediaPath(CLIP), url(path), 'tcp', { durationS: SECONDS, timeoutMs: 30_000 });
        let stream: Stream | undefined;
        await waitFor(() => (stream = server.paths.get(path)?.stream) !== undefined, 10_000, 'the publish');
        const starts = watchReaderStarts(server, path);
        const reader = probeFrames(url(path), ['-rtsp_transport', 'udp'], 30_000);
        const published = await pub.done;
        const read = await reader.done;
        const start = starts.stop().get('udp');
        assert.equal(published.code, 0, `ffmpeg publisher failed: ${published.stderr}`);
        assert.equal(read.code, 0, `ffprobe failed: ${read.stderr}`);
        const [video] = parseProbe(read.stdout);
        assert.equal(video?.codec_name, 'h264');
        assert.ok(start !== undefined, 'the reader started');
        const expected = stream!.accessUnitsIn - start;
        const decoded = Number(video.nb_read_frames);
        assert.ok(
          Math.abs(decoded - expected) <= Math.max(1, expected * 0.02),
          `decoded ${decoded} frames, the server sent ${expected} from the reader's start`,
        );
        // Only this test's server sends while it runs (the tests of this file run one at a time).
        const viaBatch = udpBatchCounters.sent - sentBefore;
        if (mode === 'auto' && batched) assert.ok(viaBatch >= expected, `${viaBatch} datagrams via sendmmsg`);
        else assert.equal(viaBatch, 0);
      } finally {
        await server.close();
      }
    });
  }
});
