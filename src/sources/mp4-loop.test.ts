// Mp4LoopSource: the media description of real clips (media/demo.mp4, ffmpeg's H.265 clip), and the
// packets it feeds a real Stream, paced by a ManualClock (no timing assertions): order, parameter
// sets before keyframes, timestamps and sequence numbers continuing across loop points, the end of
// a file played once, and read errors ending the stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ManualClock, ManualTimerClock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { u32 } from '../container/mp4/box-writer.js';
import { AAC_LC_48K_STEREO, audioEntry, avcC, buildMp4, esds, visualEntry } from '../container/mp4/synth.js';
import type { AccessUnit, Depacketizer } from '../format/access-unit.js';
import { createDepacketizer } from '../format/registry.js';
import { parseRtpPacket, type RtpPacket } from '../rtp/packet.js';
import { getAttribute, getControl } from '../sdp/attributes.js';
import { mediaFormats } from '../sdp/formats.js';
import { parseSdp } from '../sdp/parse.js';
import { Stream, type StreamReader } from '../media/stream.js';
import { Mp4LoopSource } from './mp4-loop.js';

function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

const DEMO = join(repoRoot(), 'media', 'demo.mp4');
const H265_CLIP = '/work/shared/media/h265_aac.mp4';

// ---- helpers ----

/** A UDP-like reader that records every packet it gets, parsed. */
class Recorder implements StreamReader {
  readonly transport = 'udp';
  readonly rtpChannels: readonly (number | undefined)[] = [];
  readonly backlogBytes = 0;
  readonly packets: { track: number; rtp: RtpPacket }[] = [];
  endedReason: string | undefined;
  constructor(readonly tracks: readonly number[]) {}
  writeInterleaved(): void {
    throw new Error('not a TCP reader');
  }
  sendRtp(track: number, packet: Buffer): void {
    this.packets.push({ track, rtp: parseRtpPacket(Buffer.from(packet)) });
  }
  sendRtcp(): void {}
  streamEnded(reason: string): void {
    this.endedReason = reason;
  }
  of(track: number): RtpPacket[] {
    return this.packets.filter((p) => p.track === track).map((p) => p.rtp);
  }
}

interface LogLine {
  level: string;
  obj: object;
  msg: string | undefined;
}

function recordingLogger(lines: LogLine[]): Logger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Advances the manual clock by `stepMs` per step, letting the source's timer (at most 10 ms) and the
 * Stream's flush run in between, until `done` or `maxSteps`.
 */
async function drive(clock: ManualClock, done: () => boolean, stepMs = 100, maxSteps = 400): Promise<void> {
  for (let i = 0; i < maxSteps && !done(); i++) {
    clock.advance(stepMs);
    await sleep(12);
  }
  await sleep(5);
}

/** Plays a source into a fresh Stream with one recording reader of every track. */
function play(source: Mp4LoopSource, clock: ManualClock): { stream: Stream; reader: Recorder } {
  const stream = new Stream(source.media.tracks, { clock });
  const reader = new Recorder(source.media.tracks.map((_, i) => i));
  stream.addReader(reader);
  source.start(stream);
  return { stream, reader };
}

/** The depacketizer a player would build from the source's SDP, for track `i`. */
function depacketizerFor(source: Mp4LoopSource, i: number): Depacketizer {
  const sd = parseSdp(source.media.describeSdp('rtsp://127.0.0.1/x/'));
  const f = mediaFormats(sd.media[i]!)[0]!;
  return createDepacketizer(f.encodingName, f.clockRate, Object.fromEntries(f.fmtp));
}

function accessUnits(d: Depacketizer, packets: readonly RtpPacket[]): AccessUnit[] {
  const aus: AccessUnit[] = [];
  for (const p of packets)
    aus.push(
      ...d.push({
        payload: p.payload,
        marker: p.marker,
        sequenceNumber: p.sequenceNumber,
        timestamp: p.timestamp,
      }),
    );
  aus.push(...d.flush());
  return aus;
}

