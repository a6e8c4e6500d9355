import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import {
  decodeBasicCredentials,
  encodeBasicCredentials,
  parseAuthorization,
  parseWwwAuthenticate,
  serializeAuthorization,
  serializeWwwAuthenticate,
} from './auth-header.js';
import type { AuthChallenge } from './auth-header.js';

const bad = (e: unknown): boolean => e instanceof ParseError && e.code === 'RTSP_BAD_AUTH';

test('Digest challenge with quoted strings, a quoted list, bare tokens', () => {
  assert.deepEqual(
    parseWwwAuthenticate('Digest realm="x", nonce="y", qop="auth,auth-int", algorithm=MD5, stale=TRUE'),
    [
      {
        scheme: 'Digest',
        params: { realm: 'x', nonce: 'y', qop: 'auth,auth-int', algorithm: 'MD5', stale: 'TRUE' },
      },
    ],
  );
});

test('escapes, odd spacing, name case, several challenges in one value', () => {
  assert.deepEqual(
    parseWwwAuthenticate('Digest  REALM = "a \\"quoted\\" \\\\ realm" ,nonce="n,1",Basic realm="b", Newauth'),
    [
      { scheme: 'Digest', params: { realm: 'a "quoted" \\ realm', nonce: 'n,1' } },
      { scheme: 'Basic', params: { realm: 'b' } },
      { scheme: 'Newauth', params: {} },
    ],
  );
});

test('Basic challenge and credentials (token68)', () => {
  assert.deepEqual(parseWwwAuthenticate('Basic realm="IP Camera"'), [
    { scheme: 'Basic', params: { realm: 'IP Camera' } },
  ]);
  const creds = parseAuthorization('Basic dXNlcjpwQHNz');
  assert.deepEqual(creds, { scheme: 'Basic', params: {}, token68: 'dXNlcjpwQHNz' });
  assert.deepEqual(decodeBasicCredentials(creds.token68), { username: 'user', password: 'p@ss' });
  assert.equal(encodeBasicCredentials('user', 'p@ss'), 'dXNlcjpwQHNz');
  assert.deepEqual(parseAuthorization('Basic YTpiOmM='), {
    scheme: 'Basic',
    params: {},
    token68: 'YTpiOmM=',
  });
  assert.deepEqual(decodeBasicCredentials('YTpiOmM='), { username: 'a', password: 'b:c' });
  assert.equal(
    serializeAuthorization({ scheme: 'Basic', params: {}, token68: 'YTpiOmM=' }),
    'Basic YTpiOmM=',
  );
  assert.throws(() => decodeBasicCredentials('!!!'), bad);
  assert.throws(() => decodeBasicCredentials('YWJj'), bad); // "abc": no colon
  assert.throws(() => encodeBasicCredentials('a:b', 'c'), RangeError);
});

test('Digest credentials as ffmpeg and VLC send them', () => {
  const ffmpeg =
    'Digest username="admin", realm="rtspkit", nonce="7d5e3c", uri="rtsp://127.0.0.1:8554/live", ' +
    'response="0123456789abcdef0123456789abcdef", algorithm="MD5"';
  assert.deepEqual(parseAuthorization(ffmpeg).params, {
    username: 'admin',
    realm: 'rtspkit',
    nonce: '7d5e3c',
    uri: 'rtsp://127.0.0.1:8554/live',
    response: '0123456789abcdef0123456789abcdef',
    algorithm: 'MD5',
  });
  const withQop = parseAuthorization(
    'Digest username="u", realm="r", nonce="n", uri="/x", qop=auth, nc=00000001, cnonce="c", response="r"',
  );
  assert.equal(withQop.params.qop, 'auth');
  assert.equal(withQop.params.nc, '00000001');
  assert.equal(parseAuthorization('Digest uri=/bare/path, username=u').params.uri, '/bare/path');
});

