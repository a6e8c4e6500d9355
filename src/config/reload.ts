/**
 * What a config reload changes, worked out without touching anything: every option is in exactly
 * one class (a test checks it), so a new option has to say how it reloads.
 *
 * - limits: updated in place on the server (RtspServer.updateLimits);
 * - auth: a new Authorizer for new requests; sessions already made ride on their id and keep going;
 * - file sources (`paths`, `demo`): new ones start, removed ones stop (their readers get RTCP BYE),
 *   changed ones restart; other paths are left alone;
 * - logLevel: changed at once;
 * - recording (`pathDefaults`, `recordPaths`): each recorder takes its path's new options; one whose
 *   options changed closes its segment and starts a new one, one no longer wanted stops;
 * - hooks (runOnConnect, runOnDisconnect, hooksUseShell, hooksMaxProcesses): read by src/hooks at
 *   each event, as are the path options in `paths` and `pathDefaults`; a command already running
 *   keeps running (it ends with its path, reader or connection);
 * - restart: sockets and things opened once at start (listen addresses, ports, TLS files, multicast,
 *   the media folder, the API), which a running server keeps until it restarts.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ReloadableServerLimits } from '../server/server.js';
import { pathConfigFor } from './path-config.js';
import type { RecordingSettings } from '../recorder/settings.js';
import { ConfigError, isPullSource, PULL_DEFAULTS, type Config, type RecordSettings } from './config.js';
import type { PathEntry } from './path-schema.js';

export type ReloadClass = 'limits' | 'auth' | 'fileSources' | 'logLevel' | 'recording' | 'hooks' | 'restart';

export const RELOAD_CLASS: Record<keyof Config, ReloadClass> = {
  logLevel: 'logLevel',
  logFormat: 'restart',
  rtspAddress: 'restart',
  rtspsAddress: 'restart',
  tlsCert: 'restart',
  tlsKey: 'restart',
  rtpPort: 'restart',
  rtpPortRange: 'restart',
  udpBatchSend: 'restart',
  rtspHttpAddress: 'restart',
  multicastRange: 'restart',
  multicastRtpPort: 'restart',
  multicastTtl: 'restart',
  sessionTimeout: 'limits',
  sessionTimeoutGrace: 'limits',
  udpReadTimeout: 'limits',
  fanoutWorkers: 'restart',
  writeCoalesceMs: 'limits',
  gopCacheMaxBytes: 'limits',
  joinBurstBytesPerSecond: 'limits',
  maxReaderBacklogBytes: 'limits',
  maxTotalReaderBacklogBytes: 'limits',
  readerStallTimeout: 'limits',
  maxConnections: 'limits',
  listenBacklog: 'restart',
  maxConnectionsPerIp: 'limits',
  maxConnectionsPerIpShare: 'limits',
  maxReplyBacklogBytes: 'limits',
  maxPendingRequests: 'limits',
  serverRequestTimeout: 'limits',
  maxServerRequestsPending: 'limits',
  tunnelPairingTimeout: 'limits',
  tlsHandshakeTimeout: 'limits',
  maxSessions: 'limits',
  maxReadersPerPath: 'limits',
  maxSessionsPerIpShare: 'limits',
  sessionStartTimeout: 'limits',
  maxAnnouncedSdpBytes: 'limits',
  maxQueuedPlayRanges: 'limits',
  maxReplaySpeed: 'limits',
  playbackIndexCacheBytes: 'limits',
  maxRequestHeaderBytes: 'limits',
  maxRequestBodyBytes: 'limits',
  requestTimeout: 'limits',
  idleTimeout: 'limits',
  rtmpAddress: 'restart',
  rtmpsAddress: 'restart',
  rtmpMaxConnections: 'restart',
  rtmpMaxChunkStreams: 'restart',
  rtmpMaxMessageBytes: 'restart',
  rtmpMaxReassemblyBytes: 'restart',
  rtmpHandshakeTimeout: 'restart',
  rtmpIdleTimeout: 'restart',
  rtmpAdobeAuth: 'restart',
  rtmpMaxAdobeChallenges: 'restart',
  paths: 'fileSources',
  demo: 'fileSources',
  auth: 'auth',
  mediaDir: 'restart',
  api: 'restart',
  apiAddress: 'restart',
  apiMaxConnections: 'restart',
  apiIdleTimeout: 'restart',
  apiRequestTimeout: 'restart',
  apiMaxHeaderBytes: 'restart',
  hlsIdleTimeout: 'restart',
  recordExportMaxDuration: 'restart',
  pullMaxOnDemand: 'restart',
  pullReconnectMaxDelay: 'fileSources',
  pathDefaults: 'recording',
  recordPaths: 'recording',
  runOnConnect: 'hooks',
  runOnConnectRestart: 'hooks',
  runOnDisconnect: 'hooks',
  hooksUseShell: 'hooks',
  hooksMaxProcesses: 'hooks',
  hooksPidDir: 'restart',
  cluster: 'restart',
};

/** The server's options taken when it starts listening (RELOAD_CLASS `restart`). */
export function serverListenOptionsOf(config: Config): {
  udpRtpPort: number | false;
  listenBacklog: number;
  udpBatchSend: 'auto' | 'off';
} {
  return {
    udpRtpPort: config.rtpPort ?? false,
    listenBacklog: config.listenBacklog,
    udpBatchSend: config.udpBatchSend,
  };
}

