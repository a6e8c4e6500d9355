import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PullContinuity } from './pull-continuity.js';

test('the first session passes as it is; a new one continues the numbers, timestamps advanced by the outage', () => {
  const c = new PullContinuity([90_000, 48_000]);
  assert.deepEqual(c.rewrite(0, 100, 1000, 0), { sequenceNumber: 100, timestamp: 1000 });
  assert.deepEqual(c.rewrite(0, 101, 4600, 40), { sequenceNumber: 101, timestamp: 4600 });
  assert.deepEqual(c.rewrite(1, 7, 960, 40), { sequenceNumber: 7, timestamp: 960 });
  assert.equal(c.senderReportTimestamp(0, 9000), 9000);

  // The upstream restarts 5 s later with new random bases.
  c.newSession();
  assert.equal(c.senderReportTimestamp(0, 1), undefined, 'no offset before the first packet');
  const v = c.rewrite(0, 40_000, 3_000_000_000, 5040);
  assert.deepEqual(v, { sequenceNumber: 102, timestamp: 4600 + 5000 * 90 });
  assert.deepEqual(c.rewrite(0, 40_001, 3_000_003_600, 5080), {
    sequenceNumber: 103,
    timestamp: 4600 + 450_000 + 3600,
  });
  assert.equal(c.senderReportTimestamp(0, 3_000_000_000), 4600 + 450_000);
  const a = c.rewrite(1, 65_535, 5, 5040);
  assert.deepEqual(a, { sequenceNumber: 8, timestamp: 960 + 5000 * 48 });
  assert.equal(c.rewrite(1, 0, 965, 5041).sequenceNumber, 9, 'the upstream wrapping its 16 bits');
});

test("a new session's tracks keep the upstream's alignment from RTP-Info, whichever track arrives late", () => {
  const c = new PullContinuity([90_000, 48_000]);
  // Both tracks at one instant (t = 0 ms): video 0, audio 0; their last packets at 1000 ms.
  c.rewrite(0, 1, 0, 0);
  c.rewrite(1, 1, 0, 0);
  c.rewrite(0, 2, 90_000, 1000);
  c.rewrite(1, 2, 48_000, 1000);
  // 5 s later the upstream plays again; RTP-Info: video 7000 and audio 500 are one instant. Audio's
  // first packet (at that instant) arrives at 6000 ms, video's a second late at 7000 ms.
  c.newSession([7000, 500]);
  const audio = c.rewrite(1, 900, 500, 6000);
  const video = c.rewrite(0, 300, 7000, 7000);
  assert.equal(audio.timestamp, 48_000 + 5000 * 48, 'audio placed by the outage');
  assert.equal(video.timestamp, 90_000 + 5000 * 90, 'video at the same instant, not at its own arrival');
  assert.equal(video.sequenceNumber, 3);
  assert.equal(c.senderReportTimestamp(0, 7000 + 90), video.timestamp + 90);
});

test('a first packet that RTP-Info would put before the last one sent is placed by its arrival', () => {
  const c = new PullContinuity([90_000, 48_000]);
  c.rewrite(0, 1, 0, 0);
  c.rewrite(1, 1, 0, 0);
  // A 10 ms outage. Audio arrives first, at the RTP-Info instant; video's first packet is a second
  // older than its rtptime: at the instant it would land 990 ms before the last video packet sent.
  c.newSession([90_000, 48_000]);
  assert.equal(c.rewrite(1, 50, 48_000, 10).timestamp, 480, 'audio at the instant');
  assert.equal(c.rewrite(0, 60, 0, 20).timestamp, 1800, 'video by its arrival, not stepping back');
});

test('across any sessions, sequence numbers go on by one and timestamps never step back', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          seq: fc.integer({ min: 0, max: 0xffff }),
          ts: fc.integer({ min: 0, max: 0xffffffff }),
          packets: fc.integer({ min: 1, max: 20 }),
          gapMs: fc.integer({ min: 0, max: 60_000 }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      (sessions) => {
        const c = new PullContinuity([90_000]);
        let nowMs = 0;
        let last: { sequenceNumber: number; timestamp: number } | undefined;
        let unwrappedTs = 0;
        for (const s of sessions) {
          c.newSession();
          nowMs += s.gapMs;
          for (let i = 0; i < s.packets; i++) {
            nowMs += 40;
            const out = c.rewrite(0, (s.seq + i) & 0xffff, (s.ts + i * 3600) >>> 0, nowMs);
            if (last !== undefined) {
              assert.equal(out.sequenceNumber, (last.sequenceNumber + 1) & 0xffff);
              const step = (out.timestamp - last.timestamp) >>> 0;
              assert.ok(step > 0 && step < 0x80000000, `timestamp step ${step}`);
              unwrappedTs += step;
            }
            last = out;
          }
        }
        assert.ok(unwrappedTs >= 0);
      },
    ),
  );
});
