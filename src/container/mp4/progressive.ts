/**
 * A progressive (non-fragmented) MP4's head, sans-I/O: `ftyp` + `moov` with complete sample tables
 * (ISO/IEC 14496-12 §8.6-8.7: stts, ctts, stss, stsc, stsz, stco or co64) + the `mdat` header, computed
 * from a sample index alone. The samples themselves are the caller's to append after the head, chunk by
 * chunk in the order given: the file's total length is known before a byte of media is read, so an
 * exporter can answer any byte range by mapping it onto the head and onto the recorded files.
 *
 * "moov first" (what ffmpeg calls faststart): a browser's `<video>` can start and seek as soon as it has
 * read the head, without reading to the end of the file first.
 */
import { ascii, box, fullBox, i16, i32, u16, u32, u64 } from './box-writer.js';
import { handlerBoxes } from '../fmp4/boxes.js';

const zeros = (n: number): Buffer => Buffer.alloc(n);
const UNITY_MATRIX = u32(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000);
/** mvhd timescale: edit lists and movie durations in ms. */
export const PROGRESSIVE_MOVIE_TIMESCALE = 1000;
const MAX_U32 = 0xffffffff;

/** One track's samples in decode order, as parallel arrays. */
export interface ProgressiveSamples {
  readonly count: number;
  readonly durationTicks: Uint32Array;
  readonly sizeBytes: Uint32Array;
  /** pts - dts, ticks (negative values make a version-1 ctts). */
  readonly compositionOffset: Int32Array;
  /** 1 for sync samples. */
  readonly keyframe: Uint8Array;
}

export interface ProgressiveTrack {
  trackId: number;
  handler: 'vide' | 'soun';
  timescale: number;
  /** The stsd entry (`avc1`, `hvc1`, `mp4a`, `Opus`...), copied as it is. */
  sampleEntry: Buffer;
  width?: number;
  height?: number;
  /**
   * Decode time of the first sample on the movie's timeline, ticks (>= 0). A track that starts later than
   * the others gets an empty edit of that length (§8.6.6), so its samples keep their place in time.
   */
  startTicks: number;
  samples: ProgressiveSamples;
}

/** A run of consecutive samples of one track, stored together in the mdat. */
export interface ProgressiveChunk {
  /** Index into the tracks array. */
  track: number;
  sampleCount: number;
}

export interface ProgressiveHead {
  /** ftyp + moov + the mdat header: the file's first bytes. */
  head: Buffer;
  /** Bytes of sample data after the head (the chunks' samples, in order). */
  payloadBytes: number;
  /** head.length + payloadBytes. */
  totalBytes: number;
}

/** Run-length pairs [count, value] of a sequence. */
function runs(values: ArrayLike<number>, from = 0, to = values.length): [number, number][] {
  const out: [number, number][] = [];
  for (let i = from; i < to; i++) {
    const v = values[i]!;
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === v) last[0]++;
    else out.push([1, v]);
  }
  return out;
}

function sumOf(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum;
}

function toMovieTicks(ticks: number, timescale: number): number {
  return Math.round((ticks * PROGRESSIVE_MOVIE_TIMESCALE) / timescale);
}