/** Sequence numbers go up by one, whatever the loop. */
function assertConsecutive(packets: readonly RtpPacket[], what: string): void {
  for (let i = 1; i < packets.length; i++)
    assert.equal(
      packets[i]!.sequenceNumber,
      (packets[i - 1]!.sequenceNumber + 1) & 0xffff,
      `${what}: sequence break at packet ${i}`,
    );
}

/** RTP timestamps relative to the first one (mod 2^32, assuming no more than 2^31 ticks). */
function relativeTimestamps(values: readonly number[]): number[] {
  const t0 = values[0]!;
  return values.map((t) => (t - t0 + 2 ** 32) % 2 ** 32);
}

const h264Types = (au: AccessUnit): number[] => au.nalus!.map((n) => n[0]! & 0x1f);
const h265Types = (au: AccessUnit): number[] => au.nalus!.map((n) => (n[0]! >> 1) & 0x3f);

// ---- a small synthetic clip: 1 s of H.264 (25 frames, IDR first) + AAC with an edit list ----

const SPS = Buffer.from('6742c01eda0280bfe5c044000003000400000300c83c58ba80', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');

/** A length-prefixed (4 bytes) NAL unit: header byte then `size - 1` bytes of `fill`. */
function nal(header: number, size: number, fill: number): Buffer {
  const body = Buffer.alloc(size, fill);
  body[0] = header;
  return Buffer.concat([u32(size), body]);
}

interface ClipOptions {
  /** Add a track the source cannot play (mp4v). */
  withUnsupported?: boolean;
  /** Only the unsupported track. */
  onlyUnsupported?: boolean;
}

/**
 * Video: 25 frames of 512 ticks at 12800 Hz (1 s), an IDR of 3000 bytes (FU-A) without in-band
 * SPS/PPS then P frames of 200 bytes. Audio: 47 AAC frames of 1024 at 48 kHz, the first one priming
 * (edit list media_time 1024), so audio spans -1024..47104 ticks and the loop period is
 * 1 s + 1024/48000 s = 91920 ticks at 90 kHz = 49024 ticks at 48 kHz.
 */
function synthClip(options: ClipOptions = {}): Buffer {
  const video = {
    id: 1,
    handler: 'vide',
    timescale: 12800,
    entry: visualEntry('avc1', 320, 240, avcC(4, [SPS], [PPS])),
    samples: Array.from({ length: 25 }, (_, i) => ({
      size: 0,
      duration: 512,
      key: i === 0,
      data: i === 0 ? nal(0x65, 3000, 0x11) : nal(0x41, 200, i),
    })),
    chunks: Array.from({ length: 5 }, () => 5),
  };
  const audio = {
    id: 2,
    handler: 'soun',
    timescale: 48000,
    entry: audioEntry('mp4a', 2, 48000, esds(0x40, AAC_LC_48K_STEREO)),
    samples: Array.from({ length: 47 }, (_, i) => ({
      size: 0,
      duration: 1024,
      data: Buffer.alloc(20, i + 1),
    })),
    chunks: Array.from({ length: 5 }, (_, c) => (c < 4 ? 10 : 7)),
    elst: [{ duration: 980, mediaTime: 1024 }],
  };
  const unsupported = {
    id: 3,
    handler: 'vide',
    timescale: 1000,
    entry: visualEntry('mp4v', 320, 240),
    samples: [{ size: 10, duration: 1000 }],
  };
  const tracks = options.onlyUnsupported
    ? [unsupported]
    : options.withUnsupported
      ? [video, unsupported, audio]
      : [video, audio];
  return buildMp4({ tracks, moovFirst: true }).file;
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-loop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---- tests ----

test('demo.mp4: H.264 + AAC tracks and the reader SDP', async (t) => {
  if (!existsSync(DEMO)) return t.skip(`${DEMO} is missing (scripts/make-demo.sh makes it)`);
  const source = await Mp4LoopSource.open({ file: DEMO });
  t.after(() => source.stop());
  assert.deepEqual(
    source.media.tracks.map(({ payloadType, encodingName, clockRate }) => ({
      payloadType,
      encodingName,
      clockRate,
    })),
    [
      { payloadType: 96, encodingName: 'H264', clockRate: 90000 },
      { payloadType: 97, encodingName: 'MPEG4-GENERIC', clockRate: 48000 },
    ],
  );
  // The fmtp the SDP carries travels with the track (the HLS muxer reads it there).
  assert.equal(source.media.tracks[0]!.fmtp['packetization-mode'], '1');
  assert.deepEqual(source.media.controls, ['trackID=0', 'trackID=1']);
  // 10 s of video; AAC from -1024 (priming) to 480000 + a whole last frame: the shared loop period.
  assert.equal(Math.round(source.periodSeconds * 48000), 481280);

  const text = source.media.describeSdp('rtsp://127.0.0.1:8554/demo/');
  const sd = parseSdp(text);
  assert.equal(sd.connection?.address, '0.0.0.0');
  assert.match(text, /^s=demo\.mp4\r$/m);
  assert.equal(getControl(sd), '*');
  assert.equal(sd.media.length, 2);
  const [video, audio] = sd.media;
  assert.equal(video!.type, 'video');
  assert.equal(getControl(video!), 'trackID=0');
  assert.equal(getAttribute(video!, 'framerate'), '25');
  const vf = mediaFormats(video!)[0]!;
  assert.deepEqual([vf.payloadType, vf.encodingName, vf.clockRate], [96, 'H264', 90000]);
  assert.equal(vf.fmtp.get('packetization-mode'), '1');
  assert.equal(vf.fmtp.get('profile-level-id'), '42c01e'); // Constrained Baseline 3.0
  const sprop = vf.fmtp.get('sprop-parameter-sets')!.split(',');
  assert.equal(sprop.length, 2);
  assert.deepEqual(
    sprop.map((b) => Buffer.from(b, 'base64')[0]! & 0x1f),
    [7, 8],
  );
  assert.equal(audio!.type, 'audio');
  assert.equal(getControl(audio!), 'trackID=1');
  const af = mediaFormats(audio!)[0]!;
  assert.deepEqual(
    [af.payloadType, af.encodingName, af.clockRate, af.channels],
    [97, 'MPEG4-GENERIC', 48000, 2],
  );
  assert.equal(af.fmtp.get('mode'), 'AAC-hbr');
  assert.equal(af.fmtp.get('sizelength'), '13');
  assert.match(af.fmtp.get('config')!, /^1190/); // AAC-LC, 48 kHz, stereo
});

test('demo.mp4 into a Stream: SPS/PPS then IDR first, frames in order, every packet accounted', async (t) => {
  if (!existsSync(DEMO)) return t.skip(`${DEMO} is missing (scripts/make-demo.sh makes it)`);
  const clock = new ManualClock();
  const source = await Mp4LoopSource.open({ file: DEMO, clock });
  t.after(() => source.stop());
  const { reader } = play(source, clock);
  // 2.5 s of media: three GOPs.
  await drive(clock, () => clock.monotonicMs() >= 2500);
  await source.stop();

  const video = reader.of(0);
  const audio = reader.of(1);
  assert.ok(video.length > 0 && audio.length > 0);
  // The reader joins at the first keyframe: a STAP-A of SPS + PPS (+ x264's SEI), then the IDR in FU-As.
  const first = video[0]!.payload;
  assert.equal(first[0]! & 0x1f, 24, 'STAP-A first');
  assert.equal(first[3]! & 0x1f, 7, 'SPS first in the STAP-A');
  assert.equal(first[3 + first.readUInt16BE(1) + 2]! & 0x1f, 8, 'then the PPS');
  const fu = video[1]!.payload;
  assert.deepEqual([fu[0]! & 0x1f, fu[1]! & 0x80, fu[1]! & 0x1f], [28, 0x80, 5], 'then the IDR starts');

  assertConsecutive(video, 'video');
  assertConsecutive(audio, 'audio');
  const vd = depacketizerFor(source, 0);
  const frames = accessUnits(vd, video);
  assert.deepEqual([vd.stats.lostPackets, vd.stats.malformedPackets, vd.stats.droppedAccessUnits], [0, 0, 0]);
  assert.ok(frames.length >= 50, `${frames.length} frames`);
  const ts = relativeTimestamps(frames.map((f) => f.pts % 2 ** 32));
  ts.forEach((v, i) => assert.equal(v, i * 3600, `frame ${i} at 25 fps`));
  frames.forEach((f, i) => {
    assert.equal(f.keyframe, i % 25 === 0, `frame ${i}: an IDR every 25 frames`);
    if (f.keyframe) assert.deepEqual(h264Types(f).slice(0, 2), [7, 8], `frame ${i} starts with SPS, PPS`);
  });
  // Markers end frames: exactly one per frame.
  assert.equal(video.filter((p) => p.marker).length, frames.length);

  const ad = depacketizerFor(source, 1);
  const aus = accessUnits(ad, audio);
  assert.equal(ad.stats.lostPackets, 0);
  relativeTimestamps(aus.map((a) => a.pts % 2 ** 32)).forEach((v, i) => assert.equal(v, i * 1024));
});

test('H.265 clip: sprop-vps/sps/pps in the SDP, VPS/SPS/PPS before every IRAP', async (t) => {
  if (!existsSync(H265_CLIP)) return t.skip(`${H265_CLIP} is missing`);
  const clock = new ManualClock();
  const source = await Mp4LoopSource.open({ file: H265_CLIP, clock });
  t.after(() => source.stop());
  assert.deepEqual(
    source.media.tracks.map((tr) => tr.encodingName),
    ['H265', 'MPEG4-GENERIC'],
  );
  const sd = parseSdp(source.media.describeSdp('rtsp://127.0.0.1/x/'));
  const vf = mediaFormats(sd.media[0]!)[0]!;
  assert.deepEqual([vf.encodingName, vf.clockRate], ['H265', 90000]);
  for (const k of ['sprop-vps', 'sprop-sps', 'sprop-pps']) assert.ok(vf.fmtp.has(k), k);
  assert.ok(mediaFormats(sd.media[1]!)[0]!.fmtp.has('config'));

  const { reader } = play(source, clock);
  await drive(clock, () => clock.monotonicMs() >= 1500);
  await source.stop();
  const vd = depacketizerFor(source, 0);
  const frames = accessUnits(vd, reader.of(0));
  assert.equal(vd.stats.lostPackets, 0);
  assert.ok(frames.length >= 25);
  const keys = frames.filter((f) => f.keyframe);
  assert.ok(keys.length >= 1);
  assert.equal(frames[0]!.keyframe, true);
  for (const k of keys) assert.deepEqual(h265Types(k).slice(0, 3), [32, 33, 34]);
});

test('loops: timestamps and sequence numbers continue, A/V advance by the same period', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'clip.mp4');
  writeFileSync(file, synthClip());
  const clock = new ManualClock();
  const source = await Mp4LoopSource.open({ file, clock });
  t.after(() => source.stop());
  assert.equal(Math.round(source.periodSeconds * 90000), 91920);
  assert.equal(Math.round(source.periodSeconds * 48000), 49024);
  const { reader } = play(source, clock);
  await drive(clock, () => source.loops >= 2, 50);
  await source.stop();
  assert.ok(source.loops >= 2, `loops ${source.loops}`);

  const video = reader.of(0);
  const audio = reader.of(1);
  assertConsecutive(video, 'video');
  assertConsecutive(audio, 'audio');

  // Per loop: the IDR (SPS+PPS STAP-A, 3 FU-As) and 24 P frames.
  const vd = depacketizerFor(source, 0);
  const frames = accessUnits(vd, video).slice(0, 50);
  assert.equal(frames.length, 50);
  assert.deepEqual(
    relativeTimestamps(frames.map((f) => f.pts % 2 ** 32)),
    Array.from({ length: 50 }, (_, i) => Math.floor(i / 25) * 91920 + (i % 25) * 3600),
  );
  for (const i of [0, 25]) {
    assert.equal(frames[i]!.keyframe, true);
    assert.deepEqual(h264Types(frames[i]!), [7, 8, 5], `frame ${i}: SPS, PPS, IDR`);
    assert.deepEqual(frames[i]!.nalus![0], SPS);
  }
  assert.equal(video[0]!.payload[0]! & 0x1f, 24, 'the first packet is the SPS+PPS STAP-A');

  // Audio reaches the reader from the first keyframe on: sample 1 (pts 0) of loop 0, then the
  // priming sample of loop 1 (pts -1024 + 49024) follows the last one of loop 0 (pts 45056).
  const ad = depacketizerFor(source, 1);
  const aus = accessUnits(ad, audio).slice(0, 46 + 47);
  assert.equal(aus.length, 93);
  assert.deepEqual(relativeTimestamps(aus.map((a) => a.pts % 2 ** 32)), [
    ...Array.from({ length: 46 }, (_, i) => i * 1024),
    ...Array.from({ length: 47 }, (_, i) => 49024 - 1024 + i * 1024),
  ]);
  assert.deepEqual(aus[46]!.payload, Buffer.alloc(20, 1), 'loop 1 starts with the first sample again');
});

