import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { BitWriter } from '../base/bits.js';
import { ParseError } from '../base/errors.js';
import {
  H264NalType,
  buildAvcDecoderConfigurationRecord,
  formatSpropParameterSets,
  h264NalType,
  h264ProfileLevelId,
  isH264Keyframe,
  parseAvcDecoderConfigurationRecord,
  parseH264Sps,
  parseSpropParameterSets,
} from './h264.js';
import {
  joinAnnexB,
  joinLengthPrefixed,
  nalToRbsp,
  rbspToNal,
  splitAnnexB,
  splitLengthPrefixed,
} from './nal.js';

const MEDIA = '/work/shared/media';
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('splitAnnexB handles 3- and 4-byte start codes and trailing zeros', () => {
  const data = hex('00000001 6742 000001 68ce 0000 00000001 65aabb 00');
  assert.deepEqual(
    splitAnnexB(data).map((b) => b.toString('hex')),
    ['6742', '68ce', '65aabb'],
  );
  assert.deepEqual(
    splitAnnexB(hex('6742')).map((b) => b.toString('hex')),
    ['6742'],
    'no start code: one NAL',
  );
  assert.deepEqual(splitAnnexB(Buffer.alloc(0)), []);
  assert.deepEqual(splitAnnexB(hex('000001000001')), []);
});

const nalArb = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => {
  // A valid NAL: no emulation-prone sequences and a non-zero last byte (rbsp_trailing_bits).
  const n = rbspToNal(b);
  return Buffer.concat([n, Buffer.from([0x80])]);
});

test('Annex-B and length-prefixed framing round-trip (property)', () => {
  fc.assert(
    fc.property(fc.array(nalArb, { maxLength: 20 }), fc.constantFrom<1 | 2 | 4>(2, 4), (nalus, size) => {
      assert.deepEqual(splitAnnexB(joinAnnexB(nalus)), nalus);
      assert.deepEqual(splitLengthPrefixed(joinLengthPrefixed(nalus, size), size), nalus);
    }),
  );
});

test('splitLengthPrefixed rejects lengths past the end', () => {
  assert.throws(() => splitLengthPrefixed(hex('00000005 6742'), 4), ParseError);
  assert.throws(() => splitLengthPrefixed(hex('0000'), 4), ParseError);
});

test('emulation prevention round-trips (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (rbsp) => {
      const nal = rbspToNal(rbsp);
      for (let i = 2; i < nal.length; i++)
        assert.ok(!(nal[i - 2] === 0 && nal[i - 1] === 0 && nal[i]! <= 2), 'no 00 00 0x (x<=2) in NAL');
      assert.deepEqual(nalToRbsp(nal), Buffer.from(rbsp));
    }),
  );
});

test('real Annex-B clip: Constrained Baseline 640x360 25 fps, IDR every 25 frames', () => {
  const nalus = splitAnnexB(readFileSync(`${MEDIA}/h264.264`));
  const sps = nalus.find((n) => h264NalType(n) === H264NalType.Sps)!;
  const info = parseH264Sps(sps);
  assert.equal(info.profileIdc, 66);
  assert.ok(info.constraintFlags & 0x40, 'constraint_set1_flag: Constrained Baseline');
  assert.equal(info.levelIdc, 30);
  assert.equal(info.width, 640);
  assert.equal(info.height, 360);
  assert.equal(info.codedHeight, 368);
  assert.equal(info.chromaFormatIdc, 1);
  assert.equal(info.frameRate, 25);
  assert.equal(h264ProfileLevelId(sps), '42c01e');
  // One slice per picture here: each VCL NAL is a frame.
  const frames = nalus.filter((n) => {
    const t = h264NalType(n);
    return t === H264NalType.IdrSlice || t === H264NalType.NonIdrSlice;
  });
  assert.equal(frames.length, 250);
  frames.forEach((f, i) => {
    assert.equal(isH264Keyframe([f]), i % 25 === 0, `frame ${i}`);
  });
});

