// Stream fan-out: per-reader SSRC and sequence numbers, shared bytes otherwise, and SR counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualTimerClock } from '../base/clock.js';
import { parseRtpPacket, readRtpHeader, serializeRtpPacket } from '../rtp/packet.js';
import { RtspFramer } from '../rtsp/framer.js';
import { ReaderBacklogBudget } from './reader-backlog.js';
import { MAX_FRAME_HOLD_MS } from './flush-schedule.js';
import { Stream, type StreamReader } from './stream.js';

/** A reader that keeps what it is given: framed bytes (TCP) or datagrams (UDP). */
class Reader implements StreamReader {
  /** What the socket has not taken yet: set by a test to play a slow reader. */
  backlogBytes = 0;
  readonly framed: Buffer[] = [];
  readonly datagrams: { track: number; packet: Buffer }[] = [];
  constructor(
    readonly transport: 'tcp' | 'udp',
    readonly tracks: readonly number[],
    readonly rtpChannels: readonly (number | undefined)[] = [],
    readonly ssrcs: readonly (number | undefined)[] = [],
  ) {}
  writeInterleaved(bytes: Buffer): void {
    this.framed.push(Buffer.from(bytes));
  }
  sendRtp(track: number, packet: Buffer): void {
    this.datagrams.push({ track, packet: Buffer.from(packet) });
  }
  sendRtcp(): void {}
  streamEnded(): void {}
  cutOffReason: string | undefined;
  cutOff(reason: string): void {
    this.cutOffReason = reason;
  }
  /** The RTP packets received, in order, with their track. */
  packets(): { track: number; seq: number; ssrc: number; timestamp: number; payload: string }[] {
    const raw: { track: number; packet: Buffer }[] = [];
    if (this.transport === 'udp') raw.push(...this.datagrams);
    else {
      const framer = new RtspFramer();
      for (const m of this.framed.flatMap((b) => framer.push(b))) {
        if (m.kind !== 'interleaved') continue;
        raw.push({ track: this.rtpChannels.indexOf(m.channel), packet: m.payload });
      }
    }
    return raw.map(({ track, packet }) => {
      const p = parseRtpPacket(packet);
      return {
        track,
        seq: p.sequenceNumber,
        ssrc: p.ssrc,
        timestamp: p.timestamp,
        payload: p.payload.toString('hex'),
      };
    });
  }
}

function packet(seq: number, timestamp: number, payload: number[]): Buffer {
  return serializeRtpPacket({
    marker: true,
    payloadType: 96,
    sequenceNumber: seq,
    timestamp,
    ssrc: 0x11111111,
    csrcs: [],
    payload: Buffer.from(payload),
  });
}

/**
 * Publishes one-packet H.264 frames to `stream`, each flushed: a keyframe as its parameter sets and IDR (NAL
 * types 7, 8, 5), else one P slice (1). `nextSeq` hands out the following sequence number.
 */
function h264Frames(
  stream: Stream,
  firstSeq = 0,
): { frame: (key: boolean, timestamp: number) => void; nextSeq: () => number } {
  let seq = firstSeq;
  return {
    frame: (key, timestamp) => {
      for (const nal of key ? [0x67, 0x68, 0x65] : [0x41])
        stream.ingestRtp(0, packet(seq++, timestamp, [nal, 0]));
      stream.flushNow();
    },
    nextSeq: () => seq++,
  };
}

