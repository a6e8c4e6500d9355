import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NTP_UNIX_OFFSET_S, ntpMiddle32, ntpToUnixMs, unixMsToNtp } from '../base/clock.js';
import { roundTripMs, rtpToWallMs, senderReportFor, wallMsToRtp } from './clock-map.js';
import { parseRtcpCompound, serializeRtcpCompound } from './rtcp.js';
import { RtpReceiverStats, RtpSenderStats } from './stats.js';

const T0 = 1_700_000_000_000;

test('senderReportFor extrapolates the RTP timestamp from the last packet to now', () => {
  const sr = senderReportFor({
    ssrc: 0x1234,
    clockRate: 90000,
    lastRtpTimestamp: 1000,
    lastWallMs: T0,
    nowMs: T0 + 1000,
    packetCount: 25,
    octetCount: 30000,
  });
  assert.deepEqual(sr, {
    type: 'sr',
    ssrc: 0x1234,
    ntp: unixMsToNtp(T0 + 1000),
    rtpTimestamp: 91000,
    packetCount: 25,
    octetCount: 30000,
    reports: [],
  });
  // Across the 32-bit wrap, and with 32-bit wrapping counts.
  const wrapped = senderReportFor({
    ssrc: 1,
    clockRate: 90000,
    lastRtpTimestamp: 0xffffff00,
    lastWallMs: T0,
    nowMs: T0 + 1000,
    packetCount: 2 ** 32 + 3,
    octetCount: 2 ** 33 + 7,
  });
  assert.equal(wrapped.rtpTimestamp, (0xffffff00 + 90000) % 2 ** 32);
  assert.equal(wrapped.packetCount, 3);
  assert.equal(wrapped.octetCount, 7);
  // "Now" a little before the last packet's time (e.g. B-frame reordering) goes backwards.
  const behind = senderReportFor({
    ssrc: 1,
    clockRate: 8000,
    lastRtpTimestamp: 10,
    lastWallMs: T0,
    nowMs: T0 - 5,
    packetCount: 0,
    octetCount: 0,
  });
  assert.equal(behind.rtpTimestamp, (10 - 40 + 2 ** 32) % 2 ** 32);
  // The SR survives the wire.
  assert.deepEqual(parseRtcpCompound(serializeRtcpCompound([sr])), [sr]);
});

test('rtpToWallMs maps RTP time onto the sender clock, before and after the SR and across the wrap', () => {
  const sr = { ntp: unixMsToNtp(T0), rtpTimestamp: 0xfffff000 };
  const srMs = ntpToUnixMs(sr.ntp);
  assert.equal(rtpToWallMs(0xfffff000, sr, 90000), srMs);
  // 0x1000 ticks to the wrap plus 90000 after it.
  assert.ok(Math.abs(rtpToWallMs(90000, sr, 90000) - (srMs + ((0x1000 + 90000) / 90000) * 1000)) < 1e-6);
  assert.ok(Math.abs(rtpToWallMs(0xfffff000 - 45000, sr, 90000) - (srMs - 500)) < 1e-6);
  assert.equal(wallMsToRtp(srMs + 1000, sr, 90000), (0xfffff000 + 90000) % 2 ** 32);
  assert.equal(wallMsToRtp(srMs - 1000, sr, 90000), 0xfffff000 - 90000);
});

test('RTP <-> wall round-trips within ±2^31 ticks of the SR (property)', () => {
  const u32 = fc.nat({ max: 0xffffffff });
  const clockRate = fc.constantFrom(8000, 16000, 44100, 48000, 90000);
  // NTP seconds from 1970 to 2036 (era 0).
  const wall = fc.integer({ min: 0, max: (2 ** 32 - NTP_UNIX_OFFSET_S - 1) * 1000 });
  fc.assert(
    fc.property(
      u32,
      wall,
      clockRate,
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      (srTs, srWall, rate, offset) => {
        const sr = { ntp: unixMsToNtp(srWall), rtpTimestamp: srTs };
        const ts = (srTs + offset) >>> 0;
        const w = rtpToWallMs(ts, sr, rate);
        assert.ok(Math.abs(w - ntpToUnixMs(sr.ntp) - (offset * 1000) / rate) < 1e-3);
        assert.equal(wallMsToRtp(w, sr, rate), ts);
      },
    ),
    { numRuns: 1000 },
  );
});

