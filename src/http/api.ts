/**
 * The HTTP side of rtspkit (node:http, JSON): the control API, `/metrics` and the web page.
 *
 *   GET    /                   the web page (live paths, refreshed every 2 s)
 *   GET    /play/NAME          the player page of one path (HTML; 404 page for a path not live)
 *   GET    /metrics            Prometheus text format
 *   GET    /v1/cluster/nodes, /v1/cluster/paths, POST /v1/cluster/drain   (http/cluster.ts)
 *   GET    /v1/recordings[/<path>], DELETE /v1/recordings/<path>?start=&end=   (http/recordings.ts)
 *   GET    /hls/NAME/index.m3u8, init.mp4, seg<N>.m4s   the path as HLS (see hls.ts)
 *   GET    /hls.js             hls.js (the browser player the page uses), from its npm package
 *   GET    /v1/paths           live paths: source, codecs, readers, bitrate, since, RTSP and HLS URLs
 *   POST   /v1/paths           {"name": "cam1", "source": "/srv/clip.mp4", "loop": true} → 201
 *   GET    /v1/paths/NAME      one path (NAME may contain `/`)
 *   DELETE /v1/paths/NAME      removes a file-fed path → 204 (409 for a publisher's path or one the
 *                              config file defines: see ApiServerOptions.configOwner)
 *   DELETE /v1/paths/NAME?location=rtsp://...   sends the path's readers RTSP REDIRECT to that location
 *                              (any path), then removes it when the plain DELETE could → 200
 *                              {"redirected": N, "removed": bool}
 *   GET    /v1/sessions        sessions: path, mode, state, transport, remote, bytes, loss
 *   GET    /v1/sessions/ID     one session
 *   DELETE /v1/sessions/ID     kicks a session (RTCP BYE, its TCP connection closed) → 204
 *   GET    /v1/recordings/NAME/get?start=...&duration=...&format=mp4|fmp4   one file of the path's
 *                              recordings, with byte ranges (recording-export.ts; `playback` right on NAME)
 *
 * Errors are JSON `{"error": "..."}` with the matching status (400, 401, 403, 404, 405, 409, 413,
 * 415, 422, 500), except on /play/, where they are HTML pages (a person reads them).
 *
 * Protection. `authorize(req, access)` is called for every request when given (app.ts plugs the RTSP
 * server's Authorizer in here: `/hls/<path>/...` and `/play/<path>` need the `read` right on that path,
 * `/v1/recordings/<path>/get` the `playback` right on it, everything else but /hls.js the `api` right).
 * Its refusal is sent as it is, so the API challenges
 * exactly as RTSP does (src/server/auth.ts): 401 with Digest SHA-256 and MD5 (RFC 7616, one nonce,
 * the configured realm) and Basic only when enabled, or 403 for a right password without the right;
 * the player page's refusals are HTML pages, the rest JSON. HTTP is Digest's home
 * (RFC 7616 §3.3): curl `--digest` and browsers answer it, and the answer is checked by the same code
 * as an RTSP one, its `uri` being the request-target (§3.4). Without
 * it the API is open, which is why it listens on 127.0.0.1 by default; and while it listens on a
 * loopback address without `authorize`, a request whose Host is not a loopback name is refused
 * (403): otherwise any web site could reach it through DNS rebinding. Cross-site requests from a
 * browser cannot mutate anything either: POST needs `Content-Type: application/json` and DELETE is
 * not a "simple" method, so both need a CORS preflight, which is never granted.
 *
 * Limits: request bodies up to `maxBodyBytes` (413 beyond), headers and body within 10 s.
 */
import http from 'node:http';
import type net from 'node:net';
import { ConnectionLedger } from '../server/connection-limits.js';
import { RefusalLog } from '../server/refusal-log.js';
import { resolve as resolvePath } from 'node:path';
import type { Logger } from '../base/logger.js';
import type { AuthDenial } from '../server/auth.js';
import type { EngineAccess, HasEngineView } from '../server/view.js';
import { HttpError } from './http-error.js';
import {
  allow,
  decodeSegments,
  hostnameOf,
  isLoopbackBind,
  isLoopbackHost,
  readAddPathBody,
  redirectLocation,
} from './api-requests.js';
import { accessFor, recordingExportPath, type ApiAccess } from './access.js';

