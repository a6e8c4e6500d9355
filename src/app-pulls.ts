/**
 * The config's pulled paths (`paths.X.source: rtsp://...`) wired to the server:
 * - always-on pulls hold their path from the start (`claimSource`: listed in `/v1/paths` as a pull,
 *   not ready, with its state and last error while it connects) and make it ready at their first
 *   session (`startSource`), retried with the pull's backoff until then;
 * - on-demand ones are this object's answer to the path manager's `OnDemandSources` seam, started by
 *   the first reader and stopped by the manager's idle stop;
 * - `sourcePerReader` ones are the server's `ReaderUpstreams` seam: each reader opens its own upstream
 *   session (sources/rtsp-pull-reader.ts), at most `pullMaxOnDemand` at once (beyond: 503, counted);
 * - a `~regex` entry whose source is a URL pulls on demand (or per reader) with the name's captures in
 *   its URL (`rtsp://cam/$G1`); a capture was checked against the safe set by the lookup, and a name
 *   with an unsafe one pulls nothing (404). A regex cannot be always-on: no name is known before a reader.
 * A reload adds, removes and replaces the exact-name pulls by name, as file loops are; regex pulls take
 * the config in force at each reader.
 */
import type { Clock } from './base/clock.js';
import type { Logger } from './base/logger.js';
import type { Config } from './config/config.js';
import { lookupPath, substituteCaptures } from './config/path-config.js';
import { isPullSource } from './config/path-schema.js';
import { pullSpecOf, type PullSourceSpec } from './config/reload.js';
import type { PathManager } from './paths/path-manager.js';
import type { OnDemandSource, OnDemandSources, Path } from './paths/path.js';
import { RtspStatus } from './rtsp/status.js';
import type { ReaderUpstream, ReaderUpstreams } from './server/reader-upstream.js';
import type { RtspServerOptions } from './server/server-options.js';
import { openPullReader } from './sources/rtsp-pull-reader.js';
import {
  DEFAULT_RECONNECT_MIN_DELAY_MS,
  displayPullUrl,
  openRtspPull,
  redactCredentials,
  RtspPullSource,
  type RtspPullOptions,
} from './sources/rtsp-pull.js';

/** A pulled path the config made (not a publisher's, not the API's). */
function isConfigPull(path: Path): boolean {
  return path.owner.kind === 'pull';
}

export class ConfigPulls implements OnDemandSources, ReaderUpstreams {
  #specs = new Map<string, PullSourceSpec>();
  /** Always-on pulls, from before their first session (so a removal stops their tries too). */
  readonly #running = new Map<string, RtspPullSource>();
  #paths: PathManager | undefined;
  #clock: Clock | undefined;
  /** Per-reader upstream sessions open now (DESCRIBE's included); the server counts refusals. */
  #perReaderOpen = 0;
  /** `pullMaxOnDemand` as the server started with it (a restart option): on-demand and per-reader pulls. */
  readonly #maxOnDemand: number;

  constructor(
    private readonly logger: Logger,
    /** The config in force, read at each reader (regex pulls). */
    private readonly config: () => Config,
  ) {
    this.#maxOnDemand = config().pullMaxOnDemand;
  }

