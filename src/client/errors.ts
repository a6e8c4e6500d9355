/** Errors of the RTSP client, each with a stable `code` for programs and a one-line message for people. */
import type { RtspResponse } from '../rtsp/message.js';
import { RtspStatus } from '../rtsp/status.js';

/**
 * Codes: socket errors keep their errno name (`ECONNREFUSED`, `EHOSTUNREACH`, `ENETUNREACH`, `ENOTFOUND`,
 * `ECONNRESET`, ...); `TIMEOUT` (connect or reply took longer than `timeoutMs`); `CLOSED` (connection ended
 * with requests pending); `BAD_URL`; `UNSUPPORTED` (e.g. an http:// URL, recording over multicast);
 * `PROTOCOL` (unparseable reply); `BAD_SDP`; `BAD_TRANSPORT` (a multicast SETUP answered without a usable
 * group, multicast.ts); `TOO_MANY_REDIRECTS`; `RTSP_<status>` for a non-2xx reply (`RTSP_401`, `RTSP_404`,
 * `RTSP_461`, ...); `NO_MEDIA` (nothing received after PLAY, even over TCP); `STATE` (misuse of the API).
 */
export class RtspClientError extends Error {
  override readonly name = 'RtspClientError';
  readonly statusCode: number | undefined;
  readonly response: RtspResponse | undefined;

  constructor(
    readonly code: string,
    message: string,
    options: { cause?: unknown; response?: RtspResponse } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.response = options.response;
    this.statusCode = options.response?.statusCode;
  }
}

const SOCKET_MESSAGES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed by peer',
};

/** Wraps a socket or TLS error with its errno code and a readable message naming the address. */
export function socketError(err: unknown, where: string): RtspClientError {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e.code === 'string' ? e.code : 'ESOCKET';
  const what = SOCKET_MESSAGES[code] ?? e.message;
  const finalCode = code === 'ETIMEDOUT' ? 'TIMEOUT' : code;
  return new RtspClientError(finalCode, `${where}: ${what}`, { cause: err });
}

/** The error for a non-2xx reply to `method`. */
export function statusError(method: string, url: string, res: RtspResponse): RtspClientError {
  const reason = res.reason === '' ? '' : ` ${res.reason}`;
  let hint = '';
  if (res.statusCode === RtspStatus.NotFound) hint = ' (unknown path)';
  else if (res.statusCode === RtspStatus.Unauthorized) hint = ' (wrong or missing user name/password)';
  else if (res.statusCode === RtspStatus.UnsupportedTransport) hint = ' (transport refused)';
  return new RtspClientError(
    `RTSP_${res.statusCode}`,
    `${method} ${url}: ${res.statusCode}${reason}${hint}`,
    { response: res },
  );
}
