// The progressive MP4 head (progressive.ts) read back by our MP4 reader: sample tables, chunk offsets,
// edit lists (an empty edit for a late track, media_time for a B-frame start), and random indexes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AAC_LC_48K_STEREO, audioEntry, avcC, esds, visualEntry } from './synth.js';
import { Mp4Reader, bufferSource } from './reader.js';
import { progressiveHead, type ProgressiveChunk, type ProgressiveTrack } from './progressive.js';

const SPS = Buffer.from('6742c01eda0280bfe5c044000003000400000300c83c58ba80', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');

interface Sample {
  duration: number;
  size: number;
  cto: number;
  key: boolean;
}

function samplesOf(list: Sample[]): ProgressiveTrack['samples'] {
  return {
    count: list.length,
    durationTicks: Uint32Array.from(list.map((s) => s.duration)),
    sizeBytes: Uint32Array.from(list.map((s) => s.size)),
    compositionOffset: Int32Array.from(list.map((s) => s.cto)),
    keyframe: Uint8Array.from(list.map((s) => (s.key ? 1 : 0))),
  };
}

/** The whole file: head + each chunk's samples, each sample filled with a byte naming it. */
function fileOf(tracks: ProgressiveTrack[], chunks: ProgressiveChunk[]): { file: Buffer; fill: number[][] } {
  const { head, totalBytes } = progressiveHead(tracks, chunks);
  const parts: Buffer[] = [head];
  const next = tracks.map(() => 0);
  const fill: number[][] = tracks.map(() => []);
  for (const c of chunks) {
    for (let k = 0; k < c.sampleCount; k++) {
      const i = next[c.track]!++;
      const byte = (c.track * 53 + i) & 0xff;
      fill[c.track]![i] = byte;
      parts.push(Buffer.alloc(tracks[c.track]!.samples.sizeBytes[i]!, byte));
    }
  }
  const file = Buffer.concat(parts);
  assert.equal(file.length, totalBytes);
  return { file, fill };
}

const video = (samples: Sample[], startTicks = 0): ProgressiveTrack => ({
  trackId: 1,
  handler: 'vide',
  timescale: 90000,
  sampleEntry: visualEntry('avc1', 320, 240, avcC(4, [SPS], [PPS])),
  width: 320,
  height: 240,
  startTicks,
  samples: samplesOf(samples),
});

const audio = (samples: Sample[], startTicks = 0): ProgressiveTrack => ({
  trackId: 2,
  handler: 'soun',
  timescale: 48000,
  sampleEntry: audioEntry('mp4a', 2, 48000, esds(0x40, AAC_LC_48K_STEREO)),
  startTicks,
  samples: samplesOf(samples),
});

test('sample tables, chunk offsets and keyframes read back; a later audio track starts after an empty edit', async () => {
  const v: Sample[] = [
    { duration: 3600, size: 500, cto: 7200, key: true },
    { duration: 3600, size: 40, cto: 14400, key: false },
    { duration: 3600, size: 30, cto: 0, key: false },
    { duration: 3600, size: 20, cto: 0, key: false },
    { duration: 3600, size: 600, cto: 7200, key: true },
  ];
  const a: Sample[] = Array.from({ length: 7 }, (_, i) => ({
    duration: 1024,
    size: 10 + i,
    cto: 0,
    key: true,
  }));
  const tracks = [video(v), audio(a, 960)];
  const chunks: ProgressiveChunk[] = [
    { track: 0, sampleCount: 3 },
    { track: 1, sampleCount: 4 },
    { track: 0, sampleCount: 2 },
    { track: 1, sampleCount: 3 },
  ];
  const { file, fill } = fileOf(tracks, chunks);
  const mp4 = await Mp4Reader.open(bufferSource(file));
  const [rv, ra] = mp4.tracks;
  assert.ok(rv !== undefined && ra !== undefined);
  assert.equal(rv.codec, 'h264');
  assert.equal(ra.codec, 'aac');
  assert.equal(rv.samples.count, 5);
  assert.deepEqual([...rv.samples.keyframes], [0, 4]);
  assert.deepEqual([...rv.samples.size], [500, 40, 30, 20, 600]);
  // media_time = the first sample's composition offset: the first picture is presented at 0.
  assert.equal(rv.samples.dts[0]! + rv.samples.ctsOffset[0]!, 0);
  // The audio's empty edit of 960/48000 s = 20 ms (movie timescale 1000).
  assert.equal(ra.samples.dts[0], 960);
  for (const [t, track] of [rv, ra].entries())
    for (let i = 0; i < track.samples.count; i++) {
      const at = track.samples.offset[i]!;
      assert.equal(file[at], fill[t]![i], `track ${t} sample ${i} offset`);
      assert.equal(file[at + track.samples.size[i]! - 1], fill[t]![i]);
    }
});

test('chunks that miss or overrun samples are refused', () => {
  const tracks = [video([{ duration: 1, size: 1, cto: 0, key: true }])];
  assert.throws(() => progressiveHead(tracks, []), RangeError);
  assert.throws(() => progressiveHead(tracks, [{ track: 0, sampleCount: 2 }]), RangeError);
  assert.throws(() => progressiveHead(tracks, [{ track: 1, sampleCount: 1 }]), RangeError);
});

test('random indexes: every sample at its offset with its size, durations and keyframes', async () => {
  const sample = fc.record({
    duration: fc.integer({ min: 1, max: 5000 }),
    size: fc.integer({ min: 1, max: 300 }),
    cto: fc.integer({ min: -2000, max: 2000 }),
    key: fc.boolean(),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(sample, { minLength: 1, maxLength: 40 }),
      fc.array(sample, { minLength: 1, maxLength: 40 }),
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 20 }),
      async (vs, as, cuts) => {
        const tracks = [video(vs), audio(as)];
        // Chunks alternate between the tracks, sizes from `cuts`, until both are used up.
        const left = [vs.length, as.length];
        const chunks: ProgressiveChunk[] = [];
        for (let k = 0; left[0]! + left[1]! > 0; k++) {
          const t = k % 2;
          const n = Math.min(left[t]!, cuts[k % cuts.length]!);
          if (n > 0) chunks.push({ track: t, sampleCount: n });
          left[t]! -= n;
        }
        const { file, fill } = fileOf(tracks, chunks);
        const mp4 = await Mp4Reader.open(bufferSource(file));
        for (const [t, list] of [vs, as].entries()) {
          const r = mp4.tracks[t]!;
          assert.equal(r.samples.count, list.length);
          list.forEach((s, i) => {
            assert.equal(r.samples.size[i], s.size);
            assert.equal(r.samples.duration[i], s.duration);
            assert.equal(r.samples.ctsOffset[i], s.cto);
            assert.equal(r.samples.keyframe[i], list.every((x) => x.key) || s.key ? 1 : 0);
            assert.equal(file[r.samples.offset[i]!], fill[t]![i]);
          });
        }
      },
    ),
    { numRuns: 60 },
  );
});
