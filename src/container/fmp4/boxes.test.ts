import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAvcDecoderConfigurationRecord } from '../../codec/h264.js';
import { buildHevcDecoderConfigurationRecord } from '../../codec/h265.js';
import { childBoxes, Cursor, findBox, type BoxHeader } from '../mp4/boxes.js';
import { parseStsd } from '../mp4/sample-entry.js';
import {
  avc1Entry,
  fragment,
  hvc1Entry,
  initSegment,
  mp4aEntry,
  NON_SYNC_SAMPLE_FLAGS,
  opusEntry,
  SYNC_SAMPLE_FLAGS,
  TFHD_DEFAULT_BASE_IS_MOOF,
  TRUN_SAMPLE_CTO,
} from './boxes.js';

const SPS = Buffer.from('Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I', 'base64'); // 640x360
const PPS = Buffer.from('aMuMsg==', 'base64');
const VPS = Buffer.from('40010c01ffff01600000030090000003000003003fba0240', 'hex');
const SPS265 = Buffer.from(
  '42010101600000030090000003000003003fa00502016965ba924caf016808000003000800000300c840',
  'hex',
);
const PPS265 = Buffer.from('4401c172b46240', 'hex');
const ASC = Buffer.from('1190', 'hex'); // AAC-LC 48 kHz stereo

function child(buf: Buffer, parent: BoxHeader, ...path: string[]): BoxHeader {
  let b = parent;
  for (const type of path) {
    const found = findBox(childBoxes(buf, b.payload, b.end), type);
    assert.ok(found, `no ${type} in ${b.type}`);
    b = found;
  }
  return b;
}

test('init segment: ftyp iso5, moov with one trak per track, empty tables, mvex/trex', () => {
  const buf = initSegment([
    {
      trackId: 1,
      handler: 'vide',
      timescale: 90000,
      width: 640,
      height: 360,
      sampleEntry: avc1Entry(640, 360, buildAvcDecoderConfigurationRecord([SPS], [PPS])),
    },
    { trackId: 2, handler: 'soun', timescale: 48000, sampleEntry: mp4aEntry(2, 48000, ASC) },
  ]);
  const top = childBoxes(buf, 0, buf.length);
  assert.deepEqual(
    top.map((b) => b.type),
    ['ftyp', 'moov'],
  );
  assert.equal(buf.toString('latin1', top[0]!.payload, top[0]!.payload + 4), 'iso5');
  const moov = top[1]!;
  assert.deepEqual(
    childBoxes(buf, moov.payload, moov.end).map((b) => b.type),
    ['mvhd', 'trak', 'trak', 'mvex'],
  );
  const trex = childBoxes(buf, child(buf, moov, 'mvex').payload, moov.end).filter((b) => b.type === 'trex');
  assert.deepEqual(
    trex.map((b) => [buf.readUInt32BE(b.payload + 4), buf.readUInt32BE(b.payload + 8)]),
    [
      [1, 1],
      [2, 1],
    ],
  );
  const [vtrak, atrak] = childBoxes(buf, moov.payload, moov.end).filter((b) => b.type === 'trak');
  const mdhd = child(buf, vtrak!, 'mdia', 'mdhd');
  assert.equal(buf.readUInt32BE(mdhd.payload + 12), 90000, 'timescale = RTP clock rate');
  const stbl = child(buf, vtrak!, 'mdia', 'minf', 'stbl');
  for (const t of ['stts', 'stsc', 'stco'])
    assert.equal(buf.readUInt32BE(child(buf, stbl, t).payload + 4), 0);
  const v = parseStsd(buf, child(buf, stbl, 'stsd'), 'video');
  assert.equal(v.fourcc, 'avc1');
  assert.deepEqual([v.width, v.height, v.nalLengthSize], [640, 360, 4]);
  assert.deepEqual(v.parameterSets, { vps: [], sps: [SPS], pps: [PPS] });
  const a = parseStsd(buf, child(buf, atrak!, 'mdia', 'minf', 'stbl', 'stsd'), 'audio');
  assert.deepEqual([a.fourcc, a.codec, a.channels, a.sampleRate], ['mp4a', 'aac', 2, 48000]);
  assert.deepEqual(a.codecConfig, ASC);
  assert.equal(a.esds?.objectTypeIndication, 0x40);
});

