/**
 * The RTSP client (RFC 2326): one control connection (TCP or TLS), the methods of §10, RTP/RTCP over UDP
 * or TCP interleaved, access units through the payload formats of src/format, receiver reports and
 * keepalive.
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
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { WebSocket } from 'ws';
import { RTSP_WS_SUBPROTOCOL, WebSocketChannel } from '../transport/websocket.js';
import tls from 'node:tls';
import { isParseError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { nullLogger } from '../base/logger.js';
import {
  basicCredentials,
  digestCredentials,
  selectChallenge,
  type DigestChallenge,
} from '../auth/digest.js';
import type { AccessUnit, Depacketizer } from '../format/access-unit.js';
import { createDepacketizer } from '../format/registry.js';
import { parseRtcpCompound, serializeRtcpCompound, type RtcpPacket } from '../rtp/rtcp.js';
import { parseRtpPacket, randomSsrc, type RtpPacket } from '../rtp/packet.js';
import { RtpReceiverStats } from '../rtp/stats.js';
import { parseWwwAuthenticate, serializeAuthorization, type AuthChallenge } from '../rtsp/auth-header.js';
import { RtspFramer } from '../rtsp/framer.js';
import { RtspHeaders } from '../rtsp/headers.js';
import {
  serializeInterleaved,
  serializeRequest,
  serializeResponse,
  type RtspRequest,
  type RtspResponse,
} from '../rtsp/message.js';
import { serializeRange, type RangeSpec } from '../rtsp/range.js';
import { parseRtpInfo, type RtpInfo } from '../rtsp/rtp-info.js';
import { parseSession } from '../rtsp/session.js';
import { parseTransport, serializeTransport, type TransportSpec } from '../rtsp/transport.js';
import { parseRtspUrl, serializeRtspUrl, stripCredentials, type RtspUrl } from '../rtsp/url.js';
import { parseSdp, type SessionDescription } from '../sdp/index.js';
import { RtspClientError, socketError, statusError } from './errors.js';
import { tracksFromSdp, type ClientTrack } from './tracks.js';

export type ClientTransport = 'udp' | 'tcp';

export interface RtspClientOptions {
  /** Connect timeout and the time each request may wait for its reply. Default 10000. */
  timeoutMs?: number;
  /** rtsps: verify the server's certificate. Default true; false accepts self-signed certificates. */
  rejectUnauthorized?: boolean;
  /** UDP: when nothing arrives this long after PLAY, switch to TCP. Default 3000. */
  udpTimeoutMs?: number;
  /** Fall back from UDP to TCP (on 461 or silence). Default true. */
  udpFallback?: boolean;
  /** Interval of RTCP receiver reports. Default 5000. */
  receiverReportIntervalMs?: number;
  /** Overrides the keepalive interval (default: session timeout / 2). */
  keepaliveIntervalMs?: number;
  /** 3xx replies followed at most. Default 5. */
  maxRedirects?: number;
  /**
   * Follow REDIRECT requests from the server (RFC 2326 §10.10): TEARDOWN the session, then DESCRIBE,
   * SETUP the same tracks over the same transport and PLAY at the new Location. Default true; when false
   * the 'redirect' event is all that happens.
   */
  followRedirect?: boolean;
  /** Depacketize into 'accessUnit' events. Default true. */
  accessUnits?: boolean;
  /**
   * RTSP over HTTP (the QuickTime tunnel): requests go base64 in the body of a POST, replies and
   * interleaved media come back on a GET, both to the URL's host and port. Media is then always
   * interleaved. Default false; implied by rtsph:// URLs (whose default port is 80).
   */
  httpTunnel?: boolean;
  /**
   * RTSP over WebSocket (ONVIF, subprotocol rtsp.onvif.org): requests, replies and interleaved media in
   * binary messages of one WebSocket to the URL's host, port and path. Media is then always interleaved.
   * Default false; implied by ws:// and wss:// URLs.
   */
  webSocket?: boolean;
  userAgent?: string;
  logger?: Logger;
}

export interface DescribeResult {
  sdp: SessionDescription;
  /** The SDP text as received. */
  sdpText: string;
  /** Aggregate control URL (for PLAY, PAUSE, TEARDOWN). */
  sessionUrl: string;
  tracks: ClientTrack[];
  response: RtspResponse;
}

export interface SetupOptions {
  /** Default 'udp' (with fallback to TCP, see RtspClientOptions.udpFallback). */
  transport?: ClientTransport;
  /** Track indexes to set up; default all. */
  tracks?: readonly number[];
}

export interface PlayOptions {
  /** Default `npt=0-`; pass null to send no Range. */
  range?: RangeSpec | null;
  scale?: number;
}

export interface TrackStats {
  index: number;
  transport: ClientTransport | undefined;
  packetsReceived: number;
  bytesReceived: number;
  packetsLost: number;
  jitterMs: number;
  accessUnits: number;
  /** Access units the depacketizer dropped (loss, malformed packets). */
  accessUnitsDropped: number;
}

