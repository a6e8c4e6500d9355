// Authentication on the live server with real clients: ffmpeg publishes with Digest, ffprobe and
// GStreamer read with the right password and fail with a wrong one; rights per action.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Authorizer } from '../src/server/auth.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, run, waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import { RawClient } from './support/raw-client.js';
import type { RtspServer } from '../src/server/server.js';

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

  const skip = skipUnless('ffmpeg', 'ffprobe', 'gst-launch-1.0') || skipUnlessMedia('h264_base_aac.mp4');
  test(
    'ffmpeg publishes with Digest; ffprobe and GStreamer read; a wrong password fails',
    { skip },
    async () => {
      const path = 'cam-auth';
      const failures = authorizer.authFailures;
      const pub = run(
        'ffmpeg',
        ['-hide_banner', '-loglevel', 'error', '-re', '-i', mediaPath('h264_base_aac.mp4'), '-t', '5'].concat(
          [
            '-map',
            '0',
            '-c',
            'copy',
            '-f',
            'rtsp',
            '-rtsp_transport',
            'tcp',
            withCreds(path, 'alice', 's3cret:pw'),
          ],
        ),
        { timeoutMs: 30_000 },
      );
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
