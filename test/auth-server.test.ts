// Authentication on the live server with real clients: ffmpeg publishes with Digest, ffprobe and
// GStreamer read with the right password and fail with a wrong one; rights per action.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Authorizer } from '../src/server/auth.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, publishFile, run, waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import { RawClient } from './support/raw-client.js';
import type { RtspServer } from '../src/server/server.js';
import { RtspClient } from '../src/client/client.js';
import { basicCredentials, digestCredentials, parseDigestChallenge } from '../src/auth/digest.js';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log/logger.js';
import { parse as parseYaml } from 'yaml';
import { parseWwwAuthenticate, serializeAuthorization } from '../src/rtsp/auth-header.js';
import { TEST_SDP } from './support/fake-publisher.js';

describe('authentication', () => {
  let server: RtspServer;
  let authorizer: Authorizer;
  let url: (p: string) => string;
  const withCreds = (p: string, user: string, pass: string): string =>
    url(p).replace('rtsp://', `rtsp://${user}:${encodeURIComponent(pass)}@`);
  before(async () => {
    authorizer = new Authorizer({
      realm: 'rtspkit',
      basic: true,
      users: [
        {
          name: 'alice',
          password: 'plain:s3cret:pw',
          permissions: [{ action: 'read' }, { action: 'publish' }],
        },
        { name: 'viewer', password: 'plain:look', permissions: [{ action: 'read', path: 'cam*' }] },
      ],
    });
    ({ server, url } = await startTestServer({ authorizer }));
  });
  after(async () => {
    await server.close();
  });

  test('no credentials: 401 with SHA-256, MD5 and Basic challenges; OPTIONS needs none', async () => {
    const c = await RawClient.connect(server.port);
    assert.equal((await c.request('OPTIONS', url('cam1'))).statusCode, 200);
    const r = await c.request('DESCRIBE', url('cam1'));
    assert.equal(r.statusCode, 401);
    const challenges = r.headers.getAll('WWW-Authenticate');
    assert.equal(challenges.length, 3);
    assert.match(challenges[0]!, /^Digest .*algorithm=SHA-256/);
    assert.match(challenges[1]!, /^Digest /);
    assert.match(challenges[2]!, /^Basic realm="rtspkit"/);
    // Basic for a read-only user: may not publish.
    const basic = `Basic ${Buffer.from('viewer:look').toString('base64')}`;
    const a = await c.request(
      'ANNOUNCE',
      url('cam1'),
      { Authorization: basic, 'Content-Type': 'application/sdp' },
      'v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n',
    );
    assert.equal(a.statusCode, 403);
    const wrong = await c.request('DESCRIBE', url('cam1'), {
      Authorization: `Basic ${Buffer.from('viewer:nope').toString('base64')}`,
    });
    assert.equal(wrong.statusCode, 401);
    c.close();
  });

  test('our client: Digest publish and read get 200; a wrong password gets RTSP_401', async () => {
    const pub = new RtspClient(withCreds('cam-ours', 'alice', 's3cret:pw'), { timeoutMs: 5000 });
    const reader = new RtspClient(withCreds('cam-ours', 'viewer', 'look'), { timeoutMs: 5000 });
    const wrong = new RtspClient(withCreds('cam-ours', 'viewer', 'nope'), { timeoutMs: 5000 });
    try {
      await pub.announce(TEST_SDP);
      await pub.setup({ transport: 'tcp' });
      assert.equal((await pub.record()).statusCode, 200);
      const d = await reader.describe();
      assert.equal(d.tracks.length, 2);
      await reader.setup({ transport: 'tcp' });
      assert.equal((await reader.play()).statusCode, 200);
      await assert.rejects(wrong.describe(), { code: 'RTSP_401' });
    } finally {
      pub.close();
      reader.close();
      wrong.close();
    }
  });

  test('a replayed Digest answer (same nonce, nc and cnonce) gets 401 stale=true; the next count passes', async () => {
    // cam1 has no publisher: a DESCRIBE past authentication gets 404.
    const PAST_AUTH = 404;
    const c = await RawClient.connect(server.port);
    try {
      const first = await c.request('DESCRIBE', url('cam1'));
      assert.equal(first.statusCode, 401);
      const md5 = first.headers
        .getAll('WWW-Authenticate')
        .flatMap(parseWwwAuthenticate)
        .map(parseDigestChallenge)
        .find((x) => x?.algorithm === 'MD5');
      assert.ok(md5);
      const answer = (nonceCount: number) =>
        serializeAuthorization(
          digestCredentials(md5, {
            username: 'viewer',
            password: 'look',
            method: 'DESCRIBE',
            uri: url('cam1'),
            nonceCount,
            cnonce: '0a4f113b',
          }),
        );
      const h = answer(1);
      assert.equal((await c.request('DESCRIBE', url('cam1'), { Authorization: h })).statusCode, PAST_AUTH);
      const replay = await c.request('DESCRIBE', url('cam1'), { Authorization: h });
      assert.equal(replay.statusCode, 401);
      const again = replay.headers.getAll('WWW-Authenticate').filter((v) => v.startsWith('Digest '));
      assert.ok(again.length === 2 && again.every((v) => /stale=true/.test(v)), again.join(' | '));
      // Over another connection too (the memory is the server's, not the connection's).
      const other = await RawClient.connect(server.port);
      assert.equal((await other.request('DESCRIBE', url('cam1'), { Authorization: h })).statusCode, 401);
      other.close();
      const next = answer(2);
      assert.equal((await c.request('DESCRIBE', url('cam1'), { Authorization: next })).statusCode, PAST_AUTH);
    } finally {
      c.close();
    }
  });

  const skip = skipUnless('ffmpeg', 'ffprobe', 'gst-launch-1.0') || skipUnlessMedia('h264_base_aac.mp4');
  test(
    'ffmpeg publishes with Digest; ffprobe and GStreamer read; a wrong password fails',
    { skip },
    async () => {
      const path = 'cam-auth';
      const failures = authorizer.authFailures;
      const pub = publishFile(mediaPath('h264_base_aac.mp4'), withCreds(path, 'alice', 's3cret:pw'), 'tcp', {
        durationS: 5,
        timeoutMs: 30_000,
      });
      await waitFor(() => server.paths.get(path)?.stream !== undefined, 10_000, 'the publish');
      const probe = run(
        'ffprobe',
        [
          '-v',
          'error',
          '-rtsp_transport',
          'tcp',
          '-show_entries',
          'stream=codec_name,width',
          '-of',
          'json',
          withCreds(path, 'viewer', 'look'),
        ],
        { timeoutMs: 20_000 },
      );
      const bad = run(
        'ffprobe',
        ['-v', 'error', '-rtsp_transport', 'tcp', '-show_streams', withCreds(path, 'viewer', 'wrong')],
        {
          timeoutMs: 20_000,
        },
      );
      const gst = run(
        'gst-launch-1.0',
        [
          '-q',
          'rtspsrc',
          `location=${url(path)}`,
          'user-id=viewer',
          'user-pw=look',
          'protocols=tcp',
          'name=s',
        ].concat([
          's.',
          '!',
          'application/x-rtp,media=video',
          '!',
          'rtph264depay',
          '!',
          'fakesink',
          'num-buffers=25',
        ]),
        { timeoutMs: 20_000 },
      );
      const r = await probe.done;
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        parseProbe(r.stdout).map((s) => s.codec_name),
        ['h264', 'aac'],
      );
      const b = await bad.done;
      assert.notEqual(b.code, 0);
      assert.match(b.stderr, /401|Unauthorized/i);
      const g = await gst.done;
      assert.equal(g.code, 0, `GStreamer: ${g.stderr}`);
      assert.equal((await pub.done).code, 0);
      assert.ok(authorizer.authFailures > failures, 'the wrong password was counted');
    },
  );
});

