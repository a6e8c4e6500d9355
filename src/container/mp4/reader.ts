import { ParseError } from '../../base/errors.js';
import { childBoxes, Cursor, findBox, fourcc, requireBox, type BoxHeader } from './boxes.js';
import { splitLengthPrefixed } from './nal.js';
import { parseStsd, type SampleDescription, type TrackKind } from './sample-entry.js';
import {
  buildSampleTable,
  keyframeAtOrBeforeTicks,
  ptsOf,
  sampleAtTicks,
  type SampleTable,
} from './sample-table.js';

/**
 * Random access to the bytes of an MP4 file. `read` must return exactly `length` bytes (fewer only at
 * the end of the file); it may be synchronous (a Buffer in memory, see `bufferSource`) or asynchronous
 * (L3 wraps an `fs.promises.FileHandle`). Errors it throws propagate unchanged.
 */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Buffer | Promise<Buffer>;
}

/** A ByteSource over bytes already in memory (tests, small files). Reads are views, not copies. */
export function bufferSource(bytes: Uint8Array): ByteSource {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { size: buf.length, read: (offset, length) => buf.subarray(offset, offset + length) };
}

export interface Mp4ReaderOptions {
  /** Largest `moov` box read into memory; larger ones throw MP4_UNSUPPORTED. Default 256 MiB. */
  readonly maxMoovBytes?: number;
  /** Largest sample count per track; more throws MP4_UNSUPPORTED. Default 8 Mi (~230 MB of tables). */
  readonly maxSamplesPerTrack?: number;
}

const DEFAULT_MAX_MOOV = 256 * 1024 * 1024;
const DEFAULT_MAX_SAMPLES = 8 * 1024 * 1024;
/** Top-level boxes are at least 8 bytes; this bounds the scan of a file full of tiny boxes. */
const MAX_TOP_LEVEL_BOXES = 100_000;

export interface FileType {
  readonly majorBrand: string;
  readonly minorVersion: number;
  readonly compatibleBrands: readonly string[];
}

/**
 * How the edit list (`edts/elst`, ISO/IEC 14496-12 §8.6.6) maps media time to presentation time.
 * Supported exactly: any number of initial empty edits (media_time -1), followed by one edit with
 * media_time >= 0 at rate 1 — the shapes ffmpeg, x264/MP4Box and cameras write (encoder delay, B-frame
 * delay, AAC priming, a delayed track start). The presentation shift is then
 * `emptyTicks - mediaTimeTicks`, added to every sample's dts and pts. Anything else (several media
 * edits, dwells, rates other than 1) keeps only the first media edit's shift and sets `approximate`.
 * Edit durations are not used to trim samples: a player drops what precedes 0 or follows the end.
 */
export interface EditInfo {
  /** Total duration of the initial empty edits, converted to media ticks. */
  readonly emptyTicks: number;
  /** media_time of the first non-empty edit, in media ticks (0 when there is no edit list). */
  readonly mediaTimeTicks: number;
  /** emptyTicks - mediaTimeTicks: added to every sample's decode and presentation time. */
  readonly shiftTicks: number;
  readonly approximate: boolean;
}

export interface Mp4Track extends SampleDescription {
  /** track_ID from tkhd. */
  readonly id: number;
  readonly kind: TrackKind;
  /** Handler type from hdlr ('vide', 'soun', 'subt', ...). */
  readonly handler: string;
  /** Media timescale (mdhd): ticks per second of every time in `samples`. */
  readonly timescale: number;
  /** mdhd duration in media ticks; computed from the samples when mdhd leaves it unknown or 0. */
  readonly durationTicks: number;
  readonly durationSeconds: number;
  /** ISO 639-2/T code from mdhd, e.g. 'und', 'eng'. */
  readonly language: string;
  readonly edit: EditInfo;
  readonly samples: SampleTable;
}

/** One sample's metadata. Times are media ticks on the presentation timeline (edit list applied). */
export interface Mp4SampleInfo {
  readonly trackId: number;
  /** Index in the track's sample table (decode order). */
  readonly index: number;
  readonly offset: number;
  readonly size: number;
  readonly dtsTicks: number;
  readonly ptsTicks: number;
  readonly durationTicks: number;
  readonly keyframe: boolean;
  readonly timescale: number;
}

