/**
 * RTSP over HTTP (the QuickTime tunnel, Apple "Tunnelling RTSP and RTP through HTTP"): the client
 * opens a GET connection that carries every server-to-client byte (RTSP responses and `$`
 * frames, raw) and a POST connection, with the same `x-sessioncookie`, whose body is base64 of
 * the client's RTSP requests, split anywhere. The server never answers the POST.
 *
 * Sans-I/O pieces: recognising the opening HTTP request, and decoding the base64 stream.
 */
import { ParseError } from '../base/errors.js';

export interface TunnelRequest {
  method: 'GET' | 'POST';
  path: string;
  cookie: string;
  /** Bytes of the HTTP head (request line and headers, blank line included). */
  headBytes: number;
}

const MAX_HEAD_BYTES = 8192;

/** True when a connection's first bytes are an HTTP GET or POST rather than RTSP. */
export function looksLikeHttpTunnel(firstBytes: Buffer): boolean {
  const start = firstBytes.subarray(0, 5).toString('latin1');
  return start.startsWith('GET ') || start.startsWith('POST ');
}

/**
 * Parses the HTTP head that opens one side of a tunnel; undefined while the head is incomplete.
 * Throws ParseError (HTTP_TUNNEL_*) for a head that is too long, malformed or has no cookie.
 */
export function parseTunnelRequest(buf: Buffer): TunnelRequest | undefined {
  let end = buf.indexOf('\r\n\r\n');
  let sep = 4;
  if (end < 0) {
    end = buf.indexOf('\n\n');
    sep = 2;
  }
  if (end < 0) {
    if (buf.length > MAX_HEAD_BYTES)
      throw new ParseError('HTTP_TUNNEL_HEAD_TOO_LARGE', 'HTTP head too large');
    return undefined;
  }
  if (end > MAX_HEAD_BYTES) throw new ParseError('HTTP_TUNNEL_HEAD_TOO_LARGE', 'HTTP head too large');
  const lines = buf.subarray(0, end).toString('latin1').split(/\r?\n/);
  const m = /^(GET|POST) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
  if (m === null) throw new ParseError('HTTP_TUNNEL_BAD_REQUEST', 'not an HTTP/1.x GET or POST');
  let cookie: string | undefined;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'x-sessioncookie') {
      cookie = line.slice(colon + 1).trim();
    }
  }
  if (cookie === undefined || cookie === '' || cookie.length > 256)
    throw new ParseError('HTTP_TUNNEL_NO_COOKIE', 'tunnel request without x-sessioncookie');
  return { method: m[1] as 'GET' | 'POST', path: m[2]!, cookie, headBytes: end + sep };
}

/** The answer to the tunnel's GET; the connection then carries raw RTSP. */
export function serializeTunnelGetResponse(): Buffer {
  return Buffer.from(
    'HTTP/1.0 200 OK\r\nServer: rtspkit\r\nConnection: close\r\nCache-Control: no-store\r\n' +
      'Pragma: no-cache\r\nContent-Type: application/x-rtsp-tunnelled\r\n\r\n',
    'latin1',
  );
}

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64 = new Int16Array(256).fill(-1);
for (let i = 0; i < B64_ALPHABET.length; i++) B64[B64_ALPHABET.charCodeAt(i)] = i;

/**
 * Decodes base64 that arrives split anywhere (even inside a 4-character group). Whitespace and
 * line ends are skipped; `=` padding ends a group (clients pad each request they send).
 */
export class Base64StreamDecoder {
  private readonly quad = new Uint8Array(4);
  private n = 0;

  /** Throws ParseError('HTTP_TUNNEL_BAD_BASE64') on a character outside the alphabet. */
  push(chunk: Buffer): Buffer {
    const out = Buffer.allocUnsafe(Math.ceil((chunk.length + this.n) / 4) * 3);
    let o = 0;
    for (const c of chunk) {
      if (c === 0x3d) {
        // '=': flush a partial group (2 or 3 characters give 1 or 2 bytes).
        if (this.n >= 2) {
          out[o++] = (this.quad[0]! << 2) | (this.quad[1]! >> 4);
          if (this.n === 3) out[o++] = ((this.quad[1]! & 0x0f) << 4) | (this.quad[2]! >> 2);
        }
        this.n = 0;
        continue;
      }
      const v = B64[c]!;
      if (v < 0) {
        if (c === 0x0d || c === 0x0a || c === 0x20 || c === 0x09) continue;
        throw new ParseError('HTTP_TUNNEL_BAD_BASE64', `invalid base64 byte 0x${c.toString(16)}`);
      }
      this.quad[this.n++] = v;
      if (this.n === 4) {
        out[o++] = (this.quad[0]! << 2) | (this.quad[1]! >> 4);
        out[o++] = ((this.quad[1]! & 0x0f) << 4) | (this.quad[2]! >> 2);
        out[o++] = ((this.quad[2]! & 0x03) << 6) | this.quad[3]!;
        this.n = 0;
      }
    }
    return out.subarray(0, o);
  }
}
