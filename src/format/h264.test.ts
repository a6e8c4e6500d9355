import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { H264NalType, splitAnnexB } from '../codec/h264.js';
import type { AccessUnit, RtpPacketIn, RtpPayloadOut } from './access-unit.js';
import { H264Depacketizer, H264Packetizer, h264Fmtp, parseH264Fmtp } from './h264.js';

const SPS = Buffer.from('6742c01eda02802dd8088000000300800000190780f8b6cb', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');

/** Numbers payloads as RTP packets; the timestamp is the payload's pts mod 2^32. */
function toPackets(out: readonly RtpPayloadOut[], seq0 = 65000): RtpPacketIn[] {
  return out.map((o, i) => ({
    payload: o.payload,
    marker: o.marker,
    sequenceNumber: (seq0 + i) & 0xffff,
    timestamp: o.pts % 2 ** 32,
  }));
}

function pushAll(d: H264Depacketizer, pkts: readonly RtpPacketIn[]): AccessUnit[] {
  return [...pkts.flatMap((p) => d.push(p)), ...d.flush()];
}

const nal = (type: number, size: number, fill = 0x11): Buffer => {
  const b = Buffer.alloc(size, fill);
  b[0] = 0x60 | type;
  return b;
};

const auArb = fc.array(
  fc.tuple(
    fc.constantFrom(1, 5, 6, 9),
    fc.oneof(fc.integer({ min: 2, max: 60 }), fc.integer({ min: 61, max: 5000 })),
  ),
  { minLength: 1, maxLength: 8 },
);

test('packetize/depacketize round-trip, MTU and marker (property)', () => {
  fc.assert(
    fc.property(
      fc.array(auArb, { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 100, max: 1500 }),
      fc.integer({ min: 0, max: 2 ** 32 + 5000 }),
      (aus, max, pts0) => {
        const p = new H264Packetizer({ maxPayloadBytes: max });
        const input: AccessUnit[] = aus.map((spec, i) => {
          const nalus = spec.map(([t, size], j) => nal(t, size, (i * 31 + j) & 0xff || 1));
          return {
            pts: pts0 + i * 3000,
            clockRate: 90000,
            keyframe: nalus.some((n) => (n[0]! & 0x1f) === 5),
            nalus,
          };
        });
        const out: RtpPayloadOut[] = [];
        for (const au of input) {
          const pk = p.packetize(au);
          assert.ok(pk.length > 0);
          pk.forEach((o, i) => {
            assert.ok(o.payload.length <= max, `payload ${o.payload.length} > ${max}`);
            assert.equal(o.marker, i === pk.length - 1);
            assert.equal(o.pts, au.pts);
          });
          out.push(...pk);
        }
        const d = new H264Depacketizer();
        const got = pushAll(d, toPackets(out));
        assert.deepEqual(
          got.map((a) => ({ ...a, nalus: a.nalus!.map((n) => n.toString('hex')) })),
          input.map((a) => ({ ...a, pts: a.pts % 2 ** 32, nalus: a.nalus!.map((n) => n.toString('hex')) })),
        );
        assert.equal(d.stats.droppedAccessUnits, 0);
      },
    ),
  );
});

test('small NAL units aggregate into one STAP-A; large ones fragment with FU-A', () => {
  const p = new H264Packetizer({ maxPayloadBytes: 1000 });
  const out = p.packetize({ pts: 0, clockRate: 90000, keyframe: true, nalus: [SPS, PPS, nal(5, 2500)] });
  assert.equal(out.length, 4);
  assert.equal(out[0]!.payload[0]! & 0x1f, H264NalType.StapA);
  assert.equal(out[0]!.payload[0]! & 0x60, 0x60, 'NRI is the maximum');
  for (const o of out.slice(1)) assert.equal(o.payload[0]! & 0x1f, H264NalType.FuA);
  assert.deepEqual(
    out.slice(1).map((o) => o.payload[1]! & 0xc0),
    [0x80, 0x00, 0x40],
  );
  // Even fragment sizes: 2499 bytes of NAL payload in 3 pieces.
  assert.deepEqual(
    out.slice(1).map((o) => o.payload.length - 2),
    [833, 833, 833],
  );
});

test('SPS/PPS are inserted before an IDR that lacks them, not before other pictures', () => {
  const p = new H264Packetizer({ parameterSets: [SPS, PPS] });
  const aud = Buffer.from([0x09, 0xf0]);
  const idr = nal(5, 3000);
  const d = new H264Depacketizer();
  const aus = pushAll(
    d,
    toPackets(p.packetize({ pts: 0, clockRate: 90000, keyframe: true, nalus: [aud, idr] })),
  );
  assert.deepEqual(aus[0]!.nalus, [aud, SPS, PPS, idr]);
  assert.equal(aus[0]!.keyframe, true);
  const nonIdr = p.packetize({ pts: 3000, clockRate: 90000, keyframe: false, nalus: [nal(1, 50)] });
  assert.equal(nonIdr.length, 1);
  assert.equal(nonIdr[0]!.payload[0]! & 0x1f, 1);
  // Parameter sets learned in band replace the configured ones.
  const sps2 = Buffer.concat([SPS, Buffer.from([0x01])]);
  p.packetize({ pts: 6000, clockRate: 90000, keyframe: true, nalus: [sps2, PPS, idr] });
  assert.deepEqual(p.sps, sps2);
  assert.equal(d.sps?.toString('hex'), SPS.toString('hex'));
  assert.equal(d.pps?.toString('hex'), PPS.toString('hex'));
});

function fuPackets(n: Buffer, parts: number, bits: (i: number) => number): Buffer[] {
  const body = n.subarray(1);
  const size = Math.ceil(body.length / parts);
  const out: Buffer[] = [];
  for (let i = 0; i < parts; i++)
    out.push(
      Buffer.concat([
        Buffer.from([(n[0]! & 0xe0) | 28, bits(i) | (n[0]! & 0x1f)]),
        body.subarray(i * size, (i + 1) * size),
      ]),
    );
  return out;
}

test('camera quirks: no marker bit (AU ends on timestamp change), wrong FU start/end bits', () => {
  const idr = nal(5, 3000, 0x22);
  const p1 = nal(1, 2000, 0x33);
  const pkts: RtpPacketIn[] = [];
  let seq = 10;
  // AU 1: FU-A with no end bit on the last fragment, no marker anywhere.
  for (const pl of fuPackets(idr, 3, (i) => (i === 0 ? 0x80 : 0)))
    pkts.push({ payload: pl, marker: false, sequenceNumber: seq++, timestamp: 1000 });
  // AU 2: FU-A with no start bit, correct end bit, no marker.
  for (const pl of fuPackets(p1, 2, (i) => (i === 1 ? 0x40 : 0)))
    pkts.push({ payload: pl, marker: false, sequenceNumber: seq++, timestamp: 4600 });
  // AU 3: a single NAL, then stream ends.
  pkts.push({ payload: nal(1, 10), marker: false, sequenceNumber: seq, timestamp: 8200 });
  const d = new H264Depacketizer();
  const out: AccessUnit[] = [];
  for (const pk of pkts) out.push(...d.push(pk));
  assert.equal(out.length, 2, 'two AUs complete on timestamp change');
  out.push(...d.flush());
  assert.deepEqual(
    out.map((a) => [a.pts, a.keyframe, a.nalus!.map((n) => n.length)]),
    [
      [1000, true, [3000]],
      [4600, false, [2000]],
      [8200, false, [10]],
    ],
  );
  assert.deepEqual(out[0]!.nalus![0], idr);
  assert.deepEqual(out[1]!.nalus![0], p1);
});

test('loss drops the broken access units and counts them', () => {
  const p = new H264Packetizer({ maxPayloadBytes: 500 });
  const aus = [0, 1, 2, 3].map((i) => ({
    pts: i * 3000,
    clockRate: 90000,
    keyframe: i === 0,
    nalus: [nal(i === 0 ? 5 : 1, 1200, i + 1)],
  }));
  const pkts = toPackets(
    aus.flatMap((a) => p.packetize(a)),
    0,
  );
  assert.equal(pkts.length, 12);
  // Lose the middle fragment of AU 1.
  const d = new H264Depacketizer();
  const got = pushAll(
    d,
    pkts.filter((_, i) => i !== 4),
  );
  assert.deepEqual(
    got.map((a) => a.pts),
    [0, 6000, 9000],
  );
  assert.equal(d.stats.lostPackets, 1);
  assert.equal(d.stats.droppedAccessUnits, 1);
  // Lose the first fragment of AU 2 (right after AU 1's marker): AU 2 is dropped, not misassembled.
  const d2 = new H264Depacketizer();
  const got2 = pushAll(
    d2,
    pkts.filter((_, i) => i !== 6),
  );
  assert.deepEqual(
    got2.map((a) => a.pts),
    [0, 3000, 9000],
  );
  // Duplicates and late packets are dropped.
  const d3 = new H264Depacketizer();
  const got3 = pushAll(d3, [pkts[0]!, pkts[0]!, pkts[1]!, pkts[2]!, pkts[1]!]);
  assert.equal(got3.length, 1);
  assert.equal(d3.stats.latePackets, 2);
});

test('STAP-B, MTAP and FU-B are counted as unsupported; reserved types are ignored', () => {
  const d = new H264Depacketizer();
  const out = [
    ...d.push({
      payload: Buffer.from([0x19, 0, 0, 0, 2, 0x61, 0]),
      marker: true,
      sequenceNumber: 1,
      timestamp: 0,
    }),
    ...d.push({
      payload: Buffer.from([0x1d, 0x81, 0, 0, 1]),
      marker: true,
      sequenceNumber: 2,
      timestamp: 10,
    }),
    ...d.push({ payload: Buffer.from([0x1e, 1]), marker: false, sequenceNumber: 3, timestamp: 20 }),
    ...d.push({ payload: Buffer.from([0x61, 1]), marker: true, sequenceNumber: 4, timestamp: 20 }),
  ];
  assert.equal(d.stats.unsupportedPackets, 3);
  assert.equal(d.stats.droppedAccessUnits, 2);
  assert.deepEqual(
    out.map((a) => a.pts),
    [20],
  );
});

test('depacketizer never throws on random packets and bounds memory (property)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          payload: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
          marker: fc.boolean(),
          sequenceNumber: fc.integer({ min: 0, max: 65535 }),
          timestamp: fc.constantFrom(0, 3000, 6000, 2 ** 32 - 1),
        }),
        { maxLength: 50 },
      ),
      (pkts) => {
        const d = new H264Depacketizer({ maxAccessUnitBytes: 2000 });
        for (const pk of pkts)
          for (const au of d.push(pk)) assert.ok(au.nalus!.reduce((s, n) => s + n.length, 0) <= 2000);
        d.flush();
      },
    ),
  );
});