test('each reader has its own SSRC and sequence base; payload and timestamps are shared', () => {
  // PCMA: no keyframes, so readers start at once.
  const stream = new Stream([
    { encodingName: 'PCMA', clockRate: 8000 },
    { encodingName: 'PCMU', clockRate: 8000 },
  ]);
  const a = new Reader('tcp', [0, 1], [0, 2], [0xaaaa0001, 0xaaaa0002]);
  const b = new Reader('tcp', [0, 1], [0, 2]);
  const u = new Reader('udp', [0]);
  for (const r of [a, b, u]) stream.addReader(r);
  for (let i = 0; i < 5; i++) {
    stream.ingestRtp(0, packet((65533 + i) & 0xffff, 160 * i, [i]));
    stream.ingestRtp(1, packet(100 + i, 160 * i, [0x80 + i]));
    if (i === 2) stream.flushNow();
  }
  stream.flushNow();

  const got = [a, b, u].map((r) => r.packets());
  assert.deepEqual(
    got.map((ps) => ps.length),
    [10, 10, 5],
  );
  // The SSRC promised in SETUP is kept; the others are random and all differ.
  assert.deepEqual([...new Set(got[0]!.map((p) => p.ssrc))], [0xaaaa0001, 0xaaaa0002]);
  const ssrcs = got.flatMap((ps) => [...new Set(ps.map((p) => p.ssrc))]);
  assert.equal(new Set(ssrcs).size, ssrcs.length, 'no SSRC shared between readers or tracks');
  for (const ps of got) {
    for (const track of [0, 1]) {
      const t = ps.filter((p) => p.track === track);
      if (t.length === 0) continue;
      // Contiguous across the 16-bit wrap of the input, from the reader's own base.
      for (let i = 1; i < t.length; i++) assert.equal(t[i]!.seq, (t[i - 1]!.seq + 1) & 0xffff);
      assert.deepEqual(
        t.map((p) => p.timestamp),
        [0, 160, 320, 480, 640],
      );
      assert.deepEqual(
        t.map((p) => p.payload),
        [0, 1, 2, 3, 4].map((i) => (track === 0 ? i : 0x80 + i).toString(16).padStart(2, '0')),
      );
    }
  }
  // RTP-Info reports the reader's own numbers.
  assert.equal(stream.readerStarts(a)[0]?.seq, got[0]!.find((p) => p.track === 0)!.seq);
  assert.equal(stream.readerStarts(u)[0]?.seq, got[2]![0]!.seq);
  assert.notEqual(got[0]![0]!.seq, got[1]![0]!.seq, 'random bases (1 in 65536 to collide)');

  // Sender-report inputs: per reader, packets and payload octets of what it was sent.
  const track0 = stream.readersOfTrack(0);
  assert.equal(track0.length, 3);
  const ofA = track0.find((r) => r.reader === a)!;
  assert.deepEqual([ofA.ssrc, ofA.packetsSent, ofA.octetsSent], [0xaaaa0001, 5, 5]);
  assert.deepEqual(
    stream.readersOfTrack(1).map((r) => r.reader),
    [a, b],
  );
});

test('TCP readers get one write per flush; a slow reader skips to the next keyframe, its drops counted', () => {
  const stream = new Stream([{ encodingName: 'H264', clockRate: 90000 }], { maxReaderBacklogBytes: 1000 });
  const slow = new Reader('tcp', [0], [0]);
  const fast = new Reader('tcp', [0], [0]);
  const { frame } = h264Frames(stream);
  frame(true, 0);
  for (const r of [slow, fast]) stream.addReader(r);
  assert.deepEqual(
    [slow, fast].map((r) => r.framed.length),
    [1, 1],
    'the cached keyframe in one write',
  );
  slow.backlogBytes = 2000;
  frame(false, 3600);
  frame(false, 7200);
  slow.backlogBytes = 0;
  frame(false, 10800); // drained, but a P frame cannot be decoded without what was skipped
  frame(true, 14400);
  frame(false, 18000);

  const nalTypes = (r: Reader): number[] =>
    r.packets().map((p) => parseInt(p.payload.slice(0, 2), 16) & 0x1f);
  assert.deepEqual(nalTypes(fast), [7, 8, 5, 1, 1, 1, 7, 8, 5, 1]);
  assert.deepEqual(nalTypes(slow), [7, 8, 5, 7, 8, 5, 1], 'back at the next keyframe, parameter sets first');
  assert.equal(stream.droppedPackets, 3);
  assert.equal(fast.framed.length, 6, 'one write per flush');
  assert.equal(slow.framed.length, 3);
});

