/**
 * Requests and replies on the control connection (RFC 2326 §6, §7): CSeq numbering, matching replies to
 * pending requests (a reply without CSeq, seen from cameras, answers the oldest), per-request timeouts,
 * keepalives whose replies are dropped, answering 401 challenges (Basic, Digest MD5/SHA-256, stale nonces,
 * RFC 2617) and following 3xx replies with a Location. Requests from the server are answered here too.
 * The connection itself, and switching it on a redirect to another server, belong to the caller.
 */
import { randomBytes } from 'node:crypto';
import { clockTimeout, type Clock, type ClockTimer } from '../base/clock.js';
import { isParseError } from '../base/errors.js';
import {
  basicCredentials,
  digestCredentials,
  selectChallenge,
  type DigestChallenge,
} from '../auth/digest.js';
import { parseWwwAuthenticate, serializeAuthorization, type AuthChallenge } from '../rtsp/auth-header.js';
import { RtspHeaders } from '../rtsp/headers.js';
import { serializeRequest, serializeResponse, type RtspRequest, type RtspResponse } from '../rtsp/message.js';
import { RtspStatus } from '../rtsp/status.js';
import { parseRtspUrl, stripCredentials } from '../rtsp/url.js';
import { isOpen, writeTo, type Connection } from './connection.js';
import { RtspClientError, statusError } from './errors.js';
import { safeUrl } from './urls.js';

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Send the Session header (when there is a session). Default true. */
  session?: boolean;
}

interface Pending {
  method: string;
  url: string;
  resolve: (r: RtspResponse) => void;
  reject: (e: RtspClientError) => void;
  timer: ClockTimer;
}

type AuthState = { kind: 'basic' } | { kind: 'digest'; challenge: DigestChallenge; nonceCount: number };

/** What the requests read from the client they serve. */
export interface RequestContext {
  /** The control connection now (it changes on a redirect to another server). */
  connection(): Connection | undefined;
  /** The presentation URL, whose userinfo holds the credentials. */
  url(): string;
  sessionId(): string | undefined;
  /** Opens the control connection unless it is open. */
  connect(): Promise<void>;
  /** Follows a Location from `from`: the URL to retry at (reconnecting when the server changes). */
  redirect(from: string, location: string): Promise<string>;
}

/** Authorization retries per request: a wrong password stops at the second refusal. */
const MAX_AUTH_TRIES = 3;
/** Keepalive CSeqs remembered (their late replies are dropped). */
const MAX_IGNORED = 64;
/** Methods the client answers when the server sends them (RFC 2326 §10: server to client). */
const SERVER_METHODS = ['OPTIONS', 'GET_PARAMETER', 'SET_PARAMETER', 'ANNOUNCE', 'REDIRECT'];

export class ClientRequests {
  #cseq = 0;
  readonly #pending = new Map<number, Pending>();
  /** CSeqs of keepalives: their replies are dropped. */
  readonly #ignored = new Set<number>();
  #auth: AuthState | undefined;

  constructor(
    private readonly ctx: RequestContext,
    private readonly opts: { userAgent: string; timeoutMs: number; maxRedirects: number; clock: Clock },
  ) {}

  /** Forgets the accepted challenge (a new server challenges anew). */
  resetAuth(): void {
    this.#auth = undefined;
  }

  credentials(): { username?: string; password?: string } {
    const u = parseRtspUrl(this.ctx.url());
    const out: { username?: string; password?: string } = {};
    if (u.username !== undefined) out.username = u.username;
    if (u.password !== undefined) out.password = u.password;
    return out;
  }

