// VodFile / VodPlayer on real clips (media/demo.mp4: 10 s, 25 fps, an IDR every second, AAC 48 kHz;
// ../shared/media/h264_main_aac.mp4: the same with B-frames), driven by a ManualClock into a sink
// that records every packet with the clock time it was sent. No timing assertions on the real
// clock: "when" always means ManualClock milliseconds.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ManualClock } from '../base/clock.js';
import type { AccessUnit, Depacketizer } from '../format/access-unit.js';
import { createDepacketizer } from '../format/registry.js';
import { rtpToWallMs } from '../rtp/clock-map.js';
import { parseRtpPacket, type RtpPacket } from '../rtp/packet.js';
import { parseRtcpCompound, type SenderReport } from '../rtp/rtcp.js';
import { getAttribute, getControl } from '../sdp/attributes.js';
import { mediaFormats } from '../sdp/formats.js';
import { parseSdp } from '../sdp/parse.js';
import { VodFile, VodPlayer, type VodEndInfo, type VodPlayerOptions } from './vod-player.js';

function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

const DEMO = join(repoRoot(), 'media', 'demo.mp4');
const BFRAMES = '/work/shared/media/h264_main_aac.mp4';
const TWO_32 = 2 ** 32;
/** 25 fps at 90 kHz; AAC frames at 48 kHz. */
const FRAME = 3600;
const AAC_FRAME = 1024;

// ---- helpers ----

interface Sent {
  track: number;
  atMs: number;
  wallMs: number;
  rtp: RtpPacket;
}

class Recorder {
  readonly rtp: Sent[] = [];
  readonly srs: { track: number; atMs: number; sr: SenderReport }[] = [];
  constructor(private readonly clock: ManualClock) {}
  sendRtp(track: number, packet: Buffer): void {
    this.rtp.push({
      track,
      atMs: this.clock.monotonicMs(),
      wallMs: this.clock.wallMs(),
      rtp: parseRtpPacket(Buffer.from(packet)),
    });
  }
  sendRtcp(track: number, packet: Buffer): void {
    for (const p of parseRtcpCompound(Buffer.from(packet)))
      if (p.type === 'sr') this.srs.push({ track, atMs: this.clock.monotonicMs(), sr: p });
  }
  of(track: number, from = 0): Sent[] {
    return this.rtp.slice(from).filter((p) => p.track === track);
  }
}

interface Frame extends AccessUnit {
  /** 32-bit RTP timestamp. */
  ts: number;
  atMs: number;
}

function depacketizerFor(file: VodFile, track: number): Depacketizer {
  const sd = parseSdp(file.media.describeSdp('rtsp://127.0.0.1/x/'));
  const f = mediaFormats(sd.media[track]!)[0]!;
  return createDepacketizer(f.encodingName, f.clockRate, Object.fromEntries(f.fmtp));
}

/** The access units of some packets of one track, each with the time its last packet was sent. */
function framesOf(file: VodFile, track: number, sent: readonly Sent[]): Frame[] {
  const d = depacketizerFor(file, track);
  const out: Frame[] = [];
  for (const s of sent) {
    const p = s.rtp;
    for (const au of d.push({
      payload: p.payload,
      marker: p.marker,
      sequenceNumber: p.sequenceNumber,
      timestamp: p.timestamp,
    }))
      out.push({ ...au, ts: au.pts % TWO_32, atMs: s.atMs });
  }
  for (const au of d.flush()) out.push({ ...au, ts: au.pts % TWO_32, atMs: Infinity });
  assert.deepEqual([d.stats.lostPackets, d.stats.malformedPackets], [0, 0], `track ${track} packets`);
  return out;
}

/** (b - a) mod 2^32 as a signed value. */
function tsDelta(a: number, b: number): number {
  const d = (((b - a) % TWO_32) + TWO_32) % TWO_32;
  return d >= TWO_32 / 2 ? d - TWO_32 : d;
}

function assertConsecutive(packets: readonly Sent[], what: string): void {
  for (let i = 1; i < packets.length; i++)
    assert.equal(
      packets[i]!.rtp.sequenceNumber,
      (packets[i - 1]!.rtp.sequenceNumber + 1) & 0xffff,
      `${what}: sequence break at packet ${i}`,
    );
}

const h264Types = (au: AccessUnit): number[] => au.nalus!.map((n) => n[0]! & 0x1f);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sample reads in flight, counted by `rig` (a loaded machine may take a while to serve them). */
let pendingReads = 0;
/** Counts reads started and finished, so that settle() can tell a quiet interval from a busy one. */
let readEvents = 0;

