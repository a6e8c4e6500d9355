import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ParseError } from '../../base/errors.js';
import { joinAnnexB } from '../../codec/nal.js';
import type { AccessUnit } from '../../format/access-unit.js';
import { childBoxes, Cursor, findBox, type BoxHeader } from '../mp4/boxes.js';
import { parseStsd } from '../mp4/sample-entry.js';
import { NON_SYNC_SAMPLE_FLAGS, SYNC_SAMPLE_FLAGS, TRUN_SAMPLE_CTO } from './boxes.js';
import { FMP4_CODECS, Fmp4Muxer } from './muxer.js';
import { BROWSER_FMP4_CODECS, fmp4TrackFor } from './track-config.js';

const SPS = Buffer.from('Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I', 'base64'); // 640x360
const PPS = Buffer.from('aMuMsg==', 'base64');
const AUD = Buffer.from([0x09, 0xf0]);
const ASC = Buffer.from('1190', 'hex'); // AAC-LC 48 kHz stereo
const idr = (n: number): Buffer => Buffer.concat([Buffer.from([0x65, 0x88]), Buffer.alloc(n, 0xaa)]);
const slice = (n: number): Buffer => Buffer.concat([Buffer.from([0x41, 0x9a]), Buffer.alloc(n, 0xbb)]);

interface Sample {
  duration: number;
  size: number;
  flags: number;
  cto: number;
  data: Buffer;
}
interface Traf {
  trackId: number;
  base: number;
  samples: Sample[];
}
interface Parsed {
  types: string[];
  moov?: { buf: Buffer; box: BoxHeader };
  fragments: { seq: number; trafs: Traf[] }[];
}

function sub(buf: Buffer, b: BoxHeader, type: string): BoxHeader {
  const f = findBox(childBoxes(buf, b.payload, b.end), type);
  assert.ok(f, `no ${type} in ${b.type}`);
  return f;
}

/** Reads back init segment and fragments, checking that the boxes tile the output exactly. */
function parse(buf: Buffer): Parsed {
  const top = childBoxes(buf, 0, buf.length);
  assert.equal(top.at(-1)?.end, buf.length);
  const out: Parsed = { types: top.map((b) => b.type), fragments: [] };
  const moov = findBox(top, 'moov');
  if (moov) out.moov = { buf, box: moov };
  top.forEach((moof, i) => {
    if (moof.type !== 'moof') return;
    const mdat = top[i + 1];
    assert.equal(mdat?.type, 'mdat');
    const kids = childBoxes(buf, moof.payload, moof.end);
    const trafs = kids
      .filter((k) => k.type === 'traf')
      .map((traf) => {
        const tfhd = sub(buf, traf, 'tfhd');
        const tfdt = sub(buf, traf, 'tfdt');
        const c = Cursor.ofBox(buf, sub(buf, traf, 'trun'));
        c.u8();
        const flags = c.u24();
        const count = c.u32();
        let at = moof.start + c.u32();
        const samples: Sample[] = [];
        for (let k = 0; k < count; k++) {
          const duration = c.u32();
          const size = c.u32();
          const f = c.u32();
          const cto = flags & TRUN_SAMPLE_CTO ? buf.readInt32BE((c.pos += 4) - 4) : 0;
          assert.ok(at + size <= mdat.end, 'sample inside mdat');
          samples.push({ duration, size, flags: f, cto, data: buf.subarray(at, at + size) });
          at += size;
        }
        return {
          trackId: buf.readUInt32BE(tfhd.payload + 4),
          base: Number(buf.readBigUInt64BE(tfdt.payload + 4)),
          samples,
        };
      });
    out.fragments.push({ seq: buf.readUInt32BE(kids[0]!.payload + 4), trafs });
  });
  return out;
}

function run(mux: Fmp4Muxer, units: [number, AccessUnit][]): Buffer {
  const parts: Buffer[] = [];
  for (const [i, au] of units) {
    const b = mux.push(i, au);
    if (b) parts.push(b);
  }
  const last = mux.flush();
  if (last) parts.push(last);
  return Buffer.concat(parts);
}

/** 25 fps video (keyframe every `gop` frames) and 48 kHz AAC (1024-sample frames), interleaved by time. */
function avStream(seconds: number, gop: number, firstVideoKey = true): [number, AccessUnit][] {
  const units: [number, number, AccessUnit][] = [];
  for (let f = 0; f < seconds * 25; f++) {
    const key = f % gop === 0 && (firstVideoKey || f > 0);
    units.push([
      f / 25,
      0,
      {
        pts: 1000 + f * 3600,
        clockRate: 90000,
        keyframe: key,
        nalus: key ? [AUD, SPS, PPS, idr(50)] : [AUD, slice(20)],
      },
    ]);
  }
  for (let a = 0; a < (seconds * 48000) / 1024; a++)
    units.push([
      (a * 1024) / 48000,
      1,
      { pts: 500 + a * 1024, clockRate: 48000, keyframe: true, payload: Buffer.alloc(7, a & 0xff) },
    ]);
  units.sort((x, y) => x[0] - y[0]);
  return units.map(([, i, au]) => [i, au]);
}

