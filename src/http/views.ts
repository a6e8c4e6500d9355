/** The JSON shapes of the HTTP API, built from the server's live state. */
import type { RtspServer } from '../server/server.js';
import type { LivePath } from '../server/paths.js';
import type { ServerSession } from '../server/session.js';
import { ServerConnection } from '../server/connection.js';
import { normalizeAddress } from '../transport/udp.js';
import { hasHlsTrack, hlsPlaylistUrl } from './hls.js';
import { streamBytesIn, streamPacketsIn, type ServerSampler } from './stats.js';

export interface PathView {
  name: string;
  /** `publisher`: an RTSP client ANNOUNCEd it; `file`: the server feeds it from a file. */
  source: 'publisher' | 'file';
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

export function isFilePath(p: LivePath): boolean {
  return p.publisherSessionId === `source:${p.name}`;
}

function sessionsOf(server: RtspServer, path: string, mode: 'play' | 'record'): ServerSession[] {
  const out: ServerSession[] = [];
  for (const s of server.sessions.values()) if (s.path === path && s.mode === mode) out.push(s);
  return out;
}

export function readerPacketsLost(server: RtspServer, path: string): number {
  let n = 0;
  for (const s of sessionsOf(server, path, 'play')) for (const t of s.trackStats) n += t.packetsLost;
  return n;
}

export function pathView(
  server: RtspServer,
  sampler: ServerSampler,
  p: LivePath,
  rtspBase: string | undefined,
  hls?: HlsState,
): PathView {
  const stream = p.stream;
  const tracks = p.media.tracks.map((t) => ({
    codec: codecName(t.encodingName),
    encodingName: t.encodingName,
    clockRate: t.clockRate,
  }));
  const sinceWallMs = server.clock.wallMs() - (server.clock.monotonicMs() - p.sinceMs);
  const file = isFilePath(p);
  return {
    name: p.name,
    source: file ? 'file' : 'publisher',
    publisherSession: file ? null : p.publisherSessionId,
    ready: stream !== undefined,
    codecs: [...new Set(tracks.map((t) => t.codec))],
    tracks,
    readers: stream?.readerCount ?? 0,
    bitrateBps: sampler.bitrateBps(p.name) ?? null,
    bytesIn: stream !== undefined ? streamBytesIn(stream) : 0,
    packetsIn: stream !== undefined ? streamPacketsIn(stream) : 0,
    readerDroppedPackets: stream?.droppedPackets ?? 0,
    readersCutOff: stream?.readersCutOff ?? 0,
    insertedParameterSetPackets: stream?.insertedParameterSetPackets ?? 0,
    readerPacketsLost: readerPacketsLost(server, p.name),
    since: new Date(Math.round(sinceWallMs)).toISOString(),
    rtspUrl: rtspBase !== undefined ? `${rtspBase}/${p.name}` : null,
    hlsUrl: hasHlsTrack(p.media.tracks.map((t) => t.encodingName)) ? hlsPlaylistUrl(p.name) : null,
    hlsActive: hls?.isActive(p.name) ?? false,
  };
}

function remoteAddressOf(s: ServerSession): string | null {
  if (s.sink instanceof ServerConnection && s.sink.remoteAddress !== '')
    return normalizeAddress(s.sink.remoteAddress);
  for (const setup of s.setups) if (setup?.kind === 'udp') return normalizeAddress(setup.clientAddress);
  return null;
}

export function sessionView(server: RtspServer, s: ServerSession): SessionView {
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
  // A reader's trackStats.packetsReceived mirrors packetsSent (see onRtcpFromPeer): not a count of its own.
  if (s.mode === 'play') packetsReceived = 0;
  return {
    id: s.id,
    path: s.path,
    mode: s.mode,
    state: s.state,
    transport: s.transport,
    remoteAddress: remoteAddressOf(s),
    bytes: s.mode === 'play' ? s.bytesSent : bytesReceived,
    bytesSent: s.bytesSent,
    bytesReceived,
    packetsSent: s.packetsSent,
    packetsReceived,
    packetsLost,
    jitterMs: Math.round(jitterS * 1e6) / 1e3,
    idleMs: Math.max(0, Math.round(server.clock.monotonicMs() - s.lastActivityMs)),
    startedAt: new Date(s.createdAtWallMs).toISOString(),
  };
}

export function listPaths(
  server: RtspServer,
  sampler: ServerSampler,
  rtspBase: string | undefined,
  hls?: HlsState,
): PathView[] {
  return server.paths
    .list()
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => pathView(server, sampler, p, rtspBase, hls));
}

export function listSessions(server: RtspServer): SessionView[] {
  return [...server.sessions.values()]
    .sort((a, b) => (a.path === b.path ? (a.id < b.id ? -1 : 1) : a.path < b.path ? -1 : 1))
    .map((s) => sessionView(server, s));
}
