/**
 * One recorded segment's samples as playback needs them: each played track's samples in decode order, in
 * typed arrays (about 30 bytes a sample, so an hour of 25 fps video with AAC is about 8 MB), with each
 * sample's presentation time on the wall clock. Made once per file version and shared by every playback
 * through the RecordingIndexCache (recording-index-cache.ts); never changed after.
 *
 * The fMP4 reader (container/fmp4/reader.ts) walks the file's boxes with small reads (a box header, then
 * its body); a recording has a `prft`, a `moof` and an `mdat` header per part, five reads of a few bytes.
 * `readAheadSource` serves them from one read of READ_AHEAD_BYTES at each part's start, which made indexing
 * a 60-part segment about 4x cheaper (304 reads to about 65).
 */
import type { Fmp4Index, Fmp4TrackInfo } from '../container/fmp4/reader.js';
import type { ByteSource } from '../container/mp4/reader.js';
import type { RecordedSegment } from '../recorder/catalog.js';

/** Codecs a recording is played back in over RTSP (their RTP packetizers: mp4-rtp.ts). */
export const PLAYABLE_RECORDED_CODECS: ReadonlySet<string> = new Set([
  'h264',
  'h265',
  'aac',
  'opus',
  'mjpeg',
  'pcma',
  'pcmu',
]);

/** Bytes read at a time while indexing: a part's `prft` + `moof` + `mdat` header fit in it. */
const READ_AHEAD_BYTES = 4 * 1024;

/** A played track's samples in one segment, in decode order. */
export interface SegmentTrackSamples {
  readonly count: number;
  /** Presentation time on the wall clock (ms since the Unix epoch). */
  readonly wallPtsMs: Float64Array;
  /** Composition offset (pts − dts), ticks. */
  readonly cto: Int32Array;
  readonly duration: Uint32Array;
  readonly size: Uint32Array;
  /** Offset of the sample's bytes in the segment file. */
  readonly offset: Float64Array;
  readonly sync: Uint8Array;
}

export interface PlaybackSegmentIndex {
  readonly file: string;
  readonly fileSize: number;
  /** The end of the last complete part: no sample is read beyond it. */
  readonly completeBytes: number;
  /** The played tracks (PLAYABLE_RECORDED_CODECS), in file order. */
  readonly tracks: readonly Fmp4TrackInfo[];
  /** Parallel to `tracks`. */
  readonly samples: readonly SegmentTrackSamples[];
  /** Why the index ends before the file does (a cut or damaged tail). */
  readonly stopReason: string | undefined;
  /** What it holds in memory, about (the cache's measure). */
  readonly bytes: number;
}

/**
 * The played samples of a segment from its fMP4 index, or undefined when it has no fragment. Media time 0
 * is placed on the wall clock by the first `prft`, else by the catalog's start (the first sample's time).
 */
export function playbackSegmentIndex(
  seg: RecordedSegment,
  index: Fmp4Index,
): PlaybackSegmentIndex | undefined {
  const first = index.fragments[0];
  if (first === undefined) return undefined;
  let wallAtZeroMs: number;
  const ref = index.tracks.find((t) => t.trackId === first.prft?.referenceTrackId);
  if (first.prft !== undefined && ref !== undefined) {
    wallAtZeroMs = first.prft.wallClockMs - (first.prft.mediaTime / ref.timescale) * 1000;
  } else {
    const run = first.runs[0];
    const t = index.tracks.find((x) => x.trackId === run?.trackId);
    wallAtZeroMs =
      run === undefined || t === undefined
        ? seg.startMs
        : seg.startMs - (run.decodeTime[0]! / t.timescale) * 1000;
  }
  const tracks = index.tracks.filter((t) => PLAYABLE_RECORDED_CODECS.has(t.codec));
  let bytes = 512;
  const samples = tracks.map((t) => {
    let count = 0;
    for (const f of index.fragments) for (const r of f.runs) if (r.trackId === t.trackId) count += r.count;
    const s = {
      count,
      wallPtsMs: new Float64Array(count),
      cto: new Int32Array(count),
      duration: new Uint32Array(count),
      size: new Uint32Array(count),
      offset: new Float64Array(count),
      sync: new Uint8Array(count),
    };
    let i = 0;
    for (const f of index.fragments)
      for (const r of f.runs) {
        if (r.trackId !== t.trackId) continue;
        for (let k = 0; k < r.count; k++, i++) {
          s.wallPtsMs[i] = wallAtZeroMs + ((r.decodeTime[k]! + r.compositionOffset[k]!) / t.timescale) * 1000;
          s.cto[i] = r.compositionOffset[k]!;
          s.duration[i] = r.duration[k]!;
          s.size[i] = r.size[k]!;
          s.offset[i] = r.offset[k]!;
          s.sync[i] = r.sync[k]!;
        }
      }
    bytes += count * 33 + t.codecConfig.length;
    return s;
  });
  return {
    file: seg.file,
    fileSize: index.fileSize,
    completeBytes: index.completeBytes,
    tracks,
    samples,
    stopReason: index.stopReason,
    bytes,
  };
}

/**
 * A ByteSource that reads READ_AHEAD_BYTES (or the request, if longer) at a time and serves the reads that
 * fall inside the last block from it: the fMP4 walk's header-then-body reads of small boxes.
 */
export function readAheadSource(source: ByteSource): ByteSource {
  let blockAt = 0;
  let block: Buffer | undefined;
  return {
    size: source.size,
    async read(offset: number, length: number): Promise<Buffer> {
      if (block !== undefined && offset >= blockAt && offset + length <= blockAt + block.length)
        return block.subarray(offset - blockAt, offset - blockAt + length);
      const want = Math.min(Math.max(length, READ_AHEAD_BYTES), source.size - offset);
      const data = await source.read(offset, Math.max(want, 0));
      if (length > READ_AHEAD_BYTES) return data;
      block = data;
      blockAt = offset;
      return data.subarray(0, length);
    },
  };
}
