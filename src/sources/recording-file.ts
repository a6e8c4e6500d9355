/**
 * A recording played as a file on demand: the fMP4 segments of a path that overlap a window of wall-clock
 * time, indexed with the fMP4 reader (container/fmp4/reader.ts, never reading mdat) and joined into one
 * `VodFile` whose tracks' sample tables span them; sample bytes are read on demand from the right segment.
 * Everything the VOD engine does for files (Range, queued PLAY, PAUSE, Scale ±, Speed) then works on it.
 *
 * The window starts at the video keyframe at or before its start (what a decoder needs; npt 0 is there)
 * and ends before its end. Segments must have the tracks of the first one (same codecs, in order): a
 * segment with other tracks ends the window (a codec change starts a new segment; it is played by a
 * request that starts there). Gaps between segments are closed up on the npt timeline and marked (see
 * recording-timeline.ts). A segment that cannot be read or indexed is skipped with a warning; a cut tail
 * (a recording still being written, a crash) keeps its complete fragments.
 */
import type { Logger } from '../base/logger.js';
import { ParseError } from '../base/errors.js';
import { indexFmp4, type Fmp4Index, type Fmp4TrackInfo } from '../container/fmp4/reader.js';
import type { Mp4Track } from '../container/mp4/reader.js';
import type { SampleTable } from '../container/mp4/sample-table.js';
import type { RecordedSegment, RecordingCatalog } from '../recorder/catalog.js';
import { fileByteSource, type FileByteSource } from './file-source.js';
import { errorMessage, FIRST_DYNAMIC_PT, makeRtpTrack } from './mp4-rtp.js';
import { RecordingTimeline, type RecordingSection } from './recording-timeline.js';
import { VodFile } from './vod-file.js';

/** The requested window, ms since the Unix epoch; `endMs` exclusive, undefined: to the last recording. */
export interface RecordingWindow {
  startMs: number;
  endMs?: number;
}

export interface RecordingFileOptions {
  logger: Logger;
  maxPayloadBytes?: number;
  /** Most segments joined into one playback (default 2000: 33 hours of 60 s segments). */
  maxSegments?: number;
  /** Longest gap between segments still played through as one section (default 1000 ms, as catalog spans). */
  maxJoinGapMs?: number;
}

/** No recording of the path in the window (404). */
export class NoRecordingError extends Error {
  override readonly name = 'NoRecordingError';
}

const DEFAULT_MAX_SEGMENTS = 2000;
const DEFAULT_MAX_JOIN_GAP_MS = 1000;
const PLAYABLE = new Set(['h264', 'h265', 'aac', 'opus']);

interface OpenSegment {
  seg: RecordedSegment;
  source: FileByteSource;
  index: Fmp4Index;
  /** Virtual offset of the file's byte 0 in the joined byte space. */
  base: number;
  /** Wall-clock ms of media time 0 of the segment. */
  wallAtZeroMs: number;
}

interface Row {
  wallPtsMs: number;
  cto: number;
  duration: number;
  size: number;
  offset: number;
  sync: boolean;
  segment: number;
}

/** Opens the recording of `path` in `window` as a VodFile. Rejects with NoRecordingError when nothing is there. */
export async function openRecording(
  catalog: RecordingCatalog,
  path: string,
  window: RecordingWindow,
  options: RecordingFileOptions,
): Promise<VodFile> {
  const logger = options.logger.child({ source: 'recording', path });
  const listed = catalog
    .segments(path, window.startMs, window.endMs)
    .slice(0, options.maxSegments ?? DEFAULT_MAX_SEGMENTS);
  const open: OpenSegment[] = [];
  const closeAll = (): Promise<void> =>
    Promise.all(open.map((o) => o.source.close().catch(() => undefined))).then(() => undefined);
  try {
    let base = 0;
    let tracks: Fmp4TrackInfo[] | undefined;
    for (const seg of listed) {
      const o = await openSegment(seg, base, logger);
      if (o === undefined) continue;
      const played = o.index.tracks.filter((t) => PLAYABLE.has(t.codec));
      if (tracks === undefined) tracks = played;
      else if (!sameTracks(tracks, played)) {
        logger.info(
          { file: seg.file },
          'the tracks change at this segment: the playback window ends before it',
        );
        await o.source.close();
        break;
      }
      open.push(o);
      base += o.index.fileSize + 1;
    }
    if (tracks === undefined || tracks.length === 0 || open.length === 0)
      throw new NoRecordingError(`no playable recording of ${path} in the window`);
    const file = joinSegments(path, open, tracks, window, options);
    logger.info(
      {
        segments: open.length,
        firstMs: file.recording?.firstMs,
        durationS: Number(file.durationS.toFixed(3)),
      },
      'recording opened for playback',
    );
    return file;
  } catch (e) {
    await closeAll();
    throw e;
  }
}