export interface RtspClientEvents {
  rtp: [track: ClientTrack, packet: RtpPacket];
  rtcp: [track: ClientTrack, packets: RtcpPacket[]];
  accessUnit: [track: ClientTrack, au: AccessUnit];
  /** A REDIRECT request from the server (RFC 2326 §10.10), with its Location (followed by default). */
  redirect: [location: string];
  /** Any request from the server, after it was answered. */
  serverRequest: [request: RtspRequest];
  /** UDP gave way to TCP; the reason is readable. */
  transportFallback: [reason: string];
  /** RTCP BYE from the track's sender (RFC 3550 §6.6): it sends nothing more. */
  bye: [track: ClientTrack];
  /** Every track set up got its BYE: the presentation is over (e.g. the end of a file on demand). */
  end: [];
  /** A fault outside of a pending request (socket error, unparseable data, failed fallback). */
  error: [err: RtspClientError];
  close: [];
}

interface Pending {
  method: string;
  url: string;
  resolve: (r: RtspResponse) => void;
  reject: (e: RtspClientError) => void;
  timer: NodeJS.Timeout;
}

interface UdpPorts {
  rtp: dgram.Socket;
  rtcp: dgram.Socket;
  serverAddress: string;
  serverRtpPort?: number;
  serverRtcpPort?: number;
}

/** A track after SETUP. */
interface SetupTrack {
  track: ClientTrack;
  transport: ClientTransport;
  channels?: { rtp: number; rtcp: number };
  udp?: UdpPorts;
  stats: RtpReceiverStats;
  depacketizer: Depacketizer | undefined;
  remoteSsrc: number | undefined;
  ssrc: number;
  accessUnits: number;
  /** Every RTP packet that arrived, counted before RFC 3550 probation (stats counts after it). */
  packets: number;
  bytes: number;
  rtpInfo?: RtpInfo;
  /** RTCP BYE received from the sender since the last PLAY. */
  ended: boolean;
}

/** What carries the RTSP conversation: a TCP or TLS socket, or a WebSocket. */
type ControlSocket = net.Socket | WebSocketChannel;

interface Connection {
  /** Where the server's bytes come from (the GET side of an HTTP tunnel). */
  socket: ControlSocket;
  /** The POST side of an HTTP tunnel, which carries our bytes base64-encoded. */
  post?: net.Socket;
  framer: RtspFramer;
  key: string;
  /** Bytes that came after the tunnel's HTTP head, for the framer. */
  leftover?: Buffer;
}

function writeTo(conn: Connection, bytes: Buffer): boolean {
  if (conn.post !== undefined) return conn.post.write(bytes.toString('base64'), 'latin1');
  return conn.socket.write(bytes);
}

function isOpen(conn: Connection | undefined): conn is Connection {
  return conn !== undefined && !conn.socket.destroyed && conn.post?.destroyed !== true;
}

function destroyConn(conn: Connection | undefined): void {
  conn?.socket.destroy();
  conn?.post?.destroy();
}

const TUNNEL_HEAD_MAX_BYTES = 8192;

type AuthState = { kind: 'basic' } | { kind: 'digest'; challenge: DigestChallenge; nonceCount: number };

const DEFAULT_SESSION_TIMEOUT_S = 60;

function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function bindUdp(type: 'udp4' | 'udp6', host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type, reuseAddr: false });
    s.once('error', (err) => {
      s.close();
      reject(err);
    });
    s.bind(port, host, () => {
      s.removeAllListeners('error');
      resolve(s);
    });
  });
}