export type { ApiAccess } from './access.js';
import { hasHlsTrack, hlsPlaylistUrl, HlsServer, type HlsServerOptions } from './hls.js';
import type { HookFigures } from './hook-metrics.js';
import { Metrics } from './metrics.js';
import type { RtmpMetricsSource } from './rtmp-metrics.js';
import { sendRecordingExport, type RecordingExportOptions } from './recording-export.js';
import { recordingsReply } from './recordings.js';
import { clusterReply, registerClusterMetrics, type ClusterApi } from './cluster.js';
import type { RecorderManager } from '../recorder/manager.js';
import { ServerSampler } from './stats.js';
import { listPaths, listSessions, pathView, sessionView } from './views.js';
import { errorPage, loadHlsJs, sendHtml, WebPages } from './web-pages.js';

export { ERROR_PAGE_CSP } from './web-pages.js';

export const DEFAULT_API_PORT = 9997;

export interface ApiServerOptions {
  /** The engine (an RtspServer), read and driven only through its view (src/server/view.ts). */
  server: HasEngineView;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 9997; 0 picks a free port. */
  port?: number;
  /**
   * Decides whether a request may proceed (credentials, the `api` right): undefined lets it through,
   * otherwise the refusal to send (its status and WWW-Authenticate challenges). Open when absent.
   */
  authorize?: (req: http.IncomingMessage, target: ApiAccess) => Promise<AuthDenial | undefined>;
  /**
   * Where the config defines the live path `name` (`paths.NAME`, `demo`), or undefined when the config
   * does not feed it (app.ts). Such a path is refused DELETE with 409 rather than removed: a reload
   * applies only what changed in the file, so a path deleted here would stay gone until a restart
   * brought it back, the running server silently differing from its file; and making a reload restore
   * it would undo the DELETE at whatever moment the file is next saved, for an unrelated change. One
   * owner per path instead: the config's paths change through the file, the API's through the API.
   */
  configOwner?: (name: string) => string | undefined;
  /** Failed authentications so far, for rtspkit_auth_failures_total (absent: not exported). */
  authFailures?: () => number;
  /** Largest request body accepted, bytes. Default 65536. */
  maxBodyBytes?: number;
  /** prom-client's process metrics on /metrics. Default true. */
  processMetrics?: boolean;
  /** Exports of recordings (`/v1/recordings/NAME/get`); absent: 404, nothing is recorded. */
  recordingExport?: RecordingExportOptions;
  /** HLS muxers: idle timeout, first-segment wait, segment lengths and window. */
  hls?: Omit<HlsServerOptions, 'engine' | 'logger'>;
  logger?: Logger;
  /** Connections in all; more are refused at once. Default 256. */
  maxConnections?: number;
  /** Fraction (0..1) of maxConnections one address may hold; 0: no share. Default 0.5. */
  maxConnectionsPerIpShare?: number;
  /** A connection with no traffic for this long (keep-alive, or never a request) is closed. Default 5000. */
  idleTimeoutMs?: number;
  /** A request's headers, and then the whole request, must arrive within this time (408). Default 10000. */
  requestTimeoutMs?: number;
  /** Bytes of a request's header section (431 beyond). Default 16384. */
  maxHeaderBytes?: number;
  /** The recorders and their catalog: /v1/recordings and the rtspkit_record_* metrics (absent: none). */
  recordings?: RecorderManager;
  /** The RTMP server's figures for /metrics (absent: no RTMP). */
  rtmp?: () => RtmpMetricsSource;
  /** The commands the server runs: the rtspkit_hooks_* metrics (absent: none). */
  hooks?: () => HookFigures;
  /** This node of a cluster: /v1/cluster/* and the rtspkit_cluster_* metrics (absent: 404, none). */
  cluster?: ClusterApi;
}

export class ApiServer {
  readonly sampler: ServerSampler;
  readonly metrics: Metrics;
  readonly hls: HlsServer;
  private readonly engine: EngineAccess;
  private readonly http: http.Server;
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly maxBodyBytes: number;
  private readonly logger: Logger;
  private readonly authorize:
    ((req: http.IncomingMessage, target: ApiAccess) => Promise<AuthDenial | undefined>) | undefined;
  private readonly configOwner: ((name: string) => string | undefined) | undefined;
  private readonly recordingExport: RecordingExportOptions | undefined;
  private readonly recordings: RecorderManager | undefined;
  private readonly cluster: ClusterApi | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly pages = new WebPages();
  private hlsJs: Buffer | undefined;

