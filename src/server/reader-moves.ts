/**
 * Telling readers that what they read moves: REDIRECT (RFC 2326 §10.10) when their path goes to another
 * location (a node drained, a path removed with a new home), ANNOUNCE (§10.3) when their path's media
 * description changed and the path is fed again. Apart from the handlers because the server starts
 * these, not a request, and each ends in one of two ways: the client follows, or it is ended.
 *
 * Clients differ (tested, test/server-requests*.test.ts): ffmpeg answers a server's request with 501,
 * live555 with 405, GStreamer's rtspsrc not at all; only our own client follows REDIRECT and ANNOUNCE.
 * A reader whose client does not answer 2xx within `serverRequestTimeoutMs` gets RTCP BYE on each track
 * and its connection closed after `endedReaderGraceMs` (session-lifecycle.ts: the same end as when its
 * publisher leaves), so that it ends cleanly and can be restarted. One that answers 2xx leaves by itself
 * (our client sends TEARDOWN, then goes); if it is still here after the grace, it is ended the same way.
 *
 * ANNOUNCE goes only to clients that say they are ours (`User-Agent: rtspkit...`): the others answer
 * ANNOUNCE as they answer REDIRECT, and asking them would only delay their end by the timeout. The cost:
 * our client with another `userAgent` is ended as the others are.
 */