test('oversized access units are dropped', () => {
  const d = new H264Depacketizer({ maxAccessUnitBytes: 5000 });
  const p = new H264Packetizer();
  const pk = toPackets(
    p.packetize({ pts: 0, clockRate: 90000, keyframe: false, nalus: [nal(1, 4000), nal(1, 4000)] }),
  );
  assert.deepEqual(pushAll(d, pk), []);
  assert.equal(d.stats.oversizedAccessUnits, 1);
});

test('fmtp generation and lenient parsing', () => {
  const fmtp = h264Fmtp(SPS, PPS);
  assert.deepEqual(fmtp, {
    'packetization-mode': '1',
    'profile-level-id': '42c01e',
    'sprop-parameter-sets': `${SPS.toString('base64')},${PPS.toString('base64')}`,
  });
  assert.deepEqual(
    parseH264Fmtp({
      'Packetization-Mode': '1',
      'PROFILE-LEVEL-ID': '42C01E',
      'sprop-parameter-sets': `${Buffer.concat([Buffer.from([0, 0, 0, 1]), SPS, Buffer.from([0, 0, 1]), PPS]).toString('base64')},@@@`,
    }),
    {
      packetizationMode: 1,
      profileLevelId: '42c01e',
      sps: [SPS],
      pps: [PPS],
    },
  );
  assert.deepEqual(parseH264Fmtp({}), { packetizationMode: 0, sps: [], pps: [] });
});

