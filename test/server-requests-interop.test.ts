// REDIRECT (RFC 2326 §10.10) to readers whose clients do not act on it end cleanly within a few seconds
// rather than hang, through the fallback (RTCP BYE, then the connection closed); a reader of another path
// goes on. Seen here: ffmpeg and ffprobe 5.1 (Lavf59) do not answer it at all while playing, over TCP or
// UDP (timeout); GStreamer 1.22's rtspsrc answers 200 and stays (ended after the grace).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RtspServer } from '../src/server/server.js';
import { Mp4LoopSource } from '../src/sources/mp4-loop.js';
import { gstRead, skipUnlessGstReader } from './support/gst.js';
import { endsWithin, run, waitFor, type Run } from './support/process.js';
import { startTestServer } from './support/server.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const REQUEST_TIMEOUT_MS = 1000;
const GRACE_MS = 1000;
/** Generous: the machine is shared; a reader that hangs would stay until killed at its own timeout. */
const END_WITHIN_MS = 15_000;

const readers: { name: string; skip: () => string | false; start: (url: string) => Run }[] = [
  {
    name: 'ffmpeg over tcp',
    skip: () => skipUnless('ffmpeg'),
    start: (url) =>
      run(
        'ffmpeg',
        ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', url, '-f', 'null', '-'],
        {
          timeoutMs: 60_000,
        },
      ),
  },
  {
    name: 'ffmpeg over udp',
    skip: () => skipUnless('ffmpeg'),
    start: (url) =>
      run(
        'ffmpeg',
        ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'udp', '-i', url, '-f', 'null', '-'],
        {
          timeoutMs: 60_000,
        },
      ),
  },
  {
    name: 'ffprobe over tcp',
    skip: () => skipUnless('ffprobe'),
    start: (url) =>
      run(
        'ffprobe',
        [
          '-v',
          'error',
          '-rtsp_transport',
          'tcp',
          '-count_frames',
          '-show_entries',
          'stream=nb_read_frames',
          url,
        ],
        { timeoutMs: 60_000 },
      ),
  },
  {
    name: 'GStreamer rtspsrc over tcp',
    skip: skipUnlessGstReader,
    start: (url) => gstRead(url, { protocols: 'tcp', timeoutMs: 60_000 }),
  },
];

describe('REDIRECT to readers that do not follow it', { skip: skipUnlessMedia(CLIP) }, () => {
  let server: RtspServer;
  let url: (p: string) => string;
  const sources: Mp4LoopSource[] = [];
  before(async () => {
    ({ server, url } = await startTestServer({
      serverRequestTimeoutMs: REQUEST_TIMEOUT_MS,
      endedReaderGraceMs: GRACE_MS,
    }));
    for (const path of ['moving', 'staying']) {
      const source = await Mp4LoopSource.open({ file: mediaPath(CLIP), loop: true });
      const stream = server.addSourcePath(path, source.media);
      assert.ok(stream !== false);
      source.start(stream);
      sources.push(source);
    }
  });
  after(async () => {
    for (const s of sources) await s.stop();
    await server.close();
  });

  const playing = (path: string): number =>
    [...server.sessions.values()].filter((s) => s.path === path && s.state === 'playing').length;

  for (const reader of readers) {
    test(
      `${reader.name}: ends within a few seconds; the reader of another path goes on`,
      { skip: reader.skip() },
      async (t) => {
        const moving = reader.start(url('moving'));
        const staying = run(
          'ffmpeg',
          [
            '-hide_banner',
            '-loglevel',
            'error',
            '-rtsp_transport',
            'tcp',
            '-i',
            url('staying'),
            '-f',
            'null',
            '-',
          ],
          { timeoutMs: 60_000 },
        );
        try {
          await waitFor(
            () => playing('moving') === 1 && playing('staying') === 1,
            20_000,
            'both readers playing',
          );
          const before = { ...server.readerMoves.counters };
          const redirectedAtMs = Date.now();
          const n = server.redirectReaders(
            (p) => (p === 'moving' ? 'rtsp://127.0.0.1:1/elsewhere' : undefined),
            'test',
          );
          assert.equal(n, 1);
          const ended = await endsWithin(moving, END_WITHIN_MS);
          assert.equal(ended.timedOut, false, `${reader.name} did not end: ${ended.stderr.slice(-2000)}`);
          t.diagnostic(`${reader.name} ended ${Date.now() - redirectedAtMs} ms after the REDIRECT`);
          assert.equal(server.readerMoves.counters.redirectNotFollowed - before.redirectNotFollowed, 1);
          await waitFor(() => playing('moving') === 0, 5000, 'the redirected session gone');
          assert.equal(playing('staying'), 1, 'the reader of the other path still plays');
          assert.equal(staying.child.exitCode, null);
        } finally {
          moving.kill('SIGKILL');
          staying.kill('SIGTERM');
          await staying.done;
        }
      },
    );
  }
});
