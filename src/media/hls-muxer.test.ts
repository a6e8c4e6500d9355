// HlsMuxer on a real Stream fed with RTP from the payload formats' packetizers: segments appear,
// the first one starts at the Stream's cached keyframe, tracks fMP4 cannot carry are left out, and the
// muxer leaves the Stream when stopped or when the stream ends.
import { parseFmtpParams } from '../sdp/fmtp.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualTimerClock, type Clock } from '../base/clock.js';
import { childBoxes } from '../container/mp4/boxes.js';
import { HlsSegmenter } from '../container/hls/index.js';
import { createPacketizer } from '../format/registry.js';
import { serializeRtpPacket } from '../rtp/packet.js';
import { HlsMuxer } from './hls-muxer.js';
import type { PublishedMedia } from './published-media.js';
import { Stream } from './stream.js';

const SPS = 'Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I'; // 640x360
const PPS = 'aMuMsg==';
const AAC_FMTP =
  'streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1190';
const FPS = 25;

interface TrackSpec {
  media: 'video' | 'audio';
  rtpmap: string;
  fmtp?: string;
}

const H264: TrackSpec = {
  media: 'video',
  rtpmap: 'H264/90000',
  fmtp: `packetization-mode=1;sprop-parameter-sets=${SPS},${PPS}`,
};
const AAC: TrackSpec = { media: 'audio', rtpmap: 'MPEG4-GENERIC/48000/2', fmtp: AAC_FMTP };
const PCMU: TrackSpec = { media: 'audio', rtpmap: 'PCMU/8000' };

function publishedMedia(tracks: readonly TrackSpec[]): PublishedMedia {
  const lines = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=test', 't=0 0'];
  tracks.forEach((t, i) => {
    const pt = 96 + i;
    lines.push(`m=${t.media} 0 RTP/AVP ${pt}`, `a=rtpmap:${pt} ${t.rtpmap}`);
    if (t.fmtp !== undefined) lines.push(`a=fmtp:${pt} ${t.fmtp}`);
    lines.push(`a=control:trackID=${i}`);
  });
  const sdp = lines.join('\r\n') + '\r\n';
  return {
    describeSdp: () => sdp,
    controls: tracks.map((_, i) => `trackID=${i}`),
    tracks: tracks.map((t, i) => {
      const [name, rate] = t.rtpmap.split('/');
      const fmtp = t.fmtp !== undefined ? parseFmtpParams(t.fmtp).toRecord() : {};
      return { payloadType: 96 + i, encodingName: name!, clockRate: Number(rate), fmtp };
    }),
  };
}

/** Feeds `seconds` of 25 fps H.264 (keyframe every second) and AAC into `stream` as RTP. */
class Publisher {
  readonly #video = createPacketizer('H264', { clockRate: 90000 });
  readonly #audio = createPacketizer('MPEG4-GENERIC', {
    clockRate: 48000,
    fmtp: { config: '1190', mode: 'AAC-hbr', sizelength: '13', indexlength: '3', indexdeltalength: '3' },
  });
  readonly #seq = [0, 0];
  /** Added to each track's RTP timestamps: a publisher's clock jump. */
  readonly timestampShift = [0, 0];
  #frame = 0;
  #audioFrame = 0;

  constructor(
    readonly stream: Stream,
    readonly clock: { nowMs: number },
  ) {}

  #send(track: number, payloads: { payload: Buffer; marker: boolean; pts: number }[]): void {
    for (const p of payloads) {
      const packet = serializeRtpPacket({
        marker: p.marker,
        payloadType: 96 + track,
        sequenceNumber: this.#seq[track]!++ & 0xffff,
        timestamp: (p.pts + 1000 + this.timestampShift[track]!) >>> 0,
        ssrc: 1234 + track,
        csrcs: [],
        payload: p.payload,
      });
      this.stream.ingestRtp(track, packet);
    }
  }

  feed(seconds: number): void {
    for (let n = 0; n < seconds * FPS; n++, this.#frame++) {
      const key = this.#frame % FPS === 0;
      const nal = Buffer.concat([Buffer.from(key ? [0x65, 0x88] : [0x41, 0x9a]), Buffer.alloc(300, n)]);
      this.clock.nowMs = (this.#frame * 1000) / FPS;
      this.#send(
        0,
        this.#video.packetize({
          pts: (this.#frame * 90000) / FPS,
          clockRate: 90000,
          keyframe: key,
          nalus: [nal],
        }),
      );
      while ((this.#audioFrame * 1024) / 48000 <= this.#frame / FPS) {
        const au = {
          pts: this.#audioFrame++ * 1024,
          clockRate: 48000,
          keyframe: true,
          payload: Buffer.alloc(40, 7),
        };
        this.#send(1, this.#audio.packetize(au));
      }
      this.stream.flushNow();
    }
  }
}

