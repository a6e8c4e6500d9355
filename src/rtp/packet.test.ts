import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex } from '../base/bytes.js';
import { ParseError } from '../base/errors.js';
import {
  RTP_EXT_ONE_BYTE_PROFILE,
  RTP_HEADER_BYTES,
  type RtpPacket,
  isTwoByteExtension,
  parseRtpExtensionElements,
  parseRtpPacket,
  randomRtpTimestamp,
  randomSequenceNumber,
  randomSsrc,
  payloadOf,
  readRtpHeader,
  readRtpMarker,
  readRtpPayload,
  readRtpPayloadLength,
  readRtpPayloadType,
  readRtpSequence,
  readRtpSsrc,
  readRtpTimestamp,
  rewriteRtpHeader,
  rewriteRtpPayloadType,
  serializeRtpExtensionElements,
  serializeRtpPacket,
  ssrcFromBytes,
} from './packet.js';
import { ffmpegRtp, ffmpegSr, gstRtp } from './fixtures/captures.js';

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ParseError && e.code === code);
}

// RFC 3550 §5.1, smallest packet: V=2 P=0 X=0 CC=0 | M=1 PT=96 | seq | ts | ssrc | payload.
const MINIMAL = fromHex(
  `
  80 e0 12 34   # V=2, M=1, PT=96, sequence 0x1234
  de ad be ef   # timestamp
  01 02 03 04   # SSRC
  61 62 63      # payload "abc"
`.replace(/#.*$/gm, ''),
);

// Every optional part: P=1 X=1 CC=2, one-byte RFC 8285 extension, 3 padding octets.
const FULL = fromHex(
  `
  b2 08 ff ff   # V=2 P=1 X=1 CC=2 | M=0 PT=8 | sequence 65535
  00 00 00 01   # timestamp 1
  ca fe ba be   # SSRC
  11 11 11 11   # CSRC 1
  22 22 22 22   # CSRC 2
  be de 00 01   # extension profile 0xBEDE, 1 word
  10 aa 00 00   # element ID 1, L=0 (1 byte): 0xaa, then 2 padding bytes
  68 65 6c 6c 6f  # payload "hello"
  00 00 03      # RTP padding: 3 octets, the last one is the count
`.replace(/#.*$/gm, ''),
);

test('parses the minimal RFC 3550 header', () => {
  const p = parseRtpPacket(MINIMAL);
  assert.deepEqual(p, {
    version: 2,
    marker: true,
    payloadType: 96,
    sequenceNumber: 0x1234,
    timestamp: 0xdeadbeef,
    ssrc: 0x01020304,
    csrcs: [],
    payload: Buffer.from('abc'),
  });
  assert.equal(p.payload.buffer, MINIMAL.buffer, 'payload is a view, not a copy');
  assert.equal(p.payload.byteOffset, MINIMAL.byteOffset + RTP_HEADER_BYTES);
  assert.deepEqual(serializeRtpPacket(p), MINIMAL);
});

test('parses CSRCs, header extension and padding', () => {
  const p = parseRtpPacket(FULL);
  assert.equal(p.padding, true);
  assert.equal(p.paddingLength, 3);
  assert.equal(p.marker, false);
  assert.equal(p.payloadType, 8);
  assert.equal(p.sequenceNumber, 65535);
  assert.equal(p.timestamp, 1);
  assert.equal(p.ssrc, 0xcafebabe);
  assert.deepEqual(p.csrcs, [0x11111111, 0x22222222]);
  assert.deepEqual(p.extension, { profile: 0xbede, data: fromHex('10aa0000') });
  assert.deepEqual(p.payload, Buffer.from('hello'));
  assert.deepEqual(parseRtpExtensionElements(p.extension), [{ id: 1, data: fromHex('aa') }]);
  assert.deepEqual(serializeRtpPacket(p), FULL);
});

test('padding may cover the whole payload', () => {
  const buf = fromHex('a0 60 00 01 00000000 00000000 00 00 00 04');
  const p = parseRtpPacket(buf);
  assert.equal(p.payload.length, 0);
  assert.equal(p.paddingLength, 4);
});

test('rejects malformed packets with stable ParseError codes', () => {
  throwsCode(() => parseRtpPacket(MINIMAL.subarray(0, 11)), 'RTP_TOO_SHORT');
  throwsCode(() => parseRtpPacket(Buffer.alloc(0)), 'RTP_TOO_SHORT');
  const v1 = Buffer.from(MINIMAL);
  v1[0] = 0x40;
  throwsCode(() => parseRtpPacket(v1), 'RTP_BAD_VERSION');
  const v0 = Buffer.from(MINIMAL);
  v0[0] = 0x00;
  throwsCode(() => parseRtpPacket(v0), 'RTP_BAD_VERSION');
  // CC=3 but only 12 bytes of header.
  throwsCode(() => parseRtpPacket(fromHex('83600001 00000000 00000000')), 'RTP_TOO_SHORT');
  // X=1 without room for the extension header, and with a length past the end.
  throwsCode(() => parseRtpPacket(fromHex('90600001 00000000 00000000 bede')), 'RTP_BAD_EXTENSION');
  throwsCode(
    () => parseRtpPacket(fromHex('90600001 00000000 00000000 bede0002 00000000')),
    'RTP_BAD_EXTENSION',
  );
  // P=1 with a zero count, and with a count larger than what follows the header.
  throwsCode(() => parseRtpPacket(fromHex('a0600001 00000000 00000000 616200')), 'RTP_BAD_PADDING');
  throwsCode(() => parseRtpPacket(fromHex('a0600001 00000000 00000000 616205')), 'RTP_BAD_PADDING');
  // The padding count may not reach back into the extension.
  throwsCode(
    () => parseRtpPacket(fromHex('b0600001 00000000 00000000 bede0001 10aa0000 0003')),
    'RTP_BAD_PADDING',
  );
});

test('serialize rejects out-of-range fields with RangeError', () => {
  const base: RtpPacket = {
    marker: false,
    payloadType: 0,
    sequenceNumber: 0,
    timestamp: 0,
    ssrc: 0,
    csrcs: [],
    payload: Buffer.alloc(0),
  };
  assert.throws(() => serializeRtpPacket({ ...base, payloadType: 128 }), RangeError);
  assert.throws(() => serializeRtpPacket({ ...base, sequenceNumber: 65536 }), RangeError);
  assert.throws(() => serializeRtpPacket({ ...base, timestamp: -1 }), RangeError);
  assert.throws(() => serializeRtpPacket({ ...base, ssrc: 2 ** 32 }), RangeError);
  assert.throws(() => serializeRtpPacket({ ...base, csrcs: new Array<number>(16).fill(1) }), RangeError);
  assert.throws(() => serializeRtpPacket({ ...base, paddingLength: 256 }), RangeError);
  assert.throws(() => serializeRtpPacket({ ...base, padding: true }), RangeError);
  assert.throws(
    () => serializeRtpPacket({ ...base, extension: { profile: 0xbede, data: Buffer.alloc(3) } }),
    RangeError,
  );
});

test('hot-path readers and in-place header rewrite', () => {
  const buf = Buffer.from(FULL);
  assert.equal(readRtpSequence(buf), 65535);
  assert.equal(readRtpTimestamp(buf), 1);
  assert.equal(readRtpSsrc(buf), 0xcafebabe);
  assert.equal(readRtpMarker(buf), false);
  assert.equal(readRtpMarker(MINIMAL), true);
  assert.equal(readRtpPayloadType(buf), 8);

  // Running counters are reduced modulo 2^16 / 2^32.
  rewriteRtpHeader(buf, 65536 + 7, 2 ** 32 + 5, 0x1234abcd);
  const p = parseRtpPacket(buf);
  assert.equal(p.sequenceNumber, 7);
  assert.equal(p.timestamp, 5);
  assert.equal(p.ssrc, 0x1234abcd);
  // Everything else untouched.
  assert.deepEqual(buf.subarray(12), FULL.subarray(12));
  assert.deepEqual(buf.subarray(0, 2), FULL.subarray(0, 2));

  rewriteRtpPayloadType(buf, 97);
  assert.equal(readRtpPayloadType(buf), 97);
  const m = Buffer.from(MINIMAL);
  rewriteRtpPayloadType(m, 100);
  assert.equal(readRtpMarker(m), true, 'marker kept');
  assert.equal(readRtpPayloadType(m), 100);

  throwsCode(() => readRtpSequence(Buffer.alloc(11)), 'RTP_TOO_SHORT');
  throwsCode(() => {
    rewriteRtpHeader(Buffer.alloc(4), 1, 1, 1);
  }, 'RTP_TOO_SHORT');
});

test('RFC 8285 one-byte elements: padding, ID 15 stops, overrun rejected', () => {
  const ext = {
    profile: RTP_EXT_ONE_BYTE_PROFILE,
    // ID 1 L=1 (2 bytes), padding 00, ID 2 L=0 (1 byte), ID 15 stops everything after it.
    data: fromHex('11 aabb 00 20 cc f0 ff ff 00 00 00'),
  };
  assert.deepEqual(parseRtpExtensionElements(ext), [
    { id: 1, data: fromHex('aabb') },
    { id: 2, data: fromHex('cc') },
  ]);
  // ID 3 claims 16 bytes in a 4-byte extension.
  throwsCode(
    () => parseRtpExtensionElements({ profile: 0xbede, data: fromHex('3f000000') }),
    'RTP_BAD_EXTENSION',
  );
  assert.equal(parseRtpExtensionElements({ profile: 0xabac, data: Buffer.alloc(4) }), undefined);
});

test('RFC 8285 two-byte elements, including zero-length ones', () => {
  const ext = { profile: 0x1003, data: fromHex('01 02 abcd 00 03 00 00') };
  assert.ok(isTwoByteExtension(ext.profile));
  assert.deepEqual(parseRtpExtensionElements(ext), [
    { id: 1, data: fromHex('abcd') },
    { id: 3, data: Buffer.alloc(0) },
  ]);
  throwsCode(
    () => parseRtpExtensionElements({ profile: 0x1000, data: fromHex('0105aabb') }),
    'RTP_BAD_EXTENSION',
  );
  throwsCode(
    () => parseRtpExtensionElements({ profile: 0x1000, data: fromHex('000000 07') }),
    'RTP_BAD_EXTENSION',
  );
});

test('serializeRtpExtensionElements picks the form and pads to 32 bits', () => {
  const one = serializeRtpExtensionElements([
    { id: 1, data: fromHex('aabb') },
    { id: 14, data: fromHex('cc') },
  ]);
  assert.deepEqual(one, { profile: 0xbede, data: fromHex('11aabb e0cc 000000') });
  const two = serializeRtpExtensionElements([{ id: 20, data: Buffer.alloc(0) }]);
  assert.deepEqual(two, { profile: 0x1000, data: fromHex('1400 0000') });
  assert.throws(
    () => serializeRtpExtensionElements([{ id: 15, data: fromHex('00') }], 'one-byte'),
    RangeError,
  );
  assert.throws(() => serializeRtpExtensionElements([{ id: 0, data: fromHex('00') }]), RangeError);
});

test('random initial values are in range; ssrcFromBytes is deterministic', () => {
  for (let i = 0; i < 100; i++) {
    const s = randomSsrc();
    assert.ok(Number.isInteger(s) && s >= 0 && s <= 0xffffffff);
    const q = randomSequenceNumber();
    assert.ok(Number.isInteger(q) && q >= 0 && q <= 0xffff);
    const t = randomRtpTimestamp();
    assert.ok(Number.isInteger(t) && t >= 0 && t <= 0xffffffff);
  }
  assert.equal(ssrcFromBytes(fromHex('ffeeddcc')), 0xffeeddcc);
  assert.throws(() => ssrcFromBytes(fromHex('ff')), RangeError);
});

test('real ffmpeg H.264 packets: header fields, FU-A fragments, exact re-serialization', () => {
  const srSsrc = fromHex(ffmpegSr.hex).readUInt32BE(4);
  const packets = ffmpegRtp.map((c) => {
    const buf = fromHex(c.hex);
    const p = parseRtpPacket(buf);
    assert.equal(p.version, 2);
    assert.equal(p.payloadType, 96);
    assert.equal(p.ssrc, srSsrc, 'same SSRC as the SR');
    assert.deepEqual(p.csrcs, []);
    assert.equal(p.extension, undefined);
    assert.equal(p.padding, undefined);
    assert.deepEqual(serializeRtpPacket(p), buf);
    assert.equal(readRtpSequence(buf), p.sequenceNumber);
    assert.equal(readRtpTimestamp(buf), p.timestamp);
    assert.equal(readRtpMarker(buf), p.marker);
    return p;
  });
  const [sei, ...fu] = packets;
  assert.equal(sei!.payload[0]! & 0x1f, 6, 'single NAL unit: SEI');
  assert.equal(sei!.marker, false);
  // One access unit in four FU-A fragments: consecutive sequence numbers, one timestamp,
  // S bit on the first, E bit and the RTP marker on the last (RFC 6184 §5.8).
  assert.equal(fu.length, 4);
  fu.forEach((p, i) => {
    assert.equal(p.payload[0]! & 0x1f, 28, 'FU-A indicator');
    assert.equal(p.sequenceNumber, (fu[0]!.sequenceNumber + i) & 0xffff);
    assert.equal(p.timestamp, fu[0]!.timestamp);
    const header = p.payload[1]!;
    assert.equal((header & 0x80) !== 0, i === 0, 'start bit');
    assert.equal((header & 0x40) !== 0, i === 3, 'end bit');
    assert.equal(p.marker, i === 3);
  });
  assert.equal(fu[0]!.payload.length, 1472 - 12);
});

test('real GStreamer packets: AUD, SPS, PPS, FU-A end', () => {
  const [aud, sps, pps, end] = gstRtp.map((c) => parseRtpPacket(fromHex(c.hex)));
  for (const p of [aud!, sps!, pps!, end!]) {
    assert.equal(p.payloadType, 96);
    assert.equal(p.ssrc, aud!.ssrc);
  }
  assert.equal(aud!.payload[0]! & 0x1f, 9);
  assert.equal(sps!.payload[0]! & 0x1f, 7);
  assert.equal(sps!.payload[1], 0x42, 'profile_idc 66 (baseline)');
  assert.equal(pps!.payload[0]! & 0x1f, 8);
  assert.equal(sps!.sequenceNumber, (aud!.sequenceNumber + 1) & 0xffff);
  assert.equal(end!.marker, true);
  assert.equal(end!.payload[1]! & 0x40, 0x40, 'FU-A end bit');
});

// Arbitraries produce packets in the exact shape the parser returns.
const u32 = fc.nat({ max: 0xffffffff });
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const arbRtp: fc.Arbitrary<RtpPacket> = fc
  .record({
    marker: fc.boolean(),
    payloadType: fc.nat({ max: 127 }),
    sequenceNumber: fc.nat({ max: 0xffff }),
    timestamp: u32,
    ssrc: u32,
    csrcs: fc.array(u32, { maxLength: 15 }),
    extension: fc.option(
      fc.record({
        profile: fc.nat({ max: 0xffff }),
        data: fc
          .nat({ max: 16 })
          .chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 })),
      }),
      { nil: undefined },
    ),
    payload: bytes(300),
    paddingLength: fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined }),
  })
  .map((r) => {
    const p: RtpPacket = {
      version: 2,
      marker: r.marker,
      payloadType: r.payloadType,
      sequenceNumber: r.sequenceNumber,
      timestamp: r.timestamp,
      ssrc: r.ssrc,
      csrcs: r.csrcs,
      payload: r.payload,
    };
    if (r.extension) p.extension = { profile: r.extension.profile, data: Buffer.from(r.extension.data) };
    if (r.paddingLength !== undefined) {
      p.padding = true;
      p.paddingLength = r.paddingLength;
    }
    return p;
  });

