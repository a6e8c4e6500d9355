/**
 * The RTSP server (RFC 2326): the wiring of its parts, the request gate (version, Session, rights,
 * Require) and the handlers that decide between the parts (TEARDOWN, the parameters).
 *
 * The parts, each given what it needs from the server as an explicit interface, split along what
 * changes together (after gortsplib's server / conn / session / stream):
 * - front-doors.ts: listeners, admission and connection timeouts (sockets, not sessions);
 * - session-lifecycle.ts: admission, creation and the one way a session ends;
 * - transport-setup.ts: SETUP's transport choice and its ports, channels and groups;
 * - live-control.ts / vod-control.ts: PLAY, PAUSE, RECORD of a live path / a file;
 * - media-in.ts: RTP and RTCP from clients; server-rtcp.ts: BYE and sender reports to readers;
 * - multicast-registry.ts: the groups of live paths; sweeper.ts: the once-a-second round.
 * - descriptions.ts: DESCRIBE and ANNOUNCE; setup-handler.ts: what a SETUP names (session, media, track).
 * The handlers left here are the ones that decide between those parts. The session owns its protocol
 * state (session.ts, the table in session-state.ts): the gate asks it whether a request is valid in
 * that state, the handlers tell it what they did.
 */
import type { ReaderHandoff } from './reader-handoff.js';
import { isParseError } from '../base/errors.js';
import { EventEmitter } from 'node:events';
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { nullLogger } from '../base/logger.js';
import { RtspHeaders } from '../rtsp/headers.js';
import type { RtspRequest } from '../rtsp/message.js';
import { parseSessionHeader } from '../rtsp/session.js';
import { MulticastRegistry } from './multicast-registry.js';
import { SenderReports } from './server-rtcp.js';
import { Stream } from '../media/stream.js';
import { ReaderBacklogBudget, type ReaderBacklogLimits } from '../media/reader-backlog.js';
import { MediaFaults } from '../media/media-faults.js';
import { normalizeAddress } from '../transport/udp.js';
import { ServerConnection, type ConnectionEvent, type Reply } from './connection.js';
import type { CloseReason } from './connection-timeouts.js';
import { FrontDoors } from './front-doors.js';
import type { ConnectionRefusalReason } from './connection-limits.js';
import { SessionLifecycle } from './session-lifecycle.js';
import { Descriptions } from './descriptions.js';
import { SetupHandler } from './setup-handler.js';
import { ReaderMoves } from './reader-moves.js';
import { LiveControl } from './live-control.js';
import { MediaIn } from './media-in.js';
import { getParameter, setParameter } from './parameters.js';
import { TransportSetup } from './transport-setup.js';
import { Sweeper } from './sweeper.js';
import { engineViewOf, type EngineAccess } from './view.js';
import { PathManager } from '../paths/path-manager.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { ServerSession } from './session.js';
import { isSessionMethod, SESSION_METHODS } from './session-state.js';
import { parseRequestTarget, type RequestTarget } from './target.js';
import { VodFiles } from './vod-files.js';
import { VodControl } from './vod-control.js';
import { ProxyControl } from './proxy-control.js';
import type { ProxiedReaderCounters } from './reader-upstream.js';
import type { RecordingIndexCache } from '../sources/recording-index-cache.js';
import { RecordingPlayback, withoutOnvifReplay } from './recording-playback.js';
import { reply, stateRefusalReply } from './replies.js';
import { SessionLimits } from './session-limits.js';
import { controlRefusal, sessionAuthOf } from './session-binding.js';
import type { Authorizer } from './auth.js';
import { fitsSession, readSetupTransport, requiredAction } from './rights.js';
import { localPlacement, startsSession, type PathPlacement } from '../paths/placement.js';
import {
  RELOADABLE_SERVER_LIMITS,
  resolveServerOptions,
  type ReloadableServerLimits,
  type RtspServerOptions,
  type ServerSettings,
} from './server-options.js';
import { RtspStatus } from '../rtsp/status.js';
import type { PathRules } from './path-rules.js';

export { RELOADABLE_SERVER_LIMITS, type ReloadableServerLimits, type RtspServerOptions };

