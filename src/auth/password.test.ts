import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../base/errors.js';
import { digestHa1 } from './digest.js';
import {
  hashPassword,
  isImplicitClear,
  parseStoredPassword,
  passwordMethods,
  storedHa1,
  verifyPassword,
  withoutClear,
} from './password.js';

const ctx = { username: 'alice', realm: 'rtspkit' };
const SALT = Buffer.alloc(16, 1);

test('each stored form verifies the right password and refuses a wrong one', () => {
  const forms = ['sha256', 'scrypt', 'digest-md5', 'digest-sha256', 'digest'] as const;
  for (const form of forms) {
    const spec = hashPassword('s3cret pw', form, { ...ctx, salt: SALT });
    assert.ok(spec.startsWith(`${form}:`), spec);
    assert.ok(!spec.includes('s3cret'), `${form} keeps no clear text`);
    const stored = parseStoredPassword(spec);
    assert.equal(verifyPassword(stored, 's3cret pw', ctx), true, form);
    assert.equal(verifyPassword(stored, 's3cret pW', ctx), false, form);
    assert.equal(verifyPassword(stored, '', ctx), false, form);
  }
  for (const spec of ['plain:s3cret pw', 's3cret pw']) {
    assert.equal(verifyPassword(parseStoredPassword(spec), 's3cret pw', ctx), true);
    assert.equal(verifyPassword(parseStoredPassword(spec), 's3cret', ctx), false);
  }
});

test('HA1 forms are bound to user and realm', () => {
  const stored = parseStoredPassword(hashPassword('pw', 'digest', ctx));
  assert.equal(verifyPassword(stored, 'pw', { username: 'bob', realm: 'rtspkit' }), false);
  assert.equal(verifyPassword(stored, 'pw', { username: 'alice', realm: 'other' }), false);
});

test('which forms allow which methods; HA1 per family', () => {
  const m = (spec: string) => passwordMethods(parseStoredPassword(spec)).digest;
  assert.deepEqual(m(hashPassword('pw', 'scrypt', { salt: SALT })), []);
  assert.deepEqual(m(hashPassword('pw', 'sha256')), []);
  assert.deepEqual(m(hashPassword('pw', 'digest-md5', ctx)), ['MD5']);
  assert.deepEqual(m(hashPassword('pw', 'digest-sha256', ctx)), ['SHA-256']);
  assert.deepEqual(m(hashPassword('pw', 'digest', ctx)), ['MD5', 'SHA-256']);
  assert.deepEqual(m('plain:pw'), ['MD5', 'SHA-256']);

  const md5 = digestHa1({ algorithm: 'MD5', username: 'alice', realm: 'rtspkit', password: 'pw' });
  const sha = digestHa1({ algorithm: 'SHA-256', username: 'alice', realm: 'rtspkit', password: 'pw' });
  const both = parseStoredPassword(hashPassword('pw', 'digest', ctx));
  assert.equal(storedHa1(both, 'MD5', 'alice', 'rtspkit'), md5);
  assert.equal(storedHa1(both, 'SHA-256', 'alice', 'rtspkit'), sha);
  assert.equal(storedHa1(parseStoredPassword('plain:pw'), 'SHA-256', 'alice', 'rtspkit'), sha);
  assert.equal(
    storedHa1(parseStoredPassword(hashPassword('pw', 'sha256')), 'MD5', 'alice', 'rtspkit'),
    undefined,
  );
  // Upper-case hex in a config is accepted and normalised.
  assert.equal(storedHa1(parseStoredPassword(`digest-md5:${md5.toUpperCase()}`), 'MD5', 'a', 'r'), md5);
});

test('a clear password becomes HA1s, so the server need not keep it', () => {
  const stored = withoutClear(parseStoredPassword('plain:pw'), 'alice', 'rtspkit');
  assert.equal(stored.kind, 'digest');
  assert.ok(!JSON.stringify(stored).includes('"pw"'));
  assert.equal(verifyPassword(stored, 'pw', ctx), true);
  assert.equal(isImplicitClear('pw'), true);
  assert.equal(isImplicitClear('plain:pw'), false);
  assert.equal(isImplicitClear(hashPassword('pw', 'sha256')), false);
});

test('a malformed hashed form is an error, not a clear password; messages do not quote it', () => {
  for (const spec of [
    'sha256:abc',
    'scrypt:onlyonepart',
    'scrypt:!!:AAAAAAAAAAAAAAAAAAAAAA==',
    'scrypt:AAAA:AAAAAAAAAAAAAAAAAAAAAA==',
    'digest-md5:zz',
    'digest-sha256:0123',
    'digest:0123:4567',
  ]) {
    assert.throws(
      () => parseStoredPassword(spec),
      (e: unknown) =>
        e instanceof ParseError && e.code === 'AUTH_BAD_PASSWORD_FORM' && !e.message.includes(spec),
      spec,
    );
  }
  assert.throws(() => hashPassword('pw', 'scrypt', { salt: Buffer.alloc(8) }), RangeError);
  assert.throws(() => hashPassword('pw', 'digest-md5'), RangeError);
});