test("a track's RTP timing comes from its first packet, not each arrival, and from the publisher's SRs when sent", () => {
  let nowMs = 1000;
  const clock = { monotonicMs: () => nowMs, wallMs: () => 1.7e12 + nowMs };
  const stream = new Stream(
    [
      { encodingName: 'PCMA', clockRate: 8000 },
      { encodingName: 'PCMU', clockRate: 8000 },
    ],
    { clock },
  );
  assert.equal(stream.monotonicMsOfRtp(0, 0), undefined);
  // 20 ms packets arriving with up to 7 ms of jitter: the timing stays on the first packet's line.
  const jitterMs = [0, 7, 2, 5, 1, 6, 3];
  jitterMs.forEach((j, i) => {
    nowMs = 1000 + 20 * i + j;
    stream.ingestRtp(0, packet(i, 5000 + 160 * i, [i]));
  });
  assert.equal(stream.monotonicMsOfRtp(0, 5000 + 160 * 6), 1120);
  assert.equal(stream.monotonicMsOfRtp(0, 5000 - 8000), 0);
  // A timestamp jump of an hour (a publisher restarting its timeline) takes the timing again.
  nowMs = 1200;
  stream.ingestRtp(0, packet(7, 5000 + 8000 * 3600, [7]));
  assert.equal(stream.monotonicMsOfRtp(0, 5000 + 8000 * 3600), 1200);

  // Sender reports: one offset moves the publisher's NTP clock onto ours, kept for every track, so its
  // alignment of the two tracks (here 40 ms apart at the same RTP time) is what readers get.
  nowMs = 2000;
  stream.ingestSenderReport(0, 90_000, 5_000_000);
  nowMs = 2500;
  stream.ingestSenderReport(1, 90_000, 5_000_040);
  assert.equal(stream.monotonicMsOfRtp(0, 90_000), 2000);
  assert.equal(stream.monotonicMsOfRtp(1, 90_000), 2040);
  assert.equal(stream.monotonicMsOfRtp(1, 90_000 + 8000), 3040);
  // Once a track has the publisher's timing, arrivals far from it do not override it.
  nowMs = 9000;
  stream.ingestRtp(1, packet(0, 90_000, [0]));
  assert.equal(stream.monotonicMsOfRtp(1, 90_000), 2040);
});

test('past the total cap the readers asking for more shed, never one with nothing queued; one that does not drain is cut off', () => {
  let nowMs = 0;
  const clock = { monotonicMs: () => nowMs, wallMs: () => 1.7e12 + nowMs };
  const budget = new ReaderBacklogBudget({ maxTotalBytes: 1000, stallTimeoutMs: 5000 });
  const stream = new Stream([{ encodingName: 'H264', clockRate: 90000 }], {
    clock,
    backlogBudget: budget,
    maxReaderBacklogBytes: 100_000,
  });
  const good = new Reader('tcp', [0], [0]);
  const stalled = new Reader('tcp', [0], [0]);
  const draining = new Reader('tcp', [0], [0]);
  const udp = new Reader('udp', [0]);
  let seq = 0;
  let timestamp = 0;
  const frame = (key: boolean): void => {
    timestamp += 3600;
    for (const nal of key ? [0x67, 0x68, 0x65] : [0x41])
      stream.ingestRtp(0, packet(seq++, timestamp, [nal, 0]));
    stream.flushNow();
  };
  frame(true);
  for (const r of [good, stalled, draining, udp]) stream.addReader(r);
  assert.equal(budget.readers, 3, 'TCP readers are counted, UDP ones (a shared send queue) are not');
  // Each holds 1500 bytes, past the cap (1000) and past its share (1000 / 3): they shed, the good one
  // (nothing queued) and the UDP one (not counted, and a shared queue) do not.
  stalled.backlogBytes = 1500;
  draining.backlogBytes = 1500;
  udp.backlogBytes = 1500;
  frame(false);
  assert.equal(budget.totalBytes, 3000);
  assert.deepEqual(
    [good, stalled, draining, udp].map((r) => r.packets().length),
    [4, 3, 3, 4],
  );
  assert.equal(budget.capDroppedPackets, 2);
  assert.equal(stream.droppedPackets, 2);

  nowMs = 3000;
  draining.backlogBytes = 700; // halved: its stall clock starts again
  frame(false);
  nowMs = 6000;
  frame(false);
  assert.match(stalled.cutOffReason ?? '', /backlog of 1500 bytes did not drain in 6000 ms/);
  assert.equal(draining.cutOffReason, undefined);
  assert.equal(good.cutOffReason, undefined);
  assert.deepEqual([stream.readersCutOff, budget.readersCutOff, budget.readers], [1, 1, 2]);
  assert.equal(budget.totalBytes, 700, 'the cut-off reader no longer counts');
  // Drained and under the cap: the draining reader is back at the next keyframe.
  draining.backlogBytes = 0;
  frame(true);
  assert.equal(draining.packets().length, 3 + 3);
  stream.removeReader(draining);
  stream.removeReader(good);
  assert.deepEqual([budget.readers, budget.totalBytes], [0, 0]);
});