function setup(tracks: readonly TrackSpec[] = [H264, AAC]): {
  stream: Stream;
  media: PublishedMedia;
  clock: Clock;
  publisher: Publisher;
} {
  const now = { nowMs: 0 };
  const clock: Clock = { monotonicMs: () => now.nowMs, wallMs: () => now.nowMs };
  const media = publishedMedia(tracks);
  const stream = new Stream(media.tracks, { clock });
  return { stream, media, clock, publisher: new Publisher(stream, now) };
}

test('segments of one second from the cached keyframe on; playlist and init segment', async () => {
  const { stream, media, clock, publisher } = setup();
  publisher.feed(1.5); // the GOP cache now holds the keyframe at 1 s
  const muxer = HlsMuxer.create(stream, media, { clock })!;
  assert.deepEqual(muxer.encodingNames, ['H264', 'MPEG4-GENERIC']);
  muxer.start();
  assert.equal(stream.readerCount, 1);
  const waiting = muxer.waitForFirstSegment(5000);
  publisher.feed(3);
  assert.equal(await waiting, true);
  // Frames from 1 s (the cached keyframe) to 4.5 s: segments [1, 2), [2, 3), [3, 4).
  assert.equal(muxer.segmentCount, 3);
  for (let n = 0; n < 3; n++) {
    const s = muxer.segment(n)!;
    assert.equal(s.durationSeconds, 1);
    assert.equal(childBoxes(s.bytes, 0, s.bytes.length)[0]!.type, 'moof');
  }
  const init = muxer.initSegment!;
  assert.deepEqual(
    childBoxes(init, 0, init.length).map((b) => b.type),
    ['ftyp', 'moov'],
  );
  const text = muxer.playlist({ init: 'init.mp4', segment: (n) => `seg${n}.m4s` })!;
  assert.match(text, /#EXT-X-MAP:URI="init.mp4"\n#EXTINF:1.000,\nseg0.m4s\n/);
  assert.ok(muxer.stats.accessUnits > 0);
  muxer.stop();
  assert.equal(stream.readerCount, 0);
  assert.equal(await muxer.waitForFirstSegment(10), true, 'segments stay readable after stop');
});

test('tracks fMP4 cannot carry are left out; a path with none of them has no muxer', () => {
  const mixed = setup([H264, PCMU]);
  assert.deepEqual(HlsMuxer.create(mixed.stream, mixed.media)!.encodingNames, ['H264']);
  const g711 = setup([PCMU]);
  assert.equal(HlsMuxer.create(g711.stream, g711.media), undefined);
});

test('the end of the stream stops the muxer and wakes its waiters with false', async () => {
  const { stream, media, clock } = setup();
  const muxer = HlsMuxer.create(stream, media, { clock })!;
  const reasons: string[] = [];
  muxer.onStopped = (reason) => reasons.push(reason);
  muxer.start();
  const waiting = muxer.waitForFirstSegment(5000);
  stream.end('publisher left');
  assert.equal(await waiting, false);
  assert.deepEqual(reasons, ['stream ended: publisher left']);
  assert.equal(muxer.stoppedReason, 'stream ended: publisher left');
});

test('no segment in time: the wait ends with false, the muxer keeps running', async () => {
  const { stream, media, clock } = setup();
  const muxer = HlsMuxer.create(stream, media, { clock })!;
  muxer.start();
  assert.equal(await muxer.waitForFirstSegment(20), false);
  assert.equal(muxer.stoppedReason, undefined);
  muxer.stop();
});

test('on a ManualTimerClock the wait for a first segment ends when the clock reaches its timeout', async () => {
  const clock = new ManualTimerClock();
  const media = publishedMedia([H264, AAC]);
  const stream = new Stream(media.tracks, { clock });
  const muxer = HlsMuxer.create(stream, media, { clock })!;
  muxer.start();
  let ready: boolean | undefined;
  void muxer.waitForFirstSegment(5000).then((r) => (ready = r));
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  clock.advance(4999);
  await settle();
  assert.equal(ready, undefined, 'still waiting 1 ms before the timeout');
  clock.advance(1);
  await settle(); // no real time passes: the clock alone ended the wait
  assert.equal(ready, false);
  assert.equal(clock.pendingTimers, 0);
  assert.equal(muxer.stoppedReason, undefined);
  muxer.stop();
});

test('RTP timestamps stepping back by 0x60000000 twice: the muxer goes on making segments (issue 13)', () => {
  const { stream, media, clock, publisher } = setup();
  const muxer = HlsMuxer.create(stream, media, { clock })!;
  muxer.start();
  publisher.feed(2);
  for (let jump = 0; jump < 2; jump++) {
    publisher.timestampShift[0]! -= 0x60000000;
    publisher.timestampShift[1]! -= 0x60000000;
    publisher.feed(0.2);
  }
  publisher.feed(3);
  assert.equal(muxer.stoppedReason, undefined);
  assert.ok(muxer.segmentCount >= 4, `${muxer.segmentCount} segments`);
  for (let n = 0; n < muxer.segmentCount; n++) {
    const d = muxer.segment(n)!.durationSeconds;
    assert.ok(d > 0 && d < 2, `segment ${n} lasts ${d} s`);
  }
  muxer.stop();
});

test('an unexpected exception in the muxer stops it and goes to onFault; the Stream and its other readers go on', () => {
  const { stream, media, clock, publisher } = setup();
  const faults: unknown[] = [];
  const stops: string[] = [];
  const muxer = HlsMuxer.create(stream, media, { clock, onFault: (err) => faults.push(err) })!;
  muxer.onStopped = (reason) => stops.push(reason);
  let delivered = 0;
  stream.addReader({
    transport: 'udp',
    rtpChannels: [],
    tracks: [0, 1],
    backlogBytes: 0,
    writeInterleaved: () => undefined,
    sendRtp: () => {
      delivered++;
    },
    sendRtcp: () => undefined,
    streamEnded: () => undefined,
  });
  muxer.start();
  const push = Object.getOwnPropertyDescriptor(HlsSegmenter.prototype, 'push')!;
  Object.defineProperty(HlsSegmenter.prototype, 'push', {
    ...push,
    value: () => {
      throw new TypeError('a bug');
    },
  });
  try {
    publisher.feed(1);
  } finally {
    Object.defineProperty(HlsSegmenter.prototype, 'push', push);
  }
  assert.equal(faults.length, 1);
  assert.deepEqual(stops, ['fault: a bug']);
  assert.equal(muxer.stoppedReason, 'fault: a bug');
  assert.equal(stream.readerCount, 1, 'the muxer left the Stream');
  const before = delivered;
  publisher.feed(1);
  assert.ok(before > 0 && delivered > before, 'the other reader still gets every packet');
});
