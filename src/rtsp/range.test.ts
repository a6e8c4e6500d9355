import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import {
  formatUtcTime,
  nptToSeconds,
  parseNptTime,
  parseRange,
  parseUtcTime,
  serializeRange,
  smpteToSeconds,
} from './range.js';
import type { RangeSpec } from './range.js';

const YEAR_1_MS = new Date('0001-01-01T00:00:00Z').getTime();
const bad = (e: unknown): boolean => e instanceof ParseError && e.code === 'RTSP_BAD_RANGE';

test('RFC 2326 §3.6 npt examples', () => {
  assert.deepEqual(parseRange('npt=123.45-125'), { unit: 'npt', start: 123.45, end: 125 });
  assert.deepEqual(parseRange('npt=12:05:35.3-'), { unit: 'npt', start: 12 * 3600 + 5 * 60 + 35.3 });
  assert.deepEqual(parseRange('npt=now-'), { unit: 'npt', start: 'now' });
  assert.deepEqual(parseRange('npt=-20'), { unit: 'npt', end: 20 });
  assert.deepEqual(parseRange('npt=10-15'), { unit: 'npt', start: 10, end: 15 });
  assert.deepEqual(parseRange('npt=0.000-'), { unit: 'npt', start: 0 }); // ffmpeg
  assert.deepEqual(parseRange('npt=0-'), { unit: 'npt', start: 0 }); // GStreamer
  assert.deepEqual(parseRange('NPT = 1. - 2'), { unit: 'npt', start: 1, end: 2 });
});

test('RFC 2326 §3.5 smpte examples', () => {
  assert.deepEqual(parseRange('smpte=10:12:33:20-'), {
    unit: 'smpte',
    start: { hours: 10, minutes: 12, seconds: 33, frames: 20 },
  });
  assert.deepEqual(parseRange('smpte=10:07:33-'), {
    unit: 'smpte',
    start: { hours: 10, minutes: 7, seconds: 33 },
  });
  assert.deepEqual(parseRange('smpte=10:07:00-10:07:33:05.01'), {
    unit: 'smpte',
    start: { hours: 10, minutes: 7, seconds: 0 },
    end: { hours: 10, minutes: 7, seconds: 33, frames: 5, subframes: 1 },
  });
  const r = parseRange('smpte-25=10:07:00-10:10:00');
  assert.equal(r.unit, 'smpte-25');
  assert.equal(serializeRange(r), 'smpte-25=10:07:00-10:10:00');
  assert.equal(parseRange('smpte-30-drop=00:01:00:02-').unit, 'smpte-30-drop');
});

test('RFC 2326 §3.7 and §12.29 clock ranges, with time=', () => {
  const r = parseRange('clock=19961108T143720.25Z-');
  assert.deepEqual(r, { unit: 'clock', startMs: Date.UTC(1996, 10, 8, 14, 37, 20, 250) });
  assert.equal(serializeRange(r), 'clock=19961108T143720.25Z-');
  assert.deepEqual(parseRange('clock=19961108T142300Z-19961108T143520Z'), {
    unit: 'clock',
    startMs: Date.UTC(1996, 10, 8, 14, 23),
    endMs: Date.UTC(1996, 10, 8, 14, 35, 20),
  });
  assert.deepEqual(parseRange('clock=19960213T143205Z-;time=19970123T143720Z'), {
    unit: 'clock',
    startMs: Date.UTC(1996, 1, 13, 14, 32, 5),
    timeMs: Date.UTC(1997, 0, 23, 14, 37, 20),
  });
  assert.equal(
    serializeRange({ unit: 'npt', start: 0, timeMs: Date.UTC(1997, 0, 23, 14, 37, 20) }),
    'npt=0-;time=19970123T143720Z',
  );
});

test('serialization of npt', () => {
  assert.equal(serializeRange({ unit: 'npt', start: 0 }), 'npt=0-');
  assert.equal(serializeRange({ unit: 'npt', start: 12.5, end: 20 }), 'npt=12.5-20');
  assert.equal(serializeRange({ unit: 'npt', end: 0.04 }), 'npt=-0.04');
  assert.equal(serializeRange({ unit: 'npt', start: 'now' }), 'npt=now-');
  assert.throws(() => serializeRange({ unit: 'npt' }), RangeError);
  assert.throws(() => serializeRange({ unit: 'npt', start: -1 }), RangeError);
  assert.throws(() => serializeRange({ unit: 'npt', start: Number.NaN }), RangeError);
});

test('conversions to seconds', () => {
  assert.equal(nptToSeconds(parseNptTime('1:02:03.5')), 3723.5);
  assert.equal(nptToSeconds('now', 42), 42);
  assert.equal(nptToSeconds('now'), 0);
  assert.equal(smpteToSeconds({ hours: 0, minutes: 0, seconds: 1, frames: 15 }, 'smpte'), 1.5);
  assert.equal(
    smpteToSeconds({ hours: 0, minutes: 0, seconds: 1, frames: 5, subframes: 50 }, 'smpte-25'),
    1.22,
  );
  // Drop-frame: label 00:01:00:02 is frame 1800 (labels :00 and :01 of minute 1 do not exist).
  assert.equal(
    smpteToSeconds({ hours: 0, minutes: 1, seconds: 0, frames: 2 }, 'smpte-30-drop'),
    (1800 * 1001) / 30000,
  );
  // Label 00:10:00:00 is frame 17982 (no labels dropped at minute 10), 599.9994 s at 29.97 frames/s.
  assert.equal(
    smpteToSeconds({ hours: 0, minutes: 10, seconds: 0 }, 'smpte-30-drop'),
    (17982 * 1001) / 30000,
  );
});

