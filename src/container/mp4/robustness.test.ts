// Malformed input: truncated files, random bytes, mutated boxes. The reader may succeed or throw, but it
// throws only ParseError and allocates only in proportion to the input (limits in reader.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { ParseError } from '../../base/errors.js';
import { ascii, box, u32 } from './box-writer.js';
import { Mp4Reader, bufferSource } from './reader.js';
import { audioEntry, avcC, buildMp4, esds, visualEntry } from './synth.js';

function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const fixtures = join(repoRoot(), 'src', 'container', 'mp4', 'fixtures');
const media = join(repoRoot(), '..', 'shared', 'media');

/** Opens the file and, when that works, walks every sample: metadata, bytes and NAL units. */
async function exercise(file: Uint8Array): Promise<void> {
  const r = await Mp4Reader.open(bufferSource(file));
  let n = 0;
  for (const s of r.samples(0)) {
    if (n++ > 2000) break;
    const tr = r.track(s.trackId)!;
    if (tr.nalLengthSize !== undefined) await r.readNalUnits(tr, s.index);
    else await r.readSample(tr, s.index);
  }
  for (const tr of r.tracks) {
    r.keyframeAtOrBefore(tr, 1.5);
    r.sampleAtTime(tr, 1.5);
  }
  r.seek(1.5);
}

async function onlyParseErrors(file: Uint8Array): Promise<string> {
  try {
    await exercise(file);
    return 'ok';
  } catch (e) {
    if (e instanceof ParseError) return e.code;
    throw e;
  }
}

function moovRange(file: Buffer): { start: number; end: number } {
  let at = 0;
  while (at + 8 <= file.length) {
    const size = file.readUInt32BE(at);
    if (file.toString('latin1', at + 4, at + 8) === 'moov') return { start: at, end: at + size };
    at += size;
  }
  throw new Error('no moov');
}

const synthetic = buildMp4({
  moovFirst: true,
  tracks: [
    {
      id: 1,
      handler: 'vide',
      timescale: 90000,
      entry: visualEntry(
        'avc1',
        16,
        16,
        avcC(4, [Buffer.from('6742c01e', 'hex')], [Buffer.from('68ce', 'hex')]),
      ),
      samples: [
        { size: 0, duration: 3000, cts: 3000, data: Buffer.from('0000000265880000000141', 'hex') },
        { size: 0, duration: 3000, cts: 0, key: false, data: Buffer.from('000000024101', 'hex') },
      ],
      ctts: 1,
      elst: [
        { duration: 100, mediaTime: -1 },
        { duration: 100, mediaTime: 3000 },
      ],
    },
    {
      id: 2,
      handler: 'soun',
      timescale: 48000,
      entry: audioEntry('mp4a', 2, 48000, esds(0x40, Buffer.from([0x11, 0x90]))),
      samples: [
        { size: 5, duration: 1024 },
        { size: 7, duration: 1024 },
        { size: 9, duration: 1024 },
      ],
      sizeBox: 4,
      co64: true,
      chunks: [1, 2],
    },
  ],
}).file;

const inputs: { name: string; file: Buffer }[] = [
  { name: 'synthetic', file: synthetic },
  { name: 'opus.mp4', file: readFileSync(join(fixtures, 'opus.mp4')) },
];
const base = join(media, 'h264_base_aac.mp4');
if (existsSync(base)) inputs.push({ name: 'h264_base_aac.mp4', file: readFileSync(base) });

test('every prefix that cuts into the moov throws MP4_TRUNCATED or MP4_NO_MOOV', async () => {
  for (const { name, file } of inputs) {
    const { end } = moovRange(file);
    // Every length up to the end of the moov for small moovs, else a sample of them.
    const step = Math.max(1, Math.floor(end / 3000));
    for (let len = 0; len < end; len += step) {
      const code = await onlyParseErrors(file.subarray(0, len));
      assert.ok(code === 'MP4_TRUNCATED' || code === 'MP4_NO_MOOV', `${name} cut at ${len}: ${code}`);
    }
  }
});

test('prefixes that keep the moov open, and fail only when a cut sample is read', async () => {
  for (const { name, file } of inputs) {
    const { end } = moovRange(file);
    if (end === file.length) continue;
    for (const len of [end, end + 1, Math.floor((end + file.length) / 2), file.length - 4]) {
      const code = await onlyParseErrors(file.subarray(0, len));
      assert.ok(code === 'MP4_TRUNCATED', `${name} cut at ${len}: ${code}`);
    }
    assert.equal(await onlyParseErrors(file), 'ok', name);
  }
});

test('random bytes, at the top level and inside a moov, throw only ParseError', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.boolean(), async (bytes, wrap) => {
      const file = wrap ? Buffer.concat([box('ftyp', ascii('isom'), u32(0)), box('moov', bytes)]) : bytes;
      await onlyParseErrors(file);
    }),
    { numRuns: 500 },
  );
});

/** Replaces bytes of the moov: single bytes, or 32-bit words with values that stress counts and sizes. */
const mutationArb = fc.array(
  fc.record({
    where: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    word: fc.boolean(),
    value: fc.oneof(
      fc.constantFrom(0, 1, 2, 7, 8, 16, 0xff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff),
      fc.integer({ min: 0, max: 0xffffffff }),
    ),
  }),
  { minLength: 1, maxLength: 6 },
);

for (const { name, file } of inputs) {
  test(`mutated moov boxes of ${name} throw only ParseError`, async () => {
    const { start, end } = moovRange(file);
    await fc.assert(
      fc.asyncProperty(mutationArb, async (mutations) => {
        const f = Buffer.from(file);
        for (const m of mutations) {
          const at = start + Math.floor(m.where * (end - start));
          if (m.word && at + 4 <= end) f.writeUInt32BE(m.value >>> 0, at);
          else f[at] = m.value & 0xff;
        }
        await onlyParseErrors(f);
      }),
      { numRuns: name === 'h264_base_aac.mp4' ? 150 : 400 },
    );
  });
}
