/**
 * The recorders of a server: one PathRecorder per live path whose settings say `record`, started when
 * the path becomes ready and stopped when it goes away, and the periodic retention sweep.
 *
 * The seam to the engine is `pathReady(name, media, stream)` / `pathNotReady(name)`; `follow(view)`
 * drives it from the path manager's events (through the EngineView).
 *
 * Retention (every `sweepIntervalMs`, through the clock): finished segments older than the path's
 * `deleteAfterMs` are deleted; when the free space of a path's record folder is under its
 * `minFreeBytes`, that path's oldest finished segments are deleted first, and only when that is not
 * enough does its recorder hold (closing its segment) until a later sweep finds room again.
 */
import { statfs, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock, ClockTimer } from '../base/clock.js';
import { clockInterval } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { StreamTap } from '../media/stream-reader.js';
import type { EngineView } from '../server/view.js';
import type { CatalogEntry, DiskRecordingCatalog } from './disk-catalog.js';
import {
  newRecordingCounters,
  PathRecorder,
  type RecordingCounters,
  type SegmentComplete,
} from './path-recorder.js';
import { expiredSegments, segmentsToFreeSpace } from './retention.js';
import { sameRecordingSettings, type RecordingSettings } from './settings.js';
import { recordingRoot } from './template.js';

export interface RecorderManagerOptions {
  clock: Clock;
  logger: Logger;
  catalog: DiskRecordingCatalog;
  settingsFor: (path: string) => RecordingSettings;
  /** Between retention sweeps (default 10 s). */
  sweepIntervalMs?: number;
  /** Wait before a new segment after a write error (default 5 s). */
  retryMs?: number;
  /** Free bytes of the file system holding `dir` (default: fs.statfs). */
  freeBytes?: (dir: string) => Promise<number>;
}

/** What the API shows of a running recorder. */
export interface RecorderSnapshot {
  path: string;
  codecs: string[];
  /** Why it is not writing now (write error, low disk space); null while recording. */
  held: string | null;
}

const LOW_SPACE = 'low disk space';

/** Free bytes of the file system of `dir`, or of its nearest existing parent. */
async function statfsFreeBytes(dir: string): Promise<number> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      const s = await statfs(d);
      return s.bavail * s.bsize;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(d) === d) throw err;
    }
  }
}

export class RecorderManager {
  readonly counters: RecordingCounters = newRecordingCounters();
  /**
   * Segments completed per path since start (`rtspkit_record_segments_completed_total{path}`): one entry
   * per path ever recorded, which the path limits bound.
   */
  readonly segmentsCompletedByPath = new Map<string, number>();
  readonly catalog: DiskRecordingCatalog;
  readonly #o: RecorderManagerOptions;
  readonly #recorders = new Map<string, PathRecorder>();
  /** The media of ready paths, to start recorders again when the settings change. */
  readonly #ready = new Map<string, { media: PublishedMedia; stream: StreamTap }>();
  readonly #completedListeners = new Set<(s: SegmentComplete) => void>();
  /** Recorders being stopped (their last segment closing). */
  readonly #stopping = new Set<Promise<void>>();
  #settingsFor: (path: string) => RecordingSettings;
  #sweepTimer: ClockTimer | undefined;
  #unfollow: (() => void) | undefined;
  #sweeping: Promise<void> | undefined;
  #closed = false;

