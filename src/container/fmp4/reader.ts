/**
 * Fragmented MP4 reader (ISO/IEC 14496-12 §8.8), sans-I/O: indexes an fMP4 file (`ftyp` + `moov`, then
 * `[prft] moof mdat` per fragment, as the recorder and ffmpeg's `frag_keyframe+empty_moov` write them)
 * from its top-level box headers, reading `moov`, `moof` and `prft` whole and never an `mdat`.
 *
 *   const index = await indexFmp4(source);          // ByteSource: file handle (L3) or bufferSource
 *   index.tracks[0].codec, index.fragments[i].prft?.wallClockMs, index.fragments[i].runs[0].offset[j]
 *   const index = indexFmp4Buffer(bytes);           // the same, synchronously, over bytes in memory
 *
 * The walk is a generator that yields the byte ranges it needs (`Fmp4ReadRequest`) and is resumed with
 * them, so one walk serves synchronous and asynchronous sources. A file cut while being written (a crash,
 * a recording still open) ends inside a box: the index holds every complete fragment and `completeBytes`
 * is where the last one ends. A fragment that does not parse (a bit flip) ends the index there too, with
 * `stopReason`; only a broken initialization segment throws (ParseError: MP4_TRUNCATED, MP4_NO_MOOV,
 * MP4_BAD_BOX, MP4_BAD_CODEC_CONFIG, MP4_UNSUPPORTED). Every count is bounded (`Fmp4ReaderOptions`).
 *
 * Times are the file's own: decode times from `tfdt` plus durations, in each track's timescale; the edit
 * list is not applied (fMP4 recordings carry none; ffmpeg's shifts by the B-frame delay).
 */
import { ParseError } from '../../base/errors.js';
import { ntpToUnixMs, type NtpTime } from '../../base/clock.js';
import { childBoxes, Cursor, findBox, fourcc, requireBox, type BoxHeader } from '../mp4/boxes.js';
import type { ByteSource } from '../mp4/reader.js';
import { parseStsd, type SampleDescription, type TrackKind } from '../mp4/sample-entry.js';

export interface Fmp4ReaderOptions {
  /** Largest `moov` read. Default 16 MiB. */
  readonly maxMoovBytes?: number;
  /** Largest `moof` read. Default 16 MiB. */
  readonly maxMoofBytes?: number;
  /** Most samples in one fragment (all tracks). Default 64 Ki (a 1 s part holds ~100). */
  readonly maxSamplesPerFragment?: number;
  /** Most fragments indexed; the rest of the file is left out (`stopReason`). Default 1 Mi. */
  readonly maxFragments?: number;
}

const DEFAULTS: Required<Fmp4ReaderOptions> = {
  maxMoovBytes: 16 * 1024 * 1024,
  maxMoofBytes: 16 * 1024 * 1024,
  maxSamplesPerFragment: 64 * 1024,
  maxFragments: 1024 * 1024,
};

/** A track of the initialization segment, with its `trex` defaults (§8.8.3). */
export interface Fmp4TrackInfo extends SampleDescription {
  readonly trackId: number;
  /** hdlr handler type: 'vide', 'soun', ... */
  readonly handler: string;
  readonly kind: TrackKind;
  /** mdhd timescale: ticks per second of every time of the track. */
  readonly timescale: number;
  readonly defaultSampleDurationTicks: number;
  readonly defaultSampleSizeBytes: number;
  readonly defaultSampleFlags: number;
}

/** `prft` boxes in a row before one `moof`: a recording writes one or two; a longer run starts over. */
const MAX_PRFTS_PER_FRAGMENT = 4;

/** `prft` (§8.16.5): the wall-clock time at which a media time of a track was produced or received. */
export interface ProducerReferenceTime {
  readonly referenceTrackId: number;
  /** Which moment the time names (§8.16.5.3). */
  readonly flags: number;
  readonly ntp: NtpTime;
  /** The NTP time as ms since the Unix epoch. */
  readonly wallClockMs: number;
  /** The decode time (reference track's timescale) that `ntp` names. */
  readonly mediaTime: number;
}

