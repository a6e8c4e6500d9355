/** Wires configuration, logging and the RTSP server together. */
import { randomBytes } from 'node:crypto';
import { systemClock } from './base/clock.js';
import { splitHostPort, type Config } from './config/config.js';
import {
  configInForce,
  diffConfig,
  fileSourcesOf,
  pullSourcesOf,
  recordSettingsOf,
  serverLimitsOf,
  serverListenOptionsOf,
  type ConfigChanges,
  type FileSourceSpec,
} from './config/reload.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from './log/logger.js';
import type { Mp4LoopSource } from './sources/mp4-loop.js';
import type { Path } from './paths/path.js';
import type { IncomingMessage } from 'node:http';
import type { Authorizer } from './server/auth.js';
import { createAuthorizer } from './app-auth.js';
import { checkMediaDir, fileSourceError } from './app-files.js';
import { NonceCountMemory } from './auth/server.js';
// The parts a default `rtspkit serve` does not use (the cluster and its Redis client, RTMP, the HTTP API
// with prom-client and the recording exporter) are imported when the config asks for them: each module
// loaded stays in the heap for the life of the process (README "Memory": about 6 MB of RSS at start).
import type { AppCluster, DigestState } from './app-cluster.js';
import { normalizeAddress, parsePortRange } from './transport/udp.js';
import { RtspServer, type RtspServerOptions } from './server/server.js';
import type { TlsMaterial } from './config/tls.js';
import { loadTlsFiles } from './config/tls.js';
import type { ApiServer, ApiAccess } from './http/api.js';
import { DiskRecordingCatalog } from './recorder/disk-catalog.js';
import { RecorderManager } from './recorder/manager.js';
import { tmpdir } from 'node:os';
import { hookSettingsOf, pathConfigFor } from './config/path-config.js';
import { Hooks, sourceParty } from './hooks/hooks.js';
import { configOnDemandSources } from './hooks/on-demand.js';
import type { PathRules } from './server/path-rules.js';
import { ConfigPulls } from './app-pulls.js';
import type { RtmpServer } from './rtmp/server.js';
import type { FanoutPool } from './fanout/pool.js';

export interface App {
  server: RtspServer;
  /** The HTTP API, /metrics and the web page, when `api` is on. */
  api: ApiServer | undefined;
  /** The recorders and the catalog of recordings (README "Recording"). */
  recordings: RecorderManager;
  /** The RTMP/RTMPS server (README "RTMP"), unless `rtmpAddress` and `rtmpsAddress` are null. */
  rtmp: RtmpServer | undefined;
  /** The commands the server runs (runOn*, README "Hooks"). */
  hooks: Hooks;
  /** This node of a cluster, when the config has `cluster:` (README "Cluster"). */
  cluster: AppCluster | undefined;
  /** The fan-out workers (`fanoutWorkers`), when there are any. */
  fanout: FanoutPool | undefined;
  /** The config in force (options that wait for a restart keep their value from the start). */
  readonly config: Config;
  /**
   * Reads the config again (AppOptions.loadConfig) and applies what changed; see apply.
   * Never throws: a refused config is logged and reported in the outcome.
   */
  reload(trigger?: string): Promise<ReloadOutcome>;
  /**
   * Applies a new config to the running server, sparing the sessions the change does not concern.
   * All or nothing: the new config is checked (its users' passwords, its files opened) before
   * anything changes, and on any error the old one stays in force.
   */
  apply(next: Config, trigger?: string): Promise<ReloadOutcome>;
  close(): Promise<void>;
}

export type ReloadOutcome = { ok: true; changes: ConfigChanges } | { ok: false; error: string };

/** The package's root folder, from src/ (tsx) or dist/src/ (compiled) alike. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The demo clip shipped in the package (made by scripts/make-demo.sh). */
export const DEMO_CLIP = join(packageRoot(), 'media', 'demo.mp4');

/** The package's version, from its package.json. */
export const VERSION = (
  JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
).version;

