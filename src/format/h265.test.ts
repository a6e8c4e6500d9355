import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { H265NalType, h265NalType, splitAnnexB } from '../codec/h265.js';
import type { AccessUnit, RtpPacketIn, RtpPayloadOut } from './access-unit.js';
import { H265Depacketizer, H265Packetizer, h265Fmtp, parseH265Fmtp } from './h265.js';

const VPS = Buffer.from('40010c01ffff01600000030090000003000003003fba0240', 'hex');
const SPS = Buffer.from(
  '42010101600000030090000003000003003fa00502016965ba924caf016808000003000800000300c840',
  'hex',
);
const PPS = Buffer.from('4401c172b46240', 'hex');

function toPackets(out: readonly RtpPayloadOut[], seq0 = 65530): RtpPacketIn[] {
  return out.map((o, i) => ({
    payload: o.payload,
    marker: o.marker,
    sequenceNumber: (seq0 + i) & 0xffff,
    timestamp: o.pts % 2 ** 32,
  }));
}

function pushAll(d: H265Depacketizer, pkts: readonly RtpPacketIn[]): AccessUnit[] {
  return [...pkts.flatMap((p) => d.push(p)), ...d.flush()];
}

/** A NAL unit of `type` with temporal id `tid` (1-based) and layer 0. */
const nal = (type: number, size: number, tid = 1, fill = 0x11): Buffer => {
  const b = Buffer.alloc(Math.max(size, 2), fill);
  b[0] = type << 1;
  b[1] = tid;
  return b;
};

test('packetize/depacketize round-trip, MTU and marker (property)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.array(
          fc.tuple(
            fc.constantFrom(0, 1, 19, 21, 35, 39, 40),
            fc.oneof(fc.integer({ min: 2, max: 60 }), fc.integer({ min: 61, max: 5000 })),
            fc.integer({ min: 1, max: 7 }),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        { minLength: 1, maxLength: 6 },
      ),
      fc.integer({ min: 100, max: 1500 }),
      (aus, max) => {
        const p = new H265Packetizer({ maxPayloadBytes: max });
        const input: AccessUnit[] = aus.map((spec, i) => {
          const nalus = spec.map(([t, size, tid], j) => nal(t, size, tid, (i * 7 + j) & 0xff));
          return {
            pts: i * 3600,
            clockRate: 90000,
            keyframe: nalus.some((n) => [19, 21].includes(h265NalType(n))),
            nalus,
          };
        });
        const out: RtpPayloadOut[] = [];
        for (const au of input) {
          const pk = p.packetize(au);
          pk.forEach((o, i) => {
            assert.ok(o.payload.length <= max);
            assert.equal(o.marker, i === pk.length - 1);
          });
          out.push(...pk);
        }
        const got = pushAll(new H265Depacketizer(), toPackets(out));
        assert.deepEqual(got, input);
      },
    ),
  );
});

test('AP header takes the lowest TID and LayerId; FU keeps the original header fields', () => {
  const p = new H265Packetizer({ maxPayloadBytes: 200 });
  const out = p.packetize({
    pts: 0,
    clockRate: 90000,
    keyframe: false,
    nalus: [nal(1, 20, 3), nal(1, 20, 2), nal(1, 500, 4)],
  });
  assert.equal(out.length, 4);
  assert.equal(out[0]!.payload[0]! >> 1, H265NalType.Ap);
  assert.equal(out[0]!.payload[1]! & 7, 2);
  for (const o of out.slice(1)) {
    assert.equal(o.payload[0]! >> 1, H265NalType.Fu);
    assert.equal(o.payload[1]! & 7, 4);
    assert.equal(o.payload[2]! & 0x3f, 1);
  }
  assert.deepEqual(
    out.slice(1).map((o) => o.payload[2]! & 0xc0),
    [0x80, 0, 0x40],
  );
});

test('VPS/SPS/PPS are inserted before an IRAP that lacks them', () => {
  const p = new H265Packetizer({ parameterSets: [VPS, SPS, PPS] });
  const d = new H265Depacketizer();
  const idr = nal(19, 4000);
  const got = pushAll(d, toPackets(p.packetize({ pts: 0, clockRate: 90000, keyframe: true, nalus: [idr] })));
  assert.deepEqual(got[0]!.nalus, [VPS, SPS, PPS, idr]);
  assert.equal(got[0]!.keyframe, true);
  assert.deepEqual([d.vps, d.sps, d.pps], [VPS, SPS, PPS]);
});

test('loss, PACI and random input are handled without throwing (property)', () => {
  const d = new H265Depacketizer();
  const out = [
    ...d.push({ payload: Buffer.from([50 << 1, 1, 0, 0, 0]), marker: true, sequenceNumber: 1, timestamp: 0 }),
    ...d.push({ payload: Buffer.from([0x02, 1, 0xaa]), marker: true, sequenceNumber: 3, timestamp: 10 }),
    ...d.push({ payload: Buffer.from([0x02, 1, 0xbb]), marker: true, sequenceNumber: 4, timestamp: 20 }),
  ];
  assert.equal(d.stats.unsupportedPackets, 1);
  assert.equal(d.stats.lostPackets, 1);
  assert.deepEqual(
    out.map((a) => a.pts),
    [20],
  );
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          payload: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          marker: fc.boolean(),
          sequenceNumber: fc.nat(65535),
          timestamp: fc.nat(10),
        }),
      ),
      (pkts) => {
        const r = new H265Depacketizer({ maxAccessUnitBytes: 1000 });
        for (const pk of pkts) r.push(pk);
        r.flush();
      },
    ),
  );
});

test('fmtp: sprop-vps/sps/pps with profile, tier and level', () => {
  const fmtp = h265Fmtp(VPS, SPS, PPS);
  assert.deepEqual(fmtp, {
    'profile-id': '1',
    'tier-flag': '0',
    'level-id': '63',
    'sprop-vps': VPS.toString('base64'),
    'sprop-sps': SPS.toString('base64'),
    'sprop-pps': PPS.toString('base64'),
  });
  assert.deepEqual(parseH265Fmtp(fmtp), {
    vps: [VPS],
    sps: [SPS],
    pps: [PPS],
    maxDonDiff: 0,
    profileId: 1,
    tierFlag: 0,
    levelId: 63,
  });
});

test('real clip: 250 pictures survive packetization', () => {
  const nalus = splitAnnexB(readFileSync('/work/shared/media/h265.265'));
  const aus: AccessUnit[] = [];
  let cur: Buffer[] = [];
  for (const n of nalus) {
    cur.push(n);
    if (h265NalType(n) < 32) {
      aus.push({
        pts: aus.length * 3600,
        clockRate: 90000,
        keyframe: [19, 20, 21].includes(h265NalType(n)),
        nalus: cur,
      });
      cur = [];
    }
  }
  const got = pushAll(
    new H265Depacketizer(),
    toPackets(aus.flatMap((a) => new H265Packetizer().packetize(a))),
  );
  assert.equal(got.length, 250);
  assert.deepEqual(got, aus);
});
