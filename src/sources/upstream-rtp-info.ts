/**
 * An upstream's RTP-Info (RFC 2326 §12.33) by the path's track: what a pull learns from the PLAY reply.
 * Servers name a track in RTP-Info by its control URL, but not always as it was given: with or without
 * the credentials and a trailing slash, or relative (only its last segment). An entry is matched by its
 * URL, else by its last segment, else by its position among the tracks set up.
 */
import { isParseError } from '../base/errors.js';
import { parseRtpInfo, type RtpInfo } from '../rtsp/rtp-info.js';
import { stripCredentials } from '../rtsp/url.js';

export interface TrackRtpInfo {
  /** The path's track index. */
  track: number;
  seq?: number;
  rtptime?: number;
}

/**
 * `header`: the RTP-Info value; `controlUrls`: the control URL of each path track; `setUpTracks`: the
 * path tracks set up, in order (position fallback). A header that does not parse gives no entries.
 */
export function rtpInfoByTrack(
  header: string | undefined,
  controlUrls: readonly string[],
  setUpTracks: readonly number[] = controlUrls.map((_u, i) => i),
): TrackRtpInfo[] {
  if (header === undefined) return [];
  let entries: RtpInfo[];
  try {
    entries = parseRtpInfo(header);
  } catch (e) {
    if (!isParseError(e)) throw e;
    return [];
  }
  const controls = controlUrls.map(plainUrl);
  return entries.flatMap((e, position) => {
    const url = plainUrl(e.url);
    let track = controls.indexOf(url);
    if (track < 0) track = controls.findIndex((c) => lastSegment(c) === lastSegment(url));
    if (track < 0) track = setUpTracks[position] ?? -1;
    if (track < 0) return [];
    return [
      {
        track,
        ...(e.seq !== undefined ? { seq: e.seq } : {}),
        ...(e.rtptime !== undefined ? { rtptime: e.rtptime } : {}),
      },
    ];
  });
}

/** Per path track, the rtptime RTP-Info gives it (undefined where none). */
export function rtpTimesByTrack(
  header: string | undefined,
  controlUrls: readonly string[],
): (number | undefined)[] {
  const times: (number | undefined)[] = controlUrls.map(() => undefined);
  for (const e of rtpInfoByTrack(header, controlUrls)) times[e.track] ??= e.rtptime;
  return times;
}

function plainUrl(url: string): string {
  try {
    return stripCredentials(url).replace(/\/+$/, '');
  } catch (e) {
    if (!isParseError(e)) throw e;
    return url;
  }
}

function lastSegment(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}
