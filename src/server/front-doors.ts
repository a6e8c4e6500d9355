/**
 * The server's front doors: the RTSP TCP port, the RTSPS (TLS) port, the extra HTTP-tunnel port and
 * WebSocket upgrades sniffed on them, with admission at the TCP accept and the connection timeouts.
 * Everything up to "a ServerConnection exists"; what is said on it (requests, interleaved media) is
 * the server's, reached through `ConnectionHandlers`. Apart from the request handlers because it deals
 * in sockets and descriptors (limits, handshakes, tunnel pairing), not in RTSP sessions; the only
 * session-facing duty left here is unbinding a session's channels from every connection.
 */
import net from 'node:net';
import tls from 'node:tls';
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { RtspRequest, RtspResponse } from '../rtsp/message.js';
import { normalizeAddress } from '../transport/udp.js';
import { RTSP_WS_SUBPROTOCOL, WebSocketChannel, type ByteChannel } from '../transport/websocket.js';
import {
  ServerConnection,
  type ConnectionEvent,
  type ConnectionHandlers as ServerConnectionHandlers,
  type Reply,
} from './connection.js';
import { ConnectionLedger, type ConnectionRefusalReason } from './connection-limits.js';
import {
  CLOSE_MESSAGES,
  CLOSE_REASONS,
  PendingHandshakes,
  expiredConnection,
  type CloseReason,
} from './connection-timeouts.js';
import { RefusalLog } from './refusal-log.js';
import type { ServerSession } from './session.js';
import type { ServerSettings } from './server-options.js';
import { listenOn } from '../transport/listen.js';

/** What a connection's traffic goes to: the server's request gate and media in. */
export interface ConnectionHandlers {
  handleRequest(conn: ServerConnection, req: RtspRequest): Promise<Reply>;
  /** A client's answer to a request the server sent (server-requests.ts). */
  response(conn: ServerConnection, res: RtspResponse): void;
  /** The connection closed (after the front doors forgot it): its sessions' fate is the server's. */
  connectionClosed(conn: ServerConnection): void;
  /** A connection was accepted (runOnConnect). */
  connectionOpened?(conn: ServerConnection): void;
}

export interface FrontDoorsDeps {
  /** Read at each accept and sweep: limits and timeouts are reloadable. */
  settings: ServerSettings;
  tls: { port: number; cert: string | Buffer; key: string | Buffer } | undefined;
  logger: Logger;
  clock: Clock;
  handlers: ConnectionHandlers;
}

export class FrontDoors {
  private readonly tcp: net.Server;
  private readonly tlsServer: tls.Server | undefined;
  private readonly tunnelTcp: net.Server | undefined;
  private readonly websocketServer: WebSocketServer;
  /** Not listening: sniffed WebSocket upgrades are handed to it. */
  private readonly websocketHttp: http.Server;
  private readonly connections = new Set<ServerConnection>();
  /** RTSP-over-HTTP tunnels: x-sessioncookie → the GET side. */
  private readonly tunnels = new Map<string, ServerConnection>();
  private readonly refusals: RefusalLog;
  private readonly ledger: ConnectionLedger;
  private readonly handshakes = new PendingHandshakes();
  private tlsPort: number;
  private nextConnectionId = 1;

  /** Connections closed by a timeout or for unread replies, by reason; and other counted refusals. */
  readonly connectionCloses: Record<CloseReason, number> = Object.fromEntries(
    CLOSE_REASONS.map((r) => [r, 0]),
  ) as Record<CloseReason, number>;
  readonly connectionEvents: Record<ConnectionEvent, number> = {
    replyBacklogHold: 0,
    tunnelPostRefused: 0,
    tunnelPostReplaced: 0,
    interleavedUnbound: 0,
  };

