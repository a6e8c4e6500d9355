/**
 * The per-path rules the server applies to readers and publishers (the path options of the config,
 * config/path-config.ts, handed in as `RtspServerOptions.pathRules`):
 * - `maxReaders`: readers of the path at once; past it SETUP gets 453 Not Enough Bandwidth (RFC 2326
 *   §11.3.4: "the request was refused because there was insufficient bandwidth", what a per-path reader
 *   cap stands for; 503 would say the whole server is busy, which is `maxSessions`' answer), counted as
 *   the session refusal `readersPerPath`;
 * - `overridePublisher`: an ANNOUNCE of a path another session publishes ends that session (logged) and
 *   takes the path; without it the newcomer gets 403;
 * - `fallback`: a DESCRIBE of the path when nothing feeds it is answered 302 Moved Temporarily with
 *   `Location` (RFC 2326 §11.2 and RFC 2068 §10.3.3, which it refers to).
 */

export interface PathRules {
  /** 0: only the server-wide `maxReadersPerPath`. */
  maxReaders: number;
  overridePublisher: boolean;
  /** `/other/path` (on this server) or an rtsp:// URL; null: 404 as usual. */
  fallback: string | null;
}

/** The reader cap of a path: its own when set, else the server-wide one; 0: none. */
export function readerCapOf(rules: PathRules | undefined, maxReadersPerPath: number): number {
  return rules !== undefined && rules.maxReaders > 0 ? rules.maxReaders : maxReadersPerPath;
}

/** The `Location` of a fallback: a path is put on the request's own scheme, host and port. */
export function fallbackLocation(fallback: string, requestUri: string): string {
  if (!fallback.startsWith('/')) return fallback;
  const origin = /^(rtsps?|rtspu):\/\/[^/?#]+/i.exec(requestUri)?.[0];
  return origin !== undefined ? `${origin.replace(/\/\/[^@/]*@/, '//')}${fallback}` : fallback;
}