/** The methods this server answers (`Public`, a 405's `Allow`): every method of the session table. */
export const SUPPORTED_METHODS = SESSION_METHODS;

export interface RtspServerEvents {
  /** A session ended (TEARDOWN, timeout, closed connection, publisher gone, kicked). */
  sessionEnded: [session: ServerSession, reason: string];
  /** A live reader's PLAY was accepted (each PLAY, also after PAUSE), with its URL's query. */
  readStarted: [session: ServerSession, query: string];
  /** An RTSP connection was accepted / has closed (src/hooks: runOnConnect, runOnDisconnect). */
  connectionOpened: [conn: ServerConnection];
  connectionClosed: [conn: ServerConnection];
}

export class RtspServer extends EventEmitter<RtspServerEvents> {
  /** Every path and who feeds it: publishers, file loops, embedded feeds (src/paths/path-manager.ts). */
  readonly paths: PathManager;
  readonly sessions = new Map<string, ServerSession>();
  /** Session admission (per-address share) and the counted refusals of session requests. */
  readonly sessionLimits = new SessionLimits();
  /** Multicast groups of live paths; undefined when multicast is off. */
  private readonly multicast: MulticastRegistry | undefined;
  private readonly senderReports: SenderReports;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Exceptions of peer-fed media code, caught, counted and logged (media/media-faults.ts). */
  readonly mediaFaults: MediaFaults;
  /** Who may read and publish; read at each request, so a replacement (config reload) spares sessions. */
  authorizer: Authorizer | undefined;
  /** Where paths live among servers (src/cluster); read at each request, so it can be set after start. */
  placement: PathPlacement;
  /** Live paths: PLAY, PAUSE and RECORD of their sessions, paths fed by sources. */
  private readonly live: LiveControl;
  /** Files on demand: the RTSP side of PLAY and PAUSE of a file. */
  private readonly vod: VodControl;
  /** Readers with their own upstream session (a recorded upstream proxied per reader). */
  private readonly proxy: ProxyControl;
  private readonly opts: ServerSettings;
  private readonly handoff: ReaderHandoff | undefined;
  /** Every path's readers' backlogs together: the cap, the stall bound and their counts. */
  readonly readerBacklog: ReaderBacklogBudget;
  /** Listeners and connections (RTSP, RTSPS, HTTP tunnel, WebSocket), admission and their timeouts. */
  private readonly doors: FrontDoors;
  /** SETUP's transports: which spec is taken, channels, multicast places, UDP ports. */
  private readonly transports: TransportSetup;
  /** RTP and RTCP from clients: publishers' media, readers' reports. */
  private readonly mediaIn: MediaIn;
  private readonly sweeper: Sweeper;
  /** Admission, creation and the end of sessions. */
  private readonly lifecycle: SessionLifecycle;
  /** DESCRIBE and ANNOUNCE. */
  private readonly descriptions: Descriptions;
  /** SETUP: which session, media and track a request names, then its transport. */
  private readonly setupHandler: SetupHandler;
  /** Each path's reader cap, publisher takeover and fallback (server/path-rules.ts). */
  private readonly pathRules: (path: string) => PathRules | undefined;
  /** REDIRECT and ANNOUNCE to readers, and the requests the server sends (server-requests.ts). */
  readonly readerMoves: ReaderMoves;

  /**
   * The recordings' index cache, shared by RTSP playback and the HTTP export (undefined: no recordings
   * served).
   */
  get recordingIndexCache(): RecordingIndexCache | undefined {
    return this.vod.recordingIndexCache;
  }