  /** What the RTSP server takes from the pulls: the on-demand bound and the per-reader seam. */
  serverOptions(): Pick<RtspServerOptions, 'maxOnDemandSources' | 'readerUpstreams'> {
    return { maxOnDemandSources: this.#maxOnDemand, readerUpstreams: this };
  }

  /** The manager the pulls feed (made by the server, which is given this object first). */
  attach(paths: PathManager, clock: Clock): void {
    this.#paths = paths;
    this.#clock = clock;
  }

  sourceFor(name: string): OnDemandSource | undefined {
    const spec = this.#specFor(name);
    if (spec?.onDemand !== true || spec.perReader) return undefined;
    return {
      owner: { kind: 'pull', url: displayPullUrl(spec.url), onDemand: true },
      open: () => openRtspPull(this.#options(spec)),
      closeAfterMs: spec.onDemandCloseAfterMs,
      startTimeoutMs: spec.onDemandStartTimeoutMs,
    };
  }

  upstreamFor(name: string): (() => Promise<ReaderUpstream | number>) | undefined {
    const spec = this.#specFor(name);
    if (spec?.perReader !== true) return undefined;
    return async () => {
      if (this.#perReaderOpen >= this.#maxOnDemand) {
        this.logger.warn(
          { path: name, max: this.#maxOnDemand },
          'per-reader upstream session refused: too many open (pullMaxOnDemand)',
        );
        return RtspStatus.ServiceUnavailable;
      }
      this.#perReaderOpen++;
      let upstream;
      try {
        upstream = await openPullReader({
          ...this.#options(spec),
          timeoutMs: spec.onDemandStartTimeoutMs,
        });
      } catch (e) {
        this.#perReaderOpen--;
        this.logger.warn(
          { path: name, err: redactCredentials((e as Error).message) },
          'per-reader upstream session failed',
        );
        return RtspStatus.NotFound;
      }
      // Counted until its close (the reader's session ended, or a refused SETUP gave it back).
      let open = true;
      const session = upstream;
      return {
        media: session.media,
        attach: (sink, ssrcs) => session.attach(sink, ssrcs),
        play: (tracks, headers) => session.play(tracks, headers),
        pause: () => session.pause(),
        close: () => {
          if (open) this.#perReaderOpen--;
          open = false;
          return session.close();
        },
      };
    };
  }

  /** Starts the pulls of `specs` by name (a config's first apply, or a reload's added and changed ones). */
  start(specs: ReadonlyMap<string, PullSourceSpec>, names: Iterable<string> = specs.keys()): void {
    for (const name of names) {
      const spec = specs.get(name)!;
      this.#specs.set(name, spec);
      if (!spec.onDemand && !spec.perReader) this.#startAlwaysOn(name, spec);
    }
  }

  /** Stops the pulls of `names` (removed or changed in the config); their paths end with `reason`. */
  async stop(names: Iterable<string>, reason: string): Promise<void> {
    const stops: Promise<void>[] = [];
    for (const name of names) {
      this.#specs.delete(name);
      const source = this.#running.get(name);
      this.#running.delete(name);
      if (source !== undefined) stops.push(source.stop());
      if (this.#paths !== undefined) stops.push(this.#paths.removeSource(name, reason, isConfigPull));
    }
    await Promise.all(stops);
  }

  /** Every pull stopped (the server closing). */
  close(reason: string): Promise<void> {
    return this.stop([...this.#specs.keys()], reason);
  }

  /** The pull of `name`: an exact entry's, else a `~regex` entry's with the captures in its URL. */
  #specFor(name: string): PullSourceSpec | undefined {
    const exact = this.#specs.get(name);
    if (exact !== undefined) return exact;
    const config = this.config();
    const found = lookupPath(config, name);
    if (!found.ok) return undefined;
    const { key, entry, captures } = found.config;
    if (key?.startsWith('~') !== true || entry?.source === undefined || !isPullSource(entry.source))
      return undefined;
    const spec = pullSpecOf(entry, substituteCaptures(entry.source, captures), config);
    return spec.perReader ? spec : { ...spec, onDemand: true };
  }

  #startAlwaysOn(name: string, spec: PullSourceSpec): void {
    const paths = this.#paths;
    if (paths === undefined) return;
    const source = new RtspPullSource(this.#options(spec));
    // The path is listed from now on (state connecting, its last error), ready at the first session.
    const held = paths.claimSource(name, source.owner, source, {
      replace: isConfigPull,
      replaceReason: 'changed in the config',
    });
    if (held === undefined) {
      this.logger.warn({ path: name }, 'pulled path not started: the name is in use (publisher or API path)');
      void source.stop();
      return;
    }
    this.#running.set(name, source);
    source.connectInBackground((ready) => {
      if (this.#running.get(name) === ready && paths.startSource(name, ready)) return;
      if (this.#running.get(name) === ready) this.#running.delete(name);
      void ready.stop();
    });
  }

  #options(spec: PullSourceSpec): RtspPullOptions {
    return {
      url: spec.url,
      transport: spec.transport,
      anyPort: spec.anyPort,
      onDemand: spec.onDemand,
      reconnectMinDelayMs: Math.min(DEFAULT_RECONNECT_MIN_DELAY_MS, spec.reconnectMaxDelayMs),
      reconnectMaxDelayMs: spec.reconnectMaxDelayMs,
      logger: this.logger,
      ...(this.#clock !== undefined ? { clock: this.#clock } : {}),
      ...(spec.fingerprint !== null ? { tlsFingerprint: spec.fingerprint } : {}),
      ...(spec.range !== null ? { range: spec.range } : {}),
      ...(spec.scale !== null ? { scale: spec.scale } : {}),
    };
  }
}
