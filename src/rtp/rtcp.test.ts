import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex } from '../base/bytes.js';
import { ntpToUnixMs } from '../base/clock.js';
import { ParseError } from '../base/errors.js';
import {
  type ReportBlock,
  type RtcpPacket,
  type SdesItem,
  SdesType,
  isRtcpPacket,
  parseRtcpCompound,
  serializeRtcpCompound,
  serializeRtcpPacket,
} from './rtcp.js';
import { ffmpegRtp, ffmpegSr, gstRtcp, gstRtp } from './fixtures/captures.js';

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ParseError && e.code === code);
}

const hex = (s: string): Buffer => fromHex(s.replace(/#.*$/gm, ''));

// RFC 3550 §6.4.1 SR with one report block, followed by §6.5 SDES with a CNAME.
const SR_SDES = hex(`
  81 c8 00 0c   # V=2 P=0 RC=1 | PT=200 SR | length 12 words (+1) = 52 bytes
  11 22 33 44   # SSRC of sender
  e1 d0 5a 80   # NTP seconds
  80 00 00 00   # NTP fraction (0.5 s)
  00 01 5f 90   # RTP timestamp 90000
  00 00 00 0a   # sender's packet count 10
  00 00 03 e8   # sender's octet count 1000
  55 66 77 88   # report block: SSRC_1
  40 ff ff fe   #   fraction lost 64/256, cumulative lost -2 (24-bit two's complement)
  00 01 00 05   #   extended highest sequence number: 1 cycle, seq 5
  00 00 00 20   #   interarrival jitter 32
  5a 80 40 00   #   LSR
  00 01 00 00   #   DLSR 1 s
  81 ca 00 04   # V=2 P=0 SC=1 | PT=202 SDES | length 4 words (+1) = 20 bytes
  11 22 33 44   # chunk SSRC
  01 06 63 61   # CNAME, 6 bytes: "camera"
  6d 65 72 61
  00 00 00 00   # null item terminates the chunk, padded to 32 bits
`);

const SR_SDES_VALUE: RtcpPacket[] = [
  {
    type: 'sr',
    ssrc: 0x11223344,
    ntp: { seconds: 0xe1d05a80, fraction: 0x80000000 },
    rtpTimestamp: 90000,
    packetCount: 10,
    octetCount: 1000,
    reports: [
      {
        ssrc: 0x55667788,
        fractionLost: 64,
        cumulativeLost: -2,
        highestSeq: 0x10005,
        jitter: 32,
        lsr: 0x5a804000,
        dlsr: 0x10000,
      },
    ],
  },
  { type: 'sdes', chunks: [{ ssrc: 0x11223344, items: [{ type: SdesType.CNAME, text: 'camera' }] }] },
];

// RR (no blocks, padded), BYE with reason, APP, and a PSFB PLI (RFC 4585 §6.3.1) kept raw.
const RR_BYE_APP_PLI = hex(`
  80 c9 00 01   # RR, RC=0, length 1 = 8 bytes
  11 22 33 44   # SSRC of packet sender
  81 cb 00 04   # BYE, SC=1, length 4 = 20 bytes
  11 22 33 44   # SSRC
  08 73 68 75   # reason length 8: "shutdown"
  74 64 6f 77
  6e 00 00 00   # padded to 32 bits
  82 cc 00 03   # APP subtype 2, length 3 = 16 bytes
  11 22 33 44   # SSRC
  54 45 53 54   # name "TEST"
  01 02 03 04   # application data
  a1 ce 00 03   # P=1 FMT=1 (PLI) PT=206, length 3 = 16 bytes
  11 22 33 44   # SSRC of packet sender
  55 66 77 88   # SSRC of media source
  00 00 00 04   # 4 padding octets, the last is the count
`);

const RR_BYE_APP_PLI_VALUE: RtcpPacket[] = [
  { type: 'rr', ssrc: 0x11223344, reports: [] },
  { type: 'bye', ssrcs: [0x11223344], reason: 'shutdown' },
  { type: 'app', subtype: 2, ssrc: 0x11223344, name: 'TEST', data: fromHex('01020304') },
  { type: 'unknown', packetType: 206, count: 1, body: fromHex('11223344 55667788'), paddingLength: 4 },
];

test('parses and re-serializes SR + SDES (RFC 3550 §6.4.1, §6.5)', () => {
  assert.deepEqual(parseRtcpCompound(SR_SDES), SR_SDES_VALUE);
  assert.deepEqual(serializeRtcpCompound(SR_SDES_VALUE), SR_SDES);
});

test('parses and re-serializes RR, BYE with reason, APP and unknown feedback with padding', () => {
  assert.deepEqual(parseRtcpCompound(RR_BYE_APP_PLI), RR_BYE_APP_PLI_VALUE);
  assert.deepEqual(serializeRtcpCompound(RR_BYE_APP_PLI_VALUE), RR_BYE_APP_PLI);
});

test('SR/RR profile extensions, SDES PRIV and several chunks', () => {
  const packets: RtcpPacket[] = [
    { type: 'rr', ssrc: 1, reports: [], profileExtension: fromHex('deadbeef') },
    {
      type: 'sdes',
      chunks: [
        {
          ssrc: 1,
          items: [
            { type: SdesType.CNAME, text: 'a@b' },
            { type: SdesType.TOOL, text: 'rtspkit ✓' },
            { type: SdesType.PRIV, prefix: 'x-cam', text: 'v1' },
          ],
        },
        { ssrc: 2, items: [] },
      ],
    },
  ];
  const wire = serializeRtcpCompound(packets);
  assert.deepEqual(parseRtcpCompound(wire), packets);
  // PRIV item: type 8, length 1 + 5 + 2, prefix length 5.
  assert.ok(wire.includes(fromHex('0808 05 782d63616d 7631')));
});

test('tolerates rule breakers: non-SR/RR first, SDES without a terminator, padding mid-compound', () => {
  // A lone SDES (RFC 5506 reduced size) whose chunk ends exactly at the packet end.
  const sdes = hex(`
    81 ca 00 02   # SDES SC=1, 12 bytes
    11 22 33 44
    01 02 61 62   # CNAME "ab", no null octet after it
  `);
  assert.deepEqual(parseRtcpCompound(sdes), [
    { type: 'sdes', chunks: [{ ssrc: 0x11223344, items: [{ type: 1, text: 'ab' }] }] },
  ]);
  const paddedFirst = Buffer.concat([
    hex('a0 c9 00 02  11223344  00000004'), // padded RR, not last
    hex('80 cb 00 00'), // BYE with no SSRCs
  ]);
  assert.deepEqual(parseRtcpCompound(paddedFirst), [
    { type: 'rr', ssrc: 0x11223344, reports: [], paddingLength: 4 },
    { type: 'bye', ssrcs: [] },
  ]);
});

test('rejects malformed compounds with stable ParseError codes', () => {
  throwsCode(() => parseRtcpCompound(Buffer.alloc(0)), 'RTCP_TOO_SHORT');
  throwsCode(() => parseRtcpCompound(fromHex('80c9')), 'RTCP_TOO_SHORT');
  throwsCode(() => parseRtcpCompound(fromHex('40c90001 11223344')), 'RTCP_BAD_VERSION');
  // Length says 3 words, 2 present.
  throwsCode(() => parseRtcpCompound(fromHex('80c90002 11223344')), 'RTCP_BAD_LENGTH');
  // Two trailing bytes after a complete packet.
  throwsCode(() => parseRtcpCompound(fromHex('80c90001 11223344 8000')), 'RTCP_BAD_LENGTH');
  // Second packet of the compound has the wrong version.
  throwsCode(() => parseRtcpCompound(fromHex('80c90001 11223344 00c90001 11223344')), 'RTCP_BAD_VERSION');
  throwsCode(() => parseRtcpCompound(fromHex('a0c90001 11223300')), 'RTCP_BAD_PADDING');
  throwsCode(() => parseRtcpCompound(fromHex('a0c90001 11223309')), 'RTCP_BAD_PADDING');
  // SR announcing one report block but carrying none.
  const shortSr = Buffer.from(SR_SDES.subarray(0, 28));
  shortSr[3] = 6; // length 6 words: header, SSRC and sender info only
  throwsCode(() => parseRtcpCompound(shortSr), 'RTCP_BAD_SR');
  throwsCode(() => parseRtcpCompound(fromHex('81c90001 11223344')), 'RTCP_BAD_RR');
  throwsCode(() => parseRtcpCompound(fromHex('80c80001 11223344')), 'RTCP_BAD_SR');
  // SDES: two chunks announced, one present; an item overrunning; a PRIV prefix overrunning.
  throwsCode(() => parseRtcpCompound(fromHex('82ca0002 11223344 00000000')), 'RTCP_BAD_SDES');
  throwsCode(() => parseRtcpCompound(fromHex('81ca0002 11223344 01056162')), 'RTCP_BAD_SDES');
  throwsCode(() => parseRtcpCompound(fromHex('81ca0002 11223344 08020561')), 'RTCP_BAD_SDES');
  // BYE: SC=2 with one SSRC; a reason overrunning.
  throwsCode(() => parseRtcpCompound(fromHex('82cb0001 11223344')), 'RTCP_BAD_BYE');
  throwsCode(() => parseRtcpCompound(fromHex('81cb0002 11223344 09616263')), 'RTCP_BAD_BYE');
  throwsCode(() => parseRtcpCompound(fromHex('80cc0001 11223344')), 'RTCP_BAD_APP');
});

test('serialize rejects invalid values with RangeError', () => {
  const block: ReportBlock = {
    ssrc: 1,
    fractionLost: 0,
    cumulativeLost: 0,
    highestSeq: 0,
    jitter: 0,
    lsr: 0,
    dlsr: 0,
  };
  const rr = (b: Partial<ReportBlock>): RtcpPacket => ({
    type: 'rr',
    ssrc: 1,
    reports: [{ ...block, ...b }],
  });
  assert.throws(() => serializeRtcpPacket(rr({ fractionLost: 256 })), RangeError);
  assert.throws(() => serializeRtcpPacket(rr({ cumulativeLost: 0x800000 })), RangeError);
  assert.throws(() => serializeRtcpPacket(rr({ cumulativeLost: -0x800001 })), RangeError);
  assert.throws(() => serializeRtcpPacket(rr({ jitter: 2 ** 32 })), RangeError);
  assert.throws(
    () => serializeRtcpPacket({ type: 'rr', ssrc: 1, reports: new Array<ReportBlock>(32).fill(block) }),
    RangeError,
  );
  assert.throws(
    () => serializeRtcpPacket({ type: 'app', subtype: 0, ssrc: 1, name: 'AB', data: Buffer.alloc(0) }),
    RangeError,
  );
  assert.throws(
    () => serializeRtcpPacket({ type: 'app', subtype: 32, ssrc: 1, name: 'ABCD', data: Buffer.alloc(0) }),
    RangeError,
  );
  assert.throws(
    () => serializeRtcpPacket({ type: 'app', subtype: 0, ssrc: 1, name: 'ABCD', data: Buffer.alloc(3) }),
    RangeError,
  );
  assert.throws(() => serializeRtcpPacket({ type: 'bye', ssrcs: [], reason: 'x'.repeat(256) }), RangeError);
  assert.throws(
    () =>
      serializeRtcpPacket({
        type: 'sdes',
        chunks: [{ ssrc: 1, items: [{ type: 1, text: 'x'.repeat(256) }] }],
      }),
    RangeError,
  );
  assert.throws(
    () => serializeRtcpPacket({ type: 'sdes', chunks: [{ ssrc: 1, items: [{ type: 0, text: '' }] }] }),
    RangeError,
  );
  assert.throws(
    () => serializeRtcpPacket({ type: 'rr', ssrc: 1, reports: [], paddingLength: 3 }),
    RangeError,
  );
});

test('isRtcpPacket demultiplexes RTP from RTCP (RFC 5761 §4)', () => {
  assert.ok(isRtcpPacket(SR_SDES));
  assert.ok(isRtcpPacket(RR_BYE_APP_PLI));
  for (const c of [...ffmpegRtp, ...gstRtp]) assert.ok(!isRtcpPacket(fromHex(c.hex)));
  for (const c of [ffmpegSr, ...gstRtcp]) assert.ok(isRtcpPacket(fromHex(c.hex)));
  // RTP with marker set and PT 96 has 224 in the second octet: just outside 192..223.
  assert.ok(!isRtcpPacket(fromHex('80e00001 00000000 00000000')));
  assert.ok(isRtcpPacket(fromHex('80c00000')));
  assert.ok(isRtcpPacket(fromHex('80df0000')));
  assert.ok(!isRtcpPacket(fromHex('80c8')), 'too short');
  assert.ok(!isRtcpPacket(fromHex('40c80001')), 'version 1');
});

test('real ffmpeg SR: PT 200, SSRC of the stream, NTP time close to capture time', () => {
  const buf = fromHex(ffmpegSr.hex);
  const [sr, ...rest] = parseRtcpCompound(buf);
  assert.equal(rest.length, 0);
  assert.ok(sr?.type === 'sr');
  assert.equal(sr.ssrc, 0x45114ea6);
  assert.deepEqual(sr.reports, []);
  assert.equal(sr.packetCount, 0);
  // Sender and receiver shared a host: the SR's wall clock is within a second of the arrival.
  assert.ok(Math.abs(ntpToUnixMs(sr.ntp) - ffmpegSr.arrivalMs) < 1000);
  assert.deepEqual(serializeRtcpCompound([sr]), buf);
});

test('real GStreamer compounds: SR + SDES (CNAME, TOOL), then SR + SDES + BYE', () => {
  const [first, last] = gstRtcp.map((c) => {
    const buf = fromHex(c.hex);
    const packets = parseRtcpCompound(buf);
    assert.deepEqual(serializeRtcpCompound(packets), buf, 'exact re-serialization');
    const sr = packets[0];
    assert.ok(sr?.type === 'sr');
    assert.ok(Math.abs(ntpToUnixMs(sr.ntp) - c.arrivalMs) < 1000);
    const sdes = packets[1];
    assert.ok(sdes?.type === 'sdes');
    assert.equal(sdes.chunks.length, 1);
    assert.equal(sdes.chunks[0]!.ssrc, sr.ssrc);
    const items = sdes.chunks[0]!.items;
    const cname = items.find((i) => i.type === SdesType.CNAME);
    assert.match(cname?.text ?? '', /^\S+@\S+$/);
    assert.deepEqual(
      items.find((i) => i.type === SdesType.TOOL),
      { type: SdesType.TOOL, text: 'GStreamer' },
    );
    return packets;
  });
  assert.equal(first!.length, 2);
  assert.equal(last!.length, 3);
  const [sr1, sr2] = [first![0], last![0]];
  assert.ok(sr1?.type === 'sr' && sr2?.type === 'sr');
  assert.ok(sr2.packetCount > sr1.packetCount);
  assert.ok(sr2.octetCount > sr1.octetCount);
  assert.deepEqual(last![2], { type: 'bye', ssrcs: [sr1.ssrc] });
  // The SR's SSRC is the RTP stream's.
  assert.equal(sr1.ssrc, fromHex(gstRtp[0]!.hex).readUInt32BE(8));
});

// Arbitraries shaped exactly like parser output.
const u32 = fc.nat({ max: 0xffffffff });
const words = (min: number, max: number) =>
  fc
    .integer({ min, max })
    .chain((n) => fc.uint8Array({ minLength: n * 4, maxLength: n * 4 }))
    .map((a) => Buffer.from(a));
const padding = fc.option(
  fc.integer({ min: 1, max: 63 }).map((n) => n * 4),
  { nil: undefined },
);
const arbBlock: fc.Arbitrary<ReportBlock> = fc
  .tuple(u32, fc.nat({ max: 255 }), fc.integer({ min: -0x800000, max: 0x7fffff }), u32, u32, u32, u32)
  .map(([ssrc, fractionLost, cumulativeLost, highestSeq, jitter, lsr, dlsr]) => ({
    ssrc,
    fractionLost,
    cumulativeLost,
    highestSeq,
    jitter,
    lsr,
    dlsr,
  }));
const text = (max: number) => fc.string({ unit: 'binary', maxLength: max });
const arbItem: fc.Arbitrary<SdesItem> = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: 1, max: 255 }).filter((t) => t !== SdesType.PRIV),
      text(60),
    )
    .map(([type, t]) => ({ type, text: t })),
  fc.tuple(text(30), text(30)).map(([prefix, t]) => ({ type: SdesType.PRIV, prefix, text: t })),
);
const withPadding = <T extends RtcpPacket>(p: T, paddingLength: number | undefined): T =>
  paddingLength === undefined ? p : { ...p, paddingLength };
