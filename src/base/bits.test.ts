import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitReader, BitWriter } from './bits.js';
import { ParseError } from './errors.js';
import { ntpToUnixMs, unixMsToNtp, ntpMiddle32 } from './clock.js';

test('BitReader reads fields and Exp-Golomb codes', () => {
  // 1 | 010 (ue=1) | 011 (ue=2) | 00100 (ue=3) -> bits 1010 0110 0100 .... = 0xa6 0x40
  const r = new BitReader(Buffer.from([0xa6, 0x40]));
  assert.equal(r.readBit(), 1);
  assert.equal(r.readUE(), 1);
  assert.equal(r.readUE(), 2);
  assert.equal(r.readUE(), 3);
  assert.equal(r.bitsLeft, 4);
  assert.throws(() => r.readBits(5), ParseError);
});

test('BitWriter and BitReader round-trip (property)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.integer({ min: 0, max: 100000 }), fc.integer({ min: -5000, max: 5000 }), fc.nat(0xffff)),
      ),
      (items) => {
        const w = new BitWriter();
        for (const [u, s, b] of items) {
          w.writeUE(u);
          w.writeSE(s);
          w.writeBits(b, 16);
        }
        const r = new BitReader(w.finish());
        for (const [u, s, b] of items) {
          assert.equal(r.readUE(), u);
          assert.equal(r.readSE(), s);
          assert.equal(r.readBits(16), b);
        }
      },
    ),
  );
});

test('NTP conversion round-trips to within a microsecond', () => {
  const ms = 1_700_000_000_123.456;
  const ntp = unixMsToNtp(ms);
  assert.equal(ntp.seconds, 1_700_000_000 + 2_208_988_800);
  assert.ok(Math.abs(ntpToUnixMs(ntp) - ms) < 0.001);
  assert.equal(ntpMiddle32({ seconds: 0x12345678, fraction: 0x9abcdef0 }), 0x56789abc);
});
