// HTTP export of recordings (GET /v1/recordings/NAME/get) over real HTTP: two fMP4 segments cut by ffmpeg
// from h264_base_aac.mp4 (a prft tying each to its wall-clock start), a window across them; ffprobe
// counts the frames of the mp4 and fmp4 exports against the recorded ones in the window, byte ranges are
// slices of the whole, bad queries are 400 and empty windows 404, the right is `playback` on the path,
// and headless Chromium plays the mp4 in a <video> and seeks in it (byte ranges).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ApiServer, type ApiAccess } from '../src/http/api.js';
import { parseConfig } from '../src/config/config.js';
import { RecordingExporter } from '../src/recorder/export.js';
import { RecordingIndexCache } from '../src/sources/recording-index-cache.js';
import { indexSegmentFile } from '../src/recorder/segment-index.js';
import type { RecordedSegment } from '../src/recorder/catalog.js';
import { LOOPBACK_APP_CONFIG_LINES, startTestServer } from './support/server.js';
import { startApp } from '../src/app.js';
import type { Stream } from '../src/media/stream.js';
import { publishFile, run, waitFor } from './support/process.js';
import { ListCatalog, closedSegments, makeRecordings } from './support/recordings.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const T0 = Date.UTC(2026, 11, 6, 10, 0, 0);
const iso = (ms: number): string => new Date(ms).toISOString();
const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(CLIP);

