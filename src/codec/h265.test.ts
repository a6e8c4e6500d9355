import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { BitWriter } from '../base/bits.js';
import { ParseError } from '../base/errors.js';
import {
  H265NalType,
  buildHevcDecoderConfigurationRecord,
  h265NalType,
  hvccNalus,
  isH265Keyframe,
  parseH265NalHeader,
  parseH265Sps,
  parseHevcDecoderConfigurationRecord,
  splitAnnexB,
} from './h265.js';

const VPS = Buffer.from('40010c01ffff01600000030090000003000003003fba0240', 'hex');
const SPS = Buffer.from(
  '42010101600000030090000003000003003fa00502016965ba924caf016808000003000800000300c840',
  'hex',
);
const PPS = Buffer.from('4401c172b46240', 'hex');
/** The hvcC of /work/shared/media/h265_aac.mp4 (ffmpeg), up to and including its PPS array. */
const HVCC_HEAD = Buffer.from(
  '0101600000009000000000003ff000fcfdf8f800000f04a00001001840010c01ffff01600000030090000003000003003fba0240a10001002a' +
    SPS.toString('hex') +
    'a200010007' +
    PPS.toString('hex'),
  'hex',
);

test('NAL header fields', () => {
  assert.deepEqual(parseH265NalHeader(SPS), { forbiddenZero: 0, type: 33, layerId: 0, temporalIdPlus1: 1 });
  assert.deepEqual(parseH265NalHeader(Buffer.from([0x7f, 0xff])), {
    forbiddenZero: 0,
    type: 63,
    layerId: 63,
    temporalIdPlus1: 7,
  });
  assert.throws(() => parseH265NalHeader(Buffer.from([0x40])), ParseError);
  assert.equal(h265NalType(Buffer.from([0x40])), -1);
});

test('real Annex-B clip: HEVC Main 640x360 level 2.1, IRAP every 25 frames', () => {
  const nalus = splitAnnexB(readFileSync('/work/shared/media/h265.265'));
  const sps = nalus.find((n) => h265NalType(n) === H265NalType.Sps)!;
  assert.deepEqual(sps, SPS);
  const info = parseH265Sps(sps);
  assert.equal(info.profileIdc, 1, 'Main');
  assert.equal(info.tierFlag, 0);
  assert.equal(info.levelIdc, 63);
  assert.equal(info.width, 640);
  assert.equal(info.height, 360);
  assert.equal(info.chromaFormatIdc, 1);
  const frames = nalus.filter((n) => h265NalType(n) < 32);
  assert.equal(frames.length, 250);
  frames.forEach((f, i) => {
    assert.equal(isH265Keyframe([f]), i % 25 === 0, `frame ${i}`);
  });
  assert.equal(nalus.filter((n) => h265NalType(n) === H265NalType.Vps).length, 20);
});

test('SPS with a conformance window and sub-layers (synthetic, 1920x1080)', () => {
  // Handcrafted: vps 0, 2 sub-layers, Main 10 High tier level 5.1, 1920x1088 cropped by 8 rows (4 chroma rows).
  const w = new BitWriter();
  w.writeBits(0, 4);
  w.writeBits(1, 3); // max_sub_layers_minus1
  w.writeBits(1, 1);
  w.writeBits(0, 2);
  w.writeBits(1, 1); // high tier
  w.writeBits(2, 5); // Main 10
  w.writeBits(0x20000000, 32);
  w.writeBits(0, 48);
  w.writeBits(153, 8);
  w.writeBits(1, 1); // sub_layer_profile_present
  w.writeBits(1, 1); // sub_layer_level_present
  for (let i = 1; i < 8; i++) w.writeBits(0, 2);
  w.writeBits(0, 88);
  w.writeBits(120, 8);
  w.writeUE(0); // sps id
  w.writeUE(1); // 4:2:0
  w.writeUE(1920);
  w.writeUE(1088);
  w.writeBits(1, 1);
  w.writeUE(0);
  w.writeUE(0);
  w.writeUE(0);
  w.writeUE(4);
  w.writeUE(2);
  w.writeUE(2);
  w.writeBits(1, 1);
  const nal = Buffer.concat([Buffer.from([0x42, 0x01]), w.finish()]);
  const info = parseH265Sps(nal);
  assert.deepEqual(
    [
      info.profileIdc,
      info.tierFlag,
      info.levelIdc,
      info.maxSubLayers,
      info.width,
      info.height,
      info.bitDepthLuma,
    ],
    [2, 1, 153, 2, 1920, 1080, 10],
  );
});

test('parseH265Sps throws ParseError only (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 60 }), (bytes) => {
      try {
        parseH265Sps(Buffer.concat([Buffer.from([0x42, 0x01]), bytes]));
      } catch (e) {
        assert.ok(e instanceof ParseError, String(e));
      }
    }),
  );
});

test('hvcC: build matches ffmpeg byte for byte; parse round-trips', () => {
  const built = buildHevcDecoderConfigurationRecord([VPS], [SPS], [PPS]);
  // ffmpeg also stores an SEI array: only numOfArrays (byte 22) differs.
  assert.equal(HVCC_HEAD[22], 4);
  assert.equal(built[22], 3);
  assert.equal(built.length, HVCC_HEAD.length);
  assert.ok(built.subarray(0, 22).equals(HVCC_HEAD.subarray(0, 22)));
  assert.ok(built.subarray(23).equals(HVCC_HEAD.subarray(23)));
  const rec = parseHevcDecoderConfigurationRecord(built);
  assert.equal(rec.profileIdc, 1);
  assert.equal(rec.levelIdc, 63);
  assert.equal(rec.lengthSize, 4);
  assert.equal(rec.numTemporalLayers, 1);
  assert.equal(rec.temporalIdNested, true);
  assert.deepEqual(hvccNalus(rec, H265NalType.Vps), [VPS]);
  assert.deepEqual(hvccNalus(rec, H265NalType.Sps), [SPS]);
  assert.deepEqual(hvccNalus(rec, H265NalType.Pps), [PPS]);
  assert.throws(() => parseHevcDecoderConfigurationRecord(built.subarray(0, built.length - 2)), ParseError);
});
