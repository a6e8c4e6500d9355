/**
 * Where a client sink's access units stand in time: RTP carries no clock shared by the tracks, but a
 * PLAY reply's RTP-Info (RFC 2326 §12.33) gives each track's `rtptime` at the start of the range played,
 * one instant for every track. From it, a unit's instant is its pts's distance to that rtptime (its
 * unwrapped pts keeps counting past 2^32), so tracks are placed by their clocks, not by arrival, which
 * a publisher's audio aggregation (ffmpeg: up to 0.7 s of AAC per packet) and a server's GOP-cache
 * burst both make wrong. rtspkit's server gives rtptimes on the Stream's clock line (one instant for
 * all tracks). Without an rtptime for every track, the sink keeps placing by arrival.
 */
import { isParseError } from '../base/errors.js';
import { tsDiff32 } from '../base/seq.js';
import { sameUrl } from '../client/urls.js';
import { parseRtpInfo } from '../rtsp/rtp-info.js';
import type { AccessUnit } from '../format/access-unit.js';

/** Per source track: the RTP-Info rtptime of the play start, and the first unit's pts and instant. */
export class PlayStartLine {
  readonly #rtptimes: ReadonlyMap<number, number>;
  readonly #first = new Map<number, { pts: number; instantMs: number }>();

  /** `rtptimes`: source track index → its RTP-Info rtptime. */
  constructor(rtptimes: ReadonlyMap<number, number>) {
    this.#rtptimes = rtptimes;
  }

  /** True when every one of `tracks` (source indices) has an rtptime. */
  covers(tracks: readonly number[]): boolean {
    return tracks.every((t) => this.#rtptimes.has(t));
  }

  /** Ms after the play start that `au`'s pts stands for; undefined for a track without an rtptime. */
  instantMs(track: number, au: AccessUnit): number | undefined {
    const first = this.#first.get(track);
    if (first !== undefined) return first.instantMs + ((au.pts - first.pts) * 1000) / au.clockRate;
    const rtptime = this.#rtptimes.get(track);
    if (rtptime === undefined) return undefined;
    // The first unit within ±2^31 ticks of the rtptime (hours at 90 kHz); later ones by unwrapped pts.
    const instantMs = (tsDiff32(rtptime, au.pts >>> 0) * 1000) / au.clockRate;
    this.#first.set(track, { pts: au.pts, instantMs });
    return instantMs;
  }
}

/**
 * The rtptimes of a PLAY reply's `RTP-Info` (§12.33) by source track index, matched by control URL;
 * empty when the header is missing or malformed (a hostile or odd server: placed by arrival then).
 */
export function rtpInfoTimes(
  header: string | undefined,
  tracks: readonly { index: number; controlUrl: string }[],
): Map<number, number> {
  const out = new Map<number, number>();
  if (header === undefined) return out;
  let entries;
  try {
    entries = parseRtpInfo(header);
  } catch (e) {
    if (isParseError(e)) return out;
    throw e;
  }
  for (const entry of entries) {
    if (entry.rtptime === undefined) continue;
    const track = tracks.find((t) => sameUrl(t.controlUrl, entry.url));
    if (track !== undefined) out.set(track.index, entry.rtptime);
  }
  return out;
}