async function ffprobeJson(file: string, args: string[]): Promise<unknown> {
  const r = await run('ffprobe', ['-v', 'error', ...args, '-of', 'json', file], { timeoutMs: 30_000 }).done;
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

interface Probed {
  video: number;
  audio: number;
  durationS: number;
  width: number;
}

async function probeExport(file: string): Promise<Probed> {
  const j = (await ffprobeJson(file, ['-count_frames', '-show_streams', '-show_format'])) as {
    streams: { codec_type: string; nb_read_frames: string; width?: number }[];
    format: { duration: string };
  };
  const v = j.streams.find((s) => s.codec_type === 'video')!;
  const a = j.streams.find((s) => s.codec_type === 'audio')!;
  return {
    video: Number(v.nb_read_frames),
    audio: Number(a.nb_read_frames),
    durationS: Number(j.format.duration),
    width: v.width ?? 0,
  };
}

/** Packets of `type` recorded in [fromMs, toMs) of wall-clock time, from the segment files themselves. */
async function recordedPackets(
  segments: RecordedSegment[],
  type: 'v' | 'a',
  fromMs: number,
  toMs: number,
): Promise<number> {
  let n = 0;
  for (const s of segments) {
    const j = (await ffprobeJson(s.file, ['-select_streams', type, '-show_entries', 'packet=dts_time'])) as {
      packets: { dts_time: string }[];
    };
    for (const p of j.packets) {
      const wall = s.startMs + Number(p.dts_time) * 1000;
      if (wall >= fromMs - 1e-3 && wall < toMs) n++;
    }
  }
  return n;
}

async function setup(authorize?: ApiAccess[]): Promise<{
  base: string;
  segments: RecordedSegment[];
  dir: string;
  close: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-export-'));
  // 0-6 s and 6-10 s of the clip, back to back: one span of 10 s from T0.
  const segments = await makeRecordings(mediaPath(CLIP), dir, 'cams/front', T0, [
    [0, 6],
    [6, 10],
  ]);
  const { server } = await startTestServer();
  const api = new ApiServer({
    server,
    port: 0,
    processMetrics: false,
    recordingExport: {
      exporter: new RecordingExporter(new ListCatalog(segments), indexSegmentFile),
      maxDurationMs: () => 60_000,
    },
    ...(authorize !== undefined
      ? {
          authorize: (_req, target) => {
            authorize.push(target);
            return Promise.resolve(
              target.action === 'playback' && target.path === 'cams/front'
                ? undefined
                : { statusCode: 403 as const, headers: [] },
            );
          },
        }
      : {}),
  });
  await api.listen();
  return {
    base: `http://127.0.0.1:${api.port}`,
    segments,
    dir,
    close: async () => {
      await api.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const exportUrl = (base: string, startMs: number, durationS: number, format = 'mp4'): string =>
  `${base}/v1/recordings/cams/front/get?start=${iso(startMs)}&duration=${durationS}&format=${format}`;

test(
  'an export across two segments: ffprobe counts the recorded frames of the window (mp4 and fmp4); ' +
    'byte ranges are slices of the whole; 416 past the end',
  { skip, timeout: 120_000 },
  async (t) => {
    const { base, segments, dir, close } = await setup();
    try {
      // From 4.5 s for 3 s: the export starts at the keyframe of 4 s and ends before 7.5 s, across the cut at 6 s.
      const fromMs = T0 + 4500;
      const res = await fetch(exportUrl(base, fromMs, 3));
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(res.headers.get('accept-ranges'), 'bytes');
      assert.equal(res.headers.get('content-type'), 'video/mp4');
      const whole = Buffer.from(await res.arrayBuffer());
      assert.equal(Number(res.headers.get('content-length')), whole.length);
      assert.equal(whole.toString('latin1', 4, 8), 'ftyp');
      assert.equal(whole.toString('latin1', whole.readUInt32BE(0) + 4, whole.readUInt32BE(0) + 8), 'moov');
      const mp4File = join(dir, 'export.mp4');
      writeFileSync(mp4File, whole);

      const videoWanted = await recordedPackets(segments, 'v', T0 + 4000, T0 + 7500);
      const audioWanted = await recordedPackets(segments, 'a', T0 + 4000, T0 + 7500);
      assert.equal(videoWanted, 88); // 4.00 .. 7.48 s at 25 fps
      const mp4 = await probeExport(mp4File);
      t.diagnostic(
        `mp4 export: ${whole.length} bytes, ${JSON.stringify(mp4)}; recorded ${videoWanted} + ${audioWanted}`,
      );
      assert.equal(mp4.video, videoWanted);
      assert.equal(mp4.audio, audioWanted);
      assert.equal(mp4.width, 640);
      assert.ok(Math.abs(mp4.durationS - 3.52) < 0.05, `duration ${mp4.durationS}`);

      const fres = await fetch(exportUrl(base, fromMs, 3, 'fmp4'));
      assert.equal(fres.status, 200);
      const fmp4File = join(dir, 'export.m4s');
      writeFileSync(fmp4File, Buffer.from(await fres.arrayBuffer()));
      const fmp4 = await probeExport(fmp4File);
      assert.equal(fmp4.video, videoWanted);
      assert.equal(fmp4.audio, audioWanted);

      const total = whole.length;
      const cases: [string, number, number][] = [
        ['bytes=0-99', 0, 100],
        [
          `bytes=${Math.floor(total / 2)}-${Math.floor(total / 2) + 70_000}`,
          Math.floor(total / 2),
          Math.floor(total / 2) + 70_001,
        ],
        ['bytes=-5000', total - 5000, total],
        [`bytes=${total - 10}-`, total - 10, total],
        [`bytes=100-${total + 1000}`, 100, total],
      ];
      for (const [range, from, to] of cases) {
        const r = await fetch(exportUrl(base, fromMs, 3), { headers: { Range: range } });
        assert.equal(r.status, 206, range);
        assert.equal(r.headers.get('content-range'), `bytes ${from}-${to - 1}/${total}`, range);
        assert.deepEqual(Buffer.from(await r.arrayBuffer()), whole.subarray(from, to), range);
      }
      const past = await fetch(exportUrl(base, fromMs, 3), { headers: { Range: `bytes=${total}-` } });
      assert.equal(past.status, 416);
      assert.equal(past.headers.get('content-range'), `bytes */${total}`);
      await past.arrayBuffer();
      const head = await fetch(exportUrl(base, fromMs, 3), { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers.get('content-length')), total);
    } finally {
      await close();
    }
  },
);

test(
  'bad queries are 400, windows without recordings 404, and the right asked is playback on the path',
  { skip, timeout: 60_000 },
  async () => {
    const asked: ApiAccess[] = [];
    const { base, close } = await setup(asked);
    try {
      const get = async (query: string, path = 'cams/front'): Promise<[number, string]> => {
        const r = await fetch(`${base}/v1/recordings/${path}/get?${query}`);
        if (r.headers.get('content-type')?.startsWith('application/json') !== true) {
          await r.arrayBuffer();
          return [r.status, ''];
        }
        return [r.status, ((await r.json()) as { error: string }).error];
      };
      const start = `start=${iso(T0 + 1000)}`;
      for (const [query, pattern] of [
        ['duration=5', /start is missing/],
        [`start=yesterday&duration=5`, /RFC 3339/],
        [`start=2026-12-06T10:00:00&duration=5`, /RFC 3339/], // no offset: whose local time?
        [`start=2026-13-06T10:00:00Z&duration=5`, /RFC 3339/],
        [start, /duration is missing/],
        [`${start}&duration=-1`, /not a number of seconds/],
        [`${start}&duration=0`, /more than 0/],
        [`${start}&duration=61`, /longest export, 60 s/],
        [`${start}&duration=5&format=avi`, /mp4 or fmp4/],
      ] as const) {
        const [status, error] = await get(query);
        assert.equal(status, 400, query);
        assert.match(error, pattern, query);
      }
      assert.equal((await get(`start=${iso(T0 - 3_600_000)}&duration=60`))[0], 404);
      assert.equal((await get(`start=${iso(T0 + 20_000)}&duration=60`))[0], 404);
      assert.deepEqual(asked.at(-1), { action: 'playback', path: 'cams/front' });
      // Another path: refused by the authorizer (playback on cams/back is not granted here).
      assert.equal((await get(`${start}&duration=5`, 'cams/back'))[0], 403);
      assert.deepEqual(asked.at(-1), { action: 'playback', path: 'cams/back' });
      assert.equal((await get(`${start}&duration=5`, 'cams%2Ffront'))[0], 200);
    } finally {
      await close();
    }
    // The config accepts the right.
    const config = parseConfig(
      'auth:\n  users:\n    - { name: a, password: "plain:x", permissions: [{ action: playback, path: "cams/**" }] }\n',
    );
    assert.equal(config.auth.users[0]!.permissions[0]!.action, 'playback');
  },
);

/** Offsets of the top-level boxes of `type` in a file. */
function topLevelBoxes(file: Buffer, type: string): number[] {
  const out: number[] = [];
  for (let at = 0; at + 8 <= file.length; at += file.readUInt32BE(at)) {
    if (file.toString('latin1', at + 4, at + 8) === type) out.push(at);
    if (file.readUInt32BE(at) < 8) break;
  }
  return out;
}

test(
  'damaged recordings: a cut segment exports its complete parts, a segment with a broken moov or deleted is left out',
  { skip, timeout: 60_000 },
  async () => {
    const { base, segments, dir, close } = await setup();
    const count = async (): Promise<number> => {
      const r = await fetch(exportUrl(base, T0 + 4500, 3));
      assert.equal(r.status, 200, r.status === 200 ? '' : await r.clone().text());
      const file = join(dir, 'damaged.mp4');
      writeFileSync(file, Buffer.from(await r.arrayBuffer()));
      return (await probeExport(file)).video;
    };
    try {
      // The second segment cut 100 bytes into its second part (a crash): its first part, 6.00-6.96 s, stays.
      const second = readFileSync(segments[1]!.file);
      const moofs = topLevelBoxes(second, 'moof');
      writeFileSync(segments[1]!.file, second.subarray(0, moofs[1]! + 100));
      assert.equal(await count(), 50 + 25); // 4.00-5.96 s, then 6.00-6.96 s
      // The first segment's moov broken (a bit flip in its type): left out; the export starts at 6 s.
      const first = readFileSync(segments[0]!.file);
      const moov = topLevelBoxes(first, 'moov')[0]!;
      first.writeUInt8(first.readUInt8(moov + 4) ^ 0x20, moov + 4);
      writeFileSync(segments[0]!.file, first);
      assert.equal(await count(), 25);
      unlinkSync(segments[0]!.file);
      assert.equal(await count(), 25);
      unlinkSync(segments[1]!.file);
      assert.equal((await fetch(exportUrl(base, T0 + 4500, 3))).status, 404);
    } finally {
      await close();
    }
  },
);

test(
  "the export's segment indexes and plans are held in the recordings' index cache, within its byte bound",
  { skip, timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtspkit-export-cache-'));
    try {
      const segments = await makeRecordings(mediaPath(CLIP), dir, 'cams/front', T0, [
        [0, 6],
        [6, 10],
      ]);
      const catalog = new ListCatalog(segments);
      const cache = new RecordingIndexCache();
      const exporter = new RecordingExporter(catalog, indexSegmentFile, undefined, cache);
      const first = await exporter.plan('cams/front', T0 + 1000, 8000, 'mp4');
      assert.ok(!('reason' in first));
      assert.equal(cache.counters.made['export-segment'], 2);
      assert.equal(cache.counters.made['export-plan'], 1);
      const held = cache.bytes;
      assert.ok(cache.counters.bytes['export-plan'] > 0 && cache.counters.bytes['export-segment'] > 0);
      // The same window again (a browser asking for another byte range): nothing indexed or planned again.
      assert.equal(await exporter.plan('cams/front', T0 + 1000, 8000, 'mp4'), first);
      assert.equal(cache.counters.made['export-segment'], 2);
      assert.equal(cache.counters.hits['export-plan'], 1);

      // A bound smaller than what one export needs: every plan is still made, none is kept past the bound.
      const small = new RecordingIndexCache(Math.floor(held / 3));
      const bounded = new RecordingExporter(catalog, indexSegmentFile, undefined, small);
      for (let startS = 0; startS < 6; startS++) {
        const plan = await bounded.plan('cams/front', T0 + startS * 1000, 4000, 'fmp4');
        assert.ok(!('reason' in plan));
        assert.ok(small.bytes <= small.maxBytes, `${small.bytes} > ${small.maxBytes}`);
      }
      assert.ok(small.counters.evictions + small.counters.tooLarge > 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

/** The Chromium binary on PATH (Debian's package installs /usr/bin/chromium). */
function chromiumPath(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'chromium');
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return '/usr/bin/chromium';
}

test(
  'headless Chromium plays an mp4 export in a <video> and seeks in it (byte ranges)',
  { skip: skip || skipUnless('chromium'), timeout: 90_000 },
  async (t) => {
    const { base, close } = await setup();
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: chromiumPath(),
        headless: true,
        args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
        timeout: 20_000,
      });
      const page = await browser.newPage();
      const ranges: string[] = [];
      page.on('request', (req) => {
        const range = req.headers().range;
        if (range !== undefined) ranges.push(range);
      });
      // A top-level navigation to a video gives Chromium's media document: one <video> playing the URL.
      await page.goto(exportUrl(base, T0 + 1000, 8));
      const poll = async (expression: string, what: string): Promise<void> => {
        const deadlineMs = performance.now() + 30_000;
        while (!(await page.evaluate<boolean>(expression))) {
          if (performance.now() > deadlineMs) assert.fail(`timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await poll(
        "(() => { const v = document.querySelector('video'); return v !== null && v.readyState >= 2 && v.duration > 7; })()",
        'the video to load',
      );
      const duration = await page.evaluate<number>("document.querySelector('video').duration");
      await page.evaluate(
        "(() => { const v = document.querySelector('video'); v.muted = true; v.currentTime = 6.5; })()",
      );
      await poll(
        "(() => { const v = document.querySelector('video'); return !v.seeking && v.readyState >= 2 && v.currentTime >= 6.5; })()",
        'the seek',
      );
      const state = await page.evaluate<{ time: number; width: number; error: unknown }>(
        "(() => { const v = document.querySelector('video'); return { time: v.currentTime, width: v.videoWidth, error: v.error && v.error.message }; })()",
      );
      t.diagnostic(
        `duration ${duration} s, after the seek ${JSON.stringify(state)}; ranges asked: ${ranges.join(' ')}`,
      );
      assert.ok(Math.abs(duration - 8) < 0.1, `duration ${duration}`);
      assert.ok(state.time >= 6.5 && state.time < 8, `currentTime ${state.time}`);
      assert.equal(state.width, 640);
      assert.equal(state.error, null);
      assert.ok(ranges.length > 0, 'Chromium asked for byte ranges');
    } finally {
      await browser?.close();
      await close();
    }
  },
);

test(
  'the whole app: what the recorder wrote (two segments) exports with every recorded frame, for a user ' +
    'with the playback right only; a user who may only read gets 403',
  { skip, timeout: 90_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'rtspkit-export-app-'));
    const app = await startApp(
      parseConfig(
        [
          ...LOOPBACK_APP_CONFIG_LINES,
          'pathDefaults:',
          `  recordPath: ${JSON.stringify(join(dir, '%path', '%Y-%m-%d_%H-%M-%S-%f'))}`,
          '  record: true',
          '  recordSegmentDuration: 2',
          'auth:',
          '  users:',
          '    - { name: pub, password: "plain:p", permissions: [{ action: publish }] }',
          '    - { name: past, password: "plain:x", permissions: [{ action: playback, path: "cam*" }] }',
          '    - { name: live, password: "plain:y", permissions: [{ action: read }] }',
        ].join('\n'),
      ),
    );
    try {
      const pub = publishFile(mediaPath(CLIP), `rtsp://pub:p@127.0.0.1:${app.server.port}/cam1`, 'tcp', {
        durationS: 4,
      });
      let stream: Stream | undefined;
      await waitFor(
        () => (stream = app.server.paths.get('cam1')?.stream) !== undefined,
        10_000,
        'the publish',
      );
      assert.equal((await pub.done).code, 0);
      const segments = await closedSegments(app, 'cam1');
      assert.ok(segments.length >= 2, `${segments.length} segments`);
      const first = segments[0]!;
      const last = segments.at(-1)!;
      const durationS = Math.ceil((last.startMs + last.durationMs - first.startMs) / 1000) + 1;
      const url = `http://127.0.0.1:${app.api!.port}/v1/recordings/cam1/get?start=${iso(first.startMs)}&duration=${durationS}`;
      const basic = (user: string, password: string): Record<string, string> => ({
        Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
      });
      assert.equal((await fetch(url)).status, 401);
      const refused = await fetch(url, { headers: basic('live', 'y') });
      assert.equal(refused.status, 403);
      await refused.arrayBuffer();
      const res = await fetch(url, { headers: basic('past', 'x') });
      assert.equal(res.status, 200, res.status === 200 ? '' : await res.clone().text());
      const file = join(dir, 'export.mp4');
      writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      const probed = await probeExport(file);
      t.diagnostic(
        `${segments.length} segments, ${stream!.accessUnitsIn} access units in; export ${JSON.stringify(probed)}`,
      );
      assert.equal(probed.video, stream!.accessUnitsIn);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  "the web page shows a path's recorded span on a timeline and plays a clicked time through the mp4 export (Chromium)",
  { skip: skip || skipUnless('chromium'), timeout: 90_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'rtspkit-export-page-'));
    const app = await startApp(
      parseConfig(
        [
          ...LOOPBACK_APP_CONFIG_LINES,
          'pathDefaults:',
          `  recordPath: ${JSON.stringify(join(dir, '%path', '%Y-%m-%d_%H-%M-%S-%f'))}`,
          '  record: true',
        ].join('\n'),
      ),
    );
    let browser: Browser | undefined;
    try {
      const pub = publishFile(mediaPath(CLIP), `rtsp://127.0.0.1:${app.server.port}/cam1`, 'tcp', {
        durationS: 4,
      });
      assert.equal((await pub.done).code, 0);
      const catalog = app.recordings.catalog;
      await closedSegments(app, 'cam1');
      browser = await chromium.launch({
        executablePath: chromiumPath(),
        headless: true,
        args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
        timeout: 20_000,
      });
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
      });
      await page.goto(`http://127.0.0.1:${app.api!.port}/`);
      const timeline = page.locator('.timeline[data-path="cam1"]');
      await timeline.waitFor({ timeout: 10_000 });
      const box = (await timeline.boundingBox())!;
      // A quarter into the 4 s span: about 1 s in; the export starts at the keyframe at or before it.
      await page.mouse.click(box.x + box.width * 0.25, box.y + box.height / 2);
      const deadlineMs = performance.now() + 30_000;
      let state: { src: string; time: number; width: number; status: string };
      for (;;) {
        state = await page.evaluate<typeof state>(`(() => {
          const v = document.getElementById('video');
          return { src: v.currentSrc, time: v.currentTime, width: v.videoWidth,
                   status: document.getElementById('player-status').textContent };
        })()`);
        if (state.time > 0.5) break;
        if (performance.now() > deadlineMs)
          assert.fail(`the recording did not play: ${JSON.stringify(state)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      t.diagnostic(JSON.stringify(state));
      assert.match(state.src, /\/v1\/recordings\/cam1\/get\?start=[^&]+&duration=\d+$/);
      const startMs = Date.parse(decodeURIComponent(/start=([^&]+)/.exec(state.src)![1]!));
      const span = catalog.spans('cam1')[0]!;
      assert.ok(
        startMs > span.startMs && startMs < span.startMs + span.durationMs / 2,
        'a time in the first half',
      );
      assert.equal(state.width, 640);
      assert.deepEqual(problems, []);
    } finally {
      await browser?.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