test('loop: false ends the stream at the end of the file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'clip.mp4');
  writeFileSync(file, synthClip());
  const clock = new ManualClock();
  const source = await Mp4LoopSource.open({ file, clock, loop: false });
  t.after(() => source.stop());
  const { stream, reader } = play(source, clock);
  await drive(clock, () => stream.ended);
  assert.equal(stream.ended, true);
  assert.equal(reader.endedReason, 'end of file');
  assert.equal(source.loops, 1);
  const frames = accessUnits(depacketizerFor(source, 0), reader.of(0));
  assert.equal(frames.length, 25);
});

test('pacing on a ManualTimerClock: each frame goes out when the clock reaches its time, never before', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'clip.mp4');
  writeFileSync(file, synthClip());
  const clock = new ManualTimerClock();
  const source = await Mp4LoopSource.open({ file, clock, loop: false });
  t.after(() => source.stop());
  const stream = new Stream(source.media.tracks, { clock });
  const sentAtMs: { rtp: RtpPacket; atMs: number }[] = [];
  const reader = new Recorder([0, 1]);
  reader.sendRtp = (track: number, packet: Buffer): void => {
    if (track === 0) sentAtMs.push({ rtp: parseRtpPacket(Buffer.from(packet)), atMs: clock.monotonicMs() });
  };
  stream.addReader(reader);
  const startMs = clock.monotonicMs();
  source.start(stream);
  // The pacing timer runs only when the clock is advanced; between steps the file reads and the
  // Stream's flush (next event-loop turn) complete, so only the clock decides when a sample goes.
  const settle = async (): Promise<void> => {
    await source.readsSettled();
    await new Promise((resolve) => setImmediate(resolve));
  };
  const stepMs = 5;
  for (let i = 0; i < 400 && !stream.ended; i++) {
    await settle();
    clock.advance(stepMs);
  }
  await settle();
  assert.equal(stream.ended, true);
  const vd = depacketizerFor(source, 0);
  const frames = accessUnits(
    vd,
    sentAtMs.map((p) => p.rtp),
  );
  assert.equal(frames.length, 25);
  // The file starts with the AAC priming frame at -1024 ticks (48 kHz): video starts that much later.
  const primingMs = (1024 / 48_000) * 1000;
  // Frame i (25 fps) is due 40·i ms after video starts: it leaves in the step that reaches it. The first
  // one may wait for the first read and one pacing tick more (TICK_MS, 10 ms): the queue starts empty.
  const lateMs = Math.max(stepMs, 10);
  const ts0 = sentAtMs[0]!.rtp.timestamp;
  for (const { rtp, atMs } of sentAtMs) {
    const dueMs = primingMs + (((rtp.timestamp - ts0 + 2 ** 32) % 2 ** 32) / 90_000) * 1000;
    const elapsedMs = atMs - startMs;
    assert.ok(elapsedMs >= dueMs, `frame due at ${dueMs} ms sent early, at ${elapsedMs} ms`);
    assert.ok(elapsedMs <= dueMs + lateMs, `frame due at ${dueMs} ms sent late, at ${elapsedMs} ms`);
  }
});

