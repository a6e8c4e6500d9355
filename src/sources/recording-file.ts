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
 *
 * Sharing (recording-index-cache.ts). Each segment is indexed once per file version, whoever plays it, and
 * the joined window (sample tables, timeline, RTP tracks) once per window and segment versions: playbacks
 * of the same URL (an ONVIF replay of everything, the same `?start=`) share one (while one plays it, even
 * when the cache did not keep it: larger than its bound, or evicted), and its segment files are
 * opened once, when a sample of them is first read, and closed with the window's last playback. Indexing
 * runs INDEX_CONCURRENCY segments at a time (the file reads go to libuv's pool of 4 threads). An hour of
 * 60 s segments (3600 parts) joined in about 0.4 s on an idle 2-core machine (was 4.3 s, the segments'
 * samples joined as objects, one pass over all of them per segment).
 */
import { stat } from 'node:fs/promises';
import type { Logger } from '../base/logger.js';
import { isSystemError, ParseError } from '../base/errors.js';
import { indexFmp4, type Fmp4TrackInfo } from '../container/fmp4/reader.js';
import type { Mp4Track } from '../container/mp4/reader.js';
import type { SampleTable } from '../container/mp4/sample-table.js';
import type { RecordedSegment, RecordingCatalog } from '../recorder/catalog.js';
import { fileByteSource, type FileByteSource } from './file-source.js';
import { errorMessage, FIRST_DYNAMIC_PT, makeRtpTrack, type Mp4RtpTrack } from './mp4-rtp.js';
import { RecordingIndexCache } from './recording-index-cache.js';
import {
  playbackSegmentIndex,
  readAheadSource,
  type PlaybackSegmentIndex,
} from './recording-segment-index.js';
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
  /** Where indexes are shared between playbacks; default: one for this call only. */
  cache?: RecordingIndexCache;
}

/** No recording of the path in the window (404). */
export class NoRecordingError extends Error {
  override readonly name = 'NoRecordingError';
}

const DEFAULT_MAX_SEGMENTS = 2000;
const DEFAULT_MAX_JOIN_GAP_MS = 1000;
const DEFAULT_MAX_PAYLOAD_BYTES = 1400;
/** Segments indexed at once. */
const INDEX_CONCURRENCY = 4;

/** A segment of a joined window: where its bytes are in the joined byte space, its file opened on first read. */
interface JoinedSegment {
  readonly index: PlaybackSegmentIndex;
  /** Virtual offset of the file's byte 0 in the joined byte space. */
  readonly base: number;
  source: Promise<FileByteSource> | undefined;
}

/** A window joined once and played by every playback of it (immutable but for its open files). */
interface JoinedWindow {
  readonly path: string;
  /** Its key in the cache (and among the windows being played). */
  readonly key: string;
  readonly segments: readonly JoinedSegment[];
  readonly tracks: Mp4RtpTrack[];
  readonly timeline: RecordingTimeline;
  /** Playbacks holding it: its files are closed when the last one goes. */
  users: number;
}

/** Opens the recording of `path` in `window` as a VodFile. Rejects with NoRecordingError when nothing is there. */
export async function openRecording(
  catalog: RecordingCatalog,
  path: string,
  window: RecordingWindow,
  options: RecordingFileOptions,
): Promise<VodFile> {
  const logger = options.logger.child({ source: 'recording', path });
  const cache = options.cache ?? new RecordingIndexCache();
  const listed = catalog
    .segments(path, window.startMs, window.endMs)
    .slice(0, options.maxSegments ?? DEFAULT_MAX_SEGMENTS);
  const versions = await mapLimited(listed, INDEX_CONCURRENCY * 4, (seg) => fileVersion(seg, logger));
  const present = listed.flatMap((seg, i) =>
    versions[i] === undefined ? [] : [{ seg, version: versions[i] }],
  );
  const key = [
    path,
    window.startMs,
    window.endMs ?? '',
    options.maxJoinGapMs ?? '',
    options.maxPayloadBytes ?? '',
  ]
    .concat(present.map((p) => `${p.seg.file}@${p.version}`))
    .join('\n');
  // A window being played is shared even when the cache let it go (larger than its bound, evicted).
  const live = playingWindows(cache);
  let joined = live.get(key);
  if (joined !== undefined) cache.counters.hits.window++;
  else
    joined = await cache.get('window', key, async () => {
      const w = await joinWindow(path, key, present, window, options, cache, logger);
      return { value: w, bytes: windowBytes(w) };
    });
  if (joined === undefined) throw new NoRecordingError(`no playable recording of ${path} in the window`);
  const w = joined;
  if (w.users++ === 0) live.set(key, w);
  const file = VodFile.of(
    `${path} (recording)`,
    {
      close: () => release(w, live),
      reader: {
        readSample: (track: Mp4Track, i: number): Promise<Buffer> =>
          readJoined(w.segments, track.samples.offset[i]!, track.samples.size[i]!),
      },
      tracks: w.tracks,
      durationS: w.timeline.durationS,
    },
    w.timeline,
    options.logger,
  );
  logger.debug(
    {
      segments: w.segments.length,
      firstMs: w.timeline.firstMs,
      durationS: Number(file.durationS.toFixed(3)),
    },
    'recording opened for playback',
  );
  return file;
}

