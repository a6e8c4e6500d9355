/**
 * RTP fuzzing of a live path's media chain. A publisher sends H.264 + AAC whose packets are mutated:
 * headers (timestamps: random, stepped back or forward by 0x60000000, near the 32-bit wrap, repeated;
 * sequence numbers and SSRCs: random, repeated, changed for good; marker, payload type, padding,
 * extension and CSRC count bits) and payloads (bytes flipped, cut, extended, replaced), and the
 * publisher's clocks jump for good now and then, as a camera's would. Meanwhile the path has an HLS
 * reader (the API's muxer, its playlist asked for every 200 ms) and a recording-like fMP4 sink (a Stream
 * reader that depacketizes, aligns and muxes to fMP4 as `rtspkit client record` does). Bounded by a
 * packet count and a time.
 *
 * Afterwards the server must answer OPTIONS, DESCRIBE and HLS (after a few clean frames); the fMP4 sink
 * must never have seen an exception other than ParseError (malformed parameter sets: it then starts a
 * new muxer, as a recorder starts a new file); the heap after a full GC must not have grown past the
 * bound. Faults the server caught and counted (rtspkit_media_faults_total) are reported.
 */
import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { isParseError } from '../../src/base/errors.js';
import { Fmp4Muxer, fmp4TrackFor } from '../../src/container/fmp4/index.js';
import { TimelineAligner } from '../../src/container/timeline.js';
import type { AccessUnit, Depacketizer } from '../../src/format/access-unit.js';
import { createDepacketizer, createPacketizer } from '../../src/format/registry.js';
import { ApiServer } from '../../src/http/api.js';
import type { StreamReader } from '../../src/media/stream.js';
import { parseRtpPacket, serializeRtpPacket } from '../../src/rtp/packet.js';
import { RtspServer } from '../../src/server/server.js';
import { FakePublisher, TEST_SDP } from '../support/fake-publisher.js';
import { RawClient } from '../support/raw-client.js';

