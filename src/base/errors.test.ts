import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ParseError, isParseError, isSystemError } from './errors.js';

test('isSystemError: errors of the operating system, not ParseErrors or bugs', () => {
  let missing: unknown;
  try {
    readFileSync('/nonexistent/rtspkit/file');
  } catch (e) {
    missing = e;
  }
  assert.equal(isSystemError(missing), true);
  assert.equal((missing as NodeJS.ErrnoException).code, 'ENOENT');
  const parse = new ParseError('SDP_BAD_LINE', 'bad');
  assert.equal(isSystemError(parse), false);
  assert.equal(isParseError(parse), true);
  assert.equal(isSystemError(new TypeError('x is undefined')), false);
  assert.equal(isSystemError({ syscall: 'open', code: 'ENOENT' }), false);
});
