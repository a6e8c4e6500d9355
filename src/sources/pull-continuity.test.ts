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
