import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import { parseSession, parseSessionHeader, serializeSession, serializeSessionHeader } from './session.js';

test('id alone, with timeout, with spaces, other parameters ignored', () => {
  assert.deepEqual(parseSession('12345678'), { id: '12345678' });
  assert.deepEqual(parseSession('47112344;timeout=60'), { id: '47112344', timeoutS: 60 });
  assert.deepEqual(parseSession(' abcDEF12 ; Timeout = 30 '), { id: 'abcDEF12', timeoutS: 30 });
  assert.deepEqual(parseSession('ab$-_.+;foo=bar'), { id: 'ab$-_.+' });
  assert.deepEqual(parseSessionHeader('Zm9vYmFy=='), { id: 'Zm9vYmFy==' });
});

test('written with no space after the semicolon (ffmpeg reads only that)', () => {
  assert.equal(serializeSession({ id: 'a1b2c3d4', timeoutS: 60 }), 'a1b2c3d4;timeout=60');
  assert.equal(serializeSessionHeader({ id: 'a1b2c3d4' }), 'a1b2c3d4');
  assert.throws(() => serializeSession({ id: 'a;b' }), RangeError);
  assert.throws(() => serializeSession({ id: 'ab', timeoutS: -1 }), RangeError);
});

test('malformed values', () => {
  for (const v of [
    '',
    ';timeout=5',
    'a b',
    'abc;timeout=',
    'abc;timeout=x',
    'abc;timeout',
    'abc;timeout=-1',
  ]) {
    assert.throws(
      () => parseSession(v),
      (e: unknown) => e instanceof ParseError && e.code === 'RTSP_BAD_SESSION',
      v,
    );
  }
});

test('property: round trip, and only ParseError on arbitrary input', () => {
  const id = fc.stringMatching(/^[A-Za-z0-9$\-_.+]{1,24}$/);
  fc.assert(
    fc.property(id, fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }), (sid, t) => {
      const s = t === undefined ? { id: sid } : { id: sid, timeoutS: t };
      assert.deepEqual(parseSession(serializeSession(s)), s);
    }),
  );
  fc.assert(
    fc.property(fc.string(), (s) => {
      try {
        parseSession(s);
      } catch (e) {
        assert.ok(e instanceof ParseError);
      }
    }),
  );
});
