/**
 * The one owner of paths (after mediamtx's pathManager / path): a name is held by one owner at a
 * time, a publisher (ANNOUNCE ... TEARDOWN) or a source inside the server (a file played in a loop
 * from the config or the API, a Stream an embedding program feeds, and next a pull or the playback of
 * a recording). The RTSP handlers, the config and the API all claim, replace and free names here, so
 * the rules live in one place:
 * - a publisher's name is never taken over; a source's path is replaced only when the caller says so,
 *   and the old Stream is ended (its readers told) and its source stopped before the new one starts;
 * - a source whose Stream ends by itself (end of a non-looping file, a read error) frees its name;
 * - `onPathReady` fires once a path has a Stream, `onPathNotReady` once that Stream has ended and the
 *   name is free (a replacement: not-ready of the old path, then ready of the new);
 * - a reader asking for a name nobody feeds may start an on-demand source (`OnDemandSources`) and
 *   wait for it up to `onDemandStartTimeoutMs`; at most `maxOnDemandSources` run at once (a refusal is
 *   counted); an on-demand owner with `closeAfterMs` is stopped once its path had no reader that long;
 * - or an on-demand publisher (a runOnDemand command), whose RECORD readers wait for: the name stays
 *   free for it, and the command stops when readers are gone (on-demand-publishers.ts);
 * - a source whose media changed (`PathSourceControl.mediaChanged`) keeps its name: its Stream ends
 *   and it starts again into a new one.
 * Files on demand (`mediaDir`) are not paths: each reader opens its own player (server/vod-control.ts).
 */
import { clockInterval, clockTimeout, type Clock, type ClockTimer } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { Stream } from '../media/stream.js';
import { Mp4LoopSource } from '../sources/mp4-loop.js';
import { OnDemandPublishers } from './on-demand-publishers.js';
import type {
  FileLoopOrigin,
  NotReadyPath,
  OnDemandPublisher,
  OnDemandSource,
  OnDemandSources,
  Path,
  PathManagerCounters,
  PathNotReadyListener,
  PathOwner,
  PathReadyListener,
  PathSource,
  PathSourceControl,
  ReadyPath,
  SourceOwner,
} from './path.js';

export * from './path.js';

/** mediamtx's `sourceOnDemandStartTimeout` default. */
export const DEFAULT_ON_DEMAND_START_TIMEOUT_MS = 10_000;

export interface PathManagerDeps {
  clock: Clock;
  logger: Logger;
  /** A Stream for `media` (the server's stream settings as they are now); `onEnded` runs when it ends. */
  newStream(media: PublishedMedia, onEnded: (reason: string) => void): Stream;
  /** Sources started when a reader asks for a name nobody feeds; none by default. */
  onDemand?: OnDemandSources;
  onDemandStartTimeoutMs?: number;
  /** On-demand sources starting or running at once; a reader beyond it finds nothing (counted). Default 100. */
  maxOnDemandSources?: number;
}

export const DEFAULT_MAX_ON_DEMAND_SOURCES = 100;

/** The media of a source's path before the source has described any (claimSource). */
const NO_MEDIA: PublishedMedia = { tracks: [], controls: [], describeSdp: () => '' };

/** How often an on-demand path's readers are looked at for the idle stop: this share of `closeAfterMs`, 1 s at most. */
const IDLE_CHECKS_PER_CLOSE_AFTER = 4;
const MAX_IDLE_CHECK_PERIOD_MS = 1000;

/** A file played in a loop (Mp4LoopSource): what the config's `paths` and the API's POST name. */
export interface FileLoopSpec {
  file: string;
  loop: boolean;
}

export type AddFileLoopResult =
  { ok: true; path: Path } | { ok: false; reason: 'taken' | 'unreadable'; message: string };

export interface AddSourceOptions {
  /** Whether an existing source path may be replaced (never a publisher's); absent: none may. */
  replace?: (current: Path) => boolean;
  /** The reason the replaced path's readers are given (default `replaced`). */
  replaceReason?: string;
}

interface PathEntry {
  name: string;
  owner: PathOwner;
  media: PublishedMedia;
  stream: Stream | undefined;
  sinceMs: number;
  /** The source the manager started and stops; undefined for publishers and embedded feeds. */
  source: PathSource | undefined;
  /** An on-demand owner's idle stop: the check timer, and since when no reader was seen. */
  idle?: { closeAfterMs: number; sinceMs: number; timer: ClockTimer };
}