const avTracks = () =>
  new Fmp4Muxer([
    { codec: 'h264', timescale: 90000, parameterSets: [SPS, PPS] },
    { codec: 'aac', timescale: 48000, audioSpecificConfig: ASC },
  ]);

test('a fragment per keyframe, each starting with a sync sample; tfdt continues the previous fragment', () => {
  const mux = avTracks();
  const p = parse(run(mux, avStream(4, 25)));
  assert.deepEqual(p.types.slice(0, 2), ['ftyp', 'moov']);
  assert.equal(p.fragments.length, 4);
  assert.deepEqual(
    p.fragments.map((f) => f.seq),
    [1, 2, 3, 4],
  );
  const next = new Map<number, number>();
  let video = 0;
  let audio = 0;
  for (const f of p.fragments) {
    for (const t of f.trafs) {
      const expected = next.get(t.trackId);
      if (expected !== undefined) assert.equal(t.base, expected, `tfdt of track ${t.trackId} continues`);
      next.set(t.trackId, t.base + t.samples.reduce((n, s) => n + s.duration, 0));
      if (t.trackId === 1) {
        video += t.samples.length;
        assert.equal(t.samples.length, 25);
        assert.deepEqual(
          t.samples.map((s) => s.flags),
          [SYNC_SAMPLE_FLAGS, ...Array<number>(24).fill(NON_SYNC_SAMPLE_FLAGS)],
        );
        assert.ok(t.samples.every((s) => s.duration === 3600 && s.cto === 0));
      } else {
        audio += t.samples.length;
        assert.ok(t.samples.every((s) => s.duration === 1024 && s.flags === SYNC_SAMPLE_FLAGS));
      }
    }
  }
  assert.equal(video, 100);
  assert.equal(audio, mux.stats.samples - 100);
  // Audio before the first picture is dropped (its pts 500 < 1000 came first).
  assert.equal(p.fragments[0]!.trafs[0]!.base, 1000);
  assert.equal(mux.stats.samples + mux.stats.skippedBeforeKeyframe, 100 + 188); // 188 audio frames in 4 s
});

test('Annex-B → 4-byte lengths; AUD and in-band copies of the sample entry parameter sets dropped', () => {
  const mux = new Fmp4Muxer([{ codec: 'h264', timescale: 90000 }]); // no SDP parameter sets
  const pps2 = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
  const out = run(mux, [
    [0, { pts: 0, clockRate: 90000, keyframe: true, payload: joinAnnexB([AUD, SPS, PPS, idr(4)]) }],
    [
      0,
      {
        pts: 3000,
        clockRate: 90000,
        keyframe: false,
        payload: Buffer.concat([Buffer.from([0, 0, 1]), slice(3)]),
      },
    ],
    [0, { pts: 6000, clockRate: 90000, keyframe: true, nalus: [SPS, pps2, idr(2)] }],
  ]);
  const p = parse(out);
  const d = parseStsd(
    p.moov!.buf,
    sub(
      p.moov!.buf,
      sub(
        p.moov!.buf,
        sub(p.moov!.buf, sub(p.moov!.buf, sub(p.moov!.buf, p.moov!.box, 'trak'), 'mdia'), 'minf'),
        'stbl',
      ),
      'stsd',
    ),
    'video',
  );
  assert.deepEqual(d.parameterSets, { vps: [], sps: [SPS], pps: [PPS] }, 'taken from the first keyframe');
  assert.deepEqual([d.width, d.height], [640, 360]);
  const samples = p.fragments.flatMap((f) => f.trafs[0]!.samples);
  assert.deepEqual(samples[0]!.data, Buffer.concat([Buffer.from([0, 0, 0, 6]), idr(4)]));
  assert.deepEqual(samples[1]!.data, Buffer.concat([Buffer.from([0, 0, 0, 5]), slice(3)]));
  // A changed PPS stays in band so that the decoder follows it.
  assert.deepEqual(
    samples[2]!.data,
    Buffer.concat([Buffer.from([0, 0, 0, 4]), pps2, Buffer.from([0, 0, 0, 4]), idr(2)]),
  );
  assert.deepEqual(
    samples.map((s) => s.duration),
    [3000, 3000, 3000],
    'the last sample takes the previous duration at flush',
  );
});