test('a packet parseRtpPacket refuses is forwarded but never starts the GOP cache; the header handed in is used', () => {
  const stream = new Stream([{ encodingName: 'H264', clockRate: 90000 }]);
  const idr = packet(1, 3000, [0x65, 0x88]);
  // P bit set with a padding count of 0: malformed (RFC 3550 §5.1).
  const malformed = Buffer.from(idr);
  malformed[0] = malformed[0]! | 0x20;
  malformed[malformed.length - 1] = 0;
  stream.ingestRtp(0, malformed, readRtpHeader(malformed));
  assert.equal(stream.counters[0]!.packetsIn, 1, 'counted');
  assert.equal(stream.hasCachedKeyframe, false);
  const header = readRtpHeader(idr)!;
  stream.ingestRtp(0, idr, header);
  assert.equal(stream.hasCachedKeyframe, true);
  const reader = new Reader('udp', [0]);
  stream.addReader(reader);
  stream.flushNow();
  assert.deepEqual(
    reader.packets().map((p) => [p.timestamp, p.payload]),
    [[3000, '6588']],
    'the reader starts at the well-formed keyframe',
  );
});

/**
 * A UDP reader taking the packet the stream rewrites for the next reader; `queued` plays a socket that
 * keeps the buffer (sends later).
 */
class TransientReader extends Reader {
  readonly kept: Buffer[] = [];
  constructor(
    tracks: readonly number[],
    private readonly queued: boolean,
  ) {
    super('udp', tracks);
  }
  sendRtpTransient(track: number, packet: Buffer): boolean {
    if (this.queued) this.kept.push(packet);
    else this.datagrams.push({ track, packet: Buffer.from(packet) });
    return !this.queued;
  }
  /** What a queued socket sends in the end: the buffers as they are then. */
  sendKept(): void {
    for (const k of this.kept.splice(0)) this.datagrams.push({ track: 0, packet: Buffer.from(k) });
  }
}

test('UDP readers get one patched copy of each packet; a packet still queued in a socket is never rewritten', () => {
  const stream = new Stream([{ encodingName: 'PCMA', clockRate: 8000 }]);
  const queued = new TransientReader([0], true);
  const sent = new TransientReader([0], false);
  const sentToo = new TransientReader([0], false);
  const plain = new Reader('udp', [0]);
  const readers = [sent, queued, sentToo, plain];
  for (const r of readers) stream.addReader(r);
  const published = [0, 1, 2, 3, 4].map((i) => packet(1000 + i, 160 * i, [i, i, i]));
  const before = published.map((p) => Buffer.from(p));
  for (const p of published) stream.ingestRtp(0, p);
  stream.flushNow();
  stream.ingestRtp(0, packet(1005, 800, [5, 5, 5]));
  stream.flushNow();
  queued.sendKept();
  for (const r of readers) {
    const ps = r.packets();
    assert.equal(ps.length, 6);
    assert.equal(new Set(ps.map((p) => p.ssrc)).size, 1, 'one SSRC per reader');
    for (let i = 1; i < ps.length; i++) assert.equal(ps[i]!.seq, (ps[0]!.seq + i) & 0xffff);
    assert.deepEqual(
      ps.map((p) => p.payload),
      [0, 1, 2, 3, 4, 5].map((i) => Buffer.from([i, i, i]).toString('hex')),
    );
  }
  const ssrcs = readers.map((r) => r.packets()[0]!.ssrc);
  assert.equal(new Set(ssrcs).size, readers.length);
  // Nothing of the publisher's header reached a reader, and the publisher's packets were not written.
  assert.ok(ssrcs.every((s) => s !== 0x11111111));
  assert.deepEqual(published, before);
});