function sampleTable(
  t: ProgressiveTrack,
  chunkCounts: number[],
  chunkOffsets: number[],
  co64: boolean,
): Buffer {
  const s = t.samples;
  const stts = runs(s.durationTicks, 0, s.count);
  const parts: Buffer[] = [
    fullBox('stsd', 0, 0, u32(1), t.sampleEntry),
    fullBox(
      'stts',
      0,
      0,
      u32(stts.length),
      stts.map(([count, delta]) => u32(count, delta)),
    ),
  ];
  let anyOffset = false;
  let negative = false;
  for (let i = 0; i < s.count; i++) {
    if (s.compositionOffset[i] !== 0) anyOffset = true;
    if (s.compositionOffset[i]! < 0) negative = true;
  }
  if (anyOffset) {
    const ctts = runs(s.compositionOffset, 0, s.count);
    parts.push(
      fullBox(
        'ctts',
        negative ? 1 : 0, // version 1: signed offsets (§8.6.1.3)
        0,
        u32(ctts.length),
        ctts.map(([count, offset]) => Buffer.concat([u32(count), i32(offset)])),
      ),
    );
  }
  let keyCount = 0;
  for (let i = 0; i < s.count; i++) keyCount += s.keyframe[i] !== 0 ? 1 : 0;
  if (keyCount < s.count) {
    const keys: number[] = [];
    for (let i = 0; i < s.count; i++) if (s.keyframe[i] !== 0) keys.push(i + 1);
    parts.push(fullBox('stss', 0, 0, u32(keys.length), u32(keys)));
  }
  // stsc: one entry per change of samples-per-chunk (first_chunk is 1-based).
  const stsc: number[] = [];
  let previous = -1;
  chunkCounts.forEach((n, i) => {
    if (n !== previous) stsc.push(i + 1, n, 1);
    previous = n;
  });
  parts.push(
    fullBox('stsc', 0, 0, u32(stsc.length / 3), u32(stsc)),
    fullBox('stsz', 0, 0, u32(0, s.count), u32(Array.from(s.sizeBytes.subarray(0, s.count)))),
    co64
      ? fullBox('co64', 0, 0, u32(chunkOffsets.length), u64(chunkOffsets))
      : fullBox('stco', 0, 0, u32(chunkOffsets.length), u32(chunkOffsets)),
  );
  return box('stbl', ...parts);
}

/** The latest end of a sample's presentation (decode time + composition offset + duration), in ticks. */
function presentationEndTicks(s: ProgressiveSamples): number {
  let dts = 0;
  let end = 0;
  for (let i = 0; i < s.count; i++) {
    end = Math.max(end, dts + s.compositionOffset[i]! + s.durationTicks[i]!);
    dts += s.durationTicks[i]!;
  }
  return end;
}

function trak(t: ProgressiveTrack, stbl: Buffer): Buffer {
  const video = t.handler === 'vide';
  const s = t.samples;
  const mediaTicks = sumOf(s.durationTicks.subarray(0, s.count));
  const emptyMs = toMovieTicks(t.startTicks, t.timescale);
  // The first sample's composition offset is where presentation starts (B-frames: the first picture is
  // shown after its decode time); the media edit starts there so the track starts at its empty edit's end.
  const firstOffset = s.count > 0 ? Math.min(mediaTicks, Math.max(0, s.compositionOffset[0]!)) : 0;
  // The edit lasts until the last picture shown ends: with offsets > 0 that is past the media's decode end.
  const shownTicks = Math.max(mediaTicks, presentationEndTicks(s)) - firstOffset;
  const edits: Buffer[] = [];
  if (emptyMs > 0) edits.push(Buffer.concat([u32(emptyMs), i32(-1), i16(1, 0)]));
  if (emptyMs > 0 || firstOffset > 0)
    edits.push(Buffer.concat([u32(toMovieTicks(shownTicks, t.timescale)), i32(firstOffset), i16(1, 0)]));
  const trackMs = emptyMs + toMovieTicks(shownTicks, t.timescale);
  const tkhd = fullBox(
    'tkhd',
    0,
    0x000003, // track_enabled | track_in_movie
    u32(0, 0, t.trackId, 0, Math.min(MAX_U32, trackMs)),
    u32(0, 0),
    i16(0, 0),
    u16(video ? 0 : 0x0100, 0),
    UNITY_MATRIX,
    u32(((t.width ?? 0) & 0xffff) * 65536, ((t.height ?? 0) & 0xffff) * 65536),
  );
  const mdhd = fullBox('mdhd', 1, 0, u64(0, 0), u32(t.timescale), u64(mediaTicks), u16(0x55c4, 0));
  const { hdlr, mediaHeader, dinf } = handlerBoxes(t.handler);
  return box(
    'trak',
    tkhd,
    ...(edits.length > 0 ? [box('edts', fullBox('elst', 0, 0, u32(edits.length), edits))] : []),
    box('mdia', mdhd, hdlr, box('minf', mediaHeader, dinf, stbl)),
  );
}

