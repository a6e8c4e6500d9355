// Recording end to end: ffmpeg publishes a clip to a `record: true` path of the whole app (startApp);
// the segment files are read back with ffprobe (frames, codecs) and with our box readers (prft times,
// parts), and the catalog lists them. A path fed by a file loop records too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type App } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import type { Stream } from '../src/media/stream.js';
import { indexFmp4Buffer } from '../src/container/fmp4/reader.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, probeFrames, publishFile, waitFor } from './support/process.js';
import { closedSegments } from './support/recordings.js';
import { LOOPBACK_APP_CONFIG_LINES } from './support/server.js';

const CLIP = 'h264_base_aac.mp4';
/** Other codecs fMP4 recording carries: clip, codecs as ffprobe names them. */
const MORE_CLIPS: [string, string[]][] = [
  ['h265_aac.mp4', ['hevc', 'aac']],
  ['h264_opus.mkv', ['h264', 'opus']],
];
const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(CLIP, ...MORE_CLIPS.map(([clip]) => clip));

/** The parts of a segment file as our readers see them: prft wall time, video duration and samples. */
async function partsOf(
  file: string,
): Promise<{ wallMs: number; senderMs: number | undefined; videoTicks: number; videoSamples: number }[]> {
  const index = indexFmp4Buffer(await readFile(file));
  assert.equal(index.stopReason, undefined, `${file} reads to its end`);
  const video = index.tracks.find((t) => t.kind === 'video')!;
  return index.fragments.map((f) => {
    assert.ok(f.prft !== undefined, 'a prft precedes each moof');
    assert.equal(f.prft.referenceTrackId, video.trackId);
    const run = f.runs.find((r) => r.trackId === video.trackId);
    let videoTicks = 0;
    for (let i = 0; i < (run?.count ?? 0); i++) videoTicks += run!.duration[i]!;
    assert.equal(
      f.prft.mediaTime,
      run!.decodeTime[0]! + run!.compositionOffset[0]!,
      "the prft names the presentation time of the part's first picture",
    );
    return {
      wallMs: f.prft.wallClockMs,
      senderMs: f.senderPrft?.wallClockMs,
      videoTicks,
      videoSamples: run?.count ?? 0,
    };
  });
}

async function startRecordingApp(dir: string, lines: string[]): Promise<App> {
  return startApp(
    parseConfig(
      [
        ...LOOPBACK_APP_CONFIG_LINES,
        'pathDefaults:',
        `  recordPath: ${JSON.stringify(join(dir, '%path', '%Y-%m-%d_%H-%M-%S-%f'))}`,
        ...lines,
      ].join('\n'),
    ),
  );
}

const urlOf = (app: App, path: string): string => `rtsp://127.0.0.1:${app.server.port}/${path}`;