test('parse(serialize(p)) deep-equals p (property)', () => {
  fc.assert(
    fc.property(arbRtp, (p) => {
      const wire = serializeRtpPacket(p);
      assert.deepEqual(parseRtpPacket(wire), p);
      assert.equal(readRtpSequence(wire), p.sequenceNumber);
      assert.equal(readRtpTimestamp(wire), p.timestamp);
      assert.equal(readRtpSsrc(wire), p.ssrc);
      assert.equal(readRtpMarker(wire), p.marker);
    }),
    { numRuns: 500 },
  );
});

test('RFC 8285 elements round-trip (property)', () => {
  const element = fc
    .record({ id: fc.integer({ min: 1, max: 255 }), data: bytes(255) })
    .map(({ id, data }) => ({ id, data }));
  fc.assert(
    fc.property(fc.array(element, { maxLength: 10 }), (elements) => {
      const ext = serializeRtpExtensionElements(elements);
      assert.equal(ext.data.length % 4, 0);
      assert.deepEqual(parseRtpExtensionElements(ext), elements);
      const wire = serializeRtpPacket({
        marker: false,
        payloadType: 96,
        sequenceNumber: 1,
        timestamp: 2,
        ssrc: 3,
        csrcs: [],
        extension: ext,
        payload: Buffer.alloc(0),
      });
      assert.deepEqual(parseRtpExtensionElements(parseRtpPacket(wire).extension!), elements);
    }),
    { numRuns: 300 },
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
      onlyParseErrors(() => {
        const p = parseRtpPacket(Buffer.from(a));
        if (p.extension) parseRtpExtensionElements(p.extension);
      });
    }),
    { numRuns: 2000 },
  );
  // Mutations of valid packets reach deeper than random bytes, which mostly fail the version check.
  fc.assert(
    fc.property(
      arbRtp,
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }),
      fc.nat(),
      (p, flips, cut) => {
        const wire = Buffer.from(serializeRtpPacket(p));
        for (const [at, value] of flips) wire[at % wire.length] = value;
        const truncated = wire.subarray(0, cut % (wire.length + 1));
        onlyParseErrors(() => {
          const q = parseRtpPacket(truncated);
          if (q.extension) parseRtpExtensionElements(q.extension);
        });
      },
    ),
    { numRuns: 2000 },
  );
});