test('hvc1 and Opus sample entries read back', () => {
  const hvcC = buildHevcDecoderConfigurationRecord([VPS], [SPS265], [PPS265]);
  const buf = initSegment([
    { trackId: 1, handler: 'vide', timescale: 90000, sampleEntry: hvc1Entry(640, 360, hvcC) },
    { trackId: 2, handler: 'soun', timescale: 48000, sampleEntry: opusEntry(1) },
  ]);
  const moov = childBoxes(buf, 0, buf.length)[1]!;
  const [vt, at] = childBoxes(buf, moov.payload, moov.end).filter((b) => b.type === 'trak');
  const v = parseStsd(buf, child(buf, vt!, 'mdia', 'minf', 'stbl', 'stsd'), 'video');
  assert.deepEqual([v.fourcc, v.codec, v.width, v.height], ['hvc1', 'h265', 640, 360]);
  assert.deepEqual(v.parameterSets, { vps: [VPS], sps: [SPS265], pps: [PPS265] });
  const a = parseStsd(buf, child(buf, at!, 'mdia', 'minf', 'stbl', 'stsd'), 'audio');
  assert.deepEqual([a.fourcc, a.codec, a.channels, a.sampleRate], ['Opus', 'opus', 1, 48000]);
  assert.equal(a.opus?.inputSampleRate, 48000);
});

test('fragment: mfhd sequence, tfhd default-base-is-moof, tfdt, trun entries and data offsets', () => {
  const s = (n: number, fill: number, keyframe: boolean, cto = 0) => ({
    durationTicks: 3000,
    data: Buffer.alloc(n, fill),
    keyframe,
    compositionOffset: cto,
  });
  const buf = fragment(7, [
    { trackId: 1, baseMediaDecodeTime: 2 ** 33 + 5, samples: [s(10, 1, true), s(20, 2, false, -3000)] },
    { trackId: 2, baseMediaDecodeTime: 0, samples: [] },
    { trackId: 3, baseMediaDecodeTime: 480, samples: [s(5, 3, true)] },
  ]);
  const [moof, mdat] = childBoxes(buf, 0, buf.length);
  assert.equal(moof!.type, 'moof');
  assert.equal(mdat!.type, 'mdat');
  assert.equal(mdat!.end, buf.length);
  assert.equal(mdat!.end - mdat!.payload, 35);
  const kids = childBoxes(buf, moof!.payload, moof!.end);
  assert.deepEqual(
    kids.map((b) => b.type),
    ['mfhd', 'traf', 'traf'],
    'no traf for a track without samples',
  );
  assert.equal(buf.readUInt32BE(kids[0]!.payload + 4), 7);
  const runs = kids.slice(1).map((traf) => {
    const tfhd = child(buf, traf, 'tfhd');
    assert.equal(buf.readUInt32BE(tfhd.payload) & 0xffffff, TFHD_DEFAULT_BASE_IS_MOOF);
    const tfdt = child(buf, traf, 'tfdt');
    assert.equal(buf[tfdt.payload], 1, 'tfdt version 1 (64-bit)');
    const trun = Cursor.ofBox(buf, child(buf, traf, 'trun'));
    const version = trun.u8();
    const flags = trun.u24();
    const count = trun.u32();
    const offset = trun.u32();
    const entries: number[][] = [];
    for (let i = 0; i < count; i++) {
      const e = [trun.u32(), trun.u32(), trun.u32()];
      if (flags & TRUN_SAMPLE_CTO) e.push(buf.readInt32BE((trun.pos += 4) - 4));
      entries.push(e);
    }
    assert.equal(trun.remaining, 0);
    return {
      trackId: buf.readUInt32BE(tfhd.payload + 4),
      base: Number(buf.readBigUInt64BE(tfdt.payload + 4)),
      version,
      offset,
      entries,
    };
  });
  assert.deepEqual(runs[0], {
    trackId: 1,
    base: 2 ** 33 + 5,
    version: 1, // negative composition offset
    offset: mdat!.payload - moof!.start,
    entries: [
      [3000, 10, SYNC_SAMPLE_FLAGS, 0],
      [3000, 20, NON_SYNC_SAMPLE_FLAGS, -3000],
    ],
  });
  assert.deepEqual(runs[1], {
    trackId: 3,
    base: 480,
    version: 0,
    offset: mdat!.payload - moof!.start + 30,
    entries: [[3000, 5, SYNC_SAMPLE_FLAGS]],
  });
  assert.deepEqual(buf.subarray(runs[1].offset, runs[1].offset + 5), Buffer.alloc(5, 3));
  assert.deepEqual(buf.subarray(runs[0].offset + 10, runs[0].offset + 30), Buffer.alloc(20, 2));
});
