/**
 * The server's options: what a caller may pass, their defaults, and which of them a running server
 * takes on reload. Apart from the class so that the parts of the server (front doors, sweeper, VOD
 * control...) can read the settings without importing the server itself.
 */
import type { ReaderHandoff } from './reader-handoff.js';
import type { ReaderUpstreams } from './reader-upstream.js';
import type { RecordingCatalog } from '../recorder/catalog.js';
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { DEFAULT_FRAMER_LIMITS } from '../rtsp/framer.js';
import {
  DEFAULT_MAX_TOTAL_READER_BACKLOG_BYTES,
  DEFAULT_READER_STALL_TIMEOUT_MS,
} from '../media/reader-backlog.js';
import { DEFAULT_MAX_PENDING_REQUESTS } from './connection.js';
import { DEFAULT_JOIN_BURST_BYTES_PER_SECOND } from '../media/stream-joins.js';
import { DEFAULT_MULTICAST, type MulticastOptions } from './multicast.js';
import type { Authorizer } from './auth.js';
import type { PathRules } from './path-rules.js';
import type { OnDemandSources } from '../paths/path.js';
import type { PathPlacement } from '../paths/placement.js';
import { DEFAULT_PLAYBACK_INDEX_CACHE_BYTES } from '../sources/recording-index-cache.js';

/**
 * The listen(2) backlog of the RTSP ports. Node's default (511) overflowed when 1000 readers connected at
 * once (the kernel counted ListenOverflows; the SYNs it dropped came back after 1, 3 and 7 s: an 8 s
 * tail of setup times). Linux clamps it to net.core.somaxconn.
 */
export const DEFAULT_LISTEN_BACKLOG = 2048;

