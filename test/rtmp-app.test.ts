// RTMP in the whole app (startApp): `rtmpAddress` with port 0, a publisher's path in /v1/paths, the
// rtspkit_rtmp_* series in /metrics, and `rtmpAddress: null` (what the other tests use) starts none.
// Then an app with users, `rtmpAdobeAuth` and recording: ffmpeg publishes to `rtmp://user:pass@`
// and GStreamer's rtmp2sink (Adobe's challenge-response), the recorder records the path, and refusals
// are ffmpeg's errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type App } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { serializeAudioTag } from '../src/flv/tags.js';
import type { Stream } from '../src/media/stream.js';
import { LOOPBACK_APP_CONFIG_LINES } from './support/server.js';
import { TestRtmpClient } from './support/rtmp-client.js';
import { parseProbe, probeFrames, run, waitFor, type Run } from './support/process.js';
import { closedSegments } from './support/recordings.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const SECONDS = 3;
const BOB_SHA256 = 'a5b777d028acff62c1939575282d58b1e7526fbbfc66b55a97e2def9e1a565d5';
const skipRecording = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(CLIP);
const skipGst = skipUnless('gst-launch-1.0');

const lines = LOOPBACK_APP_CONFIG_LINES.filter((l) => !l.startsWith('rtmpAddress'));

async function get(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return res.text();
}

test('startApp serves RTMP on rtmpAddress: a publisher is a path, /metrics counts RTMP', async () => {
  const app = await startApp(parseConfig([...lines, "rtmpAddress: '127.0.0.1:0'"].join('\n')));
  try {
    assert.ok(app.rtmp?.port !== undefined && app.rtmp.port > 0);
    const c = await TestRtmpClient.connect(app.rtmp.port);
    const id = await c.open('app');
    assert.equal(await c.publish(id, 'radio'), 'NetStream.Publish.Start');
    c.metadata(id, { audiocodecid: 10 });
    c.media(
      id,
      8,
      0,
      serializeAudioTag({ kind: 'config', codec: 'aac', config: Buffer.from('1190', 'hex') }),
    );
    c.media(
      id,
      8,
      0,
      serializeAudioTag({ kind: 'frame', codec: 'aac', data: Buffer.from([0x21, 0x10, 0x04]) }),
    );
    await waitFor(() => app.server.paths.get('app/radio')?.stream !== undefined, 5000, 'the path');
    const paths = JSON.parse(await get(app.api!.port, '/v1/paths')) as
      { items?: { name: string }[] } | { name: string }[];
    assert.match(JSON.stringify(paths), /"app\/radio"/);
    const metrics = await get(app.api!.port, '/metrics');
    assert.match(metrics, /rtspkit_rtmp_connections\{role="publisher"\} 1/);
    assert.match(metrics, /rtspkit_rtmp_connections_accepted_total 1/);
    c.close();
  } finally {
    await app.close();
  }
  const off = await startApp(parseConfig(LOOPBACK_APP_CONFIG_LINES.join('\n')));
  assert.equal(off.rtmp, undefined);
  await off.close();
});

/**
 * One app with RTMP, `rtmpAdobeAuth: true`, users and recording: ffmpeg's `rtmp://user:pass@` (Adobe's
 * challenge), query credentials in the app part, and a path published over RTMP recorded.
 */
