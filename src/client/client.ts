/**
 * The RTSP client (RFC 2326): one control connection, the methods of §10, RTP/RTCP over UDP or TCP
 * interleaved, access units through the payload formats of src/format, receiver reports and keepalive.
 *
 * Layout of src/client/ (each file one concept):
 * - client.ts      this facade: RtspClient's public methods, session state (session id, tracks, mode),
 *                  following REDIRECT, the UDP→TCP fallback and the timers (keepalive, reports, watchdog);
 * - options.ts     the public types: RtspClientOptions, DescribeResult, SetupOptions, PlayOptions, events;
 * - connection.ts  opening the control connection: TCP/TLS, the HTTP tunnel, WebSocket;
 * - requests.ts    CSeq, pending replies and timeouts, keepalives, 401 challenges, 3xx, server requests;
 * - media.ts       per-track media after SETUP: UDP ports (pair binding from transport/udp.ts) or
 *                  channels, RTP/RTCP in and out, depacketizing, BYE/end, receiver reports, stats;
 * - urls.ts        URL parsing with client errors, log-safe URLs, redirect targets;
 * - tracks.ts      tracks and control URLs from the SDP; errors.ts RtspClientError;
 * - publisher.ts   Publisher: ANNOUNCE/RECORD and packetizing on top of RtspClient.
 *
 * Behaviours taken from the interop notes:
 * - control URLs resolved per RFC 2326 C.1.1 (session a=control, then Content-Base, Content-Location,
 *   request URL), credentials kept on derived URLs but never written in a request line;
 * - over TCP the interleaved channels of the SETUP reply are used, not the ones asked for;
 * - UDP falls back to TCP on 461, and when nothing arrives within `udpTimeoutMs` after PLAY (TEARDOWN, then
 *   SETUP and PLAY again over TCP on the same connection);
 * - keepalive every session timeout / 2 with GET_PARAMETER when the server's Public lists it, else OPTIONS,
 *   sent to the session URL and never waited on (some cameras do not answer);
 * - requests from the server (OPTIONS, GET_PARAMETER, SET_PARAMETER, ANNOUNCE, REDIRECT) get a 200;
 *   REDIRECT is emitted as 'redirect' and followed as §10.10 says (TEARDOWN here, then DESCRIBE, SETUP
 *   and PLAY again at the Location), unless `followRedirect` is off;
 * - 3xx replies with a Location are followed (up to `maxRedirects`), reconnecting when the host changes.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { systemClock } from '../base/clock.js';
import { isParseError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { nullLogger } from '../base/logger.js';
import type { RtspRequest, RtspResponse } from '../rtsp/message.js';
import { serializeRange, type RangeSpec } from '../rtsp/range.js';
import { parseRtpInfo, type RtpInfo } from '../rtsp/rtp-info.js';
import { parseSession } from '../rtsp/session.js';
import { RtspStatus } from '../rtsp/status.js';
import { parseTransport, serializeTransport, type TransportSpec } from '../rtsp/transport.js';
import { parseRtspUrl, serializeRtspUrl, stripCredentials } from '../rtsp/url.js';
import { parseSdp, type SessionDescription } from '../sdp/index.js';
import {
  connSockets,
  destroyConn,
  isOpen,
  openConnection,
  writableLength,
  type Connection,
  type ConnectionKind,
} from './connection.js';
import { RtspClientError, socketError, statusError } from './errors.js';
import { ClientMedia, type ClientTransport, type TrackStats, type UdpSockets } from './media.js';
import type {
  DescribeResult,
  PlayOptions,
  RtspClientEvents,
  RtspClientOptions,
  SetupOptions,
} from './options.js';
import { ClientRequests, type RequestOptions } from './requests.js';
import { tracksFromSdp, type ClientTrack } from './tracks.js';
import { connKey, parseClientUrl, redirectTarget, safeUrl } from './urls.js';

export type { ClientTransport, TrackStats } from './media.js';
export type {
  DescribeResult,
  PlayOptions,
  RtspClientEvents,
  RtspClientOptions,
  SetupOptions,
} from './options.js';

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
  readonly #opts: Required<
    Omit<RtspClientOptions, 'keepaliveIntervalMs' | 'logger' | 'httpTunnel' | 'webSocket'>
  > & {
    keepaliveIntervalMs: number | undefined;
  };
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
  #keepaliveTimer: NodeJS.Timeout | undefined;
  #reportTimer: NodeJS.Timeout | undefined;
  #udpWatchdog: NodeJS.Timeout | undefined;
  #lastSetup: SetupOptions | undefined;
  #lastPlay: PlayOptions | undefined;
  #closed = false;
  #followingRedirect = false;
  readonly #tunnel: boolean;
  readonly #webSocket: boolean;

  constructor(url: string, options: RtspClientOptions = {}) {
    super();
    this.#tunnel = options.httpTunnel ?? false;
    this.#webSocket = options.webSocket ?? false;
    // ws://host:port/path (wss: over TLS): RTSP over WebSocket; the requests inside name rtsp://host:port/path.
    const ws = /^(wss?):\/\//i.exec(url);
    if (ws !== null) {
      const scheme = ws[1]!.toLowerCase() === 'wss' ? 'rtsps' : 'rtsp';
      url = `${scheme}${url.slice(ws[1]!.length)}`;
      this.#webSocket = true;
    }
    // rtsph://host[:port]/path: RTSP over HTTP; the RTSP requests inside name rtsp://host:port/path.
    if (/^rtsph:\/\//i.test(url)) {
      try {
        const u = parseRtspUrl(url);
        url = serializeRtspUrl({ ...u, scheme: 'rtsp', explicitPort: true });
        this.#tunnel = true;
      } catch (e) {
        // A bad URL is reported by connect().
        if (!isParseError(e)) throw e;
      }
    }
    this.#url = url;
    this.#logger = options.logger ?? nullLogger;
    this.#opts = {
      timeoutMs: options.timeoutMs ?? 10_000,
      rejectUnauthorized: options.rejectUnauthorized ?? true,
      udpTimeoutMs: options.udpTimeoutMs ?? 3000,
      udpFallback: options.udpFallback ?? true,
      receiverReportIntervalMs: options.receiverReportIntervalMs ?? 5000,
      keepaliveIntervalMs: options.keepaliveIntervalMs,
      maxRedirects: options.maxRedirects ?? 5,
      followRedirect: options.followRedirect ?? true,
      accessUnits: options.accessUnits ?? true,
      userAgent: options.userAgent ?? 'rtspkit',
    };
    this.#requests = new ClientRequests(
      {
        connection: () => this.#conn,
        url: () => this.#url,
        sessionId: () => this.#sessionId,
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
      systemClock,
      this.#logger,
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
      timeoutMs: this.#opts.timeoutMs,
      rejectUnauthorized: this.#opts.rejectUnauthorized,
      userAgent: this.#opts.userAgent,
      displayUrl: this.#url,
    });
  }

  /** Makes `conn` the control connection: its bytes go to the framer, its end closes the client. */
  #adopt(conn: Connection): void {
    this.#conn = conn;
    conn.socket.on('data', (chunk: Buffer) => {
      if (this.#conn !== conn) return;
      this.#onData(conn, chunk);
    });
    for (const s of connSockets(conn)) {
      s.on('error', (err) => {
        if (this.#conn !== conn) return;
        this.#fail(socketError(err, 'connection'));
      });
      s.on('close', () => {
        if (this.#conn !== conn) return;
        this.#conn = undefined;
        destroyConn(conn);
        this.#requests.rejectAll(new RtspClientError('CLOSED', 'the server closed the connection'));
        // A server may hang up right after its REDIRECT: the client lives on at the new location.
        if (!this.#followingRedirect) this.close();
      });
    }
    const rest = conn.leftover;
    delete conn.leftover;
    if (rest !== undefined && rest.length > 0) this.#onData(conn, rest);
  }

  #onData(conn: Connection, chunk: Buffer): void {
    let messages;
    try {
      messages = conn.framer.push(chunk);
    } catch (e) {
      if (!isParseError(e)) throw e;
      this.#fail(
        new RtspClientError('PROTOCOL', `unreadable data from the server: ${e.message}`, { cause: e }),
      );
      return;
    }
    for (const m of messages) {
      if (m.kind === 'response') this.#onResponse(m);
      else if (m.kind === 'request') this.#onServerRequest(m);
      else this.#media.onInterleaved(m.channel, m.payload);
    }
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
    this.#stopTimers();
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
    if (req.method.toUpperCase() === 'REDIRECT') {
      const location = req.headers.get('Location');
      if (location === undefined) return;
      this.emit('redirect', location);
      if (this.#opts.followRedirect && this.#mode === 'play') void this.#followRedirect(location);
    }
  }

  /** §10.10: the session ends here and starts again at `location`, in the state it had. */
  async #followRedirect(location: string): Promise<void> {
    const described = this.#tracks.length > 0;
    const setup = this.#media.size > 0 ? this.#lastSetup : undefined;
    const play = setup !== undefined ? this.#lastPlay : undefined;
    this.#followingRedirect = true;
    try {
      await this.#resetSession(this.connected);
      await this.#redirect(this.#url, location);
      this.#sessionUrl = undefined;
      this.#tracks = [];
      if (!described) return;
      const d = await this.describe();
      if (setup === undefined) return;
      const tracks = setup.tracks?.filter((i) => i < d.tracks.length);
      await this.setup({
        ...(setup.transport === undefined ? {} : { transport: setup.transport }),
        ...(tracks === undefined || tracks.length === 0 ? {} : { tracks }),
      });
      if (play !== undefined) await this.play(play);
    } catch (e) {
      // Reported, not thrown: nothing awaits a redirect the server started.
      const err =
        e instanceof RtspClientError
          ? e
          : new RtspClientError('PROTOCOL', `following REDIRECT to ${safeUrl(location)}: ${String(e)}`);
      if (this.listenerCount('error') > 0) this.emit('error', err);
      else this.#logger.warn({ err: err.message, code: err.code }, 'REDIRECT not followed');
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
    await this.connect();
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

  async #expectOk(method: string, url: string, options: RequestOptions = {}): Promise<RtspResponse> {
    const res = await this.request(method, url, options);
    if (res.statusCode === RtspStatus.Unauthorized) {
      const hint =
        this.#requests.credentials().username === undefined
          ? 'credentials required: put user:password@ in the URL'
          : 'wrong user name or password';
      throw new RtspClientError('RTSP_401', `${method} ${safeUrl(url)}: 401 ${res.reason} (${hint})`, {
        response: res,
      });
    }
    if (res.statusCode < 200 || res.statusCode >= 300) throw statusError(method, safeUrl(url), res);
    return res;
  }

  // --- methods ---

  /** OPTIONS (RFC 2326 §10.1); remembers the Public methods (keepalive choice). */
  async options(): Promise<RtspResponse> {
    const res = await this.#expectOk('OPTIONS', this.#url, { session: this.#sessionId !== undefined });
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
    const res = await this.#expectOk('DESCRIBE', this.#url, { headers: { Accept: 'application/sdp' } });
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
    await this.#expectOk('ANNOUNCE', this.#url, {
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
   * SETUP (§10.4) the chosen tracks (default all) over UDP or TCP interleaved; in record mode (after
   * announce) with `mode=record`. A 461 to a UDP SETUP makes it retry over TCP (unless udpFallback is off).
   */
  async setup(options: SetupOptions = {}): Promise<void> {
    if (this.#tracks.length === 0)
      throw new RtspClientError('STATE', 'SETUP needs describe() or announce() first');
    const indexes = options.tracks ?? this.#tracks.map((t) => t.index);
    // Inside an HTTP tunnel media can only be interleaved.
    const transport = this.#tunnel || this.#webSocket ? 'tcp' : (options.transport ?? 'udp');
    this.#lastSetup = { transport, tracks: indexes };
    try {
      for (const i of indexes) {
        const track = this.#tracks[i];
        if (track === undefined) throw new RtspClientError('STATE', `no track ${i}`);
        await this.#setupTrack(track, transport);
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

  async #setupTrack(track: ClientTrack, transport: ClientTransport): Promise<void> {
    const spec: TransportSpec = {
      protocol: 'RTP',
      profile: 'AVP',
      lowerTransport: transport === 'tcp' ? 'TCP' : 'UDP',
      lowerTransportExplicit: transport === 'tcp',
      delivery: 'unicast',
      extra: [],
    };
    if (this.#mode === 'record') spec.mode = 'RECORD';
    let udp: UdpSockets | undefined;
    const askedChannels = this.#media.nextChannels();
    if (transport === 'tcp') {
      spec.interleaved = askedChannels;
    } else {
      udp = await this.#media.bindUdp(this.#conn?.socket.localAddress ?? '0.0.0.0');
      spec.clientPort = { rtp: udp.rtp.address().port, rtcp: udp.rtcp.address().port };
    }
    let res: RtspResponse;
    try {
      res = await this.#expectOk('SETUP', track.controlUrl, {
        headers: { Transport: serializeTransport(spec) },
      });
    } catch (e) {
      udp?.rtp.close();
      udp?.rtcp.close();
      throw e;
    }
    const sessionHeader = res.headers.get('Session');
    if (sessionHeader !== undefined) {
      try {
        const s = parseSession(sessionHeader);
        this.#sessionId = s.id;
        this.#sessionTimeoutS =
          s.timeoutS !== undefined && s.timeoutS > 0 ? s.timeoutS : DEFAULT_SESSION_TIMEOUT_S;
      } catch (e) {
        if (!isParseError(e)) throw e;
      }
    }
    let reply: TransportSpec | undefined;
    const th = res.headers.get('Transport');
    if (th !== undefined) {
      try {
        reply = parseTransport(th)[0];
      } catch (e) {
        if (!isParseError(e)) throw e;
      }
    }
    this.#media.add({
      track,
      transport,
      reply,
      askedChannels,
      udp,
      remoteAddress: this.#conn?.socket.remoteAddress ?? '',
      depacketize: this.#mode === 'play' && this.#opts.accessUnits,
    });
    this.#startKeepalive();
  }

  /** PLAY (§10.5) the whole session; the default Range is `npt=0-`. */
  async play(options: PlayOptions = {}): Promise<RtspResponse> {
    if (this.#media.size === 0) throw new RtspClientError('STATE', 'PLAY needs setup() first');
    this.#lastPlay = options;
    const headers: Record<string, string> = {};
    const range = options.range === undefined ? ({ unit: 'npt', start: 0 } as const) : options.range;
    if (range !== null) headers.Range = serializeRange(range);
    if (options.scale !== undefined) headers.Scale = String(options.scale);
    const res = await this.#expectOk('PLAY', this.#aggregateUrl(), { headers });
    let rtpInfo: RtpInfo[] = [];
    const info = res.headers.get('RTP-Info');
    if (info !== undefined) {
      try {
        rtpInfo = parseRtpInfo(info);
      } catch (e) {
        if (!isParseError(e)) throw e;
      }
    }
    this.#media.onPlay(rtpInfo);
    this.#startReports();
    this.#armUdpWatchdog();
    return res;
  }

  /** PAUSE (§10.6). */
  async pause(): Promise<RtspResponse> {
    clearTimeout(this.#udpWatchdog);
    this.#lastPlay = undefined;
    return this.#expectOk('PAUSE', this.#aggregateUrl());
  }

  /** RECORD (§10.11) after announce() and setup(). */
  async record(options: { range?: RangeSpec | null } = {}): Promise<RtspResponse> {
    if (this.#media.size === 0) throw new RtspClientError('STATE', 'RECORD needs setup() first');
    const headers: Record<string, string> = {};
    const range = options.range === undefined ? ({ unit: 'npt', start: 0 } as const) : options.range;
    if (range !== null) headers.Range = serializeRange(range);
    return this.#expectOk('RECORD', this.#aggregateUrl(), { headers });
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
    return this.#expectOk('GET_PARAMETER', this.#sessionUrl ?? this.#url, options);
  }

  /** SET_PARAMETER (§10.9). */
  async setParameter(body: string, contentType = 'text/parameters'): Promise<RtspResponse> {
    return this.#expectOk('SET_PARAMETER', this.#sessionUrl ?? this.#url, {
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
    this.#stopTimers();
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
  // Node timers, unref'd: base/clock.ts's Clock reads time but schedules nothing.

  #stopTimers(): void {
    clearInterval(this.#keepaliveTimer);
    clearInterval(this.#reportTimer);
    clearTimeout(this.#udpWatchdog);
    this.#keepaliveTimer = undefined;
    this.#reportTimer = undefined;
    this.#udpWatchdog = undefined;
  }

  #startKeepalive(): void {
    if (this.#keepaliveTimer !== undefined) return;
    const intervalMs = this.#opts.keepaliveIntervalMs ?? Math.max(1000, (this.#sessionTimeoutS * 1000) / 2);
    this.#keepaliveTimer = setInterval(() => {
      const method = this.#publicMethods?.includes('GET_PARAMETER') === true ? 'GET_PARAMETER' : 'OPTIONS';
      this.#requests.sendNoWait(method, this.#aggregateUrl());
    }, intervalMs);
    this.#keepaliveTimer.unref();
  }

  #startReports(): void {
    if (this.#reportTimer !== undefined || this.#mode !== 'play') return;
    this.#reportTimer = setInterval(() => this.sendReceiverReports(), this.#opts.receiverReportIntervalMs);
    this.#reportTimer.unref();
  }

  #armUdpWatchdog(): void {
    clearTimeout(this.#udpWatchdog);
    const udp = this.#media.udpTracks();
    if (!udp.any || this.#mode !== 'play' || !this.#opts.udpFallback) return;
    this.#udpWatchdog = setTimeout(() => {
      this.#udpWatchdog = undefined;
      if (udp.received()) return;
      void this.#fallbackToTcp(`no UDP packet within ${this.#opts.udpTimeoutMs} ms`);
    }, this.#opts.udpTimeoutMs);
    this.#udpWatchdog.unref();
  }

  async #fallbackToTcp(reason: string): Promise<void> {
    this.emit('transportFallback', `${reason}; switching to TCP`);
    const tracks = this.#lastSetup?.tracks;
    const play = this.#lastPlay ?? {};
    try {
      await this.#resetSession(true);
      await this.setup({ transport: 'tcp', ...(tracks === undefined ? {} : { tracks }) });
      await this.play(play);
    } catch (e) {
      // Reported, not thrown: nothing awaits the watchdog.
      const err =
        e instanceof RtspClientError
          ? e
          : new RtspClientError('NO_MEDIA', `fallback to TCP failed: ${String(e)}`);
      if (this.listenerCount('error') > 0) this.emit('error', err);
    }
  }
}
