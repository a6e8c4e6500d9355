/**
 * The engine as the edges see it (the HTTP API, /metrics, HLS): a read-only view that hands out plain
 * snapshots of paths, sessions and counters, plus the few operations the API performs, named. The
 * edges never hold a ServerSession, a ServerConnection or a Path, so the engine may change how it
 * keeps them (as mediamtx's servers export APIPathsList / APISessionsList). `RtspServer.view` gives one.
 *
 * Snapshots are taken when asked (one pass, nothing per packet) and are not updated afterwards.
 */
import type { FanoutCounters, ReaderHandoff } from './reader-handoff.js';
import type { ReaderMoveEvent, ReaderMoves } from './reader-moves.js';
import type { ServerRequestEvent } from './server-requests.js';
import type { ProxiedReaderCounters } from './reader-upstream.js';
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { MediaFaults, MediaFaultStage } from '../media/media-faults.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { Stream, StreamTap } from '../media/stream.js';
import {
  sourceKindOf,
  type PathNotReadyListener,
  type PathOwner,
  type PathSourceStats,
  type PathReadyListener,
} from '../paths/path.js';
import { normalizeAddress, type UdpPair } from '../transport/udp.js';
import type { ConnectionRefusalReason } from './connection-limits.js';
import { ServerConnection, type ConnectionEvent } from './connection.js';
import type { CloseReason } from './connection-timeouts.js';
import type { ServerSession } from './session.js';
import type { SessionLimits, SessionRefusalReason } from './session-limits.js';
import type { PathManager } from '../paths/path-manager.js';
import type { PathManagerCounters } from '../paths/path.js';
import type { ReaderBacklogBudget } from '../media/reader-backlog.js';
import type { RecordingIndexCache, RecordingIndexCounters } from '../sources/recording-index-cache.js';

export interface PathTrackSnapshot {
  /** The rtpmap encoding name (`H264`, `MPEG4-GENERIC`...). */
  encodingName: string;
  clockRate: number;
}

export interface PathSnapshot {
  name: string;
  /** `publisher`: an RTSP client ANNOUNCEd it; `pull`: another RTSP server; `file`: a source inside the server. */
  source: 'publisher' | 'file' | 'pull';
  /** Who holds the path (plain data: the publisher's session, or the file and where it was added). */
  owner: PathOwner;
  /** The publisher's session; null for a source. */
  publisherSessionId: string | null;
  tracks: PathTrackSnapshot[];
  /** The path has a stream (false between ANNOUNCE and RECORD). */
  ready: boolean;
  /** Identifies the path's current stream (a new one when re-published); undefined before RECORD. */
  streamId: number | undefined;
  readers: number;
  bytesIn: number;
  packetsIn: number;
  /** Packets not sent to readers that fell behind. */
  droppedPackets: number;
  readersCutOff: number;
  /** Sessions that PLAYed in a join storm and started at the next keyframe, without a GOP burst. */
  stormStarts: number;
  insertedParameterSetPackets: number;
  /** Cumulative loss in the receiver reports of the path's readers, summed. */
  readerPacketsLost: number;
  /** Loss measured on the packets of the path's publisher session. */
  publisherPacketsLost: number;
  /** Wall-clock ms (Unix) at which the path was claimed. */
  sinceWallMs: number;
  /** The source's figures about its own input (a pull's upstream: sources/pull-stats.ts); null when none. */
  sourceStats: PathSourceStats | null;
}

export interface SessionSnapshot {
  id: string;
  path: string;
  mode: 'play' | 'record';
  state: string;
  transport: 'tcp' | 'udp';
  /** The client's address (its RTSP connection, or the UDP destination), normalized; null when unknown. */
  remoteAddress: string | null;
  bytesSent: number;
  packetsSent: number;
  /** Sums over the session's tracks (for a reader, packetsReceived mirrors what was sent). */
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
  /** The largest interarrival jitter of its tracks, seconds. */
  jitterS: number;
  /** Milliseconds since the last request, RTCP report or packet. */
  idleMs: number;
  /** Wall-clock ms (Unix) when the session was made. */
  createdAtWallMs: number;
}