// Independent subtests (their own paths), two at a time: counts compared across them are lower bounds.
describe(
  'RTMP with users: Adobe auth, query credentials, recording',
  { skip: skipRecording, concurrency: 2 },
  () => {
    let app: App;
    let dir: string;
    const rtmpUrl = (userinfo: string, path: string): string =>
      `rtmp://${userinfo}127.0.0.1:${app.rtmp!.port!}/${path}`;
    /** ffmpeg publishes SECONDS of the clip, copied, to `url`. */
    const publish = (url: string): Run =>
      run(
        'ffmpeg',
        ['-hide_banner', '-loglevel', 'error', '-re', '-i', mediaPath(CLIP), '-t', String(SECONDS)].concat([
          '-map',
          '0',
          '-c',
          'copy',
          '-f',
          'flv',
          url,
        ]),
        { timeoutMs: 30_000 },
      );

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'rtspkit-rtmp-app-'));
      app = await startApp(
        parseConfig(
          [
            ...lines,
            "rtmpAddress: '127.0.0.1:0'",
            'rtmpAdobeAuth: true',
            'pathDefaults:',
            `  recordPath: ${JSON.stringify(join(dir, '%path', '%Y-%m-%d_%H-%M-%S-%f'))}`,
            '  record: false',
            'recordPaths:',
            '  "rec/*": { record: true }',
            'auth:',
            '  users:',
            '    - { name: alice, password: "plain:s3cret" }',
            // sha256 of "b0bpass": a hashed form, which cannot answer Adobe's challenge.
            `    - { name: bob, password: "sha256:${BOB_SHA256}" }`,
            '    - { name: carol, password: "plain:c4rol", permissions: [{ action: read }] }',
          ].join('\n'),
        ),
      );
    });
    after(async () => {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    });

    test('ffmpeg publishes to rtmp://user:pass@ through Adobe auth; the recorded segment has every frame', async () => {
      const closes = app.rtmp!.counters.closes;
      const challengesBefore = closes.auth_challenge;
      const pub = publish(rtmpUrl('alice:s3cret@', 'rec/cam'));
      let stream: Stream | undefined;
      await waitFor(
        () => (stream = app.server.paths.get('rec/cam')?.stream) !== undefined,
        10_000,
        'the publish',
      );
      const published = await pub.done;
      assert.equal(published.code, 0, published.stderr);
      // No query credentials and no anonymous rights: the third connect answered the challenge, after
      // "need auth" and the challenge closed two.
      assert.ok(closes.auth_challenge - challengesBefore >= 2);
      const [segment, ...more] = await closedSegments(app, 'rec/cam');
      assert.equal(more.length, 0, 'one segment');
      const probe = await probeFrames(segment!.file).done;
      assert.equal(probe.code, 0, probe.stderr);
      const streams = parseProbe(probe.stdout);
      assert.deepEqual(
        streams.map((s) => s.codec_name),
        ['h264', 'aac'],
      );
      // The source's frames in SECONDS at 25 fps, all received and all recorded.
      assert.equal(stream!.accessUnitsIn, SECONDS * 25);
      assert.equal(Number(streams[0]!.nb_read_frames), SECONDS * 25);
      // AAC 48 kHz: 46.875 frames a second (the publisher's -t cut may leave one out).
      assert.ok(
        Math.abs(Number(streams[1]!.nb_read_frames) - SECONDS * 46.875) <= 2,
        streams[1]!.nb_read_frames,
      );
    });

    test('Adobe auth refusals: a wrong password, a hashed password, a user without the right', async () => {
      const failures = app.server.authorizer!.authFailures;
      const tries = [
        ['alice:wrong@', 'wrong password'],
        ['bob:b0bpass@', 'stored hashed: no Adobe key'],
        ['nobody:x@', 'unknown user'],
        // carol's password is right, her rights are read only: refused at publish.
        ['carol:c4rol@', 'no right to publish'],
        ['', 'no credentials'],
      ] as const;
      const outs = await Promise.all(
        tries.map(([userinfo]) => publish(rtmpUrl(userinfo, 'live/denied')).done),
      );
      outs.forEach((out, i) => assert.notEqual(out.code, 0, tries[i]![1]));
      for (const i of [0, 1, 2]) assert.match(outs[i]!.stderr, /Incorrect username\/password/, tries[i]![1]);
      assert.match(outs[3]!.stderr, /not authorized to publish/);
      // Without credentials, ffmpeg cannot answer the challenge.
      assert.match(outs[4]!.stderr, /No credentials set/);
      assert.equal(app.server.paths.get('live/denied')?.stream, undefined);
      assert.equal(app.server.authorizer!.authFailures - failures, 4);
    });

    test(
      'GStreamer rtmp2sink answers the challenge with its username and password',
      { skip: skipGst },
      async () => {
        const challengesBefore = app.rtmp!.counters.closes.auth_challenge;
        const pub = run(
          'gst-launch-1.0',
          ['-q', 'filesrc', `location=${mediaPath(CLIP)}`, '!', 'qtdemux', 'name=d']
            .concat(['d.video_0', '!', 'queue', '!', 'h264parse', '!', 'flvmux', 'name=m', 'streamable=true'])
            .concat([
              '!',
              'rtmp2sink',
              `location=${rtmpUrl('', 'live/gst')}`,
              'username=alice',
              'password=s3cret',
            ]),
          { timeoutMs: 30_000 },
        );
        try {
          await waitFor(() => app.server.paths.get('live/gst')?.stream !== undefined, 10_000, 'the publish');
        } finally {
          pub.kill();
        }
        const out = await pub.done;
        assert.ok(app.rtmp!.counters.closes.auth_challenge - challengesBefore >= 2, out.stderr);
      },
    );

    test('query credentials in the app part still work with Adobe auth on', async () => {
      // ffmpeg puts a query after the last segment in the stream name; before it, in the app.
      const pub = publish(rtmpUrl('', 'live?user=bob&pass=b0bpass/query'));
      await waitFor(() => app.server.paths.get('live/query')?.stream !== undefined, 10_000, 'the publish');
      pub.kill();
      await pub.done;
    });
  },
);
