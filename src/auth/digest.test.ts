import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAuthorization, parseWwwAuthenticate, serializeAuthorization } from '../rtsp/auth-header.js';
import {
  basicCredentials,
  digestCredentials,
  digestHa1,
  digestResponse,
  parseDigestChallenge,
  selectChallenge,
} from './digest.js';

// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
const RFC7616 = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
};

for (const [algorithm, expected] of [
  ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
  ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
] as const) {
  test(`RFC 7616 §3.9.1 example, ${algorithm}`, () => {
    const [c] = parseWwwAuthenticate(
      `Digest realm="${RFC7616.realm}", qop="auth, auth-int", algorithm=${algorithm}, nonce="${RFC7616.nonce}", opaque="${RFC7616.opaque}"`,
    );
    const challenge = parseDigestChallenge(c!);
    assert.ok(challenge);
    assert.deepEqual(challenge.qop, ['auth', 'auth-int']);
    const creds = digestCredentials(challenge, {
      username: RFC7616.username,
      password: RFC7616.password,
      method: 'GET',
      uri: '/dir/index.html',
      nonceCount: 1,
      cnonce: RFC7616.cnonce,
    });
    assert.equal(creds.params.response, expected);
    assert.equal(creds.params.nc, '00000001');
    assert.equal(creds.params.qop, 'auth');
    assert.equal(creds.params.opaque, RFC7616.opaque);
    // Written and read back unchanged.
    const back = parseAuthorization(serializeAuthorization(creds));
    assert.deepEqual(back.params, creds.params);
  });
}

test('RFC 2617 §3.5 example (MD5, qop=auth)', () => {
  const ha1 = digestHa1({
    algorithm: 'MD5',
    username: 'Mufasa',
    realm: 'testrealm@host.com',
    password: 'Circle Of Life',
  });
  const r = digestResponse({
    algorithm: 'MD5',
    ha1,
    nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
    method: 'GET',
    uri: '/dir/index.html',
    qop: 'auth',
    nc: '00000001',
    cnonce: '0a4f113b',
  });
  assert.equal(r, '6629fae49393a05397450978507c4ef1');
});

test('RFC 2069 digest (no qop): no nc/cnonce, response over HA1:nonce:HA2', () => {
  const [c] = parseWwwAuthenticate('Digest realm="cam", nonce="abc"');
  const creds = digestCredentials(parseDigestChallenge(c!)!, {
    username: 'u',
    password: 'p',
    method: 'DESCRIBE',
    uri: 'rtsp://h/x',
    nonceCount: 1,
    cnonce: 'zz',
  });
  assert.equal(creds.params.qop, undefined);
  assert.equal(creds.params.cnonce, undefined);
  const ha1 = digestHa1({ algorithm: 'MD5', username: 'u', realm: 'cam', password: 'p' });
  assert.equal(
    creds.params.response,
    digestResponse({ algorithm: 'MD5', ha1, nonce: 'abc', method: 'DESCRIBE', uri: 'rtsp://h/x' }),
  );
});

test('stale flag, unknown algorithm and non-digest challenges', () => {
  const list = parseWwwAuthenticate('Digest realm="r", nonce="n", stale=TRUE, algorithm=MD5');
  assert.equal(parseDigestChallenge(list[0]!)?.stale, true);
  assert.equal(
    parseDigestChallenge(parseWwwAuthenticate('Digest realm="r", nonce="n", algorithm=SHA-512-256')[0]!),
    undefined,
  );
  assert.equal(parseDigestChallenge(parseWwwAuthenticate('Basic realm="r"')[0]!), undefined);
});

test('selectChallenge prefers SHA-256 digest, then MD5, then Basic', () => {
  const all = [
    ...parseWwwAuthenticate('Basic realm="r"'),
    ...parseWwwAuthenticate('Digest realm="r", nonce="n", algorithm=MD5'),
    ...parseWwwAuthenticate('Digest realm="r", nonce="n", algorithm=SHA-256'),
  ];
  const s = selectChallenge(all);
  assert.ok(s?.kind === 'digest');
  assert.equal(s.digest.algorithm, 'SHA-256');
  assert.equal(selectChallenge(all.slice(0, 2))?.kind === 'digest', true);
  assert.deepEqual(selectChallenge(all.slice(0, 1)), { kind: 'basic', realm: 'r' });
  assert.equal(selectChallenge([]), undefined);
  assert.equal(serializeAuthorization(basicCredentials('user', 'pass')), 'Basic dXNlcjpwYXNz');
});
