// The recorder on a manual clock, fed RTP through a stream tap as the engine would: segment cuts, the
// catalog it keeps and the one rebuilt from its files, a write error and the retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualTimerClock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { indexFmp4Buffer } from '../container/fmp4/reader.js';
import { H264Packetizer, h264Fmtp } from '../format/h264.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { StreamReader, StreamTap } from '../media/stream-reader.js';
import { serializeRtpPacket } from '../rtp/packet.js';
import { DiskRecordingCatalog } from './disk-catalog.js';
import { newRecordingCounters, PathRecorder, type SegmentComplete } from './path-recorder.js';
import { DEFAULT_RECORDING_SETTINGS, type RecordingSettings } from './settings.js';

const SPS = Buffer.from('Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I', 'base64'); // 640x360
const PPS = Buffer.from('aMuMsg==', 'base64');
const PPS2 = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
const idr = (n: number): Buffer => Buffer.concat([Buffer.from([0x65, 0x88]), Buffer.alloc(n, 0xab)]);
const slice = (n: number): Buffer => Buffer.concat([Buffer.from([0x41, 0x9a]), Buffer.alloc(n, 0xcd)]);

const MEDIA: PublishedMedia = {
  describeSdp: () => '',
  tracks: [{ payloadType: 96, encodingName: 'H264', clockRate: 90000, fmtp: h264Fmtp(SPS, [PPS]) }],
  controls: [undefined],
};

/** A Stream as a reader outside the engine sees it. */
class FakeTap implements StreamTap {
  readers: StreamReader[] = [];
  ended = false;
  report: { rtpTimestamp: number; ntpUnixMs: number } | undefined;
  senderReport(): { rtpTimestamp: number; ntpUnixMs: number } | undefined {
    return this.report;
  }
  addReader(r: StreamReader): void {
    this.readers.push(r);
  }
  removeReader(r: StreamReader): void {
    this.readers = this.readers.filter((x) => x !== r);
  }
}

/** Feeds 25 fps H.264 (a keyframe every 25 frames) through the tap, 40 ms of clock per frame. */
class Camera {
  readonly #packetizer = new H264Packetizer();
  #seq = 0;
  frame = 0;
  pps = PPS;
  constructor(
    readonly tap: FakeTap,
    readonly clock: ManualTimerClock,
  ) {}
  send(frames: number): void {
    for (let i = 0; i < frames; i++, this.frame++) {
      const key = this.frame % 25 === 0;
      const pts = this.frame * 3600;
      const nalus = key ? [SPS, this.pps, idr(300)] : [slice(100)];
      for (const p of this.#packetizer.packetize({ pts, clockRate: 90000, keyframe: key, nalus })) {
        const packet = serializeRtpPacket({
          marker: p.marker,
          payloadType: 96,
          sequenceNumber: this.#seq++ & 0xffff,
          timestamp: pts >>> 0,
          ssrc: 1234,
          csrcs: [],
          payload: p.payload,
        });
        for (const r of this.tap.readers) r.sendRtp(0, packet);
      }
      this.clock.advance(40);
    }
  }
}

function countingLogger(): Logger & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  const noop = (): void => undefined;
  return {
    warnings,
    errors,
    debug: noop,
    info: noop,
    warn: (_: unknown, msg?: string) => warnings.push(msg ?? ''),
    error: (_: unknown, msg?: string) => errors.push(msg ?? ''),
  } as unknown as Logger & { warnings: string[]; errors: string[] };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `waited for ${what}`);
}

function setup(dir: string, settings: Partial<RecordingSettings> = {}) {
  const clock = new ManualTimerClock(0, Date.UTC(2026, 11, 6, 10, 0, 0));
  const tap = new FakeTap();
  const logger = countingLogger();
  const catalog = new DiskRecordingCatalog(logger);
  const counters = newRecordingCounters();
  const completed: SegmentComplete[] = [];
  const recorder = PathRecorder.create({
    path: 'cam',
    media: MEDIA,
    stream: tap,
    settings: {
      ...DEFAULT_RECORDING_SETTINGS,
      record: true,
      pathTemplate: join(dir, '%path', '%H-%M-%S-%f'),
      ...settings,
    },
    clock,
    logger,
    catalog,
    counters,
    retryMs: 2000,
    onSegmentComplete: (s) => completed.push(s),
  })!;
  recorder.start();
  return { clock, tap, logger, catalog, counters, completed, recorder, camera: new Camera(tap, clock) };
}