test('roundTripMs subtracts LSR and DLSR from the arrival time (§6.4.1)', () => {
  const sentAt = T0 + 0.123;
  const lsr = ntpMiddle32(unixMsToNtp(sentAt));
  const dlsr = Math.round(0.25 * 65536); // the receiver held the SR for 250 ms
  const rtt = roundTripMs({ lsr, dlsr }, sentAt + 250 + 40);
  assert.ok(rtt !== undefined && Math.abs(rtt - 40) < 0.05, `rtt ${rtt}`);
  assert.equal(roundTripMs({ lsr: 0, dlsr: 0 }, T0), undefined);
  // Middle-32 NTP wraps every 65536 s: pick an SR 100 ms before the wrap.
  const wrapMs = (Math.ceil((T0 / 1000 + NTP_UNIX_OFFSET_S) / 65536) * 65536 - NTP_UNIX_OFFSET_S) * 1000;
  const lsrWrap = ntpMiddle32(unixMsToNtp(wrapMs - 100));
  const rttWrap = roundTripMs({ lsr: lsrWrap, dlsr: 65536 / 10 }, wrapMs + 50);
  assert.ok(rttWrap !== undefined && Math.abs(rttWrap - 50) < 0.05, `rtt ${rttWrap}`);
  // A reply "before" the request (skewed DLSR) reads as 0, not as 18 hours.
  assert.equal(roundTripMs({ lsr, dlsr: 65536 }, sentAt + 10), 0);
});

test('sender and receiver statistics meet over SR/RR on the wire', () => {
  const clockRate = 90000;
  const tx = new RtpSenderStats();
  const rx = new RtpReceiverStats(clockRate);
  // 100 packets at 25 fps, sequence wrapping, the 10th lost, 5 ms one-way delay.
  for (let i = 0; i < 100; i++) {
    const ts = (0xfffe0000 + i * 3600) >>> 0;
    const wall = T0 + i * 40;
    tx.onPacketSent(1000, ts, wall);
    if (i !== 10) rx.onPacket((65500 + i) & 0xffff, ts, wall + 5, 1000);
  }
  const nowMs = T0 + 4000;
  const sr = senderReportFor({
    ssrc: 0xaaaa,
    clockRate,
    lastRtpTimestamp: tx.lastRtpTimestamp!,
    lastWallMs: tx.lastWallMs!,
    nowMs,
    packetCount: tx.packetCount,
    octetCount: tx.octetCount,
  });
  const [received] = parseRtcpCompound(serializeRtcpCompound([sr]));
  assert.ok(received?.type === 'sr');
  rx.onSenderReport(received, nowMs + 5);
  // The receiver places the last packet's RTP time at the sender's send time.
  assert.ok(Math.abs(rtpToWallMs(tx.lastRtpTimestamp!, received, clockRate) - (T0 + 99 * 40)) < 0.01);

  const block = rx.reportBlock(0xaaaa, nowMs + 5 + 100);
  assert.equal(block.cumulativeLost, 1);
  assert.equal(block.highestSeq, 65536 + ((65500 + 99) & 0xffff));
  assert.equal(block.jitter, 0);
  const [rr] = parseRtcpCompound(serializeRtcpCompound([{ type: 'rr', ssrc: 0xbbbb, reports: [block] }]));
  assert.ok(rr?.type === 'rr');
  const rtt = roundTripMs(rr.reports[0]!, nowMs + 5 + 100 + 5);
  assert.ok(rtt !== undefined && Math.abs(rtt - 10) < 0.05, `rtt ${rtt}`);
});