test('High profile SPS with scaling matrix (x264 cqm=jvt, 1080p 29.97)', () => {
  const info = parseH264Sps(hex('67640028acd940780227e5c04400000fa40003a9803c60c658'));
  assert.equal(info.profileIdc, 100);
  assert.equal(info.width, 1920);
  assert.equal(info.height, 1080);
  assert.equal(info.codedHeight, 1088);
  assert.ok(Math.abs(info.frameRate! - 30000 / 1001) < 1e-9);
});

test('High 4:2:2 10-bit SPS', () => {
  const info = parseH264Sps(hex('677a0020b6cd9405005bb011000003000100000300640f183196'));
  assert.equal(info.profileIdc, 122);
  assert.equal(info.chromaFormatIdc, 2);
  assert.equal(info.bitDepthLuma, 10);
  assert.deepEqual([info.width, info.height, info.frameRate], [1280, 720, 50]);
});

/** Writes an SPS with the given fields (H.264 §7.3.2.1.1). */
function buildSps(p: {
  profileIdc: number;
  chroma: number;
  scaling: number[][] | undefined;
  pocType: number;
  widthMbs: number;
  heightUnits: number;
  frameMbsOnly: boolean;
  crop: [number, number, number, number] | undefined;
  timing: [number, number] | undefined;
}): Buffer {
  const w = new BitWriter();
  w.writeBits(p.profileIdc, 8);
  w.writeBits(0, 8);
  w.writeBits(31, 8);
  w.writeUE(0);
  if ([100, 110, 122, 244].includes(p.profileIdc)) {
    w.writeUE(p.chroma);
    if (p.chroma === 3) w.writeBits(0, 1);
    w.writeUE(0);
    w.writeUE(0);
    w.writeBits(0, 1);
    w.writeBits(p.scaling ? 1 : 0, 1);
    if (p.scaling) {
      for (let i = 0; i < (p.chroma === 3 ? 12 : 8); i++) {
        const deltas = p.scaling[i] ?? [];
        w.writeBits(deltas.length > 0 ? 1 : 0, 1);
        if (deltas.length > 0) {
          const size = i < 6 ? 16 : 64;
          let last = 8;
          for (let j = 0; j < size; j++) {
            const next = 1 + (deltas[j % deltas.length]! % 200);
            let d = next - last;
            if (d > 127) d -= 256;
            if (d < -128) d += 256;
            w.writeSE(d);
            last = next;
          }
        }
      }
    }
  }
  w.writeUE(0);
  w.writeUE(p.pocType);
  if (p.pocType === 0) w.writeUE(2);
  if (p.pocType === 1) {
    w.writeBits(0, 1);
    w.writeSE(-3);
    w.writeSE(4);
    w.writeUE(2);
    w.writeSE(1);
    w.writeSE(-1);
  }
  w.writeUE(1);
  w.writeBits(0, 1);
  w.writeUE(p.widthMbs - 1);
  w.writeUE(p.heightUnits - 1);
  w.writeBits(p.frameMbsOnly ? 1 : 0, 1);
  if (!p.frameMbsOnly) w.writeBits(0, 1);
  w.writeBits(1, 1);
  w.writeBits(p.crop ? 1 : 0, 1);
  if (p.crop) for (const c of p.crop) w.writeUE(c);
  w.writeBits(p.timing ? 1 : 0, 1);
  if (p.timing) {
    w.writeBits(0, 4); // no aspect, overscan, signal type, chroma loc
    w.writeBits(1, 1);
    w.writeBits(p.timing[0], 32);
    w.writeBits(p.timing[1], 32);
    w.writeBits(1, 1);
  }
  w.writeBits(1, 1); // rbsp_stop_one_bit
  return Buffer.concat([Buffer.from([0x67]), rbspToNal(w.finish())]);
}

