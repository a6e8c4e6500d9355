/**
 * An export of recordings as a plan of bytes: which bytes come from memory (the file head, `moof` boxes)
 * and which from the recorded segment files (the samples, never copied into memory whole). The plan is
 * computed from the segments' sample index before anything is sent, so the export's length is known:
 * it answers `Content-Length` and any byte range (RFC 9110 §14) by mapping the range onto the pieces.
 *
 * Time. A segment's samples are placed on the wall clock by its anchor (`wallMsAtZero`: the wall-clock
 * time of media time 0, from its first `prft`); within a segment the recorded durations are kept
 * exactly. The export starts at the reference track's keyframe at or before the asked start (the first
 * video track; a decoder needs it, and a player would show nothing before the next one), which becomes
 * time 0; the other tracks start with their first sample at or after it (a progressive MP4 places them
 * with an empty edit). It ends before the first sample at or after the asked end. Segments that follow
 * each other within a second continue each other in media time (their anchors differ by the jitter of
 * receipt); a longer gap stays a gap in time: the last sample before it lasts until the next one.
 *
 * Segments whose tracks differ (another codec, other parameter sets: the recorder starts a new segment
 * when they change) cannot share one file: the export holds the first run of segments whose tracks match
 * the first segment's, and `truncatedAtMs` says where it stopped.
 */
import {
  progressiveHead,
  type ProgressiveChunk,
  type ProgressiveTrack,
} from '../container/mp4/progressive.js';
import { fragmentHeader, initSegment, type FragmentTrackInfo } from '../container/fmp4/boxes.js';

export type ExportFormat = 'mp4' | 'fmp4';

/** Segments closer than this (ms) continue each other in media time (see contiguityCorrectionMs). */
const CONTIGUOUS_WITHIN_MS = 1000;

/** A track of a recorded segment, as its init segment declares it (what a progressive MP4 track takes of it). */
export type SegmentTrackInfo = Pick<
  ProgressiveTrack,
  'trackId' | 'handler' | 'timescale' | 'sampleEntry' | 'width' | 'height'
>;

/** One recorded sample: its times in the track's timescale and where its bytes are in the file. */
export interface SegmentSample {
  dtsTicks: number;
  durationTicks: number;
  sizeBytes: number;
  compositionOffset: number;
  keyframe: boolean;
  fileOffset: number;
}

/** One `moof` + `mdat` of a segment: each track's samples in it. */
export interface SegmentFragment {
  runs: { trackId: number; samples: SegmentSample[] }[];
}

/** What the exporter needs to know of one recorded file. */
export interface IndexedSegment {
  file: string;
  /** Wall-clock time (ms since the epoch) of media time 0 in this file. */
  wallMsAtZero: number;
  tracks: SegmentTrackInfo[];
  fragments: SegmentFragment[];
}

/** Bytes of the export: in memory, or a stretch of a recorded file. */
export type ExportPiece =
  | { at: number; length: number; bytes: Buffer }
  | { at: number; length: number; file: string; fileOffset: number };

export interface ExportPlan {
  format: ExportFormat;
  contentType: string;
  totalBytes: number;
  /** In output order, contiguous: pieces[i].at + pieces[i].length === pieces[i + 1].at. */
  pieces: ExportPiece[];
  /** Wall-clock time (ms) of the export's time 0: the starting keyframe. */
  startMs: number;
  /** Duration in ms (of the reference track, from time 0). */
  durationMs: number;
  /** Samples per track, in track order. */
  sampleCounts: number[];
  /** Where the export stopped early because a later segment has other tracks (wall-clock ms). */
  truncatedAtMs?: number;
}

/** Why there is nothing to export. */
export type ExportRefusal = { reason: 'empty'; message: string };

function sameTracks(a: readonly SegmentTrackInfo[], b: readonly SegmentTrackInfo[]): boolean {
  return (
    a.length === b.length &&
    a.every((t, i) => {
      const u = b[i]!;
      return (
        t.trackId === u.trackId &&
        t.handler === u.handler &&
        t.timescale === u.timescale &&
        t.sampleEntry.equals(u.sampleEntry)
      );
    })
  );
}

const wallOf = (seg: IndexedSegment, ticks: number, timescale: number): number =>
  seg.wallMsAtZero + (ticks * 1000) / timescale;

/** A sample on its way out: its output decode time and where it comes from. */
interface Placed {
  sample: SegmentSample;
  file: string;
  outDts: number;
  outDuration: number;
}

/** The chosen samples of one source fragment, per track index. */
interface PlacedFragment {
  runs: Placed[][];
}

/**
 * The plan of an export of [startMs, startMs + durationMs) from `segments` (in time order), or why there is
 * nothing in it.
 */
