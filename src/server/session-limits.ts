/**
 * Who may make a session, and the counted refusals of session-level requests.
 *
 * The session table is shared by every client, so no one of them may fill it (issue 13, item 7):
 * - `maxSessions` caps the table; beyond it the client asking for more gets 503 (RFC 2326 §7.1.1),
 *   and sessions already made are never evicted for it.
 * - `maxSessionsPerIpShare` caps what one IP address may hold to a fraction of `maxSessions`
 *   (default 0.5: another address always finds room). Behind a NAT every client shares an address,
 *   so 0 turns it off. Addresses, not users, are counted: a flood needs no credentials.
 * - A half-made session (SETUP or ANNOUNCE done, never PLAY or RECORD) lives at most
 *   `sessionStartTimeoutMs` from its creation, whatever its keepalives: clients send PLAY or RECORD
 *   within a round trip of their last SETUP, while a flood of half-made sessions would otherwise hold
 *   the table for the whole session timeout (60 s + grace). A bound on their number alone would let
 *   the flood still lock out the next honest SETUP; a short life frees the table by itself. A
 *   session that played once keeps the full timeout when paused (§10.6).
 */
import { RtspHeaders } from '../rtsp/headers.js';
import type { Reply } from './connection.js';
import type { ServerSession } from './session.js';
import { RtspStatus } from '../rtsp/status.js';

/** Why a session-level request was refused; each one is counted (metrics: rtspkit_session_refusals_total). */
export const SESSION_REFUSAL_REASONS = [
  'sessions',
  'sessionsPerIp',
  'announcedSdpBytes',
  'queuedPlayRanges',
  'foreignSession',
  'clientPortInUse',
  'clientPortIsServer',
  'onDemandPath',
  'readersPerPath',
] as const;

export type SessionRefusalReason = (typeof SESSION_REFUSAL_REASONS)[number];

const REFUSALS: Record<SessionRefusalReason, { statusCode: number; reason: string }> = {
  sessions: { statusCode: RtspStatus.ServiceUnavailable, reason: 'Service Unavailable: too many sessions' },
  sessionsPerIp: {
    statusCode: RtspStatus.ServiceUnavailable,
    reason: 'Service Unavailable: too many sessions from this address',
  },
  announcedSdpBytes: {
    statusCode: RtspStatus.RequestEntityTooLarge,
    reason: 'Request Entity Too Large: announced SDP too large',
  },
  queuedPlayRanges: {
    statusCode: RtspStatus.ServiceUnavailable,
    reason: 'Service Unavailable: too many queued PLAY ranges',
  },
  // The same answer as an unknown id (§12.37): a foreign id is not confirmed to exist.
  foreignSession: { statusCode: RtspStatus.SessionNotFound, reason: 'Session Not Found' },
  clientPortInUse: {
    statusCode: RtspStatus.UnsupportedTransport,
    reason: 'Unsupported Transport: client_port in use by another session',
  },
  clientPortIsServer: {
    statusCode: RtspStatus.UnsupportedTransport,
    reason: "Unsupported Transport: client_port is one of the server's ports",
  },
  onDemandPath: {
    statusCode: RtspStatus.Forbidden,
    reason: 'Forbidden: path is reserved for files on demand',
  },
  // RFC 2326 §11.3.4 (server/path-rules.ts says why 453 rather than 503).
  readersPerPath: {
    statusCode: RtspStatus.NotEnoughBandwidth,
    reason: 'Not Enough Bandwidth: too many readers of this path',
  },
};

export interface SessionAdmissionLimits {
  maxSessions: number;
  /** 0..1; 0: no per-address cap. */
  maxSessionsPerIpShare: number;
}

/** Sessions one address may hold: floor(share × maxSessions), at least 1; Infinity when the share is 0. */
export function sessionsPerIpCap(limits: SessionAdmissionLimits): number {
  if (limits.maxSessionsPerIpShare <= 0) return Infinity;
  return Math.max(1, Math.floor(limits.maxSessionsPerIpShare * limits.maxSessions));
}

/** A session that never played nor recorded, made more than `startTimeoutMs` ago. */
export function notStartedInTime(session: ServerSession, nowMs: number, startTimeoutMs: number): boolean {
  return !session.started && nowMs - session.createdMs > startTimeoutMs;
}

export class SessionLimits {
  private readonly perIp = new Map<string, number>();
  /** Refusals so far, by reason. */
  readonly refusals: Record<SessionRefusalReason, number> = Object.fromEntries(
    SESSION_REFUSAL_REASONS.map((r) => [r, 0]),
  ) as Record<SessionRefusalReason, number>;

  /** Sessions `ip` holds now. */
  heldBy(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  /** Why a new session for `ip` is refused with `total` sessions in the table; undefined: admitted. */
  refusalFor(ip: string, total: number, limits: SessionAdmissionLimits): SessionRefusalReason | undefined {
    if (total >= limits.maxSessions) return 'sessions';
    if (this.heldBy(ip) >= sessionsPerIpCap(limits)) return 'sessionsPerIp';
    return undefined;
  }

  added(ip: string): void {
    this.perIp.set(ip, this.heldBy(ip) + 1);
  }

  removed(ip: string): void {
    const n = this.heldBy(ip) - 1;
    if (n > 0) this.perIp.set(ip, n);
    else this.perIp.delete(ip);
  }

  /** Counts a refusal and builds its reply (`detail` is appended to the reason phrase). */
  refuse(why: SessionRefusalReason, detail?: string): Reply {
    this.refusals[why]++;
    const { statusCode, reason } = REFUSALS[why];
    return {
      statusCode,
      headers: new RtspHeaders(),
      reason: detail === undefined ? reason : `${reason} (${detail})`,
    };
  }
}