export interface EngineCounters {
  /** Open TCP connections (RTSP, RTSPS, tunnel halves, WebSockets). */
  connections: number;
  connectionsRefused: number;
  /** The same, by the cap that refused them. */
  connectionRefusals: Readonly<Record<ConnectionRefusalReason, number>>;
  sessionRefusals: Readonly<Record<SessionRefusalReason, number>>;
  readerBacklogBytes: number;
  /** Bytes in the send queues of the server's UDP sockets that carry readers' RTP (each pair once). */
  udpQueuedBytes: number;
  backlogCapDroppedPackets: number;
  readersCutOff: number;
  mediaFaults: Readonly<Record<MediaFaultStage, number>>;
  connectionCloses: Readonly<Record<CloseReason, number>>;
  replyBacklogHolds: number;
  tunnelPostsRefused: number;
  logLinesSuppressed: number;
  /** Requests the server sent its clients (server-requests.ts), by what became of them. */
  serverRequests: Readonly<Record<ServerRequestEvent, number>>;
  /** Readers sent REDIRECT or ANNOUNCE (reader-moves.ts), and whether they followed. */
  readerMoves: Readonly<Record<ReaderMoveEvent, number>>;
  /** The path manager's counted refusals and stops (on-demand sources, media changes). */
  paths: PathManagerCounters;
  /** Upstream sessions of per-reader paths (proxy-control.ts). */
  proxiedReaders: ProxiedReaderCounters;
  /** The fan-out workers (`fanoutWorkers`); absent without them. */
  fanout?: FanoutCounters;
  /** The playbacks' shared index cache of recordings; absent when none are served (plain JSON). */
  playbackIndexes?: RecordingIndexCounters;
}

/** What a reader outside the engine (the HLS muxer) needs to attach to a live path. */
export interface PathFeed {
  media: PublishedMedia;
  /** Joining and leaving the path's stream; undefined until the publisher RECORDs. */
  stream: StreamTap | undefined;
}

/** What the edges may read of the engine. */
export interface EngineView {
  readonly clock: Clock;
  readonly logger: Logger;
  /** The RTSP port the server listens on. */
  readonly rtspPort: number;
  /** Live paths, in the order they were claimed. */
  paths(): PathSnapshot[];
  path(name: string): PathSnapshot | undefined;
  /** Sessions, in the order they were made. */
  sessions(): SessionSnapshot[];
  session(id: string): SessionSnapshot | undefined;
  counters(): EngineCounters;
  /** Calls `listener` with each session's final snapshot when it ends; returns the unsubscribe. */
  onSessionEnded(listener: (session: SessionSnapshot) => void): () => void;
  /** The live path's media and stream, to attach a reader (HLS); undefined for no live path. */
  feed(name: string): PathFeed | undefined;
  /** `listener` runs when a path gets a stream (a recorder, hooks); returns the unsubscribe. */
  onPathReady(listener: PathReadyListener): () => void;
  /** `listener` runs when a ready path's stream has ended and its name is free; returns the unsubscribe. */
  onPathNotReady(listener: PathNotReadyListener): () => void;
}

export type AddFilePathResult = { ok: true } | { ok: false; reason: 'taken' | 'unreadable'; message: string };

/** What the edges may do to the engine. */
export interface EngineControl {
  /** Ends a session (RTCP BYE, its TCP connection closed); false when there is none. */
  endSession(id: string, reason: string): boolean;
  /** RTSP REDIRECT to the readers of the paths `select` gives a location for (RtspServer.redirectReaders). */
  redirectReaders(select: (pathName: string) => string | undefined, reason: string): number;
  /** Serves `name` from a source inside the server; the Stream to write to, or false when taken. */
  addSourcePath(name: string, media: PublishedMedia): Stream | false;
  /** Removes a source-fed path (never a publisher's); with `stream`, only while that stream feeds it. */
  removeSourcePath(name: string, reason: string, stream?: Stream): void;
  /** Serves `name` from an MP4 played in a loop, added through the API (owner `file-loop`, origin `api`). */
  addFilePath(name: string, file: string, loop: boolean): Promise<AddFilePathResult>;
  /** Removes every path added through the API (the API closing); resolves once their files are closed. */
  removeApiFilePaths(reason: string): Promise<void>;
  /** Whether `stream` is the one feeding the live path `name` now. */
  feeds(name: string, stream: Stream): boolean;
  /** Counts (and logs) an exception caught in media code outside the engine (stage `hls`). */
  recordMediaFault(stage: MediaFaultStage, path: string, err: unknown): void;
}

export type EngineAccess = EngineView & EngineControl;

/** Something that hands out its view (RtspServer). */
export interface HasEngineView {
  readonly view: EngineAccess;
}

const streamIds = new WeakMap<Stream, number>();
let nextStreamId = 1;

function streamIdOf(stream: Stream): number {
  let id = streamIds.get(stream);
  if (id === undefined) {
    id = nextStreamId++;
    streamIds.set(stream, id);
  }
  return id;
}

function remoteAddressOf(s: ServerSession): string | null {
  if (s.sink instanceof ServerConnection && s.sink.remoteAddress !== '')
    return normalizeAddress(s.sink.remoteAddress);
  for (const setup of s.setups) if (setup?.kind === 'udp') return normalizeAddress(setup.clientAddress);
  return null;
}

