import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_COMPOSITION_OFFSET_TICKS,
  MAX_SAMPLE_DURATION_TICKS,
  SampleTimeline,
  type SampleTimes,
} from './sample-timeline.js';

const LIMITS = { maxGapTicks: 10 * 90000, maxOffsetTicks: 2 * 90000, defaultDurationTicks: 3600 };

function placeAll(line: SampleTimeline, units: readonly [number, number][]): SampleTimes[] {
  const out: SampleTimes[] = [];
  for (const [pts, dts] of units) {
    const p = line.place(pts, dts);
    if (p !== undefined) out.push(p);
  }
  return out;
}

/** What the trun and tfdt of every sample would hold must fit them (ISO/IEC 14496-12 §8.8.8, §8.8.12). */
function assertWritable(out: readonly SampleTimes[], maxOffsetTicks: number, maxGapTicks: number): void {
  out.forEach((s, i) => {
    assert.ok(Number.isSafeInteger(s.dts) && s.dts >= 0, `dts ${s.dts} is a tfdt value`);
    assert.ok(Math.abs(s.pts - s.dts) <= Math.min(maxOffsetTicks, MAX_COMPOSITION_OFFSET_TICKS));
    const prev = out[i - 1];
    if (prev !== undefined) {
      const duration = s.dts - prev.dts;
      assert.ok(duration >= 1 && duration <= Math.min(maxGapTicks, MAX_SAMPLE_DURATION_TICKS));
    }
  });
}

test('timestamps stepping back by 0x60000000: discontinuities, not a composition offset past 2^31', () => {
  const line = new SampleTimeline(LIMITS);
  const units: [number, number][] = [];
  for (let i = 0; i < 6; i++) units.push([1000 - i * 0x60000000, 1000 - i * 0x60000000]);
  const out = placeAll(line, units);
  assert.equal(out.length, 6);
  assertWritable(out, LIMITS.maxOffsetTicks, LIMITS.maxGapTicks);
  assert.deepEqual(
    out.map((s) => s.dts),
    [1000, 4600, 8200, 11800, 15400, 19000],
    'each jump continues one default duration later',
  );
  assert.equal(line.discontinuities, 5);
});

test('a forward jump is closed up at the previous step; ordinary steps and B-frame reorder are kept', () => {
  const line = new SampleTimeline(LIMITS);
  const out = placeAll(line, [
    [0, 0],
    [3600, 3600],
    [3600 + 3600 * 90000, 3600 + 3600 * 90000], // one hour later
    [7200 + 3600 * 90000, 7200 + 3600 * 90000],
    // pictures out of order, no dts: pts steps back by two pictures
    [18000 + 3600 * 90000, 18000 + 3600 * 90000],
    [10800 + 3600 * 90000, 10800 + 3600 * 90000],
  ]);
  assert.deepEqual(
    out.map((s) => [s.dts, s.pts - s.dts]),
    [
      [0, 0],
      [3600, 0],
      [7200, 0],
      [10800, 0],
      [21600, 0],
      [21601, 10800 - 18000 - 1],
    ],
  );
  assert.equal(line.discontinuities, 1);
});

test('the 32-bit wraparound unwrapped by a depacketizer needs no discontinuity; a negative or far start is moved to 0', () => {
  const line = new SampleTimeline(LIMITS);
  const start = 0xffffffff - 3600;
  const out = placeAll(line, [
    [start, start],
    [start + 3600, start + 3600],
    [start + 7200, start + 7200],
  ]);
  assert.deepEqual(
    out.map((s) => s.dts),
    [start, start + 3600, start + 7200],
  );
  assert.equal(line.discontinuities, 0);
  const negative = new SampleTimeline(LIMITS);
  assert.deepEqual(negative.place(-5000, -5000), { dts: 0, pts: 0 });
  const far = new SampleTimeline(LIMITS);
  assert.deepEqual(far.place(2 ** 52 + 10, 2 ** 52), { dts: 0, pts: 10 });
});

test('times that are not safe integers drop the unit; an absurd given composition offset is dropped', () => {
  const line = new SampleTimeline(LIMITS);
  assert.equal(line.place(Number.NaN, 0), undefined);
  assert.equal(line.place(2 ** 60, 2 ** 60), undefined);
  assert.equal(line.droppedUnits, 2);
  assert.deepEqual(line.place(0x7fffffff * 4, 0), { dts: 0, pts: 0 });
  assert.equal(line.clampedOffsets, 1);
});

test('any input times give writable fields (property)', () => {
  const ticks = fc.oneof(
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.constantFrom(0, 0x60000000, -0x60000000, 0xffffffff, 2 ** 31, -(2 ** 31), 2 ** 53, Number.NaN),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(ticks, ticks, fc.boolean()), { maxLength: 60 }),
      fc.integer({ min: 1, max: 2 ** 33 }),
      fc.integer({ min: 0, max: 2 ** 33 }),
      (steps, maxGapTicks, maxOffsetTicks) => {
        const line = new SampleTimeline({ maxGapTicks, maxOffsetTicks, defaultDurationTicks: 3600 });
        // Half of the units come as a step from the previous input (small or huge), half as absolute times.
        let pts = 0;
        let dts = 0;
        const units: [number, number][] = steps.map(([a, b, relative]) => {
          if (relative) {
            dts += Number.isNaN(a) ? 0 : a;
            pts = dts + (Number.isNaN(b) ? 0 : b % 200000);
          } else {
            pts = a;
            dts = b;
          }
          return [pts, dts];
        });
        assertWritable(placeAll(line, units), maxOffsetTicks, maxGapTicks);
      },
    ),
    { numRuns: Number(process.env.RUNS ?? 500) },
  );
});