export interface AppOptions {
  /** TLS material made elsewhere (`--tls-self-signed`); else tlsCert/tlsKey of the config. */
  tls?: TlsMaterial;
  /** Makes the config again for `reload()` (the file, the environment, the command line); throws ConfigError. */
  loadConfig?: () => Config;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** A path the config defines (`paths`, `demo`), rather than a publisher's or one the API added. */
function isConfigPath(path: Path | undefined): boolean {
  return path?.owner.kind === 'file-loop' && path.owner.origin === 'config';
}

/** Every file template the config names (the folders the catalog is rebuilt from). */
function recordTemplatesOf(config: Config): string[] {
  const overrides = [...Object.values(config.recordPaths), ...Object.values(config.paths)].map(
    (o) => o.recordPath,
  );
  return [config.pathDefaults.recordPath, ...overrides.filter((t) => t !== undefined)];
}

export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = createLogger(config.logLevel, process.stdout, config.logFormat);
  const { host, port } = splitHostPort(config.rtspAddress);
  let tls: RtspServerOptions['tls'];
  const material =
    options.tls ??
    (config.tlsCert !== null && config.tlsKey !== null
      ? loadTlsFiles(config.tlsCert, config.tlsKey)
      : undefined);
  if (material !== undefined) tls = { ...material, port: splitHostPort(config.rtspsAddress).port };
  // One secret for the life of the process: Digest nonces given out before a reload stay valid after it,
  // and so does the memory of the answers already accepted (a replay stays refused across a reload).
  // In a cluster both are the cluster's: a client sent to another node authenticates there with its nonce.
  const clusterParts = config.cluster !== null ? await import('./app-cluster.js') : undefined;
  const clusterStore =
    config.cluster !== null ? await clusterParts?.openClusterStore(config.cluster, logger) : undefined;
  const nonceState: DigestState =
    clusterStore !== undefined && clusterParts !== undefined
      ? await clusterParts.clusterDigestState(clusterStore, logger)
      : { secret: randomBytes(32), nonceCounts: new NonceCountMemory() };
  const authorizer = createAuthorizer(config, logger, nonceState);
  const edgeRelays =
    config.cluster?.readerPolicy === 'edge' && clusterStore !== undefined
      ? clusterParts?.edgeRelaysOf(clusterStore, logger)
      : undefined;
  const fileSourceSpecs = fileSourcesOf(config, DEMO_CLIP);
  if (config.mediaDir !== null) checkMediaDir(config.mediaDir);
  // The catalog is rebuilt from the files before anything is recorded or played back (README
  // "Recording"); the server plays recordings back from it (`?start=`, ONVIF replay).
  const catalog = new DiskRecordingCatalog(logger);
  const catalogued = await catalog.rebuild(recordTemplatesOf(config));
  if (catalogued > 0)
    logger.info({ segments: catalogued, paths: catalog.paths().length }, 'recordings indexed');
  // Read by the hooks, the on-demand sources and the path rules at each use: a reload reaches them.
  let inForce = config;
  const pulls = new ConfigPulls(logger, () => inForce); // the paths pulled from other servers
  const hookSettings = hookSettingsOf(() => inForce);
  const hooks = new Hooks({
    clock: systemClock,
    logger,
    settings: hookSettings,
    rtspPort: () => server.port,
    // Port 0 (tests) has no stable folder: another server's files must never be taken for leftovers.
    pidDir: config.hooksPidDir ?? (port !== 0 ? join(tmpdir(), `rtspkit-hooks-${port}`) : undefined),
  });
  const pathRules = (name: string): PathRules | undefined => {
    const settings = pathConfigFor(inForce, name)?.settings;
    return (
      settings && {
        maxReaders: settings.maxReaders,
        overridePublisher: settings.overridePublisher,
        fallback: settings.fallback,
      }
    );
  };
  // Fan-out workers (src/fanout/): the Streams' settings read from the server as they are when a path opens.
  // Loaded only when asked for, like the cluster and RTMP (idle memory).
  const fanoutParts = config.fanoutWorkers > 0 ? await import('./fanout/pool.js') : undefined;
  const fanout: FanoutPool | undefined =
    fanoutParts === undefined
      ? undefined
      : new fanoutParts.FanoutPool({
          workers: config.fanoutWorkers,
          logger,
          settings: () => fanoutParts.fanoutSettingsOf(server.settings),
        });
  const server: RtspServer = new RtspServer({
    host,
    port,
    pathRules,
    // runOnDemand commands and regex file paths first, then the on-demand pulls, then the cluster's relays.
    onDemand: configOnDemandSources({
      settings: hookSettings,
      hooks,
      openFileLoop: (spec) => server.paths.openFileLoop(spec),
      // Then, on an edge, a path another node owns: pulled from it (src/cluster/edge.ts).
      next:
        edgeRelays === undefined
          ? pulls
          : { sourceFor: (name) => pulls.sourceFor(name) ?? edgeRelays.sourceFor(name) },
    }),
    ...serverListenOptionsOf(config),
    ...(config.rtspHttpAddress !== null
      ? { httpTunnelPort: splitHostPort(config.rtspHttpAddress).port }
      : {}),
    ...(config.rtpPortRange !== null && config.rtpPort !== null
      ? { udpPortRange: parsePortRange(config.rtpPortRange) }
      : {}),
    multicast:
      config.multicastRange === null
        ? false
        : { range: config.multicastRange, rtpPort: config.multicastRtpPort, ttl: config.multicastTtl },
    ...serverLimitsOf(config),
    logger,
    ...(tls !== undefined ? { tls } : {}),
    ...(authorizer !== undefined ? { authorizer } : {}),
    ...(config.mediaDir !== null ? { mediaDir: config.mediaDir } : {}),
    recordings: catalog,
    ...pulls.serverOptions(), // pullMaxOnDemand, and the per-reader upstreams
    ...(fanout !== undefined ? { readerHandoff: fanout } : {}),
  });
  pulls.attach(server.paths, server.clock);
  // The path manager owns the config's paths and their sources: it ends a path's stream and stops its
  // file when the path is removed or replaced, and frees the name of one whose file ended.
  const openFileSource = (spec: FileSourceSpec): Promise<Mp4LoopSource> => server.paths.openFileLoop(spec);
  const recordings = new RecorderManager({
    clock: server.clock,
    logger,
    catalog,
    settingsFor: recordSettingsOf(config),
  });
  // The recorders follow the path manager's events (a new stream before its first packet, and its end),
  // from before the config's paths start.
  recordings.follow(server.view);
  followForHooks(server, recordings, hooks);
  // The config's files are opened before anything listens: one that cannot be played stops the start
  // with a config error, rather than after "listening" was logged.
  const opening = new Map<string, Mp4LoopSource>();
  try {
    for (const [name, spec] of fileSourceSpecs) {
      try {
        opening.set(name, await openFileSource(spec));
      } catch (err) {
        throw fileSourceError(name, spec.file, err, DEMO_CLIP);
      }
    }
    await server.listen();
  } catch (err) {
    await Promise.all([...opening.values()].map((s) => s.stop()));
    await recordings.close();
    await clusterStore?.close();
    await fanout?.close();
    throw err;
  }
  const cluster =
    config.cluster !== null && clusterStore !== undefined
      ? await clusterParts?.joinCluster(
          config.cluster,
          clusterStore,
          server,
          host,
          logger,
          edgeRelays,
          (name) => pathConfigFor(inForce, name)?.settings.overridePublisher === true,
        )
      : undefined;
  /**
   * False when the name is taken (a publisher, a path added through the API). A config path of that
   * name is replaced (a changed entry): its stream ends and its file closes first.
   */
  const startFileSource = (name: string, spec: FileSourceSpec, source: Mp4LoopSource): boolean => {
    const owner = { kind: 'file-loop', file: spec.file, origin: 'config' } as const;
    if (
      server.paths.addSource(name, owner, source, {
        replace: isConfigPath,
        replaceReason: 'changed in the config',
      }) === undefined
    )
      return false;
    logger.info({ path: name, file: spec.file }, 'file source started');
    return true;
  };
  // Only a config path: a config path that ended may have left its name to someone else.
  const stopFileSource = (name: string, reason: string): Promise<void> =>
    server.paths.removeSource(name, reason, isConfigPath);
  const stopAllFileSources = async (reason: string): Promise<void> => {
    await pulls.close(reason);
    await server.paths.removeFileLoops('config', reason);
  };

