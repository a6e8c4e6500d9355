/**
 * GET_PARAMETER and SET_PARAMETER (RFC 2326 §10.8, §10.9): keepalives when empty, a session's
 * statistics as text/parameters otherwise; nothing is settable. Functions of the request and the
 * session alone, so they sit apart from the stateful handlers.
 */
import type { RtspRequest } from '../rtsp/message.js';
import type { Reply } from './connection.js';
import type { ServerSession } from './session.js';
import { reply, sessionHeaders } from './replies.js';
import { RtspStatus } from '../rtsp/status.js';

/** Statistics GET_PARAMETER answers (text/parameters, RFC 2326 §10.8). */
const KNOWN_PARAMETERS = ['packets_received', 'packets_lost', 'jitter', 'bytes'] as const;

export function getParameter(req: RtspRequest, session: ServerSession | undefined): Reply {
  const names = parameterNames(req.body);
  if (names.length === 0)
    return reply(RtspStatus.Ok, session !== undefined ? sessionHeaders(session) : undefined);
  if (session === undefined) return reply(RtspStatus.SessionNotFound);
  const unknown = names.filter((n) => !(KNOWN_PARAMETERS as readonly string[]).includes(n));
  if (unknown.length > 0)
    return reply(
      RtspStatus.ParameterNotUnderstood,
      sessionHeaders(session),
      Buffer.from(unknown.join('\r\n') + '\r\n'),
    );
  const total = session.trackStats.reduce(
    (a, t) => ({
      packets_received: a.packets_received + t.packetsReceived,
      packets_lost: a.packets_lost + t.packetsLost,
      jitter: Math.max(a.jitter, t.jitterS),
      bytes: a.bytes + t.bytesReceived,
    }),
    { packets_received: 0, packets_lost: 0, jitter: 0, bytes: 0 },
  );
  if (session.mode === 'play') total.bytes = session.bytesSent;
  const body = names.map((n) => `${n}: ${total[n as keyof typeof total]}`).join('\r\n') + '\r\n';
  return reply(
    RtspStatus.Ok,
    { ...sessionHeaders(session), 'Content-Type': 'text/parameters' },
    Buffer.from(body),
  );
}

export function setParameter(req: RtspRequest, session: ServerSession | undefined): Reply {
  const names = parameterNames(req.body);
  if (names.length === 0)
    return reply(RtspStatus.Ok, session !== undefined ? sessionHeaders(session) : undefined);
  // Our statistics are read-only (458); nothing else is settable (451).
  const readOnly = names.some((n) => (KNOWN_PARAMETERS as readonly string[]).includes(n));
  return reply(
    readOnly ? RtspStatus.ParameterIsReadOnly : RtspStatus.ParameterNotUnderstood,
    undefined,
    Buffer.from(names.join('\r\n') + '\r\n'),
  );
}

/** Parameter names of a text/parameters body (RFC 2326 §10.8): one per line, `name` or `name: value`. */
function parameterNames(body: Buffer): string[] {
  return body
    .toString('utf8')
    .split(/\r?\n/)
    .map((l) => l.split(':')[0]!.trim())
    .filter((l) => l !== '');
}