export interface MediaFuzzResult {
  seconds: number;
  packetsSent: number;
  /** Of which mutated (header, payload or both). */
  packetsMutated: number;
  bytesSent: number;
  /** Clock jumps that stayed (the publisher's timeline moved for good). */
  clockJumps: number;
  /** Access units the fMP4 sink muxed, bytes it wrote, and the times it started a new muxer. */
  sinkUnitsMuxed: number;
  sinkBytes: number;
  sinkRestarts: number;
  /** Exceptions other than ParseError in the fMP4 sink: bugs (the run fails). */
  sinkExceptions: string[];
  hlsRequests: number;
  /** HLS muxers the path had (more than one: a muxer stopped for malformed media or a fault, then restarted). */
  hlsMuxersStarted: number;
  /** Faults the server caught, by stage. */
  mediaFaults: { ingest: number; hls: number };
  heapBeforeBytes: number;
  heapAfterBytes: number;
  stillAnswers: boolean;
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** mulberry32: a seeded PRNG, so that a failing run can be replayed with its seed. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const PATH = 'fuzz';
const [SPS, PPS] = /sprop-parameter-sets=([^,;]+),([^;\s]+)/
  .exec(TEST_SDP)!
  .slice(1)
  .map((b64) => Buffer.from(b64, 'base64'));
const AAC_FMTP = {
  mode: 'AAC-hbr',
  sizelength: '13',
  indexlength: '3',
  indexdeltalength: '3',
  config: '119056E500',
};

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.setTimeout(10_000, () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** The publisher's clean stream, one packet list per frame, with the clocks and counters it mutates. */
class Source {
  readonly #video = createPacketizer('H264', { clockRate: 90000 });
  readonly #audio = createPacketizer('MPEG4-GENERIC', { clockRate: 48000, fmtp: AAC_FMTP });
  readonly seq = [1000, 5000];
  readonly tsBase = [90000, 48000];
  readonly ssrc = [0x11111111, 0x22222222];
  frame = 0;

  constructor(readonly rand: (n: number) => number) {}

  /** [track, packet] for the next frame: a picture (keyframe every 25, FU-A when large) and AAC. */
  next(): [number, Buffer][] {
    const key = this.frame % 25 === 0;
    const size = 50 + this.rand(key ? 6000 : 1500);
    const picture = Buffer.alloc(size, this.frame & 0xff);
    picture[0] = key ? 0x65 : 0x41;
    const out: [number, Buffer][] = [];
    const video = this.#video.packetize({
      pts: this.frame * 3600,
      clockRate: 90000,
      keyframe: key,
      nalus: key ? [SPS!, PPS!, picture] : [picture],
    });
    for (const p of video) out.push([0, this.#packet(0, p.payload, p.marker, p.pts)]);
    const audio = this.#audio.packetize({
      pts: this.frame * 1920,
      clockRate: 48000,
      keyframe: true,
      payload: Buffer.alloc(20 + this.rand(200), 0x21),
    });
    for (const p of audio) out.push([1, this.#packet(1, p.payload, p.marker, p.pts)]);
    this.frame++;
    return out;
  }

  #packet(track: number, payload: Buffer, marker: boolean, pts: number): Buffer {
    const seq = this.seq[track]!;
    this.seq[track] = (seq + 1) & 0xffff;
    return serializeRtpPacket({
      marker,
      payloadType: 96 + track,
      sequenceNumber: seq,
      timestamp: (this.tsBase[track]! + pts) >>> 0,
      ssrc: this.ssrc[track]!,
      csrcs: [],
      payload,
    });
  }
}

const TIMESTAMP_STEPS = [0x60000000, -0x60000000, 0x80000000, 1, -1, -3600, 90000 * 3600];

/** For one packet in three: what to send instead of `p` (mutated in place or replaced); else undefined. */
function mutate(rand: (n: number) => number, src: Source, track: number, p: Buffer): Buffer | undefined {
  if (rand(3) !== 0) return undefined;
  let b = p;
  const ts = b.readUInt32BE(4);
  switch (rand(12)) {
    case 0:
      b.writeUInt32BE(rand(2 ** 32) >>> 0, 4);
      break;
    case 1:
      b.writeUInt32BE((ts + TIMESTAMP_STEPS[rand(TIMESTAMP_STEPS.length)]!) >>> 0, 4);
      break;
    case 2:
      b.writeUInt16BE(rand(0x10000), 2);
      break;
    case 3:
      b.writeUInt32BE(rand(2 ** 32) >>> 0, 8);
      break;
    case 4:
      b[1] = b[1]! ^ 0x80; // marker
      break;
    case 5:
      b[1] = (b[1]! & 0x80) | rand(128);
      break;
    case 6:
      b[0] = (b[0]! & 0xc0) | (rand(4) << 4) | rand(16); // padding, extension, CSRC count
      break;
    case 7:
      for (let i = 1 + rand(8); i > 0; i--) b[12 + rand(b.length - 12)] = rand(256);
      break;
    case 8:
      b = b.subarray(0, 12 + rand(b.length - 11));
      break;
    case 9:
      b = Buffer.concat([b, Buffer.from(Array.from({ length: rand(64) }, () => rand(256)))]);
      break;
    case 10:
      b = Buffer.concat([
        b.subarray(0, 12),
        Buffer.from(Array.from({ length: rand(1400) }, () => rand(256))),
      ]);
      break;
    default:
      // For good: the publisher's sequence numbers or SSRC change from this packet on.
      if (rand(2) === 0) src.seq[track] = rand(0x10000);
      else src.ssrc[track] = rand(2 ** 32) >>> 0;
  }
  return b;
}

/** A recorder's chain on the path: depacketize, align the tracks, mux to fMP4; a new muxer after a ParseError. */
class Fmp4Sink {
  unitsMuxed = 0;
  bytes = 0;
  restarts = 0;
  readonly exceptions: string[] = [];
  readonly reader: StreamReader;
  readonly #depacketizers: Depacketizer[];
  readonly #tracks = TRACKS.map((t) => fmp4TrackFor(t)!);
  #mux = new Fmp4Muxer(this.#tracks);
  #aligner = new TimelineAligner();

  constructor() {
    this.#depacketizers = TRACKS.map((t) => createDepacketizer(t.encodingName, t.clockRate, t.fmtp));
    this.reader = {
      transport: 'udp',
      rtpChannels: [],
      tracks: [0, 1],
      backlogBytes: 0,
      writeInterleaved: () => undefined,
      sendRtp: (track, packet) => {
        this.#onRtp(track, packet);
      },
      sendRtcp: () => undefined,
      streamEnded: () => undefined,
    };
  }

  #onRtp(track: number, packet: Buffer): void {
    try {
      let rtp;
      try {
        rtp = parseRtpPacket(packet);
      } catch (err) {
        if (isParseError(err)) return;
        throw err;
      }
      for (const au of this.#depacketizers[track]!.push(rtp)) this.#push(track, au);
    } catch (err) {
      if (!isParseError(err) && this.exceptions.length < 10)
        this.exceptions.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
      this.restarts++;
      this.#mux = new Fmp4Muxer(this.#tracks);
      this.#aligner = new TimelineAligner();
    }
  }

