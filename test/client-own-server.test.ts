// RtspClient against rtspkit's own server: ffmpeg publishes a 3 s clip (75 video frames at 25 fps) and the
// client plays it over udp, tcp and a WebSocket, sending receiver reports; the client's Publisher
// publishes synthetic access units that a second client reads back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RtspClient, Publisher, type ClientTransport } from '../src/client/index.js';
import type { AccessUnit } from '../src/format/access-unit.js';
import type { RtspServer } from '../src/server/server.js';
import { ServerConnection } from '../src/server/connection.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { publishFile, waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import { TEST_SDP } from './support/fake-publisher.js';

const SECONDS = 3;
const CLIP = 'h264_base_aac.mp4';

let server: RtspServer;
let url: (p: string) => string;
before(async () => {
  ({ server, url } = await startTestServer());
});
after(async () => {
  await server.close();
});

/** Resolves once no access unit arrived for `quietMs`, or the client closed. */
async function settle(
  client: RtspClient,
  counter: () => number,
  quietMs: number,
  maxMs: number,
): Promise<void> {
  const state = { closed: false };
  client.once('close', () => (state.closed = true));
  const start = Date.now();
  let last = counter();
  let lastChange = Date.now();
  while (!state.closed && Date.now() - lastChange < quietMs && Date.now() - start < maxMs) {
    await new Promise((r) => setTimeout(r, 50));
    if (counter() !== last) {
      last = counter();
      lastChange = Date.now();
    }
  }
}

describe(
  'client plays what ffmpeg publishes',
  { skip: skipUnless('ffmpeg') || skipUnlessMedia(CLIP) },
  () => {
    // ws: RTSP over a WebSocket (rtsp.onvif.org) to the RTSP port, from a ws:// URL; media interleaved.
    for (const via of ['udp', 'tcp', 'ws'] as const) {
      test(`over ${via}: keyframe first, every video access unit the server sent`, async () => {
        const transport = via === 'ws' ? 'tcp' : via;
        const path = `ffmpeg_${via}`;
        const pub = publishFile(mediaPath(CLIP), url(path), 'tcp', { durationS: SECONDS, timeoutMs: 30_000 });
        await waitFor(() => server.paths.get(path)?.stream !== undefined, 10_000, 'the publish');
        const stream = server.paths.get(path)!.stream!;
        const client = new RtspClient(via === 'ws' ? url(path).replace(/^rtsp:/, 'ws:') : url(path), {
          udpFallback: false,
          receiverReportIntervalMs: 500,
        });
        client.on('error', () => undefined);
        const video: AccessUnit[] = [];
        let audio = 0;
        client.on('accessUnit', (track, au) => {
          if (track.type === 'video') video.push(au);
          else audio++;
        });
        await client.options();
        const d = await client.describe();
        assert.deepEqual(
          d.tracks.map((t) => t.encodingName),
          ['H264', 'MPEG4-GENERIC'],
        );
        await client.setup({ transport });
        await client.play();
        assert.equal(client.transport, transport);
        assert.equal(client.webSocket, via === 'ws');
        const session = server.sessions.get(client.sessionId!)!;
        assert.equal(
          session.sink instanceof ServerConnection && session.sink.isWebSocket,
          via === 'ws',
          'the session runs over a WebSocket',
        );
        let startAu: number | undefined;
        const watch = setInterval(() => {
          startAu ??= session.stream?.readerStartAccessUnit(session);
        }, 5);
        const published = await pub.done;
        assert.equal(published.code, 0, published.stderr);
        await settle(client, () => video.length, 1000, 10_000);
        clearInterval(watch);
        client.flush();
        const sent = stream.accessUnitsIn;
        assert.ok(Math.abs(sent - SECONDS * 25) <= 2, `server received ${sent} frames`);
        assert.ok(startAu !== undefined, 'the reader session was not seen');
        assert.ok(video.length > 0);
        assert.equal(video[0]!.keyframe, true, 'the first access unit is a keyframe');
        assert.ok(
          Math.abs(video.length - (sent - startAu)) <= 2,
          `got ${video.length} video access units, the server sent ${sent - startAu} from frame ${startAu}`,
        );
        for (let i = 1; i < video.length; i++) assert.ok(video[i]!.pts > video[i - 1]!.pts, 'pts increase');
        assert.ok(audio > 0, 'audio access units arrived');
        const stats = client.stats();
        assert.equal(stats[0]!.packetsLost, 0);
        assert.ok(stats[0]!.packetsReceived > video.length);
        // The server fills a reader's reception statistics from its RTCP receiver reports only.
        await waitFor(() => session.trackStats[0]!.packetsReceived > 0, 5000, 'a receiver report');
        await client.teardown();
        client.close();
      });
    }
  },
);

for (const transport of ['tcp', 'udp'] as const satisfies ClientTransport[]) {
  test(`Publisher over ${transport}: 50 synthetic frames reach a reader`, async () => {
    const path = `publisher_${transport}`;
    const publisher = await Publisher.start(url(path), TEST_SDP, { transport });
    assert.deepEqual(
      publisher.tracks.map((t) => t.encodingName),
      ['H264', 'MPEG4-GENERIC'],
    );
    const reader = new RtspClient(url(path));
    reader.on('error', () => undefined);
    const got: AccessUnit[] = [];
    reader.on('accessUnit', (t, au) => {
      if (t.index === 0) got.push(au);
    });
    await reader.describe();
    await reader.setup({ transport: 'tcp' });
    await reader.play();
    const sps = Buffer.from('Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I', 'base64');
    const pps = Buffer.from('aMuMsg==', 'base64');
    for (let i = 0; i < 50; i++) {
      const key = i % 25 === 0;
      const slice = Buffer.alloc(3000, i);
      slice[0] = key ? 0x65 : 0x41;
      publisher.writeAccessUnit(0, {
        pts: i * 3600,
        clockRate: 90000,
        keyframe: key,
        nalus: key ? [sps, pps, slice] : [slice],
      });
      publisher.writeAccessUnit(1, {
        pts: i * 1920,
        clockRate: 48000,
        keyframe: true,
        payload: Buffer.alloc(200, 7),
      });
      await new Promise((r) => setTimeout(r, 10));
    }
    // One more frame ends the last access unit on the reader's side.
    await waitFor(() => got.length >= 49, 10_000, 'the reader to get the frames');
    assert.equal(got[0]!.keyframe, true);
    assert.ok(got.length <= 50);
    // Fragmented (3000-byte slices over FU-A) frames arrive whole.
    assert.ok(got.every((au) => au.nalus!.at(-1)!.length === 3000));
    reader.close();
    await publisher.close();
  });
}
