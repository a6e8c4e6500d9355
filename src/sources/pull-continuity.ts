/**
 * One timeline across the upstream sessions of a pull (rtsp-pull.ts). Each session the pull opens
 * starts with its own random sequence number and timestamp bases (RFC 3550 §5.1) and its own SSRC;
 * readers of the path must see none of that: their sequence numbers go on by one, their timestamps jump
 * by the length of the outage, and their SSRC stays (the Stream gives each reader its own SSRC already).
 *
 * Per track, the first packet of a new session is placed after the last one sent: sequence number + 1,
 * timestamp + the wall time between the two arrivals in the track's clock. Each track is placed by its
 * own arrivals, so the tracks may land a few tens of ms apart from where the upstream had them; the
 * upstream's sender reports (rewritten by `senderReportTimestamp`) then bring the Stream's lines back.
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

  /** A new upstream session begins: each track's next packet is placed after its last one. */
  newSession(): void {
    for (const t of this.#tracks) {
      t.seqOffset = undefined;
      t.timestampOffset = undefined;
    }
  }

  /** Our numbers for an upstream packet of `track` that arrived at `arrivalMs` (monotonic). */
  rewrite(track: number, sequenceNumber: number, timestamp: number, arrivalMs: number): RewrittenNumbers {
    const t = this.#tracks[track];
    if (t === undefined) throw new RangeError(`no track ${track}`);
    if (t.seqOffset === undefined || t.timestampOffset === undefined) {
      if (t.lastSeq === undefined || t.lastTimestamp === undefined) {
        // The first session: upstream numbers pass as they are.
        t.seqOffset = 0;
        t.timestampOffset = 0;
      } else {
        const gapMs = Math.max(0, arrivalMs - t.lastArrivalMs);
        const next = tsAdd32(t.lastTimestamp, Math.max(1, Math.round((gapMs * t.clockRate) / 1000)));
        t.seqOffset = seqAdd16(t.lastSeq + 1, -sequenceNumber);
        t.timestampOffset = tsAdd32(next, -timestamp);
      }
    }
    const out = {
      sequenceNumber: seqAdd16(sequenceNumber, t.seqOffset),
      timestamp: tsAdd32(timestamp, t.timestampOffset),
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