test('a join storm: GOP bursts go out a budget per event-loop turn; readers already playing get every packet', async () => {
  // Each burst is 3 packets of 12 + 2 bytes (42 bytes): a budget of 50 lets two in per turn.
  const stream = new Stream([{ encodingName: 'H264', clockRate: 90000 }], { joinBytesPerTurn: 50 });
  const { frame } = h264Frames(stream);
  frame(true, 0);
  const playing = new Reader('tcp', [0], [0]);
  stream.addReader(playing);
  await new Promise((resolve) => setImmediate(resolve)); // a new turn: a new budget
  const storm = Array.from({ length: 5 }, () => new Reader('tcp', [0], [0]));
  for (const r of storm) stream.addReader(r);
  const joined = (): number => storm.filter((r) => r.framed.length > 0).length;
  assert.equal(joined(), 2, 'two bursts in this turn, the others wait');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(joined(), 4);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(joined(), 5);
  frame(false, 3600);
  const nalTypes = (r: Reader): number[] =>
    r.packets().map((p) => parseInt(p.payload.slice(0, 2), 16) & 0x1f);
  for (const r of [playing, ...storm]) assert.deepEqual(nalTypes(r), [7, 8, 5, 1]);
  // Every burst was framed once and patched per reader: each has its own SSRC.
  assert.equal(new Set(storm.map((r) => r.packets()[0]!.ssrc)).size, 5);
});

/** A session before its PLAY reply is written: the stream's bytes would be held (copied) by it. */
class HeldReader extends Reader {
  outputHeld = true;
  override writeInterleaved(bytes: Buffer): void {
    assert.equal(this.outputHeld, false, 'nothing is written while the output is held');
    super.writeInterleaved(bytes);
  }
}

test('a session joining from the GOP cache: start known at once, nothing written before its reply, then its whole burst', () => {
  const stream = new Stream([{ encodingName: 'H264', clockRate: 90000 }]);
  const { frame, nextSeq } = h264Frames(stream, 100);
  frame(true, 0);
  frame(false, 3000);
  const playing = new Reader('tcp', [0], [0]);
  stream.addReader(playing);
  const joiners = Array.from({ length: 3 }, () => new HeldReader('tcp', [0], [0]));
  const starts = joiners.map((r) => {
    let start: { seq: number } | undefined;
    stream.addReader(r, (_, s) => (start = s));
    assert.ok(start !== undefined, 'the start (RTP-Info) is known inside addReader');
    return start;
  });
  frame(false, 6000); // flushed to the playing reader; the joiners collect it
  frame(true, 9000); // a new keyframe before their replies are written: they keep the start they were given
  stream.ingestRtp(0, packet(nextSeq(), 9000, [0x41, 0])); // queued, not flushed yet
  for (const r of joiners) {
    assert.equal(r.framed.length, 0);
    r.outputHeld = false; // its PLAY reply is written
    stream.outputOpened(r);
  }
  frame(false, 12000);
  const nalTypes = (r: Reader): number[] =>
    r.packets().map((p) => parseInt(p.payload.slice(0, 2), 16) & 0x1f);
  for (const [i, r] of joiners.entries()) {
    // Everything from the keyframe it started at, in order, none lost, none twice.
    assert.deepEqual(nalTypes(r), [7, 8, 5, 1, 1, 7, 8, 5, 1, 1]);
    const ps = r.packets();
    assert.equal(ps[0]!.seq, starts[i]!.seq);
    for (let k = 1; k < ps.length; k++) assert.equal(ps[k]!.seq, (ps[0]!.seq + k) & 0xffff);
  }
  assert.deepEqual(nalTypes(playing), [7, 8, 5, 1, 1, 7, 8, 5, 1, 1]);
});

test('PLAY replies written while packets are queued: each burst goes with the next flush, one write per reader for the turn', () => {
  const stream = new Stream([{ encodingName: 'H264', clockRate: 90000 }]);
  const { frame, nextSeq } = h264Frames(stream, 100);
  frame(true, 0);
  const playing = new Reader('tcp', [0], [0]);
  stream.addReader(playing);
  const joiners = Array.from({ length: 5 }, () => new HeldReader('tcp', [0], [0]));
  for (const r of joiners) stream.addReader(r);
  const writesBefore = playing.framed.length;
  // As in a storm's turn: the publisher's packets and the PLAY replies come in between each other.
  for (const [i, r] of joiners.entries()) {
    stream.ingestRtp(0, packet(nextSeq(), 3000 * (i + 1), [0x41, 0]));
    r.outputHeld = false;
    stream.outputOpened(r);
  }
  assert.equal(playing.framed.length, writesBefore, 'no flush for a PLAY reply');
  assert.ok(joiners.every((r) => r.framed.length === 0));
  stream.flushNow();
  assert.equal(playing.framed.length, writesBefore + 1);
  const nalTypes = (r: Reader): number[] =>
    r.packets().map((p) => parseInt(p.payload.slice(0, 2), 16) & 0x1f);
  for (const r of joiners) {
    assert.deepEqual(nalTypes(r), [7, 8, 5, 1, 1, 1, 1, 1], 'its burst and every packet since, once');
    const ps = r.packets();
    for (let k = 1; k < ps.length; k++) assert.equal(ps[k]!.seq, (ps[0]!.seq + k) & 0xffff);
  }
});