test('rtspkit hash-password prints a config entry that Digest (MD5, SHA-256) and Basic log in with', async () => {
  const cli = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
  const p = run(process.execPath, [cli, 'hash-password', 'carol', '--realm', 'cams'], {
    timeoutMs: 20_000,
    stdin: 'pipe',
  });
  p.child.stdin!.end('pa:ss wörd\n');
  const out = await p.done;
  assert.equal(out.code, 0, out.stderr);
  assert.ok(!out.stdout.includes('pa:ss'), 'the clear password is not printed');
  const [entry] = parseYaml(out.stdout) as [{ name: string; password: string }];
  const auth = new Authorizer({
    realm: 'cams',
    basic: true,
    users: [{ ...entry, permissions: [{ action: 'read' }] }],
  });
  const uri = 'rtsp://127.0.0.1/cam';
  const ctx = { ip: '127.0.0.1', action: 'read' as const, path: 'cam', query: '' };
  const first = await auth.check({ method: 'DESCRIBE', uri, headers: { get: () => undefined } }, ctx);
  const challenges = first!.headers.flatMap(([, v]) => parseWwwAuthenticate(v));
  for (const c of challenges) {
    const digest = parseDigestChallenge(c);
    const creds =
      digest === undefined
        ? basicCredentials('carol', 'pa:ss wörd')
        : digestCredentials(digest, {
            username: 'carol',
            password: 'pa:ss wörd',
            method: 'DESCRIBE',
            uri,
            nonceCount: 1,
            cnonce: 'abc',
          });
    const h = serializeAuthorization(creds);
    assert.equal(
      await auth.check({ method: 'DESCRIBE', uri, headers: { get: () => h } }, ctx),
      undefined,
      c.scheme,
    );
  }
  assert.equal(challenges.length, 3);
});