test('recorder: new segments on duration and on changed parameter sets; the catalog rebuilt from the files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rtspkit-rec-unit-'));
  try {
    const { camera, recorder, catalog, counters, completed } = setup(dir, { segmentDurationMs: 2000 });
    camera.send(60); // 2.4 s: a segment of 2 s, then one starting at frame 50
    camera.pps = PPS2;
    camera.send(40); // frame 75 brings a new PPS: a new segment
    await recorder.stop();
    assert.deepEqual(
      completed.map((c) => c.reason),
      ['segment duration', 'codec parameters changed', 'stopped'],
    );
    assert.equal(counters.segmentsCompleted, 3);
    const segments = catalog.segments('cam');
    assert.equal(segments.length, 3);
    assert.ok(segments.every((s) => !s.open));
    // Wall-clock starts: frame 0, frame 50 (2 s), frame 75 (3 s), at receipt on the manual clock.
    const t0 = Date.UTC(2026, 11, 6, 10, 0, 0);
    assert.deepEqual(
      segments.map((s) => s.startMs - t0),
      [0, 2000, 3000],
    );
    // Every frame is in exactly one file, each file starts with a keyframe, the second PPS in the third.
    let frames = 0;
    for (const s of segments) {
      const index = indexFmp4Buffer(await readFile(s.file));
      const first = index.fragments[0]!.runs[0]!;
      assert.equal(first.sync[0], 1, 'a segment starts at a keyframe');
      for (const f of index.fragments) frames += f.runs[0]!.count;
    }
    assert.equal(frames, 100);
    const third = indexFmp4Buffer(await readFile(segments[2]!.file));
    assert.ok(third.tracks[0]!.codecConfig.includes(PPS2), 'the new PPS is in the sample entry');

    // A fresh catalog from the files: the same segments.
    const rebuilt = new DiskRecordingCatalog();
    assert.equal(await rebuilt.rebuild([join(dir, '%path', '%H-%M-%S-%f')]), 3);
    assert.deepEqual(
      rebuilt.segments('cam').map((s) => [s.file, Math.round(s.startMs), Math.round(s.durationMs), s.codecs]),
      segments.map((s) => [s.file, Math.round(s.startMs), Math.round(s.durationMs), s.codecs]),
    );
    assert.deepEqual(rebuilt.spans('cam'), [
      { startMs: segments[0]!.startMs, durationMs: rebuilt.spans('cam')[0]!.durationMs },
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('catalog rebuild: a cut tail is ignored, an unreadable file is skipped with a warning', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rtspkit-rec-unit-'));
  try {
    const template = join(dir, '%path', '%H-%M-%S-%f');
    const { camera, recorder, catalog } = setup(dir, { partDurationMs: 500 });
    camera.send(50);
    await recorder.stop();
    const [whole] = catalog.segments('cam');
    const bytes = await readFile(whole!.file);
    const cut = join(dir, 'cam', '11-00-00-000000.mp4');
    await copyFile(whole!.file, cut);
    await truncate(cut, bytes.length - 100); // inside the last part
    await writeFile(join(dir, 'cam', '12-00-00-000000.mp4'), 'not an mp4 at all, just text');
    await writeFile(join(dir, 'cam', 'notes.txt'), 'not a segment name');
    const logger = countingLogger();
    const rebuilt = new DiskRecordingCatalog(logger);
    assert.equal(await rebuilt.rebuild([template]), 2);
    const byFile = new Map(rebuilt.segments('cam').map((s) => [s.file, s]));
    const cutEntry = byFile.get(cut)!;
    assert.ok(cutEntry.durationMs < whole!.durationMs, 'the cut part does not count');
    assert.ok(cutEntry.durationMs >= whole!.durationMs - 600, 'only the cut part is lost');
    assert.deepEqual(logger.warnings, ['recording skipped: cannot read it']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a write error stops the segment with one log line and a count, and recording resumes after the retry', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rtspkit-rec-unit-'));
  try {
    // The path's folder is a file: every segment fails to open (ENOTDIR) until it is removed.
    await writeFile(join(dir, 'cam'), 'in the way');
    const { camera, recorder, catalog, counters, logger } = setup(dir);
    camera.send(10);
    await until(() => counters.writeErrors === 1, 'the write error');
    assert.equal(recorder.heldReason, 'write error');
    assert.deepEqual(logger.errors, ['recording stopped by a write error; retrying with a new segment']);
    camera.send(70); // the retry (2 s after frame 10) falls due at frame 60; the keyframe at 75 tries again, and fails
    await until(() => counters.writeErrors === 2, 'the second write error');
    assert.equal(logger.errors.length, 1, 'one log line per outage');
    await rm(join(dir, 'cam'));
    camera.send(80); // retry due at frame 130 (2 s after frame 80); the keyframe at 150 opens a segment that works
    await recorder.stop();
    const segments = catalog.segments('cam');
    assert.equal(segments.length, 1);
    assert.equal(counters.writeErrors, 2);
    const index = indexFmp4Buffer(await readFile(segments[0]!.file));
    assert.equal(
      index.fragments.reduce((n, f) => n + f.runs[0]!.count, 0),
      160 - 150,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the publisher's sender reports: a second prft (flags 0) per part at its NTP time; the index clock stays the receipt time", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rtspkit-rec-unit-'));
  try {
    const { camera, recorder, catalog, clock, tap } = setup(dir, { partDurationMs: 500 });
    camera.send(25); // before any SR: one prft per part
    // The publisher's clock is 3 s behind ours; its SR says RTP time 90000 (frame 25) is that instant.
    const senderAtFrame25 = clock.wallMs() - 3000;
    tap.report = { rtpTimestamp: 25 * 3600, ntpUnixMs: senderAtFrame25 };
    camera.send(25);
    await recorder.stop();
    const [segment] = catalog.segments('cam');
    const index = indexFmp4Buffer(await readFile(segment!.file));
    assert.equal(index.stopReason, undefined);
    const t0 = Date.UTC(2026, 11, 6, 10, 0, 0);
    const parts = index.fragments.map((f) => ({
      receivedMs: f.prft!.wallClockMs - t0,
      senderMs: f.senderPrft !== undefined ? f.senderPrft.wallClockMs - senderAtFrame25 : undefined,
      // What the prfts name: the part's first picture's presentation time (decode time + offset).
      firstPts: f.runs[0]!.decodeTime[0]! + f.runs[0]!.compositionOffset[0]!,
      mediaTime: f.prft!.mediaTime,
      senderMediaTime: f.senderPrft?.mediaTime,
    }));
    assert.deepEqual(
      parts.map((p) => p.senderMs === undefined),
      parts.map((p) => p.receivedMs < 1000),
      'a sender prft once an SR came',
    );
    // H.264: every track is presented 0.2 s after video's decode times start (reorderDelaySecondsFor).
    const delayTicks = 0.2 * 90000;
    for (const p of parts) {
      assert.equal(p.mediaTime, p.firstPts, JSON.stringify(p));
      // Frame n arrives at n * 40 ms on our clock; the SR puts frame n at (n - 25) * 40 ms on the publisher's.
      const frame = (p.firstPts - delayTicks) / 3600;
      assert.ok(Math.abs(p.receivedMs - frame * 40) < 1, JSON.stringify(p));
      if (p.senderMs === undefined) continue;
      assert.equal(p.senderMediaTime, p.firstPts);
      assert.ok(Math.abs(p.senderMs - (frame - 25) * 40) < 1, JSON.stringify(p));
    }
    assert.equal(segment!.startMs, t0, 'the catalog keeps the receipt clock');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