/**
 * The samples of one track in one fragment, as parallel arrays (no per-sample objects: an hour of
 * video and audio is ~270k samples).
 */
export interface Fmp4TrackRun {
  readonly trackId: number;
  readonly count: number;
  /** Decode time (ticks of the track's timescale). */
  readonly decodeTime: Float64Array;
  readonly duration: Uint32Array;
  /** pts − dts in ticks (signed). */
  readonly compositionOffset: Int32Array;
  readonly size: Uint32Array;
  /** Absolute file offset of each sample's bytes. */
  readonly offset: Float64Array;
  /** 1 for sync samples (sample_is_non_sync_sample clear, §8.8.3.1). */
  readonly sync: Uint8Array;
}

export interface Fmp4Fragment {
  /** mfhd sequence_number. */
  readonly sequenceNumber: number;
  /** File offset of the fragment's first box (its first `prft`, else its `moof`). */
  readonly start: number;
  readonly moofOffset: number;
  /** One past its last byte (the end of its last `mdat`). */
  readonly end: number;
  /** The first of the `prft` boxes right before the `moof` (a recording's: receipt by the server). */
  readonly prft: ProducerReferenceTime | undefined;
  /**
   * A later one of those with flags 0 (the time the sample was input to the encoder): a recording's
   * publisher time from its RTCP sender reports, when it sent any.
   */
  readonly senderPrft?: ProducerReferenceTime;
  /** Runs of the tracks with samples in this fragment, in `traf` order. */
  readonly runs: readonly Fmp4TrackRun[];
}

export interface Fmp4Index {
  readonly fileSize: number;
  readonly majorBrand: string | undefined;
  /** Where the initialization segment (ftyp + moov) ends. */
  readonly initBytes: number;
  readonly tracks: readonly Fmp4TrackInfo[];
  readonly fragments: readonly Fmp4Fragment[];
  /** The end of the last complete fragment (of the init segment if none): what a cut file keeps. */
  readonly completeBytes: number;
  /** Why indexing stopped before the end of the file (a cut tail, a bad fragment, a limit); else undefined. */
  readonly stopReason?: string;
}

/** A read the walk needs: `length` bytes at `offset` (fewer only at the end of the file). */
export interface Fmp4ReadRequest {
  readonly offset: number;
  readonly length: number;
}

type Walk = Generator<Fmp4ReadRequest, Fmp4Index, Buffer>;

/** Indexes an fMP4 file through a ByteSource (see the module comment). */
export async function indexFmp4(source: ByteSource, options: Fmp4ReaderOptions = {}): Promise<Fmp4Index> {
  const walk = walkFmp4(source.size, options);
  let step = walk.next(Buffer.alloc(0));
  while (!step.done) step = walk.next(await source.read(step.value.offset, step.value.length));
  return step.value;
}

/** Indexes an fMP4 file held in memory. */
export function indexFmp4Buffer(bytes: Buffer, options: Fmp4ReaderOptions = {}): Fmp4Index {
  const walk = walkFmp4(bytes.length, options);
  let step = walk.next(Buffer.alloc(0));
  while (!step.done)
    step = walk.next(bytes.subarray(step.value.offset, step.value.offset + step.value.length));
  return step.value;
}

/** One sample of a run as an object (for tests and logs; engines read the arrays). */
export function runSample(
  run: Fmp4TrackRun,
  i: number,
): {
  decodeTime: number;
  duration: number;
  compositionOffset: number;
  size: number;
  offset: number;
  sync: boolean;
} {
  if (!Number.isInteger(i) || i < 0 || i >= run.count) throw new RangeError(`sample ${i} of ${run.count}`);
  return {
    decodeTime: run.decodeTime[i]!,
    duration: run.duration[i]!,
    compositionOffset: run.compositionOffset[i]!,
    size: run.size[i]!,
    offset: run.offset[i]!,
    sync: run.sync[i] === 1,
  };
}

interface TopBox extends BoxHeader {
  /** False when the file ends before the box does. */
  readonly complete: boolean;
}