test('utc times: fields checked, years below 100 kept', () => {
  assert.equal(parseUtcTime('00010101T000000Z'), YEAR_1_MS);
  assert.equal(formatUtcTime(YEAR_1_MS), '00010101T000000Z');
  assert.equal(formatUtcTime(Date.UTC(2024, 1, 29, 23, 59, 59, 5)), '20240229T235959.005Z');
  for (const t of [
    '20230229T000000Z',
    '20240230T000000Z',
    '20240101T240000Z',
    '20240101T006000Z',
    '20240101T000060Z',
    '2024011T000000Z',
    '20240101T000000',
  ]) {
    assert.throws(() => parseUtcTime(t), bad, t);
  }
});

test('negative npt times, as ffmpeg writes them, read as 0 (RFC 2326 §3.6: npt starts at 0)', () => {
  // ffmpeg: `npt=%d.%03d-` of its start in µs with C division: -0.021333 s (AAC priming), -0.13 s
  // (its B-frame seek heuristic for -ss 0), -1.5 s.
  assert.deepEqual(parseRange('npt=0.-21-'), { unit: 'npt', start: 0 });
  assert.deepEqual(parseRange('npt=0.-130-'), { unit: 'npt', start: 0 });
  assert.deepEqual(parseRange('npt=-1.-500-'), { unit: 'npt', start: 0 });
  assert.deepEqual(parseRange('npt=-2-'), { unit: 'npt', start: 0 });
  assert.deepEqual(parseRange('npt=-0.5-3'), { unit: 'npt', start: 0, end: 3 });
  assert.equal(parseNptTime('0.-21'), 0);
  // Still "up to 20 s", not a negative start (§12.29).
  assert.deepEqual(parseRange('npt=-20'), { unit: 'npt', end: 20 });
  assert.deepEqual(parseRange('npt=4.869-'), { unit: 'npt', start: 4.869 });
});

test('malformed ranges', () => {
  for (const v of [
    '',
    'npt',
    'npt=',
    'npt=-',
    'npt=5',
    'npt=1-2-3',
    'npt=0.-21-5-',
    'npt=1.-2-',
    'npt=--5',
    'npt=a-',
    'npt=1:60:00-',
    'npt=1:2-',
    'smpte=-10:00:00',
    'smpte=1:2-',
    'smpte=10:60:00-',
    'clock=-19961108T143720Z',
    'clock=1996-',
    'time=1-2',
    'foo=1-2',
  ]) {
    assert.throws(() => parseRange(v), bad, v);
  }
});

const smpteArb = fc.record(
  {
    hours: fc.integer({ min: 0, max: 99 }),
    minutes: fc.integer({ min: 0, max: 59 }),
    seconds: fc.integer({ min: 0, max: 59 }),
    frames: fc.integer({ min: 0, max: 29 }),
    subframes: fc.integer({ min: 0, max: 99 }),
  },
  { requiredKeys: ['hours', 'minutes', 'seconds'], noNullPrototype: true },
);
const msArb = fc.integer({ min: YEAR_1_MS, max: Date.UTC(9999, 11, 31) });
const nptArb = fc.oneof(
  fc.constant('now' as const),
  fc.integer({ min: 0, max: 1e9 }).map((ms) => ms / 1000),
);
const timeArb = fc.option(msArb, { nil: undefined });
const withTime = <T extends object>(r: T, t: number | undefined): T =>
  t === undefined ? r : { ...r, timeMs: t };

const rangeArb: fc.Arbitrary<RangeSpec> = fc.oneof(
  fc
    .tuple(fc.option(nptArb, { nil: undefined }), fc.option(nptArb, { nil: undefined }), timeArb)
    .filter(([s, e]) => s !== undefined || e !== undefined)
    .map(([s, e, t]) =>
      withTime(
        {
          unit: 'npt' as const,
          ...(s === undefined ? {} : { start: s }),
          ...(e === undefined ? {} : { end: e }),
        },
        t,
      ),
    ),
  fc
    .tuple(
      fc.constantFrom('smpte' as const, 'smpte-30-drop' as const, 'smpte-25' as const),
      smpteArb,
      fc.option(smpteArb, { nil: undefined }),
      timeArb,
    )
    .map(([unit, start, end, t]) => withTime({ unit, start, ...(end === undefined ? {} : { end }) }, t)),
  fc
    .tuple(msArb, fc.option(msArb, { nil: undefined }), timeArb)
    .map(([s, e, t]) =>
      withTime({ unit: 'clock' as const, startMs: s, ...(e === undefined ? {} : { endMs: e }) }, t),
    ),
);

test('property: parseRange(serializeRange(r)) gives r back', () => {
  fc.assert(fc.property(rangeArb, (r) => assert.deepEqual(parseRange(serializeRange(r)), r)));
});

test('property: parseRange throws only ParseError', () => {
  const chars = fc.constantFrom(...'nptsmpteclock=-:.;Ttime0123456789Z '.split(''));
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: chars, maxLength: 40 })), (s) => {
      try {
        parseRange(s);
      } catch (e) {
        assert.ok(e instanceof ParseError, String(e));
      }
    }),
    { numRuns: 500 },
  );
});
