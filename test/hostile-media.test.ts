// A publisher's media must never take the server down (issue 13, item 1): with an HLS reader on the
// path, RTP timestamps that step back by 0x60000000 twice (then jump a day forward) made Node exit with
// a RangeError from the fMP4 writer. Now the server still answers RTSP and HLS, the HLS playlist goes on
// growing, and no fault was even needed (the muxer takes the jumps as discontinuities). And should a
// muxer still throw (a bug injected here), only that path's muxer restarts, and the fault is counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { HlsSegmenter } from '../src/container/hls/index.js';
import type { AccessUnit } from '../src/format/access-unit.js';
import { ApiServer } from '../src/http/api.js';
import { Stream } from '../src/media/stream.js';
import { serializeRtpPacket } from '../src/rtp/packet.js';
import { FakePublisher, TEST_SDP } from './support/fake-publisher.js';
import { RawClient } from './support/raw-client.js';
import { startTestServer } from './support/server.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path}: no answer in 10 s`)));
    req.on('error', reject);
  });
}

/** The SPS and PPS of TEST_SDP (FakePublisher's in-band ones are stubs no muxer can read). */
const [SPS, PPS] = /sprop-parameter-sets=([^,;]+),([^;\s]+)/
  .exec(TEST_SDP)!
  .slice(1)
  .map((b64) => Buffer.from(b64, 'base64'));

/** Sends H.264 + AAC frames on FakePublisher's session, from timestamps a test can move. */
class Frames {
  readonly ts = [90000, 48000];
  readonly #seq = [1000, 5000];
  frame = 0;
  constructor(
    readonly pub: FakePublisher,
    /** What the pictures are filled with (after their NAL unit header). */
    readonly fill = 0xaa,
  ) {}

  #send(track: number, payload: Buffer, marker: boolean): void {
    const packet = serializeRtpPacket({
      marker,
      payloadType: 96 + track,
      sequenceNumber: this.#seq[track]!++ & 0xffff,
      timestamp: this.ts[track]! >>> 0,
      ssrc: 0x1111 + track,
      csrcs: [],
      payload,
    });
    this.pub.client.sendInterleaved(track * 2, packet);
  }

  /** One 25 fps picture (a keyframe every second) and one AAC frame. */
  send(): void {
    const key = this.frame++ % 25 === 0;
    const picture = Buffer.alloc(200, this.fill);
    picture[0] = key ? 0x65 : 0x41;
    const nals = key ? [SPS!, PPS!, picture] : [picture];
    nals.forEach((n, i) => {
      this.#send(0, n, i === nals.length - 1);
    });
    this.#send(1, Buffer.from([0x00, 0x10, 0x01, 0x00, 0x21, 0x22]), true);
    this.ts[0]! += 3600;
    this.ts[1]! += 1920;
  }

  /** The publisher's clocks jump by `ticks` (both tracks, or only `track`). */
  jump(ticks: number, track?: number): void {
    for (const t of [0, 1]) if (track === undefined || t === track) this.ts[t]! += ticks;
  }
}

const mediaSequence = (playlist: string): number => Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1]);
const lastSegment = (playlist: string): number =>
  Math.max(...[...playlist.matchAll(/^seg(\d+)\.m4s$/gm)].map((m) => Number(m[1])));