test('a joining session whose reply is held past the backlog bound sheds, then joins at the next keyframe', () => {
  const stream = new Stream([{ encodingName: 'H264', clockRate: 90000 }], { maxReaderBacklogBytes: 100 });
  const { frame } = h264Frames(stream);
  frame(true, 0);
  const held = new HeldReader('tcp', [0], [0]);
  stream.addReader(held); // 42 bytes pending
  for (let i = 1; i <= 5; i++) frame(false, 3000 * i); // 14 bytes each: past 100 at the fifth
  assert.ok(stream.droppedPackets > 0, 'it shed');
  held.outputHeld = false;
  stream.outputOpened(held); // nothing to send: it waits for a keyframe
  assert.equal(held.framed.length, 0);
  frame(true, 18000);
  frame(false, 21000);
  const nalTypes = held.packets().map((p) => parseInt(p.payload.slice(0, 2), 16) & 0x1f);
  assert.deepEqual(nalTypes, [7, 8, 5, 1]);
});

test('a storm start: a session PLAYing while the pacer is busy is answered at once and starts at the next keyframe, numbered as announced', () => {
  const clock = new ManualTimerClock();
  const stream = new Stream(
    [
      { encodingName: 'H264', clockRate: 90000 },
      { encodingName: 'PCMA', clockRate: 8000 },
    ],
    { clock, joinBytesPerTurn: 1 }, // the first join spends the turn's budget
  );
  const { frame } = h264Frames(stream, 100);
  let audioSeq = 500;
  const audio = (timestamp: number): void => {
    stream.ingestRtp(1, packet(audioSeq++, timestamp, [0xd5]));
    stream.flushNow();
  };
  frame(true, 0);
  audio(0);
  clock.advance(40);
  frame(false, 3600);
  audio(320);
  clock.advance(60); // the PLAYs come 100 ms after the keyframe
  const first = new HeldReader('tcp', [0, 1], [0, 2]);
  const firstStarts: { seq: number; rtptime: number }[] = [];
  stream.addReader(first, (track, s) => (firstStarts[track] = s));
  const late = new HeldReader('tcp', [0, 1], [0, 2]);
  const lateStarts: { seq: number; rtptime: number }[] = [];
  stream.addReader(late, (track, s) => (lateStarts[track] = s));
  assert.equal(stream.stormStarts, 1);
  // The first joins from the cache (its keyframe's RTP time); the late one is told the PLAY instant.
  assert.equal(firstStarts[0]!.rtptime, 0);
  assert.equal(lateStarts.length, 2, 'both starts announced inside addReader');
  assert.equal(lateStarts[0]!.rtptime, 9000); // 100 ms at 90 kHz after the keyframe's arrival
  assert.equal(lateStarts[1]!.rtptime, 800); // the same instant at 8 kHz
  for (const r of [first, late]) {
    r.outputHeld = false; // the PLAY replies are written
    stream.outputOpened(r);
  }
  clock.advance(40);
  frame(false, 7200);
  audio(640);
  assert.equal(late.framed.length, 0, 'nothing before the next keyframe');
  clock.advance(40);
  audio(960);
  frame(true, 10800);
  audio(1280);
  frame(false, 14400);
  audio(1600);
  const nalTypes = (r: Reader): number[] =>
    r.packets().flatMap((p) => (p.track === 0 ? [parseInt(p.payload.slice(0, 2), 16) & 0x1f] : []));
  assert.deepEqual(nalTypes(first), [7, 8, 5, 1, 1, 7, 8, 5, 1]);
  assert.deepEqual(nalTypes(late), [7, 8, 5, 1]);
  // Each track's first packet carries the announced number, and the numbers run on from there.
  for (const track of [0, 1]) {
    const ps = late.packets().filter((p) => p.track === track);
    assert.equal(ps[0]!.seq, lateStarts[track]!.seq, `track ${track}`);
    for (let k = 1; k < ps.length; k++) assert.equal(ps[k]!.seq, (ps[0]!.seq + k) & 0xffff);
  }
  assert.deepEqual(
    late.packets().flatMap((p) => (p.track === 1 ? [p.timestamp] : [])),
    [1280, 1600],
  );
});