/** The server's reloadable options from a config (seconds in the file, as the server takes them). */
export function serverLimitsOf(config: Config): ReloadableServerLimits {
  return {
    sessionTimeoutS: config.sessionTimeout,
    sessionTimeoutGraceS: config.sessionTimeoutGrace,
    udpReadTimeoutS: config.udpReadTimeout,
    writeCoalesceMs: config.writeCoalesceMs,
    gopCacheMaxBytes: config.gopCacheMaxBytes,
    joinBurstBytesPerSecond: config.joinBurstBytesPerSecond,
    maxReaderBacklogBytes: config.maxReaderBacklogBytes,
    maxTotalReaderBacklogBytes: config.maxTotalReaderBacklogBytes,
    readerStallTimeoutMs: config.readerStallTimeout * 1000,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    maxConnectionsPerIpShare: config.maxConnectionsPerIpShare,
    maxReplyBacklogBytes: config.maxReplyBacklogBytes,
    maxPendingRequests: config.maxPendingRequests,
    serverRequestTimeoutMs: config.serverRequestTimeout * 1000,
    maxServerRequestsPending: config.maxServerRequestsPending,
    tunnelPairingTimeoutMs: config.tunnelPairingTimeout * 1000,
    tlsHandshakeTimeoutMs: config.tlsHandshakeTimeout * 1000,
    maxSessions: config.maxSessions,
    maxReadersPerPath: config.maxReadersPerPath,
    maxSessionsPerIpShare: config.maxSessionsPerIpShare,
    sessionStartTimeoutS: config.sessionStartTimeout,
    maxAnnouncedSdpBytes: config.maxAnnouncedSdpBytes,
    maxQueuedPlayRanges: config.maxQueuedPlayRanges,
    maxReplaySpeed: config.maxReplaySpeed,
    playbackIndexCacheBytes: config.playbackIndexCacheBytes,
    maxRequestHeaderBytes: config.maxRequestHeaderBytes,
    maxRequestBodyBytes: config.maxRequestBodyBytes,
    requestTimeoutMs: config.requestTimeout * 1000,
    idleTimeoutMs: config.idleTimeout * 1000,
  };
}

/**
 * The recording options of each path, in the recorder's units: pathDefaults, under the `recordPaths`
 * entry that matches, under the `paths` entry's own (config/path-config.ts, the one lookup).
 */
export function recordSettingsOf(config: Config): (path: string) => RecordingSettings {
  return (path) => {
    const s: RecordSettings = pathConfigFor(config, path)?.settings ?? config.pathDefaults;
    return {
      record: s.record,
      pathTemplate: s.recordPath,
      format: s.recordFormat,
      segmentDurationMs: s.recordSegmentDuration * 1000,
      partDurationMs: s.recordPartDuration * 1000,
      deleteAfterMs: s.recordDeleteAfter * 1000,
      minFreeBytes: s.recordMinFreeBytes,
      maxQueueBytes: s.recordMaxQueueBytes,
    };
  };
}

export interface FileSourceSpec {
  file: string;
  loop: boolean;
}

/** The paths the server feeds from files: `paths` whose source is not a URL, and `demo` at /demo. */
export function fileSourcesOf(config: Config, demoClip: string): Map<string, FileSourceSpec> {
  const out = new Map<string, FileSourceSpec>();
  // A regex entry's file is opened when a reader asks (src/hooks/on-demand.ts), with its captures.
  for (const [name, p] of Object.entries(config.paths))
    if (!name.startsWith('~') && p.source !== undefined && !isPullSource(p.source))
      out.set(name, { file: p.source, loop: p.loop });
  if (config.demo) {
    if (out.has('demo'))
      throw new ConfigError('paths: "demo" is taken by the demo clip (demo: true); rename the path');
    out.set('demo', { file: demoClip, loop: true });
  }
  return out;
}

