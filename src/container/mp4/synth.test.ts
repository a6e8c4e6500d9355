// Hand-built MP4 files (synth.ts): every sample-table variant (stz2, co64 beyond 4 GiB, ctts v0/v1, stss present,
// absent or empty, multi-run stsc), edit lists, sample entries the ffmpeg files do not have, and the
// error codes. A property test round-trips random files through the reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../../base/errors.js';
import { ascii, box, fullBox, i16, largeBox, u16, u32, u8 } from './box-writer.js';
import {
  AAC_LC_48K_STEREO,
  audioEntry,
  avcC,
  buildMp4,
  esds,
  visualEntry,
  type FileSpec,
  type SynthSample,
  type SynthTrack,
} from './synth.js';
import { splitLengthPrefixed } from './nal.js';
import { Mp4Reader, bufferSource, type ByteSource, type Mp4ReaderOptions } from './reader.js';

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ParseError, `not a ParseError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

const zeros = (n: number): Buffer => Buffer.alloc(n);

const open = (file: Buffer, options?: Mp4ReaderOptions): Promise<Mp4Reader> =>
  Mp4Reader.open(bufferSource(file), options);

const SPS = Buffer.from('6742c01eda0280bfe5c044000003000400000300c83c58ba80', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');

test('ctts v1 negative offsets, an initial empty edit and media_time, NAL units with 2-byte lengths', async () => {
  const nal = (len: number, type: number): Buffer => Buffer.concat([u16(len), Buffer.alloc(len, type)]);
  const samples: SynthSample[] = [
    {
      size: 0,
      duration: 3000,
      cts: 3000,
      key: true,
      data: Buffer.concat([nal(3, 0x65), nal(0, 0), nal(2, 0x06)]),
    },
    { size: 0, duration: 3000, cts: 9000, key: false, data: nal(5, 0x41) },
    { size: 0, duration: 3000, cts: 0, key: false, data: nal(4, 0x01) },
    { size: 0, duration: 3000, cts: -3000, key: false, data: Buffer.concat([nal(1, 0x01), u8(0, 9)]) },
  ];
  const { file, offsets } = buildMp4({
    movieTimescale: 1000,
    tracks: [
      {
        id: 7,
        handler: 'vide',
        timescale: 90000,
        entry: visualEntry('avc1', 320, 240, avcC(2, [SPS], [PPS]), box('btrt', u32(0, 0, 0))),
        samples,
        ctts: 1,
        elst: [
          { duration: 500, mediaTime: -1 },
          { duration: 400, mediaTime: 3000 },
        ],
      },
    ],
  });
  const r = await open(file);
  const v = r.track(7)!;
  assert.equal(v.codec, 'h264');
  assert.deepEqual([v.width, v.height, v.nalLengthSize], [320, 240, 2]);
  assert.deepEqual(v.parameterSets, { vps: [], sps: [SPS], pps: [PPS] });
  assert.deepEqual(v.edit, {
    emptyTicks: 45000,
    mediaTimeTicks: 3000,
    shiftTicks: 42000,
    approximate: false,
  });
  assert.deepEqual([...v.samples.dts], [42000, 45000, 48000, 51000]);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => r.sample(v, i).ptsTicks),
    [45000, 54000, 48000, 48000],
  );
  assert.deepEqual([...v.samples.offset], offsets[0]);
  assert.deepEqual([...v.samples.keyframes], [0]);
  assert.deepEqual(
    (await r.readNalUnits(v, 0)).map((x) => x.toString('hex')),
    ['656565', '0606'],
  );
  await rejectsWith(r.readNalUnits(v, 3), 'MP4_BAD_SAMPLE');
  assert.equal(r.keyframeAtOrBefore(v, 0.4), -1); // before the empty edit ends
  assert.equal(r.keyframeAtOrBefore(v, 0.5), 0);
});

test('avc3 and hev1: parameter sets in-band (none in avcC/hvcC), read like avc1 and hvc1', async () => {
  const nal4 = (n: Buffer): Buffer => Buffer.concat([u32(n.length), n]);
  const idr = Buffer.from([0x65, 0x88, 0x84]);
  const vps = Buffer.from([0x40, 0x01, 0x0c]);
  const sps265 = Buffer.from([0x42, 0x01, 0x01]);
  const pps265 = Buffer.from([0x44, 0x01, 0xc1]);
  const idr265 = Buffer.from([0x26, 0x01, 0xaf]); // IDR_W_RADL (19)
  // HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1): Main, level 3.1, 4-byte lengths, no arrays.
  const hvcC = box(
    'hvcC',
    u8(1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93, 0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 0),
  );
  const { file } = buildMp4({
    tracks: [
      {
        id: 1,
        handler: 'vide',
        timescale: 90000,
        entry: visualEntry('avc3', 320, 240, avcC(4, [], [])),
        samples: [
          { size: 0, duration: 3600, key: true, data: Buffer.concat([nal4(SPS), nal4(PPS), nal4(idr)]) },
          { size: 0, duration: 3600, key: false, data: nal4(Buffer.from([0x41, 0x9a])) },
        ],
      },
      {
        id: 2,
        handler: 'vide',
        timescale: 90000,
        entry: visualEntry('hev1', 320, 240, hvcC),
        samples: [
          {
            size: 0,
            duration: 3600,
            key: true,
            data: Buffer.concat([nal4(vps), nal4(sps265), nal4(pps265), nal4(idr265)]),
          },
        ],
      },
    ],
  });
  const r = await open(file);
  const [avc, hevc] = r.tracks;
  assert.deepEqual([avc!.fourcc, avc!.codec, avc!.nalLengthSize], ['avc3', 'h264', 4]);
  assert.deepEqual(avc!.parameterSets, { vps: [], sps: [], pps: [] });
  assert.deepEqual(
    (await r.readNalUnits(avc!, 0)).map((n) => n[0]! & 0x1f),
    [7, 8, 5],
  );
  assert.deepEqual([...avc!.samples.keyframes], [0]);
  assert.deepEqual([hevc!.fourcc, hevc!.codec, hevc!.nalLengthSize], ['hev1', 'h265', 4]);
  assert.deepEqual(hevc!.parameterSets, { vps: [], sps: [], pps: [] });
  assert.equal(hevc!.hevc?.generalProfileIdc, 1);
  assert.deepEqual(
    (await r.readNalUnits(hevc!, 0)).map((n) => (n[0]! >> 1) & 0x3f),
    [32, 33, 34, 19],
  );
});

test('edit lists: v1, several media edits (approximate), rate != 1', async () => {
  const track = (elst: SynthTrack['elst'], elstVersion: 0 | 1): SynthTrack => ({
    id: 1,
    handler: 'soun',
    timescale: 48000,
    entry: audioEntry('mp4a', 2, 48000, esds(0x40, AAC_LC_48K_STEREO)),
    samples: [{ size: 4, duration: 1024 }],
    elst,
    elstVersion,
  });
  let r = await open(buildMp4({ tracks: [track([{ duration: 1000, mediaTime: 2048 }], 1)] }).file);
  assert.deepEqual(r.tracks[0]!.edit, {
    emptyTicks: 0,
    mediaTimeTicks: 2048,
    shiftTicks: -2048,
    approximate: false,
  });
  r = await open(
    buildMp4({
      tracks: [
        track(
          [
            { duration: 10, mediaTime: 0 },
            { duration: 10, mediaTime: 500 },
          ],
          0,
        ),
      ],
    }).file,
  );
  assert.equal(r.tracks[0]!.edit.approximate, true);
  r = await open(buildMp4({ tracks: [track([{ duration: 10, mediaTime: 0, rate: 0x20000 }], 0)] }).file);
  assert.equal(r.tracks[0]!.edit.approximate, true);
});

test('stz2 (4, 8, 16 bits), constant stsz, stsc runs, interleaved chunks, stss absent or empty', async () => {
  const samples = (n: number, size: (i: number) => number, key?: (i: number) => boolean): SynthSample[] =>
    Array.from({ length: n }, (_, i) => ({ size: size(i), duration: 100, ...(key ? { key: key(i) } : {}) }));
  const entry = visualEntry('vp09', 64, 48, box('vpcC', u32(0)));
  const spec: FileSpec = {
    tracks: [
      {
        id: 1,
        handler: 'vide',
        timescale: 1000,
        entry,
        samples: samples(7, (i) => i * 2 + 1),
        sizeBox: 4,
        chunks: [2, 2, 3],
      },
      {
        id: 2,
        handler: 'vide',
        timescale: 1000,
        entry,
        samples: samples(5, (i) => 100 + i),
        sizeBox: 8,
        chunks: [1, 1, 1, 2],
        stss: 'none',
      },
      {
        id: 3,
        handler: 'vide',
        timescale: 1000,
        entry,
        samples: samples(4, (i) => 300 * i),
        sizeBox: 16,
        stss: 'empty',
      },
      {
        id: 4,
        handler: 'vide',
        timescale: 1000,
        entry,
        samples: samples(
          6,
          () => 9,
          (i) => i % 3 === 0,
        ),
        sizeBox: 'stsz-const',
        chunks: [3, 3],
      },
    ],
  };
  const { file, offsets } = buildMp4(spec);
  const r = await open(file);
  for (const [n, t] of spec.tracks.entries()) {
    const tr = r.tracks[n]!;
    assert.equal(tr.codec, 'unknown');
    assert.equal(tr.fourcc, 'vp09');
    assert.equal(tr.codecConfig.length, 0);
    assert.deepEqual(
      [...tr.samples.size],
      t.samples.map((s) => s.size),
      `track ${t.id} sizes`,
    );
    assert.deepEqual([...tr.samples.offset], offsets[n], `track ${t.id} offsets`);
    for (let i = 0; i < tr.samples.count; i++) {
      assert.deepEqual(
        await r.readSample(tr, i),
        file.subarray(offsets[n]![i], offsets[n]![i]! + t.samples[i]!.size),
      );
    }
  }
  assert.deepEqual([...r.tracks[0]!.samples.keyframe], [1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual([...r.tracks[1]!.samples.keyframe], [1, 1, 1, 1, 1]); // no stss: all sync
  assert.deepEqual([...r.tracks[2]!.samples.keyframe], [0, 0, 0, 0]); // empty stss: none
  assert.deepEqual([...r.tracks[3]!.samples.keyframes], [0, 3]);
  assert.equal(r.keyframeAtOrBefore(r.tracks[2]!, 1), -1);
  assert.equal(r.keyframeAtOrBefore(r.tracks[3]!, 0.299), 0);
  assert.equal(r.keyframeAtOrBefore(r.tracks[3]!, 0.3), 3);
  // Seeking: the track with some keyframes decides the start (0.3 s); the others follow it.
  const plan = r.seek(0.45);
  assert.equal(plan.timeSeconds, 0.3);
  assert.deepEqual(plan.startIndex, [3, 3, 3, 3]);
});

test('sample entries: unknown, QuickTime sound v1 (esds in wave) and v2, mp3, Opus, other handlers', async () => {
  const one = [{ size: 3, duration: 10 }];
  const qtV1 = box(
    'mp4a',
    zeros(6),
    u16(1),
    u16(1, 0),
    u32(0),
    u16(2, 16, 0xfffe, 0),
    u32(44100 * 65536),
    u32(1024, 0, 0, 2),
    box('wave', box('frma', ascii('mp4a')), esds(0x40, Buffer.from([0x12, 0x10])), zeros(8)),
  );
  const qtV2 = box(
    'lpcm',
    zeros(6),
    u16(1),
    u16(2, 0),
    u32(0),
    u16(3, 16, 0xfffe, 0),
    u32(65536),
    u32(72),
    Buffer.from(new Float64Array([96000]).buffer).reverse(),
    u32(6, 0x7f000000, 24, 0, 6, 1),
  );
  const dOps = box('dOps', u8(0, 1), u16(312), u32(16000), i16(-256), u8(0));
  const { file } = buildMp4({
    tracks: [
      { id: 1, handler: 'soun', timescale: 44100, entry: qtV1, samples: one },
      { id: 2, handler: 'soun', timescale: 96000, entry: qtV2, samples: one },
      {
        id: 3,
        handler: 'soun',
        timescale: 44100,
        entry: audioEntry('mp4a', 2, 44100, esds(0x6b, Buffer.alloc(0))),
        samples: one,
      },
      { id: 4, handler: 'soun', timescale: 48000, entry: audioEntry('Opus', 1, 48000, dOps), samples: one },
      {
        id: 5,
        handler: 'text',
        timescale: 1000,
        entry: box('tx3g', zeros(6), u16(1), zeros(30)),
        samples: one,
      },
      { id: 6, handler: 'soun', timescale: 8000, entry: audioEntry('alaw', 1, 8000), samples: one },
    ],
  });
  const r = await open(file);
  const [a, b, c, d, e, f] = r.tracks;
  assert.deepEqual(
    [a!.codec, a!.channels, a!.sampleRate, a!.aac?.sampleRate, a!.aac?.channelConfiguration],
    ['aac', 2, 44100, 44100, 2],
  );
  assert.deepEqual([b!.codec, b!.fourcc, b!.channels, b!.sampleRate], ['unknown', 'lpcm', 6, 96000]);
  assert.deepEqual([c!.codec, c!.esds?.objectTypeIndication], ['mp3', 0x6b]);
  assert.deepEqual(
    [d!.codec, d!.channels, d!.opus],
    [
      'opus',
      1,
      {
        outputChannelCount: 1,
        preSkip: 312,
        inputSampleRate: 16000,
        outputGainQ8: -256,
        channelMappingFamily: 0,
      },
    ],
  );
  assert.deepEqual(
    [e!.kind, e!.codec, e!.fourcc, e!.handler, e!.width],
    ['other', 'unknown', 'tx3g', 'text', undefined],
  );
  // G.711 A-law (`alaw`, no configuration box) is named since recordings carry it.
  assert.deepEqual([f!.kind, f!.codec, f!.channels, f!.sampleRate], ['audio', 'pcma', 1, 8000]);
});

test('co64 offsets and a moov beyond 4 GiB, a largesize mdat, over a sparse 5 GB source', async () => {
  const GB = 1024 * 1024 * 1024;
  const mdatStart = 100;
  const moovStart = Math.floor(4.5 * GB);
  const sample0 = Math.floor(4.2 * GB) + 17;
  const track: SynthTrack = {
    id: 1,
    handler: 'soun',
    timescale: 48000,
    entry: audioEntry('mp4a', 2, 48000, esds(0x40, AAC_LC_48K_STEREO)),
    samples: [
      { size: 10, duration: 1024 },
      { size: 20, duration: 1024 },
      { size: 30, duration: 1024 },
    ],
    co64: true,
    chunks: [2, 1],
  };
  // Build the tree once to get the moov, then relocate chunk offsets by hand: chunks at sample0 and 4.4 GiB.
  const built = buildMp4({ tracks: [track] });
  const r0 = await open(built.file);
  const base = r0.tracks[0]!.samples.offset[0]!;
  const moovAt = built.file.indexOf(ascii('moov')) - 4;
  const moov = Buffer.from(built.file.subarray(moovAt));
  const co = moov.indexOf(ascii('co64'));
  moov.writeBigUInt64BE(BigInt(sample0), co + 4 + 4 + 4);
  moov.writeBigUInt64BE(BigInt(Math.floor(4.4 * GB)), co + 4 + 4 + 4 + 8);
  assert.equal(base, r0.tracks[0]!.samples.offset[0]); // (the original offsets were small)
  const ftyp = built.file.subarray(0, 32);
  const head = Buffer.concat([ftyp, box('free', zeros(mdatStart - ftyp.length - 8)), zeros(16)]);
  largeBox('mdat').copy(head, mdatStart);
  head.writeBigUInt64BE(BigInt(moovStart - mdatStart), mdatStart + 8);
  const size = moovStart + moov.length;
  const pattern = (p: number): number => p % 251;
  const source: ByteSource = {
    size,
    read(offset, length) {
      const out = Buffer.alloc(length);
      for (let k = 0; k < length; k++) {
        const p = offset + k;
        out[k] = p < head.length ? head[p]! : p >= moovStart ? moov[p - moovStart]! : pattern(p);
      }
      return out;
    },
  };
  const r = await Mp4Reader.open(source);
  const tr = r.tracks[0]!;
  assert.deepEqual([...tr.samples.offset], [sample0, sample0 + 10, Math.floor(4.4 * GB)]);
  const data = await r.readSample(tr, 1);
  assert.deepEqual(
    [...data],
    Array.from({ length: 20 }, (_, k) => pattern(sample0 + 10 + k)),
  );
});

test('error codes', async () => {
  const good: SynthTrack = {
    id: 1,
    handler: 'vide',
    timescale: 1000,
    entry: visualEntry('avc1', 16, 16, avcC(4, [SPS], [PPS])),
    samples: [
      { size: 5, duration: 40 },
      { size: 6, duration: 40, key: false },
    ],
  };
  const { file } = buildMp4({ tracks: [good], moovFirst: true });
  const ftyp = file.subarray(0, 32);
  await rejectsWith(open(Buffer.alloc(0)), 'MP4_NO_MOOV');
  await rejectsWith(open(Buffer.concat([ftyp, box('free', zeros(20))])), 'MP4_NO_MOOV');
  await rejectsWith(open(file.subarray(0, 40)), 'MP4_TRUNCATED');
  await rejectsWith(open(file.subarray(0, 35)), 'MP4_TRUNCATED');
  await rejectsWith(open(Buffer.concat([ftyp, u32(4), ascii('free')])), 'MP4_BAD_BOX');
  await rejectsWith(open(file, { maxMoovBytes: 100 }), 'MP4_UNSUPPORTED');
  await rejectsWith(open(file, { maxSamplesPerTrack: 1 }), 'MP4_UNSUPPORTED');
  await rejectsWith(open(Buffer.concat([ftyp, box('moof', zeros(8)), file.subarray(32)])), 'MP4_UNSUPPORTED');
  const empty = buildMp4({
    tracks: [{ ...good, samples: [] }],
    moovExtra: [box('mvex', fullBox('trex', 0, 0, zeros(20)))],
  });
  await rejectsWith(open(empty.file), 'MP4_UNSUPPORTED');
  // A moov with size 0 extends to the end of the file.
  const last = buildMp4({ tracks: [good] }).file;
  const moovAt = last.indexOf(ascii('moov')) - 4;
  const zeroSized = Buffer.from(last);
  zeroSized.writeUInt32BE(0, moovAt);
  assert.equal((await open(zeroSized)).tracks[0]!.samples.count, 2);
  // Sample data past the end of a cut file.
  const cut = await open(file.subarray(0, file.length - 5)); // (3 junk bytes end the mdat)
  await rejectsWith(cut.readSample(cut.tracks[0]!, 1), 'MP4_TRUNCATED');

  const mutate = async (
    from: string,
    to: Buffer,
    code: string,
    options?: Mp4ReaderOptions,
  ): Promise<void> => {
    const at = file.indexOf(ascii(from));
    assert.ok(at > 0, from);
    const f = Buffer.from(file);
    to.copy(f, at);
    await rejectsWith(open(f, options), code);
  };
  await mutate('avcC', ascii('avcX'), 'MP4_BAD_CODEC_CONFIG');
  await mutate('mvhd', ascii('mvhX'), 'MP4_BAD_BOX');
  await mutate('stsc', ascii('stsX'), 'MP4_BAD_BOX');
  const stss = file.indexOf(ascii('stss'));
  const f = Buffer.from(file);
  f.writeUInt32BE(3, stss + 12); // sample number 3 of 2
  await rejectsWith(open(f), 'MP4_BAD_SAMPLE_TABLE');
  const stts = file.indexOf(ascii('stts'));
  const g = Buffer.from(file);
  g.writeUInt32BE(1, stts + 12); // one stts run of 1 sample, for 2 samples
  await rejectsWith(open(g), 'MP4_BAD_SAMPLE_TABLE');
  const stsz = file.indexOf(ascii('stsz'));
  const h = Buffer.from(file);
  h.writeUInt32BE(1000, stsz + 12); // 1000 sizes in a box that holds 2
  await rejectsWith(open(h), 'MP4_BAD_BOX');
  const k = Buffer.from(file);
  k.writeUInt32BE(1e6, stsz + 8); // constant size 1 MB x 2 samples in a small file
  await rejectsWith(open(k), 'MP4_BAD_SAMPLE_TABLE');
});

test('splitLengthPrefixed round-trips NAL units for every length size', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(1, 2, 3, 4),
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 255 }), { maxLength: 8 }),
      (lengthSize, nals) => {
        const sample = Buffer.concat(
          nals.flatMap((n) => {
            const len = Buffer.alloc(lengthSize);
            len.writeUIntBE(n.length, 0, lengthSize);
            return [len, n];
          }),
        );
        assert.deepEqual(
          splitLengthPrefixed(sample, lengthSize).map((b) => [...b]),
          nals.map((n) => [...n]),
        );
      },
    ),
  );
  assert.throws(() => splitLengthPrefixed(Buffer.from([0, 0, 0]), 4), { code: 'MP4_BAD_SAMPLE' });
});

const sampleArb = fc.record({
  size: fc.integer({ min: 0, max: 15 }),
  duration: fc.integer({ min: 0, max: 3000 }),
  cts: fc.integer({ min: -2000, max: 2000 }),
  key: fc.boolean(),
});

const trackArb = fc
  .record({
    samples: fc.array(sampleArb, { maxLength: 30 }),
    timescale: fc.constantFrom(1000, 8000, 44100, 90000),
    sizeBox: fc.constantFrom<SynthTrack['sizeBox']>('stsz', 'stsz-const', 4, 8, 16),
    co64: fc.boolean(),
    ctts: fc.constantFrom<0 | 1 | undefined>(0, 1, undefined),
    stss: fc.constantFrom<'auto' | 'none'>('auto', 'none'),
    chunkSeed: fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 30 }),
    elst: fc.option(
      fc.record({ empty: fc.integer({ min: 0, max: 2000 }), mediaTime: fc.integer({ min: 0, max: 3000 }) }),
    ),
  })
  .map((t) => {
    if (t.sizeBox === 'stsz-const')
      t.samples = t.samples.map((s) => ({ ...s, size: Math.max(1, t.samples[0]?.size ?? 1) }));
    const chunks: number[] = [];
    let left = t.samples.length;
    for (let i = 0; left > 0; i++) {
      const n = Math.min(left, t.chunkSeed[i] ?? left);
      chunks.push(n);
      left -= n;
    }
    return { ...t, chunks };
  });

test('property: random files round-trip through the reader', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(trackArb, { minLength: 1, maxLength: 3 }),
      fc.boolean(),
      async (specs, moovFirst) => {
        const tracks: SynthTrack[] = specs.map((s, n) => {
          const t: SynthTrack = {
            id: n + 1,
            handler: 'vide',
            timescale: s.timescale,
            entry: visualEntry('avc1', 16, 16, avcC(4, [SPS], [PPS])),
            samples: s.samples,
            chunks: s.chunks,
            sizeBox: s.sizeBox,
            co64: s.co64,
            stss: s.stss,
          };
          if (s.ctts !== undefined) t.ctts = s.ctts;
          if (s.elst)
            t.elst = [
              ...(s.elst.empty > 0 ? [{ duration: s.elst.empty, mediaTime: -1 }] : []),
              { duration: 0, mediaTime: s.elst.mediaTime },
            ];
          return t;
        });
        const { file, offsets } = buildMp4({ tracks, moovFirst, movieTimescale: 1000 });
        const r = await open(file);
        for (const [n, t] of tracks.entries()) {
          const tr = r.tracks[n]!;
          const shift = s(specs[n]!.elst, t.timescale);
          let dts = shift;
          assert.equal(tr.samples.count, t.samples.length);
          for (let i = 0; i < t.samples.length; i++) {
            const x = t.samples[i]!;
            const info = r.sample(tr, i);
            assert.equal(info.offset, offsets[n]![i]);
            assert.equal(info.size, x.size);
            assert.equal(info.dtsTicks, dts);
            assert.equal(info.ptsTicks, dts + (t.ctts !== undefined ? x.cts! : 0));
            assert.equal(info.keyframe, t.stss === 'none' || x.key !== false);
            dts += x.duration;
          }
        }
        // The iterator yields every sample once, in non-decreasing dts seconds.
        const seen = [...r.samples()];
        assert.equal(
          seen.length,
          tracks.reduce((a, t) => a + t.samples.length, 0),
        );
        for (let i = 1; i < seen.length; i++)
          assert.ok(seen[i - 1]!.dtsTicks / seen[i - 1]!.timescale <= seen[i]!.dtsTicks / seen[i]!.timescale);
      },
    ),
    { numRuns: 150 },
  );
  function s(elst: { empty: number; mediaTime: number } | null, timescale: number): number {
    return elst ? Math.round((elst.empty * timescale) / 1000) - elst.mediaTime : 0;
  }
});