  /**
   * What every connection calls, made once: per connection they were 10 closures and 2 objects (~0.6 KB
   * of heap per reader at 1000 readers). Each takes the connection (and what else it needs) as arguments.
   */
  private readonly connectionHandlers: ServerConnectionHandlers = {
    handleRequest: (c, req) => this.deps.handlers.handleRequest(c, req),
    response: (c, res) => this.deps.handlers.response(c, res),
    closed: (c) => this.connectionClosed(c),
    tunnelOpened: (c, cookie) => {
      if (this.tunnels.has(cookie)) return false;
      this.tunnels.set(cookie, c);
      return true;
    },
    tunnelFor: (cookie) => this.tunnels.get(cookie),
    websocketUpgrade: (_c, head, channel) => {
      // A WebSocket's own channel cannot carry another upgrade.
      if (!(channel instanceof net.Socket)) {
        channel.destroy();
        return;
      }
      // The bytes read so far go back, and node's HTTP parser and `ws` take the socket from here.
      // Paused, so that the bytes put back are not emitted before the HTTP server listens.
      channel.pause();
      channel.removeAllListeners('data');
      channel.unshift(head);
      this.websocketHttp.emit('connection', channel);
      channel.resume();
    },
    count: (event) => {
      this.connectionEvents[event]++;
    },
  };
  private readonly connectionOptions = {
    maxReplyBacklogBytes: () => this.deps.settings.maxReplyBacklogBytes,
    maxPendingRequests: () => this.deps.settings.maxPendingRequests,
  };
  private readonly monotonicMs = (): number => this.deps.clock.monotonicMs();