/** A path pulled from another RTSP server, as the config says it (seconds made ms). */
export interface PullSourceSpec {
  /** Credentials included: never logged or shown (sources/rtsp-pull.ts `displayPullUrl`). */
  url: string;
  transport: 'auto' | 'udp' | 'tcp' | 'multicast' | 'http';
  anyPort: boolean;
  fingerprint: string | null;
  onDemand: boolean;
  /** Each reader gets its own upstream session (a recorded upstream: PLAY, PAUSE, Range, Scale forwarded). */
  perReader: boolean;
  onDemandStartTimeoutMs: number;
  onDemandCloseAfterMs: number;
  range: string | null;
  scale: number | null;
  reconnectMaxDelayMs: number;
}

/**
 * The paths pulled from other servers: `paths` whose source is an rtsp://, rtsps:// or rtsp+http:// URL,
 * by exact name. A `~regex` entry's pull is made when a reader asks (app-pulls.ts, `pullSpecOf` with
 * the name's captures in its URL).
 */
export function pullSourcesOf(config: Config): Map<string, PullSourceSpec> {
  const out = new Map<string, PullSourceSpec>();
  for (const [name, p] of Object.entries(config.paths)) {
    if (name.startsWith('~') || p.source === undefined || !isPullSource(p.source)) continue;
    out.set(name, pullSpecOf(p, p.source, config));
  }
  return out;
}

/** A `paths` entry's pull options, with `url` (its source, captures already in place for a regex). */
export function pullSpecOf(p: PathEntry, url: string, config: Config): PullSourceSpec {
  const d = PULL_DEFAULTS;
  return {
    url,
    transport: p.sourceTransport ?? d.sourceTransport,
    anyPort: p.sourceAnyPortEnable ?? d.sourceAnyPortEnable,
    fingerprint: p.sourceFingerprint ?? null,
    onDemand: p.sourceOnDemand ?? d.sourceOnDemand,
    perReader: p.sourcePerReader ?? d.sourcePerReader,
    onDemandStartTimeoutMs: (p.sourceOnDemandStartTimeout ?? d.sourceOnDemandStartTimeout) * 1000,
    onDemandCloseAfterMs: (p.sourceOnDemandCloseAfter ?? d.sourceOnDemandCloseAfter) * 1000,
    range: p.sourceRange ?? null,
    scale: p.sourceScale ?? null,
    reconnectMaxDelayMs: config.pullReconnectMaxDelay * 1000,
  };
}

export interface ConfigChanges {
  /** Options whose value differs, by name. */
  changed: (keyof Config)[];
  logLevel: boolean;
  auth: boolean;
  limits: boolean;
  recording: boolean;
  fileSources: { added: string[]; removed: string[]; changed: string[] };
  /** Pulled paths, by name, as file sources are. */
  pullSources: { added: string[]; removed: string[]; changed: string[] };
  /** Options that differ but take effect only at restart. */
  needRestart: (keyof Config)[];
}

export function diffConfig(current: Config, next: Config, demoClip: string): ConfigChanges {
  const changed = (Object.keys(RELOAD_CLASS) as (keyof Config)[]).filter(
    (key) => !isDeepStrictEqual(current[key], next[key]),
  );
  const inClass = (c: ReloadClass): boolean => changed.some((key) => RELOAD_CLASS[key] === c);
  const before = fileSourcesOf(current, demoClip);
  const after = fileSourcesOf(next, demoClip);
  return {
    pullSources: namedChanges(pullSourcesOf(current), pullSourcesOf(next)),
    changed,
    logLevel: inClass('logLevel'),
    auth: inClass('auth'),
    limits: inClass('limits'),
    recording: inClass('recording'),
    fileSources: {
      added: [...after.keys()].filter((name) => !before.has(name)),
      removed: [...before.keys()].filter((name) => !after.has(name)),
      changed: [...after.keys()].filter(
        (name) => before.has(name) && !isDeepStrictEqual(before.get(name), after.get(name)),
      ),
    },
    needRestart: changed.filter((key) => RELOAD_CLASS[key] === 'restart'),
  };
}

function namedChanges<T>(
  before: Map<string, T>,
  after: Map<string, T>,
): { added: string[]; removed: string[]; changed: string[] } {
  return {
    added: [...after.keys()].filter((name) => !before.has(name)),
    removed: [...before.keys()].filter((name) => !after.has(name)),
    changed: [...after.keys()].filter(
      (name) => before.has(name) && !isDeepStrictEqual(before.get(name), after.get(name)),
    ),
  };
}

/** The config in force after a reload: the new one, except what waits for a restart. */
export function configInForce(current: Config, next: Config): Config {
  const out = { ...next };
  for (const key of Object.keys(RELOAD_CLASS) as (keyof Config)[])
    if (RELOAD_CLASS[key] === 'restart') (out as Record<string, unknown>)[key] = current[key];
  return out;
}