/** An even RTP port and the next one for RTCP (RFC 3550 §11), on `host`. */
async function bindUdpPair(host: string): Promise<{ rtp: dgram.Socket; rtcp: dgram.Socket }> {
  const type = net.isIPv6(host) ? 'udp6' : 'udp4';
  for (let attempt = 0; attempt < 50; attempt++) {
    const rtp = await bindUdp(type, host, 0);
    const port = rtp.address().port;
    if (port % 2 === 0 && port < 65535) {
      try {
        const rtcp = await bindUdp(type, host, port + 1);
        return { rtp, rtcp };
      } catch {
        // taken: try another pair
      }
    }
    rtp.close();
  }
  throw new RtspClientError('EADDRINUSE', 'could not bind an even/odd UDP port pair');
}

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
  #cseq = 0;
  readonly #pending = new Map<number, Pending>();
  /** CSeqs of keepalives: their replies are dropped. */
  readonly #ignored = new Set<number>();
  #auth: AuthState | undefined;
  #sessionId: string | undefined;
  #sessionTimeoutS = DEFAULT_SESSION_TIMEOUT_S;
  #publicMethods: string[] | undefined;
  #serverName: string | undefined;
  #sessionUrl: string | undefined;
  #tracks: ClientTrack[] = [];
  readonly #setup = new Map<number, SetupTrack>();
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
  readonly #cname = `rtspkit-${randomBytes(4).toString('hex')}`;

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
      } catch {
        // reported as a bad URL by connect()
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
    return this.#setup.values().next().value?.transport;
  }

  get connected(): boolean {
    return isOpen(this.#conn);
  }

  // --- connection ---

  /** Opens the control connection (TCP, or TLS for rtsps://). */
  async connect(): Promise<void> {
    if (this.#closed) throw new RtspClientError('STATE', 'client is closed');
    if (this.#conn !== undefined) return;
    const u = this.#parsedUrl();
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

  #adopt(conn: Connection): void {
    this.#conn = conn;
    const rest = conn.leftover;
    delete conn.leftover;
    if (rest !== undefined && rest.length > 0) this.#onData(conn, rest);
  }

  #parsedUrl(url = this.#url): RtspUrl {
    let u: RtspUrl;
    try {
      u = parseRtspUrl(url);
    } catch (e) {
      throw new RtspClientError(
        'BAD_URL',
        `bad URL ${JSON.stringify(safeUrl(url))}: ${(e as Error).message}`,
      );
    }
    if (u.scheme !== 'rtsp' && u.scheme !== 'rtsps') {
      throw new RtspClientError(
        'UNSUPPORTED',
        `${u.scheme}:// URLs are not supported (use rtsp://, rtsps://, rtsph://, ws:// or wss://)`,
      );
    }
    if (u.host === '')
      throw new RtspClientError('BAD_URL', `bad URL ${JSON.stringify(safeUrl(url))}: no host`);
    return u;
  }

  async #open(u: RtspUrl): Promise<Connection> {
    if (this.#webSocket) return this.#openWebSocket(u);
    if (!this.#tunnel) return this.#openPlain(u);
    const get = await this.#connectTcp(u);
    try {
      const cookie = randomBytes(12).toString('hex');
      const path = `${u.path}${u.query === undefined ? '' : `?${u.query}`}` || '/';
      const common =
        `x-sessioncookie: ${cookie}\r\nUser-Agent: ${this.#opts.userAgent}\r\n` +
        'Pragma: no-cache\r\nCache-Control: no-cache\r\n';
      get.write(`GET ${path} HTTP/1.0\r\n${common}Accept: application/x-rtsp-tunnelled\r\n\r\n`, 'latin1');
      const leftover = await this.#readHttpHead(get, u);
      const post = await this.#connectTcp(u);
      post.setNoDelay(true);
      // The POST body never ends: the length is a formality (the tunnel's convention is 32767).
      post.write(
        `POST ${path} HTTP/1.0\r\n${common}Content-Type: application/x-rtsp-tunnelled\r\n` +
          'Content-Length: 32767\r\nExpires: Sun, 9 Jan 1972 00:00:00 GMT\r\n\r\n',
        'latin1',
      );
      post.on('data', () => undefined); // the server never answers the POST
      const conn: Connection = { socket: get, post, framer: new RtspFramer(), key: connKey(u), leftover };
      this.#wire(conn);
      return conn;
    } catch (e) {
      get.destroy();
      throw e;
    }
  }

  /** Reads the HTTP response head of the tunnel's GET; resolves with the bytes after it. */
  #readHttpHead(socket: net.Socket, u: RtspUrl): Promise<Buffer> {
    const where = `${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port}`;
    return new Promise((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const done = (err: RtspClientError | undefined, rest?: Buffer): void => {
        clearTimeout(timer);
        socket.removeListener('data', onData);
        socket.removeListener('error', onError);
        socket.removeListener('close', onClose);
        if (err !== undefined) reject(err);
        else resolve(rest ?? Buffer.alloc(0));
      };
      const onData = (chunk: Buffer): void => {
        buf = Buffer.concat([buf, chunk]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > TUNNEL_HEAD_MAX_BYTES)
            done(new RtspClientError('PROTOCOL', `HTTP tunnel to ${where}: reply head too large`));
          return;
        }
        const statusLine = buf.subarray(0, buf.indexOf('\r\n')).toString('latin1');
        const m = /^HTTP\/1\.[01] (\d{3})\s*(.*)$/.exec(statusLine);
        if (m === null) {
          done(
            new RtspClientError(
              'PROTOCOL',
              `HTTP tunnel to ${where}: not an HTTP reply (${JSON.stringify(statusLine.slice(0, 40))})`,
            ),
          );
          return;
        }
        const status = Number(m[1]);
        if (status !== 200) {
          const hint =
            status === 404 ? ' (unknown path)' : status === 401 ? ' (authentication required)' : '';
          done(
            new RtspClientError(
              `RTSP_${status}`,
              `HTTP tunnel GET ${safeUrl(this.#url)}: ${status} ${m[2] ?? ''}${hint}`.trimEnd(),
            ),
          );
          return;
        }
        done(undefined, buf.subarray(end + 4));
      };
      const onError = (err: Error): void => done(socketError(err, `HTTP tunnel to ${where}`));
      const onClose = (): void =>
        done(
          new RtspClientError(
            'CLOSED',
            `HTTP tunnel to ${where}: closed before the reply (no tunnel support?)`,
          ),
        );
      const timer = setTimeout(() => {
        done(
          new RtspClientError('TIMEOUT', `HTTP tunnel to ${where}: no reply in ${this.#opts.timeoutMs} ms`),
        );
      }, this.#opts.timeoutMs);
      socket.on('data', onData);
      socket.once('error', onError);
      socket.once('close', onClose);
    });
  }

  /** A TCP socket to the URL's host and port, or a TLS one for rtsps://, once connected. */
  #connectSocket(u: RtspUrl, useTls: boolean): Promise<net.Socket> {
    const where = `${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port}`;
    return new Promise((resolve, reject) => {
      const onConnected = (): void => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(socket);
      };
      const socket = useTls
        ? tls.connect(
            {
              host: u.host,
              port: u.port,
              rejectUnauthorized: this.#opts.rejectUnauthorized,
              ...(net.isIP(u.host) === 0 ? { servername: u.host } : {}),
            },
            onConnected,
          )
        : net.connect({ host: u.host, port: u.port }, onConnected);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(socketError(err, `cannot connect to ${where}`));
      };
      socket.once('error', onError);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new RtspClientError(
            'TIMEOUT',
            `cannot connect to ${where}: no answer in ${this.#opts.timeoutMs} ms`,
          ),
        );
      }, this.#opts.timeoutMs);
    });
  }

  #connectTcp(u: RtspUrl): Promise<net.Socket> {
    return this.#connectSocket(u, false);
  }

  async #openPlain(u: RtspUrl): Promise<Connection> {
    const socket = await this.#connectSocket(u, u.scheme === 'rtsps');
    const conn: Connection = { socket, framer: new RtspFramer(), key: connKey(u) };
    this.#wire(conn);
    return conn;
  }

  #openWebSocket(u: RtspUrl): Promise<Connection> {
    const where = `${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port}`;
    const path = `${u.path}${u.query === undefined ? '' : `?${u.query}`}` || '/';
    const wsUrl = `${u.scheme === 'rtsps' ? 'wss' : 'ws'}://${where}${path}`;
    return new Promise((resolve, reject) => {
      let local: string | undefined;
      const ws = new WebSocket(wsUrl, RTSP_WS_SUBPROTOCOL, {
        handshakeTimeout: this.#opts.timeoutMs,
        rejectUnauthorized: this.#opts.rejectUnauthorized,
        headers: { 'User-Agent': this.#opts.userAgent },
      });
      const fail = (err: RtspClientError): void => {
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(err);
      };
      ws.once('upgrade', (res) => {
        local = res.socket.localAddress;
      });
      ws.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        const hint = status === 404 ? ' (unknown path)' : status === 401 ? ' (authentication required)' : '';
        fail(new RtspClientError(`RTSP_${status}`, `WebSocket to ${where}: HTTP ${status}${hint}`));
      });
      ws.once('error', (err) => {
        fail(socketError(err, `WebSocket to ${where}`));
      });
      ws.once('open', () => {
        ws.removeAllListeners('error');
        ws.removeAllListeners('unexpected-response');
        if (ws.protocol !== RTSP_WS_SUBPROTOCOL) {
          fail(
            new RtspClientError(
              'PROTOCOL',
              `WebSocket to ${where}: the server did not accept the ${RTSP_WS_SUBPROTOCOL} subprotocol`,
            ),
          );
          return;
        }
        const channel = new WebSocketChannel(ws, u.host, u.port, local);
        const conn: Connection = { socket: channel, framer: new RtspFramer(), key: connKey(u) };
        this.#wire(conn);
        resolve(conn);
      });
    });
  }

  #wire(conn: Connection): void {
    const { socket } = conn;
    if (socket instanceof net.Socket) socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.#conn !== conn) return;
      this.#onData(conn, chunk);
    });
    for (const s of conn.post === undefined ? [socket] : [socket, conn.post]) {
      s.on('error', (err) => {
        if (this.#conn !== conn) return;
        this.#fail(socketError(err, 'connection'));
      });
      s.on('close', () => {
        if (this.#conn !== conn) return;
        this.#conn = undefined;
        destroyConn(conn);
        this.#rejectAll(new RtspClientError('CLOSED', 'the server closed the connection'));
        // A server may hang up right after its REDIRECT: the client lives on at the new location.
        if (!this.#followingRedirect) this.close();
      });
    }
  }

  #onData(conn: Connection, chunk: Buffer): void {
    {
      let messages;
      try {
        messages = conn.framer.push(chunk);
      } catch (e) {
        const err = new RtspClientError(
          'PROTOCOL',
          `unreadable data from the server: ${(e as Error).message}`,
          {
            cause: e,
          },
        );
        this.#fail(err);
        return;
      }
      for (const m of messages) {
        if (m.kind === 'response') this.#onResponse(m);
        else if (m.kind === 'request') this.#onServerRequest(m);
        else this.#onInterleaved(m.channel, m.payload);
      }
    }
  }

  #fail(err: RtspClientError): void {
    this.#rejectAll(err);
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.#logger.warn({ err: err.message, code: err.code }, 'rtsp client error');
    this.close();
  }

  #rejectAll(err: RtspClientError): void {
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RtspClientError(err.code, `${p.method} ${p.url}: ${err.message}`, { cause: err.cause }));
    }
    this.#pending.clear();
  }

  /** Stops every timer, closes sockets, and emits 'close' once. Does not send TEARDOWN (see teardown()). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimers();
    this.#rejectAll(new RtspClientError('CLOSED', 'client closed'));
    for (const s of this.#setup.values()) closeUdp(s);
    const conn = this.#conn;
    this.#conn = undefined;
    destroyConn(conn);
    this.emit('close');
  }

  #stopTimers(): void {
    clearInterval(this.#keepaliveTimer);
    clearInterval(this.#reportTimer);
    clearTimeout(this.#udpWatchdog);
    this.#keepaliveTimer = undefined;
    this.#reportTimer = undefined;
    this.#udpWatchdog = undefined;
  }

  // --- requests ---

  #nextCseq(): number {
    this.#cseq = (this.#cseq % 0x7fffffff) + 1;
    return this.#cseq;
  }

  #headersFor(method: string, url: string, extra: Record<string, string>, withSession: boolean): RtspHeaders {
    const h = new RtspHeaders();
    h.set('CSeq', String(this.#nextCseq()));
    h.set('User-Agent', this.#opts.userAgent);
    if (withSession && this.#sessionId !== undefined) h.set('Session', this.#sessionId);
    const auth = this.#authorization(method, url);
    if (auth !== undefined) h.set('Authorization', auth);
    for (const [k, v] of Object.entries(extra)) h.set(k, v);
    return h;
  }

  #authorization(method: string, url: string): string | undefined {
    const a = this.#auth;
    if (a === undefined) return undefined;
    const { username, password } = this.#credentials();
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

  #credentials(): { username?: string; password?: string } {
    const u = parseRtspUrl(this.#url);
    const out: { username?: string; password?: string } = {};
    if (u.username !== undefined) out.username = u.username;
    if (u.password !== undefined) out.password = u.password;
    return out;
  }

  /** Writes one request and waits for its reply (no auth retry, no redirect). */
  #send(method: string, url: string, headers: RtspHeaders, body?: Buffer): Promise<RtspResponse> {
    const conn = this.#conn;
    if (!isOpen(conn)) {
      return Promise.reject(new RtspClientError('CLOSED', `${method}: not connected`));
    }
    const cseq = Number(headers.get('CSeq'));
    const bytes = serializeRequest({ method, uri: url, headers, body: body ?? Buffer.alloc(0) });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(cseq);
        reject(new RtspClientError('TIMEOUT', `${method} ${url}: no reply in ${this.#opts.timeoutMs} ms`));
      }, this.#opts.timeoutMs);
      this.#pending.set(cseq, { method, url, resolve, reject, timer });
      writeTo(conn, bytes);
    });
  }

  /** Writes a request whose reply is not waited for (keepalive). */
  #sendNoWait(method: string, url: string): void {
    const conn = this.#conn;
    if (!isOpen(conn)) return;
    const headers = this.#headersFor(method, stripCredentials(url), {}, true);
    const cseq = Number(headers.get('CSeq'));
    this.#ignored.add(cseq);
    if (this.#ignored.size > 64) this.#ignored.delete(this.#ignored.values().next().value!);
    writeTo(conn, serializeRequest({ method, uri: stripCredentials(url), headers, body: Buffer.alloc(0) }));
  }

  #onResponse(res: RtspResponse): void {
    const server = res.headers.get('Server');
    if (server !== undefined) this.#serverName = server;
    const raw = res.headers.get('CSeq');
    let cseq = raw === undefined ? NaN : Number.parseInt(raw, 10);
    if (this.#ignored.delete(cseq)) return;
    // A reply without CSeq (seen from cameras) answers the oldest request.
    if (!this.#pending.has(cseq)) cseq = this.#pending.keys().next().value ?? NaN;
    const p = this.#pending.get(cseq);
    if (p === undefined) return;
    this.#pending.delete(cseq);
    clearTimeout(p.timer);
    p.resolve(res);
  }

  #onServerRequest(req: RtspRequest): void {
    const conn = this.#conn;
    const headers = new RtspHeaders();
    const cseq = req.headers.get('CSeq');
    if (cseq !== undefined) headers.set('CSeq', cseq);
    if (this.#sessionId !== undefined) headers.set('Session', this.#sessionId);
    const known = ['OPTIONS', 'GET_PARAMETER', 'SET_PARAMETER', 'ANNOUNCE', 'REDIRECT'];
    const status = known.includes(req.method.toUpperCase()) ? 200 : 501;
    if (req.method.toUpperCase() === 'OPTIONS') headers.set('Public', known.join(', '));
    if (conn !== undefined)
      writeTo(conn, serializeResponse({ statusCode: status, headers, body: Buffer.alloc(0) }));
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
    const setup = this.#setup.size > 0 ? this.#lastSetup : undefined;
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
  async request(
    method: string,
    url: string,
    options: { headers?: Record<string, string>; body?: Buffer | string; session?: boolean } = {},
  ): Promise<RtspResponse> {
    await this.connect();
    const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
    let target = url;
    let redirects = 0;
    let authTries = 0;
    for (;;) {
      const uri = target === '*' ? '*' : stripCredentials(target);
      const headers = this.#headersFor(method, uri, options.headers ?? {}, options.session ?? true);
      const res = await this.#send(method, uri, headers, body);
      if (res.statusCode === 401 && authTries < 3) {
        authTries++;
        if (this.#onUnauthorized(res, authTries)) continue;
        return res;
      }
      if (res.statusCode >= 300 && res.statusCode < 400 && res.statusCode !== 304) {
        const location = res.headers.get('Location');
        if (location === undefined) return res;
        if (++redirects > this.#opts.maxRedirects) {
          throw new RtspClientError(
            'TOO_MANY_REDIRECTS',
            `${method} ${uri}: more than ${this.#opts.maxRedirects} redirects`,
            {
              response: res,
            },
          );
        }
        target = await this.#redirect(target, location);
        authTries = 0;
        continue;
      }
      return res;
    }
  }

  /** Whether to retry after a 401: picks the challenge; refuses when the same credentials already failed. */
  #onUnauthorized(res: RtspResponse, tries: number): boolean {
    const { username } = this.#credentials();
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

  async #redirect(from: string, location: string): Promise<string> {
    let next: string;
    try {
      const to = parseRtspUrl(location);
      const old = parseRtspUrl(from);
      // Credentials follow a redirect to the same host (another port or path), not to another host.
      if (
        to.username === undefined &&
        old.username !== undefined &&
        to.host.toLowerCase() === old.host.toLowerCase()
      ) {
        to.username = old.username;
        if (old.password !== undefined) to.password = old.password;
      }
      next = serializeRtspUrl(to);
    } catch (e) {
      throw new RtspClientError('BAD_URL', `redirect to a bad URL ${JSON.stringify(location)}`, { cause: e });
    }
    const u = this.#parsedUrl(next);
    if (from === this.#url || stripCredentials(from) === stripCredentials(this.#url)) this.#url = next;
    if (this.#conn?.key !== connKey(u)) {
      this.#logger.debug({ location: stripCredentials(next) }, 'redirected to another server');
      const old = this.#conn;
      this.#conn = undefined;
      destroyConn(old);
      this.#auth = undefined;
      this.#adopt(await this.#open(u));
    }
    return next;
  }

  async #expectOk(
    method: string,
    url: string,
    options: Parameters<RtspClient['request']>[2] = {},
  ): Promise<RtspResponse> {
    const res = await this.request(method, url, options);
    if (res.statusCode === 401) {
      const hint =
        this.#credentials().username === undefined
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
      throw new RtspClientError(
        'BAD_SDP',
        `DESCRIBE ${safeUrl(this.#url)}: unreadable SDP: ${(e as Error).message}`,
        {
          cause: e,
          response: res,
        },
      );
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
      throw new RtspClientError('BAD_SDP', `ANNOUNCE: unreadable SDP: ${(e as Error).message}`, { cause: e });
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
        (e.code === 'RTSP_461' || (e.code === 'RTSP_400' && this.#setup.size === 0))
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
    let udp: { rtp: dgram.Socket; rtcp: dgram.Socket } | undefined;
    const askedChannels = { rtp: this.#setup.size * 2, rtcp: this.#setup.size * 2 + 1 };
    if (transport === 'tcp') {
      spec.interleaved = askedChannels;
    } else {
      const local = normalizeAddress(this.#conn?.socket.localAddress ?? '0.0.0.0');
      udp = await bindUdpPair(local);
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
    const st: SetupTrack = {
      track,
      transport,
      stats: new RtpReceiverStats(track.clockRate),
      depacketizer: undefined,
      remoteSsrc: reply?.ssrc,
      ssrc: randomSsrc(),
      accessUnits: 0,
      packets: 0,
      bytes: 0,
      ended: false,
    };
    if (this.#mode === 'play' && this.#opts.accessUnits && track.depacketizable) {
      try {
        st.depacketizer = createDepacketizer(track.encodingName, track.clockRate, track.fmtp);
      } catch (e) {
        if (!isParseError(e)) throw e;
        this.#logger.info({ track: track.index, err: (e as Error).message }, 'no depacketizer for track');
      }
    }
    if (transport === 'tcp') {
      const ch = reply?.interleaved;
      st.channels = ch === undefined ? askedChannels : { rtp: ch.rtp, rtcp: ch.rtcp ?? ch.rtp + 1 };
    } else if (udp !== undefined) {
      const serverAddress = normalizeAddress(reply?.source ?? this.#conn?.socket.remoteAddress ?? '');
      const ports: UdpPorts = { ...udp, serverAddress };
      if (reply?.serverPort !== undefined) {
        ports.serverRtpPort = reply.serverPort.rtp;
        ports.serverRtcpPort = reply.serverPort.rtcp ?? reply.serverPort.rtp + 1;
      }
      st.udp = ports;
      const remote = normalizeAddress(this.#conn?.socket.remoteAddress ?? '');
      const accept = (addr: string): boolean => {
        const a = normalizeAddress(addr);
        return a === remote || a === serverAddress;
      };
      udp.rtp.on('message', (msg, rinfo) => {
        if (accept(rinfo.address)) this.#onRtp(st, msg);
      });
      udp.rtcp.on('message', (msg, rinfo) => {
        if (accept(rinfo.address)) this.#onRtcp(st, msg);
      });
      for (const s of [udp.rtp, udp.rtcp])
        s.on('error', (err) => this.#logger.debug({ err: err.message }, 'udp error'));
    }
    const old = this.#setup.get(track.index);
    if (old !== undefined) closeUdp(old);
    this.#setup.set(track.index, st);
    this.#startKeepalive();
  }

  /** PLAY (§10.5) the whole session; the default Range is `npt=0-`. */
  async play(options: PlayOptions = {}): Promise<RtspResponse> {
    if (this.#setup.size === 0) throw new RtspClientError('STATE', 'PLAY needs setup() first');
    this.#lastPlay = options;
    const headers: Record<string, string> = {};
    const range = options.range === undefined ? ({ unit: 'npt', start: 0 } as const) : options.range;
    if (range !== null) headers.Range = serializeRange(range);
    if (options.scale !== undefined) headers.Scale = String(options.scale);
    const res = await this.#expectOk('PLAY', this.#aggregateUrl(), { headers });
    for (const st of this.#setup.values()) st.ended = false;
    const info = res.headers.get('RTP-Info');
    if (info !== undefined) {
      try {
        for (const entry of parseRtpInfo(info)) {
          const st = [...this.#setup.values()].find((s) => sameUrl(s.track.controlUrl, entry.url));
          if (st !== undefined) st.rtpInfo = entry;
        }
      } catch (e) {
        if (!isParseError(e)) throw e;
      }
    }
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
    if (this.#setup.size === 0) throw new RtspClientError('STATE', 'RECORD needs setup() first');
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
    const options: Parameters<RtspClient['request']>[2] = {};
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
        this.#logger.debug({ err: (e as Error).message }, 'TEARDOWN failed');
      }
    }
    this.#stopTimers();
    for (const s of this.#setup.values()) closeUdp(s);
    this.#setup.clear();
    this.#sessionId = undefined;
    this.#lastPlay = undefined;
  }

  // --- media in ---

  #onInterleaved(channel: number, payload: Buffer): void {
    for (const st of this.#setup.values()) {
      if (st.channels === undefined) continue;
      if (channel === st.channels.rtp) return this.#onRtp(st, payload);
      if (channel === st.channels.rtcp) return this.#onRtcp(st, payload);
    }
  }

  #onRtp(st: SetupTrack, buf: Buffer): void {
    let packet: RtpPacket;
    try {
      packet = parseRtpPacket(buf);
    } catch (e) {
      if (isParseError(e)) return;
      throw e;
    }
    st.remoteSsrc ??= packet.ssrc;
    st.packets++;
    st.bytes += packet.payload.length;
    st.stats.onPacket(packet.sequenceNumber, packet.timestamp, performance.now(), packet.payload.length);
    this.emit('rtp', st.track, packet);
    if (st.depacketizer === undefined) return;
    if (packet.payloadType !== st.track.payloadType && st.track.payloadType >= 0) return;
    const aus = st.depacketizer.push(packet);
    for (const au of aus) {
      st.accessUnits++;
      this.emit('accessUnit', st.track, au);
    }
  }

  #onRtcp(st: SetupTrack, buf: Buffer): void {
    let packets: RtcpPacket[];
    try {
      packets = parseRtcpCompound(buf);
    } catch (e) {
      if (isParseError(e)) return;
      throw e;
    }
    let bye = false;
    for (const p of packets) {
      if (p.type === 'sr') st.stats.onSenderReport(p, performance.now());
      // A BYE for another SSRC (a collision, another participant) does not end this track.
      else if (p.type === 'bye' && (st.remoteSsrc === undefined || p.ssrcs.includes(st.remoteSsrc)))
        bye = true;
    }
    this.emit('rtcp', st.track, packets);
    if (!bye || st.ended) return;
    st.ended = true;
    this.emit('bye', st.track);
    if ([...this.#setup.values()].every((s) => s.ended)) this.emit('end');
  }

  /** Ends the access unit being assembled on every track (end of stream) and emits it. */
  flush(): void {
    for (const st of this.#setup.values()) {
      for (const au of st.depacketizer?.flush() ?? []) {
        st.accessUnits++;
        this.emit('accessUnit', st.track, au);
      }
    }
  }

  /** Reception statistics per track set up. */
  stats(): TrackStats[] {
    return [...this.#setup.values()].map((st) => ({
      index: st.track.index,
      transport: st.transport,
      packetsReceived: st.packets,
      bytesReceived: st.bytes,
      packetsLost: Math.max(0, st.stats.cumulativeLost),
      jitterMs: st.stats.jitterMs,
      accessUnits: st.accessUnits,
      accessUnitsDropped: st.depacketizer?.stats.droppedAccessUnits ?? 0,
    }));
  }

  // --- media out (record mode) ---

  /** Sends one RTP packet of track `index` (after announce, setup and record). */
  sendRtp(index: number, packet: Buffer): boolean {
    return this.#sendMedia(index, packet, 'rtp');
  }

  /** Sends one RTCP compound packet about track `index`. */
  sendRtcp(index: number, packet: Buffer): boolean {
    return this.#sendMedia(index, packet, 'rtcp');
  }

  #sendMedia(index: number, packet: Buffer, kind: 'rtp' | 'rtcp'): boolean {
    const st = this.#setup.get(index);
    if (st === undefined) throw new RtspClientError('STATE', `track ${index} is not set up`);
    if (st.channels !== undefined) {
      const conn = this.#conn;
      if (!isOpen(conn)) return false;
      return writeTo(conn, serializeInterleaved(kind === 'rtp' ? st.channels.rtp : st.channels.rtcp, packet));
    }
    const u = st.udp;
    const port = kind === 'rtp' ? u?.serverRtpPort : u?.serverRtcpPort;
    if (u === undefined || port === undefined) return false;
    (kind === 'rtp' ? u.rtp : u.rtcp).send(packet, port, u.serverAddress);
    return true;
  }

  /** Bytes queued on the control connection (TCP interleaved backpressure). */
  get writableLength(): number {
    const conn = this.#conn;
    return (conn?.post ?? conn?.socket)?.writableLength ?? 0;
  }

  // --- timers ---

  #startKeepalive(): void {
    if (this.#keepaliveTimer !== undefined) return;
    const intervalMs = this.#opts.keepaliveIntervalMs ?? Math.max(1000, (this.#sessionTimeoutS * 1000) / 2);
    this.#keepaliveTimer = setInterval(() => {
      const method = this.#publicMethods?.includes('GET_PARAMETER') === true ? 'GET_PARAMETER' : 'OPTIONS';
      this.#sendNoWait(method, this.#aggregateUrl());
    }, intervalMs);
    this.#keepaliveTimer.unref();
  }

  #startReports(): void {
    if (this.#reportTimer !== undefined || this.#mode !== 'play') return;
    this.#reportTimer = setInterval(() => this.sendReceiverReports(), this.#opts.receiverReportIntervalMs);
    this.#reportTimer.unref();
  }

  /** Sends an RR + SDES compound for every track that received packets (called every ~5 s by itself). */
  sendReceiverReports(): void {
    const now = performance.now();
    for (const st of this.#setup.values()) {
      if (st.remoteSsrc === undefined || !st.stats.validated) continue;
      const packet = serializeRtcpCompound([
        { type: 'rr', ssrc: st.ssrc, reports: [st.stats.reportBlock(st.remoteSsrc, now)] },
        { type: 'sdes', chunks: [{ ssrc: st.ssrc, items: [{ type: 1, text: this.#cname }] }] },
      ]);
      try {
        this.#sendMedia(st.track.index, packet, 'rtcp');
      } catch (e) {
        this.#logger.debug({ err: (e as Error).message }, 'receiver report not sent');
      }
    }
  }

  #armUdpWatchdog(): void {
    clearTimeout(this.#udpWatchdog);
    const udpTracks = [...this.#setup.values()].filter((s) => s.transport === 'udp');
    if (udpTracks.length === 0 || this.#mode !== 'play' || !this.#opts.udpFallback) return;
    this.#udpWatchdog = setTimeout(() => {
      this.#udpWatchdog = undefined;
      if (udpTracks.some((s) => s.packets > 0)) return;
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
      const err =
        e instanceof RtspClientError
          ? e
          : new RtspClientError('NO_MEDIA', `fallback to TCP failed: ${String(e)}`);
      if (this.listenerCount('error') > 0) this.emit('error', err);
    }
  }
}

function closeUdp(st: SetupTrack): void {
  if (st.udp === undefined) return;
  for (const s of [st.udp.rtp, st.udp.rtcp]) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
  delete st.udp;
}

function connKey(u: RtspUrl): string {
  return `${u.scheme}://${u.host.toLowerCase()}:${u.port}`;
}

function safeUrl(url: string): string {
  try {
    return stripCredentials(url);
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

function sameUrl(a: string, b: string): boolean {
  const norm = (s: string): string => safeUrl(s).replace(/\/+$/, '');
  return norm(a) === norm(b) || norm(a).endsWith(norm(b));
}