/** Windows with playbacks, per cache, by key. */
const playing = new WeakMap<RecordingIndexCache, Map<string, JoinedWindow>>();

function playingWindows(cache: RecordingIndexCache): Map<string, JoinedWindow> {
  let live = playing.get(cache);
  if (live === undefined) {
    live = new Map<string, JoinedWindow>();
    playing.set(cache, live);
  }
  return live;
}

/** The last playback of a window is gone: its files are closed (a later one opens them again). */
async function release(w: JoinedWindow, live: Map<string, JoinedWindow>): Promise<void> {
  if (--w.users > 0) return;
  if (live.get(w.key) === w) live.delete(w.key);
  const closing: Promise<void>[] = [];
  for (const s of w.segments) {
    if (s.source !== undefined) closing.push(s.source.then((src) => src.close()).catch(() => undefined));
    s.source = undefined;
  }
  await Promise.all(closing);
}

/** `size/mtime` of a segment's file, or undefined (with a warning) when it is gone. */
async function fileVersion(seg: RecordedSegment, logger: Logger): Promise<string | undefined> {
  try {
    const st = await stat(seg.file);
    return `${st.size}/${st.mtimeMs}`;
  } catch (e) {
    if (!isSystemError(e)) throw e;
    logger.warn({ file: seg.file, err: errorMessage(e) }, 'recording segment cannot be opened: skipped');
    return undefined;
  }
}

/** A segment's index, shared through the cache; undefined when it cannot be read (skipped, with a warning). */
function segmentIndex(
  seg: RecordedSegment,
  version: string,
  cache: RecordingIndexCache,
  logger: Logger,
): Promise<PlaybackSegmentIndex | undefined> {
  return cache.get('segment', `${seg.file}@${version}`, async () => {
    let source: FileByteSource;
    try {
      source = await fileByteSource(seg.file);
    } catch (e) {
      if (!isSystemError(e)) throw e;
      logger.warn({ file: seg.file, err: errorMessage(e) }, 'recording segment cannot be opened: skipped');
      return undefined;
    }
    try {
      const index = await indexFmp4(readAheadSource(source));
      if (index.stopReason !== undefined && !seg.open)
        logger.warn(
          { file: seg.file, reason: index.stopReason },
          'recording segment read up to a damaged or cut part',
        );
      const played = playbackSegmentIndex(seg, index);
      return played === undefined ? undefined : { value: played, bytes: played.bytes };
    } catch (e) {
      if (e instanceof ParseError || isSystemError(e)) {
        logger.warn({ file: seg.file, err: errorMessage(e) }, 'recording segment cannot be indexed: skipped');
        return undefined;
      }
      throw e;
    } finally {
      await source.close().catch(() => undefined);
    }
  });
}

function sameTracks(a: readonly Fmp4TrackInfo[], b: readonly Fmp4TrackInfo[]): boolean {
  return (
    a.length === b.length && a.every((t, i) => t.codec === b[i]!.codec && t.timescale === b[i]!.timescale)
  );
}

/** Runs `f` over `items`, at most `limit` at a time; results in order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  f: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Samples kept of one track: which segment, which sample of it (typed arrays: an hour is 260,000 of them). */
interface Kept {
  count: number;
  segment: Uint32Array;
  sample: Uint32Array;
}

