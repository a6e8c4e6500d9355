/**
 * What a segment file on disk holds, through the fMP4 reader (container/fmp4/reader.ts: box headers,
 * `moov`, `prft` and `moof` read, never an `mdat`). The duration counts complete parts only: a tail cut
 * by a crash or a full disk is ignored, as a player would.
 *
 * Wall-clock times come from the `prft` before each part (the server's clock at receipt); a file
 * without them (not ours) falls back to the start time of its name and its media durations.
 */
import { indexFmp4, type Fmp4Fragment, type Fmp4TrackInfo } from '../container/fmp4/reader.js';
import { fileByteSource } from '../sources/file-source.js';

export interface ScannedSegment {
  /** Wall-clock start of the first complete part; undefined when no part is complete. */
  startMs: number | undefined;
  durationMs: number;
  codecs: string[];
  /** Bytes up to the end of the last complete part (what a reader can use). */
  usableBytes: number;
  sizeBytes: number;
  parts: number;
  /** Why the reader stopped before the end (a cut tail, a damaged part); undefined when whole. */
  stopReason: string | undefined;
}

/** Media duration in ms of a part: its run of the reference track (the prft's, else the first). */
function partDurationMs(f: Fmp4Fragment, tracks: readonly Fmp4TrackInfo[]): number {
  const refId = f.prft?.referenceTrackId ?? f.runs[0]?.trackId;
  const run = f.runs.find((r) => r.trackId === refId) ?? f.runs[0];
  const timescale = tracks.find((t) => t.trackId === run?.trackId)?.timescale ?? 0;
  if (run === undefined || timescale <= 0) return 0;
  let ticks = 0;
  for (let i = 0; i < run.count; i++) ticks += run.duration[i]!;
  return (ticks * 1000) / timescale;
}

/**
 * Scans `file`. `fallbackStartMs` (from its name) is used for parts without a `prft`. Rejects with a
 * ParseError when the file is not an fMP4 (broken init segment), and with the fs errors of reading it.
 */
export async function scanSegmentFile(file: string, fallbackStartMs?: number): Promise<ScannedSegment> {
  const source = await fileByteSource(file);
  try {
    const index = await indexFmp4(source);
    let startMs: number | undefined;
    let endMs: number | undefined;
    let mediaMs = 0;
    for (const f of index.fragments) {
      const durationMs = partDurationMs(f, index.tracks);
      const partStart = f.prft?.wallClockMs ?? (fallbackStartMs ?? 0) + mediaMs;
      startMs ??= partStart;
      mediaMs += durationMs;
      endMs = Math.max(endMs ?? -Infinity, partStart + durationMs);
    }
    return {
      startMs,
      durationMs: startMs !== undefined && endMs !== undefined ? Math.max(0, endMs - startMs) : 0,
      codecs: index.tracks.map((t) => (t.codec === 'unknown' ? t.fourcc.trim() : t.codec)),
      usableBytes: index.completeBytes,
      sizeBytes: index.fileSize,
      parts: index.fragments.length,
      stopReason: index.stopReason,
    };
  } finally {
    await source.close();
  }
}