  constructor(options: RtspServerOptions = {}) {
    super();
    this.authorizer = options.authorizer;
    this.placement = options.placement ?? localPlacement;
    this.logger = options.logger ?? nullLogger;
    this.clock = options.clock ?? systemClock;
    this.mediaFaults = new MediaFaults(this.logger, this.clock);
    this.opts = resolveServerOptions(options);
    this.pathRules = options.pathRules ?? (() => undefined);
    this.vod = new VodControl({
      clock: this.clock,
      logger: this.logger,
      files:
        options.mediaDir !== undefined ? new VodFiles(options.mediaDir, this.logger, this.clock) : undefined,
      settings: this.opts,
      sessionLimits: this.sessionLimits,
      recordings:
        options.recordings !== undefined
          ? new RecordingPlayback(options.recordings, this.logger, this.opts)
          : undefined,
    });
    this.proxy = new ProxyControl({
      logger: this.logger,
      upstreams: options.readerUpstreams,
      readStarted: (session, query) => this.emit('readStarted', session, query),
      endSession: (s, reason) => this.endSession(s, reason, true),
    });
    this.readerBacklog = new ReaderBacklogBudget(this.backlogLimits());
    this.paths = new PathManager({
      clock: this.clock,
      logger: this.logger,
      ...(options.onDemand !== undefined ? { onDemand: options.onDemand } : {}),
      ...(options.onDemandStartTimeoutMs !== undefined
        ? { onDemandStartTimeoutMs: options.onDemandStartTimeoutMs }
        : {}),
      ...(options.maxOnDemandSources !== undefined ? { maxOnDemandSources: options.maxOnDemandSources } : {}),
      // Stream options are read here, at each new stream: a reload reaches paths started afterwards.
      newStream: (media, onEnded) =>
        new Stream(media.tracks, {
          clock: this.clock,
          writeCoalesceMs: this.opts.writeCoalesceMs,
          gopCacheMaxBytes: this.opts.gopCacheMaxBytes,
          joinBurstBytesPerSecond: this.opts.joinBurstBytesPerSecond,
          maxReaderBacklogBytes: this.opts.maxReaderBacklogBytes,
          backlogBudget: this.readerBacklog,
          onEnded,
        }),
    });
    this.senderReports = new SenderReports({ clock: this.clock, paths: this.paths, settings: this.opts });
    this.handoff = options.readerHandoff;
    this.live = new LiveControl({
      clock: this.clock,
      logger: this.logger,
      paths: this.paths,
      multicast: () => this.multicast,
      settings: this.opts,
      readStarted: (session, query) => this.emit('readStarted', session, query),
      readerHandoff: this.handoff,
    });
    this.mediaIn = new MediaIn({
      now: () => this.clock.monotonicMs(),
      paths: this.paths,
      mediaFaults: this.mediaFaults,
    });
    this.transports = new TransportSetup({
      settings: this.opts,
      logger: this.logger,
      multicast: () => this.multicast,
      sessionLimits: this.sessionLimits,
      endSession: (s, reason) => this.endSession(s, reason),
      trackMediaIn: (session, track) => this.mediaIn.forTrack(session, track),
    });
    if (this.opts.multicast !== undefined)
      this.multicast = new MulticastRegistry({
        options: this.opts.multicast,
        clock: this.clock,
        logger: this.logger,
        detachMember: (id, reason) => {
          const s = this.sessions.get(id);
          if (s !== undefined) this.lifecycle.detachEndedReader(s, reason);
        },
      });
    this.lifecycle = new SessionLifecycle({
      clock: this.clock,
      logger: this.logger,
      settings: this.opts,
      sessions: this.sessions,
      sessionLimits: this.sessionLimits,
      paths: this.paths,
      authorizer: () => this.authorizer,
      releaseShared: (session) => {
        if (session.isMulticast) this.multicast?.leave(session);
        if (session.role.kind === 'file-reader') this.vod.stop(session.role);
        if (session.role.kind === 'proxy-reader') this.proxy.stop(session.role);
      },
      unbindChannels: (session) => this.doors.unbindSession(session),
      ended: (session, reason) => this.emit('sessionEnded', session, reason),
      mediaChanged: (session, reason) => this.readerMoves.mediaChanged(session, reason),
    });
    const { clock, logger, sessions, paths, lifecycle } = this;
    this.readerMoves = new ReaderMoves({ clock, logger, sessions, paths, lifecycle, settings: this.opts });
    this.setupHandler = new SetupHandler({
      paths: this.paths,
      vod: this.vod,
      proxy: this.proxy,
      transports: this.transports,
      lifecycle: this.lifecycle,
      sessionLimits: this.sessionLimits,
      sessions: this.sessions,
      settings: this.opts,
      pathRules: this.pathRules,
    });
    this.descriptions = new Descriptions({
      logger: this.logger,
      paths: this.paths,
      vod: this.vod,
      proxy: this.proxy,
      lifecycle: this.lifecycle,
      sessionLimits: this.sessionLimits,
      settings: this.opts,
      placement: () => this.placement,
      endSession: (s, reason) => this.endSession(s, reason),
      pathRules: this.pathRules,
      sessionById: (id) => this.sessions.get(id),
    });
    this.doors = new FrontDoors({
      settings: this.opts,
      tls: options.tls,
      logger: this.logger,
      clock: this.clock,
      // Looked up at each call: the request gate is the server's, whatever replaces it (tests count it).
      handlers: {
        handleRequest: (c, req) => this.handleRequest(c, req),
        response: (c, res) => this.readerMoves.requests.onResponse(c, res),
        connectionClosed: (c) => this.connectionClosed(c),
        connectionOpened: (c) => this.emit('connectionOpened', c),
      },
    });
    this.sweeper = new Sweeper({
      clock: this.clock,
      settings: this.opts,
      sessions: () => this.sessions.values(),
      endSession: (s, reason) => this.endSession(s, reason),
      expireConnections: (now) => this.doors.expire(now),
      senderReports: (now) => this.senderReports.tick(now),
    });
  }