  try {
    for (const [name, spec] of fileSourceSpecs) {
      const source = opening.get(name)!;
      opening.delete(name);
      if (!startFileSource(name, spec, source)) {
        await source.stop();
        throw new Error(`path ${name} is defined twice`);
      }
    }
    pulls.start(pullSourcesOf(config));
  } catch (err) {
    await Promise.all([...opening.values()].map((s) => s.stop()));
    await stopAllFileSources('server closing');
    await recordings.close();
    await cluster?.close();
    await server.close();
    await fanout?.close();
    throw err;
  }

  // What a killed run left is ended before this run's commands start (src/hooks/pid-files.ts).
  hooks.start();

  // The API checks against the latest authorizer. A reload that turns auth off leaves the API with
  // the last one until restart, and one that turns auth on leaves an API started without it open
  // (loopback, Host checked) until restart: a reload never lowers the API's protection by surprise.
  let apiAuthorizer = authorizer;
  let retiredAuthFailures = 0;
  // RTMP and RTMPS (src/rtmp/): publishers and players of the same paths, with the same users and rights.
  const rtmp =
    config.rtmpAddress === null && (config.rtmpsAddress === null || material === undefined)
      ? undefined
      : new (await import('./rtmp/server.js')).RtmpServer({
          host,
          port: config.rtmpAddress !== null ? splitHostPort(config.rtmpAddress).port : undefined,
          ...(config.rtmpsAddress !== null && material !== undefined
            ? { tls: { ...material, port: splitHostPort(config.rtmpsAddress).port } }
            : {}),
          clock: server.clock,
          logger,
          paths: server.paths,
          authorizer: () => server.authorizer,
          maxReadersPerPath: () => inForce.maxReadersPerPath,
          limits: {
            maxConnections: config.rtmpMaxConnections,
            maxChunkStreams: config.rtmpMaxChunkStreams,
            maxMessageBytes: config.rtmpMaxMessageBytes,
            maxReassemblyBytes: config.rtmpMaxReassemblyBytes,
            handshakeTimeoutMs: config.rtmpHandshakeTimeout * 1000,
            idleTimeoutMs: config.rtmpIdleTimeout * 1000,
          },
          ...(config.rtmpAdobeAuth
            ? { adobeAuth: { maxPendingChallenges: config.rtmpMaxAdobeChallenges } }
            : {}),
        });
  if (rtmp !== undefined) {
    try {
      await rtmp.listen();
    } catch (err) {
      await rtmp.close();
      await stopAllFileSources('server closing');
      await recordings.close();
      await server.close();
      await fanout?.close();
      throw err;
    }
  }
  let api: ApiServer | undefined;
  if (config.api) {
    const address = splitHostPort(config.apiAddress);
    const { ApiServer } = await import('./http/api.js');
    const { RecordingExporter } = await import('./recorder/export.js');
    const { indexSegmentFile } = await import('./recorder/segment-index.js');
    api = new ApiServer({
      server,
      host: address.host,
      port: address.port,
      logger,
      hls: { idleTimeoutMs: config.hlsIdleTimeout * 1000 },
      maxConnections: config.apiMaxConnections,
      maxConnectionsPerIpShare: config.maxConnectionsPerIpShare,
      idleTimeoutMs: config.apiIdleTimeout * 1000,
      requestTimeoutMs: config.apiRequestTimeout * 1000,
      maxHeaderBytes: config.apiMaxHeaderBytes,
      recordings,
      ...(rtmp !== undefined ? { rtmp: () => rtmp } : {}),
      hooks: () => ({ counters: hooks.counters, running: hooks.runningCount }),
      ...(cluster !== undefined ? { cluster } : {}),
      recordingExport: {
        exporter: new RecordingExporter(
          catalog,
          indexSegmentFile,
          (path, problems) =>
            logger.warn({ path, problems }, 'recording export: segments left out (unreadable)'),
          server.recordingIndexCache,
        ),
        maxDurationMs: () => config.recordExportMaxDuration * 1000,
      },
      // The path's owner, not the name: a config path that ended or was dropped from the config may
      // have left its name to a publisher or to a path added through the API, which are not the config's.
      configOwner: (name: string) => {
        if (!isConfigPath(server.paths.get(name))) return undefined;
        return name === 'demo' && inForce.demo ? 'demo: true' : `paths.${name}`;
      },
      ...(authorizer !== undefined
        ? {
            authorize: (req: IncomingMessage, target: ApiAccess) =>
              (apiAuthorizer ?? authorizer).check(
                {
                  method: req.method ?? 'GET',
                  uri: req.url ?? '/',
                  headers: { get: (name: string) => headerValue(req, name) },
                },
                {
                  ip: normalizeAddress(req.socket.remoteAddress ?? ''),
                  action: target.action,
                  path: target.path,
                  query: '',
                },
              ),
            authFailures: () => retiredAuthFailures + (apiAuthorizer ?? authorizer).authFailures,
          }
        : {}),
    });
    try {
      await api.listen();
    } catch (err) {
      await rtmp?.close();
      await hooks.close();
      await stopAllFileSources('server closing');
      await recordings.close();
      await cluster?.close();
      await server.close();
      await fanout?.close();
      throw err;
    }
  }