test('readRtpPayloadLength and readRtpPayload agree with parseRtpPacket (CSRCs, extension, padding)', () => {
  const base = { marker: false, payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3 };
  const cases = [
    { ...base, csrcs: [], payload: Buffer.alloc(10, 1) },
    { ...base, csrcs: [7, 8], payload: Buffer.alloc(5, 2) },
    { ...base, csrcs: [9], extension: { profile: 0xbede, data: Buffer.alloc(8) }, payload: Buffer.alloc(3) },
    { ...base, csrcs: [], padding: true, paddingLength: 4, payload: Buffer.alloc(6) },
  ];
  for (const c of cases) {
    const bytes = serializeRtpPacket(c);
    assert.equal(readRtpPayloadLength(bytes), parseRtpPacket(bytes).payload.length);
    assert.deepEqual(readRtpPayload(bytes), parseRtpPacket(bytes).payload);
  }
});

test('readRtpHeader: the fields and payload of parseRtpPacket when it accepts, the clamped readers always', () => {
  assert.equal(readRtpHeader(Buffer.alloc(11)), undefined);
  const good = arbRtp.map(serializeRtpPacket);
  const anyBytes = fc.uint8Array({ minLength: 12, maxLength: 80 }).map((a) => Buffer.from(a));
  fc.assert(
    fc.property(fc.oneof(good, anyBytes), (b) => {
      const h = readRtpHeader(b)!;
      assert.equal(h.sequenceNumber, readRtpSequence(b));
      assert.equal(h.timestamp, readRtpTimestamp(b));
      assert.equal(h.ssrc, readRtpSsrc(b));
      assert.equal(h.marker, readRtpMarker(b));
      assert.equal(h.payloadType, readRtpPayloadType(b));
      assert.equal(h.payloadLength, readRtpPayloadLength(b));
      assert.deepEqual(payloadOf(b, h), readRtpPayload(b));
      let parsed: RtpPacket | undefined;
      try {
        parsed = parseRtpPacket(b);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
      }
      assert.equal(h.wellFormed, parsed !== undefined);
      if (parsed !== undefined) assert.deepEqual(payloadOf(b, h), parsed.payload);
    }),
  );
});
