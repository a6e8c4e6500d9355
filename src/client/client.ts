/**
 * The RTSP client (RFC 2326): one control connection, the methods of §10, RTP/RTCP over UDP, UDP
 * multicast (multicast.ts) or TCP interleaved, access units through the payload formats of src/format, receiver reports and keepalive.
 * Its parts, one concept a file, are mapped in DEVELOPERS.md ("The client, file by file").
 * How it behaves with servers in the field (control URLs, fallback to TCP, keepalive, server requests,
 * redirects) is listed in DEVELOPERS.md under the same heading.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isParseError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { nullLogger } from '../base/logger.js';
import type { RtspRequest, RtspResponse } from '../rtsp/message.js';
import { serializeRange, type RangeSpec } from '../rtsp/range.js';
import { RtspStatus } from '../rtsp/status.js';
import { serializeTransport } from '../rtsp/transport.js';
import { stripCredentials } from '../rtsp/url.js';
import { parseSdp, type SessionDescription } from '../sdp/index.js';
import {
  destroyConn,
  isOpen,
  listen,
  openConnection,
  writableLength,
  type Connection,
  type ConnectionKind,
} from './connection.js';
import { RtspClientError } from './errors.js';
import { ClientMedia, readSetupReply, type ClientTransport, type TrackStats } from './media.js';
import type {
  DescribeResult,
  PlayOptions,
  RtspClientEvents,
  RtspClientOptions,
  SetupOptions,
} from './options.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { checkPreference, type MulticastPreference } from './multicast.js';
import { ClientRequests, type RequestOptions } from './requests.js';
import { replayAfterRedirect, replayOverTcp, restartError } from './recovery.js';
import { SessionTimers } from './timers.js';
import { tracksFromSdp, type ClientTrack } from './tracks.js';
import { connKey, parseClientUrl, redirectTarget, resolveClientUrl, safeUrl } from './urls.js';

const DEFAULT_SESSION_TIMEOUT_S = 60;

/**
 * An RTSP client for one presentation URL. Typical use:
 *
 *   const c = new RtspClient('rtsp://user:pass@cam/stream');
 *   c.on('accessUnit', (track, au) => ...);
 *   await c.connect(); await c.describe(); await c.setup({ transport: 'tcp' }); await c.play();
 *   ... await c.teardown(); c.close();
 *
 * Errors of a request reject its promise with an RtspClientError; faults between requests are emitted
 * as 'error' (attach a listener, as with any EventEmitter).
 */
export class RtspClient extends EventEmitter<RtspClientEvents> {
  #url: string;
  readonly #opts: ResolvedOptions;
  readonly #logger: Logger;
  #conn: Connection | undefined;
  readonly #requests: ClientRequests;
  readonly #media: ClientMedia;
  #sessionId: string | undefined;
  #sessionTimeoutS = DEFAULT_SESSION_TIMEOUT_S;
  #publicMethods: string[] | undefined;
  #serverName: string | undefined;
  #sessionUrl: string | undefined;
  #tracks: ClientTrack[] = [];
  #mode: 'play' | 'record' = 'play';
  readonly #timers: SessionTimers;
  #lastSetup: SetupOptions | undefined;
  #lastPlay: PlayOptions | undefined;
  #closed = false;
  #followingRedirect = false;
  readonly #tunnel: boolean;
  readonly #webSocket: boolean;

