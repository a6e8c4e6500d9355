/**
 * Requests the server sends to its clients (RFC 2326 §10: REDIRECT §10.10, ANNOUNCE §10.3; OPTIONS and
 * GET_PARAMETER as probes), on the client's own control connection, and the matching of their answers.
 *
 * Each connection has a CSeq space of its own for these (the client's CSeqs number its requests, ours
 * number ours: RFC 2326 §12.17 keeps one per direction), a bound on requests waiting for an answer, and
 * a timeout per request, all counted. A response whose CSeq names no request of ours waiting is counted
 * and dropped; garbage fails the connection's framer, which answers 400 and closes it (connection.ts).
 *
 * Every transport the server speaks carries them: TCP and RTSPS as they are, the HTTP tunnel on its GET
 * half (the client's answer comes back base64 on the POST half, into the same framer), WebSocket in a
 * binary message. A session whose control connection is gone (UDP readers may outlive it, §1.1) cannot
 * be sent one: callers fall back to RTCP BYE.
 */
import { clockTimeout, type Clock, type ClockTimer } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { RtspHeaders } from '../rtsp/headers.js';
import { serializeRequest, type RtspResponse } from '../rtsp/message.js';
import type { ServerConnection } from './connection.js';
import type { ServerSettings } from './server-options.js';

/** What became of a request the server sent. */
export type ServerRequestOutcome =
  | { kind: 'answered'; response: RtspResponse }
  /** No answer within `serverRequestTimeoutMs`. */
  | { kind: 'timeout' }
  /** The connection closed before the answer. */
  | { kind: 'closed' }
  /** `maxServerRequestsPending` requests already wait on this connection: not sent. */
  | { kind: 'over-limit' };

/** What the sender counts (metrics). */
export const SERVER_REQUEST_EVENTS = [
  'sent',
  'answered',
  'timedOut',
  'closed',
  'overLimit',
  /** A response with a CSeq we are not waiting for (late, made up, or none at all). */
  'unmatched',
] as const;
export type ServerRequestEvent = (typeof SERVER_REQUEST_EVENTS)[number];

export interface ServerRequestsDeps {
  clock: Clock;
  logger: Logger;
  /** Read at each request (reloadable). */
  settings: Pick<ServerSettings, 'serverRequestTimeoutMs' | 'maxServerRequestsPending' | 'serverName'>;
}

interface Waiting {
  method: string;
  timer: ClockTimer;
  settle: (outcome: ServerRequestOutcome) => void;
}

/** One connection's side of it: its CSeq and the requests waiting for an answer. */
interface ConnectionRequests {
  cseq: number;
  waiting: Map<number, Waiting>;
}

export class ServerRequests {
  readonly counters: Record<ServerRequestEvent, number> = Object.fromEntries(
    SERVER_REQUEST_EVENTS.map((e) => [e, 0]),
  ) as Record<ServerRequestEvent, number>;
  private readonly connections = new Map<ServerConnection, ConnectionRequests>();

  constructor(private readonly deps: ServerRequestsDeps) {}

  /**
   * Sends `method` to the client at the other end of `conn` and resolves with its answer, the timeout,
   * the connection's close, or a refusal when too many wait already. Never rejects.
   */
  send(
    conn: ServerConnection,
    method: string,
    uri: string,
    headers: Record<string, string>,
    body: Buffer = Buffer.alloc(0),
  ): Promise<ServerRequestOutcome> {
    if (conn.isClosed) return Promise.resolve(this.settled('closed'));
    let state = this.connections.get(conn);
    if (state === undefined) {
      state = { cseq: 0, waiting: new Map() };
      this.connections.set(conn, state);
    }
    if (state.waiting.size >= this.deps.settings.maxServerRequestsPending)
      return Promise.resolve(this.settled('over-limit'));
    state.cseq = (state.cseq % 0x7fffffff) + 1;
    const cseq = state.cseq;
    const h = new RtspHeaders();
    h.set('CSeq', String(cseq));
    for (const [k, v] of Object.entries(headers)) h.set(k, v);
    h.set('User-Agent', this.deps.settings.serverName);
    const waiting = state.waiting;
    const timeoutMs = this.deps.settings.serverRequestTimeoutMs;
    return new Promise((resolve) => {
      const timer = clockTimeout(
        this.deps.clock,
        () => {
          waiting.delete(cseq);
          resolve(this.settled('timeout'));
        },
        timeoutMs,
        { unref: true },
      );
      waiting.set(cseq, { method, timer, settle: resolve });
      this.counters.sent++;
      conn.write(serializeRequest({ method, uri, headers: h, body }));
    });
  }

  /** A response arrived on `conn`: it settles the request of ours with its CSeq, or is counted and dropped. */
  onResponse(conn: ServerConnection, res: RtspResponse): void {
    const waiting = this.connections.get(conn)?.waiting;
    const raw = res.headers.get('CSeq')?.trim();
    const cseq = raw !== undefined && /^\d{1,10}$/.test(raw) ? Number(raw) : undefined;
    const w = cseq === undefined ? undefined : waiting?.get(cseq);
    if (w === undefined || cseq === undefined) {
      this.counters.unmatched++;
      this.deps.logger.debug({ conn: conn.id, cseq: raw, status: res.statusCode }, 'unmatched response');
      return;
    }
    waiting!.delete(cseq);
    w.timer.cancel();
    this.counters.answered++;
    w.settle({ kind: 'answered', response: res });
  }

  /** The connection closed: what waited on it settles as `closed`. */
  connectionClosed(conn: ServerConnection): void {
    const state = this.connections.get(conn);
    if (state === undefined) return;
    this.connections.delete(conn);
    for (const w of state.waiting.values()) {
      w.timer.cancel();
      w.settle(this.settled('closed'));
    }
  }

  private settled(kind: 'timeout' | 'closed' | 'over-limit'): ServerRequestOutcome {
    this.counters[kind === 'timeout' ? 'timedOut' : kind === 'closed' ? 'closed' : 'overLimit']++;
    return { kind };
  }
}
