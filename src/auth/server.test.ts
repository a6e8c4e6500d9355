import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isParseError } from '../base/errors.js';
import { parseAuthorization, parseWwwAuthenticate, serializeWwwAuthenticate } from '../rtsp/auth-header.js';
import type { DigestAlgorithm } from './digest.js';
import { digestCredentials, digestHa1, parseDigestChallenge } from './digest.js';
import type { NonceState } from './server.js';
import {
  checkNonce,
  createNonce,
  digestUriMatches,
  NONCE_RANDOM_BYTES,
  NonceCountMemory,
  nonceStampMs,
  parseBasicAuthorization,
  parseDigestAuthorization,
  serverChallenges,
  verifyBasic,
  verifyDigest,
} from './server.js';
import { parseStoredPassword } from './password.js';

const SECRET = Buffer.alloc(32, 7);
const RANDOM = Buffer.alloc(NONCE_RANDOM_BYTES, 9);
const T0 = 1_700_000_000_000;
const LIFE = 600_000;

function digestOf(header: string) {
  return parseDigestAuthorization(parseAuthorization(header));
}

// RFC 7616 §3.9.1: the same GET answered with SHA-256 and MD5; the server side of digest.test.ts.
for (const [algorithm, response] of [
  ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
  ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
] as const) {
  test(`RFC 7616 §3.9.1 ${algorithm} response verifies on the server (password and HA1)`, () => {
    const a = digestOf(
      `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=${algorithm}, ` +
        `nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, ` +
        `cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="${response}", ` +
        `opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
    );
    const base = {
      method: 'GET',
      requestUri: '/dir/index.html',
      realm: 'http-auth@example.org',
      authorization: a,
    };
    const nonce: NonceState = 'valid';
    assert.equal(verifyDigest({ ...base, nonce, secret: { password: 'Circle of Life' } }), 'ok');
    const ha1 = digestHa1({ algorithm, username: 'Mufasa', realm: a.realm, password: 'Circle of Life' });
    assert.equal(verifyDigest({ ...base, nonce, secret: { ha1 } }), 'ok');
    assert.equal(verifyDigest({ ...base, nonce, secret: { password: 'Circle of life' } }), 'bad-response');
    // HA2 uses the request's own method.
    assert.equal(verifyDigest({ ...base, method: 'POST', nonce, secret: { ha1 } }), 'bad-response');
    assert.equal(verifyDigest({ ...base, nonce: 'stale', secret: { ha1 } }), 'stale');
    assert.equal(verifyDigest({ ...base, nonce: 'invalid', secret: { ha1 } }), 'bad-nonce');
    assert.equal(verifyDigest({ ...base, realm: 'other', nonce, secret: { ha1 } }), 'bad-realm');
    assert.equal(verifyDigest({ ...base, requestUri: '/other', nonce, secret: { ha1 } }), 'bad-uri');
  });
}

test('RFC 2617 §3.5 example verifies on the server', () => {
  const a = digestOf(
    'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
      'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", ' +
      'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
  );
  assert.equal(a.algorithm, 'MD5');
  const input = {
    method: 'GET',
    requestUri: '/dir/index.html',
    realm: 'testrealm@host.com',
    authorization: a,
  };
  assert.equal(verifyDigest({ ...input, nonce: 'valid', secret: { password: 'Circle Of Life' } }), 'ok');
  assert.equal(
    verifyDigest({ ...input, nonce: 'valid', secret: { password: 'Circle of Life' } }),
    'bad-response',
  );
});

test('our client and our server agree for every algorithm, with and without qop', () => {
  const nonce = createNonce(SECRET, T0, RANDOM);
  for (const algorithm of ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess'] as DigestAlgorithm[]) {
    for (const qop of ['auth', undefined]) {
      if (qop === undefined && algorithm.endsWith('-sess')) continue;
      const header = `Digest realm="r", nonce="${nonce}", algorithm=${algorithm}${qop ? ', qop="auth"' : ''}`;
      const challenge = parseDigestChallenge(parseWwwAuthenticate(header)[0]!)!;
      const creds = digestCredentials(challenge, {
        username: 'u',
        password: 'p',
        method: 'SETUP',
        uri: 'rtsp://h/cam/trackID=1',
        nonceCount: 3,
        cnonce: 'abc',
      });
      const a = parseDigestAuthorization(creds);
      const family = algorithm.startsWith('SHA') ? 'SHA-256' : 'MD5';
      const ha1 = digestHa1({ algorithm: family, username: 'u', realm: 'r', password: 'p' });
      const state = checkNonce(SECRET, a.nonce, T0 + 1000, LIFE);
      const input = {
        method: 'SETUP',
        requestUri: 'rtsp://h/cam/trackID=1',
        realm: 'r',
        authorization: a,
        nonce: state,
      };
      assert.equal(verifyDigest({ ...input, secret: { password: 'p' } }), 'ok', `${algorithm} ${qop}`);
      assert.equal(verifyDigest({ ...input, secret: { ha1 } }), 'ok', `${algorithm} ${qop} (HA1)`);
      assert.equal(verifyDigest({ ...input, secret: { password: 'q' } }), 'bad-response');
    }
  }
});

test('stateless nonces: valid, then stale after the lifetime; forged, foreign or future ones are invalid', () => {
  const nonce = createNonce(SECRET, T0, RANDOM);
  assert.match(nonce, /^[A-Za-z0-9_-]{48}$/);
  assert.equal(checkNonce(SECRET, nonce, T0, LIFE), 'valid');
  assert.equal(checkNonce(SECRET, nonce, T0 + LIFE, LIFE), 'valid');
  assert.equal(checkNonce(SECRET, nonce, T0 + LIFE + 1, LIFE), 'stale');
  assert.equal(checkNonce(Buffer.alloc(32, 8), nonce, T0, LIFE), 'invalid');
  // A forged timestamp (the first bytes) breaks the MAC.
  const raw = Buffer.from(nonce, 'base64url');
  raw[7]! ^= 1;
  assert.equal(checkNonce(SECRET, raw.toString('base64url'), T0, LIFE), 'invalid');
  const last = nonce.at(-1) === 'A' ? 'B' : 'A';
  assert.equal(checkNonce(SECRET, nonce.slice(0, -1) + last, T0, LIFE), 'invalid');
  assert.equal(checkNonce(SECRET, createNonce(SECRET, T0 + 3_600_000, RANDOM), T0, LIFE), 'invalid');
  for (const bad of ['', 'x', nonce.slice(1), `${nonce}A`, nonce.replace(/./, '+')])
    assert.equal(checkNonce(SECRET, bad, T0, LIFE), 'invalid');
  assert.notEqual(createNonce(SECRET, T0, Buffer.alloc(NONCE_RANDOM_BYTES, 1)), nonce);
  assert.throws(() => createNonce(SECRET, T0, Buffer.alloc(4)), RangeError);
});

test('nonceStampMs reads back the stamp of our nonces only', () => {
  const nonce = createNonce(SECRET, T0, RANDOM);
  assert.equal(nonceStampMs(SECRET, nonce), T0);
  assert.equal(nonceStampMs(Buffer.alloc(32, 8), nonce), undefined);
  assert.equal(nonceStampMs(SECRET, 'x'), undefined);
});

test('NonceCountMemory: an accepted answer twice is a replay; bounded, and forgetting never reopens one', () => {
  const m = new NonceCountMemory(3);
  const n0 = createNonce(SECRET, T0, RANDOM);
  assert.equal(m.use(n0, T0, 'aa', T0, LIFE), 'fresh');
  assert.equal(m.use(n0, T0, 'bb', T0, LIFE), 'fresh');
  assert.equal(m.use(n0, T0, 'aa', T0 + 1, LIFE), 'replay');
  const n1 = createNonce(SECRET, T0 + 10, RANDOM);
  assert.equal(m.use(n1, T0 + 10, 'aa', T0 + 10, LIFE), 'fresh', 'the same response under another nonce');
  // A fourth entry pushes out the oldest (n0, aa): n0 answers it cannot vouch for are now unknown.
  const n2 = createNonce(SECRET, T0 + 20, RANDOM);
  assert.equal(m.use(n2, T0 + 20, 'cc', T0 + 20, LIFE), 'fresh');
  assert.equal(m.size, 3);
  assert.equal(m.use(n0, T0, 'aa', T0 + 21, LIFE), 'unknown');
  assert.equal(m.use(n0, T0, 'dd', T0 + 21, LIFE), 'unknown');
  assert.equal(m.use(n0, T0, 'bb', T0 + 21, LIFE), 'replay', 'still remembered');
  assert.equal(m.use(n2, T0 + 20, 'dd', T0 + 21, LIFE), 'fresh', 'newer nonces are unaffected');
  // Entries of expired nonces go first.
  const later = new NonceCountMemory(10);
  later.use(n0, T0, 'aa', T0, LIFE);
  later.use(n1, T0 + 10, 'aa', T0 + 10, LIFE);
  const n3 = createNonce(SECRET, T0 + LIFE + 5, RANDOM);
  assert.equal(later.use(n3, T0 + LIFE + 5, 'aa', T0 + LIFE + 5, LIFE), 'fresh');
  assert.equal(later.size, 2, 'the expired n0 entry went');
  assert.throws(() => new NonceCountMemory(0), RangeError);
});

test('lenient digest uri matching', () => {
  const yes: [string, string, string?][] = [
    ['rtsp://127.0.0.1:8554/cam', 'rtsp://127.0.0.1:8554/cam'],
    ['rtsp://127.0.0.1:8554/cam/', 'rtsp://127.0.0.1:8554/cam'],
    ['rtsp://127.0.0.1:8554/cam', 'rtsp://127.0.0.1:8554/cam/'],
    ['/cam', 'rtsp://h/cam'],
    ['cam', 'rtsp://h/cam'],
    ['rtsp://localhost/cam', 'rtsp://127.0.0.1:8554/cam'],
    ['rtsp://user:pw@h/cam', 'rtsp://h/cam'],
    ['rtsp://h/cam?token=1', 'rtsp://h/cam'],
    ['rtsp://h/my%20cam', 'rtsp://h/my cam'],
    // SETUP of a track with the credentials written for the aggregate URL, and back.
    ['rtsp://h/cam', 'rtsp://h/cam/trackID=0'],
    ['rtsp://h/cam/trackID=0', 'rtsp://h/cam/'],
    ['rtsps://h/site/cam', 'rtsp://h/site/cam/streamid=1'],
    ['rtsp://h/cam/trackID=0', 'rtsp://h/cam/trackID=1'],
    ['rtsp://h/cam?token=x/', 'rtsp://h/cam?token=x/trackID=0'],
    ['/private', 'rtsp://h/private/stream=0'],
    ['*', 'rtsp://h/cam', 'OPTIONS'],
    ['rtsp://h/cam', '*', 'OPTIONS'],
  ];
  const no: [string, string, string?][] = [
    ['rtsp://h/cam1', 'rtsp://h/cam2'],
    ['rtsp://h/cam', 'rtsp://h/camera'],
    ['rtsp://h/', 'rtsp://h/cam'],
    ['rtsp://h/cam', 'rtsp://h/cam/a/b'],
    ['rtsp://h/site', 'rtsp://h/other/site'],
    // Another path one segment away is another resource, not a track (issue 13: an RFC 2069 answer
    // for /private was taken for /private/feed).
    ['rtsp://h/private', 'rtsp://h/private/feed'],
    ['rtsp://h/private/feed', 'rtsp://h/private'],
    ['/private', '/private/feed/'],
    ['rtsp://h/private/trackID=0', 'rtsp://h/private/feed'],
    ['rtsp://h/private', 'rtsp://h/private/feed/trackID=0'],
    ['/hls/cam1/index.m3u8', '/hls/cam1/seg1.m4s'],
    ['*', 'rtsp://h/cam', 'DESCRIBE'],
  ];
  for (const [d, r, m = 'DESCRIBE'] of yes) assert.equal(digestUriMatches(d, r, m), true, `${d} ~ ${r}`);
  for (const [d, r, m = 'DESCRIBE'] of no) assert.equal(digestUriMatches(d, r, m), false, `${d} !~ ${r}`);
});

test('challenges: SHA-256, then MD5 (last, for ffmpeg), then Basic; one nonce; stale flag', () => {
  const list = serverChallenges({ realm: 'rtspkit', nonce: 'n1', basic: true }).map(serializeWwwAuthenticate);
  assert.deepEqual(list, [
    'Digest realm="rtspkit", nonce="n1", qop="auth", algorithm=SHA-256',
    'Digest realm="rtspkit", nonce="n1", qop="auth", algorithm=MD5',
    'Basic realm="rtspkit", charset="UTF-8"',
  ]);
  const stale = serverChallenges({ realm: 'r', nonce: 'n', basic: false, stale: true });
  assert.equal(stale.length, 2);
  for (const c of stale) assert.equal(c.params.stale, 'true');
});

test('Basic credentials', () => {
  const stored = parseStoredPassword('plain:pa:ss');
  const c = parseBasicAuthorization(
    parseAuthorization(`Basic ${Buffer.from('alice:pa:ss').toString('base64')}`),
  );
  assert.deepEqual(c, { username: 'alice', password: 'pa:ss' });
  assert.equal(verifyBasic(stored, c, 'r'), true);
  assert.equal(verifyBasic(stored, { ...c, password: 'pa' }, 'r'), false);
  assert.throws(() => parseBasicAuthorization(parseAuthorization('Digest username="a"')), isParseError);
  assert.throws(() => parseBasicAuthorization(parseAuthorization('Basic !!!!')), isParseError);
});

test('malformed Digest credentials are ParseErrors', () => {
  const ok = 'username="u", realm="r", nonce="n", uri="/x", response="00000000000000000000000000000000"';
  assert.doesNotThrow(() => digestOf(`Digest ${ok}`));
  for (const bad of [
    'Digest realm="r", nonce="n", uri="/x", response="00000000000000000000000000000000"',
    `Digest ${ok.replace('00000000000000000000000000000000', 'zz')}`,
    `Digest ${ok}, algorithm=SHA-256`,
    `Digest ${ok}, algorithm=SHA-512-256`,
    `Digest ${ok}, qop=auth-int, nc=00000001, cnonce="c"`,
    `Digest ${ok}, qop=auth, nc=1, cnonce="c"`,
    `Digest ${ok}, qop=auth, nc=00000001`,
    `Digest ${ok}, algorithm=MD5-sess`,
    'Basic dXNlcjpwYXNz',
  ])
    assert.throws(() => digestOf(bad), isParseError, bad);
});

// Verifiers never crash on hostile input: they throw ParseError or answer with a refusal.
const piece = fc.string({ unit: fc.constantFrom(...'aZ09 =,"\\/:*%?#-_\t'.split('')), maxLength: 24 });
const headerArb = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc
    .array(
      fc.tuple(
        fc.constantFrom(
          'username',
          'realm',
          'nonce',
          'uri',
          'response',
          'algorithm',
          'qop',
          'nc',
          'cnonce',
          'userhash',
          '__proto__',
        ),
        fc.oneof(
          piece,
          fc.constantFrom(
            'MD5',
            'SHA-256',
            'MD5-sess',
            'auth',
            '00000001',
            'r',
            '0'.repeat(32),
            '0'.repeat(64),
          ),
        ),
      ),
      { maxLength: 10 },
    )
    .map((ps) => `Digest ${ps.map(([k, v]) => `${k}="${v.replace(/["\\]/g, '')}"`).join(', ')}`),
  fc.string({ maxLength: 60 }).map((s) => `Basic ${s}`),
);

test('property: verifiers throw only ParseError or refuse on arbitrary input', () => {
  const stored = parseStoredPassword('plain:p');
  fc.assert(
    fc.property(
      headerArb,
      piece,
      fc.constantFrom<NonceState>('valid', 'stale', 'invalid'),
      (header, uri, nonce) => {
        try {
          const creds = parseAuthorization(header);
          if (creds.scheme.toLowerCase() === 'basic') {
            assert.equal(verifyBasic(stored, parseBasicAuthorization(creds), 'r'), false);
            return;
          }
          const a = parseDigestAuthorization(creds);
          const verdict = verifyDigest({
            method: 'DESCRIBE',
            requestUri: uri,
            realm: 'r',
            authorization: a,
            secret: { password: 'p' },
            nonce,
          });
          assert.notEqual(verdict, 'ok');
        } catch (e) {
          if (!isParseError(e)) throw e;
        }
        assert.equal(checkNonce(SECRET, header, T0, LIFE), 'invalid');
      },
    ),
    { numRuns: 3000 },
  );
});