export class PathManager {
  private readonly paths = new Map<string, PathEntry>();
  private readonly readyListeners = new Set<PathReadyListener>();
  private readonly notReadyListeners = new Set<PathNotReadyListener>();
  /** On-demand starts under way, one per name: readers asking meanwhile wait for the same one. */
  private readonly starting = new Map<string, Promise<Path | undefined>>();
  /** File loops being opened for the API, so a second request for the name is refused at once. */
  private readonly opening = new Set<string>();
  /** Sources being stopped, awaited by `close`. */
  private readonly stopping = new Set<Promise<void>>();
  /** Commands started on demand that publish to their path themselves (runOnDemand). */
  private readonly publishers: OnDemandPublishers;
  private closed = false;
  readonly counters: PathManagerCounters = {
    onDemandRefused: 0,
    onDemandIdleStops: 0,
    sourceMediaChanges: 0,
  };

  constructor(private readonly deps: PathManagerDeps) {
    this.publishers = new OnDemandPublishers({
      clock: deps.clock,
      logger: deps.logger,
      get: (name) => this.paths.get(name),
    });
    this.onPathReady((p) => this.publishers.pathReady(p.name));
  }

  get(name: string): Path | undefined {
    return this.paths.get(name);
  }

  /** Every path, in the order it was claimed. */
  list(): Path[] {
    return [...this.paths.values()];
  }

  // ---- publishers (RFC 2326 §10.3 ANNOUNCE, §10.11 RECORD) ----

  /** Claims `name` for the session `sessionId`; false when someone else holds it. */
  claimPublisher(name: string, sessionId: string, media: PublishedMedia): boolean {
    const cur = this.paths.get(name);
    if (cur !== undefined && !(cur.owner.kind === 'publisher' && cur.owner.sessionId === sessionId))
      return false;
    this.paths.set(name, {
      name,
      owner: { kind: 'publisher', sessionId },
      media,
      stream: undefined,
      sinceMs: this.deps.clock.monotonicMs(),
      source: undefined,
    });
    return true;
  }

  /** The path `sessionId` publishes, or undefined. */
  publishedBy(name: string, sessionId: string): Path | undefined {
    const cur = this.paths.get(name);
    return cur?.owner.kind === 'publisher' && cur.owner.sessionId === sessionId ? cur : undefined;
  }

  /** RECORD: the publisher's Stream, made (and the path ready) the first time; undefined when not its path. */
  startPublishing(name: string, sessionId: string): Stream | undefined {
    const cur = this.paths.get(name);
    if (cur === undefined || this.publishedBy(name, sessionId) === undefined) return undefined;
    if (cur.stream === undefined) {
      cur.stream = this.newStream(cur);
      cur.sinceMs = this.deps.clock.monotonicMs();
      this.emitReady(cur);
    }
    return cur.stream;
  }

  /** The publisher is gone: its Stream ends (readers told) and the name is free. */
  releasePublisher(name: string, sessionId: string, reason: string): Path | undefined {
    const cur = this.paths.get(name);
    if (cur === undefined || this.publishedBy(name, sessionId) === undefined) return undefined;
    void this.drop(cur, reason);
    return cur;
  }

  // ---- sources inside the server ----

