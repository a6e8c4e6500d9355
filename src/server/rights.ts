/**
 * Which right a request needs, decided from the parsed request only: the SETUP's Transport is parsed
 * once (readSetupTransport) and that one value both picks the right here and drives the SETUP handler,
 * so what is checked is what is done. (A regex over the raw header once asked `publish` of
 * `x-mode=record`, which the parser rightly ignores, and the SETUP made a reader session: a user with
 * only `publish` could PLAY; `mode="PLAY,RECORD"` did the reverse.)
 *
 * Only requests that start something are checked: DESCRIBE (read), ANNOUNCE (publish), and a SETUP that
 * makes a session: `read` for a reader, `publish` when it asks for RECORD. A SETUP asking for RECORD
 * never makes a reader: it joins the publisher session its connection's ANNOUNCE made (455 without
 * one), which needed `publish`. Requests inside a session ride on its unguessable id, so a long session
 * is not challenged again when a nonce expires (a keepalive answered 401 would end it with some
 * clients); what they may do follows the session's mode, set once when it was made (fitsSession, below),
 * so a session made with one right never exercises the other.
 */
import { isParseError } from '../base/errors.js';
import type { TransportSpec } from '../rtsp/transport.js';
import { parseTransport } from '../rtsp/transport.js';
import type { Action } from './auth.js';

/** What a SETUP asks for: a reader (`play`) or a publisher's track (`record`). */
export type SetupMode = 'play' | 'record';

/** A SETUP's Transport header, parsed once; `missing` and `malformed` are answered 461 (after auth). */
export type SetupTransport =
  | { specs: TransportSpec[]; mode: SetupMode }
  | { specs?: undefined; mode?: undefined; error: 'missing' | 'malformed' };

/**
 * RFC 2326 §12.39: `mode` lists the methods the session will support, PLAY when absent; RECEIVE is the
 * spelling of the RFC's drafts that some publishers still send, taken as RECORD. The parser upper-cases
 * the mode and keeps a quoted list comma-separated; parameters it does not know (`x-mode`) are not modes.
 * A request is `record` when any alternative names RECORD or RECEIVE, as the SETUP handler acts on it:
 * several alternatives are one request, and naming RECORD anywhere makes it a publisher's SETUP, never a
 * reader's.
 */
export function setupMode(specs: readonly TransportSpec[]): SetupMode {
  const recording = specs.some((s) =>
    (s.mode ?? 'PLAY').split(',').some((m) => m === 'RECORD' || m === 'RECEIVE'),
  );
  return recording ? 'record' : 'play';
}

/** Parses a SETUP's Transport header value (RFC 2326 §12.39) into what the rights and the handler use. */
export function readSetupTransport(header: string | undefined): SetupTransport {
  if (header === undefined) return { error: 'missing' };
  let specs: TransportSpec[];
  try {
    specs = parseTransport(header);
  } catch (e) {
    if (!isParseError(e)) throw e;
    return { error: 'malformed' };
  }
  return { specs, mode: setupMode(specs) };
}

/**
 * The right a request needs, or undefined when it needs none (OPTIONS, and every request inside a
 * session). `transport` is the SETUP's parsed Transport (readSetupTransport); a SETUP without a usable
 * one still needs `read`, so that only a client that could read learns it was malformed (461).
 */
export function requiredAction(
  method: string,
  inSession: boolean,
  transport: SetupTransport | undefined,
): Action | undefined {
  switch (method) {
    case 'DESCRIBE':
      return 'read';
    case 'ANNOUNCE':
      return 'publish';
    case 'SETUP':
      if (inSession) return undefined;
      return transport?.mode === 'record' ? 'publish' : 'read';
    default:
      return undefined;
  }
}

/**
 * Whether a request inside a session fits the mode the session was made in, with the right checked then
 * (RFC 2326 Appendix A: PLAY belongs to a reader's state machine, RECORD to a publisher's): PLAY only in
 * a reader session, RECORD only in a publisher's, and a SETUP asking for RECORD never adds a track to a
 * reader session. Otherwise 455 (RFC 2326 §11.3.6), whatever else the user may do: a session made with
 * `read` never records, one made with `publish` never plays. A SETUP without `mode` in a publisher's
 * session is still a publisher's track: the session, made by ANNOUNCE with `publish`, decides.
 */
export function fitsSession(
  sessionMode: SetupMode,
  method: string,
  transport: SetupTransport | undefined,
): boolean {
  switch (method) {
    case 'PLAY':
      return sessionMode === 'play';
    case 'RECORD':
      return sessionMode === 'record';
    case 'SETUP':
      return !(sessionMode === 'play' && transport?.mode === 'record');
    default:
      return true;
  }
}
