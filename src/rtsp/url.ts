/**
 * RTSP URLs (RFC 2326 §3.2): parsing and writing, control URL resolution for clients (RFC 2326 C.1.1) and
 * the inverse for servers, splitting a request URL into stream path, track and query.
 *
 * The WHATWG URL class is not used: it treats rtsp as an opaque scheme, does not decode credentials, and
 * normalises paths in ways a server must not (it would change what the client signed with Digest).
 */
import { ParseError } from '../base/errors.js';
import { RtspErrorCode } from './status.js';

export type RtspScheme = 'rtsp' | 'rtsps' | 'rtspu' | 'rtsph' | 'http' | 'https';

/** Default ports: 554 for rtsp and rtspu (RFC 2326 §3.2), 322 for rtsps (IANA), 80/443 for tunnels. */
export const DEFAULT_PORTS: Readonly<Record<RtspScheme, number>> = Object.freeze({
  rtsp: 554,
  rtspu: 554,
  rtsps: 322,
  rtsph: 80,
  http: 80,
  https: 443,
});

export interface RtspUrl {
  /** Lower-case. */
  scheme: RtspScheme;
  /** Percent-decoded. */
  username?: string;
  /** Percent-decoded. */
  password?: string;
  /** Host name or address as written; an IPv6 address without its brackets. */
  host: string;
  /** The port written, or the scheme's default. */
  port: number;
  /** Whether the port was written. */
  explicitPort: boolean;
  /** Raw (still percent-encoded) path: '' when the URL has none, else starting with '/'. */
  path: string;
  /** Raw query without the '?', or undefined when there is no '?'. */
  query?: string;
}

function bad(message: string): ParseError {
  return new ParseError(RtspErrorCode.BadUrl, message);
}

const URL_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$/;
const REG_NAME_RE = /^[A-Za-z0-9\-._~%!$&'()*+,;=]+$/;
const IPV6_RE = /^[0-9A-Fa-f:.]+(?:%25[A-Za-z0-9\-._~%]+)?$/;

/** Parses an absolute rtsp, rtsps, rtspu, rtsph, http or https URL. A fragment is dropped. */
export function parseRtspUrl(text: string): RtspUrl {
  const m = URL_RE.exec(text.trim());
  if (m === null) throw bad(`not an absolute URL: ${JSON.stringify(text.slice(0, 64))}`);
  const scheme = m[1]!.toLowerCase();
  if (!Object.hasOwn(DEFAULT_PORTS, scheme)) throw bad(`unsupported URL scheme ${JSON.stringify(scheme)}`);
  const rtspScheme = scheme as RtspScheme;
  const path = m[3]!;
  if (/[\s\0]/.test(path) || /[\s\0]/.test(m[4] ?? '')) throw bad('URL holds whitespace');

  // Userinfo ends at the last '@': clients send passwords with a raw '@' as often as with %40.
  let authority = m[2]!;
  const at = authority.lastIndexOf('@');
  const url: RtspUrl = {
    scheme: rtspScheme,
    host: '',
    port: DEFAULT_PORTS[rtspScheme],
    explicitPort: false,
    path,
  };
  if (m[4] !== undefined) url.query = m[4];
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = userinfo.indexOf(':');
    url.username = percentDecode(colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (colon >= 0) url.password = percentDecode(userinfo.slice(colon + 1));
  }

  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw bad('unterminated IPv6 address');
    url.host = authority.slice(1, close);
    if (!IPV6_RE.test(url.host) || !url.host.includes(':')) throw bad(`malformed IPv6 address ${url.host}`);
    const rest = authority.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw bad('junk after IPv6 address');
    if (rest !== '') portText = rest.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    url.host = colon < 0 ? authority : authority.slice(0, colon);
    if (colon >= 0) portText = authority.slice(colon + 1);
    if (!REG_NAME_RE.test(url.host)) throw bad(`malformed host ${JSON.stringify(url.host.slice(0, 64))}`);
  }
  // RFC 3986 §3.2.3: an empty port (`host:`) means the default.
  if (portText !== undefined && portText !== '') {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 0xffff)
      throw bad(`malformed port ${JSON.stringify(portText)}`);
    url.port = Number(portText);
    url.explicitPort = true;
  }
  return url;
}

export interface SerializeUrlOptions {
  /** Write user name and password (default true); false for logs and for URLs sent to other peers. */
  withCredentials?: boolean;
}

/** Writes a URL; the port only when it was explicit (or differs from the default). */
export function serializeRtspUrl(url: RtspUrl, options: SerializeUrlOptions = {}): string {
  let out = `${url.scheme}://`;
  if ((options.withCredentials ?? true) && url.username !== undefined) {
    out += encodeUserinfo(url.username);
    if (url.password !== undefined) out += `:${encodeUserinfo(url.password)}`;
    out += '@';
  }
  out += url.host.includes(':') ? `[${url.host}]` : url.host;
  if (url.explicitPort || url.port !== DEFAULT_PORTS[url.scheme]) out += `:${url.port}`;
  out += url.path;
  if (url.query !== undefined) out += `?${url.query}`;
  return out;
}

/** The URL without user name and password, e.g. to log it or to compare it with a Request-URI. */
export function stripCredentials(text: string): string {
  return serializeRtspUrl(parseRtspUrl(text), { withCredentials: false });
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch (e) {
    if (!(e instanceof URIError)) throw e;
    throw bad('malformed percent-encoding in credentials');
  }
}

/** RFC 3986 userinfo: unreserved and sub-delims stay, the rest is percent-encoded (':' and '@' included). */
function encodeUserinfo(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function isAbsoluteUrl(s: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s);
}

