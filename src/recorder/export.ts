/**
 * Export of a path's recordings as one file (MP4 or fMP4) across segments: the plan (export-plan.ts) from
 * the catalog's segments and their sample index, then the bytes of any range of it, read from the segment
 * files as they are sent. Nothing holds a whole export in memory: the head (moov or moofs) is what is
 * built, the samples are copied from disk in blocks of `READ_BLOCK_BYTES`.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { ParseError } from '../base/errors.js';
import type { RecordingCatalog } from './catalog.js';
import {
  piecesInRange,
  planExport,
  type ExportFormat,
  type ExportPlan,
  type ExportRefusal,
  type IndexedSegment,
} from './export-plan.js';
import type { RecordedSegment } from './catalog.js';

export type { ExportFormat, ExportPlan, ExportRefusal } from './export-plan.js';

/** Bytes read from a segment file at a time. */
const READ_BLOCK_BYTES = 256 * 1024;

/** A segment file changed under an export (deleted by retention, cut, rewritten) while it was sent. */
export class ExportReadError extends Error {
  override readonly name = 'ExportReadError';
}

/** Reads one segment file's sample index (the fMP4 reader, in segment-index.ts). */
export type SegmentIndexer = (segment: RecordedSegment) => Promise<IndexedSegment>;

/** Completed segments whose index is kept: a browser seeking in an export asks for many ranges of it. */
const INDEX_CACHE_ENTRIES = 256;
/** Plans kept: a few exports being watched at once. */
const PLAN_CACHE_ENTRIES = 8;

export class RecordingExporter {
  /** Indexes of completed segments by file, least recently used first. */
  private readonly cache = new Map<string, { version: string; index: IndexedSegment }>();
  /** Recent plans over complete segments, by window and the files' versions. */
  private readonly plans = new Map<string, ExportPlan>();

  /**
   * `onUnreadable` hears of segments left out of an export because they could not be indexed (the caller
   * logs them).
   */
  constructor(
    private readonly catalog: RecordingCatalog,
    private readonly indexSegment: SegmentIndexer,
    private readonly onUnreadable?: (path: string, problems: string[]) => void,
  ) {}

  /**
   * A segment's index: from the cache when the segment is complete and its file is as it was when indexed
   * (size and modification time: a file damaged or replaced since is read again), else read again.
   */
  private async indexOf(segment: RecordedSegment): Promise<{ index: IndexedSegment; version: string }> {
    const { size, mtimeMs } = await stat(segment.file);
    const version = `${size}/${mtimeMs}`;
    const cached = this.cache.get(segment.file);
    if (cached !== undefined && !segment.open && cached.version === version) {
      this.cache.delete(segment.file);
      this.cache.set(segment.file, cached);
      return cached;
    }
    const index = await this.indexSegment(segment);
    if (!segment.open) {
      this.cache.delete(segment.file);
      this.cache.set(segment.file, { version, index });
      if (this.cache.size > INDEX_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    }
    return { index, version };
  }

  /** The plan of an export of [startMs, startMs + durationMs) of `path`, or why there is none. */
  async plan(
    path: string,
    startMs: number,
    durationMs: number,
    format: ExportFormat,
  ): Promise<ExportPlan | ExportRefusal> {
    const segments = this.catalog.segments(path, startMs, startMs + durationMs);
    if (segments.length === 0)
      return { reason: 'empty', message: `nothing of ${path} is recorded in the window` };
    const indexed: IndexedSegment[] = [];
    const unreadable: string[] = [];
    // The plan of the same window over the same unchanged, complete files is the same: a browser seeking in
    // an export asks for many ranges of it, and an hour's plan takes a second or two to compute.
    let key: string | undefined = `${path}\n${startMs}\n${durationMs}\n${format}`;
    for (const s of segments) {
      try {
        const { index, version } = await this.indexOf(s);
        indexed.push(index);
        key = s.open || key === undefined ? undefined : `${key}\n${s.file}\n${version}`;
      } catch (err) {
        // A segment deleted since the catalog listed it, or whose init segment is damaged: the export
        // holds the others (a damaged fragment only ends that file's index, in the reader).
        if (!(err instanceof ParseError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        unreadable.push(`${s.file}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (unreadable.length > 0) this.onUnreadable?.(path, unreadable);
    const cached = key !== undefined && unreadable.length === 0 ? this.plans.get(key) : undefined;
    if (cached !== undefined) return cached;
    const plan = planExport(indexed, startMs, durationMs, format);
    if (key !== undefined && unreadable.length === 0 && !('reason' in plan)) {
      this.plans.set(key, plan);
      if (this.plans.size > PLAN_CACHE_ENTRIES) this.plans.delete(this.plans.keys().next().value!);
    }
    return plan;
  }
}

/**
 * The bytes [from, to) of an export, in blocks. Throws ExportReadError when a segment file is shorter
 * than its index said (a response already started can then only be cut).
 */
export async function* readExport(plan: ExportPlan, from: number, to: number): AsyncGenerator<Buffer> {
  const handles = new Map<string, FileHandle>();
  try {
    for (const piece of piecesInRange(plan, from, to)) {
      if ('bytes' in piece) {
        yield piece.bytes;
        continue;
      }
      let handle = handles.get(piece.file);
      if (handle === undefined) {
        try {
          handle = await open(piece.file, 'r');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT')
            throw new ExportReadError(`${piece.file} was removed during the export`);
          throw err;
        }
        handles.set(piece.file, handle);
      }
      for (let done = 0; done < piece.length;) {
        const n = Math.min(READ_BLOCK_BYTES, piece.length - done);
        const block = Buffer.allocUnsafe(n);
        const { bytesRead } = await handle.read(block, 0, n, piece.fileOffset + done);
        if (bytesRead < n) throw new ExportReadError(`${piece.file} is shorter than its index`);
        done += n;
        yield block;
      }
    }
  } finally {
    for (const h of handles.values()) await h.close();
  }
}
