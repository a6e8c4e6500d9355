import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ntpMiddle32 } from '../base/clock.js';
import type { SenderReport } from './rtcp.js';
import { RtpReceiverStats, RtpSenderStats } from './stats.js';

/** Feeds sequence numbers at 20 ms spacing with a matching 8 kHz timestamp (no jitter). */
function feed(stats: RtpReceiverStats, seqs: readonly number[], startMs = 0): boolean[] {
  return seqs.map((seq, i) => stats.onPacket(seq & 0xffff, (seq * 160) >>> 0, startMs + i * 20, 100));
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('probation: the first packet validates the source only when the next one follows (§A.1)', () => {
  const s = new RtpReceiverStats(8000);
  assert.deepEqual(feed(s, [100, 101, 102]), [false, true, true]);
  assert.ok(s.validated);
  assert.equal(s.packetsReceived, 2);
  assert.equal(s.bytesReceived, 200);
  assert.equal(s.expectedPackets, 2);
  assert.equal(s.extendedHighestSeq, 102);
  assert.equal(s.cumulativeLost, 0);

  // A non-sequential packet restarts probation.
  const r = new RtpReceiverStats(8000);
  assert.deepEqual(feed(r, [10, 20, 21, 22]), [false, false, true, true]);
  assert.equal(r.expectedPackets, 2);
  const block = new RtpReceiverStats(8000).reportBlock(7, 0);
  assert.deepEqual(block, {
    ssrc: 7,
    fractionLost: 0,
    cumulativeLost: 0,
    highestSeq: 0,
    jitter: 0,
    lsr: 0,
    dlsr: 0,
  });

  const three = new RtpReceiverStats(8000, { minSequential: 3 });
  assert.deepEqual(feed(three, [5, 6, 7, 8]), [false, false, true, true]);
});

test('loss: expected, cumulative lost and fraction lost per interval (§A.3)', () => {
  const s = new RtpReceiverStats(8000, { minSequential: 1 });
  // 0..99 with 10 missing.
  const lost = new Set([3, 4, 5, 20, 40, 41, 60, 77, 88, 98]);
  feed(
    s,
    range(0, 99).filter((q) => !lost.has(q)),
  );
  assert.equal(s.expectedPackets, 100);
  assert.equal(s.packetsReceived, 90);
  assert.equal(s.cumulativeLost, 10);
  let block = s.reportBlock(0xabc, 2000);
  assert.equal(block.fractionLost, Math.floor((10 * 256) / 100));
  assert.equal(block.cumulativeLost, 10);
  assert.equal(block.highestSeq, 99);

  // Next interval: 100..199 with every fourth lost -> 25 % = 64/256.
  feed(
    s,
    range(100, 199).filter((q) => q % 4 !== 0),
    2000,
  );
  block = s.reportBlock(0xabc, 4000);
  assert.equal(block.fractionLost, 64);
  assert.equal(s.fractionLost, 64);
  assert.equal(block.cumulativeLost, 35);
  assert.equal(block.highestSeq, 199);

  // An empty interval reports zero fraction, cumulative unchanged.
  block = s.reportBlock(0xabc, 6000);
  assert.equal(block.fractionLost, 0);
  assert.equal(block.cumulativeLost, 35);
});

test('reordering does not count as loss and does not move the highest sequence back', () => {
  const s = new RtpReceiverStats(8000, { minSequential: 1 });
  assert.deepEqual(feed(s, [1, 2, 4, 3, 5, 7, 6]), [true, true, true, true, true, true, true]);
  assert.equal(s.extendedHighestSeq, 7);
  assert.equal(s.cumulativeLost, 0);
  assert.equal(s.reportBlock(1, 0).fractionLost, 0);
});

test('duplicates are counted, so cumulative loss can go negative (§6.4.1)', () => {
  const s = new RtpReceiverStats(8000, { minSequential: 1 });
  feed(s, [1, 2, 2, 3, 3, 4]);
  assert.equal(s.packetsReceived, 6);
  assert.equal(s.expectedPackets, 4);
  assert.equal(s.cumulativeLost, -2);
  const block = s.reportBlock(1, 0);
  assert.equal(block.cumulativeLost, -2);
  assert.equal(block.fractionLost, 0, 'negative interval loss reports 0');
});

test('sequence wrap at 65535 counts a cycle; reordering across the wrap does not', () => {
  const s = new RtpReceiverStats(8000, { minSequential: 1 });
  // 65534 arrives late, 3 and 4 are missing.
  feed(s, [65530, 65531, 65532, 65533, 65535, 65534, 0, 1, 2, 5]);
  assert.equal(s.extendedHighestSeq, 65536 + 5);
  assert.equal(s.expectedPackets, 12);
  assert.equal(s.packetsReceived, 10);
  assert.equal(s.cumulativeLost, 2);
  // A late packet from before the wrap.
  assert.ok(s.onPacket(65533, 0, 1000));
  assert.equal(s.extendedHighestSeq, 65536 + 5);
  assert.equal(s.reportBlock(9, 1000).highestSeq, 0x00010005);

  // Many cycles: the 32-bit field wraps too, the getter does not.
  const many = new RtpReceiverStats(8000, { minSequential: 1 });
  let seq = 0;
  for (let i = 0; i < 65536 * 3 + 10; i += 1000) {
    many.onPacket(seq & 0xffff, 0, i);
    seq += 1000;
  }
  assert.equal(many.extendedHighestSeq, seq - 1000);
  assert.equal(many.cumulativeLost, many.expectedPackets - many.packetsReceived);
});

test('large jumps: ignored once, accepted as a restart when the next packet follows (§A.1)', () => {
  const s = new RtpReceiverStats(8000, { minSequential: 1 });
  feed(s, range(1, 10));
  assert.equal(s.onPacket(20000, 0, 1000), false, 'first packet of a jump is not counted');
  assert.equal(s.extendedHighestSeq, 10);
  assert.equal(s.onPacket(11, 0, 1020), true, 'the old stream continues');
  assert.equal(s.onPacket(30000, 0, 1040), false);
  assert.equal(s.onPacket(30001, 0, 1060), true, 'sequential after the jump: source restarted');
  assert.equal(s.extendedHighestSeq, 30001);
  assert.equal(s.expectedPackets, 1);
  assert.equal(s.packetsReceived, 1);
  // A packet far behind (more than MAX_MISORDER) is also a jump, not a duplicate.
  assert.equal(s.onPacket(29000, 0, 1080), false);
  // Within MAX_MISORDER behind it is a late packet.
  assert.equal(s.onPacket(29950, 0, 1100), true);
});

test('cumulative loss is clamped to 24 signed bits in the report block', () => {
  const s = new RtpReceiverStats(8000, { minSequential: 1 });
  let seq = 0;
  // Gaps of 2998 packets, each below MAX_DROPOUT so never taken for a restart.
  for (let i = 0; i < 2900; i++) {
    s.onPacket(seq & 0xffff, 0, i);
    seq += 2999;
  }
  assert.ok(s.cumulativeLost > 0x7fffff);
  assert.equal(s.reportBlock(1, 0).cumulativeLost, 0x7fffff);
  assert.equal(s.fractionLost, 255);
});

/** The RFC 3550 §6.4.1 / A.8 estimator, written out independently: J += (|D| - J) / 16. */
function referenceJitter(arrivalTicks: readonly number[], timestamps: readonly number[]): number {
  let j = 0;
  for (let i = 1; i < arrivalTicks.length; i++) {
    const d = arrivalTicks[i]! - arrivalTicks[i - 1]! - (timestamps[i]! - timestamps[i - 1]!);
    j += (Math.abs(d) - j) / 16;
  }
  return j;
}

test('jitter: zero for constant transit, 1/16 of a single step, and the A.8 formula for known deltas', () => {
  const steady = new RtpReceiverStats(90000, { minSequential: 1 });
  for (let i = 0; i < 50; i++) steady.onPacket(i, 1000 + i * 3600, 5000 + i * 40);
  assert.equal(steady.jitter, 0);

  // One packet 16 ms late: D = 16 ms = 1440 ticks, J = 1440 / 16 = 90 ticks = 1 ms.
  const step = new RtpReceiverStats(90000, { minSequential: 1 });
  step.onPacket(0, 0, 0);
  step.onPacket(1, 3600, 40 + 16);
  assert.equal(step.jitter, 90);
  assert.equal(step.jitterMs, 1);
  assert.equal(step.reportBlock(1, 0).jitter, 90);

  // Known transit deltas (ms) on a 25 fps, 90 kHz stream.
  const transitMs = [0, 10, 0, 20, 5, 5, 30, 0, 0, 15, 2, 8, 40, 1];
  const ts = transitMs.map((_, i) => i * 3600);
  const arrivalMs = transitMs.map((t, i) => 1_000_000 + i * 40 + t);
  const s = new RtpReceiverStats(90000, { minSequential: 1 });
  transitMs.forEach((_, i) => s.onPacket(i, ts[i]!, arrivalMs[i]!));
  const expected = referenceJitter(
    arrivalMs.map((ms) => (ms * 90000) / 1000),
    ts,
  );
  assert.ok(Math.abs(s.jitter - expected) < 1e-6, `${s.jitter} vs ${expected}`);
  assert.equal(s.reportBlock(1, 0).jitter, Math.floor(expected));
});

test('jitter is unaffected by the 32-bit timestamp wrap', () => {
  const transitMs = [0, 3, 9, 1, 0, 12, 4];
  const build = (startTs: number): number => {
    const s = new RtpReceiverStats(8000, { minSequential: 1 });
    transitMs.forEach((t, i) => s.onPacket(i, (startTs + i * 160) >>> 0, i * 20 + t));
    return s.jitter;
  };
  assert.equal(build(0xffffff00), build(1000));
  assert.ok(build(1000) > 0);
});

test('jitter matches the reference for random transit (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 2, maxLength: 60 }),
      fc.nat({ max: 0xffffffff }),
      (transit, startTs) => {
        const s = new RtpReceiverStats(48000, { minSequential: 1 });
        const ts = transit.map((_, i) => i * 960);
        const arrivalMs = transit.map((t, i) => i * 20 + t);
        transit.forEach((_, i) => s.onPacket(i, (startTs + ts[i]!) >>> 0, arrivalMs[i]!));
        const expected = referenceJitter(
          arrivalMs.map((ms) => ms * 48),
          ts,
        );
        assert.ok(Math.abs(s.jitter - expected) < 1e-6);
      },
    ),
  );
});