  constructor(options: RecorderManagerOptions) {
    this.#o = options;
    this.catalog = options.catalog;
    this.#settingsFor = options.settingsFor;
    this.#sweepTimer = clockInterval(
      options.clock,
      () => {
        void this.sweep();
      },
      options.sweepIntervalMs ?? 10_000,
    );
  }

  /** A path has a stream: it is recorded if its settings say so (again if the stream is new). */
  pathReady(name: string, media: PublishedMedia, stream: StreamTap): void {
    if (this.#closed) return;
    this.#ready.set(name, { media, stream });
    const running = this.#recorders.get(name);
    if (running !== undefined && running.stream === stream) return;
    if (running !== undefined) this.#stopRecorder(name, 'new stream');
    const settings = this.#settingsFor(name);
    if (!settings.record || stream.ended) return;
    const recorder = PathRecorder.create({
      path: name,
      media,
      stream,
      settings,
      clock: this.#o.clock,
      logger: this.#o.logger,
      catalog: this.catalog,
      counters: this.counters,
      ...(this.#o.retryMs !== undefined ? { retryMs: this.#o.retryMs } : {}),
      onSegmentComplete: (s) => {
        this.segmentsCompletedByPath.set(s.path, (this.segmentsCompletedByPath.get(s.path) ?? 0) + 1);
        for (const l of [...this.#completedListeners]) {
          try {
            l(s);
          } catch (err) {
            this.#o.logger.error(
              { path: s.path, err: err instanceof Error ? err.message : String(err) },
              'recording: a segment-complete listener failed',
            );
          }
        }
      },
      onStopped: () => {
        if (this.#recorders.get(name) === recorder) this.#recorders.delete(name);
      },
    });
    if (recorder === undefined) return;
    this.#recorders.set(name, recorder);
    recorder.start();
  }

  /** The path is gone (publisher left, source stopped): its recorder closes its segment. */
  pathNotReady(name: string): void {
    this.#ready.delete(name);
    this.#stopRecorder(name, 'path not ready');
  }

  /** New settings (a config reload): recorders whose settings changed start a new segment. */
  configure(settingsFor: (path: string) => RecordingSettings): void {
    this.#settingsFor = settingsFor;
    for (const [name, ready] of this.#ready) {
      const running = this.#recorders.get(name);
      const settings = settingsFor(name);
      if (running !== undefined && sameRecordingSettings(running.settings, settings)) continue;
      if (running !== undefined) this.#stopRecorder(name, 'settings changed');
      this.pathReady(name, ready.media, ready.stream);
    }
  }

  /**
   * Calls `listener` once per finished segment (closed on disk, complete in the catalog), in the order
   * each path's segments were cut: the seam of the API's event stream and of `runOnRecordSegmentComplete`.
   * A listener that throws is logged and never stops the recorder. Returns the unsubscribe.
   */
  onSegmentComplete(listener: (s: SegmentComplete) => void): () => void {
    this.#completedListeners.add(listener);
    return () => {
      this.#completedListeners.delete(listener);
    };
  }

  recorders(): RecorderSnapshot[] {
    return [...this.#recorders.values()].map((r) => ({
      path: r.path,
      codecs: [...r.codecs],
      held: r.heldReason ?? null,
    }));
  }

  /** The running recorder of `name`, if any. */
  recorder(name: string): PathRecorder | undefined {
    return this.#recorders.get(name);
  }

  /**
   * Follows the path manager's events through the engine's view: a path's new stream is recorded from
   * before its first packet, and its recorder closes the segment when the stream ends. Paths already
   * ready are taken from the view's snapshots once.
   */
  follow(view: EngineView): void {
    this.#unfollow?.();
    const offReady = view.onPathReady((p) => {
      this.pathReady(p.name, p.media, p.tap);
    });
    const offNotReady = view.onPathNotReady((p) => {
      this.pathNotReady(p.name);
    });
    this.#unfollow = () => {
      offReady();
      offNotReady();
    };
    for (const p of view.paths()) {
      if (!p.ready) continue;
      const feed = view.feed(p.name);
      if (feed?.stream !== undefined && !feed.stream.ended) this.pathReady(p.name, feed.media, feed.stream);
    }
  }

  /** One retention round (the timer's; tests call it). Rounds never overlap. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweep(): Promise<void> {
    const now = this.#o.clock.wallMs();
    const freeBytes = this.#o.freeBytes ?? statfsFreeBytes;
    const paths = new Set([...this.catalog.paths(), ...this.#recorders.keys()]);
    for (const path of paths) {
      if (this.#closed) return;
      const settings = this.#settingsFor(path);
      for (const s of expiredSegments(this.catalog.segments(path), now, settings.deleteAfterMs))
        await this.#delete(s, 'older than recordDeleteAfter');
      if (settings.minFreeBytes <= 0) continue;
      let free: number;
      try {
        free = await freeBytes(recordingRoot(settings.pathTemplate));
      } catch (err) {
        this.#o.logger.warn(
          { path, err: (err as Error).message },
          'recording: cannot read the free disk space',
        );
        continue;
      }
      const { remove, enough } = segmentsToFreeSpace(
        this.catalog.segments(path),
        free,
        settings.minFreeBytes,
      );
      for (const s of remove) await this.#delete(s, 'free space under recordMinFreeBytes');
      const recorder = this.#recorders.get(path);
      if (recorder === undefined) continue;
      if (!enough && recorder.heldReason === undefined) {
        this.#o.logger.error(
          { path, freeBytes: free, minFreeBytes: settings.minFreeBytes },
          'recording held: free disk space under recordMinFreeBytes even without older segments',
        );
        this.counters.writeErrors++;
        recorder.hold(LOW_SPACE);
      } else if (enough && recorder.heldReason === LOW_SPACE) {
        this.#o.logger.info({ path }, 'recording resumes: free disk space is back');
        recorder.resume();
      }
    }
  }

  /**
   * Deletes the finished segments of `path` that lie wholly in [fromMs, toMs) (the API's DELETE of a
   * span): a segment only partly inside stays whole, as does the open one. Returns what was deleted
   * and what was kept for being open.
   */
  async deleteRange(path: string, fromMs: number, toMs: number): Promise<{ deleted: number; open: number }> {
    let deleted = 0;
    let open = 0;
    for (const s of this.catalog.segments(path, fromMs, toMs)) {
      if (s.startMs < fromMs || s.startMs + s.durationMs > toMs) continue;
      if (s.open) {
        open++;
        continue;
      }
      if (await this.#delete(s, 'deleted through the api')) deleted++;
    }
    return { deleted, open };
  }

  async #delete(s: CatalogEntry, reason: string): Promise<boolean> {
    try {
      await unlink(s.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#o.logger.warn(
          { file: s.file, err: (err as Error).message },
          'recording: cannot delete a segment',
        );
        return false;
      }
    }
    this.catalog.remove(s.path, s.file);
    this.counters.segmentsDeleted++;
    this.#o.logger.info({ path: s.path, file: s.file, reason }, 'recording segment deleted');
    return true;
  }

  #stopRecorder(name: string, reason: string): void {
    const r = this.#recorders.get(name);
    if (r === undefined) return;
    this.#recorders.delete(name);
    const stopping = r.stop(reason).finally(() => this.#stopping.delete(stopping));
    this.#stopping.add(stopping);
  }

  /** Resolves once every recorder stopped so far has closed its last segment (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.#stopping, ...[...this.#recorders.values()].map((r) => r.settled())]);
  }

  /** Stops every recorder (their segments closed) and the timers. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#sweepTimer?.cancel();
    this.#unfollow?.();
    const all = [...this.#recorders.values()];
    this.#recorders.clear();
    this.#ready.clear();
    await Promise.all(all.map((r) => r.stop('server closing')));
    await this.#sweeping;
  }
}