  constructor(url: string, options: RtspClientOptions = {}) {
    super();
    const resolved = resolveClientUrl(url, {
      httpTunnel: options.httpTunnel ?? false,
      webSocket: options.webSocket ?? false,
    });
    this.#url = resolved.url;
    this.#tunnel = resolved.httpTunnel;
    this.#webSocket = resolved.webSocket;
    this.#logger = options.logger ?? nullLogger;
    this.#opts = resolveOptions(options);
    this.#timers = new SessionTimers(this.#opts.clock);
    this.#requests = new ClientRequests(
      {
        connection: () => this.#conn,
        url: () => this.#url,
        sessionId: () => this.#sessionId,
        connect: () => this.connect(),
        redirect: (from, location) => this.#redirect(from, location),
      },
      this.#opts,
    );
    this.#media = new ClientMedia(
      {
        rtp: (track, packet) => this.emit('rtp', track, packet),
        rtcp: (track, packets) => this.emit('rtcp', track, packets),
        accessUnit: (track, au) => this.emit('accessUnit', track, au),
        bye: (track) => this.emit('bye', track),
        end: () => this.emit('end'),
      },
      { clock: this.#opts.clock, logger: this.#logger, anyPort: this.#opts.anyPort },
      `rtspkit-${randomBytes(4).toString('hex')}`,
    );
  }

  /** The presentation URL (after redirects), credentials included. */
  get url(): string {
    return this.#url;
  }

  /** Methods from the Public header of the last OPTIONS reply, upper-case. */
  get publicMethods(): readonly string[] | undefined {
    return this.#publicMethods;
  }

  /** The Server header of the last reply that had one. */
  get serverName(): string | undefined {
    return this.#serverName;
  }

  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  get sessionTimeoutS(): number {
    return this.#sessionTimeoutS;
  }

  get tracks(): readonly ClientTrack[] {
    return this.#tracks;
  }

  /** The transport in use after SETUP ('tcp' after a fallback), or undefined. */
  get transport(): ClientTransport | undefined {
    return this.#media.transport;
  }

  get connected(): boolean {
    return isOpen(this.#conn);
  }

  // --- connection ---

  /** Opens the control connection (TCP, or TLS for rtsps://). */
  async connect(): Promise<void> {
    if (this.#closed) throw new RtspClientError('STATE', 'client is closed');
    if (this.#conn !== undefined) return;
    const u = parseClientUrl(this.#url);
    this.#adopt(await this.#open(u));
  }

  /** Whether requests and media go through an HTTP tunnel. */
  get httpTunnel(): boolean {
    return this.#tunnel;
  }

  /** Whether requests and media go through a WebSocket. */
  get webSocket(): boolean {
    return this.#webSocket;
  }

  #open(u: ReturnType<typeof parseClientUrl>): Promise<Connection> {
    const kind: ConnectionKind = this.#webSocket ? 'webSocket' : this.#tunnel ? 'httpTunnel' : 'plain';
    return openConnection(u, {
      kind,
      clock: this.#opts.clock,
      timeoutMs: this.#opts.timeoutMs,
      rejectUnauthorized: this.#opts.rejectUnauthorized,
      ...(this.#opts.tlsFingerprint !== undefined ? { tlsFingerprint: this.#opts.tlsFingerprint } : {}),
      userAgent: this.#opts.userAgent,
      displayUrl: this.#url,
    });
  }

  /** Makes `conn` the control connection: its bytes go to the framer, its end closes the client. */
  #adopt(conn: Connection): void {
    this.#conn = conn;
    listen(conn, {
      current: () => this.#conn === conn,
      message: (m) => {
        if (m.kind === 'response') this.#onResponse(m);
        else if (m.kind === 'request') this.#onServerRequest(m);
        else this.#media.onInterleaved(m.channel, m.payload);
      },
      fault: (err) => this.#fail(err),
      closed: () => {
        this.#conn = undefined;
        destroyConn(conn);
        this.#requests.rejectAll(new RtspClientError('CLOSED', 'the server closed the connection'));
        // A server may hang up right after its REDIRECT: the client lives on at the new location.
        if (!this.#followingRedirect) this.close();
      },
    });
  }

  #fail(err: RtspClientError): void {
    this.#requests.rejectAll(err);
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.#logger.warn({ err: err.message, code: err.code }, 'rtsp client error');
    this.close();
  }

  /** Stops every timer, closes sockets, and emits 'close' once. Does not send TEARDOWN (see teardown()). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.stop();
    this.#requests.rejectAll(new RtspClientError('CLOSED', 'client closed'));
    this.#media.closeSockets();
    const conn = this.#conn;
    this.#conn = undefined;
    destroyConn(conn);
    this.emit('close');
  }

  // --- requests ---

  #onResponse(res: RtspResponse): void {
    const server = res.headers.get('Server');
    if (server !== undefined) this.#serverName = server;
    this.#requests.onResponse(res);
  }

  #onServerRequest(req: RtspRequest): void {
    this.#requests.answerServerRequest(req);
    this.emit('serverRequest', req);
    const method = req.method.toUpperCase();
    const location = method === 'REDIRECT' ? req.headers.get('Location') : undefined;
    if (location !== undefined) this.emit('redirect', location);
    if (!this.#opts.followRedirect || this.#mode !== 'play') return;
    if (location !== undefined) void this.#followRedirect(location);
    // §10.3: the media changed (new codec parameters). The new tracks need new SETUPs: the session
    // starts again at the same URL, as after a REDIRECT there (rather than applying the SDP in place).
    else if (method === 'ANNOUNCE' && this.#sessionId !== undefined && !this.#followingRedirect)
      void this.#followRedirect(this.#url, 'ANNOUNCE');
  }

  /**
   * §10.10: the session ends here and starts again at `location`, in the state it had (recovery.ts);
   * after a server's ANNOUNCE (§10.3), at the same location.
   */
  async #followRedirect(location: string, cause = 'REDIRECT'): Promise<void> {
    const setup = this.#media.size > 0 ? this.#lastSetup : undefined;
    const state = { described: this.#tracks.length > 0, setup, play: setup && this.#lastPlay };
    this.#followingRedirect = true;
    try {
      await this.#resetSession(this.connected);
      await this.#redirect(this.#url, location);
      this.#sessionUrl = undefined;
      this.#tracks = [];
      await replayAfterRedirect(this, state);
    } catch (e) {
      const err = restartError(e, 'PROTOCOL', `following ${cause} to ${safeUrl(location)}`);
      if (this.listenerCount('error') > 0) this.emit('error', err);
      else this.#logger.warn({ err: err.message, code: err.code }, `${cause} not followed`);
    } finally {
      this.#followingRedirect = false;
      if (!this.connected && !this.#closed) this.close();
    }
  }

  /**
   * Sends a request with the client's CSeq, Session and Authorization, answering 401 challenges (Basic,
   * Digest MD5/SHA-256, stale nonces) and following 3xx with Location. Returns any final reply; the
   * method helpers below turn non-2xx replies into errors.
   */
  async request(method: string, url: string, options: RequestOptions = {}): Promise<RtspResponse> {
    return this.#requests.request(method, url, options);
  }

  /** Moves to the redirect target of `location`; a new server gets a new connection. */
  async #redirect(from: string, location: string): Promise<string> {
    const next = redirectTarget(from, location);
    const u = parseClientUrl(next);
    if (from === this.#url || stripCredentials(from) === stripCredentials(this.#url)) this.#url = next;
    if (this.#conn?.key !== connKey(u)) {
      this.#logger.debug({ location: stripCredentials(next) }, 'redirected to another server');
      const old = this.#conn;
      this.#conn = undefined;
      destroyConn(old);
      this.#requests.resetAuth();
      this.#adopt(await this.#open(u));
    }
    return next;
  }

  // --- methods ---

  /** OPTIONS (RFC 2326 §10.1); remembers the Public methods (keepalive choice). */
  async options(): Promise<RtspResponse> {
    const res = await this.#requests.expectOk('OPTIONS', this.#url, {
      session: this.#sessionId !== undefined,
    });
    const pub = res.headers.get('Public');
    if (pub !== undefined) {
      this.#publicMethods = pub
        .split(',')
        .map((m) => m.trim().toUpperCase())
        .filter((m) => m !== '');
    }
    return res;
  }

  /** DESCRIBE (§10.2): the SDP and the tracks with their control URLs. */
  async describe(): Promise<DescribeResult> {
    const res = await this.#requests.expectOk('DESCRIBE', this.#url, {
      headers: { Accept: 'application/sdp' },
    });
    const sdpText = res.body.toString('utf8');
    let sdp: SessionDescription;
    try {
      sdp = parseSdp(sdpText);
    } catch (e) {
      if (!isParseError(e)) throw e;
      throw new RtspClientError('BAD_SDP', `DESCRIBE ${safeUrl(this.#url)}: unreadable SDP: ${e.message}`, {
        cause: e,
        response: res,
      });
    }
    const ctx: { requestUrl: string; contentBase?: string; contentLocation?: string } = {
      requestUrl: this.#url,
    };
    const base = res.headers.get('Content-Base');
    const location = res.headers.get('Content-Location');
    if (base !== undefined) ctx.contentBase = base;
    if (location !== undefined) ctx.contentLocation = location;
    const { sessionUrl, tracks } = tracksFromSdp(sdp, ctx);
    this.#sessionUrl = sessionUrl;
    this.#tracks = tracks;
    this.#mode = 'play';
    return { sdp, sdpText, sessionUrl, tracks, response: res };
  }

  /** ANNOUNCE (§10.3) an SDP to publish; its tracks become this client's tracks (for SETUP with record). */
  async announce(sdpText: string): Promise<ClientTrack[]> {
    let sdp: SessionDescription;
    try {
      sdp = parseSdp(sdpText);
    } catch (e) {
      if (!isParseError(e)) throw e;
      throw new RtspClientError('BAD_SDP', `ANNOUNCE: unreadable SDP: ${e.message}`, { cause: e });
    }
    await this.#requests.expectOk('ANNOUNCE', this.#url, {
      headers: { 'Content-Type': 'application/sdp' },
      body: sdpText,
      session: false,
    });
    const { sessionUrl, tracks } = tracksFromSdp(sdp, { requestUrl: this.#url });
    this.#sessionUrl = sessionUrl;
    this.#tracks = tracks;
    this.#mode = 'record';
    return tracks;
  }

  /**
   * SETUP (§10.4) the chosen tracks (default all) over UDP, TCP interleaved or multicast (play only); in
   * record mode (after announce) with `mode=record`. A 461 to a UDP SETUP makes it retry over TCP (unless
   * udpFallback is off); a multicast SETUP never falls back (the caller asked for the group).
   */
  async setup(options: SetupOptions = {}): Promise<void> {
    if (this.#tracks.length === 0)
      throw new RtspClientError('STATE', 'SETUP needs describe() or announce() first');
    const indexes = options.tracks ?? this.#tracks.map((t) => t.index);
    // Inside an HTTP tunnel media can only be interleaved.
    const transport = this.#tunnel || this.#webSocket ? 'tcp' : (options.transport ?? 'udp');
    const multicast = transport === 'multicast' ? options.multicast : undefined;
    if (transport === 'multicast' && this.#mode === 'record')
      throw new RtspClientError('UNSUPPORTED', 'recording over multicast is not supported: use udp or tcp');
    checkPreference(multicast);
    this.#lastSetup = { transport, tracks: indexes, ...(multicast ? { multicast } : {}) };
    try {
      for (const i of indexes) {
        const track = this.#tracks[i];
        if (track === undefined) throw new RtspClientError('STATE', `no track ${i}`);
        await this.#setupTrack(track, transport, multicast);
      }
    } catch (e) {
      if (
        transport === 'udp' &&
        this.#opts.udpFallback &&
        e instanceof RtspClientError &&
        (e.code === `RTSP_${RtspStatus.UnsupportedTransport}` ||
          (e.code === `RTSP_${RtspStatus.BadRequest}` && this.#media.size === 0))
      ) {
        this.emit('transportFallback', `SETUP over UDP refused (${e.message}); retrying over TCP`);
        await this.#resetSession();
        for (const i of indexes) await this.#setupTrack(this.#tracks[i]!, 'tcp');
        this.#lastSetup = { transport: 'tcp', tracks: indexes };
        return;
      }
      throw e;
    }
  }

  async #setupTrack(track: ClientTrack, transport: ClientTransport, mc?: MulticastPreference): Promise<void> {
    const local = this.#conn?.socket.localAddress;
    const { spec, askedChannels, udp } = await this.#media.request(
      transport,
      this.#mode === 'record',
      local,
      mc,
    );
    let res: RtspResponse;
    try {
      res = await this.#requests.expectOk('SETUP', track.controlUrl, {
        headers: { Transport: serializeTransport(spec) },
      });
    } catch (e) {
      udp?.rtp.close();
      udp?.rtcp.close();
      throw e;
    }
    const { session, transport: reply } = readSetupReply(res);
    if (session !== undefined) {
      this.#sessionId = session.id;
      this.#sessionTimeoutS =
        session.timeoutS !== undefined && session.timeoutS > 0 ? session.timeoutS : DEFAULT_SESSION_TIMEOUT_S;
    }
    const url = safeUrl(track.controlUrl);
    const multicast = transport === 'multicast' ? await this.#media.joinGroup(reply, url, local) : undefined;
    this.#media.add({
      track,
      transport,
      reply,
      askedChannels,
      udp: udp ?? multicast?.membership,
      ...(multicast ? { multicast } : {}),
      remoteAddress: this.#conn?.socket.remoteAddress ?? '',
      depacketize: this.#mode === 'play' && this.#opts.accessUnits,
    });
    this.#startKeepalive();
  }

  /** PLAY (§10.5) the whole session; the default Range is `npt=0-`. */
  async play(options: PlayOptions = {}): Promise<RtspResponse> {
    if (this.#media.size === 0) throw new RtspClientError('STATE', 'PLAY needs setup() first');
    this.#lastPlay = options;
    const headers: Record<string, string> = { ...options.headers };
    const range = options.range === undefined ? ({ unit: 'npt', start: 0 } as const) : options.range;
    if (range !== null) headers.Range = serializeRange(range);
    if (options.scale !== undefined) headers.Scale = String(options.scale);
    const res = await this.#requests.expectOk('PLAY', this.#aggregateUrl(), { headers });
    this.#media.onPlay(res.headers.get('RTP-Info'));
    this.#startReports();
    this.#armUdpWatchdog();
    return res;
  }

  /** PAUSE (§10.6). */
  async pause(): Promise<RtspResponse> {
    this.#timers.disarmWatchdog();
    this.#lastPlay = undefined;
    return this.#requests.expectOk('PAUSE', this.#aggregateUrl());
  }

  /** RECORD (§10.11) after announce() and setup(). */
  async record(options: { range?: RangeSpec | null } = {}): Promise<RtspResponse> {
    if (this.#media.size === 0) throw new RtspClientError('STATE', 'RECORD needs setup() first');
    const headers: Record<string, string> = {};
    const range = options.range === undefined ? ({ unit: 'npt', start: 0 } as const) : options.range;
    if (range !== null) headers.Range = serializeRange(range);
    return this.#requests.expectOk('RECORD', this.#aggregateUrl(), { headers });
  }

  /** TEARDOWN (§10.7); the session state is forgotten whatever the reply. */
  async teardown(): Promise<RtspResponse | undefined> {
    if (this.#sessionId === undefined || this.#closed || !this.connected) {
      await this.#resetSession(false);
      return undefined;
    }
    try {
      return await this.request('TEARDOWN', this.#aggregateUrl());
    } finally {
      await this.#resetSession(false);
    }
  }

  /** GET_PARAMETER (§10.8); with no body it is a ping. */
  async getParameter(body?: string, contentType = 'text/parameters'): Promise<RtspResponse> {
    const options: RequestOptions = {};
    if (body !== undefined && body !== '') {
      options.body = body;
      options.headers = { 'Content-Type': contentType };
    }
    return this.#requests.expectOk('GET_PARAMETER', this.#sessionUrl ?? this.#url, options);
  }

  /** SET_PARAMETER (§10.9). */
  async setParameter(body: string, contentType = 'text/parameters'): Promise<RtspResponse> {
    return this.#requests.expectOk('SET_PARAMETER', this.#sessionUrl ?? this.#url, {
      body,
      headers: { 'Content-Type': contentType },
    });
  }

  #aggregateUrl(): string {
    return this.#sessionUrl ?? this.#url;
  }

  async #resetSession(sendTeardown = true): Promise<void> {
    if (sendTeardown && this.#sessionId !== undefined) {
      try {
        await this.request('TEARDOWN', this.#aggregateUrl());
      } catch (e) {
        // The session ends here whatever the server says, or whether it still listens.
        if (!(e instanceof RtspClientError)) throw e;
        this.#logger.debug({ err: e.message }, 'TEARDOWN failed');
      }
    }
    this.#timers.stop();
    this.#media.clear();
    this.#sessionId = undefined;
    this.#lastPlay = undefined;
  }

  // --- media ---

  /** Ends the access unit being assembled on every track (end of stream) and emits it. */
  flush(): void {
    this.#media.flush();
  }

  /** Reception statistics per track set up. */
  stats(): TrackStats[] {
    return this.#media.stats();
  }

  /** Sends one RTP packet of track `index` (after announce, setup and record). */
  sendRtp(index: number, packet: Buffer): boolean {
    return this.#media.send(this.#conn, index, packet, 'rtp');
  }

  /** Sends one RTCP compound packet about track `index`. */
  sendRtcp(index: number, packet: Buffer): boolean {
    return this.#media.send(this.#conn, index, packet, 'rtcp');
  }

  /** Bytes queued on the control connection (TCP interleaved backpressure). */
  get writableLength(): number {
    return writableLength(this.#conn);
  }

  /** Sends an RR + SDES compound for every track that received packets (called every ~5 s by itself). */
  sendReceiverReports(): void {
    this.#media.sendReceiverReports(this.#conn);
  }

  // --- timers ---

  #startKeepalive(): void {
    const intervalMs = this.#opts.keepaliveIntervalMs ?? Math.max(1000, (this.#sessionTimeoutS * 1000) / 2);
    this.#timers.startKeepalive(intervalMs, () => {
      const method = this.#publicMethods?.includes('GET_PARAMETER') === true ? 'GET_PARAMETER' : 'OPTIONS';
      this.#requests.sendNoWait(method, this.#aggregateUrl());
    });
  }

  #startReports(): void {
    if (this.#mode !== 'play') return;
    this.#timers.startReports(this.#opts.receiverReportIntervalMs, () => this.sendReceiverReports());
  }

  #armUdpWatchdog(): void {
    this.#timers.disarmWatchdog();
    const udp = this.#media.udpTracks();
    if (!udp.any || this.#mode !== 'play' || !this.#opts.udpFallback) return;
    this.#timers.armWatchdog(this.#opts.udpTimeoutMs, () => {
      if (udp.received()) return;
      void this.#fallbackToTcp(`no UDP packet within ${this.#opts.udpTimeoutMs} ms`);
    });
  }

  async #fallbackToTcp(reason: string): Promise<void> {
    this.emit('transportFallback', `${reason}; switching to TCP`);
    const tracks = this.#lastSetup?.tracks;
    const play = this.#lastPlay ?? {};
    try {
      await this.#resetSession(true);
      await replayOverTcp(this, tracks, play);
    } catch (e) {
      // Reported, not thrown: nothing awaits the watchdog.
      const err = restartError(e, 'NO_MEDIA', 'fallback to TCP failed');
      if (this.listenerCount('error') > 0) this.emit('error', err);
    }
  }
}
