/**
 * RTSP messages (RFC 2326 §6, §7) and `$` interleaved frames (§10.12) as values, and their serialization.
 * Parsing lives in framer.ts.
 *
 * Text is UTF-8 (RFC 2326 §1.4 departs from HTTP's ISO-8859-1 here).
 */
import type { RtspHeaders } from './headers.js';
import { reasonPhrase } from './status.js';
import { hasLineBreak, isToken } from './syntax.js';

export const RTSP_VERSION = 'RTSP/1.0';

export interface RtspRequest {
  kind: 'request';
  method: string;
  /** The Request-URI as written: an absolute URL, `*`, or (HTTP tunnelling) a path. */
  uri: string;
  /** `RTSP/1.0`, or `HTTP/1.x` for the GET/POST that open an RTSP-over-HTTP tunnel. */
  version: string;
  headers: RtspHeaders;
  body: Buffer;
}

export interface RtspResponse {
  kind: 'response';
  version: string;
  statusCode: number;
  /** May be empty or hold spaces. */
  reason: string;
  headers: RtspHeaders;
  body: Buffer;
}

/** One `$` frame of RTSP interleaved binary data (RFC 2326 §10.12). */
export interface InterleavedFrame {
  kind: 'interleaved';
  channel: number;
  payload: Buffer;
}

export type RtspMessage = RtspRequest | RtspResponse | InterleavedFrame;

/** Largest payload a `$` frame can carry: the length field has 16 bits. */
export const MAX_INTERLEAVED_PAYLOAD = 0xffff;

const CRLF = '\r\n';

/**
 * Writes a request. Content-Length is set from the body when the body is not empty (or when the headers
 * already carry a Content-Length, which is then corrected); `headers` is not modified.
 * Throws a TypeError for a method that is not a token or a URI with whitespace.
 */
export function serializeRequest(req: Omit<RtspRequest, 'kind' | 'version'> & { version?: string }): Buffer {
  if (!isToken(req.method)) throw new TypeError(`invalid RTSP method ${JSON.stringify(req.method)}`);
  if (req.uri === '' || /[\s\0]/.test(req.uri))
    throw new TypeError(`invalid RTSP request URI ${JSON.stringify(req.uri)}`);
  const version = checkVersion(req.version ?? RTSP_VERSION);
  return serializeMessage(`${req.method} ${req.uri} ${version}`, req.headers, req.body);
}

/**
 * Writes a response; the reason phrase defaults to the one of `statusCode` in RTSP_STATUS. Content-Length
 * is handled as in serializeRequest.
 */
export function serializeResponse(
  res: Omit<RtspResponse, 'kind' | 'version' | 'reason'> & { version?: string; reason?: string },
): Buffer {
  const code = res.statusCode;
  if (!Number.isInteger(code) || code < 100 || code > 999)
    throw new RangeError(`invalid RTSP status code ${code}`);
  const reason = res.reason ?? reasonPhrase(code);
  if (hasLineBreak(reason)) throw new TypeError('RTSP reason phrase has a line break');
  const version = checkVersion(res.version ?? RTSP_VERSION);
  return serializeMessage(`${version} ${code} ${reason}`, res.headers, res.body);
}

/** The 4-byte header of a `$` frame: `$`, channel, 16-bit big-endian length. */
export function serializeInterleavedHeader(channel: number, length: number): Buffer {
  checkInterleaved(channel, length);
  const out = Buffer.allocUnsafe(4);
  out[0] = 0x24;
  out[1] = channel;
  out.writeUInt16BE(length, 2);
  return out;
}

/** A whole `$` frame, header and payload in one buffer. */
export function serializeInterleaved(channel: number, payload: Uint8Array): Buffer {
  checkInterleaved(channel, payload.byteLength);
  const out = Buffer.allocUnsafe(4 + payload.byteLength);
  out[0] = 0x24;
  out[1] = channel;
  out.writeUInt16BE(payload.byteLength, 2);
  out.set(payload, 4);
  return out;
}

function checkInterleaved(channel: number, length: number): void {
  if (!Number.isInteger(channel) || channel < 0 || channel > 255)
    throw new RangeError(`interleaved channel ${channel} is not in 0..255`);
  if (!Number.isInteger(length) || length < 0 || length > MAX_INTERLEAVED_PAYLOAD)
    throw new RangeError(`interleaved payload of ${length} bytes does not fit a $ frame`);
}

function checkVersion(version: string): string {
  if (!/^[A-Z]+\/\d+\.\d+$/.test(version))
    throw new TypeError(`invalid RTSP version ${JSON.stringify(version)}`);
  return version;
}

function serializeMessage(startLine: string, headers: RtspHeaders, body: Uint8Array): Buffer {
  let head = startLine + CRLF;
  let wroteLength = false;
  const length = String(body.byteLength);
  for (const [name, value] of headers.entries()) {
    if (name.toLowerCase() === 'content-length') {
      // One Content-Length, always the true one: a stale value would desynchronise the peer's framer.
      if (!wroteLength) head += `${name}: ${length}${CRLF}`;
      wroteLength = true;
      continue;
    }
    head += `${name}: ${value}${CRLF}`;
  }
  if (!wroteLength && body.byteLength > 0) head += `Content-Length: ${length}${CRLF}`;
  head += CRLF;
  if (body.byteLength === 0) return Buffer.from(head, 'utf8');
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + body.byteLength);
  out.write(head, 0, 'utf8');
  out.set(body, headLength);
  return out;
}
