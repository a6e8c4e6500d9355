/**
 * The client's control connection: what carries the RTSP conversation and interleaved media. One of
 * - TCP, or TLS for rtsps:// (RFC 2326 §10);
 * - the QuickTime HTTP tunnel (rtsph://): replies and media come back on a GET, requests go base64 in the
 *   never-ending body of a POST, both to the URL's host and port;
 * - a WebSocket (ONVIF, subprotocol rtsp.onvif.org) to the URL's host, port and path.
 * Opening one is all this file does; the client reads its bytes through the framer and writes with writeTo.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { WebSocket } from 'ws';
import { clockTimeout, type Clock } from '../base/clock.js';
import { isParseError } from '../base/errors.js';
import { RtspFramer } from '../rtsp/framer.js';
import type { RtspMessage } from '../rtsp/message.js';
import { RtspStatus } from '../rtsp/status.js';
import type { RtspUrl } from '../rtsp/url.js';
import { RTSP_WS_SUBPROTOCOL, WebSocketChannel } from '../transport/websocket.js';
import { RtspClientError, socketError } from './errors.js';
import { connKey, hostPort, safeUrl } from './urls.js';

/** What carries the RTSP conversation: a TCP or TLS socket, or a WebSocket. */
export type ControlSocket = net.Socket | WebSocketChannel;

export interface Connection {
  /** Where the server's bytes come from (the GET side of an HTTP tunnel). */
  socket: ControlSocket;
  /** The POST side of an HTTP tunnel, which carries our bytes base64-encoded. */
  post?: net.Socket;
  framer: RtspFramer;
  /** connKey of the URL it was opened for: a redirect to another key needs another connection. */
  key: string;
  /** Bytes that came after the tunnel's HTTP head, for the framer. */
  leftover?: Buffer;
}

export type ConnectionKind = 'plain' | 'httpTunnel' | 'webSocket';

export interface ConnectOptions {
  kind: ConnectionKind;
  /** Times the connect and the tunnel's reply head. */
  clock: Clock;
  timeoutMs: number;
  rejectUnauthorized: boolean;
  /**
   * rtsps: the SHA-256 fingerprint of the server's certificate, hex (colons optional). When set, the
   * certificate is pinned: accepted when it matches, whoever signed it (a camera's self-signed one), and
   * refused otherwise, whatever `rejectUnauthorized` says.
   */
  tlsFingerprint?: string;
  userAgent: string;
  /** The presentation URL, for messages (credentials are stripped). */
  displayUrl: string;
}

const TUNNEL_HEAD_MAX_BYTES = 8192;

export function writeTo(conn: Connection, bytes: Buffer): boolean {
  if (conn.post !== undefined) return conn.post.write(bytes.toString('base64'), 'latin1');
  return conn.socket.write(bytes);
}

export function isOpen(conn: Connection | undefined): conn is Connection {
  return conn !== undefined && !conn.socket.destroyed && conn.post?.destroyed !== true;
}

export function destroyConn(conn: Connection | undefined): void {
  conn?.socket.destroy();
  conn?.post?.destroy();
}

/** Every socket of the connection (two for the HTTP tunnel), for error and close listeners. */
export function connSockets(conn: Connection): (ControlSocket | net.Socket)[] {
  return conn.post === undefined ? [conn.socket] : [conn.socket, conn.post];
}

/** Bytes queued on the side that carries our bytes (TCP interleaved backpressure). */
export function writableLength(conn: Connection | undefined): number {
  return (conn?.post ?? conn?.socket)?.writableLength ?? 0;
}

/** What the client hears from a connection it adopted. */
export interface ConnectionListener {
  /** Whether the connection is still the client's: events of a replaced one are ignored. */
  current(): boolean;
  /** A request, reply or interleaved frame from the server. */
  message(m: RtspMessage): void;
  /** A socket error, or bytes that are not RTSP. */
  fault(err: RtspClientError): void;
  /** The server closed (either socket of a tunnel). */
  closed(): void;
}

/** Feeds the connection's bytes through its framer to `l`, and its errors and close; then any leftover. */
export function listen(conn: Connection, l: ConnectionListener): void {
  const feed = (chunk: Buffer): void => {
    let messages: RtspMessage[];
    try {
      messages = conn.framer.push(chunk);
    } catch (e) {
      if (!isParseError(e)) throw e;
      l.fault(new RtspClientError('PROTOCOL', `unreadable data from the server: ${e.message}`, { cause: e }));
      return;
    }
    for (const m of messages) l.message(m);
  };
  conn.socket.on('data', (chunk: Buffer) => {
    if (l.current()) feed(chunk);
  });
  for (const s of connSockets(conn)) {
    s.on('error', (err) => {
      if (l.current()) l.fault(socketError(err, 'connection'));
    });
    s.on('close', () => {
      if (l.current()) l.closed();
    });
  }
  const rest = conn.leftover;
  delete conn.leftover;
  if (rest !== undefined && rest.length > 0) feed(rest);
}

/** Opens a control connection to `u`, once connected (and, for a tunnel, once its GET got 200). */
export async function openConnection(u: RtspUrl, opts: ConnectOptions): Promise<Connection> {
  let conn: Connection;
  if (opts.kind === 'webSocket') conn = await openWebSocket(u, opts);
  else if (opts.kind === 'httpTunnel') conn = await openTunnel(u, opts);
  else
    conn = {
      socket: await connectSocket(u, u.scheme === 'rtsps', opts),
      framer: new RtspFramer(),
      key: connKey(u),
    };
  if (conn.socket instanceof net.Socket) conn.socket.setNoDelay(true);
  return conn;
}

