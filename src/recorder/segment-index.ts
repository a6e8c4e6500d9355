/**
 * A recorded segment file's sample index as the exporter needs it (export-plan.ts): the fMP4 reader's
 * index (container/fmp4/reader.ts) read through a file handle, the tracks' raw sample entries, and the
 * wall-clock anchor of the file's media time. A file cut by a crash is indexed up to its last complete
 * fragment (the reader's rule), so an export never reads past what was written whole.
 */
import { open } from 'node:fs/promises';
import { indexFmp4, type Fmp4Index } from '../container/fmp4/reader.js';
import { readInitSampleEntries } from '../container/fmp4/sample-entries.js';
import type { ByteSource } from '../container/mp4/reader.js';
import type { RecordedSegment } from './catalog.js';
import type { IndexedSegment, SegmentFragment, SegmentTrackInfo } from './export-plan.js';

/**
 * Media time 0 on the wall clock: from the first `prft` (the presentation time it names), else from
 * the catalog's start of the segment (its first sample, on the first video track or the first track).
 */
function wallMsAtZero(
  index: Fmp4Index,
  tracks: readonly SegmentTrackInfo[],
  segment: RecordedSegment,
): number {
  for (const f of index.fragments) {
    const prft = f.prft;
    if (prft === undefined) continue;
    const ref = tracks.find((t) => t.trackId === prft.referenceTrackId);
    if (ref !== undefined) return prft.wallClockMs - (prft.mediaTime * 1000) / ref.timescale;
  }
  const ref = tracks.find((t) => t.handler === 'vide') ?? tracks[0];
  for (const f of index.fragments)
    for (const r of f.runs)
      if (r.trackId === ref?.trackId && r.count > 0)
        return segment.startMs - (r.decodeTime[0]! * 1000) / ref.timescale;
  return segment.startMs;
}

/** Indexes one segment file (reads its boxes, never its samples). */
export async function indexSegmentFile(segment: RecordedSegment): Promise<IndexedSegment> {
  const handle = await open(segment.file, 'r');
  try {
    const { size } = await handle.stat();
    const source: ByteSource = {
      size,
      read: async (offset, length) => {
        const buf = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
        const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
        return buf.subarray(0, bytesRead);
      },
    };
    const index = await indexFmp4(source);
    const entries = readInitSampleEntries(await source.read(0, index.initBytes));
    const tracks: SegmentTrackInfo[] = [];
    for (const t of index.tracks) {
      const sampleEntry = entries.get(t.trackId);
      // Only audio and video go into an export (a timed-metadata track would need its own handler).
      if (sampleEntry === undefined || (t.handler !== 'vide' && t.handler !== 'soun')) continue;
      tracks.push({
        trackId: t.trackId,
        handler: t.handler,
        timescale: t.timescale,
        sampleEntry,
        ...(t.width !== undefined ? { width: t.width } : {}),
        ...(t.height !== undefined ? { height: t.height } : {}),
      });
    }
    const fragments: SegmentFragment[] = index.fragments.map((f) => ({
      runs: f.runs
        .filter((r) => tracks.some((t) => t.trackId === r.trackId))
        .map((r) => ({
          trackId: r.trackId,
          samples: Array.from({ length: r.count }, (_, i) => ({
            dtsTicks: r.decodeTime[i]!,
            durationTicks: r.duration[i]!,
            sizeBytes: r.size[i]!,
            compositionOffset: r.compositionOffset[i]!,
            keyframe: r.sync[i] === 1,
            fileOffset: r.offset[i]!,
          })),
        })),
    }));
    return { file: segment.file, wallMsAtZero: wallMsAtZero(index, tracks, segment), tracks, fragments };
  } finally {
    await handle.close();
  }
}