  constructor(private readonly deps: FrontDoorsDeps) {
    const { settings, logger, clock } = deps;
    this.refusals = new RefusalLog(logger, clock);
    this.ledger = new ConnectionLedger(() => settings);
    const onTcpConnection = (socket: net.Socket): void => {
      if (!this.admit(socket)) return;
      socket.setNoDelay(true);
      this.accept(socket, false);
    };
    this.tcp = net.createServer(onTcpConnection);
    // The same connection handling: RTSP, the HTTP tunnel and WebSocket are told apart by their first bytes.
    if (settings.httpTunnelPort !== undefined) this.tunnelTcp = net.createServer(onTcpConnection);
    this.websocketServer = new WebSocketServer({
      noServer: true,
      maxPayload: 1024 * 1024,
      handleProtocols: (protocols) => (protocols.has(RTSP_WS_SUBPROTOCOL) ? RTSP_WS_SUBPROTOCOL : false),
    });
    this.websocketHttp = http.createServer((_req, res) => {
      res.writeHead(426, { Connection: 'close' }).end();
    });
    this.websocketHttp.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (!offered.includes(RTSP_WS_SUBPROTOCOL)) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        return;
      }
      this.websocketServer.handleUpgrade(req, socket, head, (ws) => {
        this.acceptWebSocket(ws, req);
      });
    });
    if (deps.tls !== undefined) {
      this.tlsServer = tls.createServer({ cert: deps.tls.cert, key: deps.tls.key }, (socket) => {
        this.handshakes.delete(socket);
        if (socket.destroyed) return;
        socket.setNoDelay(true);
        // Inside TLS media goes interleaved: plain RTP over UDP would leave its protection.
        this.accept(socket, true);
      });
      // A failed handshake (a plain-RTSP client on the TLS port, a bad certificate) is the client's problem.
      this.tlsServer.on('tlsClientError', (err) => {
        logger.debug({ err: err.message }, 'tls handshake failed');
      });
      // Admission at the TCP accept, before the handshake: a client that never completes it holds a
      // descriptor like any other connection, so it takes a place and is timed.
      this.tlsServer.on('connection', (raw: net.Socket) => {
        if (!this.admit(raw)) return;
        this.handshakes.add(raw, clock.monotonicMs());
        raw.once('close', () => this.handshakes.delete(raw));
      });
    }
    this.tlsPort = deps.tls?.port ?? 0;
  }

  async listen(): Promise<void> {
    const { port, host, httpTunnelPort, listenBacklog } = this.deps.settings;
    await listenOn(this.tcp, port, host, listenBacklog);
    if (this.tunnelTcp !== undefined)
      await listenOn(this.tunnelTcp, httpTunnelPort ?? 0, host, listenBacklog);
    if (this.tlsServer !== undefined) {
      await listenOn(this.tlsServer, this.tlsPort, host, listenBacklog);
      const a = this.tlsServer.address();
      if (typeof a === 'object' && a !== null) this.tlsPort = a.port;
    }
  }

  get port(): number {
    const a = this.tcp.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** The extra HTTP-tunnel port once listening (undefined when not configured). */
  get httpTunnelPort(): number | undefined {
    const a = this.tunnelTcp?.address();
    return typeof a === 'object' && a !== null ? a.port : undefined;
  }

  /** The RTSPS port once listening (undefined without TLS). */
  get rtspsPort(): number | undefined {
    return this.tlsServer !== undefined ? this.tlsPort : undefined;
  }

  /** First step of closing: every connection and pending handshake goes, WebSockets too. */
  destroyConnections(): void {
    for (const c of this.connections) c.destroy();
    this.handshakes.destroyAll();
    this.websocketServer.close();
  }

  /** Last step of closing: the listening sockets. */
  async closeListeners(): Promise<void> {
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    if (this.tunnelTcp !== undefined)
      await new Promise<void>((resolve) => this.tunnelTcp!.close(() => resolve()));
    if (this.tlsServer !== undefined)
      await new Promise<void>((resolve) => this.tlsServer!.close(() => resolve()));
  }

  /** Open TCP connections (RTSP, RTSPS from the accept, tunnel halves, WebSockets). */
  get connectionCount(): number {
    return this.ledger.total;
  }

  /** Connections closed at once by the limits. */
  get connectionsRefused(): number {
    return this.ledger.refused;
  }

  /** The same, by the cap that refused them. */
  get connectionRefusals(): Readonly<Record<ConnectionRefusalReason, number>> {
    return this.ledger.refusedBy;
  }

  /** Log lines of refusals suppressed by the rate limit. */
  get logLinesSuppressed(): number {
    return this.refusals.suppressedTotal;
  }

  /** A session ended: no connection routes its interleaved channels any more. */
  unbindSession(session: ServerSession): void {
    for (const c of this.connections) c.unbindSession(session);
  }

  /** Run by the sweeper: closes connections past a timeout and TLS handshakes not done in time. */
  expire(now: number): void {
    const { settings, logger } = this.deps;
    for (const c of this.connections) {
      const reason = expiredConnection(c, now, settings);
      if (reason === undefined) continue;
      this.connectionCloses[reason]++;
      this.refusals.write(logger, 'info', { conn: c.id, remote: c.remoteAddress }, CLOSE_MESSAGES[reason]);
      c.destroy();
    }
    const handshakes = this.handshakes.expire(now, settings.tlsHandshakeTimeoutMs);
    this.connectionCloses.tls_handshake += handshakes;
    if (handshakes > 0)
      this.refusals.write(logger, 'info', { count: handshakes }, CLOSE_MESSAGES.tls_handshake);
    this.refusals.flush();
  }

  /**
   * Connection limits, checked at the TCP accept before anything is read. The place is the socket's
   * until it closes, whatever it carries (a WebSocket counts once, a TLS handshake from its start).
   */
  private admit(socket: net.Socket): boolean {
    const address = socket.remoteAddress ?? '';
    const refusal = this.ledger.admit(address);
    if (refusal === undefined) {
      socket.once('close', () => this.ledger.release(address));
      return true;
    }
    this.refusals.write(
      this.deps.logger,
      'warn',
      { remote: normalizeAddress(address), reason: refusal },
      'connection refused',
    );
    socket.destroy();
    return false;
  }

  private accept(channel: ByteChannel, interleavedOnly: boolean): void {
    const { settings, handlers, clock } = this.deps;
    // Read at each accept: a reload reaches the connections opened after it.
    const requestLimits = {
      maxHeaderBytes: settings.maxRequestHeaderBytes,
      maxBodyBytes: settings.maxRequestBodyBytes,
    };
    const conn = new ServerConnection(
      channel,
      this.nextConnectionId++,
      this.deps.logger,
      interleavedOnly,
      this.connectionHandlers,
      { requestLimits, ...this.connectionOptions, refusals: this.refusals },
    );
    conn.now = this.monotonicMs;
    conn.lastDataMs = clock.monotonicMs();
    this.connections.add(conn);
    handlers.connectionOpened?.(conn);
  }

  /** RTSP over WebSocket: an upgrade with the `rtsp.onvif.org` subprotocol becomes an RTSP connection. */
  private acceptWebSocket(ws: WebSocket, req: http.IncomingMessage): void {
    // The connection that sniffed the upgrade is done: the socket's place (taken at accept) and its
    // timeouts go to the WebSocket's connection.
    for (const c of this.connections) if (c.handedOff && c.isOn(req.socket)) this.connections.delete(c);
    const channel = new WebSocketChannel(ws, req.socket.remoteAddress, req.socket.remotePort);
    this.accept(channel, true);
  }

  private connectionClosed(conn: ServerConnection): void {
    this.connections.delete(conn);
    for (const [cookie, c] of this.tunnels) if (c === conn) this.tunnels.delete(cookie);
    this.deps.handlers.connectionClosed(conn);
  }
}
