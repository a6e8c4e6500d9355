import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { parseWwwAuthenticate, serializeAuthorization } from '../rtsp/auth-header.js';
import { basicCredentials, digestCredentials, digestHa1, parseDigestChallenge } from '../auth/digest.js';
import type { DigestChallenge } from '../auth/digest.js';
import { hashPassword } from '../auth/password.js';
import type { Action, AuthConfig, AuthContext, AuthDenial } from './auth.js';
import { Authorizer, userFromCli } from './auth.js';
import { NonceCountMemory } from '../auth/server.js';

const REALM = 'rtspkit';
const SECRET = Buffer.alloc(32, 7);
const T0 = 1_700_000_000_000;
const LIFE = 10 * 60_000;

function make(config: Partial<AuthConfig> = {}, logger?: Logger) {
  const clock = new ManualClock(0, T0);
  const auth = new Authorizer(
    {
      realm: REALM,
      basic: true,
      users: [
        {
          name: 'alice',
          password: hashPassword('s3cret', 'digest', { username: 'alice', realm: REALM }),
          permissions: [{ action: 'read' }, { action: 'publish' }],
        },
        { name: 'viewer', password: 'plain:look', permissions: [{ action: 'read', path: 'cam*' }] },
        {
          name: 'office',
          password: 'plain:pw',
          permissions: [{ action: 'read' }],
          ips: ['10.0.0.0/8', '::1'],
        },
        {
          name: 'scr',
          password: hashPassword('slow', 'scrypt', { salt: Buffer.alloc(16, 3) }),
          permissions: [{ action: 'read' }],
        },
        { name: 'sha', password: hashPassword('pw', 'sha256'), permissions: [{ action: 'read' }] },
        {
          name: 'md5only',
          password: hashPassword('pw', 'digest-md5', { username: 'md5only', realm: REALM }),
          permissions: [{ action: 'read' }],
        },
      ],
      ...config,
    },
    { clock, secret: SECRET, random: (n) => Buffer.alloc(n, 9), ...(logger ? { logger } : {}) },
  );
  return { auth, clock };
}

function request(method: string, uri: string, authorization?: string) {
  return {
    method,
    uri,
    headers: { get: (n: string) => (n.toLowerCase() === 'authorization' ? authorization : undefined) },
  };
}

function ctx(action: Action = 'read', path = 'cam1', ip = '127.0.0.1'): AuthContext {
  return { ip, action, path, query: '' };
}

function challenges(d: AuthDenial | undefined): DigestChallenge[] {
  assert.ok(d);
  assert.equal(d.statusCode, 401);
  return d.headers
    .flatMap(([, v]) => parseWwwAuthenticate(v))
    .map(parseDigestChallenge)
    .filter((c) => c !== undefined);
}

/** What a client sends after `denial`, answering the challenge of `algorithm`. */
function answer(
  denial: AuthDenial | undefined,
  user: string,
  password: string,
  method: string,
  uri: string,
  algorithm: 'MD5' | 'SHA-256' = 'MD5',
  nonceCount = 1,
): string {
  const c = challenges(denial).find((x) => x.algorithm === algorithm)!;
  return serializeAuthorization(
    digestCredentials(c, { username: user, password, method, uri, nonceCount, cnonce: 'c0ffee' }),
  );
}

const URI = 'rtsp://127.0.0.1:8554/cam1';

test('no credentials: 401 with SHA-256, then MD5 (last, for ffmpeg), then Basic; not counted as a failure', async () => {
  const { auth } = make();
  const d = await auth.check(request('DESCRIBE', URI), ctx());
  assert.ok(d);
  assert.equal(d.statusCode, 401);
  assert.deepEqual(
    d.headers.map(([k]) => k),
    ['WWW-Authenticate', 'WWW-Authenticate', 'WWW-Authenticate'],
  );
  assert.match(
    d.headers[0]![1],
    /^Digest realm="rtspkit", nonce="[\w-]{48}", qop="auth", algorithm=SHA-256$/,
  );
  assert.match(d.headers[1]![1], /^Digest realm="rtspkit", nonce="[\w-]{48}", qop="auth", algorithm=MD5$/);
  assert.equal(d.headers[2]![1], 'Basic realm="rtspkit", charset="UTF-8"');
  assert.equal(auth.authFailures, 0);
  const noBasic = make({ basic: false }).auth;
  assert.equal((await noBasic.check(request('DESCRIBE', URI), ctx()))!.headers.length, 2);
});