export interface RtspServerOptions {
  host?: string;
  /** TCP port for RTSP; 0 picks a free one. Default 8554. */
  port?: number;
  /** Even UDP port for RTP (RTCP is the next one); 0 picks a free pair; false disables UDP. Default 8000. */
  udpRtpPort?: number | false;
  /**
   * Server ports for UDP unicast from this range, an even/odd pair per track of each session (what a
   * firewall that opens a port range needs); when set, the shared udpRtpPort pair is not bound.
   */
  udpPortRange?: { first: number; last: number };
  /**
   * UDP readers' RTP in one sendmmsg(2) per socket and flush through the optional add-on
   * (transport/udp-batch.ts) when it loads: 'auto' (default); 'off': one dgram send per datagram.
   */
  udpBatchSend?: 'auto' | 'off';
  /**
   * A second TCP port for RTSP over HTTP (the QuickTime tunnel), e.g. 80 or 8080 where firewalls let
   * only web ports through; 0 picks one. The RTSP port detects tunnels by itself too.
   */
  httpTunnelPort?: number;
  /** Session timeout advertised in `Session: id;timeout=N`. Default 60. */
  sessionTimeoutS?: number;
  /** Extra seconds granted beyond the advertised timeout (clients that refresh exactly on time). Default 5. */
  sessionTimeoutGraceS?: number;
  /** A UDP publisher whose packets stop for this long is ended (ffmpeg sends no keepalive then). Default 10. */
  udpReadTimeoutS?: number;
  /** How long PLAY may wait for the first packet of each track before answering. Default 3000. */
  playStartWaitMs?: number;
  /** UDP multicast delivery (group range, first port, ttl); false turns it off. Default on, 239.255.0.0/16. */
  multicast?: Partial<MulticastOptions> | false;
  /** How long a reader whose stream ended may take to answer RTCP BYE with TEARDOWN. Default 5000. */
  endedReaderGraceMs?: number;
  /** Interval of our RTCP sender reports. Default 5000. */
  senderReportIntervalMs?: number;
  writeCoalesceMs?: number;
  gopCacheMaxBytes?: number;
  /**
   * GOP bursts a path sends to joining sessions, bytes per second; a session PLAYing past it starts at the
   * next keyframe (media/stream-joins.ts). 0: always. Default 8 MiB.
   */
  joinBurstBytesPerSecond?: number;
  maxReaderBacklogBytes?: number;
  /**
   * Every TCP reader's backlog together: past it the readers asking for more shed, and a shedding
   * reader whose backlog does not halve within readerStallTimeoutMs is cut off (media/reader-backlog.ts).
   * Defaults 256 MiB and 20000; both apply at once to every path.
   */
  maxTotalReaderBacklogBytes?: number;
  readerStallTimeoutMs?: number;
  logger?: Logger;
  clock?: Clock;
  /** Where paths live among several servers (src/cluster); default: everything here. */
  placement?: PathPlacement;
  serverName?: string;
  /** Connections in all, and from one address (0: no limit). Defaults 4096 and 0. */
  maxConnections?: number;
  /** listen(2) backlog of the RTSP ports (Linux clamps it to net.core.somaxconn). Default 2048. */
  listenBacklog?: number;
  maxConnectionsPerIp?: number;
  /**
   * Fraction (0..1) of maxConnections one address may hold; 0: no share (readers behind one NAT).
   * Default 0.5.
   */
  maxConnectionsPerIpShare?: number;
  /**
   * Reply bytes queued to a connection that does not read them beyond which its requests are no
   * longer read; still over after requestTimeoutMs, it is closed. Default 1 MiB.
   */
  maxReplyBacklogBytes?: number;
  /** Requests read on one connection and not answered yet beyond which no more are read. Default 32. */
  maxPendingRequests?: number;
  /**
   * Requests the server sends a client (REDIRECT, ANNOUNCE: server-requests.ts): how long it waits for
   * the answer, and how many may wait on one connection (more are refused, counted). Defaults 5000 and 4.
   */
  serverRequestTimeoutMs?: number;
  maxServerRequestsPending?: number;
  /** An HTTP tunnel's GET side with no POST side (and no session) for this long is closed. Default 10000. */
  tunnelPairingTimeoutMs?: number;
  /** A TLS handshake not completed by then is dropped (counted from the TCP accept). Default 10000. */
  tlsHandshakeTimeoutMs?: number;
  /** Sessions in all (503 beyond), readers of one path (453 beyond, 0: no limit). Defaults 4096 and 0. */
  maxSessions?: number;
  maxReadersPerPath?: number;
  /**
   * Share of maxSessions one IP address may hold (0..1; 0: no per-address cap, for clients behind
   * one NAT). Default 0.5. See session-limits.ts.
   */
  maxSessionsPerIpShare?: number;
  /** A session that has not PLAYed or RECORDed this long after it was made is ended. Default 20. */
  sessionStartTimeoutS?: number;
  /** Bytes of an ANNOUNCE's SDP (413 beyond). Default 64 KiB. */
  maxAnnouncedSdpBytes?: number;
  /** PLAY ranges queued behind the current one for a file on demand (§10.5; 503 beyond). Default 8. */
  maxQueuedPlayRanges?: number;
  /**
   * Speed ceiling of an ONVIF replay with `Rate-Control: no` (an export, otherwise paced by the
   * connection's backlog). Default 64.
   */
  maxReplaySpeed?: number;
  /**
   * Bytes of segment indexes and joined windows kept for playbacks of recordings, shared between them
   * (sources/recording-index-cache.ts; least recently used out first, counted). Default 64 MiB.
   */
  playbackIndexCacheBytes?: number;
  /**
   * Bytes of a request's header section (400 beyond) and body (413 beyond); the connection is then
   * closed. Defaults 64 KiB and 1 MiB (DEFAULT_FRAMER_LIMITS); a change applies to new connections.
   */
  maxRequestHeaderBytes?: number;
  maxRequestBodyBytes?: number;
  /** A request that has started must be complete within this time (slowloris). Default 10000. */
  requestTimeoutMs?: number;
  /** A connection with no session that sends nothing for this long is closed. Default 60000. */
  idleTimeoutMs?: number;
  /** Folder whose MP4 files are served on demand at their relative path. */
  mediaDir?: string;
  /** Recordings played back over RTSP (`?start=`, `Require: onvif-replay`: server/recording-playback.ts). */
  recordings?: RecordingCatalog;
  /** Who may read and publish; absent: everyone may. */
  authorizer?: Authorizer;
  /**
   * Sources started when a reader asks for a path nobody feeds (src/paths/path.ts), and how long
   * DESCRIBE or SETUP waits for one (default 10000). None by default.
   */
  onDemand?: OnDemandSources;
  /** Paths proxied per reader: each reader's SETUP opens its own upstream session (proxy-control.ts). */
  readerUpstreams?: ReaderUpstreams;
  /** Moves live TCP readers' fan-out to worker processes after PLAY (`fanoutWorkers`, src/fanout/). */
  readerHandoff?: ReaderHandoff;
  onDemandStartTimeoutMs?: number;
  /** Each path's reader cap, publisher takeover and fallback (server/path-rules.ts); asked at each request. */
  pathRules?: (path: string) => PathRules | undefined;
  /** On-demand sources starting or running at once (the path manager's bound; default 100). */
  maxOnDemandSources?: number;
  /** RTSPS: RTSP over TLS on its own port (interleaved media only, inside the TLS stream). */
  tls?: { port: number; cert: string | Buffer; key: string | Buffer };
}