test('real clip: 250 pictures survive packetization at 1400 bytes', () => {
  const nalus = splitAnnexB(readFileSync('/work/shared/media/h264.264'));
  const aus: AccessUnit[] = [];
  let cur: Buffer[] = [];
  for (const n of nalus) {
    cur.push(n);
    const t = n[0]! & 0x1f;
    if (t === 1 || t === 5) {
      aus.push({ pts: aus.length * 3600, clockRate: 90000, keyframe: t === 5, nalus: cur });
      cur = [];
    }
  }
  const p = new H264Packetizer();
  const d = new H264Depacketizer();
  const got = pushAll(d, toPackets(aus.flatMap((a) => p.packetize(a))));
  assert.equal(got.length, 250);
  assert.equal(got.filter((a) => a.keyframe).length, 10);
  assert.ok(
    got.every(
      (a, i) =>
        a.nalus!.length === aus[i]!.nalus!.length && a.nalus!.every((n, j) => n.equals(aus[i]!.nalus![j]!)),
    ),
  );
});

test('real RTP from ffmpeg (single NAL, STAP-A, FU-A): 50 access units, keyframe first and every 25', () => {
  const fixture = JSON.parse(
    readFileSync(new URL('./fixtures/ffmpeg-h264-rtp.json', import.meta.url), 'utf8'),
  ) as {
    packets: { seq: number; ts: number; marker: boolean; payload: string }[];
  };
  const d = new H264Depacketizer();
  const aus = pushAll(
    d,
    fixture.packets.map((p) => ({
      payload: Buffer.from(p.payload, 'hex'),
      marker: p.marker,
      sequenceNumber: p.seq,
      timestamp: p.ts,
    })),
  );
  assert.equal(aus.length, 50);
  assert.deepEqual(
    aus.flatMap((a, i) => (a.keyframe ? [i] : [])),
    [0, 25],
  );
  assert.equal(d.stats.lostPackets + d.stats.droppedAccessUnits + d.stats.malformedPackets, 0);
  assert.ok(d.sps && d.pps, 'in-band parameter sets tracked');
  const ticks = aus.slice(1).map((a, i) => a.pts - aus[i]!.pts);
  assert.ok(ticks.every((t) => t === 3600));
});

test('a packet without payload (a server lead-in) counts in the sequence and breaks nothing', () => {
  const d = new H264Depacketizer();
  const idr = toPackets(
    new H264Packetizer({ maxPayloadBytes: 1200 }).packetize({
      pts: 9000,
      clockRate: 90000,
      keyframe: true,
      nalus: [SPS, PPS, nal(H264NalType.IdrSlice, 3000)],
    }),
    101,
  );
  const leadIn: RtpPacketIn = {
    payload: Buffer.alloc(0),
    marker: false,
    sequenceNumber: 100,
    timestamp: 8999,
  };
  const aus = pushAll(d, [leadIn, ...idr]);
  assert.equal(aus.length, 1);
  assert.ok(aus[0]!.keyframe);
  assert.equal(d.stats.malformedPackets, 0);
  assert.equal(d.stats.droppedAccessUnits, 0);
});