test('LSR and DLSR come from the last SR and its arrival time', () => {
  const s = new RtpReceiverStats(90000, { minSequential: 1 });
  s.onPacket(1, 0, 0);
  const sr: SenderReport = {
    type: 'sr',
    ssrc: 5,
    ntp: { seconds: 0x1234abcd, fraction: 0x56789abc },
    rtpTimestamp: 0,
    packetCount: 1,
    octetCount: 1,
    reports: [],
  };
  s.onSenderReport(sr, 1000);
  const block = s.reportBlock(5, 1500);
  assert.equal(block.lsr, 0xabcd5678);
  assert.equal(block.lsr, ntpMiddle32(sr.ntp));
  assert.equal(block.dlsr, 32768, '0.5 s in 1/65536 s');
  assert.equal(s.lastSenderReport?.sr, sr);
  assert.equal(s.reportBlock(5, 900).dlsr, 0, 'never negative');
});

test('sender counts wrap at 2^32 on the wire and keep the totals', () => {
  const s = new RtpSenderStats();
  assert.equal(s.lastRtpTimestamp, undefined);
  s.onPacketSent(0xffffffff, 10, 1000);
  s.onPacketSent(10, 2 ** 32 + 20);
  assert.equal(s.packetCount, 2);
  assert.equal(s.octetCount, 9);
  assert.equal(s.totalOctets, 0xffffffff + 10);
  assert.equal(s.totalPackets, 2);
  assert.equal(s.lastRtpTimestamp, 20);
  assert.equal(s.lastWallMs, 1000);
  s.reset();
  assert.equal(s.packetCount, 0);
  assert.equal(s.lastWallMs, undefined);
});

test('constructor rejects a non-positive clock rate', () => {
  assert.throws(() => new RtpReceiverStats(0), RangeError);
  assert.throws(() => new RtpReceiverStats(Number.NaN), RangeError);
});
