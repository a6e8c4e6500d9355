/**
 * HLS media playlists (RFC 8216), serialization only: what a live server publishes for fMP4 segments.
 *
 *   #EXTM3U
 *   #EXT-X-VERSION:7
 *   #EXT-X-TARGETDURATION:1
 *   #EXT-X-MEDIA-SEQUENCE:12
 *   #EXT-X-INDEPENDENT-SEGMENTS
 *   #EXT-X-MAP:URI="init.mp4"
 *   #EXTINF:1.000,
 *   seg12.m4s
 *
 * Version 7 (§7): EXT-X-MAP in a playlist that is not I-frames-only needs 6 or more; 7 lets the
 * server name it for every segment. EXTINF durations are decimal (version 3 and up), written with
 * millisecond precision.
 */

export interface PlaylistSegment {
  /** As written in the playlist, relative to the playlist's own URL. */
  uri: string;
  durationSeconds: number;
}

export interface MediaPlaylist {
  /** EXT-X-TARGETDURATION: an integer at least every segment's EXTINF rounded to the nearest integer (§4.3.3.1). */
  targetDurationSeconds: number;
  /** EXT-X-MEDIA-SEQUENCE: the sequence number of the first segment listed (§4.3.3.2). */
  mediaSequence: number;
  /** EXT-X-MAP: the init segment (ftyp + moov) every fMP4 segment needs (§4.3.2.5). */
  initUri: string;
  segments: readonly PlaylistSegment[];
  /** EXT-X-INDEPENDENT-SEGMENTS (§4.3.5.1): every segment starts with a random access point. */
  independentSegments: boolean;
  /** EXT-X-ENDLIST (§4.3.3.4): no segment will be added. */
  ended?: boolean;
}

/** The smallest EXT-X-TARGETDURATION that covers `durationsSeconds` (§4.3.3.1 rounds to nearest). */
export function targetDurationFor(durationsSeconds: Iterable<number>, atLeastSeconds = 1): number {
  let target = Math.max(1, Math.ceil(atLeastSeconds));
  for (const d of durationsSeconds) target = Math.max(target, Math.round(d));
  return target;
}

/** A quoted-string attribute value (§4.2) may hold neither `"` nor a line break. */
function quoted(value: string): string {
  if (/["\r\n]/.test(value)) throw new RangeError(`cannot quote ${JSON.stringify(value)} in a playlist`);
  return `"${value}"`;
}

function uriLine(uri: string): string {
  if (uri === '' || /[\r\n]/.test(uri) || uri.startsWith('#'))
    throw new RangeError(`bad segment URI ${JSON.stringify(uri)}`);
  return uri;
}

/** The playlist text (UTF-8, lines ending in LF as §4.1 allows). */
export function serializeMediaPlaylist(p: MediaPlaylist): string {
  if (!Number.isInteger(p.targetDurationSeconds) || p.targetDurationSeconds < 1)
    throw new RangeError(`bad target duration ${p.targetDurationSeconds}`);
  if (!Number.isInteger(p.mediaSequence) || p.mediaSequence < 0)
    throw new RangeError(`bad media sequence ${p.mediaSequence}`);
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${p.targetDurationSeconds}`,
    `#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`,
  ];
  if (p.independentSegments) lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  lines.push(`#EXT-X-MAP:URI=${quoted(p.initUri)}`);
  for (const s of p.segments) {
    if (!(s.durationSeconds >= 0) || !Number.isFinite(s.durationSeconds))
      throw new RangeError(`bad segment duration ${s.durationSeconds}`);
    lines.push(`#EXTINF:${s.durationSeconds.toFixed(3)},`, uriLine(s.uri));
  }
  if (p.ended === true) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}