const withExt = <T extends RtcpPacket>(p: T, ext: Buffer | undefined): T =>
  ext ? { ...p, profileExtension: ext } : p;
const optExt = fc.option(words(1, 4), { nil: undefined });

const arbRtcp: fc.Arbitrary<RtcpPacket> = fc.oneof(
  fc
    .tuple(u32, u32, u32, u32, u32, u32, fc.array(arbBlock, { maxLength: 3 }), optExt, padding)
    .map(([ssrc, seconds, fraction, rtpTimestamp, packetCount, octetCount, reports, ext, pad]) =>
      withPadding(
        withExt(
          {
            type: 'sr' as const,
            ssrc,
            ntp: { seconds, fraction },
            rtpTimestamp,
            packetCount,
            octetCount,
            reports,
          },
          ext,
        ),
        pad,
      ),
    ),
  fc
    .tuple(u32, fc.array(arbBlock, { maxLength: 3 }), optExt, padding)
    .map(([ssrc, reports, ext, pad]) =>
      withPadding(withExt({ type: 'rr' as const, ssrc, reports }, ext), pad),
    ),
  fc
    .tuple(fc.array(fc.tuple(u32, fc.array(arbItem, { maxLength: 4 })), { maxLength: 3 }), padding)
    .map(([chunks, pad]) =>
      withPadding({ type: 'sdes' as const, chunks: chunks.map(([ssrc, items]) => ({ ssrc, items })) }, pad),
    ),
  fc
    .tuple(fc.array(u32, { maxLength: 31 }), fc.option(text(60), { nil: undefined }), padding)
    .map(([ssrcs, reason, pad]) =>
      withPadding(
        reason === undefined ? { type: 'bye' as const, ssrcs } : { type: 'bye' as const, ssrcs, reason },
        pad,
      ),
    ),
  fc
    .tuple(
      fc.nat({ max: 31 }),
      u32,
      fc.string({ unit: 'binary-ascii', minLength: 4, maxLength: 4 }),
      words(0, 8),
      padding,
    )
    .map(([subtype, ssrc, name, data, pad]) =>
      withPadding({ type: 'app' as const, subtype, ssrc, name, data }, pad),
    ),
  fc
    .tuple(
      fc.integer({ min: 0, max: 255 }).filter((t) => t < 200 || t > 204),
      fc.nat({ max: 31 }),
      words(0, 8),
      padding,
    )
    .map(([packetType, count, body, pad]) =>
      withPadding({ type: 'unknown' as const, packetType, count, body }, pad),
    ),
);