async function openTunnel(u: RtspUrl, opts: ConnectOptions): Promise<Connection> {
  const get = await connectSocket(u, false, opts);
  try {
    const cookie = randomBytes(12).toString('hex');
    const path = `${u.path}${u.query === undefined ? '' : `?${u.query}`}` || '/';
    const common =
      `x-sessioncookie: ${cookie}\r\nUser-Agent: ${opts.userAgent}\r\n` +
      'Pragma: no-cache\r\nCache-Control: no-cache\r\n';
    get.write(`GET ${path} HTTP/1.0\r\n${common}Accept: application/x-rtsp-tunnelled\r\n\r\n`, 'latin1');
    const leftover = await readHttpHead(get, u, opts);
    const post = await connectSocket(u, false, opts);
    post.setNoDelay(true);
    // The POST body never ends: the length is a formality (the tunnel's convention is 32767).
    post.write(
      `POST ${path} HTTP/1.0\r\n${common}Content-Type: application/x-rtsp-tunnelled\r\n` +
        'Content-Length: 32767\r\nExpires: Sun, 9 Jan 1972 00:00:00 GMT\r\n\r\n',
      'latin1',
    );
    post.on('data', () => undefined); // the server never answers the POST
    return { socket: get, post, framer: new RtspFramer(), key: connKey(u), leftover };
  } catch (e) {
    get.destroy();
    throw e;
  }
}

function httpStatusHint(status: number): string {
  if (status === RtspStatus.NotFound) return ' (unknown path)';
  if (status === RtspStatus.Unauthorized) return ' (authentication required)';
  return '';
}

/** Reads the HTTP response head of the tunnel's GET; resolves with the bytes after it. */
function readHttpHead(socket: net.Socket, u: RtspUrl, opts: ConnectOptions): Promise<Buffer> {
  const where = hostPort(u);
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: RtspClientError | undefined, rest?: Buffer): void => {
      timer.cancel();
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
      if (status !== RtspStatus.Ok) {
        done(
          new RtspClientError(
            `RTSP_${status}`,
            `HTTP tunnel GET ${safeUrl(opts.displayUrl)}: ${status} ${m[2] ?? ''}${httpStatusHint(status)}`.trimEnd(),
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
    const timer = clockTimeout(
      opts.clock,
      () => {
        done(new RtspClientError('TIMEOUT', `HTTP tunnel to ${where}: no reply in ${opts.timeoutMs} ms`));
      },
      opts.timeoutMs,
    );
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/** A TCP socket to the URL's host and port, or a TLS one, once connected. */
function connectSocket(u: RtspUrl, useTls: boolean, opts: ConnectOptions): Promise<net.Socket> {
  const where = hostPort(u);
  return new Promise((resolve, reject) => {
    const onConnected = (): void => {
      timer.cancel();
      socket.removeListener('error', onError);
      resolve(socket);
    };
    const socket = useTls
      ? tls.connect(
          {
            host: u.host,
            port: u.port,
            rejectUnauthorized: opts.tlsFingerprint === undefined && opts.rejectUnauthorized,
            ...(net.isIP(u.host) === 0 ? { servername: u.host } : {}),
          },
          () => {
            const pinned = opts.tlsFingerprint;
            if (pinned === undefined) return onConnected();
            // An empty object when the server sent no certificate: its fingerprint256 is then missing.
            const cert: Partial<tls.PeerCertificate> = (socket as tls.TLSSocket).getPeerCertificate();
            const got = normalizeFingerprint(cert.fingerprint256 ?? '');
            if (got === normalizeFingerprint(pinned)) return onConnected();
            onError(
              Object.assign(new Error(`certificate fingerprint ${got} is not the pinned one`), {
                code: 'TLS_FINGERPRINT',
              }),
            );
          },
        )
      : net.connect({ host: u.host, port: u.port }, onConnected);
    const onError = (err: Error): void => {
      timer.cancel();
      socket.destroy();
      reject(socketError(err, `cannot connect to ${where}`));
    };
    socket.once('error', onError);
    const timer = clockTimeout(
      opts.clock,
      () => {
        socket.destroy();
        reject(
          new RtspClientError('TIMEOUT', `cannot connect to ${where}: no answer in ${opts.timeoutMs} ms`),
        );
      },
      opts.timeoutMs,
    );
  });
}

function openWebSocket(u: RtspUrl, opts: ConnectOptions): Promise<Connection> {
  const where = hostPort(u);
  const path = `${u.path}${u.query === undefined ? '' : `?${u.query}`}` || '/';
  const wsUrl = `${u.scheme === 'rtsps' ? 'wss' : 'ws'}://${where}${path}`;
  return new Promise((resolve, reject) => {
    let local: string | undefined;
    const ws = new WebSocket(wsUrl, RTSP_WS_SUBPROTOCOL, {
      handshakeTimeout: opts.timeoutMs,
      rejectUnauthorized: opts.rejectUnauthorized,
      headers: { 'User-Agent': opts.userAgent },
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
      fail(
        new RtspClientError(
          `RTSP_${status}`,
          `WebSocket to ${where}: HTTP ${status}${httpStatusHint(status)}`,
        ),
      );
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
      resolve({ socket: channel, framer: new RtspFramer(), key: connKey(u) });
    });
  });
}

/** A SHA-256 fingerprint as lower-case hex without separators (`AB:CD:..` and `abcd..` compare equal). */
export function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replace(/[^0-9a-fA-F]/g, '').toLowerCase();
}