/**
 * What the view reads of the server (RtspServer has these members): named here so the view does not
 * import the server, which hands out the view (no import cycle, even of types).
 */
export interface ViewedServer {
  readonly paths: PathManager;
  readonly readerHandoff: ReaderHandoff | undefined;
  readonly proxiedReaderCounters: ProxiedReaderCounters;
  readonly sessions: ReadonlyMap<string, ServerSession>;
  readonly sessionLimits: SessionLimits;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly mediaFaults: MediaFaults;
  readonly readerBacklog: ReaderBacklogBudget;
  readonly port: number;
  readonly connectionCount: number;
  readonly connectionsRefused: number;
  readonly connectionRefusals: Readonly<Record<ConnectionRefusalReason, number>>;
  readonly connectionCloses: Record<CloseReason, number>;
  readonly connectionEvents: Record<ConnectionEvent, number>;
  readonly logLinesSuppressed: number;
  addSourcePath(name: string, media: PublishedMedia): Stream | false;
  endSession(session: ServerSession, reason: string, sendBye?: boolean): void;
  redirectReaders(select: (pathName: string) => string | undefined, reason: string): number;
  readonly readerMoves: ReaderMoves;
  readonly recordingIndexCache: RecordingIndexCache | undefined;
  on(event: 'sessionEnded', listener: (session: ServerSession, reason: string) => void): unknown;
  off(event: 'sessionEnded', listener: (session: ServerSession, reason: string) => void): unknown;
}

/** The send queues of the UDP pairs the sessions use, each pair counted once (the shared pair is everyone's). */
function udpQueuedBytes(sessions: Iterable<ServerSession>): number {
  const pairs = new Set<UdpPair>();
  for (const s of sessions) for (const t of s.setups) if (t?.kind === 'udp') pairs.add(t.pair);
  let bytes = 0;
  for (const p of pairs) bytes += p.sendQueueBytes;
  return bytes;
}

function sessionSnapshot(server: ViewedServer, s: ServerSession): SessionSnapshot {
  let bytesReceived = 0;
  let packetsReceived = 0;
  let packetsLost = 0;
  let jitterS = 0;
  for (const t of s.trackStats) {
    bytesReceived += t.bytesReceived;
    packetsReceived += t.packetsReceived;
    packetsLost += t.packetsLost;
    jitterS = Math.max(jitterS, t.jitterS);
  }
  return {
    id: s.id,
    path: s.path,
    mode: s.mode,
    state: s.state,
    transport: s.transport,
    remoteAddress: remoteAddressOf(s),
    bytesSent: s.bytesSent,
    packetsSent: s.packetsSent,
    bytesReceived,
    packetsReceived,
    packetsLost,
    jitterS,
    idleMs: Math.max(0, Math.round(server.clock.monotonicMs() - s.lastActivityMs)),
    createdAtWallMs: s.createdAtWallMs,
  };
}

function lostBySessionPath(
  server: ViewedServer,
  mode: 'play' | 'record',
  path?: string,
): Map<string, number> {
  const lost = new Map<string, number>();
  for (const s of server.sessions.values()) {
    if (s.mode !== mode || (path !== undefined && s.path !== path)) continue;
    let n = 0;
    for (const t of s.trackStats) n += t.packetsLost;
    lost.set(s.path, (lost.get(s.path) ?? 0) + n);
  }
  return lost;
}

function pathSnapshots(server: ViewedServer, only?: string): PathSnapshot[] {
  const live =
    only !== undefined ? [server.paths.get(only)].filter((p) => p !== undefined) : server.paths.list();
  if (live.length === 0) return [];
  const readerLost = lostBySessionPath(server, 'play', only);
  const publisherLost = lostBySessionPath(server, 'record', only);
  const wallMs = server.clock.wallMs();
  const monotonicMs = server.clock.monotonicMs();
  return live.map((p) => {
    const stream = p.stream;
    let bytesIn = 0;
    let packetsIn = 0;
    for (const c of stream?.counters ?? []) {
      bytesIn += c.bytesIn;
      packetsIn += c.packetsIn;
    }
    return {
      name: p.name,
      source: sourceKindOf(p.owner),
      owner: { ...p.owner },
      publisherSessionId: p.owner.kind === 'publisher' ? p.owner.sessionId : null,
      tracks: p.media.tracks.map((t) => ({ encodingName: t.encodingName, clockRate: t.clockRate })),
      ready: stream !== undefined,
      streamId: stream !== undefined ? streamIdOf(stream) : undefined,
      readers:
        (stream?.readerCount ?? 0) +
        (stream !== undefined ? (server.readerHandoff?.movedReaders?.(stream) ?? 0) : 0),
      bytesIn,
      packetsIn,
      droppedPackets: stream?.droppedPackets ?? 0,
      readersCutOff: stream?.readersCutOff ?? 0,
      stormStarts: stream?.stormStarts ?? 0,
      insertedParameterSetPackets: stream?.insertedParameterSetPackets ?? 0,
      readerPacketsLost: readerLost.get(p.name) ?? 0,
      publisherPacketsLost: publisherLost.get(p.name) ?? 0,
      sinceWallMs: wallMs - (monotonicMs - p.sinceMs),
      sourceStats: p.source?.stats?.() ?? null,
    };
  });
}