export interface Mp4Sample extends Mp4SampleInfo {
  readonly data: Buffer;
}

/** Where playback from a given time starts: see `Mp4Reader.seek`. */
export interface SeekPlan {
  /** The effective start: the earliest chosen keyframe's pts, in seconds (the requested time if none). */
  readonly timeSeconds: number;
  /** First sample index to play for each track, parallel to `Mp4Reader.tracks`. */
  readonly startIndex: readonly number[];
}

/** Converts seconds to ticks, rounding down but forgiving binary floating-point error. */
function secondsToTicks(seconds: number, timescale: number): number {
  return Math.floor(seconds * timescale + 1e-6);
}

/** Metadata of sample i of a track. Throws RangeError for an index out of range (a caller bug). */
export function sampleInfo(track: Mp4Track, i: number): Mp4SampleInfo {
  const t = track.samples;
  if (!Number.isInteger(i) || i < 0 || i >= t.count) throw new RangeError(`sample ${i} of ${t.count}`);
  return {
    trackId: track.id,
    index: i,
    offset: t.offset[i]!,
    size: t.size[i]!,
    dtsTicks: t.dts[i]!,
    ptsTicks: ptsOf(t, i),
    durationTicks: t.duration[i]!,
    keyframe: t.keyframe[i] === 1,
    timescale: track.timescale,
  };
}

/**
 * An MP4 (ISO/IEC 14496-12) demuxer over a ByteSource: reads the box headers at the top level and the
 * whole `moov` (bounded by `maxMoovBytes`), never `mdat`. Progressive files only: fragmented files
 * (moof) throw MP4_UNSUPPORTED. Errors in the file throw ParseError with codes MP4_TRUNCATED,
 * MP4_NO_MOOV, MP4_BAD_BOX, MP4_BAD_SAMPLE_TABLE, MP4_BAD_CODEC_CONFIG, MP4_BAD_SAMPLE, MP4_UNSUPPORTED.
 */
export class Mp4Reader {
  private constructor(
    readonly source: ByteSource,
    readonly fileType: FileType | undefined,
    /** mvhd timescale. */
    readonly movieTimescale: number,
    readonly durationSeconds: number,
    readonly tracks: readonly Mp4Track[],
  ) {}

  static async open(source: ByteSource, options: Mp4ReaderOptions = {}): Promise<Mp4Reader> {
    const fileSize = source.size;
    if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new RangeError(`ByteSource size ${fileSize}`);
    const maxMoov = options.maxMoovBytes ?? DEFAULT_MAX_MOOV;
    const maxSamples = options.maxSamplesPerTrack ?? DEFAULT_MAX_SAMPLES;
    let fileType: FileType | undefined;
    let at = 0;
    for (let n = 0; at < fileSize; n++) {
      if (n >= MAX_TOP_LEVEL_BOXES) throw new ParseError('MP4_BAD_BOX', `more than ${n} top-level boxes`);
      const h = await topLevelHeader(source, at, fileSize);
      if (h.type === 'moov') {
        const size = h.end - h.start;
        if (size > maxMoov)
          throw new ParseError('MP4_UNSUPPORTED', `moov of ${size} bytes (limit ${maxMoov})`);
        const moov = await readExactly(source, h.start, size, 'moov');
        const box = { type: 'moov', start: 0, payload: h.payload - h.start, end: size };
        const m = parseMoov(moov, box, { fileSize, maxSamples });
        return new Mp4Reader(source, fileType, m.timescale, m.durationSeconds, m.tracks);
      }
      if (h.type === 'ftyp' && fileType === undefined) {
        const len = Math.min(h.end - h.start, 4096);
        const buf = await readExactly(source, h.start, len, 'ftyp');
        fileType = parseFtyp(buf, h.payload - h.start, len);
      }
      if (h.type === 'moof')
        throw new ParseError('MP4_UNSUPPORTED', 'fragmented MP4 (moof before moov) is not supported');
      at = h.end;
    }
    throw new ParseError('MP4_NO_MOOV', 'no moov box in the file');
  }

  /** The track with this track_ID. */
  track(id: number): Mp4Track | undefined {
    return this.tracks.find((t) => t.id === id);
  }

  sampleCount(track: Mp4Track): number {
    return track.samples.count;
  }