test('video before the first keyframe is skipped; audio-only fragments are cut every ~1 s', () => {
  const mux = avTracks();
  const p = parse(run(mux, avStream(2, 25, false)));
  const first = p.fragments[0]!.trafs.find((t) => t.trackId === 1)!;
  assert.equal(first.base, 1000 + 25 * 3600, 'starts at the keyframe of frame 25');
  assert.equal(first.samples[0]!.flags, SYNC_SAMPLE_FLAGS);

  const audioOnly = new Fmp4Muxer([{ codec: 'aac', timescale: 48000, audioSpecificConfig: ASC }]);
  const units: [number, AccessUnit][] = [];
  for (let a = 0; a < 200; a++)
    units.push([0, { pts: a * 1024, clockRate: 48000, keyframe: true, payload: Buffer.alloc(3) }]);
  const q = parse(run(audioOnly, units));
  const counts = q.fragments.map((f) => f.trafs[0]!.samples.length);
  assert.deepEqual(counts.slice(0, 4), [47, 47, 47, 47]);
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    200,
  );
});

test('no dts and pictures out of order: decode time still increases, offsets negative (trun v1)', () => {
  const mux = new Fmp4Muxer([{ codec: 'h264', timescale: 90000, parameterSets: [SPS, PPS] }]);
  const order = [0, 3, 1, 2, 6, 4, 5];
  const p = parse(
    run(
      mux,
      order.map((n, i) => [
        0,
        { pts: 90000 + n * 3600, clockRate: 90000, keyframe: i === 0, nalus: [i === 0 ? idr(1) : slice(1)] },
      ]),
    ),
  );
  const samples = p.fragments.flatMap((f) => f.trafs[0]!.samples);
  assert.equal(samples.length, order.length);
  assert.ok(samples.every((s) => s.duration >= 1));
  let dts = p.fragments[0]!.trafs[0]!.base;
  samples.forEach((s, i) => {
    assert.equal(dts + s.cto, 90000 + order[i]! * 3600, `sample ${i} keeps its pts`);
    dts += s.duration;
  });
  assert.ok(samples.some((s) => s.cto < 0));
});

test('a video track without parameter sets: waits, then FMP4_NO_PARAMETER_SETS after 10 s', () => {
  const mux = new Fmp4Muxer([
    { codec: 'h264', timescale: 90000, parameterSets: [SPS, PPS] },
    { codec: 'h265', timescale: 90000 },
  ]);
  assert.equal(mux.canInit, false);
  assert.throws(
    () => {
      for (let f = 0; f < 25 * 11; f++)
        mux.push(0, {
          pts: f * 3600,
          clockRate: 90000,
          keyframe: f % 25 === 0,
          nalus: [f % 25 === 0 ? idr(1) : slice(1)],
        });
    },
    (e: unknown) => e instanceof ParseError && e.code === 'FMP4_NO_PARAMETER_SETS',
  );
});

test('timestamps stepping back by 0x60000000, jumping forward and wrapping: every field in range (issue 13)', () => {
  const mux = avTracks();
  const units: [number, AccessUnit][] = [];
  // Video: two steps back by 0x60000000 (pts − dts past -2^31 if decode times were only forced up),
  // a jump of a day forward, and a step back by 2^32 (a 32-bit wraparound unwrapped the wrong way).
  const videoJumps = new Map([
    [10, -0x60000000],
    [11, -0x60000000],
    [30, 86400 * 90000],
    [40, -(2 ** 32)],
  ]);
  let vpts = 1000;
  let apts = 500;
  for (let f = 0; f < 60; f++) {
    vpts += videoJumps.get(f) ?? 0;
    const key = f % 25 === 0;
    units.push([0, { pts: vpts, clockRate: 90000, keyframe: key, nalus: [key ? idr(10) : slice(10)] }]);
    vpts += 3600;
    if (f === 20) apts -= 0x60000000;
    units.push([1, { pts: apts, clockRate: 48000, keyframe: true, payload: Buffer.alloc(5, f) }]);
    apts += 1920;
  }
  const p = parse(run(mux, units));
  const video = p.fragments.flatMap((f) => f.trafs.filter((t) => t.trackId === 1).flatMap((t) => t.samples));
  const audio = p.fragments.flatMap((f) => f.trafs.filter((t) => t.trackId === 2).flatMap((t) => t.samples));
  assert.equal(video.length, 60);
  assert.ok(
    video.every((s) => s.duration === 3600 && s.cto === 0),
    'the picture rhythm is kept',
  );
  assert.ok(audio.every((s) => s.duration === 1920 && s.cto === 0));
  assert.equal(mux.stats.discontinuities, 5);
  assert.equal(mux.stats.droppedForTime, 0);
});