/** Reads the top-level box header at `at`, or undefined when fewer than 8 bytes are left. */
function* topBox(at: number, fileSize: number): Generator<Fmp4ReadRequest, TopBox | undefined, Buffer> {
  const left = fileSize - at;
  if (left < 8) return undefined;
  const head = yield { offset: at, length: Math.min(16, left) };
  if (head.length < 8) return undefined;
  const size32 = head.readUInt32BE(0);
  const type = fourcc(head, 4);
  let size = size32;
  let headerSize = 8;
  if (size32 === 1) {
    if (head.length < 16) return { type, start: at, payload: at + 16, end: fileSize + 1, complete: false };
    const hi = head.readUInt32BE(8);
    if (hi > 0x1fffff) throw new ParseError('MP4_BAD_BOX', `'${type}' at ${at}: largesize beyond 2^53`);
    size = hi * 0x100000000 + head.readUInt32BE(12);
    headerSize = 16;
  } else if (size32 === 0) {
    size = left; // "the box extends to the end of the file" (§4.2)
  }
  if (size < headerSize) throw new ParseError('MP4_BAD_BOX', `'${type}' at ${at} has size ${size}`);
  return { type, start: at, payload: at + headerSize, end: at + size, complete: size <= left };
}

function* readBox(box: TopBox, limit: number): Generator<Fmp4ReadRequest, Buffer, Buffer> {
  const size = box.end - box.start;
  if (size > limit)
    throw new ParseError('MP4_UNSUPPORTED', `'${box.type}' of ${size} bytes (limit ${limit})`);
  const buf = yield { offset: box.start, length: size };
  if (buf.length < size) throw new ParseError('MP4_TRUNCATED', `'${box.type}' at ${box.start}: short read`);
  return buf;
}

