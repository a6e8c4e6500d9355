/**
 * A session's life at the server's level: admission, creation (id, owner, timeout, what happens when
 * its live stream ends), and its end, which frees everything it held across the parts of the server;
 * and the grace a reader gets after RTCP BYE to send TEARDOWN. Apart from the handlers because every
 * way a session ends (TEARDOWN, timeouts, a closed connection, a publisher leaving, the API) goes
 * through the same steps, in the same order.
 */
import { randomHex } from '../base/random-pool.js';
import { clockTimeout, type Clock, type ClockTimer } from '../base/clock.js';
import { boundLogger, type Logger } from '../base/logger.js';
import { ownString } from '../base/own-string.js';
import type { RtspRequest } from '../rtsp/message.js';
import { normalizeAddress } from '../transport/udp.js';
import type { Authorizer } from './auth.js';
import { withoutUserinfo, type Reply, type ServerConnection } from './connection.js';
import type { PathManager } from '../paths/path-manager.js';
import { ServerSession, type InterleavedSink, type SessionRole } from './session.js';
import type { StreamEndInfo } from '../media/stream.js';
import type { SessionLimits } from './session-limits.js';
import { usernameOf } from './session-binding.js';
import type { ServerSettings } from './server-options.js';
import { UDP_BYE_DELAY_MS, sendBye as sendByeTo } from './server-rtcp.js';

export interface SessionLifecycleDeps {
  clock: Clock;
  logger: Logger;
  /** Read at each use (reloadable). */
  settings: Pick<
    ServerSettings,
    'sessionTimeoutS' | 'endedReaderGraceMs' | 'maxSessions' | 'maxSessionsPerIpShare'
  >;
  /** The server's session table, by id. */
  sessions: Map<string, ServerSession>;
  sessionLimits: SessionLimits;
  paths: PathManager;
  /** The current authorizer (replaced on reload); a session's user is recorded only with one. */
  authorizer(): Authorizer | undefined;
  /** What the session shares with others: its multicast group, its file. */
  releaseShared(session: ServerSession): void;
  /** Its interleaved channels on every connection. */
  unbindChannels(session: ServerSession): void;
  /** The server's `sessionEnded` event. */
  ended(session: ServerSession, reason: string): void;
  /**
   * A reader's stream ended because its path's media changed (StreamEndInfo): true when the reader is
   * taken care of (told with ANNOUNCE, reader-moves.ts), false to end it as any other (BYE, grace).
   */
  mediaChanged?(session: ServerSession, reason: string): boolean;
}

/**
 * What a session's admission and creation need of the connection whose request made it: its address,
 * the sessions it carries, and itself as the sink of interleaved data.
 */
export type SessionConnection = InterleavedSink & Pick<ServerConnection, 'remoteAddress' | 'sessions'>;

/**
 * `rtsp://host:port/<path>` from a request's URI (a track's control URL, with its query) and the path it
 * names (decoded, so encoded again: a name may hold spaces or line breaks): where the server's own
 * requests to the session's client point. The userinfo some clients put in their URIs is left out.
 */
