// Export plans (export-plan.ts) over synthetic segment indexes: the starting keyframe, the window's end,
// two segments on one timeline, a gap, tracks that change, and every byte range of the plan equal to the
// same slice of the whole export, read back by our MP4 reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AAC_LC_48K_STEREO, audioEntry, avcC, esds, visualEntry } from '../container/mp4/synth.js';
import { Mp4Reader, bufferSource } from '../container/mp4/reader.js';
import {
  piecesInRange,
  planExport,
  type ExportPlan,
  type IndexedSegment,
  type SegmentFragment,
  type SegmentTrackInfo,
} from './export-plan.js';

const SPS = Buffer.from('6742c01eda0280bfe5c044000003000400000300c83c58ba80', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');
const T0 = Date.UTC(2026, 11, 6, 10, 0, 0);

const VIDEO: SegmentTrackInfo = {
  trackId: 1,
  handler: 'vide',
  timescale: 90000,
  sampleEntry: visualEntry('avc1', 320, 240, avcC(4, [SPS], [PPS])),
  width: 320,
  height: 240,
};
const AUDIO: SegmentTrackInfo = {
  trackId: 2,
  handler: 'soun',
  timescale: 48000,
  sampleEntry: audioEntry('mp4a', 2, 48000, esds(0x40, AAC_LC_48K_STEREO)),
};

/**
 * A segment of `seconds` at 25 fps (a keyframe every `gop` frames) and 48 kHz AAC (1024 per frame), one
 * fragment per second, with file bytes that name each sample; files[name] gets its content.
 */
function segment(
  files: Map<string, Buffer>,
  name: string,
  startMs: number,
  seconds: number,
  gop = 25,
  tracks = [VIDEO, AUDIO],
): IndexedSegment {
  const chunks: Buffer[] = [Buffer.alloc(100)]; // stands for ftyp + moov
  let at = 100;
  const fragments: SegmentFragment[] = [];
  let v = 0;
  let a = 0;
  for (let s = 0; s < seconds; s++) {
    chunks.push(Buffer.alloc(50));
    at += 50; // stands for moof + mdat header
    const video = [];
    for (; v < (s + 1) * 25; v++) {
      const size = 20 + (v % 7);
      video.push({
        dtsTicks: v * 3600,
        durationTicks: 3600,
        sizeBytes: size,
        compositionOffset: 0,
        keyframe: v % gop === 0,
        fileOffset: at,
      });
      chunks.push(Buffer.alloc(size, v & 0xff));
      at += size;
    }
    const audio = [];
    for (; a * 1024 < (s + 1) * 48000; a++) {
      audio.push({
        dtsTicks: a * 1024,
        durationTicks: 1024,
        sizeBytes: 9,
        compositionOffset: 0,
        keyframe: true,
        fileOffset: at,
      });
      chunks.push(Buffer.alloc(9, 0x80 | (a & 0x7f)));
      at += 9;
    }
    fragments.push({
      runs: [
        { trackId: 1, samples: video },
        { trackId: 2, samples: audio },
      ].filter((r) => tracks.some((t) => t.trackId === r.trackId)),
    });
  }
  files.set(name, Buffer.concat(chunks));
  return { file: name, wallMsAtZero: startMs, tracks, fragments };
}

function assemble(plan: ExportPlan, files: Map<string, Buffer>, from = 0, to = plan.totalBytes): Buffer {
  return Buffer.concat(
    piecesInRange(plan, from, to).map((p) =>
      'bytes' in p ? p.bytes : files.get(p.file)!.subarray(p.fileOffset, p.fileOffset + p.length),
    ),
  );
}

function plan(...args: Parameters<typeof planExport>): ExportPlan {
  const p = planExport(...args);
  assert.ok(!('reason' in p), 'reason' in p ? p.message : '');
  return p;
}

test('mp4 across two segments: starts at the keyframe before start, ends before the end, bytes match', async () => {
  const files = new Map<string, Buffer>();
  const segs = [segment(files, 'a', T0, 10), segment(files, 'b', T0 + 10_000, 10)];
  // From 8.5 s (keyframe at 8 s) for 4 s: to 12.5 s, frames 8.00 .. 12.48 s = 113.
  const p = plan(segs, T0 + 8500, 4000, 'mp4');
  assert.equal(p.startMs, T0 + 8000);
  assert.equal(p.sampleCounts[0], 113);
  assert.equal(p.durationMs, 4520);
  const file = assemble(p, files);
  assert.equal(file.length, p.totalBytes);
  const mp4 = await Mp4Reader.open(bufferSource(file));
  const [v, a] = mp4.tracks;
  assert.ok(v !== undefined && a !== undefined);
  assert.equal(v.samples.count, 113);
  assert.equal(v.samples.dts[0], 0);
  assert.equal(v.samples.keyframe[0], 1);
  // The 9 s frame (frame 225 of segment a) then frame 0 of segment b at 10 s, one frame duration apart.
  assert.equal(v.samples.dts[50], 50 * 3600);
  for (let i = 0; i < v.samples.count; i++) {
    const frame = 200 + i; // frames of a from 200, then of b from 0 (250 + k)
    const expected = frame < 250 ? frame & 0xff : (frame - 250) & 0xff;
    assert.equal(file[v.samples.offset[i]!], expected, `video sample ${i}`);
  }
  // Audio from its first frame at or after 8 s: 8 s = 375 frames exactly.
  assert.equal(a.samples.dts[0], 0);
  assert.equal(file[a.samples.offset[0]!], 0x80 | (375 & 0x7f));
  // Ranges are slices of the whole.
  for (const [from, to] of [
    [0, 1],
    [0, 1000],
    [500, 3000],
    [p.totalBytes - 100, p.totalBytes],
    [1234, 1235],
  ] as const)
    assert.deepEqual(assemble(p, files, from, to), file.subarray(from, to), `bytes ${from}-${to}`);
});

test('a gap between segments stays a gap in time; fmp4 has one fragment per recorded part', () => {
  const files = new Map<string, Buffer>();
  const segs = [segment(files, 'a', T0, 2), segment(files, 'b', T0 + 5000, 2)];
  const p = plan(segs, T0, 10_000, 'fmp4');
  assert.deepEqual(p.sampleCounts, [100, Math.ceil(96000 / 1024) * 2]);
  // 2 s, a 3 s gap, 2 s.
  assert.equal(p.durationMs, 7000);
  const file = assemble(p, files);
  const moofs = [];
  for (let at = 0; at < file.length; at += file.readUInt32BE(at))
    moofs.push(file.toString('latin1', at + 4, at + 8));
  assert.deepEqual(moofs, ['ftyp', 'moov', ...Array<string[]>(4).fill(['moof', 'mdat']).flat()]);
});

test('contiguous segments whose anchors are off by jitter continue each other in media time', () => {
  const files = new Map<string, Buffer>();
  // b's first frame was received 150 ms early (its prft says 9.85 s where media time says 10 s).
  const segs = [segment(files, 'a', T0, 10), segment(files, 'b', T0 + 9850, 10)];
  const p = plan(segs, T0, 20_000, 'mp4');
  assert.equal(p.sampleCounts[0], 500);
  assert.equal(p.durationMs, 20_000);
  const late = plan([segment(files, 'a', T0, 10), segment(files, 'b', T0 + 10_120, 10)], T0, 30_000, 'mp4');
  assert.equal(late.durationMs, 20_000);
});

test('a window before the recording starts at its first keyframe; one with nothing is refused', () => {
  const files = new Map<string, Buffer>();
  const segs = [segment(files, 'a', T0 + 3000, 4)];
  assert.equal(plan(segs, T0, 5000, 'mp4').startMs, T0 + 3000);
  const none = planExport(segs, T0, 2000, 'mp4');
  assert.ok('reason' in none);
  assert.ok('reason' in planExport([], T0, 2000, 'mp4'));
});

test('segments whose tracks change: the export holds the first run and says where it stopped', () => {
  const files = new Map<string, Buffer>();
  const segs = [segment(files, 'a', T0, 3), segment(files, 'b', T0 + 3000, 3, 25, [VIDEO])];
  const p = plan(segs, T0, 6000, 'mp4');
  assert.equal(p.truncatedAtMs, T0 + 3000);
  assert.equal(p.sampleCounts[0], 75);
});

test('any window and range: the bytes of a range are the slice of the whole export', () => {
  const files = new Map<string, Buffer>();
  const segs = [segment(files, 'a', T0, 3, 10), segment(files, 'b', T0 + 3000, 3, 10)];
  fc.assert(
    fc.property(
      fc.integer({ min: -1000, max: 6000 }),
      fc.integer({ min: 1, max: 7000 }),
      fc.constantFrom('mp4' as const, 'fmp4' as const),
      fc.nat(),
      fc.nat(),
      (start, duration, format, x, y) => {
        const p = planExport(segs, T0 + start, duration, format);
        if ('reason' in p) return;
        const whole = assemble(p, files);
        assert.equal(whole.length, p.totalBytes);
        const from = x % p.totalBytes;
        const to = from + 1 + (y % (p.totalBytes - from));
        assert.deepEqual(assemble(p, files, from, to), whole.subarray(from, to));
      },
    ),
    { numRuns: 50 },
  );
});
