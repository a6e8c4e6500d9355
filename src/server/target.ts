/**
 * What a request URL names on this server: a path, maybe a track, maybe a query.
 * Accepts the three shapes clients send (interop notes): `path/trackID=0?query` (GStreamer),
 * `path?query/trackID=0` (ffmpeg with a query) and `path/` or `path` (aggregate, or the single
 * track of ffmpeg's single-stream SETUP).
 */
export interface RequestTarget {
  /** Path without leading or trailing slashes, e.g. `live/cam1`. */
  path: string;
  track: number | undefined;
  query: string;
}

const TRACK_RE = /\/trackID=(\d{1,3})$/;

export function parseRequestTarget(uri: string): RequestTarget | undefined {
  let rest: string;
  if (uri.startsWith('/')) rest = uri;
  else {
    const m = /^(?:rtsps?|rtspu|rtsph?):\/\/[^/?#]*(.*)$/i.exec(uri);
    if (m === null) return undefined;
    rest = m[1]!;
  }
  let path = rest;
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    path = rest.slice(0, q);
    query = rest.slice(q + 1);
  }
  let track: number | undefined;
  let m = TRACK_RE.exec(path);
  if (m !== null) {
    track = Number(m[1]);
    path = path.slice(0, m.index);
  } else if ((m = TRACK_RE.exec('/' + query)) !== null) {
    // ffmpeg appends the control to the whole URL: `path?query/trackID=0`.
    track = Number(m[1]);
    query = query.slice(0, Math.max(0, query.length - m[0].length + 1)).replace(/\/$/, '');
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  return { path: decoded.replace(/^\/+|\/+$/g, ''), track, query };
}