export function planExport(
  segments: readonly IndexedSegment[],
  startMs: number,
  durationMs: number,
  format: ExportFormat,
): ExportPlan | ExportRefusal {
  const endMs = startMs + durationMs;
  const first = segments.find((s) => s.tracks.length > 0 && s.fragments.length > 0);
  if (first === undefined) return { reason: 'empty', message: 'no recorded samples in the window' };
  const tracks = first.tracks;
  const refIndex = Math.max(
    0,
    tracks.findIndex((t) => t.handler === 'vide'),
  );
  const ref = tracks[refIndex]!;

  // The compatible run of segments, from the first one with samples.
  const run: IndexedSegment[] = [];
  let truncatedAtMs: number | undefined;
  for (const s of segments.slice(segments.indexOf(first))) {
    if (s.fragments.length === 0) continue;
    if (!sameTracks(tracks, s.tracks)) {
      truncatedAtMs = s.wallMsAtZero;
      break;
    }
    run.push(s);
  }

  // The starting keyframe: the last one at or before startMs, else the first one after it (a window that
  // opens before the recording does).
  let atOrBefore: { w: number; leadMs: number } | undefined;
  let after: { w: number; leadMs: number } | undefined;
  for (const seg of run)
    for (const f of seg.fragments)
      for (const r of f.runs) {
        if (r.trackId !== ref.trackId) continue;
        for (const s of r.samples) {
          if (!s.keyframe) continue;
          const w = wallOf(seg, s.dtsTicks, ref.timescale);
          const k = { w, leadMs: (Math.max(0, s.compositionOffset) * 1000) / ref.timescale };
          if (w <= startMs) atOrBefore = w >= (atOrBefore?.w ?? -Infinity) ? k : atOrBefore;
          else if (w < endMs) after = w < (after?.w ?? Infinity) ? k : after;
        }
      }
  const start = atOrBefore ?? after;
  if (start === undefined) return { reason: 'empty', message: 'no keyframe recorded in the window' };
  const w0 = start.w;
  // The keyframe is shown its composition offset after its decode time (a recording presents every track
  // 0.2 s after video's decode times start, path-recorder.ts): the other tracks start with it, not before.
  const leadMs = start.leadMs;

  const placed: PlacedFragment[] = [];
  const last: (Placed | undefined)[] = tracks.map(() => undefined);
  for (const seg of run) {
    const correctionMs = contiguityCorrectionMs(seg, ref, last[refIndex], w0);
    for (const f of seg.fragments) {
      const out: Placed[][] = tracks.map(() => []);
      for (const r of f.runs) {
        const t = tracks.findIndex((x) => x.trackId === r.trackId);
        if (t < 0) continue;
        const ts = tracks[t]!.timescale;
        const shift = Math.round(((seg.wallMsAtZero + correctionMs - w0) * ts) / 1000);
        for (const s of r.samples) {
          const w = wallOf(seg, s.dtsTicks, ts);
          // A small tolerance below w0: the keyframe itself, computed the same way, is at w0 exactly.
          if (w < w0 - 1e-6 || w >= endMs) continue;
          if (t !== refIndex && last[t] === undefined && w < w0 + leadMs - 1e-6) continue;
          let outDts = s.dtsTicks + shift;
          const previous = last[t];
          if (previous !== undefined) {
            // Segments that overlap by rounding (or by a clock step) never make time go back.
            outDts = Math.max(outDts, previous.outDts + 1);
            previous.outDuration = outDts - previous.outDts;
          } else outDts = Math.max(0, outDts);
          const p: Placed = { sample: s, file: seg.file, outDts, outDuration: Math.max(1, s.durationTicks) };
          out[t]!.push(p);
          last[t] = p;
        }
      }
      if (out.some((x) => x.length > 0)) placed.push({ runs: out });
    }
  }
  const sampleCounts = tracks.map((_, t) => placed.reduce((n, f) => n + f.runs[t]!.length, 0));
  const refLast = last[refIndex];
  const durationOut =
    refLast === undefined ? 0 : ((refLast.outDts + refLast.outDuration) * 1000) / ref.timescale;

  const pieces = new PieceList();
  if (format === 'mp4') {
    const progressiveTracks: ProgressiveTrack[] = tracks.map((t, i) => {
      const all = placed.flatMap((f) => f.runs[i]!);
      return {
        trackId: t.trackId,
        handler: t.handler,
        timescale: t.timescale,
        sampleEntry: t.sampleEntry,
        ...(t.width !== undefined ? { width: t.width } : {}),
        ...(t.height !== undefined ? { height: t.height } : {}),
        // The reference track's edit starts at its first picture (progressive.ts), leadMs into its
        // media: the other tracks' starts move back by as much, so they stay aligned with it.
        startTicks:
          i === refIndex
            ? (all[0]?.outDts ?? 0)
            : Math.max(0, (all[0]?.outDts ?? 0) - Math.round((leadMs * t.timescale) / 1000)),
        samples: {
          count: all.length,
          durationTicks: Uint32Array.from(all, (p) => p.outDuration),
          sizeBytes: Uint32Array.from(all, (p) => p.sample.sizeBytes),
          compositionOffset: Int32Array.from(all, (p) => p.sample.compositionOffset),
          keyframe: Uint8Array.from(all, (p) => (p.sample.keyframe ? 1 : 0)),
        },
      };
    });
    // A track without samples in the window is left out rather than declared empty.
    const kept = progressiveTracks.map((t, i) => ({ t, i })).filter(({ t }) => t.samples.count > 0);
    const chunks: ProgressiveChunk[] = [];
    for (const f of placed)
      kept.forEach(({ i }, k) => {
        const n = f.runs[i]!.length;
        if (n > 0) chunks.push({ track: k, sampleCount: n });
      });
    const head = progressiveHead(
      kept.map(({ t }) => t),
      chunks,
    );
    pieces.bytes(head.head);
    for (const f of placed) for (const { i } of kept) pieces.samples(f.runs[i]!);
  } else {
    pieces.bytes(
      initSegment(
        tracks.map((t) => ({
          trackId: t.trackId,
          handler: t.handler,
          timescale: t.timescale,
          sampleEntry: t.sampleEntry,
          ...(t.width !== undefined ? { width: t.width } : {}),
          ...(t.height !== undefined ? { height: t.height } : {}),
        })),
      ),
    );
    placed.forEach((f, n) => {
      const infos: FragmentTrackInfo[] = tracks.map((t, i) => ({
        trackId: t.trackId,
        baseMediaDecodeTime: f.runs[i]![0]?.outDts ?? 0,
        samples: f.runs[i]!.map((p) => ({
          durationTicks: p.outDuration,
          sizeBytes: p.sample.sizeBytes,
          keyframe: p.sample.keyframe,
          compositionOffset: p.sample.compositionOffset,
        })),
      }));
      pieces.bytes(fragmentHeader(n + 1, infos));
      // fragmentHeader lays out the tracks with samples in track order.
      for (const r of f.runs) pieces.samples(r);
    });
  }
  return {
    format,
    contentType: 'video/mp4',
    totalBytes: pieces.total,
    pieces: pieces.list,
    startMs: w0,
    durationMs: durationOut,
    sampleCounts,
    ...(truncatedAtMs !== undefined && truncatedAtMs < endMs ? { truncatedAtMs } : {}),
  };
}