  #push(track: number, au: AccessUnit): void {
    const bytes = this.#mux.push(track, this.#aligner.map(track, au, performance.now()));
    this.unitsMuxed++;
    if (bytes !== undefined) this.bytes += bytes.length;
  }
}

const TRACKS = [
  { encodingName: 'H264', clockRate: 90000, fmtp: { 'packetization-mode': '1' } },
  { encodingName: 'MPEG4-GENERIC', clockRate: 48000, fmtp: AAC_FMTP },
];

export async function fuzzMedia(
  seconds: number,
  maxPackets: number,
  seed = Date.now(),
): Promise<MediaFuzzResult> {
  const rand = prng(seed);
  const server = new RtspServer({ host: '127.0.0.1', port: 0, udpRtpPort: 0 });
  await server.listen();
  const api = new ApiServer({ server, port: 0, processMetrics: false });
  await api.listen();
  const pub = await FakePublisher.start(server.port, PATH);
  const src = new Source(rand);
  const sink = new Fmp4Sink();
  server.paths.get(PATH)!.stream!.addReader(sink.reader);
  let packetsSent = 0;
  let packetsMutated = 0;
  let bytesSent = 0;
  let clockJumps = 0;
  const send = (mutating: boolean): void => {
    if (mutating && rand(200) === 0) {
      // A clock jump that stays, on one track or both.
      clockJumps++;
      const step = TIMESTAMP_STEPS[rand(TIMESTAMP_STEPS.length)]!;
      for (const t of rand(2) === 0 ? [0, 1] : [rand(2)]) src.tsBase[t] = (src.tsBase[t]! + step) >>> 0;
    }
    for (const [track, clean] of src.next()) {
      const mutated = mutating ? mutate(rand, src, track, clean) : undefined;
      const packet = mutated ?? clean;
      if (mutated !== undefined) packetsMutated++;
      const channel = mutating && rand(100) === 0 ? 2 - track * 2 : track * 2; // now and then the other track's
      pub.client.sendInterleaved(channel, packet);
      packetsSent++;
      bytesSent += packet.length;
    }
  };
  const yieldToServer = async (): Promise<void> => {
    if (pub.client.socket.writableLength > 1024 * 1024)
      await new Promise((r) => pub.client.socket.once('drain', r));
    await new Promise((r) => setTimeout(r, 1));
  };

  // Warm up with clean frames and a first HLS segment, so that what is allocated once is not growth.
  const first = get(api.port, `/hls/${PATH}/index.m3u8`);
  for (let i = 0; i < 100; i++) {
    send(false);
    if (i % 10 === 9) await yieldToServer();
  }
  await first;
  const heapBefore = heapAfterGc();

  const deadline = Date.now() + seconds * 1000;
  let hlsRequests = 0;
  let fuzzing = true;
  const hlsReader = (async () => {
    while (fuzzing) {
      await get(api.port, `/hls/${PATH}/index.m3u8`);
      hlsRequests++;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  while (Date.now() < deadline && packetsSent < maxPackets) {
    for (let i = 0; i < 20; i++) send(true);
    await yieldToServer();
  }
  fuzzing = false;
  await hlsReader;

  // Clean frames on whatever timeline the mutations left: HLS must answer again.
  src.tsBase[1] = src.tsBase[0]!;
  const hls = get(api.port, `/hls/${PATH}/index.m3u8`);
  for (let i = 0; i < 100; i++) {
    send(false);
    if (i % 5 === 4) await yieldToServer();
  }
  const hlsStatus = await hls;
  const probe = await RawClient.connect(server.port);
  const options = await probe.request('OPTIONS', '*');
  const describe = await probe.request('DESCRIBE', `rtsp://127.0.0.1:${server.port}/${PATH}`);
  probe.close();
  const mediaFaults = { ...server.mediaFaults.counts };
  const hlsMuxersStarted = api.hls.muxersStarted;

  pub.client.close();
  await new Promise((r) => setTimeout(r, 200));
  api.hls.close();
  const heapAfter = heapAfterGc();
  await api.close();
  await server.close();
  return {
    seconds,
    packetsSent,
    packetsMutated,
    bytesSent,
    clockJumps,
    sinkUnitsMuxed: sink.unitsMuxed,
    sinkBytes: sink.bytes,
    sinkRestarts: sink.restarts,
    sinkExceptions: sink.exceptions,
    hlsRequests,
    hlsMuxersStarted,
    mediaFaults,
    heapBeforeBytes: heapBefore,
    heapAfterBytes: heapAfter,
    stillAnswers: options.statusCode === 200 && describe.statusCode === 200 && hlsStatus === 200,
  };
}