  /**
   * Sends a request with CSeq, Session and Authorization, answering 401 challenges and following 3xx with
   * Location. Returns any final reply.
   */
  async request(method: string, url: string, options: RequestOptions = {}): Promise<RtspResponse> {
    await this.ctx.connect();
    const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
    let target = url;
    let redirects = 0;
    let authTries = 0;
    for (;;) {
      const uri = target === '*' ? '*' : stripCredentials(target);
      const headers = this.#headersFor(method, uri, options.headers ?? {}, options.session ?? true);
      const res = await this.#send(method, uri, headers, body);
      if (res.statusCode === RtspStatus.Unauthorized && authTries < MAX_AUTH_TRIES) {
        authTries++;
        if (this.#onUnauthorized(res, authTries)) continue;
        return res;
      }
      if (isRedirect(res.statusCode)) {
        const location = res.headers.get('Location');
        if (location === undefined) return res;
        if (++redirects > this.opts.maxRedirects) {
          throw new RtspClientError(
            'TOO_MANY_REDIRECTS',
            `${method} ${uri}: more than ${this.opts.maxRedirects} redirects`,
            { response: res },
          );
        }
        target = await this.ctx.redirect(target, location);
        authTries = 0;
        continue;
      }
      return res;
    }
  }

  /** request(), with any final reply but 2xx as an RtspClientError (`RTSP_<status>`, 401 with a hint). */
  async expectOk(method: string, url: string, options: RequestOptions = {}): Promise<RtspResponse> {
    const res = await this.request(method, url, options);
    if (res.statusCode === RtspStatus.Unauthorized) {
      const hint =
        this.credentials().username === undefined
          ? 'credentials required: put user:password@ in the URL'
          : 'wrong user name or password';
      throw new RtspClientError('RTSP_401', `${method} ${safeUrl(url)}: 401 ${res.reason} (${hint})`, {
        response: res,
      });
    }
    if (res.statusCode < RtspStatus.Ok || res.statusCode >= RtspStatus.MultipleChoices)
      throw statusError(method, safeUrl(url), res);
    return res;
  }

  /** Writes a request whose reply is not waited for (keepalive: some cameras do not answer). */
  sendNoWait(method: string, url: string): void {
    const conn = this.ctx.connection();
    if (!isOpen(conn)) return;
    const uri = stripCredentials(url);
    const headers = this.#headersFor(method, uri, {}, true);
    const cseq = Number(headers.get('CSeq'));
    this.#ignored.add(cseq);
    if (this.#ignored.size > MAX_IGNORED) this.#ignored.delete(this.#ignored.values().next().value!);
    writeTo(conn, serializeRequest({ method, uri, headers, body: Buffer.alloc(0) }));
  }

  /** A reply from the server: settles its pending request. */
  onResponse(res: RtspResponse): void {
    const raw = res.headers.get('CSeq');
    let cseq = raw === undefined ? NaN : Number.parseInt(raw, 10);
    if (this.#ignored.delete(cseq)) return;
    // A reply without CSeq (seen from cameras) answers the oldest request.
    if (!this.#pending.has(cseq)) cseq = this.#pending.keys().next().value ?? NaN;
    const p = this.#pending.get(cseq);
    if (p === undefined) return;
    this.#pending.delete(cseq);
    p.timer.cancel();
    p.resolve(res);
  }

  /** Rejects every pending request with `err` (connection lost, client closed). */
  rejectAll(err: RtspClientError): void {
    for (const p of this.#pending.values()) {
      p.timer.cancel();
      p.reject(new RtspClientError(err.code, `${p.method} ${p.url}: ${err.message}`, { cause: err.cause }));
    }
    this.#pending.clear();
  }

  /** Answers a request from the server: 200 to the methods a client knows (§10), 501 to others. */
  answerServerRequest(req: RtspRequest): void {
    const conn = this.ctx.connection();
    const headers = new RtspHeaders();
    const cseq = req.headers.get('CSeq');
    if (cseq !== undefined) headers.set('CSeq', cseq);
    const sessionId = this.ctx.sessionId();
    if (sessionId !== undefined) headers.set('Session', sessionId);
    const method = req.method.toUpperCase();
    const status = SERVER_METHODS.includes(method) ? RtspStatus.Ok : RtspStatus.NotImplemented;
    if (method === 'OPTIONS') headers.set('Public', SERVER_METHODS.join(', '));
    if (conn !== undefined)
      writeTo(conn, serializeResponse({ statusCode: status, headers, body: Buffer.alloc(0) }));
  }

  #nextCseq(): number {
    this.#cseq = (this.#cseq % 0x7fffffff) + 1;
    return this.#cseq;
  }

  #headersFor(method: string, url: string, extra: Record<string, string>, withSession: boolean): RtspHeaders {
    const h = new RtspHeaders();
    h.set('CSeq', String(this.#nextCseq()));
    h.set('User-Agent', this.opts.userAgent);
    const sessionId = this.ctx.sessionId();
    if (withSession && sessionId !== undefined) h.set('Session', sessionId);
    const auth = this.#authorization(method, url);
    if (auth !== undefined) h.set('Authorization', auth);
    for (const [k, v] of Object.entries(extra)) h.set(k, v);
    return h;
  }

  #authorization(method: string, url: string): string | undefined {
    const a = this.#auth;
    if (a === undefined) return undefined;
    const { username, password } = this.credentials();
    if (username === undefined) return undefined;
    if (a.kind === 'basic') return serializeAuthorization(basicCredentials(username, password ?? ''));
    a.nonceCount++;
    return serializeAuthorization(
      digestCredentials(a.challenge, {
        username,
        password: password ?? '',
        method,
        uri: url,
        nonceCount: a.nonceCount,
        cnonce: randomBytes(8).toString('hex'),
      }),
    );
  }

  /** Writes one request and waits for its reply (no auth retry, no redirect). */
  #send(method: string, url: string, headers: RtspHeaders, body?: Buffer): Promise<RtspResponse> {
    const conn = this.ctx.connection();
    if (!isOpen(conn)) {
      return Promise.reject(new RtspClientError('CLOSED', `${method}: not connected`));
    }
    const cseq = Number(headers.get('CSeq'));
    const bytes = serializeRequest({ method, uri: url, headers, body: body ?? Buffer.alloc(0) });
    return new Promise((resolve, reject) => {
      const timer = clockTimeout(
        this.opts.clock,
        () => {
          this.#pending.delete(cseq);
          reject(new RtspClientError('TIMEOUT', `${method} ${url}: no reply in ${this.opts.timeoutMs} ms`));
        },
        this.opts.timeoutMs,
      );
      this.#pending.set(cseq, { method, url, resolve, reject, timer });
      writeTo(conn, bytes);
    });
  }

  /** Whether to retry after a 401: picks the challenge; refuses when the same credentials already failed. */
  #onUnauthorized(res: RtspResponse, tries: number): boolean {
    const { username } = this.credentials();
    if (username === undefined) return false;
    const challenges: AuthChallenge[] = [];
    for (const v of res.headers.getAll('WWW-Authenticate')) {
      try {
        challenges.push(...parseWwwAuthenticate(v));
      } catch (e) {
        if (!isParseError(e)) throw e;
      }
    }
    const chosen = selectChallenge(challenges);
    if (chosen === undefined) return false;
    const stale = chosen.kind === 'digest' && chosen.digest.stale;
    // Credentials already sent and refused, with no stale nonce to explain it: the password is wrong.
    // (On the first 401 of a request, credentials sent preemptively get one fresh attempt: the server may
    // have dropped our nonce without saying stale=true.)
    if (this.#auth !== undefined && tries > 1 && !stale) return false;
    this.#auth =
      chosen.kind === 'basic'
        ? { kind: 'basic' }
        : { kind: 'digest', challenge: chosen.digest, nonceCount: 0 };
    return true;
  }
}

/** 3xx but 304 Not Modified (RFC 2326 §11.3): a redirect when it has a Location. */
function isRedirect(status: number): boolean {
  return (
    status >= RtspStatus.MultipleChoices &&
    status < RtspStatus.BadRequest &&
    status !== RtspStatus.NotModified
  );
}
