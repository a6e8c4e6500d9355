/**
 * One timeline across the upstream sessions of a pull (rtsp-pull.ts). Each session the pull opens
 * starts with its own random sequence number and timestamp bases (RFC 3550 §5.1) and its own SSRC;
 * readers of the path must see none of that: their sequence numbers go on by one, their timestamps jump
 * by the length of the outage, and their SSRC stays (the Stream gives each reader its own SSRC already).
 *
 * Per track, the first packet of a new session is placed after the last one sent: sequence number + 1,
 * timestamp + the wall time between the two arrivals in the track's clock.
 *
 * The tracks must also keep the upstream's alignment. The PLAY reply's RTP-Info gives every track's
 * rtptime of one instant (RFC 2326 §12.33; gst-rtsp-server's agree to 0.01 ms in its sender reports).
 * When the session's first packet arrives, on whichever track, that instant is placed on our clock from
 * it, and every track with an rtptime gets its offset from that one instant. Placing each track by its
 * own first arrival instead puts the tracks as far apart as their first packets' delays differ: a
 * restarting upstream under load sent one track up to a second late, readers' sender reports then
 * moved that track against the other, and GStreamer's lip sync (rtpbin) stepped its pts back by as
 * much. Tracks without an rtptime are still placed by their own first arrival.
 * Sans-I/O: arrival times come in as arguments.
 */
import { seqAdd16, tsAdd32 } from '../base/seq.js';

interface TrackLine {
  clockRate: number;
  /** Added to the upstream's numbers of the current session (mod 2^16, 2^32); undefined until its first packet. */
  seqOffset: number | undefined;
  timestampOffset: number | undefined;
  /** The last packet sent, in our numbering, and when it arrived. */
  lastSeq: number | undefined;
  lastTimestamp: number | undefined;
  lastArrivalMs: number;
}

export interface RewrittenNumbers {
  sequenceNumber: number;
  timestamp: number;
}

export class PullContinuity {
  readonly #tracks: TrackLine[];
  /** The new session's RTP-Info rtptime per track (undefined: none), until its first packet places them. */
  #pendingRtpTimes: readonly (number | undefined)[] | undefined;

  constructor(clockRates: readonly number[]) {
    this.#tracks = clockRates.map((clockRate) => ({
      clockRate,
      seqOffset: undefined,
      timestampOffset: undefined,
      lastSeq: undefined,
      lastTimestamp: undefined,
      lastArrivalMs: 0,
    }));
  }

  /**
   * A new upstream session begins: each track's next packet is placed after its last one.
   * `rtpTimes`: per track, the RTP-Info rtptime of the PLAY reply (§12.33), one instant for all tracks.
   */
  newSession(rtpTimes: readonly (number | undefined)[] = []): void {
    for (const t of this.#tracks) {
      t.seqOffset = undefined;
      t.timestampOffset = undefined;
    }
    this.#pendingRtpTimes = rtpTimes.some((v) => v !== undefined) ? rtpTimes : undefined;
  }

  /**
   * At the new session's first packet (`track`, `timestamp`, `arrivalMs`): the RTP-Info instant on our
   * clock, and the timestamp offset of every track that has an rtptime, placed at that instant.
   */
  #placeAtRtpInfoInstant(track: number, timestamp: number, arrivalMs: number): void {
    const rtpTimes = this.#pendingRtpTimes;
    this.#pendingRtpTimes = undefined;
    const first = rtpTimes?.[track];
    if (rtpTimes === undefined || first === undefined) return;
    const sinceInstantTicks = tsAdd32(timestamp, -first) | 0; // signed: the first packet may precede it
    const instantMs = arrivalMs - (sinceInstantTicks * 1000) / this.#tracks[track]!.clockRate;
    this.#tracks.forEach((t, i) => {
      const rtpTime = rtpTimes[i];
      if (rtpTime === undefined || t.lastTimestamp === undefined) return;
      const ticks = Math.round(((instantMs - t.lastArrivalMs) * t.clockRate) / 1000);
      t.timestampOffset = tsAdd32(tsAdd32(t.lastTimestamp, Math.max(1, ticks)), -rtpTime);
    });
  }

  /** Our numbers for an upstream packet of `track` that arrived at `arrivalMs` (monotonic). */
  rewrite(track: number, sequenceNumber: number, timestamp: number, arrivalMs: number): RewrittenNumbers {
    const t = this.#tracks[track];
    if (t === undefined) throw new RangeError(`no track ${track}`);
    if (t.seqOffset === undefined) {
      if (t.lastSeq === undefined || t.lastTimestamp === undefined) {
        // The first session: upstream numbers pass as they are.
        t.seqOffset = 0;
        t.timestampOffset = 0;
      } else {
        if (this.#pendingRtpTimes !== undefined) this.#placeAtRtpInfoInstant(track, timestamp, arrivalMs);
        t.seqOffset = seqAdd16(t.lastSeq + 1, -sequenceNumber);
        // A first packet the instant would put at or before the last one sent (it preceded the
        // RTP-Info instant by more than the outage) is placed by its arrival: never a step back.
        const placed = t.timestampOffset === undefined ? 0 : tsAdd32(timestamp, t.timestampOffset);
        if (t.timestampOffset === undefined || (tsAdd32(placed, -t.lastTimestamp) | 0) <= 0) {
          const gapMs = Math.max(0, arrivalMs - t.lastArrivalMs);
          const next = tsAdd32(t.lastTimestamp, Math.max(1, Math.round((gapMs * t.clockRate) / 1000)));
          t.timestampOffset = tsAdd32(next, -timestamp);
        }
      }
    }
    const out = {
      sequenceNumber: seqAdd16(sequenceNumber, t.seqOffset),
      timestamp: tsAdd32(timestamp, t.timestampOffset!),
    };
    t.lastSeq = out.sequenceNumber;
    t.lastTimestamp = out.timestamp;
    t.lastArrivalMs = arrivalMs;
    return out;
  }

  /**
   * A sender report's RTP timestamp (RFC 3550 §6.4.1) in our numbering; undefined before the session's
   * first packet on the track (no offset yet: the report is dropped).
   */
  senderReportTimestamp(track: number, timestamp: number): number | undefined {
    const offset = this.#tracks[track]?.timestampOffset;
    return offset === undefined ? undefined : tsAdd32(timestamp, offset);
  }
}