import { clockTimeout, type Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { PathManager } from '../paths/path-manager.js';
import { ServerConnection, withoutUserinfo } from './connection.js';
import { ServerRequests, type ServerRequestOutcome } from './server-requests.js';
import type { SessionLifecycle } from './session-lifecycle.js';
import type { ServerSession } from './session.js';
import type { ServerSettings } from './server-options.js';

export interface ReaderMovesDeps {
  clock: Clock;
  logger: Logger;
  /** Read at each use (reloadable). */
  settings: Pick<
    ServerSettings,
    'endedReaderGraceMs' | 'serverRequestTimeoutMs' | 'maxServerRequestsPending' | 'serverName'
  >;
  sessions: ReadonlyMap<string, ServerSession>;
  lifecycle: SessionLifecycle;
  paths: PathManager;
}

/** What the moves count (metrics): sessions told, and how each ended. */
export const READER_MOVE_EVENTS = [
  'redirected',
  'redirectFollowed',
  'redirectNotFollowed',
  'announced',
  'announceFollowed',
  'announceNotFollowed',
  /** Readers of a changed path ended at once: a client that is not ours, or no connection to tell. */
  'mediaChangeEnded',
] as const;
export type ReaderMoveEvent = (typeof READER_MOVE_EVENTS)[number];

/** `User-Agent` of our own client (client/options.ts): the one that follows a server's ANNOUNCE. */
export function followsAnnounce(userAgent: string | undefined): boolean {
  return userAgent !== undefined && /^rtspkit\b/i.test(userAgent.trim());
}

/** The connection a server request reaches the session's client on; none when it closed (UDP readers). */
function connectionOf(session: ServerSession): ServerConnection | undefined {
  const sink = session.sink;
  return sink instanceof ServerConnection && !sink.isClosed ? sink : undefined;
}

function isSuccess(outcome: ServerRequestOutcome): boolean {
  return (
    outcome.kind === 'answered' && outcome.response.statusCode >= 200 && outcome.response.statusCode < 300
  );
}

function describeOutcome(outcome: ServerRequestOutcome): string {
  switch (outcome.kind) {
    case 'answered':
      return `answered ${outcome.response.statusCode}`;
    case 'timeout':
      return 'no answer';
    case 'closed':
      return 'connection closed';
    case 'over-limit':
      return 'too many requests waiting';
  }
}

export class ReaderMoves {
  readonly counters: Record<ReaderMoveEvent, number> = Object.fromEntries(
    READER_MOVE_EVENTS.map((e) => [e, 0]),
  ) as Record<ReaderMoveEvent, number>;

  /** The requests the server sends on its connections (their answers come back through `onResponse`). */
  readonly requests: ServerRequests;

  constructor(private readonly deps: ReaderMovesDeps) {
    this.requests = new ServerRequests(deps);
  }

  /**
   * REDIRECT to every reader (ready or playing) of a path for which `select` gives a location; returns
   * how many were sent one (or, without a connection to send it on, ended with BYE).
   */
  redirectReaders(select: (pathName: string) => string | undefined, reason: string): number {
    let count = 0;
    for (const s of [...this.deps.sessions.values()]) {
      if (s.closed || s.mode !== 'play' || (s.state !== 'ready' && s.state !== 'playing')) continue;
      const location = select(s.path);
      if (location === undefined) continue;
      count++;
      this.redirect(s, location, reason);
    }
    return count;
  }

  /**
   * A reader's stream ended with `mediaChanged`: our client is sent ANNOUNCE with the new description
   * once the path is fed again; true when it is taken care of here, false to end it as any other.
   */
  mediaChanged(s: ServerSession, reason: string): boolean {
    const conn = connectionOf(s);
    if (conn === undefined || !followsAnnounce(s.userAgent) || s.role.kind !== 'live-reader') {
      this.counters.mediaChangeEnded++;
      this.deps.logger.info(
        { session: s.id, path: s.path, userAgent: s.userAgent, reason },
        conn === undefined
          ? 'media changed: no control connection to send ANNOUNCE on, ending the reader'
          : 'media changed: the client does not follow ANNOUNCE (only rtspkit does), ending the reader',
      );
      return false;
    }
    // No BYE: our client would take it as the end. It gets nothing until the path is back.
    s.stopReading();
    s.stream = undefined;
    const graceMs = this.deps.settings.endedReaderGraceMs;
    let stopWaiting = (): void => undefined;
    const timer = clockTimeout(
      this.deps.clock,
      () => {
        stopWaiting();
        this.dismiss(s, `media changed (${reason}); the path was not fed again within ${graceMs} ms`);
      },
      graceMs,
      { unref: true },
    );
    stopWaiting = this.deps.paths.onPathReady((ready) => {
      if (ready.name !== s.path) return;
      stopWaiting();
      timer.cancel();
      if (!s.closed) this.announce(s, conn, reason);
    });
    return true;
  }

  private redirect(s: ServerSession, location: string, reason: string): void {
    const safeLocation = withoutUserinfo(location);
    this.counters.redirected++;
    this.deps.logger.info(
      { session: s.id, path: s.path, location: safeLocation, reason },
      'redirecting reader',
    );
    const conn = connectionOf(s);
    if (conn === undefined) {
      this.counters.redirectNotFollowed++;
      this.dismiss(s, `redirected to ${safeLocation} (${reason}); no control connection to tell`);
      return;
    }
    void this.requests
      .send(conn, 'REDIRECT', s.presentationUri, { Session: s.id, Location: location })
      .then((outcome) => {
        this.settle(s, isSuccess(outcome), 'redirect', `redirected to ${safeLocation} (${reason})`, outcome);
      });
  }

  private announce(s: ServerSession, conn: ServerConnection, reason: string): void {
    const path = this.deps.paths.get(s.path);
    if (path?.stream === undefined) {
      this.dismiss(s, `media changed (${reason}); the path is gone`);
      return;
    }
    this.counters.announced++;
    this.deps.logger.info({ session: s.id, path: s.path, reason }, 'media changed: sending ANNOUNCE');
    const base = `${s.presentationUri}/`;
    const sdp = Buffer.from(path.media.describeSdp(base));
    void this.requests
      .send(
        conn,
        'ANNOUNCE',
        s.presentationUri,
        { Session: s.id, 'Content-Type': 'application/sdp', 'Content-Base': base },
        sdp,
      )
      .then((outcome) => {
        this.settle(s, isSuccess(outcome), 'announce', `media changed (${reason})`, outcome);
      });
  }

  /**
   * The client's answer: 2xx, it leaves by itself (TEARDOWN) within the grace, or is ended then; else
   * it is ended now.
   */
  private settle(
    s: ServerSession,
    followed: boolean,
    kind: 'redirect' | 'announce',
    why: string,
    outcome: ServerRequestOutcome,
  ): void {
    if (followed) this.counters[kind === 'redirect' ? 'redirectFollowed' : 'announceFollowed']++;
    else this.counters[kind === 'redirect' ? 'redirectNotFollowed' : 'announceNotFollowed']++;
    if (s.closed) return;
    const method = kind === 'redirect' ? 'REDIRECT' : 'ANNOUNCE';
    if (!followed) {
      this.deps.logger.info(
        { session: s.id, path: s.path, userAgent: s.userAgent, outcome: describeOutcome(outcome) },
        `${method} not followed: RTCP BYE, then the connection closes`,
      );
      this.dismiss(s, `${why}; ${method} ${describeOutcome(outcome)}`);
      return;
    }
    clockTimeout(
      this.deps.clock,
      () => {
        if (!s.closed) this.dismiss(s, `${why}; still here after ${method} was accepted`);
      },
      this.deps.settings.endedReaderGraceMs,
      { unref: true },
    );
  }

  /**
   * RTCP BYE on each track, then the connection closed after the grace unless the client sent TEARDOWN
   * (a live reader: session-lifecycle.ts); a file reader is ended at once, BYE first.
   */
  private dismiss(s: ServerSession, reason: string): void {
    if (s.closed) return;
    const conn = connectionOf(s);
    if (s.role.kind === 'live-reader' && s.state !== 'init') {
      // Already told once (its stream ended meanwhile): it is on its way out.
      if (s.streamGone) return;
      this.deps.lifecycle.detachEndedReader(s, reason);
    } else {
      this.deps.lifecycle.end(s, reason, true);
    }
    // The connection goes too once the client has had its grace (a UDP reader's stays open otherwise).
    if (conn !== undefined)
      clockTimeout(
        this.deps.clock,
        () => {
          if ([...conn.sessions].every((other) => other.closed || other.streamGone)) conn.end();
        },
        this.deps.settings.endedReaderGraceMs,
        { unref: true },
      );
  }
}