test('parse(serialize(packets)) deep-equals packets (property)', () => {
  fc.assert(
    fc.property(fc.array(arbRtcp, { minLength: 1, maxLength: 5 }), (packets) => {
      const wire = serializeRtcpCompound(packets);
      assert.equal(wire.length % 4, 0);
      assert.deepEqual(parseRtcpCompound(wire), packets);
    }),
    { numRuns: 500 },
  );
});

function onlyParseErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
  }
}

test('the parser throws only ParseError on arbitrary and mutated bytes (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (a) => {
      const buf = Buffer.from(a);
      onlyParseErrors(() => parseRtcpCompound(buf));
      // Force version 2 so the fuzzing gets past the first check.
      if (buf.length > 0) buf[0] = (buf[0]! & 0x3f) | 0x80;
      onlyParseErrors(() => parseRtcpCompound(buf));
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(
      fc.array(arbRtcp, { minLength: 1, maxLength: 3 }),
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }),
      fc.nat(),
      (packets, flips, cut) => {
        const wire = Buffer.from(serializeRtcpCompound(packets));
        for (const [at, value] of flips) wire[at % wire.length] = value;
        onlyParseErrors(() => parseRtcpCompound(wire.subarray(0, cut % (wire.length + 1))));
      },
    ),
    { numRuns: 2000 },
  );
});