  async listen(): Promise<{ port: number; udpRtpPort: number | undefined }> {
    await this.transports.bindShared();
    await this.doors.listen();
    this.sweeper.start();
    const port = this.port;
    const udp = this.transports.sharedPair;
    const range = this.transports.portRange;
    this.logger.info(
      {
        port,
        rtspsPort: this.rtspsPort,
        httpTunnelPort: this.httpTunnelPort,
        udpRtpPort: udp?.rtpPort,
        udpRtcpPort: udp?.rtcpPort,
        udpPortRange: range !== undefined ? `${range.first}-${range.last}` : undefined,
      },
      'rtsp server listening',
    );
    return { port, udpRtpPort: udp?.rtpPort };
  }

  /** The extra HTTP-tunnel port once listening (undefined when not configured). */
  get httpTunnelPort(): number | undefined {
    return this.doors.httpTunnelPort;
  }

  /** The RTSPS port once listening (undefined without TLS). */
  get rtspsPort(): number | undefined {
    return this.doors.rtspsPort;
  }

  /** Where live TCP readers' fan-out may move (`fanoutWorkers`); undefined: it never does. */
  get readerHandoff(): ReaderHandoff | undefined {
    return this.handoff;
  }

  /** The settings in force (reloads change them in place). */
  get settings(): Readonly<ServerSettings> {
    return this.opts;
  }

  get port(): number {
    return this.doors.port;
  }

  async close(): Promise<void> {
    this.sweeper.stop();
    for (const s of [...this.sessions.values()]) this.endSession(s, 'server closing');
    await this.paths.close('server closing');
    this.doors.destroyConnections();
    await this.vod.closeAll();
    this.transports.close();
    await this.doors.closeListeners();
  }

  // ---- connections ----

  /** The read-only view (and the named operations) the HTTP API, /metrics and HLS use: src/server/view.ts. */
  get view(): EngineAccess {
    return engineViewOf(this);
  }

  /** Open TCP connections (RTSP, RTSPS from the accept, tunnel halves, WebSockets). */
  get connectionCount(): number {
    return this.doors.connectionCount;
  }

  /** Upstream sessions of per-reader paths: opened, refused, failed (proxy-control.ts). */
  get proxiedReaderCounters(): ProxiedReaderCounters {
    return this.proxy.counters;
  }

  /** Connections closed at once by the limits. */
  get connectionsRefused(): number {
    return this.doors.connectionsRefused;
  }

  /** The same, by the cap that refused them. */
  get connectionRefusals(): Readonly<Record<ConnectionRefusalReason, number>> {
    return this.doors.connectionRefusals;
  }

  /** Connections closed by a timeout or for unread replies, by reason; and other counted refusals. */
  get connectionCloses(): Record<CloseReason, number> {
    return this.doors.connectionCloses;
  }

