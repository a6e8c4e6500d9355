/** URL helpers of the client: parsing with client errors, log-safe forms, comparisons, redirect targets. */
import { isParseError } from '../base/errors.js';
import { parseRtspUrl, serializeRtspUrl, stripCredentials, type RtspUrl } from '../rtsp/url.js';
import { RtspClientError } from './errors.js';

/** A URL the client can connect to (rtsp or rtsps with a host), or an RtspClientError. */
export function parseClientUrl(url: string): RtspUrl {
  let u: RtspUrl;
  try {
    u = parseRtspUrl(url);
  } catch (e) {
    throw new RtspClientError('BAD_URL', `bad URL ${JSON.stringify(safeUrl(url))}: ${(e as Error).message}`);
  }
  if (u.scheme !== 'rtsp' && u.scheme !== 'rtsps') {
    throw new RtspClientError(
      'UNSUPPORTED',
      `${u.scheme}:// URLs are not supported (use rtsp://, rtsps://, rtsph://, ws:// or wss://)`,
    );
  }
  if (u.host === '') throw new RtspClientError('BAD_URL', `bad URL ${JSON.stringify(safeUrl(url))}: no host`);
  return u;
}

/** The URL without its userinfo, for messages and logs; a URL that does not parse loses it by pattern. */
export function safeUrl(url: string): string {
  try {
    return stripCredentials(url);
  } catch (e) {
    if (!isParseError(e)) throw e;
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

/** The same resource, ignoring credentials and trailing slashes (`b` may be a suffix: RTP-Info urls). */
export function sameUrl(a: string, b: string): boolean {
  const norm = (s: string): string => safeUrl(s).replace(/\/+$/, '');
  return norm(a) === norm(b) || norm(a).endsWith(norm(b));
}

/** What tells two control connections apart: scheme, host and port. */
export function connKey(u: RtspUrl): string {
  return `${u.scheme}://${u.host.toLowerCase()}:${u.port}`;
}

/** `[v6]:port` or `host:port`, for messages. */
export function hostPort(u: RtspUrl): string {
  return `${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port}`;
}

/**
 * The URL a 3xx Location or a REDIRECT sends `from` to. Credentials follow a redirect to the same host
 * (another port or path), not to another host.
 */
export function redirectTarget(from: string, location: string): string {
  try {
    const to = parseRtspUrl(location);
    const old = parseRtspUrl(from);
    if (
      to.username === undefined &&
      old.username !== undefined &&
      to.host.toLowerCase() === old.host.toLowerCase()
    ) {
      to.username = old.username;
      if (old.password !== undefined) to.password = old.password;
    }
    return serializeRtspUrl(to);
  } catch (e) {
    if (!isParseError(e)) throw e;
    throw new RtspClientError('BAD_URL', `redirect to a bad URL ${JSON.stringify(location)}`, { cause: e });
  }
}

/**
 * The rtsp:// or rtsps:// URL the requests name, and the control transport a URL implies:
 * ws://host:port/path (wss: over TLS) is RTSP over WebSocket, rtsph://host[:port]/path RTSP over HTTP
 * (its default port, 80, made explicit). A URL that does not parse is kept as is: connect() reports it.
 */
export function resolveClientUrl(
  url: string,
  flags: { httpTunnel: boolean; webSocket: boolean },
): { url: string; httpTunnel: boolean; webSocket: boolean } {
  let { httpTunnel, webSocket } = flags;
  const ws = /^(wss?):\/\//i.exec(url);
  if (ws !== null) {
    const scheme = ws[1]!.toLowerCase() === 'wss' ? 'rtsps' : 'rtsp';
    url = `${scheme}${url.slice(ws[1]!.length)}`;
    webSocket = true;
  }
  if (/^rtsph:\/\//i.test(url)) {
    try {
      const u = parseRtspUrl(url);
      url = serializeRtspUrl({ ...u, scheme: 'rtsp', explicitPort: true });
      httpTunnel = true;
    } catch (e) {
      if (!isParseError(e)) throw e;
    }
  }
  return { url, httpTunnel, webSocket };
}
