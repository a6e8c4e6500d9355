/**
 * The config's pulled paths (`paths.X.source: rtsp://...`) wired to the path manager: always-on pulls
 * are connected in the background (retried with the pull's backoff until the first session) and added
 * with `addSource`; on-demand ones are this object's answer to the manager's `OnDemandSources` seam,
 * started by the first reader and stopped by the manager's idle stop. A reload adds, removes and
 * replaces them by name, as file loops are.
 */
import type { Clock } from './base/clock.js';
import type { Logger } from './base/logger.js';
import type { PullSourceSpec } from './config/reload.js';
import type { PathManager } from './paths/path-manager.js';
import type { OnDemandSource, OnDemandSources, Path } from './paths/path.js';
import {
  DEFAULT_RECONNECT_MIN_DELAY_MS,
  displayPullUrl,
  openRtspPull,
  RtspPullSource,
  type RtspPullOptions,
} from './sources/rtsp-pull.js';

/** A pulled path the config made (not a publisher's, not the API's). */
function isConfigPull(path: Path): boolean {
  return path.owner.kind === 'pull';
}

export class ConfigPulls implements OnDemandSources {
  #specs = new Map<string, PullSourceSpec>();
  /** Always-on pulls, from before their first session (so a removal stops their tries too). */
  readonly #running = new Map<string, RtspPullSource>();
  #paths: PathManager | undefined;
  #clock: Clock | undefined;

  constructor(private readonly logger: Logger) {}

  /** The manager the pulls feed (made by the server, which is given this object first). */
  attach(paths: PathManager, clock: Clock): void {
    this.#paths = paths;
    this.#clock = clock;
  }

  sourceFor(name: string): OnDemandSource | undefined {
    const spec = this.#specs.get(name);
    if (spec?.onDemand !== true) return undefined;
    return {
      owner: { kind: 'pull', url: displayPullUrl(spec.url), onDemand: true },
      open: () => openRtspPull(this.#options(spec)),
      closeAfterMs: spec.onDemandCloseAfterMs,
      startTimeoutMs: spec.onDemandStartTimeoutMs,
    };
  }

  /** Starts the pulls of `specs` by name (a config's first apply, or a reload's added and changed ones). */
  start(specs: ReadonlyMap<string, PullSourceSpec>, names: Iterable<string> = specs.keys()): void {
    for (const name of names) {
      const spec = specs.get(name)!;
      this.#specs.set(name, spec);
      if (!spec.onDemand) this.#startAlwaysOn(name, spec);
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

  #startAlwaysOn(name: string, spec: PullSourceSpec): void {
    const source = new RtspPullSource(this.#options(spec));
    this.#running.set(name, source);
    source.connectInBackground((ready) => {
      if (this.#running.get(name) !== ready || this.#paths === undefined) return void ready.stop();
      const path = this.#paths.addSource(name, ready.owner, ready, {
        replace: isConfigPull,
        replaceReason: 'changed in the config',
      });
      if (path !== undefined) return;
      this.logger.warn({ path: name }, 'pulled path not started: the name is in use (publisher or API path)');
      this.#running.delete(name);
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