async function openSegment(
  seg: RecordedSegment,
  base: number,
  logger: Logger,
): Promise<OpenSegment | undefined> {
  let source: FileByteSource;
  try {
    source = await fileByteSource(seg.file);
  } catch (e) {
    logger.warn({ file: seg.file, err: errorMessage(e) }, 'recording segment cannot be opened: skipped');
    return undefined;
  }
  try {
    const index = await indexFmp4(source);
    if (index.stopReason !== undefined && !seg.open)
      logger.warn(
        { file: seg.file, reason: index.stopReason },
        'recording segment read up to a damaged or cut part',
      );
    const first = index.fragments[0];
    if (first === undefined) {
      await source.close();
      return undefined;
    }
    let wallAtZeroMs: number;
    const ref = index.tracks.find((t) => t.trackId === first.prft?.referenceTrackId);
    if (first.prft !== undefined && ref !== undefined) {
      wallAtZeroMs = first.prft.wallClockMs - (first.prft.mediaTime / ref.timescale) * 1000;
    } else {
      // No prft: the catalog's start (from the file name) is the first sample's time.
      const run = first.runs[0]!;
      const t = index.tracks.find((x) => x.trackId === run.trackId)!;
      wallAtZeroMs = seg.startMs - (run.decodeTime[0]! / t.timescale) * 1000;
    }
    return { seg, source, index, base, wallAtZeroMs };
  } catch (e) {
    await source.close().catch(() => undefined);
    if (e instanceof ParseError || (e instanceof Error && 'code' in e)) {
      logger.warn({ file: seg.file, err: errorMessage(e) }, 'recording segment cannot be indexed: skipped');
      return undefined;
    }
    throw e;
  }
}

function sameTracks(a: readonly Fmp4TrackInfo[], b: readonly Fmp4TrackInfo[]): boolean {
  return (
    a.length === b.length && a.every((t, i) => t.codec === b[i]!.codec && t.timescale === b[i]!.timescale)
  );
}

/** The samples of track n (by position among the played tracks) of every segment, in decode order. */
function rowsOf(open: readonly OpenSegment[], n: number, tracks: readonly Fmp4TrackInfo[]): Row[] {
  const rows: Row[] = [];
  open.forEach((o, segment) => {
    const played = o.index.tracks.filter((t) => PLAYABLE.has(t.codec));
    const info = played[n]!;
    const ts = tracks[n]!.timescale;
    for (const f of o.index.fragments)
      for (const run of f.runs) {
        if (run.trackId !== info.trackId) continue;
        for (let i = 0; i < run.count; i++)
          rows.push({
            wallPtsMs: o.wallAtZeroMs + ((run.decodeTime[i]! + run.compositionOffset[i]!) / ts) * 1000,
            cto: run.compositionOffset[i]!,
            duration: run.duration[i]!,
            size: run.size[i]!,
            offset: o.base + run.offset[i]!,
            sync: run.sync[i] === 1,
            segment,
          });
      }
  });
  return rows;
}