/**
 * How far to move a segment so that it continues the previous one exactly, when the two are contiguous:
 * the recorder starts the next segment with the next frame, but each segment's anchor is the wall clock
 * at the receipt of its first frame, which network jitter moves by tens of ms from where media time puts
 * it. Keeping that jitter would stretch or squeeze the last frame before each cut; within
 * `CONTIGUOUS_WITHIN_MS` (the catalog's default gap between spans) media time wins, beyond it is a gap.
 */
function contiguityCorrectionMs(
  seg: IndexedSegment,
  ref: SegmentTrackInfo,
  previous: Placed | undefined,
  w0: number,
): number {
  if (previous === undefined) return 0;
  let firstDts: number | undefined;
  for (const f of seg.fragments)
    for (const r of f.runs)
      if (r.trackId === ref.trackId && r.samples.length > 0)
        firstDts = Math.min(firstDts ?? Infinity, r.samples[0]!.dtsTicks);
  if (firstDts === undefined) return 0;
  const expectedMs = ((previous.outDts + previous.sample.durationTicks) * 1000) / ref.timescale;
  const placedMs = wallOf(seg, firstDts, ref.timescale) - w0;
  const deltaMs = expectedMs - placedMs;
  return Math.abs(deltaMs) <= CONTIGUOUS_WITHIN_MS ? deltaMs : 0;
}

/** Pieces in output order; samples that follow each other in one file become one piece. */
class PieceList {
  readonly list: ExportPiece[] = [];
  total = 0;

  bytes(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.list.push({ at: this.total, length: bytes.length, bytes });
    this.total += bytes.length;
  }

  samples(run: readonly Placed[]): void {
    for (const p of run) {
      const size = p.sample.sizeBytes;
      if (size === 0) continue;
      const tail = this.list[this.list.length - 1];
      if (
        tail !== undefined &&
        'file' in tail &&
        tail.file === p.file &&
        tail.fileOffset + tail.length === p.sample.fileOffset
      )
        tail.length += size;
      else this.list.push({ at: this.total, length: size, file: p.file, fileOffset: p.sample.fileOffset });
      this.total += size;
    }
  }
}

/**
 * The pieces that hold bytes [from, to) of the export, cut to that range (binary search: an hour's
 * export has thousands of pieces and a browser asks for many ranges).
 */
export function piecesInRange(plan: ExportPlan, from: number, to: number): ExportPiece[] {
  const list = plan.pieces;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const p = list[mid]!;
    if (p.at + p.length <= from) lo = mid + 1;
    else hi = mid;
  }
  const out: ExportPiece[] = [];
  for (let i = lo; i < list.length && list[i]!.at < to; i++) {
    const p = list[i]!;
    const start = Math.max(from, p.at);
    const end = Math.min(to, p.at + p.length);
    const skip = start - p.at;
    if ('bytes' in p)
      out.push({ at: start, length: end - start, bytes: p.bytes.subarray(skip, skip + end - start) });
    else out.push({ at: start, length: end - start, file: p.file, fileOffset: p.fileOffset + skip });
  }
  return out;
}