  const refuse = (trigger: string, error: string): ReloadOutcome => {
    logger.error({ trigger, err: error }, 'config reload refused; the previous config stays in force');
    return { ok: false, error };
  };
  const apply = async (next: Config, trigger: string): Promise<ReloadOutcome> => {
    let changes: ConfigChanges;
    let nextSpecs: Map<string, FileSourceSpec>;
    let nextPulls: ReturnType<typeof pullSourcesOf>;
    let nextAuthorizer: Authorizer | undefined;
    try {
      changes = diffConfig(inForce, next, DEMO_CLIP);
      nextSpecs = fileSourcesOf(next, DEMO_CLIP);
      nextPulls = pullSourcesOf(next);
      nextAuthorizer = changes.auth ? createAuthorizer(next, logger, nonceState) : server.authorizer;
    } catch (err) {
      return refuse(trigger, (err as Error).message);
    }
    // Open every new file first: one that cannot be played refuses the whole config.
    const opened = new Map<string, Mp4LoopSource>();
    try {
      for (const name of [...changes.fileSources.added, ...changes.fileSources.changed])
        opened.set(name, await openFileSource(nextSpecs.get(name)!));
    } catch (err) {
      await Promise.all([...opened.values()].map((s) => s.stop()));
      return refuse(trigger, (err as Error).message);
    }

    if (changes.logLevel) logger.level = next.logLevel;
    if (changes.limits) server.updateLimits(serverLimitsOf(next));
    // `paths` entries hold recording options too (config/path-config.ts).
    if (changes.recording || changes.changed.includes('paths')) recordings.configure(recordSettingsOf(next));
    if (changes.auth) {
      if (server.authorizer !== undefined && nextAuthorizer !== undefined)
        retiredAuthFailures += server.authorizer.authFailures;
      server.authorizer = nextAuthorizer;
      if (nextAuthorizer !== undefined) apiAuthorizer = nextAuthorizer;
      if (api !== undefined && (authorizer === undefined) !== (nextAuthorizer === undefined))
        logger.warn({}, 'the HTTP API turns authentication on or off at restart');
    }
    for (const name of changes.fileSources.removed) await stopFileSource(name, 'removed from the config');
    // A changed pull is stopped, then started again: its readers are ended (unlike a file, a pull
    // cannot be opened before the change without a second upstream session).
    await pulls.stop(changes.pullSources.removed, 'removed from the config');
    await pulls.stop(changes.pullSources.changed, 'changed in the config');
    pulls.start(nextPulls, [...changes.pullSources.added, ...changes.pullSources.changed]);
    // A changed path is replaced in one step (startFileSource): no publisher can take the name between.
    for (const [name, source] of opened) {
      if (!startFileSource(name, nextSpecs.get(name)!, source)) {
        logger.warn({ path: name }, 'config path not started: the name is in use (publisher or API path)');
        await source.stop();
      }
    }
    if (changes.needRestart.length > 0)
      logger.warn({ options: changes.needRestart }, 'changed options take effect at restart');
    inForce = configInForce(inForce, next);
    logger.info(
      {
        trigger,
        changed: changes.changed,
        pathsAdded: changes.fileSources.added,
        pathsRemoved: changes.fileSources.removed,
        pathsChanged: changes.fileSources.changed,
        pullsAdded: changes.pullSources.added,
        pullsRemoved: changes.pullSources.removed,
        pullsChanged: changes.pullSources.changed,
      },
      'config reloaded',
    );
    return { ok: true, changes };
  };
  // One at a time: a reload that arrives while one is being applied waits for it. Reloads come from
  // signals and file events with nobody to catch for them, so an unexpected fault is logged, not thrown.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = (task: () => Promise<ReloadOutcome>): Promise<ReloadOutcome> => {
    const run = queue.then(task).catch((err: unknown): ReloadOutcome => {
      const error = err instanceof Error ? err.message : String(err);
      logger.error({ err: error }, 'config reload failed');
      return { ok: false, error };
    });
    queue = run;
    return run;
  };

  return {
    server,
    api,
    recordings,
    rtmp,
    hooks,
    cluster,
    fanout,
    get config() {
      return inForce;
    },
    apply: (next, trigger = 'apply') => serialized(() => apply(next, trigger)),
    reload: (trigger = 'reload') =>
      serialized(async () => {
        let next: Config;
        try {
          if (options.loadConfig === undefined) throw new Error('no config to reload from');
          next = options.loadConfig();
        } catch (err) {
          return refuse(trigger, (err as Error).message);
        }
        return apply(next, trigger);
      }),
    close: async () => {
      await queue;
      await api?.close();
      await pulls.close('server closing');
      await rtmp?.close();
      await recordings.close();
      // Leases given back and the node unregistered before the server stops serving.
      await cluster?.close();
      await server.close();
      await fanout?.close();
      await hooks.close();
    },
  };
}

/** The server's events that run commands (src/hooks/hooks.ts). */
function followForHooks(server: RtspServer, recordings: RecorderManager, hooks: Hooks): void {
  server.paths.onPathReady((p) => hooks.pathReady(p.name, sourceParty(p.owner)));
  server.paths.onPathNotReady((p) => hooks.pathNotReady(p.name, sourceParty(p.owner)));
  server.on('readStarted', (s, query) =>
    hooks.readStarted(s.id, s.path, query, { id: s.id, type: 'rtspSession' }),
  );
  server.on('sessionEnded', (s) => hooks.readEnded(s.id));
  server.on('connectionOpened', (c) => hooks.connectionOpened(String(c.id), c.remoteAddress));
  server.on('connectionClosed', (c) => hooks.connectionClosed(String(c.id), c.remoteAddress));
  recordings.onSegmentComplete((s) => hooks.segmentComplete(s.path, s.file, s.durationMs));
}
