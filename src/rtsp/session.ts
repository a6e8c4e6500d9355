/**
 * The Session header (RFC 2326 §12.37): `session-id [ ";" "timeout" "=" delta-seconds ]`.
 *
 * Written with no space after `;`: ffmpeg reads the timeout only from exactly `id;timeout=N` and otherwise
 * assumes 60 s, which breaks its keepalive against shorter timeouts.
 */
import { ParseError } from '../base/errors.js';
import { RtspErrorCode } from './status.js';
import { parseDecimal } from './syntax.js';

export interface SessionHeader {
  id: string;
  /** Seconds without a request after which the server may end the session. */
  timeoutS?: number;
}

/**
 * RFC 2326 §3.4 allows ALPHA / DIGIT / safe (`$-_.+`) in ids; real servers also use other visible characters
 * (`=`, `/`, `:` from base64 or UUID-like ids), so everything visible except `;` and `,` is accepted.
 */
const SESSION_ID_RE = /^[\x21-\x2b\x2d-\x3a\x3c-\x7e]+$/;

function bad(message: string): ParseError {
  return new ParseError(RtspErrorCode.BadSession, message);
}

export function parseSession(value: string): SessionHeader {
  const [rawId = '', ...params] = value.split(';');
  const id = rawId.trim();
  if (!SESSION_ID_RE.test(id)) throw bad(`malformed session id ${JSON.stringify(id.slice(0, 64))}`);
  const out: SessionHeader = { id };
  for (const param of params) {
    const eq = param.indexOf('=');
    const name = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
    if (name !== 'timeout') continue; // unknown parameters are ignored (RFC 2326 §12.37 defines only this one)
    const timeoutS = parseDecimal(param.slice(eq + 1).trim(), 0xffffffff);
    if (eq < 0 || timeoutS === undefined)
      throw bad(`malformed session timeout ${JSON.stringify(param.trim())}`);
    out.timeoutS = timeoutS;
  }
  return out;
}

/** Writes `id` or `id;timeout=N`. Throws a RangeError for an id that could not be read back. */
export function serializeSession(session: SessionHeader): string {
  if (!SESSION_ID_RE.test(session.id))
    throw new RangeError(`invalid session id ${JSON.stringify(session.id)}`);
  if (session.timeoutS === undefined) return session.id;
  const t = session.timeoutS;
  if (!Number.isInteger(t) || t < 0 || t > 0xffffffff) throw new RangeError(`invalid session timeout ${t}`);
  return `${session.id};timeout=${t}`;
}

/** Same as parseSession, named after the header. */
export const parseSessionHeader = parseSession;
/** Same as serializeSession, named after the header. */
export const serializeSessionHeader = serializeSession;