  get connectionEvents(): Record<ConnectionEvent, number> {
    return this.doors.connectionEvents;
  }

  /** Log lines of refusals suppressed by the rate limit. */
  get logLinesSuppressed(): number {
    return this.doors.logLinesSuppressed;
  }

  /** A connection closed (the front doors have forgotten it): what becomes of its sessions. */
  private connectionClosed(conn: ServerConnection): void {
    this.readerMoves.requests.connectionClosed(conn);
    for (const s of conn.sessions) {
      // Interleaved sessions die with their connection; UDP ones may be controlled from another (RFC 2326 §1.1).
      if (s.transport === 'tcp' || s.state === 'init' || s.role.kind === 'publisher')
        this.endSession(s, 'connection closed');
      else s.sink = undefined;
    }
    this.emit('connectionClosed', conn);
  }

  // ---- requests ----

  private async handleRequest(conn: ServerConnection, req: RtspRequest): Promise<Reply> {
    if (!/^RTSP\/1\.0$/i.test(req.version)) return reply(RtspStatus.RtspVersionNotSupported);
    const session = this.sessionFor(req);
    if (session === 'unknown') return reply(RtspStatus.SessionNotFound);
    if (session !== undefined) {
      const pending = controlRefusal(
        session,
        { connection: conn, ip: normalizeAddress(conn.remoteAddress), req },
        this.authorizer !== undefined ? sessionAuthOf(this.authorizer) : undefined,
      );
      const refusal = pending instanceof Promise ? await pending : pending;
      if (refusal === 'foreign') return this.sessionLimits.refuse('foreignSession');
      if (refusal !== undefined) return refusal;
      session.keptAlive(this.clock.monotonicMs());
    }
    // Parsed once: the same value decides the right and drives the SETUP (src/server/rights.ts).
    const transport = req.method === 'SETUP' ? readSetupTransport(req.headers.get('Transport')) : undefined;
    let action =
      this.authorizer !== undefined
        ? requiredAction(req.method, session !== undefined, transport)
        : undefined;
    if (action !== undefined) {
      const t = this.target(req);
      // Reading a recording needs `playback`, not `read` (recording-playback.ts says which requests do).
      if (action === 'read' && t !== undefined && this.vod.isPlayback(t, req)) action = 'playback';
      const denial = await this.authorizer!.check(req, {
        ip: normalizeAddress(conn.remoteAddress),
        action,
        path: t?.path ?? '',
        query: t?.query ?? '',
      });
      if (denial !== undefined)
        return { statusCode: denial.statusCode, headers: new RtspHeaders(denial.headers) };
    }
    if (session !== undefined) {
      if (!fitsSession(session.mode, req.method, transport))
        return reply(RtspStatus.MethodNotValidInThisState);
      // Appendix A: what the session's state accepts. SETUP asks in its handler, once its URL and
      // Transport are read (400 and 461 come first).
      const refusal =
        isSessionMethod(req.method) && req.method !== 'SETUP' ? session.refusal(req.method) : undefined;
      if (refusal !== undefined) return stateRefusalReply(refusal);
    }
    // `Require: onvif-replay` is understood when recordings are served (recording-playback.ts).
    const requireTags = req.headers.getAll('Require');
    const required = (this.vod.playsRecordings ? withoutOnvifReplay(requireTags) : requireTags).concat(
      req.headers.getAll('Proxy-Require'),
    );
    if (required.length > 0) {
      return reply(RtspStatus.OptionNotSupported, { Unsupported: required.join(', ') });
    }
    // A draining node (src/cluster) takes no new session: 503 with Retry-After (RFC 2326 §12.31).
    const retryAfterS =
      session === undefined && startsSession(req.method) ? this.placement.refusesNewSessions() : undefined;
    if (retryAfterS !== undefined)
      return reply(
        RtspStatus.ServiceUnavailable,
        { 'Retry-After': String(retryAfterS) },
        undefined,
        'Service Unavailable: draining',
      );
    switch (req.method) {
      case 'OPTIONS':
        return reply(RtspStatus.Ok, { Public: SUPPORTED_METHODS.join(', ') });
      case 'DESCRIBE':
        return this.descriptions.describe(req);
      case 'ANNOUNCE':
        return this.descriptions.announce(conn, req);
      case 'SETUP':
        return this.setupHandler.handle(conn, req, session, transport!);
      case 'PLAY':
        if (session?.role.kind === 'file-reader') return this.vod.play(req, session, session.role);
        if (session?.role.kind === 'proxy-reader') return this.proxy.play(req, session, session.role);
        return this.live.play(conn, req, session);
      case 'PAUSE':
        if (session?.role.kind === 'file-reader') return this.vod.pause(req, session, session.role);
        if (session?.role.kind === 'proxy-reader') return this.proxy.pause(req, session, session.role);
        return this.live.pause(session);
      case 'RECORD':
        return this.live.record(session);
      case 'TEARDOWN':
        return this.teardown(session);
      case 'GET_PARAMETER':
        return getParameter(req, session);
      case 'SET_PARAMETER':
        return setParameter(req, session);
      case 'REDIRECT':
        // Only a server sends REDIRECT (RFC 2326 §10.10).
        return reply(RtspStatus.MethodNotAllowed, { Allow: SUPPORTED_METHODS.join(', ') });
      default:
        return reply(RtspStatus.NotImplemented, { Public: SUPPORTED_METHODS.join(', ') });
    }
  }

