import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expiredSegments, segmentsToFreeSpace, type RetainedSegment } from './retention.js';

const seg = (startMs: number, durationMs: number, sizeBytes: number, open = false): RetainedSegment => ({
  startMs,
  durationMs,
  sizeBytes,
  open,
});

test('by age: finished segments that ended before now - deleteAfter; 0 keeps everything', () => {
  const list = [seg(0, 100, 1), seg(100, 100, 1), seg(200, 100, 1), seg(300, 100, 1, true)];
  assert.deepEqual(expiredSegments(list, 1000, 750), [list[0], list[1]]);
  assert.deepEqual(expiredSegments(list, 1000, 0), []);
  // An open segment is never chosen, however old.
  assert.deepEqual(expiredSegments(list, 10_000, 1), list.slice(0, 3));
});

test('by free space: the oldest finished segments first, just enough of them', () => {
  const list = [seg(300, 100, 50), seg(0, 100, 30), seg(100, 100, 40), seg(400, 100, 99, true)];
  assert.deepEqual(segmentsToFreeSpace(list, 100, 100), { remove: [], enough: true });
  assert.deepEqual(segmentsToFreeSpace(list, 60, 100), { remove: [list[1], list[2]], enough: true });
  // Not enough even with every finished segment gone: all chosen, and the caller stops recording.
  assert.deepEqual(segmentsToFreeSpace(list, 0, 1000), {
    remove: [list[1], list[2], list[0]],
    enough: false,
  });
});
