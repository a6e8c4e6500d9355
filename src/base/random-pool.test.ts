import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomHex, randomUint16, randomUint32 } from './random-pool.js';

test('pooled random values: in range, across pool refills, not repeating', () => {
  const seen = new Set<number>();
  // 3000 draws of 4 bytes cross the 4 KB pool's refill twice.
  for (let i = 0; i < 3000; i++) {
    const v = randomUint32();
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
    seen.add(v);
  }
  assert.ok(seen.size > 2990, 'no run of repeated values');
  for (let i = 0; i < 100; i++) {
    const v = randomUint16();
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffff);
  }
  const ids = Array.from({ length: 600 }, () => randomHex(8));
  for (const id of ids) assert.match(id, /^[0-9A-F]{16}$/);
  assert.equal(new Set(ids).size, ids.length);
});
