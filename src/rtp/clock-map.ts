/**
 * RTP timestamp <-> wall clock mapping through sender reports (RFC 3550 §6.4.1): an SR pairs an
 * NTP time with the RTP timestamp of the same instant, which lets receivers place RTP time on the
 * sender's wall clock (lip sync between streams, absolute timestamps) and lets senders compute the
 * round-trip time from the LSR/DLSR fields that come back in report blocks.
 */
import { ntpMiddle32, ntpToUnixMs, unixMsToNtp } from '../base/clock.js';
import { tsAdd32, tsDiff32 } from '../base/seq.js';
import type { ReportBlock, SenderReport } from './rtcp.js';

export interface SenderReportInput {
  ssrc: number;
  clockRate: number;
  /** RTP timestamp of the last packet sent (or any timestamp whose wall time is known). */
  lastRtpTimestamp: number;
  /** Wall-clock time (Unix ms) that `lastRtpTimestamp` corresponds to. */
  lastWallMs: number;
  /** Wall-clock time (Unix ms) at which the SR is sent. */
  nowMs: number;
  packetCount: number;
  octetCount: number;
  reports?: ReportBlock[];
}

/**
 * Builds an SR for "now": the RTP timestamp is extrapolated from the last sent packet at the
 * nominal clock rate (§6.4.1 asks for the timestamp of the SR instant, which usually lies between
 * packets), and the NTP time is `nowMs`.
 */
export function senderReportFor(input: SenderReportInput): SenderReport {
  const elapsedTicks = Math.round(((input.nowMs - input.lastWallMs) * input.clockRate) / 1000);
  return {
    type: 'sr',
    ssrc: input.ssrc >>> 0,
    ntp: unixMsToNtp(input.nowMs),
    rtpTimestamp: tsAdd32(input.lastRtpTimestamp >>> 0, elapsedTicks),
    packetCount: input.packetCount % 0x100000000,
    octetCount: input.octetCount % 0x100000000,
    reports: input.reports ?? [],
  };
}

type SrTiming = Pick<SenderReport, 'ntp' | 'rtpTimestamp'>;

/**
 * Maps an RTP timestamp to the sender's wall clock (Unix ms) using a sender report. The timestamp
 * is taken as the nearest to the SR's modulo 2^32, so it works across the 32-bit wrap within
 * ±2^31 ticks of the report (about 6.6 h at 90 kHz, 12.4 h at 48 kHz).
 */
export function rtpToWallMs(rtpTimestamp: number, sr: SrTiming, clockRate: number): number {
  return ntpToUnixMs(sr.ntp) + (tsDiff32(sr.rtpTimestamp, rtpTimestamp >>> 0) * 1000) / clockRate;
}

/** The inverse of `rtpToWallMs`: the RTP timestamp (32 bits, rounded) of a sender wall-clock time. */
export function wallMsToRtp(wallMs: number, sr: SrTiming, clockRate: number): number {
  const ticks = Math.round(((wallMs - ntpToUnixMs(sr.ntp)) * clockRate) / 1000);
  return tsAdd32(sr.rtpTimestamp, ticks);
}

/**
 * Round-trip time from a report block about our stream, §6.4.1: RTT = A - LSR - DLSR in units of
 * 1/65536 s, where A is the arrival time of the report as middle-32 NTP. Returns undefined when the
 * block refers to no SR (LSR 0). Clock offsets cancel out since A and LSR are both our clock.
 */
export function roundTripMs(
  block: Pick<ReportBlock, 'lsr' | 'dlsr'>,
  arrivalWallMs: number,
): number | undefined {
  if (block.lsr === 0) return undefined;
  const a = ntpMiddle32(unixMsToNtp(arrivalWallMs));
  // Unsigned 32-bit arithmetic: the middle-32 NTP time wraps every 65536 s.
  const rtt = (a - block.lsr - block.dlsr) >>> 0;
  // A "negative" RTT (clock skew, bogus DLSR) shows up as a huge unsigned value.
  if (rtt >= 0x80000000) return 0;
  return (rtt * 1000) / 65536;
}
