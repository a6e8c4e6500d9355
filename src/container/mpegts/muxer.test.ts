import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32Mpeg2 } from './crc32.js';
import { FIRST_ES_PID, PMT_PID, TIMESTAMP_OFFSET_90K, TS_PACKET_SIZE, TsMuxer } from './muxer.js';

const SPS = Buffer.from('Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I', 'base64');
const PPS = Buffer.from('aMuMsg==', 'base64');
const AAC = { objectType: 2, sampleRate: 48000, channelConfiguration: 2 };

interface Packet {
  pid: number;
  pusi: boolean;
  cc: number;
  hasPayload: boolean;
  af: Buffer | undefined;
  payload: Buffer;
}

function parsePackets(buf: Buffer): Packet[] {
  assert.equal(buf.length % TS_PACKET_SIZE, 0);
  const out: Packet[] = [];
  for (let o = 0; o < buf.length; o += TS_PACKET_SIZE) {
    const p = buf.subarray(o, o + TS_PACKET_SIZE);
    assert.equal(p[0], 0x47);
    const afc = (p[3]! >> 4) & 3;
    let pos = 4;
    let af: Buffer | undefined;
    if (afc & 2) {
      af = p.subarray(5, 5 + p[4]!);
      pos = 5 + p[4]!;
    }
    out.push({
      pid: ((p[1]! & 0x1f) << 8) | p[2]!,
      pusi: (p[1]! & 0x40) !== 0,
      cc: p[3]! & 0x0f,
      hasPayload: (afc & 1) !== 0,
      af,
      payload: p.subarray(pos),
    });
  }
  return out;
}

function readPts(b: Buffer, o: number): number {
  return (
    ((b[o]! >> 1) & 7) * 2 ** 30 +
    ((b[o + 1]! << 7) | (b[o + 2]! >> 1)) * 2 ** 15 +
    ((b[o + 3]! << 7) | (b[o + 4]! >> 1))
  );
}

function frames(mux: TsMuxer, count: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const key = i % 25 === 0;
    const slice = Buffer.alloc(500 + i * 37, i);
    slice[0] = key ? 0x65 : 0x41;
    parts.push(mux.writeAccessUnit(0, { pts: i * 3600, clockRate: 90000, keyframe: key, nalus: [slice] }));
    parts.push(
      mux.writeAccessUnit(1, {
        pts: i * 1920,
        clockRate: 48000,
        keyframe: true,
        payload: Buffer.alloc(100 + i),
      }),
    );
  }
  return Buffer.concat(parts);
}

test('PAT and PMT: one program, PIDs and stream types, valid CRC', () => {
  const mux = new TsMuxer([
    { codec: 'h264', parameterSets: [SPS, PPS] },
    { codec: 'aac', aac: AAC },
  ]);
  const [pat, pmt] = parsePackets(mux.writeTables());
  assert.equal(pat!.pid, 0);
  assert.equal(pmt!.pid, PMT_PID);
  for (const p of [pat!, pmt!]) {
    const sectionLength = ((p.payload[2]! & 0x0f) << 8) | p.payload[3]!;
    const section = p.payload.subarray(1, 1 + 3 + sectionLength);
    assert.equal(crc32Mpeg2(section), 0, 'a section with its CRC has a zero remainder');
  }
  // PMT: PCR PID = the video PID; entries 0x1b on 0x100, 0x0f on 0x101.
  const s = pmt!.payload.subarray(1);
  assert.equal(((s[8]! & 0x1f) << 8) | s[9]!, FIRST_ES_PID);
  assert.deepEqual([s[12], ((s[13]! & 0x1f) << 8) | s[14]!], [0x1b, 0x100]);
  assert.deepEqual([s[17], ((s[18]! & 0x1f) << 8) | s[19]!], [0x0f, 0x101]);
});

