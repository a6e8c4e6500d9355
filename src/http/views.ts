/** The JSON shapes of the HTTP API, built from the engine's snapshots (src/server/view.ts). */
import type { PathSourceStats } from '../paths/path.js';
import type { PathSnapshot, SessionSnapshot } from '../server/view.js';
import { hasHlsTrack, hlsPlaylistUrl } from './hls.js';
import type { ServerSampler } from './stats.js';

export interface PathView {
  name: string;
  /** `publisher`: an RTSP client ANNOUNCEd it; `file`: the server feeds it from a file; `pull`: from another RTSP server. */
  source: 'publisher' | 'file' | 'pull';
  /**
   * A pull's upstream (null otherwise): its URL without credentials, on demand or not, and its figures
   * (state, reconnects, packets received and lost, jitter, bitrate: sources/pull-stats.ts).
   */
  upstream: ({ url: string; onDemand: boolean } & PathSourceStats) | null;
  /** The publisher's session id (null for a file-fed path). */
  publisherSession: string | null;
  /** false between ANNOUNCE and RECORD. */
  ready: boolean;
  codecs: string[];
  tracks: { codec: string; encodingName: string; clockRate: number }[];
  /** Stream readers: RTSP readers, plus the path's HLS muxer while one runs. */
  readers: number;
  /** Bits per second received over the last few seconds; null until measured. */
  bitrateBps: number | null;
  bytesIn: number;
  packetsIn: number;
  /** Packets not sent to readers that fell behind (they skip to the next keyframe). */
  readerDroppedPackets: number;
  /** Readers disconnected because their backlog did not drain (readerStallTimeout). */
  readersCutOff: number;
  /**
   * Readers that PLAYed in a join storm (past joinBurstBytesPerSecond, or while the join pacer was busy):
   * answered at once, they started at the next keyframe without a GOP burst.
   */
  stormStarts: number;
  /** H.264/H.265 parameter-set packets added before keyframes the publisher sent without them. */
  insertedParameterSetPackets: number;
  /** Loss reported by the path's readers in their RTCP receiver reports, summed. */
  readerPacketsLost: number;
  /** ISO 8601 time at which the path was claimed. */
  since: string;
  /** The URL a player opens, with the host the HTTP client used; null when unknown. */
  rtspUrl: string | null;
  /** The HLS playlist (relative to the API's origin); null without an H.264/H.265/AAC/Opus track. */
  hlsUrl: string | null;
  /** An HLS muxer runs for the path (someone played it as HLS lately). */
  hlsActive: boolean;
}

/** What the views ask of the HLS side. */
export interface HlsState {
  isActive(pathName: string): boolean;
}

export interface SessionView {
  id: string;
  path: string;
  mode: 'play' | 'record';
  state: string;
  transport: 'tcp' | 'udp';
  /** The client's address (its RTSP connection, or the UDP destination); null when unknown. */
  remoteAddress: string | null;
  /** Play: bytes sent to the reader; record: bytes received from the publisher. */
  bytes: number;
  bytesSent: number;
  bytesReceived: number;
  /** UDP only: over TCP interleaved the server counts bytes, not packets. */
  packetsSent: number;
  packetsReceived: number;
  /** Play: cumulative loss from the reader's receiver reports; record: loss we measured. */
  packetsLost: number;
  jitterMs: number;
  /** Milliseconds since the last request, RTCP report or packet. */
  idleMs: number;
  /** When the session was made (ISO 8601). */
  startedAt: string;
}

const CODEC_NAMES: Record<string, string> = {
  H264: 'H264',
  H265: 'H265',
  'MPEG4-GENERIC': 'AAC',
  'MP4A-LATM': 'AAC',
  OPUS: 'Opus',
  JPEG: 'MJPEG',
  PCMU: 'G711u',
  PCMA: 'G711a',
};

export function codecName(encodingName: string): string {
  return CODEC_NAMES[encodingName.toUpperCase()] ?? encodingName;
}

export function pathView(
  sampler: ServerSampler,
  p: PathSnapshot,
  rtspBase: string | undefined,
  hls?: HlsState,
): PathView {
  const tracks = p.tracks.map((t) => ({
    codec: codecName(t.encodingName),
    encodingName: t.encodingName,
    clockRate: t.clockRate,
  }));
  return {
    name: p.name,
    source: p.source,
    upstream:
      p.owner.kind === 'pull'
        ? { url: p.owner.url, onDemand: p.owner.onDemand, ...(p.sourceStats ?? {}) }
        : null,
    publisherSession: p.source === 'publisher' ? p.publisherSessionId : null,
    ready: p.ready,
    codecs: [...new Set(tracks.map((t) => t.codec))],
    tracks,
    readers: p.readers,
    bitrateBps: sampler.bitrateBps(p.name) ?? null,
    bytesIn: p.bytesIn,
    packetsIn: p.packetsIn,
    readerDroppedPackets: p.droppedPackets,
    readersCutOff: p.readersCutOff,
    stormStarts: p.stormStarts,
    insertedParameterSetPackets: p.insertedParameterSetPackets,
    readerPacketsLost: p.readerPacketsLost,
    since: new Date(Math.round(p.sinceWallMs)).toISOString(),
    rtspUrl: rtspBase !== undefined ? `${rtspBase}/${p.name}` : null,
    hlsUrl: hasHlsTrack(p.tracks.map((t) => t.encodingName)) ? hlsPlaylistUrl(p.name) : null,
    hlsActive: hls?.isActive(p.name) ?? false,
  };
}

export function sessionView(s: SessionSnapshot): SessionView {
  return {
    id: s.id,
    path: s.path,
    mode: s.mode,
    state: s.state,
    transport: s.transport,
    remoteAddress: s.remoteAddress,
    bytes: s.mode === 'play' ? s.bytesSent : s.bytesReceived,
    bytesSent: s.bytesSent,
    bytesReceived: s.bytesReceived,
    packetsSent: s.packetsSent,
    // A reader's packetsReceived mirrors packetsSent (see onRtcpFromPeer): not a count of its own.
    packetsReceived: s.mode === 'play' ? 0 : s.packetsReceived,
    packetsLost: s.packetsLost,
    jitterMs: Math.round(s.jitterS * 1e6) / 1e3,
    idleMs: s.idleMs,
    startedAt: new Date(s.createdAtWallMs).toISOString(),
  };
}

export function listPaths(
  paths: PathSnapshot[],
  sampler: ServerSampler,
  rtspBase: string | undefined,
  hls?: HlsState,
): PathView[] {
  return paths
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => pathView(sampler, p, rtspBase, hls));
}

export function listSessions(sessions: SessionSnapshot[]): SessionView[] {
  return sessions
    .sort((a, b) => (a.path === b.path ? (a.id < b.id ? -1 : 1) : a.path < b.path ? -1 : 1))
    .map(sessionView);
}