test('a read error while playing ends the stream and logs, without throwing', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'clip.mp4');
  writeFileSync(file, synthClip());
  const lines: LogLine[] = [];
  const clock = new ManualClock();
  const source = await Mp4LoopSource.open({ file, clock, logger: recordingLogger(lines) });
  t.after(() => source.stop());
  truncateSync(file, 2000); // inside mdat: the samples are gone
  const { stream, reader } = play(source, clock);
  await drive(clock, () => stream.ended);
  assert.equal(stream.ended, true);
  assert.match(reader.endedReason ?? '', /^file source error: .*read \d+ of \d+ bytes/);
  assert.ok(lines.some((l) => l.level === 'error'));
  await source.stop();
});

test('unsupported tracks are skipped with a warning; open errors are clear', async (t) => {
  const dir = tempDir(t);
  const mixed = join(dir, 'mixed.mp4');
  writeFileSync(mixed, synthClip({ withUnsupported: true }));
  const lines: LogLine[] = [];
  const source = await Mp4LoopSource.open({ file: mixed, logger: recordingLogger(lines) });
  assert.deepEqual(
    source.media.tracks.map((tr) => [tr.payloadType, tr.encodingName]),
    [
      [96, 'H264'],
      [97, 'MPEG4-GENERIC'],
    ],
  );
  assert.ok(lines.some((l) => l.level === 'warn' && /unsupported codec/.test(l.msg ?? '')));
  await source.stop();

  const none = join(dir, 'none.mp4');
  writeFileSync(none, synthClip({ onlyUnsupported: true }));
  await assert.rejects(
    Mp4LoopSource.open({ file: none }),
    /has no playable track \(supported: .*found: mp4v\)/,
  );
  await assert.rejects(
    Mp4LoopSource.open({ file: join(dir, 'missing.mp4') }),
    /^Error: cannot open .*ENOENT/,
  );
  const text = join(dir, 'text.mp4');
  writeFileSync(text, 'not an mp4 file at all, just some text\n');
  await assert.rejects(Mp4LoopSource.open({ file: text }), /is not a playable MP4 file/);
});