test('continuity counters, PES starts, PCR on video keyframes and PTS in 90 kHz with the offset', () => {
  const mux = new TsMuxer([
    { codec: 'h264', parameterSets: [SPS, PPS] },
    { codec: 'aac', aac: AAC },
  ]);
  const packets = parsePackets(frames(mux, 60));
  const ccs = new Map<number, number>();
  const videoPts: number[] = [];
  let pcrs = 0;
  for (const p of packets) {
    const last = ccs.get(p.pid);
    if (last !== undefined && p.hasPayload) assert.equal(p.cc, (last + 1) & 0x0f, `pid ${p.pid} cc`);
    if (p.hasPayload) ccs.set(p.pid, p.cc);
    if (p.pid === FIRST_ES_PID && p.pusi) {
      assert.deepEqual([...p.payload.subarray(0, 4)], [0, 0, 1, 0xe0]);
      videoPts.push(readPts(p.payload, 9));
      assert.ok(p.af !== undefined && (p.af[0]! & 0x10) !== 0, 'PCR on every video PES start');
      pcrs++;
      // Annex-B with an AUD first.
      assert.deepEqual([...p.payload.subarray(14, 20)], [0, 0, 0, 1, 0x09, 0xf0]);
    }
    if (p.pid === FIRST_ES_PID + 1 && p.pusi) {
      assert.deepEqual([...p.payload.subarray(0, 4)], [0, 0, 1, 0xc0]);
      assert.equal(p.payload[14], 0xff, 'ADTS sync');
    }
  }
  assert.equal(pcrs, 60);
  assert.deepEqual(
    videoPts.slice(0, 3),
    [0, 3600, 7200].map((v) => v + TIMESTAMP_OFFSET_90K),
  );
  // PAT/PMT right before each of the 3 keyframes, and at least every 0.5 s (2.4 s here).
  const keyStarts = packets.flatMap((p, i) =>
    p.pid === FIRST_ES_PID && p.pusi && p.af !== undefined && (p.af[0]! & 0x40) !== 0 ? [i] : [],
  );
  assert.equal(keyStarts.length, 3);
  for (const i of keyStarts) assert.deepEqual([packets[i - 2]!.pid, packets[i - 1]!.pid], [0, PMT_PID]);
  assert.ok(packets.filter((p) => p.pid === 0).length >= 5);
});

test('video before the first keyframe is skipped; parameter sets go before keyframes lacking them', () => {
  const mux = new TsMuxer([{ codec: 'h264', parameterSets: [SPS, PPS] }]);
  const p = Buffer.from([0x41, 1, 2, 3]);
  assert.equal(mux.writeAccessUnit(0, { pts: 0, clockRate: 90000, keyframe: false, nalus: [p] }).length, 0);
  assert.equal(mux.stats.skippedBeforeKeyframe, 1);
  const idr = Buffer.from([0x65, 9, 9, 9]);
  const out = mux.writeAccessUnit(0, { pts: 3600, clockRate: 90000, keyframe: true, nalus: [idr] });
  const es = Buffer.concat(
    parsePackets(out)
      .filter((x) => x.pid === FIRST_ES_PID)
      .map((x) => x.payload),
  );
  const annexB = es.subarray(9 + 5);
  const expected = Buffer.concat(
    [Buffer.from([0x09, 0xf0]), SPS, PPS, idr].map((n) => Buffer.concat([Buffer.from([0, 0, 0, 1]), n])),
  );
  assert.deepEqual(annexB, expected);
});

test('a unit of any size fills whole packets (stuffing through the adaptation field)', () => {
  for (const size of [0, 1, 2, 150, 160, 161, 162, 170, 183, 184, 185, 400, 5000]) {
    const mux = new TsMuxer([{ codec: 'aac', aac: AAC }]);
    mux.writeTables();
    const out = mux.writeAccessUnit(0, {
      pts: 0,
      clockRate: 48000,
      keyframe: true,
      payload: Buffer.alloc(size, 0xaa),
    });
    const packets = parsePackets(out).filter((p) => p.pid === FIRST_ES_PID);
    const pes = Buffer.concat(packets.map((p) => p.payload));
    assert.equal(pes.length, 9 + 5 + 7 + size, `size ${size}`);
    assert.equal(pes.readUInt16BE(4), pes.length - 6, 'PES_packet_length');
  }
});

test('Opus: private stream with the registration descriptor and control headers', () => {
  const mux = new TsMuxer([{ codec: 'opus', channels: 2 }]);
  const out = parsePackets(
    mux.writeAccessUnit(0, { pts: 0, clockRate: 48000, keyframe: true, payload: Buffer.alloc(300, 1) }),
  );
  const pmt = out.find((p) => p.pid === PMT_PID)!;
  assert.ok(pmt.payload.includes(Buffer.from('Opus')));
  const pes = Buffer.concat(out.filter((p) => p.pid === FIRST_ES_PID).map((p) => p.payload));
  assert.equal(pes[3], 0xbd);
  assert.deepEqual([...pes.subarray(14, 18)], [0x7f, 0xe0, 0xff, 300 - 255]);
});