/** The options with their defaults filled in; `updateLimits` changes the reloadable ones in place. */
export interface ServerSettings {
  host: string;
  port: number;
  udpRtpPort: number | false;
  udpPortRange: { first: number; last: number } | undefined;
  udpBatchSend: 'auto' | 'off';
  httpTunnelPort: number | undefined;
  sessionTimeoutS: number;
  sessionTimeoutGraceS: number;
  udpReadTimeoutS: number;
  playStartWaitMs: number;
  multicast: MulticastOptions | undefined;
  endedReaderGraceMs: number;
  senderReportIntervalMs: number;
  writeCoalesceMs: number;
  gopCacheMaxBytes: number;
  joinBurstBytesPerSecond: number;
  maxReaderBacklogBytes: number;
  maxTotalReaderBacklogBytes: number;
  readerStallTimeoutMs: number;
  serverName: string;
  maxConnections: number;
  listenBacklog: number;
  maxConnectionsPerIp: number;
  maxConnectionsPerIpShare: number;
  maxReplyBacklogBytes: number;
  maxPendingRequests: number;
  serverRequestTimeoutMs: number;
  maxServerRequestsPending: number;
  tunnelPairingTimeoutMs: number;
  tlsHandshakeTimeoutMs: number;
  maxSessions: number;
  maxReadersPerPath: number;
  maxSessionsPerIpShare: number;
  sessionStartTimeoutS: number;
  maxAnnouncedSdpBytes: number;
  maxQueuedPlayRanges: number;
  maxReplaySpeed: number;
  playbackIndexCacheBytes: number;
  maxRequestHeaderBytes: number;
  maxRequestBodyBytes: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
}

/** The options `updateLimits` can change on a running server. */
export const RELOADABLE_SERVER_LIMITS = [
  'sessionTimeoutS',
  'sessionTimeoutGraceS',
  'udpReadTimeoutS',
  'writeCoalesceMs',
  'gopCacheMaxBytes',
  'joinBurstBytesPerSecond',
  'maxReaderBacklogBytes',
  'maxTotalReaderBacklogBytes',
  'readerStallTimeoutMs',
  'maxConnections',
  'maxConnectionsPerIp',
  'maxConnectionsPerIpShare',
  'maxReplyBacklogBytes',
  'maxPendingRequests',
  'serverRequestTimeoutMs',
  'maxServerRequestsPending',
  'tunnelPairingTimeoutMs',
  'tlsHandshakeTimeoutMs',
  'maxSessions',
  'maxReadersPerPath',
  'maxSessionsPerIpShare',
  'sessionStartTimeoutS',
  'maxAnnouncedSdpBytes',
  'maxQueuedPlayRanges',
  'maxReplaySpeed',
  'playbackIndexCacheBytes',
  'maxRequestHeaderBytes',
  'maxRequestBodyBytes',
  'requestTimeoutMs',
  'idleTimeoutMs',
] as const satisfies readonly (keyof ServerSettings)[];

