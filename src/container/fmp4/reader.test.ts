import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ParseError } from '../../base/errors.js';
import { buildAvcDecoderConfigurationRecord } from '../../codec/h264.js';
import type { AccessUnit } from '../../format/access-unit.js';
import { childBoxes } from '../mp4/boxes.js';
import { bufferSource, Mp4Reader } from '../mp4/reader.js';
import { avc1Entry, fragment, initSegment, mp4aEntry } from './boxes.js';
import { Fmp4Muxer, type Fmp4Track } from './muxer.js';
import { prftBox } from './prft.js';
import { indexFmp4, indexFmp4Buffer, parseFmp4Moof, runSample, type Fmp4Index } from './reader.js';

function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const CLIP = join(repoRoot(), '..', 'shared', 'media', 'h264_main_aac.mp4');
const haveClip = existsSync(CLIP);
const haveFfmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;

const SPS = Buffer.from('Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I', 'base64'); // 640x360
const PPS = Buffer.from('aMuMsg==', 'base64');
const AVCC = buildAvcDecoderConfigurationRecord([SPS], [PPS]);
const ASC = Buffer.from('1190', 'hex');
const T0_MS = Date.UTC(2026, 11, 6, 10, 15, 0, 250);

/** Two fragments by hand: video (90 kHz, a keyframe then two others) and audio (48 kHz), each after a prft. */
function handMade(): { bytes: Buffer; samples: Buffer[] } {
  const init = initSegment([
    {
      trackId: 1,
      handler: 'vide',
      timescale: 90000,
      sampleEntry: avc1Entry(640, 360, AVCC),
      width: 640,
      height: 360,
    },
    { trackId: 2, handler: 'soun', timescale: 48000, sampleEntry: mp4aEntry(2, 48000, ASC) },
  ]);
  const samples: Buffer[] = [];
  const data = (n: number, fill: number): Buffer => {
    const b = Buffer.alloc(n, fill);
    samples.push(b);
    return b;
  };
  const parts: Buffer[] = [init];
  for (let f = 0; f < 2; f++) {
    parts.push(prftBox(1, T0_MS + f * 120, f * 10800));
    parts.push(
      fragment(f + 1, [
        {
          trackId: 1,
          baseMediaDecodeTime: f * 10800,
          samples: [0, 1, 2].map((k) => ({
            durationTicks: 3600,
            data: data(100 + k, 16 * f + k),
            keyframe: k === 0,
            compositionOffset: k === 1 ? 7200 : 0,
          })),
        },
        {
          trackId: 2,
          baseMediaDecodeTime: f * 5760,
          samples: [0, 1, 2, 3, 4].map((k) => ({
            durationTicks: 1152,
            data: data(10 + k, 0x80 + 16 * f + k),
            keyframe: true,
            compositionOffset: 0,
          })),
        },
      ]),
    );
  }
  return { bytes: Buffer.concat(parts), samples };
}

test('fMP4 reader: the init segment, prft and every sample of a hand-made file', async () => {
  const { bytes } = handMade();
  const index = await indexFmp4(bufferSource(bytes));
  assert.equal(index.majorBrand, 'iso5');
  assert.equal(index.stopReason, undefined);
  assert.equal(index.completeBytes, bytes.length);
  assert.deepEqual(
    index.tracks.map((t) => [
      t.trackId,
      t.handler,
      t.kind,
      t.timescale,
      t.codec,
      t.width,
      t.channels,
      t.sampleRate,
    ]),
    [
      [1, 'vide', 'video', 90000, 'h264', 640, undefined, undefined],
      [2, 'soun', 'audio', 48000, 'aac', undefined, 2, 48000],
    ],
  );
  assert.deepEqual(index.tracks[0]!.codecConfig, AVCC);
  assert.deepEqual(index.tracks[1]!.codecConfig, ASC);
  assert.equal(index.fragments.length, 2);
  const [f0, f1] = index.fragments;
  assert.equal(f0!.start, index.initBytes);
  assert.equal(f1!.start, f0!.end);
  assert.equal(f1!.end, bytes.length);
  assert.equal(f1!.sequenceNumber, 2);
  const prft = f1!.prft;
  assert.ok(prft);
  assert.equal(prft.referenceTrackId, 1);
  assert.equal(prft.mediaTime, 10800);
  assert.ok(Math.abs(prft.wallClockMs - (T0_MS + 120)) < 0.001);
  const v = f1!.runs[0]!;
  assert.deepEqual(
    [0, 1, 2].map((i) => {
      const s = runSample(v, i);
      return [s.decodeTime, s.duration, s.compositionOffset, s.size, s.sync];
    }),
    [
      [10800, 3600, 0, 100, true],
      [14400, 3600, 7200, 101, false],
      [18000, 3600, 0, 102, false],
    ],
  );
  // Every sample's offset and size point at its bytes.
  for (const f of index.fragments)
    for (const run of f.runs)
      for (let i = 0; i < run.count; i++) {
        const s = runSample(run, i);
        const b = bytes.subarray(s.offset, s.offset + s.size);
        const fill = b[0]!;
        assert.ok(b.every((x) => x === fill));
        assert.equal(fill & 0x80, run.trackId === 2 ? 0x80 : 0);
      }
});

