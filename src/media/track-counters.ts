/**
 * What a stream counts per track of its publisher, and where the track's RTP time sits on the
 * monotonic clock (what readers' sender reports are built from).
 */
import { tsDiff32 } from '../base/seq.js';

export interface TrackCounters {
  packetsIn: number;
  bytesIn: number;
  lastRtpTimestamp: number | undefined;
  /** Monotonic ms when the last packet was ingested. */
  lastArrivalMs: number;
  /**
   * Where the track's RTP time sits on the monotonic clock: a timestamp and its instant, from the
   * publisher's sender reports when it sends them, else from the first packet's arrival. Readers' sender
   * reports extrapolate from it at the nominal clock rate, so they do not carry each packet's arrival
   * jitter (receivers would see their A/V sync wobble by it at every report).
   */
  timing: RtpTiming | undefined;
  /** The publisher's last sender report on this track: an RTP timestamp and its NTP time (Unix ms). */
  senderReport: { rtpTimestamp: number; ntpUnixMs: number } | undefined;
}

export interface RtpTiming {
  rtpTimestamp: number;
  monotonicMs: number;
  /** Set from the publisher's RTCP SR (RFC 3550 §6.4.1) rather than from packet arrival. */
  fromSenderReport: boolean;
}

/**
 * When a packet arrives this far from where the timing puts its timestamp, the publisher's timeline has
 * jumped (restart, discontinuity) or drifted: the timing is taken again from this packet. B-frames'
 * timestamps run a few frames ahead of arrival, well inside it.
 */
export const TIMING_RESYNC_MS = 1000;

/**
 * How far a reader's timing line moves toward the stream's at each of its sender reports. A millisecond
 * per report is far below what a receiver's A/V sync notices (one audio frame is 20+ ms), and still
 * follows a publisher clock drifting by 1000 ppm at one report a second.
 */
export const READER_TIMING_STEP_MS = 1;

export function newTrackCounters(): TrackCounters {
  return {
    packetsIn: 0,
    bytesIn: 0,
    lastRtpTimestamp: undefined,
    lastArrivalMs: 0,
    timing: undefined,
    senderReport: undefined,
  };
}

/** The monotonic instant of an RTP timestamp on a timing line. */
export function monotonicMsOf(timing: RtpTiming, rtpTimestamp: number, clockRate: number): number {
  return timing.monotonicMs + (tsDiff32(timing.rtpTimestamp, rtpTimestamp) * 1000) / clockRate;
}

/** Counts a packet of `sizeBytes` with `timestamp` arriving at `nowMs`, and keeps the timing line. */
export function countArrival(
  counters: TrackCounters,
  timestamp: number,
  sizeBytes: number,
  nowMs: number,
  clockRate: number,
): void {
  counters.packetsIn++;
  counters.bytesIn += sizeBytes;
  counters.lastRtpTimestamp = timestamp;
  counters.lastArrivalMs = nowMs;
  const timing = counters.timing;
  if (timing === undefined) {
    counters.timing = { rtpTimestamp: timestamp, monotonicMs: nowMs, fromSenderReport: false };
  } else if (
    !timing.fromSenderReport &&
    Math.abs(monotonicMsOf(timing, timestamp, clockRate) - nowMs) > TIMING_RESYNC_MS
  ) {
    timing.rtpTimestamp = timestamp;
    timing.monotonicMs = nowMs;
  }
}

/**
 * A reader's timing line one sender report later: the stream's line when the two are more than
 * TIMING_RESYNC_MS apart (the publisher's timeline jumped, and the reader's packets with it), else its
 * own moved toward the stream's by at most `maxStepMs`.
 */
export function followTiming(
  reader: RtpTiming | undefined,
  stream: RtpTiming,
  clockRate: number,
  maxStepMs = READER_TIMING_STEP_MS,
): RtpTiming {
  if (reader === undefined) return { ...stream };
  const apartMs = monotonicMsOf(reader, stream.rtpTimestamp, clockRate) - stream.monotonicMs;
  if (Math.abs(apartMs) > TIMING_RESYNC_MS) return { ...stream };
  const stepMs = Math.max(-maxStepMs, Math.min(maxStepMs, apartMs));
  return {
    rtpTimestamp: stream.rtpTimestamp,
    monotonicMs: stream.monotonicMs + apartMs - stepMs,
    fromSenderReport: stream.fromSenderReport,
  };
}