test('a password a client leaves in the Request-URI is not logged, even at debug level', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const { server, url } = await startTestServer({ logger: createLogger('debug', sink) });
  try {
    const c = await RawClient.connect(server.port);
    const r = await c.request('SETUP', url('cam1').replace('rtsp://', 'rtsp://alice:Hunter2@'), {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.notEqual(r.statusCode, 200);
    c.close();
    await waitFor(() => lines.some((l) => l.includes('"SETUP"')), 5000, 'the request in the log');
    assert.ok(!lines.some((l) => l.includes('Hunter2')), lines.join(''));
  } finally {
    await server.close();
  }
});

test('rtspkit serve --user, twice: auth is on, each user may publish and read any path, passwords stay out of the log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-user-'));
  const config = join(dir, 'empty.yml');
  writeFileSync(config, '');
  const cli = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
  const args = ['serve', '-c', config, '--no-watch', '--host', '127.0.0.1', '-p', '0', '--no-udp'];
  const p = run(process.execPath, [cli, ...args, '--user', 'alice:S3cr:et', '--user', 'bob:B0bPw'], {
    timeoutMs: 30_000,
  });
  let out = '';
  p.child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const clients: RtspClient[] = [];
  try {
    await waitFor(() => /"port":\d+,"msg":"rtsp server listening"/.test(out), 15_000, 'the server to listen');
    const port = Number(/"port":(\d+),"msg":"rtsp server listening"/.exec(out)![1]);
    const at = (who: string) => {
      const c = new RtspClient(`rtsp://${who}127.0.0.1:${port}/site/cam9`, { timeoutMs: 5000 });
      clients.push(c);
      return c;
    };
    const pub = at('bob:B0bPw@');
    await pub.announce(TEST_SDP);
    await pub.setup({ transport: 'tcp' });
    assert.equal((await pub.record()).statusCode, 200);
    const reader = at(`alice:${encodeURIComponent('S3cr:et')}@`);
    assert.equal((await reader.describe()).tracks.length, 2);
    await assert.rejects(at('').describe(), { code: 'RTSP_401' });
    await assert.rejects(at('bob:N0tIt@').describe(), { code: 'RTSP_401' });
    await waitFor(() => out.includes('authentication failed'), 5000, 'the failure in the log');
    for (const secret of ['S3cr', 'B0bPw', 'N0tIt']) assert.ok(!out.includes(secret), secret);
  } finally {
    for (const c of clients) c.close();
    p.kill('SIGTERM');
    await p.done;
    rmSync(dir, { recursive: true, force: true });
  }
});