test('start checks the stream; stop is idempotent and ends nothing', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'clip.mp4');
  writeFileSync(file, synthClip());
  const source = await Mp4LoopSource.open({ file, clock: new ManualClock() });
  assert.throws(() => {
    source.start(new Stream([{ encodingName: 'H264', clockRate: 90000 }]));
  }, /the stream has 1 tracks, the file 2/);
  const stream = new Stream(source.media.tracks);
  source.start(stream);
  assert.throws(() => {
    source.start(stream);
  }, /already started/);
  await Promise.all([source.stop(), source.stop()]);
  assert.equal(stream.ended, false);
  assert.throws(() => {
    source.start(new Stream(source.media.tracks));
  }, /start after stop/);
});

test('the Stream gets each track RTP-to-clock line from the file, not from packet arrival (B-frames: video sent at dts, stamped with pts)', async (t) => {
  const clip = '/work/shared/media/h264_main_aac.mp4';
  if (!existsSync(clip)) return t.skip(`${clip} is missing`);
  const clock = new ManualClock();
  const source = await Mp4LoopSource.open({ file: clip, clock });
  t.after(() => source.stop());
  const startMs = clock.monotonicMs();
  const { stream, reader } = play(source, clock);
  await drive(clock, () => clock.monotonicMs() - startMs >= 1500);
  await source.stop();
  // The keyframe presented at 1 s and the audio frame presented at 1 s (48000 ticks after the first
  // frame at 0, the priming frame being at -1024) are at the same instant on the Stream's clock.
  const video = accessUnits(depacketizerFor(source, 0), reader.of(0));
  const key = video.filter((f) => f.keyframe)[1]!;
  const firstKey = video.find((f) => f.keyframe)!;
  const audio = reader.of(1);
  const audioAtZero = audio[0]!.timestamp + 1024; // the first packet is the priming frame at -1024
  const videoMs = stream.monotonicMsOfRtp(0, key.pts % 2 ** 32)!;
  const audioMs = stream.monotonicMsOfRtp(1, (audioAtZero + 48000) % 2 ** 32)!;
  assert.ok(Math.abs(videoMs - audioMs) < 0.5, `video at ${videoMs} ms, audio at ${audioMs} ms`);
  // The first keyframe (pts 0) is on the clock 80 ms after its packets left (dts -0.08 s).
  assert.equal(stream.monotonicMsOfRtp(0, firstKey.pts % 2 ** 32)! - startMs, 80);
});