  constructor(options: ApiServerOptions) {
    this.engine = options.server.view;
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = options.port ?? DEFAULT_API_PORT;
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
    this.logger = options.logger ?? this.engine.logger;
    this.refusals = new RefusalLog(this.logger, this.engine.clock);
    this.authorize = options.authorize;
    this.configOwner = options.configOwner;
    this.recordingExport = options.recordingExport;
    this.recordings = options.recordings;
    this.cluster = options.cluster;
    this.sampler = new ServerSampler(this.engine);
    this.hls = new HlsServer({ ...options.hls, engine: this.engine, logger: this.logger });
    this.metrics = new Metrics(this.engine, this.sampler, {
      hlsMuxers: () => this.hls.muxerCount,
      apiConnectionsRefused: () => this.connectionsRefused,
      ...(options.recordings !== undefined ? { recordings: options.recordings } : {}),
      ...(options.rtmp !== undefined ? { rtmp: options.rtmp } : {}),
      ...(options.hooks !== undefined ? { hooks: options.hooks } : {}),
      ...(options.authFailures !== undefined ? { authFailures: options.authFailures } : {}),
      ...(options.processMetrics !== undefined ? { processMetrics: options.processMetrics } : {}),
    });
    if (options.cluster !== undefined) registerClusterMetrics(this.metrics.registry, options.cluster);
    const idleTimeoutMs = options.idleTimeoutMs ?? 5000;
    const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    // Node checks the header and request timeouts every connectionsCheckingInterval (30 s by default,
    // which let 256 silent connections hold every place for ~20 s); the socket inactivity timeout
    // (`timeout`) closes a connection that sends nothing, also before its first request, and one that
    // stops reading a response.
    this.http = http.createServer(
      {
        requestTimeout: requestTimeoutMs,
        headersTimeout: requestTimeoutMs,
        keepAliveTimeout: idleTimeoutMs,
        connectionsCheckingInterval: 1000,
        maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024,
      },
      (req, res) => {
        this.handle(req, res).catch((err: unknown) => {
          // The path only: a query may hold a token (an authorize hook's credentials).
          const path = (req.url ?? '').split('?')[0];
          this.logger.warn({ err: (err as Error).message, path }, 'api request failed');
          if (!res.headersSent) this.sendJson(res, 500, { error: 'internal error' });
          else res.destroy();
        });
      },
    );
    this.http.timeout = idleTimeoutMs;
    const limits = {
      maxConnections: options.maxConnections ?? 256,
      maxConnectionsPerIp: 0,
      maxConnectionsPerIpShare: options.maxConnectionsPerIpShare ?? 0.5,
    };
    this.connectionLedger = new ConnectionLedger(() => limits);
    // Our own cap rather than http.Server.maxConnections, for the per-address share: the newcomer is
    // refused, connections already served are never cut for it.
    this.http.on('connection', (socket: net.Socket) => {
      const address = socket.remoteAddress ?? '';
      const refusal = this.connectionLedger.admit(address);
      if (refusal === undefined) {
        socket.once('close', () => this.connectionLedger.release(address));
        return;
      }
      this.refusals.write(
        this.logger,
        'warn',
        { remote: address, reason: refusal },
        'api connection refused',
      );
      socket.destroy();
    });
  }

  private readonly connectionLedger: ConnectionLedger;
  private readonly refusals: RefusalLog;

  /** HTTP connections refused by the caps since start. */
  get connectionsRefused(): number {
    return this.connectionLedger.refused;
  }

  /** Open HTTP connections. */
  get connectionCount(): number {
    return this.connectionLedger.total;
  }

