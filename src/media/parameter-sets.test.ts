import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRtpPacket, serializeRtpPacket } from '../rtp/packet.js';
import { ParameterSetInserter } from './parameter-sets.js';

const SPS = Buffer.from([0x67, 0x42, 0xc0, 0x1e, 0xd9]);
const PPS = Buffer.from([0x68, 0xcb, 0x8c, 0xb2]);
const FMTP = {
  'packetization-mode': '1',
  'sprop-parameter-sets': `${SPS.toString('base64')},${PPS.toString('base64')}`,
};

function rtp(seq: number, timestamp: number, payload: Buffer, marker = false): Buffer {
  return serializeRtpPacket({
    marker,
    payloadType: 96,
    sequenceNumber: seq,
    timestamp,
    ssrc: 0x1234,
    csrcs: [],
    payload,
  });
}

const fuA = (type: number, start: boolean, end: boolean): Buffer =>
  Buffer.from([0x7c, (start ? 0x80 : 0) | (end ? 0x40 : 0) | type, 0xaa, 0xbb]);
const stapA = (...nals: Buffer[]): Buffer =>
  Buffer.concat([
    Buffer.from([0x78]),
    ...nals.flatMap((n) => [Buffer.from([n.length >> 8, n.length & 0xff]), n]),
  ]);

/** Runs packets through and returns what is sent, in order: seq, timestamp, first payload byte. */
function relay(
  inserter: ParameterSetInserter,
  packets: Buffer[],
): { seq: number; ts: number; nal: number }[] {
  const out: Buffer[] = [];
  for (const p of packets) {
    out.push(...(inserter.process(p) ?? []), p);
  }
  return out.map((b) => {
    const p = parseRtpPacket(b);
    return { seq: p.sequenceNumber, ts: p.timestamp, nal: p.payload[0]! };
  });
}

test('H.264: SPS and PPS from the SDP go before a keyframe that comes without; later numbers move up', () => {
  const inserter = ParameterSetInserter.forTrack('H264', FMTP)!;
  const sent = relay(inserter, [
    rtp(65534, 0, fuA(5, true, false)),
    rtp(65535, 0, fuA(5, false, true), true),
    rtp(0, 3600, Buffer.from([0x41, 1]), true),
    rtp(2, 7200, Buffer.from([0x41, 2]), true), // seq 1 lost: the gap stays
    rtp(3, 10800, Buffer.from([0x65, 3]), true), // a single-NAL IDR
  ]);
  assert.deepEqual(sent, [
    { seq: 65534, ts: 0, nal: 0x67 },
    { seq: 65535, ts: 0, nal: 0x68 },
    { seq: 0, ts: 0, nal: 0x7c },
    { seq: 1, ts: 0, nal: 0x7c },
    { seq: 2, ts: 3600, nal: 0x41 },
    { seq: 4, ts: 7200, nal: 0x41 },
    { seq: 5, ts: 10800, nal: 0x67 },
    { seq: 6, ts: 10800, nal: 0x68 },
    { seq: 7, ts: 10800, nal: 0x65 },
  ]);
  assert.equal(inserter.insertedPackets, 4);
  // The inserted packets are whole single NAL units with the keyframe's SSRC and payload type, no marker.
  const first = parseRtpPacket(rtp(9, 14400, Buffer.from([0x65])));
  const [sps] = ParameterSetInserter.forTrack('H264', FMTP)!.process(rtp(9, 14400, Buffer.from([0x65])))!;
  const p = parseRtpPacket(sps!);
  assert.deepEqual(p.payload, SPS);
  assert.equal(p.ssrc, first.ssrc);
  assert.equal(p.payloadType, 96);
  assert.equal(p.marker, false);
});

test('H.264: an access unit that brings its own parameter sets gets none added, and they replace the SDP ones', () => {
  const inserter = ParameterSetInserter.forTrack('H264', FMTP)!;
  const newSps = Buffer.from([0x67, 0x64, 0x00, 0x28, 0xac]);
  const sent = relay(inserter, [
    rtp(10, 0, stapA(newSps, PPS)),
    rtp(11, 0, fuA(5, true, false)),
    rtp(12, 0, fuA(5, false, true), true),
    rtp(13, 3600, fuA(5, true, true), true),
  ]);
  assert.deepEqual(
    sent.map((s) => [s.seq, s.nal]),
    [
      [10, 0x78],
      [11, 0x7c],
      [12, 0x7c],
      [13, 0x67],
      [14, 0x68],
      [15, 0x7c],
    ],
  );
  const again = ParameterSetInserter.forTrack('H264', FMTP)!;
  relay(again, [rtp(1, 0, newSps), rtp(2, 0, PPS), rtp(3, 0, Buffer.from([0x65]), true)]);
  const [sps] = again.process(rtp(4, 3600, Buffer.from([0x65]), true))!;
  assert.deepEqual(parseRtpPacket(sps!).payload, newSps, 'the in-band SPS is what is repeated');
  assert.equal(again.insertedPackets, 2);
});

test('H.265: VPS, SPS and PPS in decoding order before an IRAP fragment; other codecs get no inserter', () => {
  const vps = Buffer.from([0x40, 0x01, 0x0c]);
  const sps = Buffer.from([0x42, 0x01, 0x01]);
  const pps = Buffer.from([0x44, 0x01, 0xc1]);
  const inserter = ParameterSetInserter.forTrack('H265', {
    'sprop-pps': pps.toString('base64'),
    'sprop-sps': sps.toString('base64'),
    'sprop-vps': vps.toString('base64'),
  })!;
  // An FU (type 49) starting an IDR_W_RADL (19), then a trailing picture (type 1).
  const fu = Buffer.from([49 << 1, 0x01, 0x80 | 19, 0xaa]);
  const sent = relay(inserter, [
    rtp(100, 0, fu, true),
    rtp(101, 3000, Buffer.from([0x02, 0x01, 0xaa]), true),
  ]);
  assert.deepEqual(
    sent.map((s) => [s.seq, s.nal]),
    [
      [100, 0x40],
      [101, 0x42],
      [102, 0x44],
      [103, 49 << 1],
      [104, 0x02],
    ],
  );
  assert.equal(ParameterSetInserter.forTrack('OPUS', {}), undefined);
  // No parameter sets known yet: nothing to insert until the stream brings some.
  const bare = ParameterSetInserter.forTrack('H264', { 'packetization-mode': '1' })!;
  assert.equal(bare.process(rtp(1, 0, Buffer.from([0x65]))), undefined);
});
