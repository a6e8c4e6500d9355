/**
 * The RTMP server (after mediamtx's rtmp server): a TCP listener (`rtmpAddress`) and, with the same
 * certificate as RTSPS, a TLS one (`rtmpsAddress`), each accepted socket an RtmpConnection. Paths,
 * users and rights are the RTSP server's: publishers claim paths from the same path manager, players
 * read the same Streams, credentials are checked by the same Authorizer.
 *
 * Bounds: `maxConnections` at accept (counted refusals); per connection the chunk reader's bounds and
 * the timeouts (connection.ts). Closing the server closes every connection, which frees their paths.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { PathManager } from '../paths/path-manager.js';
import type { Authorizer } from '../server/auth.js';
import { normalizeAddress } from '../transport/udp.js';
import { AdobeChallenges, DEFAULT_MAX_PENDING_CHALLENGES } from './adobe-auth.js';
import { RtmpConnection, type RtmpConnectionLimits, type RtmpConnectionSnapshot } from './connection.js';
import { newRtmpCounters, type RtmpCounters } from './counters.js';
import { boundPort, listenOn } from '../transport/listen.js';

export interface RtmpLimits extends RtmpConnectionLimits {
  maxConnections: number;
}

export const DEFAULT_RTMP_LIMITS: RtmpLimits = {
  maxConnections: 1000,
  maxChunkStreams: 64,
  maxMessageBytes: 8 * 1024 * 1024,
  maxReassemblyBytes: 16 * 1024 * 1024,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
};

export interface RtmpServerOptions {
  host: string;
  /** Plain RTMP port (0: any); undefined: no plain listener. */
  port: number | undefined;
  /** RTMPS: its port and the certificate (the RTSPS one). */
  tls?: { port: number; cert: string | Buffer; key: string | Buffer };
  clock: Clock;
  logger: Logger;
  paths: PathManager;
  authorizer(): Authorizer | undefined;
  maxReadersPerPath(): number;
  limits?: Partial<RtmpLimits>;
  /** `rtmpAdobeAuth`: every connect without credentials is asked Adobe's challenge (adobe-auth.ts). */
  adobeAuth?: { maxPendingChallenges?: number };
}

export class RtmpServer {
  readonly counters: RtmpCounters = newRtmpCounters();
  private limits: RtmpLimits;
  private readonly tcp: net.Server | undefined;
  private readonly tlsServer: tls.Server | undefined;
  private readonly connections = new Set<RtmpConnection>();
  private nextId = 1;
  private readonly adobeChallenges: AdobeChallenges | undefined;

  constructor(private readonly options: RtmpServerOptions) {
    this.limits = { ...DEFAULT_RTMP_LIMITS, ...options.limits };
    if (options.adobeAuth !== undefined)
      this.adobeChallenges = new AdobeChallenges(
        options.clock,
        options.adobeAuth.maxPendingChallenges ?? DEFAULT_MAX_PENDING_CHALLENGES,
      );
    if (options.port !== undefined) this.tcp = net.createServer((socket) => this.accept(socket));
    if (options.tls !== undefined) {
      this.tlsServer = tls.createServer({ cert: options.tls.cert, key: options.tls.key }, (socket) =>
        this.accept(socket),
      );
      this.tlsServer.on('tlsClientError', (err) => {
        options.logger.debug({ err: err.message }, 'rtmps: tls handshake failed');
      });
    }
  }

  /** New limits for connections accepted from now on (and the reader bounds of new connections). */
  updateLimits(limits: Partial<RtmpLimits>): void {
    this.limits = { ...this.limits, ...limits };
  }

  async listen(): Promise<void> {
    const { host } = this.options;
    if (this.tcp !== undefined) await listenOn(this.tcp, this.options.port ?? 0, host);
    if (this.tlsServer !== undefined) await listenOn(this.tlsServer, this.options.tls!.port, host);
    this.options.logger.info({ port: this.port, rtmpsPort: this.rtmpsPort }, 'rtmp: listening');
  }

  /** The plain RTMP port once listening (undefined without one). */
  get port(): number | undefined {
    return boundPort(this.tcp);
  }

  /** The RTMPS port once listening (undefined without TLS). */
  get rtmpsPort(): number | undefined {
    return boundPort(this.tlsServer);
  }

  /** Connections open now, by what they do. */
  get connectionCounts(): { publishers: number; players: number; total: number } {
    let publishers = 0;
    let players = 0;
    for (const c of this.connections) {
      if (c.role === 'publisher') publishers++;
      else if (c.role === 'player') players++;
    }
    return { publishers, players, total: this.connections.size };
  }

  /** Every open connection: what it does, on which path. */
  connectionSnapshots(): RtmpConnectionSnapshot[] {
    return [...this.connections].map((c) => c.snapshot());
  }

  async close(): Promise<void> {
    for (const c of [...this.connections]) c.close('server closing');
    await Promise.all(
      [this.tcp, this.tlsServer].map((s) =>
        s === undefined || !s.listening
          ? Promise.resolve()
          : new Promise<void>((resolve) => s.close(() => resolve())),
      ),
    );
  }

  private accept(socket: net.Socket): void {
    const ip = normalizeAddress(socket.remoteAddress ?? '');
    if (this.connections.size >= this.limits.maxConnections) {
      this.counters.refusedConnections++;
      this.options.logger.info(
        { ip, maxConnections: this.limits.maxConnections },
        'rtmp: connection refused: too many',
      );
      socket.destroy();
      return;
    }
    this.counters.connections++;
    const limits = this.limits;
    const connection: RtmpConnection = new RtmpConnection(socket, {
      id: `rtmp-${this.nextId++}`,
      ip,
      clock: this.options.clock,
      logger: this.options.logger,
      paths: this.options.paths,
      authorizer: () => this.options.authorizer(),
      limits: () => limits,
      maxReadersPerPath: () => this.options.maxReadersPerPath(),
      counters: this.counters,
      adobeChallenges: this.adobeChallenges,
      onClosed: () => this.connections.delete(connection),
    });
    this.connections.add(connection);
  }
}
