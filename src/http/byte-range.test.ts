import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseByteRange } from './byte-range.js';

test('byte ranges: first bytes, open end, suffix, past the end, ignored forms', () => {
  assert.deepEqual(parseByteRange('bytes=0-99', 1000), { kind: 'range', from: 0, to: 100 });
  assert.deepEqual(parseByteRange('bytes=500-', 1000), { kind: 'range', from: 500, to: 1000 });
  assert.deepEqual(parseByteRange('bytes=900-5000', 1000), { kind: 'range', from: 900, to: 1000 });
  assert.deepEqual(parseByteRange('bytes=-100', 1000), { kind: 'range', from: 900, to: 1000 });
  assert.deepEqual(parseByteRange('bytes=-5000', 1000), { kind: 'range', from: 0, to: 1000 });
  assert.deepEqual(parseByteRange('bytes=1000-', 1000), { kind: 'unsatisfiable' });
  assert.deepEqual(parseByteRange('bytes=-0', 1000), { kind: 'unsatisfiable' });
  assert.deepEqual(parseByteRange(undefined, 1000), { kind: 'whole' });
  assert.deepEqual(parseByteRange('bytes=0-1,5-6', 1000), { kind: 'whole' });
  assert.deepEqual(parseByteRange('items=0-1', 1000), { kind: 'whole' });
  assert.deepEqual(parseByteRange('bytes=5-1', 1000), { kind: 'whole' });
  assert.deepEqual(parseByteRange('bytes=99999999999999999999-', 1000), { kind: 'unsatisfiable' });
});

test('any header: a range within the body, or whole, or unsatisfiable; never a throw', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), fc.nat(1e9), (s, total) => {
      for (const h of [s, `bytes=${s}`]) {
        const r = parseByteRange(h, total);
        if (r.kind === 'range') assert.ok(r.from >= 0 && r.from < r.to && r.to <= total);
      }
    }),
  );
});