test(
  'RTP timestamps stepping back by 0x60000000 with an HLS reader: the server answers RTSP and HLS after',
  { timeout: 60_000 },
  async () => {
    const { server } = await startTestServer();
    const api = new ApiServer({ server, port: 0, processMetrics: false });
    await api.listen();
    const pub = await FakePublisher.start(server.port, 'cam');
    const frames = new Frames(pub);
    // 25 fps of media time every 100 ms of wall time (10 frames a tick): segments of 1 s come quickly.
    const feed = setInterval(() => {
      for (let i = 0; i < 10; i++) frames.send();
    }, 40);
    try {
      const first = await get(api.port, '/hls/cam/index.m3u8');
      assert.equal(first.status, 200, first.body);
      const before = lastSegment(first.body);

      clearInterval(feed);
      for (let jump = 0; jump < 2; jump++) {
        frames.jump(-0x60000000);
        frames.send();
        frames.send();
      }
      frames.jump(86400 * 90000, 0); // and the video a day forward
      for (let i = 0; i < 75; i++) frames.send();

      const probe = await RawClient.connect(server.port);
      const options = await probe.request('OPTIONS', '*');
      probe.close();
      assert.equal(options.statusCode, 200, 'the server still answers RTSP');
      let playlist = '';
      const grown = (): boolean => playlist !== '' && lastSegment(playlist) >= before + 2;
      for (let i = 0; i < 50 && !grown(); i++) {
        const r = await get(api.port, '/hls/cam/index.m3u8');
        assert.equal(r.status, 200, r.body);
        playlist = r.body;
        if (!grown()) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(grown(), `segments made after the jumps (${before} before): ${playlist}`);
      assert.ok(mediaSequence(playlist) >= 0);
      const metrics = (await get(api.port, '/metrics')).body;
      assert.match(
        metrics,
        /^rtspkit_media_faults_total\{stage="hls"\} 0$/m,
        'no fault: the muxer took the jumps',
      );
      assert.match(metrics, /^rtspkit_media_faults_total\{stage="ingest"\} 0$/m);
    } finally {
      clearInterval(feed);
      pub.client.close();
      await api.close();
      await server.close();
    }
  },
);

test(
  "an exception in one path's HLS muxer: counted, that muxer restarts at the next request, the other path goes on",
  { timeout: 60_000 },
  async () => {
    const { server } = await startTestServer();
    const api = new ApiServer({ server, port: 0, processMetrics: false });
    await api.listen();
    const cam = new Frames(await FakePublisher.start(server.port, 'cam'), 0xaa);
    const other = new Frames(await FakePublisher.start(server.port, 'other'), 0xbb);
    const feed = setInterval(() => {
      for (let i = 0; i < 10; i++) {
        cam.send();
        other.send();
      }
    }, 40);
    const push = Object.getOwnPropertyDescriptor(HlsSegmenter.prototype, 'push')!;
    const original = push.value as (this: HlsSegmenter, index: number, au: AccessUnit) => unknown;
    try {
      assert.equal((await get(api.port, '/hls/cam/index.m3u8')).status, 200);
      const before = await get(api.port, '/hls/other/index.m3u8');
      assert.equal(before.status, 200);
      assert.equal(api.hls.muxersStarted, 2);

      // A bug that only cam's pictures trigger, once.
      const trap = { armed: true };
      Object.defineProperty(HlsSegmenter.prototype, 'push', {
        ...push,
        value(this: HlsSegmenter, index: number, au: AccessUnit) {
          if (trap.armed && au.nalus?.some((n) => n[1] === 0xaa) === true) {
            trap.armed = false;
            throw new TypeError('a bug in the muxer');
          }
          return original.call(this, index, au);
        },
      });
      for (let i = 0; i < 50 && trap.armed; i++) await new Promise((resolve) => setTimeout(resolve, 40));
      assert.equal(trap.armed, false, 'the fault happened');
      assert.equal(server.mediaFaults.counts.hls, 1);

      const probe = await RawClient.connect(server.port);
      assert.equal((await probe.request('OPTIONS', '*')).statusCode, 200);
      probe.close();
      // The other path kept its muxer: its playlist goes on from where it was.
      const after = await get(api.port, '/hls/other/index.m3u8');
      assert.equal(after.status, 200);
      assert.ok(lastSegment(after.body) >= lastSegment(before.body));
      assert.equal(api.hls.muxersStarted, 2);
      // cam's next request starts a new muxer.
      const restarted = await get(api.port, '/hls/cam/index.m3u8');
      assert.equal(restarted.status, 200, restarted.body);
      assert.equal(api.hls.muxersStarted, 3);
      const metrics = (await get(api.port, '/metrics')).body;
      assert.match(metrics, /^rtspkit_media_faults_total\{stage="hls"\} 1$/m);
    } finally {
      Object.defineProperty(HlsSegmenter.prototype, 'push', push);
      clearInterval(feed);
      cam.pub.client.close();
      other.pub.client.close();
      await api.close();
      await server.close();
    }
  },
);

test('an exception while a packet enters its path: that packet is dropped and counted, the publish goes on', async () => {
  const { server } = await startTestServer();
  const cam = new Frames(await FakePublisher.start(server.port, 'cam'));
  const ingest = Object.getOwnPropertyDescriptor(Stream.prototype, 'ingestRtp')!;
  const original = ingest.value as (this: Stream, track: number, packet: Buffer) => void;
  const trap = { armed: true };
  Object.defineProperty(Stream.prototype, 'ingestRtp', {
    ...ingest,
    value(this: Stream, track: number, packet: Buffer) {
      if (trap.armed) {
        trap.armed = false;
        throw new TypeError('a bug at ingest');
      }
      original.call(this, track, packet);
    },
  });
  try {
    for (let i = 0; i < 5; i++) cam.send();
    const stream = server.paths.get('cam')!.stream!;
    for (let i = 0; i < 100 && stream.counters[1]!.packetsIn < 5; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(server.mediaFaults.counts.ingest, 1);
    assert.equal(stream.counters[0]!.packetsIn, 3 + 4 - 1, 'the first video packet dropped, the rest in');
    assert.equal(stream.counters[1]!.packetsIn, 5);
    const probe = await RawClient.connect(server.port);
    assert.equal((await probe.request('OPTIONS', '*')).statusCode, 200);
    probe.close();
  } finally {
    Object.defineProperty(Stream.prototype, 'ingestRtp', ingest);
    cam.pub.client.close();
    await server.close();
  }
});