test('serialization: quoting rules for challenges and credentials', () => {
  const ch: AuthChallenge = {
    scheme: 'Digest',
    params: { realm: 'rtspkit', nonce: 'abc', algorithm: 'MD5', qop: 'auth', stale: 'FALSE' },
  };
  assert.equal(
    serializeWwwAuthenticate(ch),
    'Digest realm="rtspkit", nonce="abc", algorithm=MD5, qop="auth", stale=FALSE',
  );
  assert.equal(
    serializeAuthorization({
      scheme: 'Digest',
      params: { username: 'a"b', qop: 'auth', nc: '00000001', algorithm: 'SHA-256' },
    }),
    'Digest username="a\\"b", qop=auth, nc=00000001, algorithm=SHA-256',
  );
  assert.equal(serializeWwwAuthenticate({ scheme: 'Negotiate', params: {} }), 'Negotiate');
  assert.throws(() => serializeWwwAuthenticate({ scheme: 'Bad Scheme', params: {} }), RangeError);
  assert.throws(() => serializeWwwAuthenticate({ scheme: 'Basic', params: { 'a b': 'x' } }), RangeError);
  assert.throws(() => serializeAuthorization({ scheme: 'Basic', params: {}, token68: 'a b' }), RangeError);
});

test('first occurrence of a parameter wins; __proto__ is an ordinary key', () => {
  const [c] = parseWwwAuthenticate('Digest realm="a", realm="b", __proto__="x"');
  assert.equal(c!.params.realm, 'a');
  assert.equal(Object.getOwnPropertyDescriptor(c!.params, '__proto__')?.value, 'x');
  assert.equal(Object.getPrototypeOf(c!.params), Object.prototype);
});

test('malformed values', () => {
  for (const v of [
    '',
    ',',
    'Digest realm="x',
    'Digest realm=x y',
    'Digest realm="x" nonce="y"',
    'Digest =x',
    'Digest nonce="a", realm=',
    '"Digest"',
    'Digest, realm="x"=',
  ]) {
    assert.throws(() => parseWwwAuthenticate(v), bad, v);
  }
  assert.throws(() => parseAuthorization('Basic a, Basic b'), bad);
});

const paramsArb = fc.dictionary(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
  fc.string({ unit: fc.constantFrom(...'ab Z9,;="\\/é'.split('')), maxLength: 12 }),
  { maxKeys: 5, noNullPrototype: true },
);
const challengeArb: fc.Arbitrary<AuthChallenge> = fc.oneof(
  fc.record(
    { scheme: fc.constantFrom('Digest', 'Basic', 'x-Custom'), params: paramsArb },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      scheme: fc.constantFrom('Basic', 'Bearer'),
      params: fc.constant({}),
      token68: fc.stringMatching(/^[A-Za-z0-9+/]{1,20}={0,2}$/),
    },
    { noNullPrototype: true },
  ),
);

test('property: round trips and ParseError only', () => {
  fc.assert(
    fc.property(fc.array(challengeArb, { minLength: 1, maxLength: 3 }), (list) => {
      assert.deepEqual(parseWwwAuthenticate(list.map(serializeWwwAuthenticate).join(', ')), list);
      assert.deepEqual(parseAuthorization(serializeAuthorization(list[0]!)), list[0]);
    }),
  );
  fc.assert(
    fc.property(fc.string(), fc.string(), (u, p) => {
      fc.pre(!u.includes(':'));
      assert.deepEqual(decodeBasicCredentials(encodeBasicCredentials(u, p)), { username: u, password: p });
    }),
  );
  const chars = fc.constantFrom(...'Digest Basic realm="x\\",= abc=='.split(''));
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: chars, maxLength: 40 })), (s) => {
      for (const parse of [parseWwwAuthenticate, parseAuthorization, decodeBasicCredentials]) {
        try {
          parse(s);
        } catch (e) {
          assert.ok(e instanceof ParseError, String(e));
        }
      }
    }),
    { numRuns: 500 },
  );
});
