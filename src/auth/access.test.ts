import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../base/errors.js';
import { compilePathPattern } from './access.js';

const CASES: [pattern: string, yes: string[], no: string[]][] = [
  ['cam1', ['cam1', '/cam1', 'cam1/'], ['cam10', 'cam', 'x/cam1']],
  ['cam*', ['cam', 'cam1', 'camera'], ['cam1/sub', 'xcam1']],
  ['cam?', ['cam1'], ['cam', 'cam12']],
  ['site/**', ['site', 'site/a', 'site/a/b'], ['sites', 'other/site/a']],
  ['**/low', ['low', 'a/low', 'a/b/low'], ['a/lower']],
  ['a/**/z', ['a/z', 'a/b/z', 'a/b/c/z'], ['a/bz', 'b/z']],
  ['**', ['', 'x', 'x/y/z'], []],
  ['cam.1', ['cam.1'], ['camx1']],
  ['~^cam[0-9]+$', ['cam1', 'cam42', '/cam7/'], ['cam', 'cam1a', 'xcam1']],
];

for (const [pattern, yes, no] of CASES) {
  test(`path pattern ${pattern}`, () => {
    const m = compilePathPattern(pattern);
    for (const p of yes) assert.equal(m(p), true, `${pattern} should match ${p}`);
    for (const p of no) assert.equal(m(p), false, `${pattern} should not match ${p}`);
  });
}

test('an invalid regex is a ParseError', () => {
  assert.throws(
    () => compilePathPattern('~(['),
    (e: unknown) => e instanceof ParseError && e.code === 'AUTH_BAD_PATTERN',
  );
});