/**
 * Joins a control attribute to a base URL the way ffmpeg and live555 do, not by RFC 3986 resolution: a
 * relative control is appended after a '/' (added when the base lacks one), so `rtsp://h/live/x?token=1`
 * and `trackID=0` give `rtsp://h/live/x?token=1/trackID=0`; a control starting with '/' replaces the path;
 * an absolute control is used as is; `*` (and '') mean the base itself.
 */
export function joinControlUrl(base: string, control: string): string {
  const c = control.trim();
  if (c === '' || c === '*') return base;
  if (isAbsoluteUrl(c)) return c;
  if (c.startsWith('/')) {
    const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(base);
    if (m === null) throw bad(`base URL is not absolute: ${JSON.stringify(base.slice(0, 64))}`);
    return m[0] + c;
  }
  return base.endsWith('/') ? base + c : `${base}/${c}`;
}

export interface ControlUrlInput {
  /** The URL the DESCRIBE was sent to, credentials included. */
  requestUrl: string;
  /** Content-Base of the DESCRIBE reply. */
  contentBase?: string;
  /** Content-Location of the DESCRIBE reply (absolute, or relative to the request URL). */
  contentLocation?: string;
  /** Session-level `a=control` of the SDP. */
  sessionControl?: string;
  /** Media-level `a=control` of the SDP. */
  mediaControl?: string;
}

/**
 * The aggregate (session) control URL (RFC 2326 C.1.1): the session-level `a=control` unless it is `*`,
 * joined to the base, where the base is Content-Base, else Content-Location, else the request URL.
 * Credentials of the request URL are carried over to the result when it points to the same host.
 */
export function resolveSessionUrl(input: Omit<ControlUrlInput, 'mediaControl'>): string {
  // A relative Content-Base (seen from broken servers) or Content-Location is taken relative to the request.
  let base = input.requestUrl;
  if (input.contentBase !== undefined && input.contentBase.trim() !== '') {
    base = joinControlUrl(input.requestUrl, input.contentBase);
  } else if (input.contentLocation !== undefined && input.contentLocation.trim() !== '') {
    base = joinControlUrl(input.requestUrl, input.contentLocation);
  }
  const session = input.sessionControl === undefined ? base : joinControlUrl(base, input.sessionControl);
  return withCredentialsOf(session, input.requestUrl);
}

/**
 * The URL to SETUP a medium (RFC 2326 C.1.1): its `a=control` joined to the session URL (see
 * resolveSessionUrl); without a media control (or with `*`) the medium is controlled by the session URL.
 */
export function resolveControlUrl(input: ControlUrlInput): string {
  const session = resolveSessionUrl(input);
  if (input.mediaControl === undefined) return session;
  return withCredentialsOf(joinControlUrl(session, input.mediaControl), input.requestUrl);
}

/** Adds the user name and password of `from` to `url` when `url` has none and names the same host and port. */
export function withCredentialsOf(url: string, from: string): string {
  let target: RtspUrl;
  let source: RtspUrl;
  try {
    target = parseRtspUrl(url);
    source = parseRtspUrl(from);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    return url; // not URLs we can reason about: leave them alone
  }
  if (source.username === undefined || target.username !== undefined) return url;
  if (target.host.toLowerCase() !== source.host.toLowerCase() || target.port !== source.port) return url;
  target.username = source.username;
  if (source.password !== undefined) target.password = source.password;
  return serializeRtspUrl(target);
}

export interface TrackUrl {
  /** Stream path without trailing '/', e.g. `/live/cam` ('/' for the root). */
  path: string;
  /** The number of a `trackID=N`, `streamid=N` or `stream=N` suffix. */
  trackId?: number;
  /** The suffix as written, e.g. `trackID=0`. */
  control?: string;
  /** Query without '?' (and without a trailing '/' or track suffix glued to it by clients). */
  query?: string;
}

const TRACK_SEGMENT_RE = /^(?:trackID|streamid|stream)=(\d{1,9})$/i;

/**
 * Splits the path and query of a request URL into stream path, track and query, for the three shapes
 * clients send: `path/trackID=0?query` (GStreamer), `path?query/trackID=0` (ffmpeg joins the control after
 * the query) and `path/` or `path?query/` (no track; ffmpeg for single-stream media and aggregate PLAY).
 * Accepts a whole absolute URL too. Paths stay percent-encoded.
 */
export function splitTrackUrl(pathAndQuery: string): TrackUrl {
  let path: string;
  let query: string | undefined;
  if (isAbsoluteUrl(pathAndQuery)) {
    const u = parseRtspUrl(pathAndQuery);
    path = u.path;
    query = u.query;
  } else {
    const q = pathAndQuery.indexOf('?');
    path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
    if (q >= 0) query = pathAndQuery.slice(q + 1);
  }

  let control: string | undefined;
  if (query !== undefined) {
    // ffmpeg shape: the control (or a lone '/') comes after the query.
    const slash = query.lastIndexOf('/');
    const tail = slash < 0 ? undefined : query.slice(slash + 1);
    if (tail !== undefined && (tail === '' || TRACK_SEGMENT_RE.test(tail))) {
      if (tail !== '') control = tail;
      query = query.slice(0, slash);
    }
  }
  if (control === undefined) {
    const slash = path.lastIndexOf('/');
    const last = path.slice(slash + 1);
    if (slash >= 0 && TRACK_SEGMENT_RE.test(last)) {
      control = last;
      path = path.slice(0, slash);
    }
  }
  while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  if (path === '') path = '/';

  const out: TrackUrl = { path };
  if (control !== undefined) {
    out.control = control;
    out.trackId = Number(TRACK_SEGMENT_RE.exec(control)![1]);
  }
  if (query !== undefined) out.query = query;
  return out;
}