test('an SDP clock rate no mdhd timescale can hold gives no fMP4 track (the muxer would refuse it)', () => {
  for (const clockRate of [0, -90000, 1.5, 2 ** 32, Number.NaN])
    assert.equal(fmp4TrackFor({ encodingName: 'H264', clockRate, fmtp: {} }), undefined, String(clockRate));
  assert.equal(fmp4TrackFor({ encodingName: 'H264', clockRate: 90000, fmtp: {} })?.timescale, 90000);
});

test('timestamps one tick apart: fragments are cut at maxFragmentBytes, not held until their span is up', () => {
  const mux = new Fmp4Muxer([{ codec: 'h264', timescale: 90000, parameterSets: [SPS, PPS] }], {
    maxFragmentBytes: 10_000,
  });
  const units: [number, AccessUnit][] = [];
  for (let f = 0; f < 200; f++)
    units.push([
      0,
      { pts: f, clockRate: 90000, keyframe: f === 0, nalus: [f === 0 ? idr(1000) : slice(1000)] },
    ]);
  const p = parse(run(mux, units));
  assert.ok(p.fragments.length >= 19, `${p.fragments.length} fragments`);
  for (const f of p.fragments) {
    const bytes = f.trafs[0]!.samples.reduce((n, s) => n + s.size, 0);
    assert.ok(bytes < 10_000 + 1010, `${bytes} bytes in a fragment`);
  }
});

test('Motion JPEG as mp4v (objectTypeIndication 0x6C) and G.711 as alaw/ulaw: entries read back, every unit a sync sample, fragments by time', () => {
  const jpeg = readFileSync(new URL('../../format/fixtures/testsrc-320x184-420.jpg', import.meta.url));
  const mux = new Fmp4Muxer(
    [
      fmp4TrackFor({ encodingName: 'JPEG', clockRate: 90000, fmtp: {} })!,
      fmp4TrackFor({ encodingName: 'PCMA', clockRate: 8000, fmtp: {} })!,
      fmp4TrackFor({ encodingName: 'PCMU', clockRate: 8000, fmtp: {} })!,
    ],
    { maxFragmentSeconds: 0.5 },
  );
  const units: [number, number, AccessUnit][] = [];
  for (let f = 0; f < 50; f++)
    units.push([f / 25, 0, { pts: f * 3600, clockRate: 90000, keyframe: true, payload: jpeg }]);
  for (let a = 0; a < 100; a++)
    for (const track of [1, 2])
      units.push([
        a / 50,
        track,
        { pts: a * 160, clockRate: 8000, keyframe: true, payload: Buffer.alloc(160, a) },
      ]);
  units.sort((x, y) => x[0] - y[0]);
  const p = parse(
    run(
      mux,
      units.map(([, i, au]) => [i, au]),
    ),
  );

  const { buf, box } = p.moov!;
  const entries = childBoxes(buf, box.payload, box.end)
    .filter((t) => t.type === 'trak')
    .map((trak, i) => {
      const stbl = sub(buf, sub(buf, sub(buf, trak, 'mdia'), 'minf'), 'stbl');
      return parseStsd(buf, sub(buf, stbl, 'stsd'), i === 0 ? 'video' : 'audio');
    });
  assert.deepEqual(
    entries.map((e) => [e.fourcc, e.codec]),
    [
      ['mp4v', 'mjpeg'],
      ['alaw', 'pcma'],
      ['ulaw', 'pcmu'],
    ],
  );
  assert.equal(entries[0]!.esds?.objectTypeIndication, 0x6c);
  assert.deepEqual([entries[0]!.width, entries[0]!.height], [320, 184], 'the size of the first JPEG');
  assert.deepEqual([entries[1]!.channels, entries[1]!.sampleRate], [1, 8000]);

  // Every picture is a sync sample, yet fragments are cut by time (0.5 s), not at each picture.
  const pictures = p.fragments.map((f) => f.trafs.find((t) => t.trackId === 1)?.samples ?? []);
  assert.ok(pictures.length >= 3 && pictures.length <= 5, `${pictures.length} fragments for 2 s`);
  assert.equal(pictures.flat().length, 50);
  assert.ok(pictures.flat().every((s) => s.flags === SYNC_SAMPLE_FLAGS && s.data.equals(jpeg)));
  const alaw = p.fragments.flatMap((f) => f.trafs.find((t) => t.trackId === 2)?.samples ?? []);
  assert.equal(alaw.length, 100);
  assert.ok(alaw.every((s) => s.duration === 160 && s.size === 160));
});

test('the HLS muxer keeps to what browsers play: BROWSER_FMP4_CODECS lacks MJPEG and G.711', () => {
  assert.deepEqual([...BROWSER_FMP4_CODECS].sort(), ['aac', 'h264', 'h265', 'opus']);
  assert.deepEqual(
    FMP4_CODECS.filter((c) => !BROWSER_FMP4_CODECS.has(c)),
    ['mjpeg', 'pcma', 'pcmu'],
  );
});
