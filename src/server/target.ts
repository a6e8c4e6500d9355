/**
 * What a request URL names on this server: a path, maybe a track, maybe a query.
 * The URL shapes clients send (interop notes) are split by rtsp/url.ts `splitTrackUrl`:
 * `path/trackID=0?query` (GStreamer), `path?query/trackID=0` (ffmpeg with a query), `path/` or
 * `path` (aggregate, or the single track of ffmpeg's single-stream SETUP), and the publishers'
 * own `streamid=N` (ffmpeg) and `stream=N` (GStreamer).
 */
import { isParseError } from '../base/errors.js';
import { splitTrackUrl } from '../rtsp/url.js';

export interface RequestTarget {
  /** Path without leading or trailing slashes, percent-decoded, e.g. `live/cam1`. */
  path: string;
  track: number | undefined;
  query: string;
}

export function parseRequestTarget(uri: string): RequestTarget | undefined {
  // RFC 2326 §6.1: an absolute URL (a path only inside an HTTP tunnel); `*` names no path.
  if (!/^(rtsps?|rtspu):\/\//i.test(uri) && !uri.startsWith('/')) return undefined;
  try {
    const t = splitTrackUrl(uri);
    return {
      path: decodeURIComponent(t.path).replace(/^\/+|\/+$/g, ''),
      track: t.trackId,
      query: t.query ?? '',
    };
  } catch (err) {
    if (isParseError(err) || err instanceof URIError) return undefined;
    throw err;
  }
}