function movieDurationMs(tracks: readonly ProgressiveTrack[]): number {
  let longest = 0;
  for (const t of tracks) {
    const s = t.samples;
    const mediaTicks = sumOf(s.durationTicks.subarray(0, s.count));
    const firstOffset = s.count > 0 ? Math.min(mediaTicks, Math.max(0, s.compositionOffset[0]!)) : 0;
    const ticks = t.startTicks + Math.max(mediaTicks, presentationEndTicks(s)) - firstOffset;
    longest = Math.max(longest, toMovieTicks(ticks, t.timescale));
  }
  return longest;
}

/**
 * The head of a progressive MP4 whose mdat holds `chunks` in order. Throws RangeError when the chunks
 * do not account for every sample of every track exactly.
 */
export function progressiveHead(
  tracks: readonly ProgressiveTrack[],
  chunks: readonly ProgressiveChunk[],
): ProgressiveHead {
  const perTrackCounts: number[][] = tracks.map(() => []);
  const chunkBytes: number[] = [];
  const next = tracks.map(() => 0);
  for (const c of chunks) {
    const t = tracks[c.track];
    if (t === undefined) throw new RangeError(`chunk of track ${c.track}: no such track`);
    let bytes = 0;
    const from = next[c.track]!;
    if (from + c.sampleCount > t.samples.count) throw new RangeError(`chunks overrun track ${t.trackId}`);
    for (let i = from; i < from + c.sampleCount; i++) bytes += t.samples.sizeBytes[i]!;
    next[c.track] = from + c.sampleCount;
    perTrackCounts[c.track]!.push(c.sampleCount);
    chunkBytes.push(bytes);
  }
  tracks.forEach((t, i) => {
    if (next[i] !== t.samples.count)
      throw new RangeError(`track ${t.trackId}: ${t.samples.count - next[i]!} samples in no chunk`);
  });
  const payloadBytes = sumOf(chunkBytes);
  const ftyp = box(
    'ftyp',
    ascii('isom'),
    u32(512),
    ascii('isom'),
    ascii('iso2'),
    ascii('avc1'),
    ascii('mp41'),
  );
  const nextTrackId = Math.max(0, ...tracks.map((t) => t.trackId)) + 1;
  const mvhd = fullBox(
    'mvhd',
    0,
    0,
    u32(0, 0, PROGRESSIVE_MOVIE_TIMESCALE, Math.min(MAX_U32, movieDurationMs(tracks))),
    u32(0x00010000),
    u16(0x0100),
    zeros(10),
    UNITY_MATRIX,
    zeros(24),
    u32(nextTrackId),
  );
  // The offsets' values do not change the moov's size, but their width does: 32-bit offsets while the
  // last chunk starts below 4 GiB (measured with a 16-byte mdat header, the larger of the two).
  const build = (offsetOf: (chunk: number) => number, co64: boolean): Buffer => {
    const perTrackOffsets: number[][] = tracks.map(() => []);
    chunks.forEach((c, i) => perTrackOffsets[c.track]!.push(offsetOf(i)));
    return box(
      'moov',
      mvhd,
      ...tracks.map((t, i) => trak(t, sampleTable(t, perTrackCounts[i]!, perTrackOffsets[i]!, co64))),
    );
  };
  const largeMdat = payloadBytes + 8 > MAX_U32;
  // §4.2: size 1 and a 64-bit largesize for an mdat of 4 GiB or more.
  const mdatHeader = largeMdat
    ? Buffer.concat([u32(1), ascii('mdat'), u64(payloadBytes + 16)])
    : Buffer.concat([u32(payloadBytes + 8), ascii('mdat')]);
  const lastChunkStart = payloadBytes - (chunkBytes[chunkBytes.length - 1] ?? 0);
  const measured = build(() => 0, false).length;
  const co64 = ftyp.length + measured + 16 + lastChunkStart > MAX_U32;
  const moovSize = build(() => 0, co64).length;
  const base = ftyp.length + moovSize + mdatHeader.length;
  const starts: number[] = [];
  let at = base;
  for (const b of chunkBytes) {
    starts.push(at);
    at += b;
  }
  const moov = build((i) => starts[i]!, co64);
  const head = Buffer.concat([ftyp, moov, mdatHeader]);
  return { head, payloadBytes, totalBytes: head.length + payloadBytes };
}