/** The walk: init segment first (errors throw), then fragments until the end, a cut or a bad box. */
function* walkFmp4(fileSize: number, options: Fmp4ReaderOptions): Walk {
  const o = { ...DEFAULTS, ...options };
  let at = 0;
  let majorBrand: string | undefined;
  let tracks: Fmp4TrackInfo[] | undefined;
  // The initialization segment: ftyp, moov (anything else before moov is skipped; moof before it is an error).
  for (let n = 0; tracks === undefined; n++) {
    const h = yield* topBox(at, fileSize);
    if (h === undefined || !h.complete)
      throw new ParseError('MP4_TRUNCATED', `the file ends at ${fileSize} before its 'moov' is complete`);
    if (n > 64) throw new ParseError('MP4_NO_MOOV', 'no moov among the first 64 boxes');
    if (h.type === 'moof') throw new ParseError('MP4_NO_MOOV', "a 'moof' before any 'moov'");
    if (h.type === 'ftyp') {
      const buf = yield* readBox(h, 4096);
      if (buf.length >= 12) majorBrand = fourcc(buf, h.payload - h.start);
    }
    if (h.type === 'moov') {
      const buf = yield* readBox(h, o.maxMoovBytes);
      tracks = parseFmp4Moov(buf);
    }
    at = h.end;
  }
  const initBytes = at;
  const fragments: Fmp4Fragment[] = [];
  const nextDecodeTime = new Map<number, number>();
  let completeBytes = at;
  let stopReason: string | undefined;
  /** The `prft` boxes in a row, each right after the one before (the last one ends at `end`). */
  let pendingPrfts: { start: number; end: number; values: ProducerReferenceTime[] } | undefined;
  let open:
    | {
        start: number;
        moof: TopBox;
        buf: Buffer;
        prft: ProducerReferenceTime | undefined;
        senderPrft: ProducerReferenceTime | undefined;
        dataEnd: number;
      }
    | undefined;
  const closeFragment = (end: number): string | undefined => {
    if (open === undefined) return undefined;
    const f = open;
    open = undefined;
    try {
      const parsed = parseFmp4Moof(f.buf, f.moof.start, tracks, nextDecodeTime, o.maxSamplesPerFragment);
      for (const run of parsed.runs)
        for (let i = 0; i < run.count; i++)
          if (run.offset[i]! < f.moof.end || run.offset[i]! + run.size[i]! > end)
            return `fragment ${parsed.sequenceNumber} at ${f.start}: sample data outside its mdat`;
      for (const run of parsed.runs)
        if (run.count > 0)
          nextDecodeTime.set(run.trackId, run.decodeTime[run.count - 1]! + run.duration[run.count - 1]!);
      fragments.push({
        ...parsed,
        start: f.start,
        moofOffset: f.moof.start,
        end,
        prft: f.prft,
        ...(f.senderPrft !== undefined ? { senderPrft: f.senderPrft } : {}),
      });
      completeBytes = end;
      return undefined;
    } catch (e) {
      if (e instanceof ParseError) return `fragment at ${f.start}: ${e.code} ${e.message}`;
      throw e;
    }
  };
  for (;;) {
    const h = yield* topBox(at, fileSize);
    if (h === undefined || !h.complete) {
      // The end of the file, or a cut inside a box: the open fragment counts if its data is all there.
      const cut = h !== undefined || at < fileSize;
      stopReason = open !== undefined ? closeFragment(open.dataEnd) : undefined;
      if (cut) stopReason ??= `the file is cut at ${fileSize} inside a box at ${at}`;
      break;
    }
    if (h.type === 'prft' || h.type === 'moof') {
      if (open !== undefined) stopReason = closeFragment(open.dataEnd);
      if (stopReason !== undefined) break;
      if (fragments.length >= o.maxFragments) {
        stopReason = `more than ${o.maxFragments} fragments`;
        break;
      }
    }
    try {
      if (h.type === 'prft') {
        const value = parsePrft(yield* readBox(h, 1024));
        if (pendingPrfts?.end === h.start && pendingPrfts.values.length < MAX_PRFTS_PER_FRAGMENT) {
          pendingPrfts.values.push(value);
          pendingPrfts.end = h.end;
        } else pendingPrfts = { start: h.start, end: h.end, values: [value] };
      } else if (h.type === 'moof') {
        const buf = yield* readBox(h, o.maxMoofBytes);
        const prfts = pendingPrfts?.end === h.start ? pendingPrfts : undefined;
        open = {
          start: prfts?.start ?? h.start,
          moof: h,
          buf,
          prft: prfts?.values[0],
          senderPrft: prfts?.values.slice(1).find((p) => p.flags === 0),
          dataEnd: h.end,
        };
        pendingPrfts = undefined;
      } else if (h.type === 'mdat' && open !== undefined) {
        open.dataEnd = h.end;
      }
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      stopReason = `'${h.type}' at ${h.start}: ${e.code} ${e.message}`;
      break;
    }
    at = h.end;
  }
  return {
    fileSize,
    majorBrand,
    initBytes,
    tracks,
    fragments,
    completeBytes,
    ...(stopReason !== undefined ? { stopReason } : {}),
  };
}

/** The tracks of a `moov` (the whole box, from its header) with their `trex` defaults. */
export function parseFmp4Moov(buf: Buffer): Fmp4TrackInfo[] {
  const moov = { type: 'moov', start: 0, payload: 8, end: buf.length };
  if (buf.length >= 16 && buf.readUInt32BE(0) === 1) moov.payload = 16;
  const boxes = childBoxes(buf, moov.payload, moov.end);
  const trex = new Map<number, { duration: number; size: number; flags: number }>();
  const mvex = findBox(boxes, 'mvex');
  if (mvex)
    for (const b of childBoxes(buf, mvex.payload, mvex.end)) {
      if (b.type !== 'trex') continue;
      const c = Cursor.ofBox(buf, b);
      c.fullBox();
      const id = c.u32();
      c.u32(); // default_sample_description_index
      trex.set(id, { duration: c.u32(), size: c.u32(), flags: c.u32() });
    }
  const tracks = boxes.filter((b) => b.type === 'trak').map((trak) => parseTrak(buf, trak));
  if (tracks.length === 0) throw new ParseError('MP4_BAD_BOX', "'moov' without tracks");
  if (tracks.length > 64) throw new ParseError('MP4_UNSUPPORTED', `${tracks.length} tracks`);
  return tracks.map((t) => {
    const d = trex.get(t.trackId);
    return {
      ...t,
      defaultSampleDurationTicks: d?.duration ?? 0,
      defaultSampleSizeBytes: d?.size ?? 0,
      defaultSampleFlags: d?.flags ?? 0,
    };
  });
}

