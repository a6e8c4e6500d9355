/**
 * The engine as the edges see it (the HTTP API, /metrics, HLS): a read-only view that hands out plain
 * snapshots of paths, sessions and counters, plus the few operations the API performs, named. The
 * edges never hold a ServerSession, a ServerConnection or a LivePath, so the engine may change how it
 * keeps them (as mediamtx's servers export APIPathsList / APISessionsList). `RtspServer.view` gives one.
 *
 * Snapshots are taken when asked (one pass, nothing per packet) and are not updated afterwards.
 */
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { MediaFaultStage } from '../media/media-faults.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { Stream, StreamTap } from '../media/stream.js';
import { normalizeAddress } from '../transport/udp.js';
import { ServerConnection } from './connection.js';
import type { CloseReason } from './connection-timeouts.js';
import type { RtspServer } from './server.js';
import type { ServerSession } from './session.js';
import type { SessionRefusalReason } from './session-limits.js';

export interface PathTrackSnapshot {
  /** The rtpmap encoding name (`H264`, `MPEG4-GENERIC`...). */
  encodingName: string;
  clockRate: number;
}

export interface PathSnapshot {
  name: string;
  /** `publisher`: an RTSP client ANNOUNCEd it; `file`: a source inside the server feeds it. */
  source: 'publisher' | 'file';
  /** The session (or, for a source, `source:<name>`) holding the path. */
  publisherSessionId: string;
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
  insertedParameterSetPackets: number;
  /** Cumulative loss in the receiver reports of the path's readers, summed. */
  readerPacketsLost: number;
  /** Loss measured on the packets of the path's publisher session. */
  publisherPacketsLost: number;
  /** Wall-clock ms (Unix) at which the path was claimed. */
  sinceWallMs: number;
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
  sessionRefusals: Readonly<Record<SessionRefusalReason, number>>;
  readerBacklogBytes: number;
  backlogCapDroppedPackets: number;
  readersCutOff: number;
  mediaFaults: Readonly<Record<MediaFaultStage, number>>;
  connectionCloses: Readonly<Record<CloseReason, number>>;
  replyBacklogHolds: number;
  tunnelPostsRefused: number;
  logLinesSuppressed: number;
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
  /**
   * Calls `listener` when a live path gets a new stream (RECORD, a source added), before its first
   * packet: a reader that must not miss the start (the recorder) attaches then. Returns the unsubscribe.
   */
  onPathReady(listener: (name: string) => void): () => void;
}

/** What the edges may do to the engine. */
export interface EngineControl {
  /** Ends a session (RTCP BYE, its TCP connection closed); false when there is none. */
  endSession(id: string, reason: string): boolean;
  /** Serves `name` from a source inside the server; the Stream to write to, or false when taken. */
  addSourcePath(name: string, media: PublishedMedia): Stream | false;
  /** Removes a source-fed path; with `stream`, only while that stream feeds it. */
  removeSourcePath(name: string, reason: string, stream?: Stream): void;
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

function sessionSnapshot(server: RtspServer, s: ServerSession): SessionSnapshot {
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

function lostBySessionPath(server: RtspServer, mode: 'play' | 'record', path?: string): Map<string, number> {
  const lost = new Map<string, number>();
  for (const s of server.sessions.values()) {
    if (s.mode !== mode || (path !== undefined && s.path !== path)) continue;
    let n = 0;
    for (const t of s.trackStats) n += t.packetsLost;
    lost.set(s.path, (lost.get(s.path) ?? 0) + n);
  }
  return lost;
}

function pathSnapshots(server: RtspServer, only?: string): PathSnapshot[] {
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
      source: p.publisherSessionId === `source:${p.name}` ? 'file' : 'publisher',
      publisherSessionId: p.publisherSessionId,
      tracks: p.media.tracks.map((t) => ({ encodingName: t.encodingName, clockRate: t.clockRate })),
      ready: stream !== undefined,
      streamId: stream !== undefined ? streamIdOf(stream) : undefined,
      readers: stream?.readerCount ?? 0,
      bytesIn,
      packetsIn,
      droppedPackets: stream?.droppedPackets ?? 0,
      readersCutOff: stream?.readersCutOff ?? 0,
      insertedParameterSetPackets: stream?.insertedParameterSetPackets ?? 0,
      readerPacketsLost: readerLost.get(p.name) ?? 0,
      publisherPacketsLost: publisherLost.get(p.name) ?? 0,
      sinceWallMs: wallMs - (monotonicMs - p.sinceMs),
    };
  });
}

const views = new WeakMap<RtspServer, EngineAccess>();

/** The view (and control) of `server`, made once per server. */
export function engineViewOf(server: RtspServer): EngineAccess {
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
    counters: () => ({
      connections: server.connectionCount,
      connectionsRefused: server.connectionsRefused,
      sessionRefusals: { ...server.sessionLimits.refusals },
      readerBacklogBytes: server.readerBacklog.totalBytes,
      backlogCapDroppedPackets: server.readerBacklog.capDroppedPackets,
      readersCutOff: server.readerBacklog.readersCutOff,
      mediaFaults: { ...server.mediaFaults.counts },
      connectionCloses: { ...server.connectionCloses },
      replyBacklogHolds: server.connectionEvents.replyBacklogHold,
      tunnelPostsRefused: server.connectionEvents.tunnelPostRefused,
      logLinesSuppressed: server.logLinesSuppressed,
    }),
    onSessionEnded: (listener) => {
      const handler = (s: ServerSession): void => listener(sessionSnapshot(server, s));
      server.on('sessionEnded', handler);
      return () => {
        server.off('sessionEnded', handler);
      };
    },
    onPathReady: (listener) => {
      server.on('pathReady', listener);
      return () => {
        server.off('pathReady', listener);
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
    addSourcePath: (name, media) => server.addSourcePath(name, media),
    removeSourcePath: (name, reason, stream) => {
      if (stream === undefined || server.paths.get(name)?.stream === stream)
        server.removeSourcePath(name, reason);
    },
    feeds: (name, stream) => server.paths.get(name)?.stream === stream,
    recordMediaFault: (stage, path, err) => {
      server.mediaFaults.record(stage, path, err);
    },
  };
  views.set(server, view);
  return view;
}