const views = new WeakMap<ViewedServer, EngineAccess>();

/** The view (and control) of `server`, made once per server. */
function copyIndexCounters(c: Readonly<RecordingIndexCounters> | undefined): {
  playbackIndexes?: RecordingIndexCounters;
} {
  if (c === undefined) return {};
  return { playbackIndexes: { ...c, made: { ...c.made }, hits: { ...c.hits }, bytes: { ...c.bytes } } };
}

export function engineViewOf(server: ViewedServer): EngineAccess {
  let view = views.get(server);
  if (view !== undefined) return view;
  view = {
    clock: server.clock,
    logger: server.logger,
    get rtspPort() {
      return server.port;
    },
    paths: () => pathSnapshots(server),
    path: (name) => pathSnapshots(server, name)[0],
    sessions: () => [...server.sessions.values()].map((s) => sessionSnapshot(server, s)),
    session: (id) => {
      const s = server.sessions.get(id);
      return s !== undefined ? sessionSnapshot(server, s) : undefined;
    },
    counters: () => {
      const fanout = server.readerHandoff?.counters?.();
      return {
        connections: server.connectionCount,
        connectionsRefused: server.connectionsRefused,
        connectionRefusals: { ...server.connectionRefusals },
        sessionRefusals: { ...server.sessionLimits.refusals },
        readerBacklogBytes: server.readerBacklog.totalBytes + sumOfWorkers(fanout, 'backlogBytes'),
        udpQueuedBytes: udpQueuedBytes(server.sessions.values()),
        backlogCapDroppedPackets: server.readerBacklog.capDroppedPackets,
        readersCutOff: server.readerBacklog.readersCutOff + sumOfWorkers(fanout, 'readersCutOff'),
        mediaFaults: { ...server.mediaFaults.counts },
        connectionCloses: { ...server.connectionCloses },
        replyBacklogHolds: server.connectionEvents.replyBacklogHold,
        tunnelPostsRefused: server.connectionEvents.tunnelPostRefused,
        logLinesSuppressed: server.logLinesSuppressed,
        serverRequests: { ...server.readerMoves.requests.counters },
        readerMoves: { ...server.readerMoves.counters },
        paths: { ...server.paths.counters },
        proxiedReaders: { ...server.proxiedReaderCounters },
        ...copyIndexCounters(server.recordingIndexCache?.counters),
        ...(fanout !== undefined ? { fanout } : {}),
      };
    },
    onSessionEnded: (listener) => {
      const handler = (s: ServerSession): void => listener(sessionSnapshot(server, s));
      server.on('sessionEnded', handler);
      return () => {
        server.off('sessionEnded', handler);
      };
    },
    feed: (name) => {
      const p = server.paths.get(name);
      return p !== undefined ? { media: p.media, stream: p.stream } : undefined;
    },
    endSession: (id, reason) => {
      const s = server.sessions.get(id);
      if (s === undefined) return false;
      server.endSession(s, reason, true);
      return true;
    },
    redirectReaders: (select, reason) => server.redirectReaders(select, reason),
    onPathReady: (listener) => server.paths.onPathReady(listener),
    onPathNotReady: (listener) => server.paths.onPathNotReady(listener),
    addSourcePath: (name, media) => server.addSourcePath(name, media),
    removeSourcePath: (name, reason, stream) => {
      void server.paths.removeSource(name, reason, (p) => stream === undefined || p.stream === stream);
    },
    addFilePath: async (name, file, loop) => {
      const added = await server.paths.addFileLoop(name, { file, loop }, 'api');
      return added.ok ? { ok: true } : added;
    },
    removeApiFilePaths: (reason) => server.paths.removeFileLoops('api', reason),
    feeds: (name, stream) => server.paths.get(name)?.stream === stream,
    recordMediaFault: (stage, path, err) => {
      server.mediaFaults.record(stage, path, err);
    },
  };
  views.set(server, view);
  return view;
}

/** A figure summed over the fan-out workers (0 without them). */
function sumOfWorkers(fanout: FanoutCounters | undefined, key: 'backlogBytes' | 'readersCutOff'): number {
  return fanout?.workers.reduce((n, w) => n + w[key], 0) ?? 0;
}
