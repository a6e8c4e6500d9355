/**
 * The RecordingCatalog (catalog.ts) kept in memory over the files on disk: rebuilt by scanning the record
 * folders at start, then kept current by the recorders (a segment opened, grown by a part, closed) and
 * by retention (deleted). Why no database: the files are the truth and carry their own times (`prft`),
 * so an index could only fall out of step with them (a crash between a write and its index update, a
 * file deleted by hand); one scan at start costs a few reads per part.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isParseError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { nullLogger } from '../base/logger.js';
import type { RecordedSegment, RecordedSpan, RecordingCatalog } from './catalog.js';
import { scanSegmentFile } from './segment-scan.js';
import { parseRecordingFileName, recordingRoot, RECORDING_FILE_EXTENSION } from './template.js';

/** A segment and what retention needs of it. */
export interface CatalogEntry extends RecordedSegment {
  sizeBytes: number;
}

/** Default gap between two segments beyond which they are two spans (RecordingCatalog.spans). */
const DEFAULT_MAX_GAP_MS = 1000;
/** Bound on the folders walked while scanning (a template pointing at `/` must not walk the disk). */
const MAX_SCANNED_FILES = 1_000_000;

export class DiskRecordingCatalog implements RecordingCatalog {
  readonly #byPath = new Map<string, CatalogEntry[]>();
  readonly #listeners = new Set<(path: string) => void>();
  readonly #logger: Logger;

  constructor(logger: Logger = nullLogger) {
    this.#logger = logger;
  }

  paths(): string[] {
    return [...this.#byPath.keys()].filter((p) => this.#byPath.get(p)!.length > 0).sort();
  }

  segments(path: string, fromMs = -Infinity, toMs = Infinity): CatalogEntry[] {
    return (this.#byPath.get(path) ?? []).filter(
      (s) => s.startMs < toMs && s.startMs + s.durationMs >= fromMs,
    );
  }

  spans(path: string, maxGapMs = DEFAULT_MAX_GAP_MS): RecordedSpan[] {
    const spans: RecordedSpan[] = [];
    for (const s of this.#byPath.get(path) ?? []) {
      if (s.durationMs <= 0) continue;
      const last = spans.at(-1);
      if (last !== undefined && s.startMs - (last.startMs + last.durationMs) <= maxGapMs) {
        last.durationMs = Math.max(last.durationMs, s.startMs + s.durationMs - last.startMs);
      } else spans.push({ startMs: s.startMs, durationMs: s.durationMs });
    }
    return spans;
  }

  onChange(listener: (path: string) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** The entry of `file`, if catalogued. */
  entry(path: string, file: string): CatalogEntry | undefined {
    return this.#byPath.get(path)?.find((s) => s.file === file);
  }

  /** Adds (or replaces) a segment. */
  add(entry: CatalogEntry): void {
    const list = this.#byPath.get(entry.path) ?? [];
    const i = list.findIndex((s) => s.file === entry.file);
    if (i >= 0) list.splice(i, 1);
    list.push(entry);
    list.sort((a, b) => a.startMs - b.startMs);
    this.#byPath.set(entry.path, list);
    this.#changed(entry.path);
  }

  /** Updates a catalogued segment in place (grown by a part, completed). */
  update(
    path: string,
    file: string,
    change: Partial<Pick<CatalogEntry, 'durationMs' | 'sizeBytes' | 'open'>>,
  ): void {
    const e = this.entry(path, file);
    if (e === undefined) return;
    Object.assign(e, change);
    this.#changed(path);
  }

  remove(path: string, file: string): void {
    const list = this.#byPath.get(path);
    const i = list?.findIndex((s) => s.file === file) ?? -1;
    if (list === undefined || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.#byPath.delete(path);
    this.#changed(path);
  }

  #changed(path: string): void {
    for (const l of [...this.#listeners]) l(path);
  }

  /**
   * Scans the folders of `templates` and catalogues each file that is one of their names: an unreadable
   * or foreign file is skipped with a warning, one with no complete part is skipped silently (a segment
   * cut before its first part). Returns how many segments were catalogued.
   */
  async rebuild(templates: readonly string[]): Promise<number> {
    let added = 0;
    const seen = new Set<string>();
    for (const template of new Set(templates)) {
      for (const file of await listFiles(recordingRoot(template))) {
        if (seen.has(file) || !file.endsWith(RECORDING_FILE_EXTENSION)) continue;
        const named = parseRecordingFileName(template, file);
        if (named === undefined) continue;
        seen.add(file);
        try {
          const scanned = await scanSegmentFile(file, named.startWallMs);
          if (scanned.startMs === undefined) continue;
          this.add({
            path: named.path,
            file,
            startMs: scanned.startMs,
            durationMs: scanned.durationMs,
            codecs: scanned.codecs,
            open: false,
            sizeBytes: scanned.sizeBytes,
          });
          added++;
        } catch (err) {
          if (!isParseError(err) && !isFsError(err)) throw err;
          this.#logger.warn({ file, err: (err as Error).message }, 'recording skipped: cannot read it');
        }
      }
    }
    return added;
  }
}

function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}

/** Every file under `root` (none when it does not exist), boundedly. */
async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const pending = [root];
  while (pending.length > 0 && out.length < MAX_SCANNED_FILES) {
    const dir = pending.pop()!;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isFsError(err)) continue; // ENOENT before the first recording, EACCES: nothing to list
      throw err;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) pending.push(full);
      else if (e.isFile()) out.push(full);
    }
  }
  return out.sort();
}