/**
 * Advances the manual clock by `stepMs` per step until `done` or `maxSteps`. After each step the
 * player's reads land and its timer (at most 4 ms in these tests) runs, so every sample due at the
 * new clock time has been sent before the clock moves again.
 */
async function drive(clock: ManualClock, done: () => boolean, stepMs = 100, maxSteps = 1000): Promise<void> {
  for (let i = 0; i < maxSteps && !done(); i++) {
    clock.advance(stepMs);
    await settle();
  }
}

/**
 * Waits for a quiet interval: one longer than the player's timer (4 ms) in which no read was in flight,
 * started or finished. A read that finishes during the wait schedules the player's next timer before
 * the next wait is scheduled, so on a loaded machine that timer still runs (and its reads count) first.
 */
async function settle(): Promise<void> {
  for (;;) {
    const seen = readEvents;
    await sleep(6);
    if (pendingReads === 0 && readEvents === seen) return;
  }
}

interface Rig {
  file: VodFile;
  clock: ManualClock;
  sink: Recorder;
  player: VodPlayer;
  ends: VodEndInfo[];
}

async function rig(t: TestContext, path: string, options: VodPlayerOptions = {}): Promise<Rig | undefined> {
  if (!existsSync(path)) {
    t.skip(`${path} is missing`);
    return undefined;
  }
  const file = await VodFile.open(path);
  const read = file.reader.readSample.bind(file.reader);
  file.reader.readSample = async (track, i) => {
    pendingReads++;
    readEvents++;
    try {
      return await read(track, i);
    } finally {
      pendingReads--;
      readEvents++;
    }
  };
  const clock = new ManualClock();
  const sink = new Recorder(clock);
  const player = new VodPlayer(file, sink, { clock, maxTimerWaitMs: 4, ...options });
  const ends: VodEndInfo[] = [];
  player.onEnd = (info) => ends.push(info);
  t.after(async () => {
    player.stop();
    await file.close();
  });
  return { file, clock, sink, player, ends };
}

// ---- tests ----