type TrakInfo = Omit<
  Fmp4TrackInfo,
  'defaultSampleDurationTicks' | 'defaultSampleSizeBytes' | 'defaultSampleFlags'
>;

function parseTrak(buf: Buffer, trak: BoxHeader): TrakInfo {
  const boxes = childBoxes(buf, trak.payload, trak.end);
  const tkhd = Cursor.ofBox(buf, requireBox(boxes, 'tkhd', 'trak'));
  tkhd.skip(tkhd.fullBox().version === 1 ? 16 : 8);
  const trackId = tkhd.u32();
  const mdia = requireBox(boxes, 'mdia', 'trak');
  const mdiaBoxes = childBoxes(buf, mdia.payload, mdia.end);
  const mdhd = Cursor.ofBox(buf, requireBox(mdiaBoxes, 'mdhd', 'mdia'));
  mdhd.skip(mdhd.fullBox().version === 1 ? 16 : 8);
  const timescale = mdhd.u32();
  if (timescale === 0) throw new ParseError('MP4_BAD_BOX', `track ${trackId}: mdhd timescale 0`);
  const hdlr = Cursor.ofBox(buf, requireBox(mdiaBoxes, 'hdlr', 'mdia'));
  hdlr.fullBox();
  hdlr.skip(4);
  const handler = hdlr.fourcc();
  const kind: TrackKind = handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : 'other';
  const minf = requireBox(mdiaBoxes, 'minf', 'mdia');
  const stbl = requireBox(childBoxes(buf, minf.payload, minf.end), 'stbl', 'minf');
  const description = parseStsd(
    buf,
    requireBox(childBoxes(buf, stbl.payload, stbl.end), 'stsd', 'stbl'),
    kind,
  );
  return { ...description, trackId, handler, kind, timescale };
}

/** A `prft` box (§8.16.5), whole from its header. */
export function parsePrft(buf: Buffer): ProducerReferenceTime {
  const c = new Cursor(buf, 8, buf.length, "'prft'");
  const { version, flags } = c.fullBox();
  const referenceTrackId = c.u32();
  const seconds = c.u32();
  const fraction = c.u32();
  const mediaTime = version === 1 ? c.u64() : c.u32();
  const ntp = { seconds, fraction };
  return { referenceTrackId, flags, ntp, wallClockMs: ntpToUnixMs(ntp), mediaTime };
}

const TFHD_BASE_DATA_OFFSET = 0x000001;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
const TFHD_DEFAULT_DURATION = 0x000008;
const TFHD_DEFAULT_SIZE = 0x000010;
const TFHD_DEFAULT_FLAGS = 0x000020;
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
const TRUN_DURATION = 0x000100;
const TRUN_SIZE = 0x000200;
const TRUN_FLAGS = 0x000400;
const TRUN_CTO = 0x000800;
/** sample_is_non_sync_sample (§8.8.3.1). */
const NON_SYNC = 0x00010000;

/**
 * The samples of a `moof` (whole, from its header; `moofOffset` is its offset in the file). A track with
 * no `tfdt` continues from `nextDecodeTime` (the previous fragment's end). Data offsets follow §8.8.7.1:
 * base-data-offset, else default-base-is-moof, else the moof for the first `traf` and the end of the
 * previous track's data for the next ones; a `trun` without data_offset continues the previous run.
 */