test('bursts to joining sessions are bounded per second: past it, sessions in later turns start at the next keyframe too', async () => {
  const clock = new ManualTimerClock();
  // The cached GOP is 3 packets of 14 bytes: a second's allowance of 50 bytes lets one burst go, then two.
  const stream = new Stream([{ encodingName: 'H264', clockRate: 90000 }], {
    clock,
    joinBurstBytesPerSecond: 50,
  });
  const { frame } = h264Frames(stream);
  frame(true, 0);
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const join = (): void => stream.addReader(new HeldReader('tcp', [0], [0]), () => undefined);
  join(); // 42 of 50 bytes
  await turn();
  join(); // 8 bytes left: it bursts, and the bucket goes below zero
  await turn();
  join();
  assert.equal(stream.stormStarts, 1, 'the third, a turn later, starts at the next keyframe');
  clock.advance(1000);
  await turn();
  join();
  assert.equal(stream.stormStarts, 1, 'a second later the allowance is back');
  const none = new Stream([{ encodingName: 'H264', clockRate: 90000 }], {
    clock,
    joinBurstBytesPerSecond: 0,
  });
  h264Frames(none).frame(true, 0);
  none.addReader(new HeldReader('tcp', [0], [0]), () => undefined);
  assert.equal(none.stormStarts, 1, '0: always at the next keyframe');
});

test('without a window a flush waits for the packet that ends a frame (its marker), at most MAX_FRAME_HOLD_MS', async () => {
  // The hold's timer runs on the stream's clock, which moves only when told: turns pass, time does not.
  const clock = new ManualTimerClock();
  const stream = new Stream(
    [
      { encodingName: 'H264', clockRate: 90000 },
      { encodingName: 'PCMA', clockRate: 8000 },
    ],
    { clock },
  );
  const reader = new Reader('tcp', [0, 1], [0, 2]);
  stream.addReader(reader);
  let seq = 0;
  const video = (timestamp: number, nal: number, marker: boolean): void =>
    stream.ingestRtp(
      0,
      serializeRtpPacket({ ...parseRtpPacket(packet(seq++, timestamp, [nal, 0])), marker }),
    );
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  // A keyframe that ends with a marker: before it no frame has ended, so nothing waits.
  video(0, 0x67, false);
  video(0, 0x65, true);
  await turn();
  assert.equal(reader.framed.length, 1);

  // Its first packet, then audio, each read in a turn of its own: both wait for the frame's last packet.
  video(3600, 0x41, false);
  await turn();
  stream.ingestRtp(1, packet(500, 320, [0xd5]));
  await turn();
  await turn();
  assert.equal(reader.framed.length, 1, 'held while the frame is incomplete');
  video(3600, 0x41, true);
  await turn();
  assert.equal(reader.framed.length, 2, 'the whole frame and the audio in one write');
  assert.equal(reader.packets().length, 5);

  // A frame whose marker never comes goes MAX_FRAME_HOLD_MS after its first packet.
  video(7200, 0x41, false);
  await turn();
  clock.advance(MAX_FRAME_HOLD_MS - 1);
  assert.equal(reader.framed.length, 2);
  clock.advance(1);
  assert.equal(reader.framed.length, 3);
  assert.deepEqual([stream.flushSchedule.heldFlushes, stream.flushSchedule.heldFlushTimeouts], [2, 1]);

  // That frame ended without a marker: the next frame's packets are not held until a marker is seen again.
  video(10800, 0x41, false);
  await turn();
  assert.equal(reader.framed.length, 4);
  assert.equal(stream.flushSchedule.heldFlushes, 2);
});