test('fMP4 reader: a file cut anywhere keeps its complete fragments and says where they end', () => {
  const { bytes } = handMade();
  const full = indexFmp4Buffer(bytes);
  const f0End = full.fragments[0]!.end;
  for (let cut = full.initBytes; cut <= bytes.length; cut += 7) {
    const index = indexFmp4Buffer(bytes.subarray(0, cut));
    const expected = cut >= bytes.length ? 2 : cut >= f0End ? 1 : 0;
    assert.equal(index.fragments.length, expected, `cut at ${cut}`);
    assert.equal(index.completeBytes, expected === 0 ? full.initBytes : full.fragments[expected - 1]!.end);
    assert.equal(
      index.stopReason === undefined,
      cut === bytes.length || cut === f0End || cut === full.initBytes,
    );
  }
  assert.throws(
    () => indexFmp4Buffer(bytes.subarray(0, full.initBytes - 1)),
    (e: unknown) => e instanceof ParseError && e.code === 'MP4_TRUNCATED',
  );
});

test('fMP4 reader: a damaged fragment ends the index there; hostile moofs throw ParseError only', () => {
  const { bytes } = handMade();
  const full = indexFmp4Buffer(bytes);
  const damaged = Buffer.from(bytes);
  // The second fragment's first trun claims a sample count far beyond its entries.
  const moof1 = full.fragments[1]!.moofOffset;
  const trun = damaged.indexOf('trun', moof1) - 4;
  damaged.writeUInt32BE(0x00ffffff, trun + 12);
  const index = indexFmp4Buffer(damaged);
  assert.equal(index.fragments.length, 1);
  assert.equal(index.completeBytes, full.fragments[0]!.end);
  assert.match(index.stopReason ?? '', /MP4_BAD_BOX|MP4_UNSUPPORTED/);
  // A traf of a track the moov does not have.
  const moof = bytes.subarray(moof1, full.fragments[1]!.end);
  assert.throws(
    () => parseFmp4Moof(Buffer.from(moof), moof1, full.tracks.slice(1)),
    (e: unknown) => e instanceof ParseError,
  );
});

/** The clip's samples through our Fmp4Muxer, a prft before each fragment (as the recorder writes). */
async function muxClip(
  path: string,
  seconds: number,
): Promise<{ bytes: Buffer; counts: number[]; keys: number }> {
  const mp4 = await Mp4Reader.open(bufferSource(readFileSync(path)));
  const tracks: Fmp4Track[] = mp4.tracks.map((t) =>
    t.codec === 'h264'
      ? {
          codec: 'h264',
          timescale: t.timescale,
          parameterSets: [...t.parameterSets!.sps, ...t.parameterSets!.pps],
        }
      : { codec: 'aac', timescale: t.timescale, audioSpecificConfig: t.codecConfig },
  );
  const mux = new Fmp4Muxer(tracks);
  const out: Buffer[] = [];
  const counts = mp4.tracks.map(() => 0);
  let keys = 0;
  let fragments = 0;
  const emit = (b: Buffer | undefined): void => {
    if (!b) return;
    // A buffer holds whole top-level boxes (the init segment, moof + mdat pairs): a prft before each moof.
    for (const box of childBoxes(b, 0, b.length)) {
      if (box.type === 'moof') out.push(prftBox(1, T0_MS + fragments++ * 1000, 0));
      out.push(b.subarray(box.start, box.end));
    }
  };
  for await (const s of mp4.readSamples(0)) {
    if (s.dtsTicks / s.timescale > seconds) break;
    const n = mp4.tracks.findIndex((t) => t.id === s.trackId);
    const track = mp4.tracks[n]!;
    const shift = track.timescale; // 1 s: the muxer takes times >= 0
    const au: AccessUnit =
      track.codec === 'h264'
        ? {
            pts: s.ptsTicks + shift,
            dts: s.dtsTicks + shift,
            clockRate: s.timescale,
            keyframe: s.keyframe,
            nalus: await mp4.readNalUnits(track, s.index),
          }
        : { pts: s.ptsTicks + shift, clockRate: s.timescale, keyframe: true, payload: s.data };
    counts[n]!++;
    if (track.codec === 'h264' && s.keyframe) keys++;
    emit(mux.push(n, au));
  }
  emit(mux.flush());
  return { bytes: Buffer.concat(out), counts, keys };
}