test('SPS parser recovers synthetic SPS fields (property)', () => {
  fc.assert(
    fc.property(
      fc.record({
        profileIdc: fc.constantFrom(66, 77, 100, 122, 244),
        chroma: fc.integer({ min: 0, max: 3 }),
        scaling: fc.option(
          fc
            .array(fc.option(fc.array(fc.nat(255), { minLength: 1, maxLength: 5 }), { nil: undefined }), {
              minLength: 12,
              maxLength: 12,
            })
            .map((a) => a.map((x) => x ?? [])),
          { nil: undefined },
        ),
        pocType: fc.integer({ min: 0, max: 2 }),
        widthMbs: fc.integer({ min: 4, max: 240 }),
        heightUnits: fc.integer({ min: 4, max: 135 }),
        frameMbsOnly: fc.boolean(),
        crop: fc.option(fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)), { nil: undefined }),
        timing: fc.option(fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 120000 })), {
          nil: undefined,
        }),
      }),
      (p) => {
        const high = [100, 122, 244].includes(p.profileIdc);
        const chroma = high ? p.chroma : 1;
        const info = parseH264Sps(buildSps({ ...p, chroma }));
        const cropUnitX = chroma === 0 || chroma === 3 ? 1 : 2;
        const cropUnitY = (chroma === 1 ? 2 : 1) * (p.frameMbsOnly ? 1 : 2);
        const [l, r, t, b] = p.crop ?? [0, 0, 0, 0];
        assert.equal(info.profileIdc, p.profileIdc);
        assert.equal(info.chromaFormatIdc, chroma);
        assert.equal(info.width, p.widthMbs * 16 - cropUnitX * (l + r));
        assert.equal(info.height, (p.frameMbsOnly ? 1 : 2) * p.heightUnits * 16 - cropUnitY * (t + b));
        assert.equal(info.frameRate, p.timing ? p.timing[1] / (2 * p.timing[0]) : undefined);
      },
    ),
  );
});

test('parseH264Sps throws ParseError only, on any input (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      try {
        parseH264Sps(Buffer.concat([Buffer.from([0x67]), bytes]));
      } catch (e) {
        assert.ok(e instanceof ParseError, String(e));
      }
    }),
  );
});

test('sprop-parameter-sets: plain, with Annex-B start codes inside, and formatting', () => {
  const sps = hex('6742c01eda02802dd8088000000300800000190780f8b6cb');
  const pps = hex('68ce3c80');
  const plain = formatSpropParameterSets([sps, pps]);
  assert.equal(plain, `${sps.toString('base64')},${pps.toString('base64')}`);
  assert.deepEqual(parseSpropParameterSets(plain), { sps: [sps], pps: [pps] });
  // Camera quirk: the whole Annex-B blob in one base64 element.
  const quirky = joinAnnexB([sps, pps]).toString('base64');
  assert.deepEqual(parseSpropParameterSets(quirky), { sps: [sps], pps: [pps] });
  assert.deepEqual(parseSpropParameterSets(` ${sps.toString('base64')} ,, `), { sps: [sps], pps: [] });
  assert.throws(() => parseSpropParameterSets('not base64!'), ParseError);
});

test('avcC build and parse round-trip', () => {
  const sps = hex('6742c01eda02802dd8088000000300800000190780f8b6cb');
  const pps = hex('68ce3c80');
  const rec = buildAvcDecoderConfigurationRecord([sps], [pps]);
  assert.equal(rec.subarray(0, 6).toString('hex'), '0142c01effe1');
  const parsed = parseAvcDecoderConfigurationRecord(rec);
  assert.deepEqual(
    { ...parsed },
    { profileIdc: 66, profileCompatibility: 0xc0, levelIdc: 30, lengthSize: 4, sps: [sps], pps: [pps] },
  );
  const high = hex('67640028acd940780227e5c04400000fa40003a9803c60c658');
  const hrec = parseAvcDecoderConfigurationRecord(buildAvcDecoderConfigurationRecord([high], [pps], 2));
  assert.equal(hrec.lengthSize, 2);
  assert.equal(hrec.chromaFormat, 1);
  assert.equal(hrec.bitDepthLuma, 8);
  assert.deepEqual(hrec.spsExt, []);
  assert.throws(() => parseAvcDecoderConfigurationRecord(rec.subarray(0, rec.length - 1)), ParseError);
  assert.throws(() => parseAvcDecoderConfigurationRecord(hex('02')), ParseError);
});
