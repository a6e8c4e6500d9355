// Opus (RFC 7587) and G.711 (RFC 3551): pass-through formats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { G711Depacketizer, G711Packetizer, g711Rtpmap } from './g711.js';
import { OPUS_RTPMAP, OpusDepacketizer, OpusPacketizer, opusFmtp, parseOpusFmtp } from './opus.js';

test('Opus: one packet per AU at 48 kHz, fmtp sprop-stereo', () => {
  const p = new OpusPacketizer();
  const d = new OpusDepacketizer();
  const au = { pts: 2 ** 32 + 960, clockRate: 48000, keyframe: true, payload: Buffer.from([0xfc, 1, 2, 3]) };
  const out = p.packetize(au);
  assert.deepEqual(out, [{ payload: au.payload, marker: false, pts: au.pts }]);
  const got = d.push({
    payload: out[0]!.payload,
    marker: false,
    sequenceNumber: 7,
    timestamp: out[0]!.pts % 2 ** 32,
  });
  assert.deepEqual(got, [{ ...au, pts: 960 }]);
  assert.deepEqual(
    d.push({ payload: Buffer.alloc(0), marker: false, sequenceNumber: 8, timestamp: 1920 }),
    [],
  );
  assert.equal(d.stats.malformedPackets, 1);
  assert.deepEqual(OPUS_RTPMAP, { encodingName: 'opus', clockRate: 48000, channels: 2 });
  assert.deepEqual(opusFmtp(2), { 'sprop-stereo': '1' });
  assert.deepEqual(parseOpusFmtp({ 'sprop-stereo': '1' }), { stereo: false, spropStereo: true });
});

test('G.711: 20 ms packets of 160 samples with advancing pts; depacketizer passes through', () => {
  const p = new G711Packetizer();
  const samples = Buffer.alloc(400, 0xd5);
  const out = p.packetize({ pts: 8000, clockRate: 8000, keyframe: true, payload: samples });
  assert.deepEqual(
    out.map((o) => [o.payload.length, o.pts, o.marker]),
    [
      [160, 8000, false],
      [160, 8160, false],
      [80, 8320, false],
    ],
  );
  const stereo = new G711Packetizer({ channels: 2, packetMs: 10 });
  assert.deepEqual(
    stereo
      .packetize({ pts: 0, clockRate: 8000, keyframe: true, payload: Buffer.alloc(320) })
      .map((o) => o.pts),
    [0, 80],
  );
  const d = new G711Depacketizer();
  const got = out.flatMap((o, i) =>
    d.push({ payload: o.payload, marker: false, sequenceNumber: i, timestamp: o.pts }),
  );
  assert.deepEqual(Buffer.concat(got.map((a) => a.payload!)), samples);
  assert.deepEqual(g711Rtpmap('PCMA'), { encodingName: 'PCMA', clockRate: 8000 });
});
