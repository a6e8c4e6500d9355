import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../base/logger.js';
import { MediaFaults } from './media-faults.js';

test('faults are counted by stage; at most one log line per stage per interval, saying how many were not logged', () => {
  const lines: object[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (obj) => lines.push(obj),
    child: () => logger,
  };
  const now = { ms: 0 };
  const faults = new MediaFaults(logger, { monotonicMs: () => now.ms, wallMs: () => now.ms }, 1000);
  for (let i = 0; i < 500; i++) faults.record('hls', 'cam', new RangeError('out of range'));
  faults.record('ingest', 'cam', 'not an Error');
  now.ms = 1000;
  faults.record('hls', 'cam', new RangeError('again'));
  assert.deepEqual(faults.counts, { ingest: 1, hls: 501 });
  assert.equal(faults.total, 502);
  assert.deepEqual(
    lines.map((l) => {
      const { stage, err, notLoggedBefore, total } = l as Record<string, unknown>;
      return [stage, err, notLoggedBefore, total];
    }),
    [
      ['hls', 'out of range', 0, 1],
      ['ingest', 'not an Error', 0, 1],
      ['hls', 'again', 499, 501],
    ],
  );
});