  sample(track: Mp4Track, i: number): Mp4SampleInfo {
    return sampleInfo(track, i);
  }

  /** The sample presented at `timeSeconds` (greatest pts <= time), or -1 if the time precedes them all. */
  sampleAtTime(track: Mp4Track, timeSeconds: number): number {
    return sampleAtTicks(track.samples, secondsToTicks(timeSeconds, track.timescale));
  }

  /** The last keyframe whose pts is <= `timeSeconds`, or -1 if none. Ticks: `keyframeAtOrBeforeTicks`. */
  keyframeAtOrBefore(track: Mp4Track, timeSeconds: number): number {
    return keyframeAtOrBeforeTicks(track.samples, secondsToTicks(timeSeconds, track.timescale));
  }

  /** The bytes of sample i, read through the ByteSource. */
  async readSample(track: Mp4Track, i: number): Promise<Buffer> {
    const s = sampleInfo(track, i);
    return readExactly(this.source, s.offset, s.size, `sample ${i} of track ${track.id}`);
  }

  /** Sample i of an H.264/H.265 track as NAL units (no length prefixes, no start codes). */
  async readNalUnits(track: Mp4Track, i: number): Promise<Buffer[]> {
    if (track.nalLengthSize === undefined)
      throw new ParseError('MP4_UNSUPPORTED', `track ${track.id} (${track.codec}) is not H.264/H.265`);
    return splitLengthPrefixed(await this.readSample(track, i), track.nalLengthSize);
  }

  /**
   * Where to start playing at `timeSeconds`. Tracks with some non-sync samples (video) start at their
   * keyframe at or before the time (their first keyframe if the time precedes it); the effective
   * start is the earliest such keyframe's pts, and all-sync tracks (audio) start at the sample
   * presented then, so that audio and video begin together (a track without any sync sample is
   * treated like audio). Time <= 0 starts every track at sample 0,
   * keeping leading samples with negative pts (AAC priming, B-frame delay).
   */
  seek(timeSeconds: number): SeekPlan {
    if (!(timeSeconds > 0)) return { timeSeconds: 0, startIndex: this.tracks.map(() => 0) };
    let start = Infinity;
    const startIndex = this.tracks.map((tr) => {
      const t = tr.samples;
      if (t.keyframes.length === 0 || t.keyframes.length === t.count) return -1;
      let k = this.keyframeAtOrBefore(tr, timeSeconds);
      if (k < 0) k = t.keyframes[0]!;
      start = Math.min(start, ptsOf(t, k) / tr.timescale);
      return k;
    });
    if (start === Infinity) start = timeSeconds;
    return {
      timeSeconds: start,
      startIndex: startIndex.map((k, n) =>
        k >= 0 ? k : Math.max(0, this.sampleAtTime(this.tracks[n]!, start)),
      ),
    };
  }

  /**
   * Sample metadata of all tracks (or those listed) in decode order, interleaved by dts in seconds
   * (ties: track order), from `seek(fromSeconds)`. No I/O; see `readSamples` for the bytes.
   */
  *samples(fromSeconds = 0, trackIds?: readonly number[]): Generator<Mp4SampleInfo, void, undefined> {
    const plan = this.seek(fromSeconds);
    const tracks: Mp4Track[] = [];
    const next: number[] = [];
    this.tracks.forEach((tr, n) => {
      if (trackIds && !trackIds.includes(tr.id)) return;
      tracks.push(tr);
      next.push(plan.startIndex[n]!);
    });
    while (true) {
      let best = -1;
      let bestTime = Infinity;
      for (let n = 0; n < tracks.length; n++) {
        const tr = tracks[n]!;
        const i = next[n]!;
        if (i >= tr.samples.count) continue;
        const time = tr.samples.dts[i]! / tr.timescale;
        if (time < bestTime) {
          best = n;
          bestTime = time;
        }
      }
      if (best < 0) return;
      const i = next[best]!;
      next[best] = i + 1;
      yield sampleInfo(tracks[best]!, i);
    }
  }

