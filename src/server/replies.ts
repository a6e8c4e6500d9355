/** Building replies: the status, the headers as a record, the Session header of a session. */
import { RtspHeaders } from '../rtsp/headers.js';
import { serializeSessionHeader } from '../rtsp/session.js';
import { RtspStatus } from '../rtsp/status.js';
import type { Reply } from './connection.js';
import type { ServerSession, StateRefusal } from './session.js';

export function reply(
  statusCode: number,
  headers?: Record<string, string>,
  body?: Buffer,
  reason?: string,
): Reply {
  const r: Reply = { statusCode, headers: new RtspHeaders(headers ?? {}) };
  if (body !== undefined) r.body = body;
  if (reason !== undefined) r.reason = reason;
  return r;
}

/** `Session: id;timeout=N` (RFC 2326 §12.37), sent on every reply inside a session. */
export function sessionHeaders(s: ServerSession): Record<string, string> {
  return { Session: serializeSessionHeader({ id: s.id, timeoutS: s.timeoutS }) };
}

/** A request the session's state does not accept (ServerSession.refusal): 455 with `Allow` (§11.3.6, §12.4), or 404. */
export function stateRefusalReply(refusal: StateRefusal): Reply {
  if (refusal.statusCode === RtspStatus.NotFound) return reply(refusal.statusCode);
  return reply(refusal.statusCode, { Allow: refusal.allow.join(', ') });
}
