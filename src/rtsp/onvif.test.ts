import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../base/errors.js';
import { parseFrames, parseRateControl, serializeFrames, serializeRateControl } from './onvif.js';
import { parseIsoTime, parsePlaybackQuery } from './playback-url.js';

const isParse = (e: unknown): boolean => e instanceof ParseError;

test('Rate-Control and Frames (ONVIF Streaming §6.5, §6.6) round-trip; anything else is a ParseError', () => {
  assert.equal(parseRateControl('no'), false);
  assert.equal(parseRateControl(' Yes '), true);
  assert.equal(serializeRateControl(false), 'no');
  assert.throws(() => parseRateControl('maybe'), isParse);
  assert.deepEqual(parseFrames('intra'), { mode: 'intra' });
  assert.deepEqual(parseFrames('intra/4000'), { mode: 'intra', intervalMs: 4000 });
  assert.deepEqual(parseFrames('Predicted'), { mode: 'predicted' });
  assert.equal(serializeFrames({ mode: 'intra', intervalMs: 250 }), 'intra/250');
  for (const v of ['', 'some', 'intra/', 'intra/-1', 'all/5', 'intra/1234567890'])
    assert.throws(() => parseFrames(v), isParse, v);
});

test('playback query: start/end/duration in ISO 8601 or compact clock form; other parameters kept in order', () => {
  const t = Date.UTC(2026, 11, 6, 10, 15, 0);
  assert.deepEqual(parsePlaybackQuery('token=abc&start=2026-12-06T10:15:00Z&x=1'), {
    startMs: t,
    rest: 'token=abc&x=1',
  });
  assert.deepEqual(parsePlaybackQuery('start=2026-12-06T11%3A15%3A00.250%2B01%3A00&end=20261206T101600Z'), {
    startMs: t + 250,
    endMs: t + 60_000,
    rest: '',
  });
  assert.deepEqual(parsePlaybackQuery('start=2026-12-06T10:15:00-00:30&duration=1.5'), {
    startMs: t + 30 * 60_000,
    endMs: t + 30 * 60_000 + 1500,
    rest: '',
  });
  assert.equal(parsePlaybackQuery('token=abc'), undefined);
  assert.equal(parsePlaybackQuery(''), undefined);
  for (const q of [
    'start=2026-12-06T10:15:00', // no zone
    'start=2026-02-30T10:15:00Z',
    'start=2026-12-06T25:00:00Z',
    'start=yesterday',
    'start=%E0%A4%A',
    'start=2026-12-06T10:15:00Z&start=2026-12-06T10:15:00Z',
    'start=2026-12-06T10:15:00Z&end=2026-12-06T10:15:00Z',
    'start=2026-12-06T10:15:00Z&duration=-1',
    'start=2026-12-06T10:15:00Z&end=2026-12-06T10:16:00Z&duration=1',
    'end=2026-12-06T10:15:00Z',
  ])
    assert.throws(() => parsePlaybackQuery(q), isParse, q);
  assert.equal(parseIsoTime('1970-01-01T00:00:00Z'), 0);
  assert.throws(() => parseIsoTime('1969-12-31T23:59:59Z'), isParse);
});