function totals(index: Fmp4Index): { counts: number[]; keys: number } {
  const counts = index.tracks.map(() => 0);
  let keys = 0;
  for (const f of index.fragments)
    for (const run of f.runs) {
      const n = index.tracks.findIndex((t) => t.trackId === run.trackId);
      counts[n]! += run.count;
      if (index.tracks[n]!.kind === 'video') for (let i = 0; i < run.count; i++) keys += run.sync[i]!;
    }
  return { counts, keys };
}

test(
  'fMP4 reader: a clip written by Fmp4Muxer reads back sample for sample',
  { skip: !haveClip && 'no clip' },
  async () => {
    const { bytes, counts, keys } = await muxClip(CLIP, 6);
    const index = await indexFmp4(bufferSource(bytes));
    assert.equal(index.stopReason, undefined);
    assert.equal(index.completeBytes, bytes.length);
    assert.deepEqual(
      index.tracks.map((t) => t.codec),
      ['h264', 'aac'],
    );
    const got = totals(index);
    assert.equal(got.keys, keys);
    // The muxer holds nothing back at flush; the video starts at its first keyframe (the clip's first sample).
    assert.deepEqual(got.counts, counts);
    // Decode times continue from fragment to fragment, and every fragment starts with a video keyframe.
    for (const [i, f] of index.fragments.entries()) {
      assert.equal(f.runs[0]!.sync[0], 1, `fragment ${i}`);
      assert.ok(Math.abs(f.prft!.wallClockMs - (T0_MS + i * 1000)) < 0.001);
      if (i === 0) continue;
      for (const run of f.runs) {
        const prev = index.fragments[i - 1]!.runs.find((r) => r.trackId === run.trackId)!;
        assert.equal(run.decodeTime[0], prev.decodeTime[prev.count - 1]! + prev.duration[prev.count - 1]!);
      }
    }
  },
);

test(
  'fMP4 reader: ffmpeg frag_keyframe+empty_moov+default_base_moof, against ffprobe packet counts',
  { skip: (!haveClip || !haveFfmpeg) && 'needs ffmpeg and the clip' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'fmp4-reader-'));
    try {
      const file = join(dir, 'ff.mp4');
      const r = spawnSync('ffmpeg', [
        ...['-v', 'error', '-i', CLIP, '-t', '5', '-c', 'copy'],
        ...['-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-y', file],
      ]);
      assert.equal(r.status, 0, r.stderr.toString());
      const probe = spawnSync('ffprobe', [
        ...['-v', 'error', '-show_entries', 'packet=stream_index,size,flags', '-of', 'csv=p=0', file],
      ]);
      const packets = probe.stdout
        .toString()
        .trim()
        .split('\n')
        .map((l) => l.split(','));
      const bytes = readFileSync(file);
      const index = indexFmp4Buffer(bytes);
      assert.equal(index.stopReason, undefined);
      assert.deepEqual(
        index.tracks.map((t) => t.codec),
        ['h264', 'aac'],
      );
      const got = totals(index);
      for (const n of [0, 1]) {
        const mine = packets.filter((p) => p[0] === String(n));
        assert.equal(got.counts[n], mine.length, `stream ${n}`);
      }
      assert.equal(got.keys, packets.filter((p) => p[0] === '0' && p[2]!.startsWith('K')).length);
      // Sizes in file order per track, as ffprobe lists them.
      const sizes = (n: number): number[] =>
        index.fragments.flatMap((f) => {
          const run = f.runs.find((r) => r.trackId === index.tracks[n]!.trackId);
          return run ? [...run.size] : [];
        });
      assert.deepEqual(
        sizes(0),
        packets.filter((p) => p[0] === '0').map((p) => Number(p[1])),
      );
      // And a cut copy keeps whole fragments only.
      const cut = indexFmp4Buffer(bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      assert.ok(cut.fragments.length > 0 && cut.fragments.length < index.fragments.length);
      assert.equal(cut.completeBytes, index.fragments[cut.fragments.length - 1]!.end);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