  /**
   * Whether a source may take `name`: free, or held by a source that `options.replace` gives up (it is
   * dropped). A path a publisher holds is never taken by a source.
   */
  #takeName(name: string, options: AddSourceOptions): boolean {
    if (this.closed) return false;
    const cur = this.paths.get(name);
    if (cur === undefined) return true;
    if (cur.owner.kind === 'publisher' || options.replace?.(cur) !== true) return false;
    void this.drop(cur, options.replaceReason ?? 'replaced');
    return true;
  }

  /**
   * Serves `name` from `feed`: a PathSource the manager starts and stops, or bare media for a Stream
   * the caller writes to (`embedded`). The path is ready at once. Undefined when the name is taken
   * (by a publisher, or a source `options.replace` does not allow to replace).
   */
  addSource(
    name: string,
    owner: SourceOwner,
    feed: PathSource | PublishedMedia,
    options: AddSourceOptions = {},
  ): Path | undefined {
    if (!this.#takeName(name, options)) return undefined;
    const source = 'start' in feed ? feed : undefined;
    const entry: PathEntry = {
      name,
      owner,
      media: source?.media ?? (feed as PublishedMedia),
      stream: undefined,
      sinceMs: this.deps.clock.monotonicMs(),
      source,
    };
    this.paths.set(name, entry);
    entry.stream = this.newStream(entry);
    source?.start(entry.stream, this.controlOf(entry));
    this.deps.logger.info(
      { path: name, tracks: entry.media.tracks.length, owner: owner.kind },
      'source path added',
    );
    this.emitReady(entry);
    return entry;
  }

  /**
   * Holds `name` for `source` before it has media (a pull still connecting): the path is listed, not
   * ready (readers get 404 or its fallback), with the source's figures (state, last error), and nobody
   * else takes the name. `startSource` makes it ready; removal is `removeSource`'s, as for any source.
   * Undefined when the name is taken (as addSource).
   */
  claimSource(
    name: string,
    owner: SourceOwner,
    source: PathSource,
    options: AddSourceOptions = {},
  ): Path | undefined {
    if (!this.#takeName(name, options)) return undefined;
    const entry: PathEntry = {
      name,
      owner,
      media: NO_MEDIA,
      stream: undefined,
      sinceMs: this.deps.clock.monotonicMs(),
      source,
    };
    this.paths.set(name, entry);
    return entry;
  }

  /** The source of a path `claimSource` holds has media: the path gets its Stream and is ready. False: not its path now. */
  startSource(name: string, source: PathSource): boolean {
    const entry = this.paths.get(name);
    if (entry === undefined || entry.source !== source || entry.stream !== undefined || this.closed)
      return false;
    entry.media = source.media;
    entry.sinceMs = this.deps.clock.monotonicMs();
    entry.stream = this.newStream(entry);
    source.start(entry.stream, this.controlOf(entry));
    this.deps.logger.info(
      { path: name, tracks: entry.media.tracks.length, owner: entry.owner.kind },
      'source path started',
    );
    this.emitReady(entry);
    return true;
  }

  /**
   * What `entry`'s source may ask: a new Stream for its new media. The old Stream ends with `reason`
   * (readers told; the server-requests part ANNOUNCEs or BYEs them) and the name passes to a new entry
   * of the same owner and source, as a replacement does (not-ready, then ready), without a stop.
   */
  private controlOf(entry: PathEntry): PathSourceControl {
    return {
      mediaChanged: (reason) => {
        if (this.paths.get(entry.name) !== entry || entry.source === undefined || this.closed) return;
        const next: PathEntry = {
          name: entry.name,
          owner: entry.owner,
          media: entry.source.media,
          stream: undefined,
          sinceMs: this.deps.clock.monotonicMs(),
          source: entry.source,
        };
        this.paths.set(entry.name, next);
        entry.idle?.timer.cancel();
        // The old Stream's onEnded finds the name held by `next`: it frees nothing.
        entry.stream?.end(reason, { mediaChanged: true });
        this.counters.sourceMediaChanges++;
        this.deps.logger.warn(
          { path: entry.name, reason },
          'source media changed: readers ended, stream renewed',
        );
        this.emitNotReady({ name: entry.name, owner: entry.owner, reason });
        next.stream = this.newStream(next);
        if (entry.idle !== undefined) this.watchIdle(next, entry.idle.closeAfterMs);
        next.source!.start(next.stream, this.controlOf(next));
        this.emitReady(next);
      },
    };
  }

  /**
   * Frees a source's path: its Stream ends and its source stops (the promise: once stopped). With
   * `only`, just when it holds for the path there now (the name may have changed hands meanwhile).
   * A publisher's path is never removed here.
   */
  removeSource(name: string, reason: string, only?: (current: Path) => boolean): Promise<void> {
    const cur = this.paths.get(name);
    if (cur === undefined || cur.owner.kind === 'publisher' || (only !== undefined && !only(cur)))
      return Promise.resolve();
    return this.drop(cur, reason);
  }

  /** Every file loop of `origin` removed (the API closing). */
  async removeFileLoops(origin: FileLoopOrigin, reason: string): Promise<void> {
    const ours = this.list().filter((p) => p.owner.kind === 'file-loop' && p.owner.origin === origin);
    await Promise.all(ours.map((p) => this.removeSource(p.name, reason, (cur) => cur === p)));
  }

  /** Opens a file to loop (not yet serving it): the config opens all its files before changing anything. */
  openFileLoop(spec: FileLoopSpec): Promise<Mp4LoopSource> {
    return Mp4LoopSource.open({
      file: spec.file,
      loop: spec.loop,
      clock: this.deps.clock,
      logger: this.deps.logger,
    });
  }

  /** Opens `spec.file` and serves it at `name`, unless the name is taken (checked before and after opening). */
  async addFileLoop(name: string, spec: FileLoopSpec, origin: FileLoopOrigin): Promise<AddFileLoopResult> {
    const taken = { ok: false, reason: 'taken', message: `path ${name} already exists` } as const;
    if (this.opening.has(name) || this.paths.has(name)) return taken;
    this.opening.add(name);
    let source: Mp4LoopSource;
    try {
      source = await this.openFileLoop(spec);
    } catch (err) {
      // Mp4LoopSource.open rejects with an Error naming the file (unreadable, not an MP4, no codec).
      return { ok: false, reason: 'unreadable', message: (err as Error).message };
    } finally {
      this.opening.delete(name);
    }
    const path = this.addSource(name, { kind: 'file-loop', file: spec.file, origin }, source);
    if (path === undefined) {
      await source.stop();
      return taken;
    }
    return { ok: true, path };
  }

  // ---- readers ----

  /**
   * The path a reader (DESCRIBE, SETUP) asks for. A name nobody feeds that has an on-demand source
   * starts it, and the reader waits for its Stream up to the start timeout; readers asking meanwhile
   * wait for the same start. Undefined: nothing serves the name.
   */
  forReader(name: string, query = ''): Promise<Path | undefined> {
    const cur = this.paths.get(name);
    if (cur !== undefined || this.deps.onDemand === undefined || this.closed) return Promise.resolve(cur);
    const pending = this.starting.get(name);
    if (pending !== undefined) return pending;
    const onDemand = this.deps.onDemand.sourceFor(name, query);
    if (onDemand === undefined) return Promise.resolve(undefined);
    const maxSources = this.deps.maxOnDemandSources ?? DEFAULT_MAX_ON_DEMAND_SOURCES;
    // Commands started on demand (runOnDemand) count too.
    if (this.starting.size + this.onDemandRunning() + this.publishers.names().length >= maxSources) {
      this.counters.onDemandRefused++;
      this.deps.logger.warn({ path: name, maxSources }, 'on-demand source refused: too many running');
      return Promise.resolve(undefined);
    }
    const start = this.startOnDemand(name, onDemand).finally(() => this.starting.delete(name));
    this.starting.set(name, start);
    return start;
  }

  private startOnDemand(
    name: string,
    onDemand: OnDemandSource | OnDemandPublisher,
  ): Promise<Path | undefined> {
    // A command that publishes itself: the name stays free for its ANNOUNCE (on-demand-publishers.ts).
    if ('publishes' in onDemand) return this.publishers.start(name, onDemand);
    const timeoutMs =
      onDemand.startTimeoutMs ?? this.deps.onDemandStartTimeoutMs ?? DEFAULT_ON_DEMAND_START_TIMEOUT_MS;
    return new Promise((resolve) => {
      let settled = false;
      const timer = clockTimeout(
        this.deps.clock,
        () => {
          if (settled) return;
          settled = true;
          this.deps.logger.warn({ path: name, timeoutMs }, 'on-demand source did not start in time');
          resolve(undefined);
        },
        timeoutMs,
      );
      onDemand.open().then(
        (source) => {
          if (settled || this.closed) {
            // Too late: the reader was answered. A later reader starts it again.
            void this.track(source.stop());
            return;
          }
          settled = true;
          timer.cancel();
          const path = this.addSource(name, onDemand.owner, source);
          // Taken meanwhile (a publisher's ANNOUNCE): whoever holds the name serves the reader.
          if (path === undefined) void this.track(source.stop());
          else if (onDemand.closeAfterMs !== undefined)
            this.watchIdle(this.paths.get(name)!, onDemand.closeAfterMs);
          resolve(path ?? this.paths.get(name));
        },
        (err: unknown) => {
          // The source could not start (unreachable, refused, media it cannot describe): nothing to serve.
          if (settled) return;
          settled = true;
          timer.cancel();
          this.deps.logger.warn(
            { path: name, err: (err as Error).message },
            'on-demand source failed to start',
          );
          resolve(undefined);
        },
      );
    });
  }

  /** On-demand sources running now (those with an idle stop). */
  private onDemandRunning(): number {
    let n = 0;
    for (const p of this.paths.values()) if (p.idle !== undefined) n++;
    return n;
  }

  /**
   * The idle stop of an on-demand owner (mediamtx's `sourceOnDemandCloseAfter`; the hooks' `runOnDemand`
   * too): its path is removed once it had no reader for `closeAfterMs`. Readers are looked at every
   * quarter of the delay (1 s at most) rather than on each leave: a reader between DESCRIBE and PLAY is
   * not in the Stream yet, and polling gives it that slack; the stop comes up to one period late.
   */
  private watchIdle(entry: PathEntry, closeAfterMs: number): void {
    const periodMs = Math.min(
      MAX_IDLE_CHECK_PERIOD_MS,
      Math.max(1, closeAfterMs / IDLE_CHECKS_PER_CLOSE_AFTER),
    );
    const idle = {
      closeAfterMs,
      sinceMs: this.deps.clock.monotonicMs(),
      timer: clockInterval(this.deps.clock, () => this.checkIdle(entry), periodMs, { unref: true }),
    };
    entry.idle = idle;
  }

  private checkIdle(entry: PathEntry): void {
    const idle = entry.idle;
    if (idle === undefined) return;
    if (this.paths.get(entry.name) !== entry) return idle.timer.cancel();
    const nowMs = this.deps.clock.monotonicMs();
    if ((entry.stream?.readerCount ?? 0) > 0) {
      idle.sinceMs = nowMs;
      return;
    }
    if (nowMs - idle.sinceMs < idle.closeAfterMs) return;
    idle.timer.cancel();
    this.counters.onDemandIdleStops++;
    void this.removeSource(entry.name, `no readers for ${idle.closeAfterMs} ms`, (cur) => cur === entry);
  }

  // ---- events ----

  /** `listener` runs when a path gets a Stream (RECORD, a source started); returns the unsubscribe. */
  onPathReady(listener: PathReadyListener): () => void {
    this.readyListeners.add(listener);
    return () => this.readyListeners.delete(listener);
  }

  /** `listener` runs when a ready path's Stream has ended and its name is free; returns the unsubscribe. */
  onPathNotReady(listener: PathNotReadyListener): () => void {
    this.notReadyListeners.add(listener);
    return () => this.notReadyListeners.delete(listener);
  }

  /** Stops every source the manager started and frees their paths; no source starts afterwards. */
  async close(reason: string): Promise<void> {
    this.closed = true;
    for (const p of [...this.paths.values()]) if (p.source !== undefined) void this.drop(p, reason);
    await Promise.all([...this.stopping, this.publishers.close(reason)]);
  }

  // ---- inside ----

  private newStream(entry: PathEntry): Stream {
    return this.deps.newStream(entry.media, (reason) => {
      // A source that ended its own Stream (end of file, read error) leaves its name free. A publisher's
      // Stream ends only through releasePublisher; the manager's own drops were taken out of the map first.
      if (this.paths.get(entry.name) !== entry || entry.owner.kind === 'publisher') return;
      this.deps.logger.info({ path: entry.name, reason }, 'source path ended');
      void this.drop(entry, reason);
    });
  }

  /** Takes `entry` out, ends its Stream, stops its source, then tells the not-ready listeners. */
  private drop(entry: PathEntry, reason: string): Promise<void> {
    if (this.paths.get(entry.name) === entry) this.paths.delete(entry.name);
    entry.idle?.timer.cancel();
    const stream = entry.stream;
    stream?.end(reason);
    const stopped = entry.source !== undefined ? this.track(entry.source.stop()) : Promise.resolve();
    if (entry.owner.kind !== 'publisher')
      this.deps.logger.info({ path: entry.name, reason }, 'source path removed');
    if (stream !== undefined) this.emitNotReady({ name: entry.name, owner: entry.owner, reason });
    return stopped;
  }

  private track(stop: Promise<void>): Promise<void> {
    const tracked = stop.catch((err: unknown) => {
      // Stopping frees files and timers; a failure there is logged, the path is gone either way.
      this.deps.logger.warn({ err: (err as Error).message }, 'stopping a path source failed');
    });
    this.stopping.add(tracked);
    void tracked.finally(() => this.stopping.delete(tracked));
    return tracked;
  }

  private emitReady(entry: PathEntry): void {
    const stream = entry.stream!;
    const ready: ReadyPath = { name: entry.name, owner: entry.owner, media: entry.media, tap: stream };
    for (const listener of [...this.readyListeners]) this.call(listener, ready, 'ready');
  }

  private emitNotReady(path: NotReadyPath): void {
    for (const listener of [...this.notReadyListeners]) this.call(listener, path, 'not ready');
  }

  private call<T>(listener: (arg: T) => void, arg: T, event: string): void {
    try {
      listener(arg);
    } catch (err) {
      // A listener (recorder, hook) is not the engine: its fault, whatever it is, is logged and the
      // path goes on, as a crash here would leave the map half updated.
      this.deps.logger.error({ err: (err as Error).message, event }, 'path listener failed');
    }
  }
}
