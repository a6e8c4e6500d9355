import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { splitAdts } from '../codec/aac.js';
import type { AccessUnit, RtpPacketIn, RtpPayloadOut } from './access-unit.js';
import {
  AAC_HBR_LAYOUT,
  AacDepacketizer,
  AacPacketizer,
  aacFmtp,
  aacRtpmap,
  buildAacPacket,
  parseAacFmtp,
} from './aac.js';

function toPackets(out: readonly RtpPayloadOut[], seq0 = 100): RtpPacketIn[] {
  return out.map((o, i) => ({
    payload: o.payload,
    marker: o.marker,
    sequenceNumber: (seq0 + i) & 0xffff,
    timestamp: o.pts % 2 ** 32,
  }));
}

const frame = (size: number, seed: number): Buffer => Buffer.alloc(size, seed & 0xff);

test('round-trip with aggregation and fragmentation, MTU respected (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 401, max: 8191 })), {
        minLength: 1,
        maxLength: 30,
      }),
      fc.integer({ min: 100, max: 1500 }),
      fc.boolean(),
      (sizes, max, many) => {
        const aus: AccessUnit[] = sizes.map((s, i) => ({
          pts: 1000 + i * 1024,
          clockRate: 48000,
          keyframe: true,
          payload: frame(s, i),
        }));
        const p = new AacPacketizer({ clockRate: 48000, maxPayloadBytes: max });
        const out = many ? p.packetizeMany(aus) : aus.flatMap((a) => p.packetize(a));
        for (const o of out) assert.ok(o.payload.length <= max);
        if (many) assert.ok(out.length <= aus.length || sizes.some((s) => s + 4 > max));
        const d = new AacDepacketizer({ clockRate: 48000 });
        const got = toPackets(out).flatMap((pk) => d.push(pk));
        assert.deepEqual(got, aus);
        assert.equal(d.stats.droppedAccessUnits, 0);
      },
    ),
  );
});

test('aggregated packet: one AU-header per AU, marker set, pts = ts + i*1024', () => {
  const p = new AacPacketizer({ clockRate: 48000 });
  const aus = [0, 1, 2].map((i) => ({
    pts: i * 1024,
    clockRate: 48000,
    keyframe: true,
    payload: frame(100, i),
  }));
  const out = p.packetizeMany(aus);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.marker, true);
  assert.equal(out[0]!.payload.subarray(0, 8).toString('hex'), '0030' + '0320'.repeat(3));
  // A gap in pts starts a new packet.
  assert.equal(p.packetizeMany([aus[0]!, aus[2]!]).length, 2);
});

test('fragment loss drops the AU; later AUs survive', () => {
  const p = new AacPacketizer({ clockRate: 48000, maxPayloadBytes: 200 });
  const aus = [0, 1].map((i) => ({
    pts: i * 1024,
    clockRate: 48000,
    keyframe: true,
    payload: frame(500, i),
  }));
  const pkts = toPackets(aus.flatMap((a) => p.packetize(a)));
  assert.equal(pkts.length, 6);
  assert.deepEqual(
    pkts.map((x) => x.marker),
    [false, false, true, false, false, true],
  );
  const d = new AacDepacketizer({ clockRate: 48000 });
  const got = pkts.filter((_, i) => i !== 1).flatMap((pk) => d.push(pk));
  assert.deepEqual(
    got.map((a) => a.pts),
    [1024],
  );
  assert.equal(d.stats.droppedAccessUnits, 1);
  assert.equal(d.stats.lostPackets, 1);
  // Losing the first fragment of AU 1: its continuations are not mistaken for a new AU.
  const d2 = new AacDepacketizer({ clockRate: 48000 });
  const got2 = pkts.filter((_, i) => i !== 3).flatMap((pk) => d2.push(pk));
  assert.deepEqual(
    got2.map((a) => a.pts),
    [0],
  );
  assert.equal(d2.stats.droppedAccessUnits, 1);
  assert.equal(d2.stats.malformedPackets, 0);
});

test('AAC-lbr layout and CTS/DTS fields are parsed from fmtp', () => {
  const lbr = parseAacFmtp({
    mode: 'AAC-lbr',
    sizelength: '6',
    indexlength: '2',
    indexdeltalength: '2',
    config: '1408',
  });
  assert.equal(lbr.audioConfig?.sampleRate, 16000);
  const d = new AacDepacketizer({ clockRate: 16000, layout: lbr.layout });
  const frames = [frame(20, 1), frame(33, 2)];
  const got = d.push({
    payload: buildAacPacket(frames, lbr.layout),
    marker: true,
    sequenceNumber: 1,
    timestamp: 500,
  });
  assert.deepEqual(
    got.map((a) => [a.pts, a.payload!.length]),
    [
      [500, 20],
      [1524, 33],
    ],
  );
});

test('random packets never throw (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 100 })), (payloads) => {
      const d = new AacDepacketizer({
        clockRate: 48000,
        layout: { ...AAC_HBR_LAYOUT, ctsDeltaLength: 3, auxiliaryDataSizeLength: 4 },
      });
      payloads.forEach((b, i) =>
        d.push({ payload: Buffer.from(b), marker: i % 2 === 0, sequenceNumber: i, timestamp: 0 }),
      );
      const d2 = new AacDepacketizer({ clockRate: 48000 });
      payloads.forEach((b, i) =>
        d2.push({ payload: Buffer.from(b), marker: true, sequenceNumber: i * 2, timestamp: i }),
      );
    }),
  );
});

test('real ADTS file: every frame survives, fmtp and rtpmap', () => {
  const { frames } = splitAdts(readFileSync('/work/shared/media/aac.aac'));
  const aus = frames.map((f, i) => ({ pts: i * 1024, clockRate: 48000, keyframe: true, payload: f.payload }));
  const p = new AacPacketizer({ clockRate: 48000 });
  const d = new AacDepacketizer({ clockRate: 48000 });
  assert.deepEqual(
    toPackets(p.packetizeMany(aus)).flatMap((pk) => d.push(pk)),
    aus,
  );
  const fmtp = aacFmtp(Buffer.from('1190', 'hex'));
  assert.deepEqual(fmtp, {
    streamtype: '5',
    'profile-level-id': '1',
    mode: 'AAC-hbr',
    sizelength: '13',
    indexlength: '3',
    indexdeltalength: '3',
    config: '1190',
  });
  const info = parseAacFmtp(fmtp);
  assert.deepEqual(info.layout, AAC_HBR_LAYOUT);
  assert.deepEqual(aacRtpmap(info.audioConfig!), {
    encodingName: 'MPEG4-GENERIC',
    clockRate: 48000,
    channels: 2,
  });
});
