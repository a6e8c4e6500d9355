// `rtspkit publish FILE URL` against rtspkit's own server: the 10 s clip (250 frames at 25 fps, AAC) is
// streamed in real time over tcp and udp while ffprobe reads it back from the server; refusals (path busy,
// wrong password, unusable file) end with one readable line and their exit code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { Publisher } from '../src/client/index.js';
import { RtspFramer } from '../src/rtsp/framer.js';
import { RtspHeaders } from '../src/rtsp/headers.js';
import { serializeResponse } from '../src/rtsp/message.js';
import type { RtspServer } from '../src/server/server.js';
import { TEST_SDP } from './support/fake-publisher.js';
import { parseProbe, rtspkit, type Run, run, waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import { mediaPath, repoRoot, skipUnless, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const CLIP_FRAMES = 250;

let server: RtspServer;
let url: (p: string) => string;
before(async () => {
  ({ server, url } = await startTestServer());
});
after(async () => {
  await server.close();
});

function cli(args: string[], timeoutMs = 40_000): Run {
  return rtspkit(args, timeoutMs);
}

function ffprobe(target: string, extra: string[] = []): Run {
  return run(
    'ffprobe',
    ['-v', 'error', ...extra, '-count_frames', '-of', 'json'].concat([
      '-show_entries',
      'stream=codec_name,width,height,sample_rate,channels,nb_read_frames',
      target,
    ]),
    { timeoutMs: 40_000 },
  );
}

describe(
  'publish an MP4 file',
  { skip: skipUnless('ffprobe') || skipUnlessMedia(CLIP), concurrency: 2 },
  () => {
    for (const transport of ['tcp', 'udp', 'http', 'ws'] as const) {
      test(`over ${transport}: ffprobe reads back every frame sent, then TEARDOWN and exit 0`, async (t) => {
        const path = `cli_publish_${transport}`;
        const pub = cli(['publish', mediaPath(CLIP), url(path), '--transport', transport]);
        await waitFor(
          () => server.paths.get(path)?.stream !== undefined || pub.child.exitCode !== null,
          20_000,
          'the publish to start',
        );
        const stream = server.paths.get(path)?.stream;
        if (stream === undefined) assert.fail(`the publish did not start: ${(await pub.done).stderr}`);
        const probe = ffprobe(url(path), ['-rtsp_transport', 'tcp']);
        const published = await pub.done;
        assert.equal(published.code, 0, published.stderr);
        assert.equal(published.stderr, '');
        const read = await probe.done;
        assert.equal(read.code, 0, read.stderr);
        const sent = stream.accessUnitsIn;
        assert.ok(Math.abs(sent - CLIP_FRAMES) <= 2, `the server received ${sent} frames`);
        const streams = parseProbe(read.stdout);
        const video = streams.find((s) => s.codec_name === 'h264');
        const audio = streams.find((s) => s.codec_name === 'aac');
        assert.ok(video !== undefined && audio !== undefined, read.stdout);
        assert.deepEqual([video.width, video.height], [640, 360]);
        assert.equal(audio.sample_rate, '48000');
        // ffprobe starts at the cached keyframe: it may miss the frames before it (the clip's GOP).
        const frames = Number(video.nb_read_frames);
        assert.ok(frames <= sent && frames >= sent - 50, `ffprobe read ${frames} of ${sent} frames`);
        assert.ok(Number(audio.nb_read_frames) > 200, `${audio.nb_read_frames} audio frames`);
        t.diagnostic(
          `sent ${sent} video frames; ffprobe read ${frames} video, ${audio.nb_read_frames} audio`,
        );
        // TEARDOWN released the path.
        await waitFor(() => server.paths.get(path)?.stream === undefined, 5000, 'the path to be released');
      });
    }

    test('a path already published: exit 6 and one line naming the refusal', async () => {
      const path = 'cli_publish_busy';
      const holder = await Publisher.start(url(path), TEST_SDP, { transport: 'tcp' });
      try {
        const r = await cli(['publish', mediaPath(CLIP), url(path)]).done;
        assert.equal(r.code, 6, r.stderr);
        assert.match(r.stderr, /^rtspkit: ANNOUNCE .*403 Forbidden: path is already being published\n$/);
      } finally {
        await holder.close();
      }
    });

    test('a wrong password: exit 5; an unusable file: exit 2', async () => {
      // A server that wants Basic credentials and refuses every pair.
      const refusing = net.createServer((socket) => {
        const framer = new RtspFramer();
        socket.on('error', () => undefined);
        socket.on('data', (chunk) => {
          for (const m of framer.push(chunk)) {
            if (m.kind !== 'request') continue;
            const headers = new RtspHeaders({
              CSeq: m.headers.get('CSeq') ?? '0',
              'WWW-Authenticate': 'Basic realm="rtspkit-test"',
            });
            socket.write(serializeResponse({ statusCode: 401, headers, body: Buffer.alloc(0) }));
          }
        });
      });
      await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
      const port = (refusing.address() as net.AddressInfo).port;
      try {
        const cases: [string[], number, RegExp][] = [
          [
            ['publish', mediaPath(CLIP), `rtsp://user:wrong@127.0.0.1:${port}/live`],
            5,
            /401 .*wrong user name or password/,
          ],
          [['publish', mediaPath(CLIP), `rtsp://127.0.0.1:${port}/live`], 5, /credentials required/],
          [['publish', join(repoRoot(), 'package.json'), url('x')], 2, /is not a playable MP4 file/],
          [['publish', join(repoRoot(), 'nope.mp4'), url('x')], 2, /cannot open .*nope\.mp4/],
          [['publish', mediaPath(CLIP), 'rtsp//127.0.0.1/x'], 2, /bad URL/],
        ];
        for (const [args, code, message] of cases) {
          const r = await cli(args).done;
          assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
          assert.match(r.stderr, message);
          assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
          assert.doesNotMatch(r.stderr, /wrong@/, 'no password in the message');
        }
      } finally {
        refusing.close();
      }
    });
  },
);