test('right Digest (MD5 and SHA-256) is allowed; wrong password, unknown user, forged nonce get 401', async () => {
  const { auth } = make();
  const first = await auth.check(request('DESCRIBE', URI), ctx());
  for (const algorithm of ['MD5', 'SHA-256'] as const) {
    const h = answer(first, 'alice', 's3cret', 'DESCRIBE', URI, algorithm);
    assert.equal(await auth.check(request('DESCRIBE', URI, h), ctx()), undefined, algorithm);
    // HA2 is from the request's own method: the same header does not open SETUP... unless recomputed.
    assert.equal((await auth.check(request('SETUP', `${URI}/trackID=0`, h), ctx()))?.statusCode, 401);
    const setup = answer(first, 'alice', 's3cret', 'SETUP', URI, algorithm, 2);
    assert.equal(await auth.check(request('SETUP', `${URI}/trackID=0`, setup), ctx()), undefined);
  }
  const failures = auth.authFailures;
  const wrong = answer(first, 'alice', 'S3cret', 'DESCRIBE', URI);
  const wd = await auth.check(request('DESCRIBE', URI, wrong), ctx());
  assert.equal(wd?.statusCode, 401);
  assert.ok(challenges(wd).every((c) => !c.stale));
  assert.equal(
    (await auth.check(request('DESCRIBE', URI, answer(first, 'mallory', 's3cret', 'DESCRIBE', URI)), ctx()))
      ?.statusCode,
    401,
  );
  const forged = answer(first, 'alice', 's3cret', 'DESCRIBE', URI).replace(/nonce="A/, 'nonce="B');
  assert.equal((await auth.check(request('DESCRIBE', URI, forged), ctx()))?.statusCode, 401);
  assert.equal((await auth.check(request('DESCRIBE', URI, 'Digest username='), ctx()))?.statusCode, 401);
  assert.equal((await auth.check(request('DESCRIBE', URI, 'Bearer abc'), ctx()))?.statusCode, 401);
  assert.equal(auth.authFailures, failures + 5);
});

test('an expired nonce with the right answer gets 401 stale=true; the retry with the new nonce is allowed', async () => {
  const { auth, clock } = make();
  const first = await auth.check(request('DESCRIBE', URI), ctx());
  const h = answer(first, 'alice', 's3cret', 'DESCRIBE', URI);
  assert.equal(await auth.check(request('DESCRIBE', URI, h), ctx()), undefined);
  clock.advance(LIFE + 1);
  const replay = await auth.check(request('DESCRIBE', URI, h), ctx());
  const cs = challenges(replay);
  assert.equal(cs.length, 2);
  assert.ok(cs.every((c) => c.stale));
  assert.equal(auth.authFailures, 0);
  // A wrong answer with the expired nonce is not stale: the client must ask for the password again.
  const wrong = await auth.check(
    request('DESCRIBE', URI, answer(first, 'alice', 'bad', 'DESCRIBE', URI)),
    ctx(),
  );
  assert.ok(challenges(wrong).every((c) => !c.stale));
  assert.equal(
    await auth.check(request('DESCRIBE', URI, answer(replay, 'alice', 's3cret', 'DESCRIBE', URI)), ctx()),
    undefined,
  );
});

test('a replayed Digest answer (same nonce, nc, cnonce: the same response) gets 401 stale=true', async () => {
  const { auth } = make();
  const first = await auth.check(request('DESCRIBE', URI), ctx());
  const h = answer(first, 'alice', 's3cret', 'DESCRIBE', URI);
  assert.equal(await auth.check(request('DESCRIBE', URI, h), ctx()), undefined);
  const failures = auth.authFailures;
  const replay = await auth.check(request('DESCRIBE', URI, h), ctx());
  assert.ok(challenges(replay).every((c) => c.stale));
  assert.equal(auth.authFailures, failures + 1, 'counted');
  // The client's next request counts on with the same nonce and passes; so does an answer to the new nonce.
  assert.equal(
    await auth.check(
      request('DESCRIBE', URI, answer(first, 'alice', 's3cret', 'DESCRIBE', URI, 'MD5', 2)),
      ctx(),
    ),
    undefined,
  );
  // (This test's nonce source is fixed, so the new nonce is the old one: the answer differs by its count.)
  assert.equal(
    await auth.check(
      request('DESCRIBE', URI, answer(replay, 'alice', 's3cret', 'DESCRIBE', URI, 'MD5', 3)),
      ctx(),
    ),
    undefined,
  );
  // RFC 2069 answers (no qop: GStreamer, live555) carry no count and legitimately repeat.
  const c = challenges(first).find((x) => x.algorithm === 'MD5')!;
  const noQop = serializeAuthorization(
    digestCredentials(
      { ...c, qop: [] },
      {
        username: 'alice',
        password: 's3cret',
        method: 'GET_PARAMETER',
        uri: URI,
        nonceCount: 1,
        cnonce: 'x',
      },
    ),
  );
  for (let i = 0; i < 3; i++)
    assert.equal(await auth.check(request('GET_PARAMETER', URI, noQop), ctx()), undefined);
});

test('a replay stays refused by an Authorizer that replaces another with the same nonce state (reload)', async () => {
  const nonceCounts = new NonceCountMemory();
  const users: AuthConfig['users'] = [
    { name: 'alice', password: 'plain:s3cret', permissions: [{ action: 'read' }] },
  ];
  const opts = { secret: SECRET, nonceCounts, clock: new ManualClock(0, T0) };
  const a = new Authorizer({ realm: REALM, basic: false, users }, opts);
  const h = answer(await a.check(request('DESCRIBE', URI), ctx()), 'alice', 's3cret', 'DESCRIBE', URI);
  assert.equal(await a.check(request('DESCRIBE', URI, h), ctx()), undefined);
  const b = new Authorizer({ realm: REALM, basic: false, users }, opts);
  assert.ok(challenges(await b.check(request('DESCRIBE', URI, h), ctx())).every((x) => x.stale));
});

test('rights per action and path: 403 for a known user without the right', async () => {
  const { auth } = make();
  const first = await auth.check(request('DESCRIBE', URI), ctx());
  const h = (method: string, uri: string) => answer(first, 'viewer', 'look', method, uri);
  assert.equal(
    await auth.check(request('DESCRIBE', URI, h('DESCRIBE', URI)), ctx('read', 'cam1')),
    undefined,
  );
  const announce = 'rtsp://127.0.0.1:8554/cam1';
  const d = await auth.check(request('ANNOUNCE', announce, h('ANNOUNCE', announce)), ctx('publish', 'cam1'));
  assert.deepEqual(d, { statusCode: 403, headers: [] });
  const other = 'rtsp://127.0.0.1:8554/garage';
  assert.equal(
    (await auth.check(request('DESCRIBE', other, h('DESCRIBE', other)), ctx('read', 'garage')))?.statusCode,
    403,
  );
  const alice = answer(first, 'alice', 's3cret', 'ANNOUNCE', announce);
  assert.equal(await auth.check(request('ANNOUNCE', announce, alice), ctx('publish', 'cam1')), undefined);
  const alice2 = answer(first, 'alice', 's3cret', 'ANNOUNCE', announce, 'MD5', 2);
  assert.equal(
    (await auth.check(request('ANNOUNCE', announce, alice2), ctx('api', 'cam1')))?.statusCode,
    403,
  );
  assert.equal(auth.authFailures, 3);
});

test('IP allow lists (CIDR, IPv6, IPv4-mapped)', async () => {
  const { auth } = make();
  const basic = serializeAuthorization(basicCredentials('office', 'pw'));
  for (const ip of ['10.1.2.3', '::ffff:10.1.2.3', '::1'])
    assert.equal(await auth.check(request('DESCRIBE', URI, basic), ctx('read', 'cam1', ip)), undefined, ip);
  for (const ip of ['192.168.1.1', '::2', 'not-an-ip'])
    assert.equal(
      (await auth.check(request('DESCRIBE', URI, basic), ctx('read', 'cam1', ip)))?.statusCode,
      403,
      ip,
    );
  assert.throws(
    () => make({ users: [{ name: 'x', password: 'plain:y', permissions: [], ips: ['10.0.0.0/33'] }] }),
    RangeError,
  );
  assert.throws(
    () => make({ users: [{ name: 'x', password: 'plain:y', permissions: [], ips: ['nope'] }] }),
    RangeError,
  );
});

test('anonymous access, limited by rights and IPs; credentials still work', async () => {
  const { auth } = make({
    anonymous: { permissions: [{ action: 'read', path: 'public/**' }], ips: ['127.0.0.0/8'] },
  });
  assert.equal(
    await auth.check(request('DESCRIBE', 'rtsp://h/public/a'), ctx('read', 'public/a')),
    undefined,
  );
  assert.equal(
    (await auth.check(request('ANNOUNCE', 'rtsp://h/public/a'), ctx('publish', 'public/a')))?.statusCode,
    401,
  );
  assert.equal((await auth.check(request('DESCRIBE', URI), ctx('read', 'cam1')))?.statusCode, 401);
  assert.equal(
    (await auth.check(request('DESCRIBE', 'rtsp://h/public/a'), ctx('read', 'public/a', '10.0.0.1')))
      ?.statusCode,
    401,
  );
  assert.equal(
    await auth.check(
      request('DESCRIBE', URI, serializeAuthorization(basicCredentials('alice', 's3cret'))),
      ctx(),
    ),
    undefined,
  );
});

test('Basic: every stored form; turned off → 401; scrypt outcome cached', async () => {
  const { auth } = make();
  const b = (u: string, p: string) =>
    request('DESCRIBE', URI, serializeAuthorization(basicCredentials(u, p)));
  for (const [u, p] of [
    ['alice', 's3cret'],
    ['viewer', 'look'],
    ['scr', 'slow'],
    ['sha', 'pw'],
    ['md5only', 'pw'],
  ] as const) {
    assert.equal(await auth.check(b(u, p), ctx()), undefined, u);
    assert.equal((await auth.check(b(u, `${p}x`), ctx()))?.statusCode, 401, u);
  }
  // The same (user, password) again, even concurrently, comes from the cache: no second scrypt.
  const checks = auth.passwordChecks;
  const both = await Promise.all([auth.check(b('scr', 'slow'), ctx()), auth.check(b('scr', 'slow'), ctx())]);
  assert.deepEqual(both, [undefined, undefined]);
  assert.equal((await auth.check(b('scr', 'slowx'), ctx()))?.statusCode, 401);
  assert.equal(auth.passwordChecks, checks);
  const off = make({ basic: false }).auth;
  assert.equal((await off.check(b('alice', 's3cret'), ctx()))?.statusCode, 401);
  const tiny = new Authorizer(
    {
      realm: REALM,
      basic: true,
      users: [{ name: 'u', password: 'sha256:' + '0'.repeat(64), permissions: [] }],
    },
    { cacheSize: 2 },
  );
  for (let i = 0; i < 10; i++) await tiny.check(b('u', `p${i}`), ctx());
  assert.equal(tiny.passwordChecks, 10);
  await tiny.check(b('u', 'p9'), ctx());
  assert.equal(tiny.passwordChecks, 10, 'still cached');
  await tiny.check(b('u', 'p0'), ctx());
  assert.equal(tiny.passwordChecks, 11, 'evicted: the cache is bounded');
  assert.equal(tiny.authFailures, 12);
});

test('an unknown name goes through the same password check as a wrong password (scrypt and HA1 forms)', async () => {
  const b = (u: string, p: string) =>
    request('DESCRIBE', URI, serializeAuthorization(basicCredentials(u, p)));
  for (const form of ['scrypt', 'digest'] as const) {
    const stored = (name: string) =>
      form === 'scrypt'
        ? hashPassword('pw', 'scrypt', { salt: Buffer.alloc(16, name.length) })
        : hashPassword('pw', 'digest', { username: name, realm: REALM });
    const auth = new Authorizer({
      realm: REALM,
      basic: true,
      users: ['ann', 'bert'].map((name) => ({
        name,
        password: stored(name),
        permissions: [{ action: 'read' }],
      })),
    });
    // Each refusal costs one hash of the users' form (scrypt: tens of ms), cached alike when repeated.
    for (const [user, password] of [
      ['ann', 'wrong'],
      ['nobody', 'wrong'],
      ['nobody', 'pw'],
    ] as const) {
      const checks = auth.passwordChecks;
      assert.equal((await auth.check(b(user, password), ctx()))?.statusCode, 401, `${form} ${user}`);
      assert.equal(auth.passwordChecks, checks + 1, `${form} ${user}: one password check`);
      assert.equal((await auth.check(b(user, password), ctx()))?.statusCode, 401, `${form} ${user}`);
      assert.equal(auth.passwordChecks, checks + 1, `${form} ${user}: the outcome is cached`);
    }
    assert.equal(await auth.check(b('ann', 'pw'), ctx()), undefined);
    assert.equal(auth.authFailures, 6);
  }
});

test('Digest needs an HA1: scrypt/sha256 users get 401, digest-md5 users only with MD5', async () => {
  const { auth } = make();
  const first = await auth.check(request('DESCRIBE', URI), ctx());
  assert.equal(
    (await auth.check(request('DESCRIBE', URI, answer(first, 'scr', 'slow', 'DESCRIBE', URI)), ctx()))
      ?.statusCode,
    401,
  );
  assert.equal(
    (await auth.check(request('DESCRIBE', URI, answer(first, 'sha', 'pw', 'DESCRIBE', URI)), ctx()))
      ?.statusCode,
    401,
  );
  assert.equal(
    await auth.check(request('DESCRIBE', URI, answer(first, 'md5only', 'pw', 'DESCRIBE', URI, 'MD5')), ctx()),
    undefined,
  );
  assert.equal(
    (
      await auth.check(
        request('DESCRIBE', URI, answer(first, 'md5only', 'pw', 'DESCRIBE', URI, 'SHA-256')),
        ctx(),
      )
    )?.statusCode,
    401,
  );
});

test('RFC 7616 userhash credentials find the user', async () => {
  const { auth } = make();
  const first = await auth.check(request('DESCRIBE', URI), ctx());
  const c = { ...challenges(first).find((x) => x.algorithm === 'SHA-256')!, userhash: true };
  const creds = digestCredentials(c, {
    username: 'alice',
    password: 's3cret',
    method: 'DESCRIBE',
    uri: URI,
    nonceCount: 1,
    cnonce: 'x',
  });
  assert.notEqual(creds.params.username, 'alice');
  assert.equal(await auth.check(request('DESCRIBE', URI, serializeAuthorization(creds)), ctx()), undefined);
});

test('userFromCli: every right on every path; the password may hold colons', async () => {
  const u = userFromCli('bob:pa:ss');
  assert.deepEqual(u, {
    name: 'bob',
    password: 'plain:pa:ss',
    permissions: [{ action: 'read' }, { action: 'publish' }, { action: 'api' }, { action: 'playback' }],
  });
  assert.throws(() => userFromCli('bob'), RangeError);
  assert.throws(() => userFromCli(':pw'), RangeError);
  const { auth } = make({ users: [u] });
  const first = await auth.check(
    request('ANNOUNCE', 'rtsp://h/any/deep/path'),
    ctx('publish', 'any/deep/path'),
  );
  const h = (nc: number) => answer(first, 'bob', 'pa:ss', 'ANNOUNCE', 'rtsp://h/any/deep/path', 'MD5', nc);
  for (const [i, action] of (['read', 'publish', 'api'] as const).entries())
    assert.equal(
      await auth.check(request('ANNOUNCE', 'rtsp://h/any/deep/path', h(i + 1)), ctx(action, 'any/deep/path')),
      undefined,
    );
});

test('passwords are never logged; a clear password in the config is warned about', async () => {
  const lines: string[] = [];
  const log = (o: object, m?: string) => void lines.push(JSON.stringify(o) + (m ?? ''));
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
  const { auth } = make(
    { users: [{ name: 'clear', password: 'hunter2', permissions: [{ action: 'read' }] }] },
    logger,
  );
  await auth.check(
    request('DESCRIBE', URI, serializeAuthorization(basicCredentials('clear', 'hunter3'))),
    ctx(),
  );
  await auth.check(
    request('DESCRIBE', URI, serializeAuthorization(basicCredentials('nobody', 'topsecret'))),
    ctx(),
  );
  assert.ok(lines.some((l) => l.includes('password stored in clear')));
  assert.ok(
    lines.every((l) => !l.includes('hunter') && !l.includes('topsecret')),
    lines.join('\n'),
  );
});

// Authorization headers sent by real clients to a throwaway responder that answered with this Authorizer's
// 401 (secret 32×0x07, nonce random 12×0x09, wall clock T0: nonce AAABi8_la...), user alice / s3cret.
// ffprobe 5.1.6 (Lavf59.27.100): MD5, qop=auth, nc counting up, algorithm and qop quoted. GStreamer 1.22.0:
// RFC 2069 MD5 (no qop, no algorithm). Both SETUP the track URL and PLAY the Content-Base with a slash.
// The *_STALE runs moved the clock 11 minutes after DESCRIBE: SETUP got 401 stale=true, and both clients
// retried SETUP with the new nonce (AAABi8_vei..., stamped T0 + 11 min) without asking for a password.
const N1 = 'AAABi8_laAAJCQkJCQkJCQkJCQnbAQI4RqlArBAuBS2wbf9c';
const N2 = 'AAABi8_veiAJCQkJCQkJCQkJCQn4J2ws8413jESjNMHYreJv';
type Vector = [method: string, uri: string, response: string, cnonce?: string | undefined, nonce?: string];
const ff = (port: number, v: Vector[]) =>
  v.map(([m, path, r, cn, nonce = N1], i): [string, string, string] => {
    const uri = `rtsp://127.0.0.1:${port}/${path}`;
    const nc = (i + 1).toString(16).padStart(8, '0');
    return [
      m,
      uri,
      `Digest username="alice", realm="rtspkit", nonce="${nonce}", uri="${uri}", response="${r}", algorithm="MD5", qop="auth", cnonce="${cn}", nc=${nc}`,
    ];
  });
const gst = (port: number, v: Vector[]) =>
  v.map(([m, path, r, , nonce = N1]): [string, string, string] => {
    const uri = `rtsp://127.0.0.1:${port}/${path}`;
    return [
      m,
      uri,
      `Digest username="alice", realm="rtspkit", nonce="${nonce}", uri="${uri}", response="${r}"`,
    ];
  });
const FFMPEG = ff(36779, [
  ['OPTIONS', 'x', 'a5719927086d389c0bc5338723d98b39', '9f7f6eba7fb36de6'],
  ['DESCRIBE', 'x', 'ff72d7c8487d9fcff21414185b359dd5', '080e9993668ddecc'],
  ['SETUP', 'x/trackID=0', '46d1dfc6b1a56fd9f82fe50c7dc34f48', 'ca85a94d1f2aba47'],
  ['PLAY', 'x/', '18064866028f22e95e0fb47fd1f69964', 'cb3d4f8d5973bd04'],
]);
const GSTREAMER = gst(33359, [
  ['OPTIONS', 'x', '9989959859a2e86bdedc5d99cbdf4bb6'],
  ['DESCRIBE', 'x', '69e53b98dbf1201466f54a30d8d654d9'],
  ['SETUP', 'x/trackID=0', '9ff6f55340da6ea284a186c3ef63c0e9'],
  ['PLAY', 'x/', '69e15278ffe791c6cdb10adc2665e8c9'],
]);
const FFMPEG_STALE_SETUP = ff(39543, [
  ['OPTIONS', 'x', 'bd311ad66853b18084a5d625a5b5714b', 'eb401c3c71af8a0c'],
  ['DESCRIBE', 'x', '3ef4f2aecd5e35701838719030d039b6', 'd1ee7c737cd0a96b'],
  ['SETUP', 'x/trackID=0', '77c2aa0220412885dffa858a0ce4d7d6', 'a4139be1230711e6'],
]);
const FFMPEG_STALE_RETRY = ff(39543, [
  ['SETUP', 'x/trackID=0', '73c8db5d1050ed048db8b159f53b885e', '9ef0c2b7e8626c0e', N2],
  ['PLAY', 'x/', '9665920ed3be88f64cd0bf1c0b8892c8', 'bf8dab56e4897017', N2],
]);
const GST_STALE_SETUP = gst(40475, [['SETUP', 'x/trackID=0', '42b673f6abf7a8f7d9a986fc071db157']]);
const GST_STALE_RETRY = gst(40475, [
  ['SETUP', 'x/trackID=0', '3b68a968d405e3f13fc3873a1e5d0ae3', undefined, N2],
  ['PLAY', 'x/', '84408f4e4fa0da48518aeb837b0bc58b', undefined, N2],
]);

function captured() {
  const clock = new ManualClock(0, T0);
  const auth = new Authorizer(
    {
      realm: REALM,
      basic: true,
      users: [{ name: 'alice', password: 'plain:s3cret', permissions: [{ action: 'read' }] }],
    },
    { clock, secret: SECRET, random: (n) => Buffer.alloc(n, 9) },
  );
  return { auth, clock };
}

for (const [name, vectors] of [
  ['ffmpeg', FFMPEG],
  ['GStreamer', GSTREAMER],
] as const) {
  test(`captured ${name} Digest headers are accepted (OPTIONS, DESCRIBE, SETUP track URL, PLAY with slash)`, async () => {
    const { auth } = captured();
    const d = await auth.check(request('OPTIONS', 'rtsp://127.0.0.1:1/x'), ctx('read', 'x'));
    assert.equal(
      challenges(d)[0]!.nonce,
      N1,
      'the fixed secret, clock and randomness give the nonce the client answered',
    );
    for (const [method, uri, h] of vectors)
      assert.equal(
        await auth.check(request(method, uri, h), ctx('read', 'x')),
        undefined,
        `${method} ${uri}`,
      );
    // The same headers with another password do not pass.
    const other = new Authorizer(
      {
        realm: REALM,
        basic: true,
        users: [{ name: 'alice', password: 'plain:s3creT', permissions: [{ action: 'read' }] }],
      },
      { clock: new ManualClock(0, T0), secret: SECRET },
    );
    for (const [method, uri, h] of vectors)
      assert.equal((await other.check(request(method, uri, h), ctx('read', 'x')))?.statusCode, 401);
  });
}

for (const [name, before, setup, retry] of [
  ['ffmpeg', FFMPEG_STALE_SETUP.slice(0, 2), FFMPEG_STALE_SETUP[2]!, FFMPEG_STALE_RETRY],
  ['GStreamer', GSTREAMER.slice(0, 2), GST_STALE_SETUP[0]!, GST_STALE_RETRY],
] as const) {
  test(`captured ${name} run across a nonce expiry: 401 stale=true, then the retry with the new nonce passes`, async () => {
    const { auth, clock } = captured();
    if (name === 'ffmpeg')
      for (const [m, u, h] of before)
        assert.equal(await auth.check(request(m, u, h), ctx('read', 'x')), undefined);
    clock.advance(11 * 60_000);
    const d = await auth.check(request(setup[0], setup[1], setup[2]), ctx('read', 'x'));
    const cs = challenges(d);
    assert.ok(cs.every((c) => c.stale && c.nonce === N2));
    for (const [m, u, h] of retry)
      assert.equal(await auth.check(request(m, u, h), ctx('read', 'x')), undefined, `${m} ${u}`);
  });
}

test('a captured RFC 2069 answer (no qop: it may repeat) opens only its own path, not a path below it', async () => {
  const { auth } = captured();
  const [, describeUri, describeHeader] = GSTREAMER[1]!;
  const [, setupUri, setupHeader] = GSTREAMER[2]!;
  const base = describeUri; // rtsp://127.0.0.1:33359/x
  // What the README's leniency keeps: the same path spelled otherwise, and the track URLs of that path.
  for (const uri of [base, `${base}/`, `${base}?token=1`, base.replace('127.0.0.1', 'localhost'), '/x'])
    assert.equal(
      await auth.check(request('DESCRIBE', uri, describeHeader), ctx('read', 'x')),
      undefined,
      uri,
    );
  for (const uri of [`${base}/trackID=1`, base])
    assert.equal(await auth.check(request('SETUP', uri, setupHeader), ctx('read', 'x')), undefined, uri);
  // Another path, one segment below or above, is another resource: 401.
  for (const [method, uri, h, path] of [
    ['DESCRIBE', `${base}/feed`, describeHeader, 'x/feed'],
    ['DESCRIBE', `${base}/feed/`, describeHeader, 'x/feed'],
    ['SETUP', `${base}/feed/trackID=0`, setupHeader, 'x/feed'],
    ['DESCRIBE', base.replace(/\/x$/, '/y'), describeHeader, 'y'],
  ] as const)
    assert.equal(
      (await auth.check(request(method, uri, h), ctx('read', path)))?.statusCode,
      401,
      `${method} ${uri} with the answer for ${method === 'SETUP' ? setupUri : describeUri}`,
    );
});

describe('external HTTP hook', () => {
  let server: Server;
  let url: string;
  const seen: Record<string, unknown>[] = [];
  const ha1 = digestHa1({ algorithm: 'MD5', username: 'remote', realm: REALM, password: 'rpw' });
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        const j = JSON.parse(body) as Record<string, unknown>;
        seen.push(j);
        if (j.user === 'slow') return; // never answers: the timeout must deny
        if (j.user === 'remote' && j.password === 'rpw') res.writeHead(204).end();
        else if (j.user === 'remote' && j.password === undefined && j.algorithm === 'MD5')
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ ha1, algorithm: 'MD5' }));
        else if (j.user === 'noha1') res.writeHead(200).end('ok');
        else res.writeHead(403).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  // A time limit a loaded machine's local answer always meets; the test of the limit sets its own.
  const hooked = (timeoutMs = 5000) => make({ externalHook: { url, timeoutMs } }).auth;
  const b = (u: string, p: string, path = 'cam1') =>
    request('DESCRIBE', `rtsp://h/${path}?tok=1`, serializeAuthorization(basicCredentials(u, p)));

  test('Basic: 2xx allows, with {user, password, ip, action, path, query} posted; non-2xx denies', async () => {
    const auth = hooked();
    seen.length = 0;
    assert.equal(
      await auth.check(b('remote', 'rpw'), { ip: '10.0.0.5', action: 'read', path: 'cam1', query: 'tok=1' }),
      undefined,
    );
    assert.deepEqual(seen[0], {
      user: 'remote',
      password: 'rpw',
      ip: '10.0.0.5',
      action: 'read',
      path: 'cam1',
      query: 'tok=1',
    });
    assert.equal((await auth.check(b('remote', 'nope'), ctx()))?.statusCode, 401);
    // Users from the config are decided locally, without the hook.
    seen.length = 0;
    assert.equal(await auth.check(b('alice', 's3cret'), ctx()), undefined);
    assert.equal(seen.length, 0);
  });

  test('Digest: the hook returns the HA1 and the server verifies; no HA1 → denied', async () => {
    const auth = hooked();
    const first = await auth.check(request('DESCRIBE', URI), ctx());
    seen.length = 0;
    assert.equal(
      await auth.check(request('DESCRIBE', URI, answer(first, 'remote', 'rpw', 'DESCRIBE', URI)), ctx()),
      undefined,
    );
    assert.deepEqual(seen[0], {
      user: 'remote',
      realm: REALM,
      algorithm: 'MD5',
      ip: '127.0.0.1',
      action: 'read',
      path: 'cam1',
      query: '',
    });
    assert.equal(
      (await auth.check(request('DESCRIBE', URI, answer(first, 'remote', 'bad', 'DESCRIBE', URI)), ctx()))
        ?.statusCode,
      401,
    );
    assert.equal(
      (
        await auth.check(
          request('DESCRIBE', URI, answer(first, 'remote', 'rpw', 'DESCRIBE', URI, 'SHA-256')),
          ctx(),
        )
      )?.statusCode,
      401,
    );
    assert.equal(
      (await auth.check(request('DESCRIBE', URI, answer(first, 'noha1', 'x', 'DESCRIBE', URI)), ctx()))
        ?.statusCode,
      401,
    );
  });

  test('a hook that does not answer in time, or cannot be reached, denies', async () => {
    const auth = hooked(300);
    assert.equal((await auth.check(b('slow', 'x'), ctx()))?.statusCode, 401);
    const gone = make({ externalHook: { url: 'http://127.0.0.1:1/auth', timeoutMs: 300 } }).auth;
    assert.equal((await gone.check(b('remote', 'rpw'), ctx()))?.statusCode, 401);
    assert.equal(gone.authFailures, 1);
  });
});