export function parseFmp4Moof(
  buf: Buffer,
  moofOffset: number,
  tracks: readonly Fmp4TrackInfo[],
  nextDecodeTime: ReadonlyMap<number, number> = new Map(),
  maxSamples = DEFAULTS.maxSamplesPerFragment,
): { sequenceNumber: number; runs: Fmp4TrackRun[] } {
  const boxes = childBoxes(buf, 8, buf.length);
  const mfhd = Cursor.ofBox(buf, requireBox(boxes, 'mfhd', 'moof'));
  mfhd.fullBox();
  const sequenceNumber = mfhd.u32();
  const runs: Fmp4TrackRun[] = [];
  let total = 0;
  let previousDataEnd = moofOffset;
  for (const traf of boxes) {
    if (traf.type !== 'traf') continue;
    const trafBoxes = childBoxes(buf, traf.payload, traf.end);
    const tfhd = Cursor.ofBox(buf, requireBox(trafBoxes, 'tfhd', 'traf'));
    const tf = tfhd.fullBox().flags;
    const trackId = tfhd.u32();
    const track = tracks.find((t) => t.trackId === trackId);
    if (!track) throw new ParseError('MP4_BAD_BOX', `'traf' of unknown track ${trackId}`);
    let base = runs.length === 0 || tf & TFHD_DEFAULT_BASE_IS_MOOF ? moofOffset : previousDataEnd;
    if (tf & TFHD_BASE_DATA_OFFSET) base = tfhd.u64();
    if (tf & TFHD_SAMPLE_DESCRIPTION_INDEX) tfhd.u32();
    const defDuration = tf & TFHD_DEFAULT_DURATION ? tfhd.u32() : track.defaultSampleDurationTicks;
    const defSize = tf & TFHD_DEFAULT_SIZE ? tfhd.u32() : track.defaultSampleSizeBytes;
    const defFlags = tf & TFHD_DEFAULT_FLAGS ? tfhd.u32() : track.defaultSampleFlags;
    const tfdtBox = findBox(trafBoxes, 'tfdt');
    let time = nextDecodeTime.get(trackId) ?? 0;
    if (tfdtBox) {
      const c = Cursor.ofBox(buf, tfdtBox);
      time = c.fullBox().version === 1 ? c.u64() : c.u32();
    }
    const truns = trafBoxes.filter((b) => b.type === 'trun');
    const counts = truns.map((b) => (b.end - b.payload >= 8 ? buf.readUInt32BE(b.payload + 4) : 0));
    const count = counts.reduce((a, b) => a + b, 0);
    total += count;
    if (total > maxSamples)
      throw new ParseError('MP4_UNSUPPORTED', `more than ${maxSamples} samples in a fragment`);
    const run = {
      trackId,
      count,
      decodeTime: new Float64Array(count),
      duration: new Uint32Array(count),
      compositionOffset: new Int32Array(count),
      size: new Uint32Array(count),
      offset: new Float64Array(count),
      sync: new Uint8Array(count),
    };
    let i = 0;
    let dataAt = base;
    for (const trunBox of truns) {
      const c = Cursor.ofBox(buf, trunBox);
      const { version, flags } = c.fullBox();
      const n = c.u32();
      if (flags & TRUN_DATA_OFFSET) dataAt = base + c.i32();
      const firstFlags = flags & TRUN_FIRST_SAMPLE_FLAGS ? c.u32() : undefined;
      const entryBytes = 4 * [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTO].filter((f) => flags & f).length;
      c.needEntries(n, entryBytes);
      for (let k = 0; k < n; k++, i++) {
        const duration = flags & TRUN_DURATION ? c.u32() : defDuration;
        const size = flags & TRUN_SIZE ? c.u32() : defSize;
        let sampleFlags = flags & TRUN_FLAGS ? c.u32() : defFlags;
        if (k === 0 && firstFlags !== undefined) sampleFlags = firstFlags;
        const cto = flags & TRUN_CTO ? (version === 0 ? c.u32() : c.i32()) : 0;
        if (!Number.isSafeInteger(time + duration))
          throw new ParseError('MP4_UNSUPPORTED', `track ${trackId}: decode time beyond 2^53`);
        run.decodeTime[i] = time;
        run.duration[i] = duration;
        run.compositionOffset[i] = cto > 0x7fffffff ? 0x7fffffff : cto;
        run.size[i] = size;
        run.offset[i] = dataAt;
        run.sync[i] = sampleFlags & NON_SYNC ? 0 : 1;
        time += duration;
        dataAt += size;
      }
    }
    previousDataEnd = dataAt;
    if (count > 0) runs.push(run);
  }
  return { sequenceNumber, runs };
}
