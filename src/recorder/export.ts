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
import { RecordingIndexCache } from '../sources/recording-index-cache.js';

export type { ExportFormat, ExportPlan, ExportRefusal } from './export-plan.js';

/** Bytes read from a segment file at a time. */
const READ_BLOCK_BYTES = 256 * 1024;

/** A segment file changed under an export (deleted by retention, cut, rewritten) while it was sent. */
export class ExportReadError extends Error {
  override readonly name = 'ExportReadError';
}

/** Reads one segment file's sample index (the fMP4 reader, in segment-index.ts). */
export type SegmentIndexer = (segment: RecordedSegment) => Promise<IndexedSegment>;

/**
 * Bytes a segment's export index holds per sample and per fragment (V8 objects with six numbers and an
 * array slot; a fragment's runs), for the cache's bound: an estimate, high rather than low.
 */
const INDEX_BYTES_PER_SAMPLE = 96;
const INDEX_BYTES_PER_FRAGMENT = 128;
/** Bytes a plan holds per piece besides the bytes of its in-memory pieces. */
const PLAN_BYTES_PER_PIECE = 64;

function indexBytes(index: IndexedSegment): number {
  let bytes = 0;
  for (const f of index.fragments) {
    bytes += INDEX_BYTES_PER_FRAGMENT;
    for (const r of f.runs) bytes += r.samples.length * INDEX_BYTES_PER_SAMPLE;
  }
  return bytes;
}

function planBytes(plan: ExportPlan): number {
  let bytes = 0;
  for (const piece of plan.pieces)
    bytes += PLAN_BYTES_PER_PIECE + ('bytes' in piece ? piece.bytes.length : 0);
  return bytes;
}

export class RecordingExporter {
  /**
   * `onUnreadable` hears of segments left out of an export because they could not be indexed (the caller
   * logs them). `cache` holds the indexes of complete segments and the plans of windows over them (a
   * browser seeking in an export asks for many ranges of it, and an hour's plan takes a second or two
   * to compute); it is the one RTSP playback uses, so that one bound (`playbackIndexCacheBytes`) covers
   * both.
   */
  constructor(
    private readonly catalog: RecordingCatalog,
    private readonly indexSegment: SegmentIndexer,
    private readonly onUnreadable?: (path: string, problems: string[]) => void,
    private readonly cache: RecordingIndexCache = new RecordingIndexCache(),
  ) {}

  /**
   * A segment's index: from the cache when the segment is complete and its file is as it was when indexed
   * (size and modification time: a file damaged or replaced since is read again), else read again.
   */
  private async indexOf(segment: RecordedSegment): Promise<{ index: IndexedSegment; version: string }> {
    const { size, mtimeMs } = await stat(segment.file);
    const version = `${size}/${mtimeMs}`;
    const make = async (): Promise<{ value: IndexedSegment; bytes: number }> => {
      const index = await this.indexSegment(segment);
      return { value: index, bytes: indexBytes(index) };
    };
    const index = segment.open
      ? (await make()).value
      : await this.cache.get('export-segment', `${segment.file}\n${version}`, make);
    return { index: index!, version };
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
    if (key === undefined || unreadable.length > 0) return planExport(indexed, startMs, durationMs, format);
    let refusal: ExportRefusal | undefined;
    const plan = await this.cache.get('export-plan', key, () => {
      const made = planExport(indexed, startMs, durationMs, format);
      if ('reason' in made) {
        refusal = made;
        return Promise.resolve(undefined);
      }
      return Promise.resolve({ value: made, bytes: planBytes(made) });
    });
    return plan ?? refusal ?? planExport(indexed, startMs, durationMs, format);
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