function joinSegments(
  path: string,
  open: readonly OpenSegment[],
  tracks: readonly Fmp4TrackInfo[],
  window: RecordingWindow,
  options: RecordingFileOptions,
): VodFile {
  const endMs = window.endMs ?? Infinity;
  const all = tracks.map((_, n) => rowsOf(open, n, tracks));
  // npt 0: the video keyframe at or before the start (else the first one); audio-only: the start itself.
  const video = tracks.findIndex((t) => t.kind === 'video');
  let cutMs = window.startMs;
  if (video >= 0) {
    const keys = all[video]!.filter((r) => r.sync);
    const before = keys.filter((r) => r.wallPtsMs <= window.startMs + 0.5).at(-1) ?? keys[0];
    if (before === undefined) throw new NoRecordingError(`no keyframe recorded of ${path}`);
    cutMs = before.wallPtsMs;
  }
  const kept = all.map((rows, n) => {
    if (n === video) {
      const from = rows.findIndex((r) => r.sync && r.wallPtsMs >= cutMs - 0.5);
      if (from < 0) return [];
      const out: Row[] = [];
      for (const r of rows.slice(from)) {
        if (r.wallPtsMs >= endMs && r.sync) break;
        if (r.wallPtsMs < endMs) out.push(r);
      }
      return out;
    }
    return rows.filter((r) => r.wallPtsMs >= cutMs - 0.5 && r.wallPtsMs < endMs);
  });
  // Sections: one per segment that kept samples, npt continuing over small gaps, closing up large ones.
  const maxGapMs = options.maxJoinGapMs ?? DEFAULT_MAX_JOIN_GAP_MS;
  const sections: RecordingSection[] = [];
  const sectionOfSegment = new Map<number, number>();
  for (let segment = 0; segment < open.length; segment++) {
    let startMs = Infinity;
    let stopMs = -Infinity;
    kept.forEach((rows, n) => {
      const ts = tracks[n]!.timescale;
      for (const r of rows) {
        if (r.segment !== segment) continue;
        startMs = Math.min(startMs, r.wallPtsMs);
        stopMs = Math.max(stopMs, r.wallPtsMs + (r.duration / ts) * 1000);
      }
    });
    if (startMs === Infinity) continue;
    const prev = sections.at(-1);
    let nptStartS = 0;
    let afterGap = false;
    if (prev !== undefined) {
      const prevEndMs = prev.wallStartMs + prev.durationS * 1000;
      const gapMs = startMs - prevEndMs;
      afterGap = gapMs > maxGapMs;
      nptStartS = prev.nptStartS + prev.durationS + (afterGap ? 0 : Math.max(0, gapMs) / 1000);
      // Overlapping segments (a clock step back): this one starts where the previous ended.
      if (gapMs < 0) startMs = prevEndMs;
    }
    sectionOfSegment.set(segment, sections.length);
    sections.push({
      nptStartS,
      durationS: Math.max(0, stopMs - startMs) / 1000,
      wallStartMs: startMs,
      afterGap,
    });
  }
  if (sections.length === 0) throw new NoRecordingError(`no recording of ${path} in the window`);
  const sectionOf: Uint32Array[] = [];
  const mp4Tracks = kept.map((rows, n) => {
    const info = tracks[n]!;
    const table = sampleTable(rows, info.timescale, sections, sectionOfSegment);
    sectionOf.push(Uint32Array.from(rows, (r) => sectionOfSegment.get(r.segment) ?? 0));
    const last = table.count - 1;
    const durationTicks = last < 0 ? 0 : table.dts[last]! + table.duration[last]! - table.dts[0]!;
    const track: Mp4Track = {
      ...info,
      id: info.trackId,
      durationTicks,
      durationSeconds: durationTicks / info.timescale,
      language: 'und',
      edit: { emptyTicks: 0, mediaTimeTicks: 0, shiftTicks: 0, approximate: false },
      samples: table,
    };
    return track;
  });
  const playable = mp4Tracks.filter((t) => t.samples.count > 0);
  if (playable.length === 0) throw new NoRecordingError(`no recording of ${path} in the window`);
  const rtpTracks = playable.map((t, i) =>
    makeRtpTrack(t, FIRST_DYNAMIC_PT + i, options.maxPayloadBytes ?? 1400),
  );
  const timeline = new RecordingTimeline(
    path,
    sections,
    mp4Tracks.flatMap((t, n) => (t.samples.count > 0 ? [sectionOf[n]!] : [])),
  );
  const reader = {
    readSample: (track: Mp4Track, i: number): Promise<Buffer> =>
      readJoined(open, track.samples.offset[i]!, track.samples.size[i]!),
  };
  return VodFile.of(
    `${path} (recording)`,
    {
      close: () => Promise.all(open.map((o) => o.source.close())).then(() => undefined),
      reader,
      tracks: rtpTracks,
      durationS: timeline.durationS,
    },
    timeline,
    options.logger,
  );
}

function sampleTable(
  rows: readonly Row[],
  timescale: number,
  sections: readonly RecordingSection[],
  sectionOfSegment: ReadonlyMap<number, number>,
): SampleTable {
  const count = rows.length;
  const table = {
    count,
    offset: new Float64Array(count),
    size: new Uint32Array(count),
    dts: new Float64Array(count),
    ctsOffset: new Int32Array(count),
    duration: new Uint32Array(count),
    keyframe: new Uint8Array(count),
    keyframes: new Uint32Array(rows.filter((r) => r.sync).length),
  };
  let previousDts = -Infinity;
  let k = 0;
  rows.forEach((r, i) => {
    const section = sections[sectionOfSegment.get(r.segment) ?? 0]!;
    const ptsTicks = Math.round((section.nptStartS + (r.wallPtsMs - section.wallStartMs) / 1000) * timescale);
    // Decode times strictly increase across segment joins (a recording's clock may step).
    const dts = Math.max(ptsTicks - r.cto, previousDts + 1);
    previousDts = dts;
    table.offset[i] = r.offset;
    table.size[i] = r.size;
    table.dts[i] = dts;
    table.ctsOffset[i] = ptsTicks - dts;
    table.duration[i] = r.duration;
    table.keyframe[i] = r.sync ? 1 : 0;
    if (r.sync) table.keyframes[k++] = i;
  });
  return table;
}

async function readJoined(open: readonly OpenSegment[], offset: number, size: number): Promise<Buffer> {
  let lo = 0;
  let hi = open.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (open[mid]!.base <= offset) lo = mid;
    else hi = mid - 1;
  }
  const o = open[lo]!;
  const at = offset - o.base;
  if (at + size > o.index.completeBytes)
    throw new ParseError(
      'MP4_TRUNCATED',
      `${o.seg.file}: bytes ${at}..${at + size} beyond its complete parts`,
    );
  const data = await o.source.read(at, size);
  if (data.length < size) throw new ParseError('MP4_TRUNCATED', `${o.seg.file}: short read at ${at}`);
  return data;
}