  async listen(): Promise<{ port: number }> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.http.once('error', onError);
      this.http.listen(this.requestedPort, this.host, () => {
        this.http.off('error', onError);
        resolve();
      });
    });
    this.sampler.sample();
    this.timer = setInterval(() => {
      this.refusals.flush();
      this.sampler.sample();
      this.hls.reap();
    }, 1000);
    this.timer.unref();
    this.logger.info({ address: this.host, port: this.port }, 'http api listening');
    return { port: this.port };
  }

  get port(): number {
    const a = this.http.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** Stops listening, drops open HTTP connections and removes the paths added through the API. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.sampler.dispose();
    this.hls.close();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await closed;
    await this.engine.removeApiFilePaths('api closing');
  }

  // ---- requests ----

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      if (err.status === 413) res.setHeader('Connection', 'close');
      // A player page is opened by a person: its refusals are pages too (a 401's body shows when the
      // login prompt is cancelled). The API's stay JSON, for programs.
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (pathname.startsWith('/play/'))
        sendHtml(res, err.status, errorPage(err.status, err.message), err.headers);
      else this.sendJson(res, err.status, { error: err.message }, err.headers);
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (this.authorize === undefined && isLoopbackBind(this.host)) {
      const hostname = hostnameOf(req.headers.host);
      if (hostname === undefined || !isLoopbackHost(hostname))
        throw new HttpError(403, 'this API answers on a loopback address only; use localhost or 127.0.0.1');
    }
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    let pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (pathname.length > 1 && pathname.endsWith('/')) pathname = pathname.slice(0, -1);
    const access = accessFor(pathname);
    const exportPath = recordingExportPath(pathname);
    const denial =
      this.authorize !== undefined && access !== undefined ? await this.authorize(req, access) : undefined;
    if (denial !== undefined) {
      // One WWW-Authenticate line per challenge (RFC 7235 §4.1), in the Authorizer's order.
      const challenges = denial.headers
        .filter(([k]) => k.toLowerCase() === 'www-authenticate')
        .map(([, v]) => v);
      throw new HttpError(
        denial.statusCode,
        denial.statusCode === 401 ? 'authentication required' : 'forbidden',
        challenges.length > 0 ? { 'WWW-Authenticate': challenges } : {},
      );
    }

    if (pathname === '/' || pathname === '/index.html') {
      allow(method, ['GET']);
      sendHtml(res, 200, this.pages.indexPage());
      return;
    }
    if (pathname.startsWith('/play/')) {
      allow(method, ['GET']);
      this.sendPlayerPage(
        res,
        pathname.slice('/play/'.length),
        new URL(req.url ?? '/', 'http://localhost').pathname,
      );
      return;
    }
    if (pathname.startsWith('/hls/')) {
      allow(method, ['GET']);
      const reply = await this.hls.handle(pathname.slice('/hls/'.length));
      res.writeHead(reply.status, {
        ...reply.headers,
        'Content-Length': String(reply.body.length),
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(reply.body);
      return;
    }
    if (pathname === '/hls.js') {
      allow(method, ['GET']);
      this.hlsJs ??= loadHlsJs();
      if (this.hlsJs === undefined) throw new HttpError(404, 'hls.js is not installed');
      res.writeHead(200, {
        'Content-Type': 'text/javascript; charset=utf-8',
        'Content-Length': String(this.hlsJs.length),
        'Cache-Control': 'public, max-age=3600',
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(this.hlsJs);
      return;
    }
    if (pathname === '/metrics') {
      allow(method, ['GET']);
      const body = await this.metrics.render();
      res.writeHead(200, { 'Content-Type': this.metrics.contentType, 'Cache-Control': 'no-store' });
      res.end(body);
      return;
    }
    if (pathname === '/v1/paths') {
      allow(method, ['GET', 'POST']);
      if (method === 'GET')
        this.sendJson(res, 200, {
          items: listPaths(this.engine.paths(), this.sampler, this.rtspBase(req), this.hls),
        });
      else await this.addPath(req, res);
      return;
    }
    if (pathname.startsWith('/v1/paths/')) {
      allow(method, ['GET', 'DELETE']);
      const name = decodeSegments(pathname.slice('/v1/paths/'.length));
      const live = this.engine.path(name);
      if (live === undefined) throw new HttpError(404, `no path ${name}`);
      if (method === 'GET') {
        this.sendJson(res, 200, pathView(this.sampler, live, this.rtspBase(req), this.hls));
        return;
      }
      const location = redirectLocation(new URL(req.url ?? '/', 'http://localhost').searchParams);
      if (location !== undefined) {
        // Readers first (RTSP REDIRECT, server/reader-moves.ts); the path then goes if the API may remove it.
        const redirected = this.engine.redirectReaders((p) => (p === name ? location : undefined), 'api');
        const removable = live.source === 'file' && this.configOwner?.(name) === undefined;
        if (removable) this.engine.removeSourcePath(name, 'removed through the api');
        this.logger.info(
          { path: name, redirected, removed: removable },
          'path readers redirected through the api',
        );
        this.sendJson(res, 200, { redirected, removed: removable });
        return;
      }
      if (live.source !== 'file')
        throw new HttpError(
          409,
          `path ${name} is fed by an RTSP publisher (session ${live.publisherSessionId ?? ''}); kick that session instead`,
        );
      const owner = this.configOwner?.(name);
      if (owner !== undefined)
        throw new HttpError(
          409,
          `path ${name} is defined in the config file (${owner}); remove it there, and the reload removes it`,
        );
      this.engine.removeSourcePath(name, 'removed through the api');
      this.logger.info({ path: name }, 'path removed through the api');
      res.writeHead(204).end();
      return;
    }
    if (exportPath !== undefined) {
      allow(method, ['GET']);
      if (this.recordingExport === undefined) throw new HttpError(404, 'nothing is recorded on this server');
      const url = new URL(req.url ?? '/', 'http://localhost');
      await sendRecordingExport(
        req,
        res,
        decodeSegments(exportPath),
        url.searchParams,
        this.recordingExport,
        this.logger,
      );
      return;
    }
    if (pathname === '/v1/sessions') {
      allow(method, ['GET']);
      this.sendJson(res, 200, { items: listSessions(this.engine.sessions()) });
      return;
    }
    if (pathname.startsWith('/v1/sessions/')) {
      allow(method, ['GET', 'DELETE']);
      const id = decodeSegments(pathname.slice('/v1/sessions/'.length));
      const session = this.engine.session(id);
      if (session === undefined) throw new HttpError(404, `no session ${id}`);
      if (method === 'GET') {
        this.sendJson(res, 200, sessionView(session));
        return;
      }
      this.engine.endSession(id, 'kicked through the api');
      this.logger.info({ session: id, path: session.path }, 'session kicked through the api');
      res.writeHead(204).end();
      return;
    }
    if (pathname === '/v1/recordings' && this.recordings === undefined) {
      // A server without recorders has no recordings: an empty list (the web page asks for it), not a 404.
      allow(method, ['GET']);
      this.sendJson(res, 200, { items: [] });
      return;
    }
    if (
      this.recordings !== undefined &&
      (pathname === '/v1/recordings' || pathname.startsWith('/v1/recordings/'))
    ) {
      const rest = decodeSegments(pathname.slice('/v1/recordings/'.length));
      const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
      const reply = await recordingsReply(this.recordings, method, rest, query);
      this.sendJson(res, reply.status, reply.body ?? {});
      return;
    }
    if (this.cluster !== undefined && pathname.startsWith('/v1/cluster/')) {
      const reply = await clusterReply(this.cluster, method, pathname.slice('/v1/cluster/'.length));
      this.sendJson(res, reply.status, reply.body);
      return;
    }
    throw new HttpError(404, 'not found');
  }

  private async addPath(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { name, source, loop } = await readAddPathBody(req, this.maxBodyBytes);
    const file = resolvePath(source);
    const result = await this.engine.addFilePath(name, file, loop);
    if (!result.ok) throw new HttpError(result.reason === 'taken' ? 409 : 422, result.message);
    this.logger.info({ path: name, file }, 'file source added through the api');
    const live = this.engine.path(name)!;
    const location = `/v1/paths/${name.split('/').map(encodeURIComponent).join('/')}`;
    this.sendJson(res, 201, pathView(this.sampler, live, this.rtspBase(req), this.hls), {
      Location: location,
    });
  }

  /** rtsp://HOST:PORT as the HTTP client reaches this machine, for the URLs the page shows. */
  private rtspBase(req: http.IncomingMessage): string | undefined {
    const hostname = hostnameOf(req.headers.host);
    if (hostname === undefined) return undefined;
    return `rtsp://${hostname}:${this.engine.rtspPort}`;
  }

  /**
   * The player page of the path `rest` names (still percent-encoded), or a 404 page saying why there is
   * none. `requestPath` is the URL path as the browser has it (a trailing slash kept): the page's
   * relative links climb back to the root from there.
   */
  private sendPlayerPage(res: http.ServerResponse, rest: string, requestPath: string): void {
    let name: string;
    try {
      name = rest.split('/').map(decodeURIComponent).join('/');
    } catch (err) {
      if (!(err instanceof URIError)) throw err;
      throw new HttpError(404, 'not a valid path name (malformed percent-encoding in the URL)');
    }
    const live = this.engine.path(name);
    if (live === undefined) throw new HttpError(404, `no live path ${name}: nothing is published there now`);
    // Judged from the SDP, known from ANNOUNCE on: a path not recording yet gets its page, which waits.
    if (!hasHlsTrack(live.tracks.map((t) => t.encodingName)))
      throw new HttpError(404, `path ${name} has no track a browser can play (H.264, H.265, AAC, Opus)`);
    const root = '../'.repeat(requestPath.split('/').length - 2);
    sendHtml(res, 200, this.pages.playerPage({ name, playlist: root + hlsPlaylistUrl(name).slice(1), root }));
  }

  private sendJson(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string | string[]> = {},
  ): void {
    const bytes = Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      ...headers,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(bytes.length),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(bytes);
  }
}