  private sessionFor(req: RtspRequest): ServerSession | undefined | 'unknown' {
    const h = req.headers.get('Session');
    if (h === undefined) return undefined;
    let id: string;
    try {
      id = parseSessionHeader(h).id;
    } catch (e) {
      if (!isParseError(e)) throw e;
      return 'unknown';
    }
    return this.sessions.get(id) ?? 'unknown';
  }

  private target(req: RtspRequest): RequestTarget | undefined {
    return parseRequestTarget(req.uri);
  }

  /**
   * Serves a path fed by the embedding program rather than by an RTSP publisher: returns the Stream it
   * writes to; false when a publisher holds the name. A source's path of that name is replaced (its
   * Stream ended first). Config and API file paths go through `paths` (src/paths/path-manager.ts).
   */
  addSourcePath(name: string, media: PublishedMedia): Stream | false {
    return this.paths.addSource(name, { kind: 'embedded' }, media, { replace: () => true })?.stream ?? false;
  }

  /**
   * REDIRECT (RFC 2326 §10.10) to every reader (ready or playing) of each path for which `select` gives
   * a location; a client that does not follow gets RTCP BYE and its connection closed (reader-moves.ts).
   * Returns how many sessions were redirected.
   */
  redirectReaders(select: (pathName: string) => string | undefined, reason: string): number {
    return this.readerMoves.redirectReaders(select, reason);
  }

  removeSourcePath(name: string, reason = 'source removed'): void {
    void this.paths.removeSource(name, reason);
  }

  /**
   * Changes limits and timeouts while running (config reload). Checks made from now on use them;
   * a session keeps the timeout it was given in its Session header, which its client paces its
   * keepalives by; the stream options apply to paths started afterwards.
   */
  updateLimits(limits: Partial<ReloadableServerLimits>): void {
    for (const key of RELOADABLE_SERVER_LIMITS) {
      const value = limits[key];
      if (value !== undefined) this.opts[key] = value;
    }
    this.readerBacklog.setLimits(this.backlogLimits());
  }

  private backlogLimits(): ReaderBacklogLimits {
    return {
      maxTotalBytes: this.opts.maxTotalReaderBacklogBytes,
      stallTimeoutMs: this.opts.readerStallTimeoutMs,
    };
  }

  private teardown(session: ServerSession | undefined): Reply {
    if (session === undefined) return reply(RtspStatus.SessionNotFound);
    this.endSession(session, 'teardown');
    return reply(RtspStatus.Ok);
  }

  // ---- sessions ----

  /** Ends a session and frees what it held (TEARDOWN, timeouts, the API's kick); `sendBye` tells the client. */
  endSession(session: ServerSession, reason: string, sendBye = false): void {
    this.lifecycle.end(session, reason, sendBye);
  }
}