  /** `samples()` with each sample's bytes, read one at a time through the ByteSource. */
  async *readSamples(
    fromSeconds = 0,
    trackIds?: readonly number[],
  ): AsyncGenerator<Mp4Sample, void, undefined> {
    for (const s of this.samples(fromSeconds, trackIds)) {
      const data = await readExactly(
        this.source,
        s.offset,
        s.size,
        `sample ${s.index} of track ${s.trackId}`,
      );
      yield { ...s, data };
    }
  }
}

async function readExactly(
  source: ByteSource,
  offset: number,
  length: number,
  what: string,
): Promise<Buffer> {
  if (offset + length > source.size)
    throw new ParseError(
      'MP4_TRUNCATED',
      `${what}: bytes ${offset}..${offset + length} are beyond the end of the file (${source.size})`,
    );
  const buf = await source.read(offset, length);
  if (buf.length < length)
    throw new ParseError('MP4_TRUNCATED', `${what}: read ${buf.length} of ${length} bytes at ${offset}`);
  return buf.length === length ? buf : buf.subarray(0, length);
}

async function topLevelHeader(source: ByteSource, at: number, fileSize: number): Promise<BoxHeader> {
  const left = fileSize - at;
  if (left < 8) throw new ParseError('MP4_TRUNCATED', `file ends inside a box header at ${at}`);
  const head = await readExactly(source, at, Math.min(16, left), 'box header');
  const size32 = head.readUInt32BE(0);
  const type = fourcc(head, 4);
  let size = size32;
  let headerSize = 8;
  if (size32 === 1) {
    if (head.length < 16)
      throw new ParseError('MP4_TRUNCATED', `file ends inside the '${type}' header at ${at}`);
    const hi = head.readUInt32BE(8);
    if (hi > 0x1fffff) throw new ParseError('MP4_BAD_BOX', `'${type}' at ${at}: largesize beyond 2^53`);
    size = hi * 0x100000000 + head.readUInt32BE(12);
    headerSize = 16;
  } else if (size32 === 0) {
    size = left;
  }
  if (size < headerSize) throw new ParseError('MP4_BAD_BOX', `'${type}' at ${at} has size ${size}`);
  if (size > left)
    throw new ParseError(
      'MP4_TRUNCATED',
      `'${type}' at ${at} needs ${size} bytes, the file has ${left} left`,
    );
  return { type, start: at, payload: at + headerSize, end: at + size };
}

function parseFtyp(buf: Buffer, payload: number, end: number): FileType {
  const c = new Cursor(buf, payload, end, "'ftyp'");
  const majorBrand = c.fourcc();
  const minorVersion = c.u32();
  const compatibleBrands: string[] = [];
  while (c.remaining >= 4) compatibleBrands.push(c.fourcc());
  return { majorBrand, minorVersion, compatibleBrands };
}

interface MoovLimits {
  readonly fileSize: number;
  readonly maxSamples: number;
}

function parseMoov(
  buf: Buffer,
  moov: BoxHeader,
  limits: MoovLimits,
): { timescale: number; durationSeconds: number; tracks: Mp4Track[] } {
  const boxes = childBoxes(buf, moov.payload, moov.end);
  const mvhd = Cursor.ofBox(buf, requireBox(boxes, 'mvhd', 'moov'));
  const { version } = mvhd.fullBox();
  mvhd.skip(version === 1 ? 16 : 8); // creation_time, modification_time
  const timescale = mvhd.u32();
  const duration = version === 1 ? mvhd.u64OrUnknown() : mvhd.u32();
  if (timescale === 0) throw new ParseError('MP4_BAD_BOX', 'mvhd: timescale 0');
  const tracks = boxes
    .filter((b) => b.type === 'trak')
    .map((trak) => parseTrak(buf, trak, timescale, limits));
  if (findBox(boxes, 'mvex') && tracks.every((t) => t.samples.count === 0))
    throw new ParseError('MP4_UNSUPPORTED', 'fragmented MP4 (samples in moof) is not supported');
  let durationSeconds = duration / timescale;
  if (duration <= 0 || (version === 0 && duration === 0xffffffff))
    durationSeconds = tracks.reduce((m, t) => Math.max(m, t.durationSeconds), 0);
  return { timescale, durationSeconds, tracks };
}

function handlerKind(handler: string): TrackKind {
  return handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : 'other';
}