async function joinWindow(
  path: string,
  key: string,
  present: readonly { seg: RecordedSegment; version: string }[],
  window: RecordingWindow,
  options: RecordingFileOptions,
  cache: RecordingIndexCache,
  logger: Logger,
): Promise<JoinedWindow> {
  const indexes = await mapLimited(present, INDEX_CONCURRENCY, (p) =>
    segmentIndex(p.seg, p.version, cache, logger),
  );
  const open: PlaybackSegmentIndex[] = [];
  let tracks: readonly Fmp4TrackInfo[] | undefined;
  for (const [i, index] of indexes.entries()) {
    if (index === undefined) continue;
    if (tracks === undefined) tracks = index.tracks;
    else if (!sameTracks(tracks, index.tracks)) {
      logger.info(
        { file: present[i]!.seg.file },
        'the tracks change at this segment: the playback window ends before it',
      );
      break;
    }
    open.push(index);
  }
  if (tracks === undefined || tracks.length === 0 || open.length === 0)
    throw new NoRecordingError(`no playable recording of ${path} in the window`);
  const kept = keptSamples(path, open, tracks, window);
  const sections = sectionsOf(open, tracks, kept, options.maxJoinGapMs ?? DEFAULT_MAX_JOIN_GAP_MS);
  if (sections.list.length === 0) throw new NoRecordingError(`no recording of ${path} in the window`);
  const sectionOf: Uint32Array[] = [];
  const mp4Tracks = kept.map((k, n) => {
    const info = tracks[n]!;
    const table = sampleTable(open, n, k, info.timescale, sections.list, sections.ofSegment);
    if (table.count > 0) {
      const of = new Uint32Array(table.count);
      for (let j = 0; j < table.count; j++) of[j] = sections.ofSegment[k.segment[j]!]!;
      sectionOf.push(of);
    }
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
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  let base = 0;
  const segments = open.map((index) => {
    const s: JoinedSegment = { index, base, source: undefined };
    base += index.fileSize + 1;
    return s;
  });
  logger.info(
    { segments: open.length, firstMs: sections.list[0]!.wallStartMs },
    'recording window joined for playback',
  );
  return {
    path,
    key,
    segments,
    tracks: playable.map((t, i) => makeRtpTrack(t, FIRST_DYNAMIC_PT + i, maxPayloadBytes)),
    timeline: new RecordingTimeline(path, sections.list, sectionOf),
    users: 0,
  };
}

/**
 * Each track's samples in the window, in decode order over the segments. npt 0: the video keyframe at or
 * before the start (else the first one); audio-only: the start itself. Video stops at the first keyframe
 * at or after the end (and leaves out frames presented from the end on); audio at the end.
 */
function keptSamples(
  path: string,
  open: readonly PlaybackSegmentIndex[],
  tracks: readonly Fmp4TrackInfo[],
  window: RecordingWindow,
): Kept[] {
  const endMs = window.endMs ?? Infinity;
  const video = tracks.findIndex((t) => t.kind === 'video');
  let cutMs = window.startMs;
  if (video >= 0) {
    let before: number | undefined;
    let firstKey: number | undefined;
    for (const o of open) {
      const s = o.samples[video]!;
      for (let i = 0; i < s.count; i++) {
        if (s.sync[i] !== 1) continue;
        firstKey ??= s.wallPtsMs[i]!;
        if (s.wallPtsMs[i]! <= window.startMs + 0.5) before = s.wallPtsMs[i]!;
      }
    }
    const cut = before ?? firstKey;
    if (cut === undefined) throw new NoRecordingError(`no keyframe recorded of ${path}`);
    cutMs = cut;
  }
  return tracks.map((_, n) => {
    let most = 0;
    for (const o of open) most += o.samples[n]!.count;
    const k: Kept = { count: 0, segment: new Uint32Array(most), sample: new Uint32Array(most) };
    let started = n !== video;
    let done = false;
    for (let g = 0; g < open.length && !done; g++) {
      const s = open[g]!.samples[n]!;
      for (let i = 0; i < s.count; i++) {
        const wall = s.wallPtsMs[i]!;
        if (n === video) {
          if (!started) {
            if (s.sync[i] !== 1 || wall < cutMs - 0.5) continue;
            started = true;
          }
          if (wall >= endMs && s.sync[i] === 1) {
            done = true;
            break;
          }
          if (wall >= endMs) continue;
        } else if (wall < cutMs - 0.5 || wall >= endMs) continue;
        k.segment[k.count] = g;
        k.sample[k.count++] = i;
      }
    }
    return k;
  });
}

/** Sections: one per segment that kept samples, npt continuing over small gaps, closing up large ones. */
function sectionsOf(
  open: readonly PlaybackSegmentIndex[],
  tracks: readonly Fmp4TrackInfo[],
  kept: readonly Kept[],
  maxGapMs: number,
): { list: RecordingSection[]; ofSegment: number[] } {
  const startMs = new Array<number>(open.length).fill(Infinity);
  const stopMs = new Array<number>(open.length).fill(-Infinity);
  kept.forEach((k, n) => {
    const ts = tracks[n]!.timescale;
    for (let j = 0; j < k.count; j++) {
      const g = k.segment[j]!;
      const s = open[g]!.samples[n]!;
      const i = k.sample[j]!;
      startMs[g] = Math.min(startMs[g]!, s.wallPtsMs[i]!);
      stopMs[g] = Math.max(stopMs[g]!, s.wallPtsMs[i]! + (s.duration[i]! / ts) * 1000);
    }
  });
  const list: RecordingSection[] = [];
  const ofSegment = new Array<number>(open.length).fill(0);
  for (let g = 0; g < open.length; g++) {
    let start = startMs[g]!;
    if (start === Infinity) continue;
    const prev = list.at(-1);
    let nptStartS = 0;
    let afterGap = false;
    if (prev !== undefined) {
      const prevEndMs = prev.wallStartMs + prev.durationS * 1000;
      const gapMs = start - prevEndMs;
      afterGap = gapMs > maxGapMs;
      nptStartS = prev.nptStartS + prev.durationS + (afterGap ? 0 : Math.max(0, gapMs) / 1000);
      // Overlapping segments (a clock step back): this one starts where the previous ended.
      if (gapMs < 0) start = prevEndMs;
    }
    ofSegment[g] = list.length;
    list.push({ nptStartS, durationS: Math.max(0, stopMs[g]! - start) / 1000, wallStartMs: start, afterGap });
  }
  return { list, ofSegment };
}

function sampleTable(
  open: readonly PlaybackSegmentIndex[],
  n: number,
  k: Kept,
  timescale: number,
  sections: readonly RecordingSection[],
  sectionOfSegment: readonly number[],
): SampleTable {
  const count = k.count;
  let keys = 0;
  for (let j = 0; j < count; j++) keys += open[k.segment[j]!]!.samples[n]!.sync[k.sample[j]!]!;
  const table = {
    count,
    offset: new Float64Array(count),
    size: new Uint32Array(count),
    dts: new Float64Array(count),
    ctsOffset: new Int32Array(count),
    duration: new Uint32Array(count),
    keyframe: new Uint8Array(count),
    keyframes: new Uint32Array(keys),
  };
  let previousDts = -Infinity;
  let base = 0;
  let baseOf = -1;
  let key = 0;
  for (let j = 0; j < count; j++) {
    const g = k.segment[j]!;
    // The segment's base in the joined byte space (as joinWindow lays them out: each file's size + 1).
    while (baseOf < g) {
      if (baseOf >= 0) base += open[baseOf]!.fileSize + 1;
      baseOf++;
    }
    const s = open[g]!.samples[n]!;
    const i = k.sample[j]!;
    const section = sections[sectionOfSegment[g]!]!;
    const ptsTicks = Math.round(
      (section.nptStartS + (s.wallPtsMs[i]! - section.wallStartMs) / 1000) * timescale,
    );
    // Decode times strictly increase across segment joins (a recording's clock may step).
    const dts = Math.max(ptsTicks - s.cto[i]!, previousDts + 1);
    previousDts = dts;
    table.offset[j] = base + s.offset[i]!;
    table.size[j] = s.size[i]!;
    table.dts[j] = dts;
    table.ctsOffset[j] = ptsTicks - dts;
    table.duration[j] = s.duration[i]!;
    table.keyframe[j] = s.sync[i]!;
    if (s.sync[i] === 1) table.keyframes[key++] = j;
  }
  return table;
}

/** What a joined window holds in memory, about: its sample tables and sections of samples. */
function windowBytes(w: JoinedWindow): number {
  let bytes = 1024 + w.segments.length * 64;
  for (const t of w.tracks) bytes += t.mp4.samples.count * 33;
  return bytes;
}

async function readJoined(segments: readonly JoinedSegment[], offset: number, size: number): Promise<Buffer> {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.base <= offset) lo = mid;
    else hi = mid - 1;
  }
  const o = segments[lo]!;
  const at = offset - o.base;
  if (at + size > o.index.completeBytes)
    throw new ParseError(
      'MP4_TRUNCATED',
      `${o.index.file}: bytes ${at}..${at + size} beyond its complete parts`,
    );
  o.source ??= fileByteSource(o.index.file);
  const source = o.source;
  source.catch(() => {
    // A file that cannot be opened now (deleted by retention): this read fails, the next one tries again.
    if (o.source === source) o.source = undefined;
  });
  const data = await (await source).read(at, size);
  if (data.length < size) throw new ParseError('MP4_TRUNCATED', `${o.index.file}: short read at ${at}`);
  return data;
}