describe('recording', { skip }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rtspkit-rec-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a published clip is recorded: every frame, its codecs, prft times of the test window', async () => {
    const app = await startRecordingApp(dir, [
      '  record: false',
      '  recordPartDuration: 0.5',
      'recordPaths:',
      '  "cam*": { record: true }',
    ]);
    try {
      const t0 = Date.now();
      const pub = publishFile(mediaPath(CLIP), urlOf(app, 'cam1'), 'tcp', { durationS: 3 });
      let stream: Stream | undefined;
      await waitFor(
        () => (stream = app.server.paths.get('cam1')?.stream) !== undefined,
        10_000,
        'the publish',
      );
      const published = await pub.done;
      assert.equal(published.code, 0, published.stderr);
      const catalog = app.recordings.catalog;
      await closedSegments(app, 'cam1');
      const t1 = Date.now();
      const [segment, ...more] = catalog.segments('cam1');
      assert.equal(more.length, 0, 'one segment');
      assert.deepEqual(segment!.codecs, ['h264', 'aac']);
      assert.ok(segment!.file.startsWith(join(dir, 'cam1') + '/'), segment!.file);

      const probe = await probeFrames(segment!.file).done;
      assert.equal(probe.code, 0, probe.stderr);
      const streams = parseProbe(probe.stdout);
      assert.deepEqual(
        streams.map((s) => s.codec_name),
        ['h264', 'aac'],
      );
      // The recorder joins the stream before its first packet: every frame the server got is in the file.
      assert.equal(Number(streams[0]!.nb_read_frames), stream!.accessUnitsIn);

      const parts = await partsOf(segment!.file);
      assert.ok(parts.length >= 6, `${parts.length} parts for 3 s at 0.5 s per part`);
      let previous = -Infinity;
      for (const p of parts) {
        assert.ok(
          p.wallMs >= t0 && p.wallMs <= t1,
          `prft ${new Date(p.wallMs).toISOString()} outside the test`,
        );
        assert.ok(p.wallMs > previous, 'prft times increase');
        previous = p.wallMs;
        // ffmpeg's sender reports, on this machine's clock: its time of a part is near our receipt.
        if (p.senderMs !== undefined)
          assert.ok(Math.abs(p.senderMs - p.wallMs) < 2000, `sender ${p.senderMs} vs received ${p.wallMs}`);
        // 0.5 s per part, cut at the first sample past it: at most one 25 fps frame more.
        assert.ok(p.videoTicks <= 0.5 * 90000 + 3600, `a part of ${p.videoTicks / 90000} s`);
      }
      assert.equal(
        parts.reduce((n, p) => n + p.videoSamples, 0),
        stream!.accessUnitsIn,
      );
      // ffmpeg sends an SR with its first packets: every part after the first has the publisher's time.
      assert.ok(
        parts.slice(1).every((p) => p.senderMs !== undefined),
        'the publisher time beside each part',
      );
      assert.ok(Math.abs(segment!.startMs - parts[0]!.wallMs) < 1, 'the catalog starts at the first prft');
      assert.equal(app.recordings.counters.segmentsCompleted, 1);
      assert.equal(app.recordings.counters.partsDropped, 0);
      assert.deepEqual(catalog.spans('cam1'), [
        { startMs: segment!.startMs, durationMs: segment!.durationMs },
      ]);

      // The API and /metrics show it; a DELETE of the span removes the file.
      const api = `http://127.0.0.1:${app.api!.port}`;
      const list = (await (await fetch(`${api}/v1/recordings`)).json()) as {
        items: { name: string; segments: number; spans: { startMs: number }[] }[];
      };
      assert.deepEqual(
        list.items.map((i) => [i.name, i.segments, i.spans.length]),
        [['cam1', 1, 1]],
      );
      const one = (await (await fetch(`${api}/v1/recordings/cam1`)).json()) as {
        segments: { codecs: string[]; open: boolean }[];
        gaps: unknown[];
      };
      assert.deepEqual(
        one.segments.map((s) => [s.codecs, s.open]),
        [[['h264', 'aac'], false]],
      );
      assert.deepEqual(one.gaps, []);
      assert.equal((await fetch(`${api}/v1/recordings/nothing`)).status, 404);
      const metrics = await (await fetch(`${api}/metrics`)).text();
      assert.match(metrics, /^rtspkit_record_segments_total 1$/m);
      assert.match(metrics, /^rtspkit_record_segments_completed_total\{path="cam1"\} 1$/m);
      assert.match(metrics, /^rtspkit_record_parts_dropped_total 0$/m);
      const range = `start=${new Date(t0 - 1000).toISOString()}&end=${new Date(Date.now() + 1000).toISOString()}`;
      assert.equal(
        (await fetch(`${api}/v1/recordings/cam1?start=yesterday&end=now`, { method: 'DELETE' })).status,
        400,
      );
      const del = await fetch(`${api}/v1/recordings/cam1?${range}`, { method: 'DELETE' });
      assert.deepEqual(await del.json(), { deleted: 1, keptOpen: 0 });
      assert.equal(existsSync(segment!.file), false);
      assert.deepEqual(catalog.paths(), []);
    } finally {
      await app.close();
    }
  });

  test('segments: a new file at the first keyframe after the segment duration, frames all kept', async () => {
    const app = await startRecordingApp(dir, ['  record: true', '  recordSegmentDuration: 1']);
    try {
      const pub = publishFile(mediaPath(CLIP), urlOf(app, 'seg'), 'tcp', { durationS: 3 });
      let stream: Stream | undefined;
      await waitFor(
        () => (stream = app.server.paths.get('seg')?.stream) !== undefined,
        10_000,
        'the publish',
      );
      assert.equal((await pub.done).code, 0);
      const catalog = app.recordings.catalog;
      const segments = await closedSegments(app, 'seg');
      assert.ok(
        segments.length >= 3,
        `${segments.length} segments of 1 s for 3 s: ${JSON.stringify(segments.map((s) => [s.startMs, s.durationMs]))}, ${stream!.accessUnitsIn} frames`,
      );
      let frames = 0;
      for (const s of segments) {
        const probe = await probeFrames(s.file).done;
        assert.equal(probe.code, 0, probe.stderr);
        frames += Number(parseProbe(probe.stdout)[0]!.nb_read_frames);
      }
      assert.equal(frames, stream!.accessUnitsIn);
      // Adjacent segments make one span.
      assert.equal(catalog.spans('seg').length, 1);
      assert.equal(app.recordings.counters.segmentsCompleted, segments.length);
    } finally {
      await app.close();
    }
  });

  test('H.265 and Opus are recorded too, every frame', async () => {
    const app = await startRecordingApp(dir, ['  record: true']);
    try {
      const runs = MORE_CLIPS.map(([clip], i) => ({
        path: `more${i}`,
        pub: publishFile(mediaPath(clip), urlOf(app, `more${i}`), 'tcp', { durationS: 2 }),
      }));
      const streams = new Map<string, Stream>();
      await waitFor(
        () =>
          runs.every(({ path }) => {
            const s = app.server.paths.get(path)?.stream;
            if (s !== undefined) streams.set(path, s);
            return s !== undefined;
          }),
        10_000,
        'the publishes',
      );
      for (const { pub } of runs) assert.equal((await pub.done).code, 0);
      await waitFor(() => app.recordings.recorders().length === 0, 10_000, 'the recorders to stop');
      await app.recordings.settled();
      for (const [i, [clip, codecs]] of MORE_CLIPS.entries()) {
        const [segment] = app.recordings.catalog.segments(`more${i}`);
        assert.ok(segment !== undefined, `${clip} recorded`);
        const probe = await probeFrames(segment.file).done;
        assert.equal(probe.code, 0, probe.stderr);
        const probed = parseProbe(probe.stdout);
        assert.deepEqual(
          probed.map((s) => s.codec_name),
          codecs,
          clip,
        );
        assert.equal(Number(probed[0]!.nb_read_frames), streams.get(`more${i}`)!.accessUnitsIn, clip);
      }
    } finally {
      await app.close();
    }
  });

  test('a path fed by a file loop is recorded', async () => {
    const app = await startRecordingApp(dir, [
      'paths:',
      `  loop1: { source: ${JSON.stringify(mediaPath(CLIP))} }`,
      'recordPaths:',
      '  loop1: { record: true }',
    ]);
    const catalog = app.recordings.catalog;
    try {
      await waitFor(() => catalog.segments('loop1').some((s) => s.durationMs >= 1500), 15_000, 'parts');
    } finally {
      await app.close();
    }
    const [segment] = catalog.segments('loop1');
    assert.equal(segment!.open, false);
    const probe = await probeFrames(segment!.file).done;
    assert.equal(probe.code, 0, probe.stderr);
    const streams = parseProbe(probe.stdout);
    assert.deepEqual(
      streams.map((s) => s.codec_name),
      ['h264', 'aac'],
    );
    assert.ok(Number(streams[0]!.nb_read_frames) >= 25);
  });
});