export type ReloadableServerLimits = Pick<ServerSettings, (typeof RELOADABLE_SERVER_LIMITS)[number]>;

/** Every option with its default. */
export function resolveServerOptions(options: RtspServerOptions): ServerSettings {
  return {
    host: options.host ?? '0.0.0.0',
    port: options.port ?? 8554,
    udpRtpPort: options.udpRtpPort ?? 8000,
    udpPortRange: options.udpPortRange,
    udpBatchSend: options.udpBatchSend ?? 'auto',
    httpTunnelPort: options.httpTunnelPort,
    sessionTimeoutS: options.sessionTimeoutS ?? 60,
    sessionTimeoutGraceS: options.sessionTimeoutGraceS ?? 5,
    udpReadTimeoutS: options.udpReadTimeoutS ?? 10,
    playStartWaitMs: options.playStartWaitMs ?? 3000,
    endedReaderGraceMs: options.endedReaderGraceMs ?? 5000,
    multicast: options.multicast === false ? undefined : { ...DEFAULT_MULTICAST, ...options.multicast },
    senderReportIntervalMs: options.senderReportIntervalMs ?? 5000,
    writeCoalesceMs: options.writeCoalesceMs ?? 0,
    gopCacheMaxBytes: options.gopCacheMaxBytes ?? 8 * 1024 * 1024,
    joinBurstBytesPerSecond: options.joinBurstBytesPerSecond ?? DEFAULT_JOIN_BURST_BYTES_PER_SECOND,
    maxReaderBacklogBytes: options.maxReaderBacklogBytes ?? 4 * 1024 * 1024,
    maxTotalReaderBacklogBytes: options.maxTotalReaderBacklogBytes ?? DEFAULT_MAX_TOTAL_READER_BACKLOG_BYTES,
    readerStallTimeoutMs: options.readerStallTimeoutMs ?? DEFAULT_READER_STALL_TIMEOUT_MS,
    serverName: options.serverName ?? 'rtspkit',
    maxConnections: options.maxConnections ?? 4096,
    listenBacklog: options.listenBacklog ?? DEFAULT_LISTEN_BACKLOG,
    maxConnectionsPerIp: options.maxConnectionsPerIp ?? 0,
    maxConnectionsPerIpShare: options.maxConnectionsPerIpShare ?? 0.5,
    maxReplyBacklogBytes: options.maxReplyBacklogBytes ?? 1024 * 1024,
    maxPendingRequests: options.maxPendingRequests ?? DEFAULT_MAX_PENDING_REQUESTS,
    serverRequestTimeoutMs: options.serverRequestTimeoutMs ?? 5000,
    maxServerRequestsPending: options.maxServerRequestsPending ?? 4,
    tunnelPairingTimeoutMs: options.tunnelPairingTimeoutMs ?? 10_000,
    tlsHandshakeTimeoutMs: options.tlsHandshakeTimeoutMs ?? 10_000,
    maxSessions: options.maxSessions ?? 4096,
    maxReadersPerPath: options.maxReadersPerPath ?? 0,
    maxSessionsPerIpShare: options.maxSessionsPerIpShare ?? 0.5,
    sessionStartTimeoutS: options.sessionStartTimeoutS ?? 20,
    maxAnnouncedSdpBytes: options.maxAnnouncedSdpBytes ?? 64 * 1024,
    maxQueuedPlayRanges: options.maxQueuedPlayRanges ?? 8,
    maxReplaySpeed: options.maxReplaySpeed ?? 64,
    playbackIndexCacheBytes: options.playbackIndexCacheBytes ?? DEFAULT_PLAYBACK_INDEX_CACHE_BYTES,
    maxRequestHeaderBytes: options.maxRequestHeaderBytes ?? DEFAULT_FRAMER_LIMITS.maxHeaderBytes,
    maxRequestBodyBytes: options.maxRequestBodyBytes ?? DEFAULT_FRAMER_LIMITS.maxBodyBytes,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
  };
}