export function presentationUri(uri: string, path: string): string {
  const origin = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]*/i.exec(withoutUserinfo(uri))?.[0];
  return origin === undefined ? '*' : `${origin}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

function newSessionId(): string {
  // 16 hex digits: no dashes (interop notes), unguessable.
  return randomHex(8);
}

export class SessionLifecycle {
  /** The pending timer of a reader whose stream ended (BYE's delay, then its grace); cancelled at its end. */
  private readonly endedReaderTimers = new Map<ServerSession, ClockTimer>();

  constructor(private readonly deps: SessionLifecycleDeps) {}

  /**
   * A reader's live stream ended: it is detached (BYE, then the grace below). One function for every
   * session (it needs nothing of one but its arguments), not a closure each.
   */
  private readonly readerStreamEnded = (
    sess: ServerSession,
    publisherReason: string,
    info: StreamEndInfo,
  ): void => {
    if (info.mediaChanged === true && this.deps.mediaChanged?.(sess, publisherReason) === true) return;
    const reason =
      info.mediaChanged === true
        ? `media changed (${publisherReason})`
        : `publisher left (${publisherReason})`;
    if (sess.transport === 'tcp') {
      this.detachEndedReader(sess, reason);
      return;
    }
    // RTP and RTCP travel on separate UDP sockets: a BYE sent right behind the last packets
    // can be read first, and ffmpeg stops at BYE. Let the last datagrams land first.
    this.endedReaderTimers.get(sess)?.cancel();
    this.endedReaderTimers.set(
      sess,
      clockTimeout(
        this.deps.clock,
        () => {
          this.endedReaderTimers.delete(sess);
          this.detachEndedReader(sess, reason);
        },
        UDP_BYE_DELAY_MS,
        { unref: true },
      ),
    );
  };

  /** The refusal of a new session for `conn`'s address (table full, or the address's share), or undefined. */
  admissionRefusal(conn: Pick<SessionConnection, 'remoteAddress'>): Reply | undefined {
    const why = this.deps.sessionLimits.refusalFor(
      normalizeAddress(conn.remoteAddress),
      this.deps.sessions.size,
      this.deps.settings,
    );
    return why === undefined ? undefined : this.deps.sessionLimits.refuse(why);
  }

  /**
   * A new session in the table, owned by `conn`'s address (and user, with an authorizer), in the role
   * it will keep; a reader's live stream ending detaches it (BYE, then the grace below).
   */
  create(
    conn: SessionConnection,
    req: RtspRequest,
    path: string,
    role: SessionRole,
    trackCount: number,
  ): ServerSession {
    const id = newSessionId();
    const s = new ServerSession(
      id,
      path,
      role,
      trackCount,
      conn,
      boundLogger(this.deps.logger, { session: id }),
      this.deps.clock.monotonicMs(),
      this.deps.clock.wallMs(),
    );
    s.timeoutS = this.deps.settings.sessionTimeoutS;
    // The request that makes a session passed the authorizer (requiredAction): its credentials are verified.
    const ip = normalizeAddress(conn.remoteAddress);
    s.owner = {
      connection: conn,
      ip,
      user: this.deps.authorizer() !== undefined ? usernameOf(req) : undefined,
    };
    this.deps.sessionLimits.added(ip);
    // Copies of their own: as parsed they are slices of the request's text and concatenations, which keep
    // the whole request alive for as long as the session lives.
    s.userAgent = ownString(req.headers.get('User-Agent'));
    s.presentationUri = ownString(presentationUri(req.uri, path));
    s.onStreamEnded = this.readerStreamEnded;
    this.deps.sessions.set(id, s);
    conn.sessions.add(s);
    this.deps.logger.info(
      { session: id, path, mode: s.mode, role: role.kind, remote: conn.remoteAddress },
      'session created',
    );
    return s;
  }

  /** Ends a session: its place, its reading, what it shares with others, its path if it publishes. */
  end(session: ServerSession, reason: string, sendBye = false): void {
    if (session.closed) return;
    this.endedReaderTimers.get(session)?.cancel();
    this.endedReaderTimers.delete(session);
    if (sendBye) sendByeTo(session);
    this.deps.sessions.delete(session.id);
    if (session.owner !== undefined) this.deps.sessionLimits.removed(session.owner.ip);
    session.stopReading();
    this.deps.releaseShared(session);
    session.release();
    this.deps.unbindChannels(session);
    if (session.role.kind === 'publisher') {
      // Logged before the path manager ends the stream, whose readers then log their end.
      if (this.deps.paths.publishedBy(session.path, session.id)?.stream !== undefined)
        this.deps.logger.info({ session: session.id, path: session.path, reason }, 'publish ended');
      this.deps.paths.releasePublisher(session.path, session.id, reason);
    } else if (session.state === 'playing' || session.stream !== undefined) {
      this.deps.logger.info(
        { session: session.id, path: session.path, reason, bytes: session.bytesSent },
        'read ended',
      );
    }
    this.deps.logger.info({ session: session.id, reason }, 'session closed');
    this.deps.ended(session, reason);
    if (sendBye && session.transport === 'tcp') {
      // The reader is told with RTCP BYE, then its connection ends (ffmpeg and GStreamer stop cleanly).
      session.sink?.end?.();
    }
  }

  /**
   * A reader whose live stream ended gets RTCP BYE and no more media. ffmpeg, GStreamer and
   * live555 answer BYE with TEARDOWN (rtspsrc sends PAUSE first and reports 454 or a closed
   * connection as an error), so the session waits for it; a client that ignores BYE is ended
   * after `endedReaderGraceMs`, its interleaved connection closed.
   */
  detachEndedReader(session: ServerSession, reason: string): void {
    // Told once (the table refuses a second end): the grace below runs from the first.
    if (session.closed || !session.transition('stream ended')) return;
    sendByeTo(session);
    session.stopReading();
    session.stream = undefined;
    this.deps.logger.info(
      { session: session.id, path: session.path, reason, bytes: session.bytesSent },
      'read ended',
    );
    this.endedReaderTimers.get(session)?.cancel();
    this.endedReaderTimers.set(
      session,
      clockTimeout(
        this.deps.clock,
        () => {
          this.endedReaderTimers.delete(session);
          if (session.closed) return;
          const sink = session.transport === 'tcp' ? session.sink : undefined;
          this.end(session, `${reason}; no TEARDOWN after RTCP BYE`);
          sink?.end?.();
        },
        this.deps.settings.endedReaderGraceMs,
        { unref: true },
      ),
    );
  }
}
