import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from './rate-limit.js';

test('a key passes `burst` times per window; the rest are counted into one summary', () => {
  const r = new RateLimiter({ windowMs: 1000, burst: 3 });
  const passed = Array.from({ length: 10 }, (_, i) => r.take('refused', i).pass);
  assert.deepEqual(passed, [true, true, true, false, false, false, false, false, false, false]);
  assert.equal(r.take('other', 10).pass, true, 'keys are counted apart');
  assert.deepEqual(r.flush(500), [], 'nothing before the window ends');
  const next = r.take('refused', 1000);
  assert.equal(next.pass, true, 'a new window lets events through again');
  assert.deepEqual(next.ended, { key: 'refused', suppressed: 7, windowMs: 1000 });
  for (let i = 0; i < 5; i++) r.take('refused', 1001 + i);
  assert.deepEqual(r.flush(2000), [{ key: 'refused', suppressed: 3, windowMs: 1000 }]);
  assert.deepEqual(r.flush(5000), []);
  assert.equal(r.suppressedTotal, 10);
});