test('VodFile: a=range:npt=0-10 at session level, aggregate and per-track controls', async (t) => {
  if (!existsSync(DEMO)) return t.skip(`${DEMO} is missing`);
  const file = await VodFile.open(DEMO);
  t.after(() => file.close());
  assert.equal(file.durationS, 10);
  assert.deepEqual(
    file.media.tracks.map(({ payloadType, encodingName, clockRate }) => ({
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
  assert.equal(file.media.tracks[0]!.fmtp['packetization-mode'], '1');
  const sd = parseSdp(file.media.describeSdp('rtsp://127.0.0.1:8554/demo.mp4/'));
  assert.equal(getAttribute(sd, 'range'), 'npt=0-10');
  assert.equal(getControl(sd), '*');
  assert.deepEqual(
    sd.media.map((m) => getControl(m)),
    ['trackID=0', 'trackID=1'],
  );
  await file.close();
  assert.throws(() => new VodPlayer(file, new Recorder(new ManualClock())).play(), /file is closed/);
});

test('Range 5.3-7: starts at the keyframe at 5 with matching RTP-Info, stops before 7, then ready', async (t) => {
  const r = await rig(t, DEMO);
  if (!r) return;
  const { file, clock, sink, player, ends } = r;
  const res = player.play({ startS: 5.3, endS: 7 });
  assert.deepEqual([res.startS, res.endS, res.scale, res.speed, res.queued], [5, 7, 1, 1, false]);
  assert.equal(player.state, 'playing');
  await drive(clock, () => ends.length > 0);
  assert.deepEqual(ends, [{ reason: 'end', positionS: 7 }]);
  assert.equal(player.state, 'ready');
  assert.equal(player.positionS, 7);
  // The range ends when the timeline reaches 7: 2 s after the start, within one step.
  assert.ok(clock.monotonicMs() >= 2000 && clock.monotonicMs() <= 2100, `ended at ${clock.monotonicMs()}`);

  const [vInfo, aInfo] = res.rtpInfo;
  const video = sink.of(0);
  const audio = sink.of(1);
  assert.equal(video[0]!.rtp.sequenceNumber, vInfo!.seq);
  assert.equal(video[0]!.rtp.timestamp, vInfo!.rtptime, 'the first video packet is at rtptime');
  assert.equal(audio[0]!.rtp.sequenceNumber, aInfo!.seq);
  // Audio starts with the frame presented at 5 s, which began 384 ticks earlier.
  const lead = tsDelta(audio[0]!.rtp.timestamp, aInfo!.rtptime);
  assert.ok(lead >= 0 && lead < AAC_FRAME, `audio starts ${lead} ticks before rtptime`);
  assertConsecutive(video, 'video');
  assertConsecutive(audio, 'audio');

  // 50 frames from the IDR at 5 s (with SPS/PPS) to the one at 6.96 s; nothing at or after 7.
  const frames = framesOf(file, 0, video);
  assert.equal(frames.length, 50);
  frames.forEach((f, i) => assert.equal(tsDelta(vInfo!.rtptime, f.ts), i * FRAME, `frame ${i}`));
  assert.deepEqual(h264Types(frames[0]!).slice(0, 2), [7, 8]);
  assert.deepEqual(
    frames.map((f) => f.keyframe),
    frames.map((_, i) => i % 25 === 0),
  );
  const aus = framesOf(file, 1, audio);
  aus.forEach((a, i) => assert.equal(tsDelta(audio[0]!.rtp.timestamp, a.ts), i * AAC_FRAME));
  const lastAudioEnd = tsDelta(aInfo!.rtptime, aus[aus.length - 1]!.ts);
  assert.ok(lastAudioEnd < 2 * 48000 && lastAudioEnd + AAC_FRAME >= 2 * 48000, 'audio up to 7 s');
  // Each frame is sent when its time comes (video frame i at 40 i ms, within a 100 ms step).
  frames.forEach((f, i) => assert.ok(f.atMs >= i * 40 && f.atMs <= i * 40 + 100, `frame ${i} at ${f.atMs}`));

  // Ready: nothing more is sent.
  const count = sink.rtp.length;
  await drive(clock, () => false, 100, 10);
  assert.equal(sink.rtp.length, count);
});

test('PAUSE keeps the position; PLAY resumes there: no sample twice or skipped, timestamps continuous', async (t) => {
  const r = await rig(t, DEMO);
  if (!r) return;
  const { file, clock, sink, player, ends } = r;
  const first = player.play({ startS: 0, endS: 4 });
  await drive(clock, () => clock.monotonicMs() >= 1500);
  assert.equal(player.pause(), 1.5);
  assert.equal(player.state, 'ready');
  assert.equal(player.positionS, 1.5);
  const before = sink.rtp.length;
  await drive(clock, () => false, 1000, 3); // 3 s paused: nothing is sent
  assert.equal(sink.rtp.length, before);
  assert.equal(player.positionS, 1.5);

  const resumed = player.play({});
  assert.equal(resumed.startS, 1.5);
  assert.equal(resumed.endS, 4, 'the paused range goes on to its end');
  // RTP time did not advance while paused: 1.5 s after the first PLAY's rtptime.
  assert.equal(tsDelta(first.rtpInfo[0]!.rtptime, resumed.rtpInfo[0]!.rtptime), 1.5 * 90000);
  assert.equal(tsDelta(first.rtpInfo[1]!.rtptime, resumed.rtpInfo[1]!.rtptime), 1.5 * 48000);
  assert.equal(resumed.rtpInfo[0]!.seq, (sink.of(0).at(-1)!.rtp.sequenceNumber + 1) & 0xffff);
  await drive(clock, () => ends.length > 0);
  assert.deepEqual(ends, [{ reason: 'end', positionS: 4 }]);

  const video = sink.of(0);
  const audio = sink.of(1);
  assertConsecutive(video, 'video');
  assertConsecutive(audio, 'audio');
  const frames = framesOf(file, 0, video);
  assert.equal(frames.length, 100, 'every frame of 0-4 s exactly once');
  frames.forEach((f, i) => assert.equal(tsDelta(first.rtpInfo[0]!.rtptime, f.ts), i * FRAME));
  const aus = framesOf(file, 1, audio);
  aus.forEach((a, i) => assert.equal(tsDelta(audio[0]!.rtp.timestamp, a.ts), i * AAC_FRAME, `audio ${i}`));
  // The frames after the pause went out after the 3 s pause, on the shifted timeline.
  const after = frames.filter((f) => tsDelta(first.rtpInfo[0]!.rtptime, f.ts) >= 1.5 * 90000);
  assert.ok(after.every((f) => f.atMs >= 4500));
});

test('queued PLAYs run one after another (§10.5), timestamps and sequence numbers continuing', async (t) => {
  const r = await rig(t, DEMO);
  if (!r) return;
  const { file, clock, sink, player, ends } = r;
  const a = player.play({ startS: 1, endS: 2 });
  const b = player.play({ startS: 5, endS: 6 });
  const c = player.play({ startS: 8.5 });
  assert.deepEqual(
    [a, b, c].map((x) => [x.startS, x.endS, x.queued]),
    [
      [1, 2, false],
      [5, 6, true],
      [8, 10, true],
    ],
  );
  assert.equal(b.rtpInfo[0]!.seq, undefined, 'no seq for a queued range');
  assert.equal(player.queuedRanges, 2);
  // Each range follows the previous on the session timeline: 1 s, then 1 s, then 2 s.
  assert.equal(tsDelta(a.rtpInfo[0]!.rtptime, b.rtpInfo[0]!.rtptime), 90000);
  assert.equal(tsDelta(a.rtpInfo[0]!.rtptime, c.rtpInfo[0]!.rtptime), 2 * 90000);
  assert.equal(tsDelta(a.rtpInfo[1]!.rtptime, c.rtpInfo[1]!.rtptime), 2 * 48000);
  await drive(clock, () => ends.length > 0);
  assert.deepEqual(ends, [{ reason: 'end', positionS: 10 }], 'one end, after the last range');
  assert.ok(clock.monotonicMs() >= 4000 && clock.monotonicMs() <= 4100);

  const video = sink.of(0);
  assertConsecutive(video, 'video');
  assertConsecutive(sink.of(1), 'audio');
  const frames = framesOf(file, 0, video);
  assert.equal(frames.length, 25 + 25 + 50);
  // One continuous run of timestamps, an IDR (with SPS/PPS) at the start of each range.
  frames.forEach((f, i) => assert.equal(tsDelta(a.rtpInfo[0]!.rtptime, f.ts), i * FRAME));
  assert.deepEqual(
    frames.flatMap((f, i) => (f.keyframe ? [i] : [])),
    [0, 25, 50, 75],
  );
  for (const i of [0, 25, 50]) assert.deepEqual(h264Types(frames[i]!).slice(0, 2), [7, 8]);
  // The second range starts when the timeline reaches the end of the first (1 s).
  assert.ok(frames[25]!.atMs >= 1000 && frames[25]!.atMs < 1100);
});

test('PAUSE with a point takes effect there, in a queued range, and drops the ranges after it (§10.6)', async (t) => {
  const r = await rig(t, DEMO);
  if (!r) return;
  const { file, clock, sink, player, ends } = r;
  const a = player.play({ startS: 1, endS: 2 });
  player.play({ startS: 4, endS: 7 });
  player.play({ startS: 8 });
  await settle(); // the first range's samples are read ahead: the pause point must not drop them
  assert.throws(() => player.pause(3), RangeError, 'between two ranges: 457');
  assert.equal(player.pause(5.5), 5.5);
  assert.equal(player.state, 'playing');
  assert.equal(player.queuedRanges, 1, 'the range from 8 is dropped');
  await drive(clock, () => ends.length > 0);
  assert.deepEqual(ends, [{ reason: 'pause', positionS: 5.5 }]);
  assert.equal(player.state, 'ready');
  assert.ok(clock.monotonicMs() >= 2500 && clock.monotonicMs() <= 2600);
  const frames = framesOf(file, 0, sink.of(0));
  assert.equal(frames.length, 25 + 38, '1-2 s, then 4-5.5 s (5.48 is the last frame)');

  // PLAY without Range resumes at 5.5, to the end of the range it paused (7).
  const count = sink.of(0).length;
  const resumed = player.play({});
  assert.deepEqual([resumed.startS, resumed.endS], [5.5, 7]);
  await drive(clock, () => ends.length > 1);
  const more = framesOf(file, 0, sink.of(0).slice(count));
  assert.equal(more.length, 37);
  more.forEach((f, i) => assert.equal(tsDelta(a.rtpInfo[0]!.rtptime, f.ts), (63 + i) * FRAME));
  assert.throws(() => player.pause(Number.NaN), RangeError);
});

test('Scale 2 and 4: keyframes only, no audio, timestamps at wall pace, done in 1/2 and 1/4 of the time', async (t) => {
  for (const scale of [2, 4]) {
    const r = await rig(t, DEMO);
    if (!r) return;
    const { file, clock, sink, player, ends } = r;
    const res = player.play({ startS: 0, scale });
    assert.deepEqual([res.startS, res.endS, res.scale], [0, 10, scale]);
    await drive(clock, () => ends.length > 0, 50);
    const spentMs = clock.monotonicMs();
    assert.ok(spentMs >= 10000 / scale && spentMs <= 10000 / scale + 50, `scale ${scale}: ${spentMs} ms`);
    assert.deepEqual(ends, [{ reason: 'end', positionS: 10 }]);
    assert.equal(sink.of(1).length, 0, 'no audio');
    const frames = framesOf(file, 0, sink.of(0));
    assert.equal(frames.length, 10);
    assert.ok(frames.every((f) => f.keyframe && h264Types(f).includes(7)));
    // npt advances `scale` times faster than the timestamps: one keyframe per 1/scale s.
    frames.forEach((f, i) => assert.equal(tsDelta(res.rtpInfo[0]!.rtptime, f.ts), (i * 90000) / scale));
    frames.forEach((f, i) => assert.ok(f.atMs >= (i * 1000) / scale && f.atMs <= (i * 1000) / scale + 50));
  }
});

test('Scale 8 thins keyframes to 5 per second; 16 is clamped to 8; 0 is a RangeError', async (t) => {
  const r = await rig(t, DEMO);
  if (!r) return;
  const { file, clock, sink, player, ends } = r;
  assert.throws(() => player.play({ scale: 0 }), RangeError);
  assert.throws(() => player.play({ speed: 0 }), RangeError);
  const res = player.play({ startS: 0, scale: 16 });
  assert.equal(res.scale, 8);
  await drive(clock, () => ends.length > 0, 50);
  const frames = framesOf(file, 0, sink.of(0));
  // Keyframes 1 s apart, at least 8 * 0.2 s wanted: every other one (0, 2, 4, 6, 8).
  assert.deepEqual(
    frames.map((f) => tsDelta(res.rtpInfo[0]!.rtptime, f.ts)),
    [0, 1, 2, 3, 4].map((i) => (i * 2 * 90000) / 8),
  );
});

test('Scale -1 plays backwards by keyframes; the range may be given either way round', async (t) => {
  const r = await rig(t, DEMO);
  if (!r) return;
  const { file, clock, sink, player, ends } = r;
  const res = player.play({ startS: 9.5, scale: -1 });
  assert.deepEqual([res.startS, res.endS, res.scale], [9, 0, -1]);
  await drive(clock, () => ends.length > 0);
  assert.deepEqual(ends, [{ reason: 'end', positionS: 0 }]);
  assert.equal(sink.of(1).length, 0);
  const frames = framesOf(file, 0, sink.of(0));
  assert.equal(frames.length, 10);
  // Timestamps keep increasing while npt goes down: 9, 8, ... 0 one second apart.
  frames.forEach((f, i) => assert.equal(tsDelta(res.rtpInfo[0]!.rtptime, f.ts), i * 90000));
  assert.ok(frames.every((f) => f.keyframe));
  assert.ok(clock.monotonicMs() >= 9000 && clock.monotonicMs() <= 9100);

  const count = sink.of(0).length;
  const back = player.play({ startS: 2, endS: 6.5, scale: -2 });
  assert.deepEqual([back.startS, back.endS, back.scale], [6, 2, -2]);
  assert.ok(tsDelta(res.rtpInfo[0]!.rtptime, back.rtpInfo[0]!.rtptime) >= 9 * 90000, 'never back in time');
  await drive(clock, () => ends.length > 1, 50);
  const more = framesOf(file, 0, sink.of(0).slice(count));
  assert.equal(more.length, 5, 'keyframes 6, 5, 4, 3, 2');
  more.forEach((f, i) => assert.equal(tsDelta(back.rtpInfo[0]!.rtptime, f.ts), (i * 90000) / 2));
  assert.equal(player.positionS, 2);
});

test('PLAY without Range while playing: unchanged does nothing, a new scale applies at once', async (t) => {
  const r = await rig(t, DEMO);
  if (!r) return;
  const { file, clock, sink, player, ends } = r;
  const first = player.play({ startS: 0, endS: 6 });
  await drive(clock, () => clock.monotonicMs() >= 1000);
  const live = player.play({});
  assert.deepEqual([live.startS, live.endS, live.scale, live.queued], [1, 6, 1, false]);
  assert.equal(tsDelta(first.rtpInfo[0]!.rtptime, live.rtpInfo[0]!.rtptime), 90000);
  assert.equal(live.rtpInfo[0]!.seq, (sink.of(0).at(-1)!.rtp.sequenceNumber + 1) & 0xffff);
  assert.equal(player.state, 'playing');

  await drive(clock, () => clock.monotonicMs() >= 2000);
  const count = sink.of(0).length;
  const ff = player.play({ scale: 2 });
  // From the keyframe at the position (2 s), to the same end, keyframes only.
  assert.deepEqual([ff.startS, ff.endS, ff.scale, ff.queued], [2, 6, 2, false]);
  assert.ok(tsDelta(first.rtpInfo[0]!.rtptime, ff.rtpInfo[0]!.rtptime) >= 2 * 90000);
  const audioBefore = sink.of(1).length;
  await drive(clock, () => ends.length > 0);
  assert.deepEqual(ends, [{ reason: 'end', positionS: 6 }]);
  assert.ok(clock.monotonicMs() >= 4000 && clock.monotonicMs() <= 4100, '4 s of npt at scale 2');
  assert.equal(sink.of(1).length, audioBefore, 'no audio at scale 2');
  const fast = framesOf(file, 0, sink.of(0).slice(count));
  assert.equal(fast.length, 4, 'keyframes 2, 3, 4, 5');
  fast.forEach((f, i) => assert.equal(tsDelta(ff.rtpInfo[0]!.rtptime, f.ts), (i * 90000) / 2));
  assertConsecutive(sink.of(0), 'video');
});

test('Scale 0.5: slow motion, every video frame, timestamps stretched, no audio', async (t) => {
  const r = await rig(t, DEMO);
  if (!r) return;
  const { file, clock, sink, player, ends } = r;
  const res = player.play({ startS: 5, endS: 6, scale: 0.5 });
  assert.equal(res.scale, 0.5);
  await drive(clock, () => ends.length > 0);
  assert.ok(clock.monotonicMs() >= 2000 && clock.monotonicMs() <= 2100);
  assert.equal(sink.of(1).length, 0);
  const frames = framesOf(file, 0, sink.of(0));
  assert.equal(frames.length, 25);
  frames.forEach((f, i) => assert.equal(tsDelta(res.rtpInfo[0]!.rtptime, f.ts), i * 2 * FRAME));
});

test('Speed 2 delivers twice as fast with unchanged timestamps', async (t) => {
  const r = await rig(t, DEMO);
  if (!r) return;
  const { file, clock, sink, player, ends } = r;
  const res = player.play({ startS: 0, endS: 4, speed: 2 });
  assert.deepEqual([res.scale, res.speed], [1, 2]);
  await drive(clock, () => ends.length > 0, 20);
  assert.ok(clock.monotonicMs() >= 2000 && clock.monotonicMs() <= 2020);
  const frames = framesOf(file, 0, sink.of(0));
  assert.equal(frames.length, 100);
  frames.forEach((f, i) => {
    assert.equal(tsDelta(res.rtpInfo[0]!.rtptime, f.ts), i * FRAME);
    assert.ok(f.atMs >= i * 20 && f.atMs <= i * 20 + 20, `frame ${i} sent at ${f.atMs}`);
  });
  const aus = framesOf(file, 1, sink.of(1));
  aus.forEach((a, i) => assert.equal(tsDelta(aus[0]!.ts, a.ts), i * AAC_FRAME));
});

test("each track's first report follows its own first packet when its first sample is read late", async (t) => {
  const r = await rig(t, DEMO, { senderReportIntervalMs: 5000 });
  if (!r) return;
  const { file, clock, sink, player } = r;
  // Audio's reads wait until released: video's first frames go out in ticks before audio's first packet.
  let release!: () => void;
  const audioHeld = new Promise<void>((resolve) => (release = resolve));
  const read = file.reader.readSample.bind(file.reader);
  file.reader.readSample = async (track, i) => {
    if (track.kind === 'audio') await audioHeld;
    return read(track, i);
  };
  player.play({ startS: 0 });
  await drive(clock, () => false, 20, 5);
  assert.ok(sink.of(0).length > 0, 'video went out');
  assert.equal(sink.of(1).length, 0, 'audio is held');
  assert.deepEqual(
    sink.srs.map((s) => s.track),
    [0],
  );
  release();
  await drive(clock, () => sink.of(1).length > 0, 20, 5);
  const firstAudio = sink.of(1)[0]!;
  assert.ok(
    sink.srs.some((s) => s.track === 1 && s.atMs === firstAudio.atMs),
    `audio's first report goes out with its first packet at ${firstAudio.atMs} ms, not 5 s later`,
  );
  assert.equal(sink.srs.filter((s) => s.track === 0).length, 1, 'video is not reported again');
});

test('sender reports after a seek map the RTP time of the next packets to the time they are sent', async (t) => {
  const r = await rig(t, DEMO, { senderReportIntervalMs: 5000 });
  if (!r) return;
  const { clock, sink, player } = r;
  player.play({ startS: 0 });
  await drive(clock, () => clock.monotonicMs() >= 1000, 10);
  player.pause();
  await drive(clock, () => false, 1000, 2);
  const from = sink.rtp.length;
  const srFrom = sink.srs.length;
  player.play({ startS: 2.5 }); // back in the file: 7.5 s from the keyframe at 2
  // Fine steps for the first second after the seek, then coarse ones past the next report.
  await drive(clock, () => clock.monotonicMs() >= 4000, 10);
  await drive(clock, () => clock.monotonicMs() >= 8100, 100);

  for (const track of [0, 1]) {
    const srs = sink.srs.slice(srFrom).filter((s) => s.track === track);
    assert.ok(srs.length >= 2, `track ${track}: an SR right after PLAY, then every 5 s`);
    assert.ok(srs[0]!.atMs <= 3010, 'the first one right after the PLAY');
    assert.ok(
      srs[1]!.atMs - srs[0]!.atMs >= 5000 && srs[1]!.atMs - srs[0]!.atMs <= 5100,
      'then 5 s later (within a 100 ms step)',
    );
    assert.equal(srs[0]!.sr.ssrc, player.ssrc(track));
    const clockRate = track === 0 ? 90000 : 48000;
    const sent = sink.of(track, from);
    for (const s of sent) {
      const srNow = srs.filter((x) => x.atMs <= s.atMs).at(-1) ?? srs[0]!;
      const mapped = rtpToWallMs(s.rtp.timestamp, srNow.sr, clockRate);
      // Audio starts up to a frame early (21 ms); packets go out within a step of their time.
      const stepMs = s.atMs <= 4000 ? 10 : 100;
      assert.ok(
        Math.abs(mapped - s.wallMs) <= 22 + stepMs,
        `track ${track} ts ${s.rtp.timestamp}: mapped to ${mapped - s.wallMs} ms from its send time`,
      );
    }
    assert.ok(srs[0]!.sr.packetCount > 0);
  }
});

test('sender reports stay true across queued ranges, a forward seek, Scale 2 and Scale -1', async (t) => {
  // A report at each PLAY and every 700 ms: each must map the RTP time of the packets after it to
  // the wall time they are sent, through the switch to a queued range and through trick play.
  const r = await rig(t, DEMO, { senderReportIntervalMs: 700 });
  if (!r) return;
  const { clock, sink, player, ends } = r;
  const STEP_MS = 20;
  const plays: number[] = [];
  const playAt = (req: Parameters<VodPlayer['play']>[0]): void => {
    plays.push(clock.monotonicMs());
    player.play(req);
  };
  playAt({ startS: 0, endS: 2 });
  player.play({ startS: 6, endS: 7 }); // queued: no new report, RTP time runs on from the first range
  await drive(clock, () => ends.length > 0, STEP_MS);
  await drive(clock, () => false, STEP_MS, 10);
  playAt({ startS: 8.3 }); // forward, from the keyframe at 8
  await drive(clock, () => clock.monotonicMs() >= plays[1]! + 1000, STEP_MS);
  player.pause();
  playAt({ startS: 1, scale: 2 }); // back, fast forward (keyframes at wall pace)
  await drive(clock, () => clock.monotonicMs() >= plays[2]! + 1500, STEP_MS);
  player.pause();
  playAt({ startS: 9.5, endS: 6, scale: -1 }); // backwards by keyframes
  await drive(clock, () => ends.length > 1, STEP_MS);
  assert.deepEqual(
    ends.map((e) => e.reason),
    ['end', 'end'],
  );

  for (const track of [0, 1]) {
    const srs = sink.srs.filter((s) => s.track === track);
    const clockRate = track === 0 ? 90000 : 48000;
    const sent = sink.of(track);
    assert.ok(sent.length > 0);
    // Audio is sent at scale 1 only: it has a report after the first two PLAYs, video after all four.
    for (const at of track === 0 ? plays : plays.slice(0, 2))
      assert.ok(
        srs.some((s) => s.atMs >= at && s.atMs <= at + STEP_MS),
        `track ${track}: a sender report right after the PLAY at ${at} ms`,
      );
    for (const s of sent) {
      const sr = srs.filter((x) => x.atMs <= s.atMs).at(-1);
      assert.ok(sr, `track ${track}: a report before the first packet`);
      const mapped = rtpToWallMs(s.rtp.timestamp, sr.sr, clockRate);
      // Audio starts up to a frame early (21 ms); packets go out within a step of their time.
      assert.ok(
        Math.abs(mapped - s.wallMs) <= 22 + STEP_MS,
        `track ${track} ts ${s.rtp.timestamp} sent at ${s.atMs} ms: mapped ${mapped - s.wallMs} ms off`,
      );
    }
  }
});

test('B-frames: a range starts at the keyframe, every frame of it once, pause/resume exact', async (t) => {
  const r = await rig(t, BFRAMES);
  if (!r) return;
  const { file, clock, sink, player, ends } = r;
  const res = player.play({ startS: 5.2, endS: 7 });
  assert.equal(res.startS, 5);
  await drive(clock, () => clock.monotonicMs() >= 1230);
  player.pause();
  await drive(clock, () => false, 500, 2);
  player.play({});
  await drive(clock, () => ends.length > 0);
  assert.deepEqual(ends, [{ reason: 'end', positionS: 7 }]);
  const video = sink.of(0);
  assertConsecutive(video, 'video');
  assert.equal(video[0]!.rtp.timestamp, res.rtpInfo[0]!.rtptime);
  const frames = framesOf(file, 0, video);
  const rel = frames.map((f) => tsDelta(res.rtpInfo[0]!.rtptime, f.ts) / FRAME);
  // Presentation order differs from decode order, and references of frames before 7 s may
  // present after it; every frame from 5 s to 6.96 s is there exactly once.
  assert.notDeepEqual(
    rel,
    [...rel].sort((x, y) => x - y),
  );
  assert.equal(new Set(rel).size, rel.length, 'no frame twice');
  const inRange = rel.filter((x) => x < 50).sort((x, y) => x - y);
  assert.deepEqual(
    inRange,
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.ok(rel.every((x) => Number.isInteger(x) && x >= 0 && x < 54));
  assertConsecutive(sink.of(1), 'audio');
});

test('a session with only audio set up plays at scale 1; play after stop throws', async (t) => {
  const r = await rig(t, DEMO, { tracks: [1], ssrcs: [undefined, 0x1234] });
  if (!r) return;
  const { clock, sink, player, ends } = r;
  const res = player.play({ startS: 2, endS: 3, scale: 4 });
  assert.deepEqual([res.startS, res.scale, res.rtpInfo.length], [2, 1, 1]);
  assert.equal(player.ssrc(1), 0x1234);
  await drive(clock, () => ends.length > 0);
  assert.ok(sink.rtp.length > 40 && sink.rtp.every((p) => p.track === 1 && p.rtp.ssrc === 0x1234));
  player.stop();
  assert.throws(() => player.play({}), /after stop/);
  assert.throws(() => new VodPlayer(r.file, sink, { tracks: [5] }), RangeError);
});

test('the file closed under a playing session: onEnd with an error, nothing thrown', async (t) => {
  const r = await rig(t, DEMO);
  if (!r) return;
  const { file, clock, player, ends } = r;
  player.play({ startS: 0 });
  await settle();
  await file.close();
  await drive(clock, () => ends.length > 0);
  const end = ends.at(0);
  assert.ok(end);
  assert.equal(end.reason, 'error');
  assert.match(String(end.error), /after close/);
  assert.equal(player.state, 'ready');
});

test('the priming rule: from npt 0, the AAC priming frame (entirely before 0) is not sent; video starts at pts 0 with B-frames', async (t) => {
  for (const path of [DEMO, BFRAMES]) {
    const r = await rig(t, path);
    if (!r) return;
    const { file, clock, sink, player } = r;
    const audioTrack = file.tracks[1]!.mp4;
    assert.equal(audioTrack.samples.dts[0], -AAC_FRAME, `${path}: the file has a priming frame`);
    const res = player.play({ startS: 0, endS: 1 });
    assert.equal(res.startS, 0);
    await drive(clock, () => clock.monotonicMs() >= 1000);
    const [vInfo, aInfo] = res.rtpInfo;
    assert.equal(sink.of(1)[0]!.rtp.timestamp, aInfo!.rtptime, `${path}: audio starts at npt 0, not before`);
    assert.equal(
      sink.of(1).length,
      47,
      `${path}: 47 AAC frames in [0, 1 s), the priming frame not among them`,
    );
    const frames = framesOf(file, 0, sink.of(0));
    const minPts = Math.min(...frames.map((f) => tsDelta(vInfo!.rtptime, f.ts)));
    assert.equal(minPts, 0, `${path}: the earliest video frame is presented at npt 0`);
    player.stop();
  }
});

test('a seek past the end: an empty range at the end, which ends at once (the server sends BYE)', async (t) => {
  const r = await rig(t, DEMO);
  if (!r) return;
  const { clock, sink, player, ends } = r;
  const res = player.play({ startS: 42 });
  assert.deepEqual([res.startS, res.endS], [10, 10]);
  await drive(clock, () => ends.length > 0, 10, 20);
  assert.deepEqual(ends, [{ reason: 'end', positionS: 10 }]);
  assert.equal(sink.rtp.length, 0, 'nothing to decode and discard');
});
