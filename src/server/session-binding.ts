/**
 * A session is controlled only from where it was made (RFC 2326 §12.37 leaves it to the server; the
 * id alone is a bearer token that a log, a proxy or a shared NAT may leak):
 * - a session whose media rides on its RTSP connection (TCP interleaved, an HTTP tunnel, WebSocket,
 *   TLS) and a session with no transport yet: only from that connection. An HTTP tunnel's requests
 *   all arrive on its GET side, whichever POST carried them, so a tunnel counts as one connection;
 * - a UDP or multicast session: from any connection of the same user (the same verified user name),
 *   or of the same IP address when it was made anonymously (RFC 2326 §1.1 lets a session outlive its
 *   connection: a client may PLAY or TEARDOWN over a new one).
 * Anything else presenting the id gets 454, as an unknown id would, and changes nothing: not even
 * the session's liveness, so a stranger cannot keep it from timing out.
 *
 * For a user's UDP session asked from another connection without credentials, the answer is the
 * 401 challenge (the client may then prove it is that user); other credentials get 454.
 */
import { isParseError } from '../base/errors.js';
import { parseBasicAuthorization, parseDigestAuthorization } from '../auth/server.js';
import { parseAuthorization } from '../rtsp/auth-header.js';
import { RtspHeaders } from '../rtsp/headers.js';
import type { RtspRequest } from '../rtsp/message.js';
import type { Authorizer } from './auth.js';
import type { Reply } from './connection.js';
import type { ServerSession } from './session.js';
import { parseRequestTarget } from './target.js';

/** What the binding asks of authentication; absent when auth is off. */
export interface SessionAuth {
  /** The 401 with challenges. */
  challenge(): Reply;
  /** Checks the request's credentials (from `ip`) for the session's path and mode; undefined: accepted. */
  verify(req: RtspRequest, session: ServerSession, ip: string): Promise<Reply | undefined>;
}

/** SessionAuth from the authorizer in force: the session's right (read or publish) on its path. */
export function sessionAuthOf(authorizer: Authorizer): SessionAuth {
  return {
    challenge: () => {
      const c = authorizer.challenge(false);
      return { statusCode: c.statusCode, headers: new RtspHeaders(c.headers) };
    },
    verify: async (req, session, ip) => {
      const denial = await authorizer.check(req, {
        ip,
        action: session.mode === 'record' ? 'publish' : 'read',
        path: session.path,
        query: parseRequestTarget(req.uri)?.query ?? '',
      });
      return denial === undefined
        ? undefined
        : { statusCode: denial.statusCode, headers: new RtspHeaders(denial.headers) };
    },
  };
}

/**
 * The user name the request's Authorization names (Basic user, Digest `username`; a Digest userhash
 * is kept as such, prefixed), not verified here; undefined without readable credentials.
 */
export function usernameOf(req: RtspRequest): string | undefined {
  const header = req.headers.get('Authorization')?.trim();
  if (header === undefined || header === '') return undefined;
  try {
    const creds = parseAuthorization(header);
    const scheme = creds.scheme.toLowerCase();
    if (scheme === 'basic') return parseBasicAuthorization(creds).username;
    if (scheme === 'digest') {
      const d = parseDigestAuthorization(creds);
      return d.userhash ? `userhash:${d.username}` : d.username;
    }
  } catch (e) {
    if (!isParseError(e)) throw e;
    return undefined;
  }
  return undefined;
}

/** The session's media goes over UDP (unicast or multicast), not over its RTSP connection. */
export function isUdpSession(session: ServerSession): boolean {
  return session.setups.some((s) => s !== undefined && s.kind !== 'tcp');
}

/**
 * undefined when `req`, arriving on `connection` from `ip`, may control `session`; otherwise the
 * reply: 'foreign' (454, counted by the caller) or the authentication's own reply (401). Answers at
 * once except when a user's credentials must be checked (a promise then), so that requests inside a
 * session keep their order with the rest of their connection's.
 */
export function controlRefusal(
  session: ServerSession,
  from: { connection: object; ip: string; req: RtspRequest },
  auth: SessionAuth | undefined,
): 'foreign' | Reply | undefined | Promise<Reply | undefined> {
  const owner = session.owner;
  if (owner === undefined || owner.connection === from.connection) return undefined;
  if (!isUdpSession(session)) return 'foreign';
  if (owner.user === undefined || auth === undefined) return owner.ip === from.ip ? undefined : 'foreign';
  const user = usernameOf(from.req);
  if (user === undefined) return auth.challenge();
  if (user !== owner.user) return 'foreign';
  return auth.verify(from.req, session, from.ip);
}
