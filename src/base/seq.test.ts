import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Unwrapper, seqAdd16, seqAfter16, seqDiff16, tsAdd32, tsDiff32 } from './seq.js';

test('seqDiff16 handles wraparound', () => {
  assert.equal(seqDiff16(65535, 0), 1);
  assert.equal(seqDiff16(0, 65535), -1);
  assert.equal(seqDiff16(100, 100), 0);
  assert.equal(seqDiff16(65000, 500), 1036);
  assert.ok(seqAfter16(65535, 2));
  assert.ok(!seqAfter16(2, 65535));
  assert.equal(seqAdd16(65535, 2), 1);
});

test('tsDiff32 handles wraparound', () => {
  assert.equal(tsDiff32(0xffffffff, 0), 1);
  assert.equal(tsDiff32(0, 0xffffffff), -1);
  assert.equal(tsDiff32(0xfffffff0, 0x10), 0x20);
  assert.equal(tsAdd32(0xffffffff, 3), 2);
});

test('Unwrapper yields monotonic values across many wraps', () => {
  const u = new Unwrapper(16);
  let expected = 65000;
  assert.equal(u.unwrap(65000), 65000);
  for (let i = 0; i < 300_000; i += 1000) {
    expected += 1000;
    assert.equal(u.unwrap(expected & 0xffff), expected);
  }
  assert.equal(u.unwrap((expected - 5) & 0xffff), expected - 5, 'small reorder goes back');
});

test('seqDiff16 is antisymmetric and consistent with seqAdd16 (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: -32767, max: 32767 }), (a, n) => {
      assert.equal(seqDiff16(a, seqAdd16(a, n)), n);
      assert.equal(seqDiff16(seqAdd16(a, n), a), 0 - n || 0);
    }),
  );
});