function parseTrak(buf: Buffer, trak: BoxHeader, movieTimescale: number, limits: MoovLimits): Mp4Track {
  const boxes = childBoxes(buf, trak.payload, trak.end);
  const tkhd = Cursor.ofBox(buf, requireBox(boxes, 'tkhd', 'trak'));
  const tkhdVersion = tkhd.fullBox().version;
  tkhd.skip(tkhdVersion === 1 ? 16 : 8);
  const id = tkhd.u32();

  const mdia = requireBox(boxes, 'mdia', 'trak');
  const mdiaBoxes = childBoxes(buf, mdia.payload, mdia.end);
  const mdhd = Cursor.ofBox(buf, requireBox(mdiaBoxes, 'mdhd', 'mdia'));
  const mdhdVersion = mdhd.fullBox().version;
  mdhd.skip(mdhdVersion === 1 ? 16 : 8);
  const timescale = mdhd.u32();
  if (timescale === 0) throw new ParseError('MP4_BAD_BOX', `track ${id}: mdhd timescale 0`);
  let durationTicks = mdhdVersion === 1 ? mdhd.u64OrUnknown() : mdhd.u32();
  if (durationTicks < 0 || (mdhdVersion === 0 && durationTicks === 0xffffffff)) durationTicks = 0;
  const lang = mdhd.u16();
  const language = String.fromCharCode(
    0x60 + ((lang >> 10) & 0x1f),
    0x60 + ((lang >> 5) & 0x1f),
    0x60 + (lang & 0x1f),
  );

  const hdlr = Cursor.ofBox(buf, requireBox(mdiaBoxes, 'hdlr', 'mdia'));
  hdlr.fullBox();
  hdlr.skip(4);
  const handler = hdlr.fourcc();
  const kind = handlerKind(handler);

  const minf = requireBox(mdiaBoxes, 'minf', 'mdia');
  const stbl = requireBox(childBoxes(buf, minf.payload, minf.end), 'stbl', 'minf');
  const stblBoxes = childBoxes(buf, stbl.payload, stbl.end);
  const description = parseStsd(buf, requireBox(stblBoxes, 'stsd', 'stbl'), kind);

  const edts = findBox(boxes, 'edts');
  const elst = edts ? findBox(childBoxes(buf, edts.payload, edts.end), 'elst') : undefined;
  const edit = elst ? parseElst(buf, elst, movieTimescale, timescale) : NO_EDIT;

  const samples = buildSampleTable(buf, stbl, edit.shiftTicks, limits);
  if (durationTicks === 0 && samples.count > 0) {
    const last = samples.count - 1;
    durationTicks = samples.dts[last]! + samples.duration[last]! - samples.dts[0]!;
  }
  return {
    ...description,
    id,
    kind,
    handler,
    timescale,
    durationTicks,
    durationSeconds: durationTicks / timescale,
    language,
    edit,
    samples,
  };
}

const NO_EDIT: EditInfo = { emptyTicks: 0, mediaTimeTicks: 0, shiftTicks: 0, approximate: false };

function parseElst(buf: Buffer, elst: BoxHeader, movieTimescale: number, mediaTimescale: number): EditInfo {
  const c = Cursor.ofBox(buf, elst);
  const { version } = c.fullBox();
  const n = c.u32();
  c.needEntries(n, version === 1 ? 20 : 12);
  let emptyMovieTicks = 0;
  let mediaTimeTicks = 0;
  let approximate = false;
  let i = 0;
  const entry = (): { duration: number; mediaTime: number; rate: number } => {
    const duration = version === 1 ? c.u64() : c.u32();
    const mediaTime = version === 1 ? c.i64() : c.i32();
    const rate = c.i32(); // media_rate_integer (16) + media_rate_fraction (16)
    return { duration, mediaTime, rate };
  };
  for (; i < n; i++) {
    const e = entry();
    if (e.mediaTime === -1) {
      emptyMovieTicks += e.duration;
      continue;
    }
    mediaTimeTicks = Math.max(0, e.mediaTime);
    if (e.rate !== 0x10000 || e.mediaTime < -1) approximate = true;
    i++;
    break;
  }
  if (i < n) approximate = true;
  const emptyTicks = Math.round((emptyMovieTicks * mediaTimescale) / movieTimescale);
  return { emptyTicks, mediaTimeTicks, shiftTicks: emptyTicks - mediaTimeTicks, approximate };
}
