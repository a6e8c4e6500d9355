import { ParseError } from '../../base/errors.js';
import { childBoxes, Cursor, findBox, requireBox, type BoxHeader } from './boxes.js';

/**
 * A track's samples as parallel typed arrays (ISO/IEC 14496-12 §8.6-8.7): about 29 bytes per sample,
 * so a 2-hour track of 200k samples costs ~6 MB and no per-sample objects.
 *
 * Times are integer ticks of the media timescale on the **presentation timeline**: the edit-list shift
 * (see `EditInfo`) is already applied, so `dts[0]` is `-media_time` (+ any initial empty edit) and
 * `pts = dts + ctsOffset`. This is what ffprobe reports as a packet's dts/pts.
 */
export interface SampleTable {
  readonly count: number;
  /** Absolute file offset of each sample (Float64: co64 offsets exceed 2^32). */
  readonly offset: Float64Array;
  readonly size: Uint32Array;
  readonly dts: Float64Array;
  /** Composition offset (ctts), signed. */
  readonly ctsOffset: Int32Array;
  /** stts delta of each sample. */
  readonly duration: Uint32Array;
  /** 1 for sync samples (stss; every sample when stss is absent). */
  readonly keyframe: Uint8Array;
  /** Indices of the sync samples, ascending. */
  readonly keyframes: Uint32Array;
}

export interface SampleTableLimits {
  /** Size of the whole file; bounds sample counts of constant-size `stsz`. */
  readonly fileSize: number;
  readonly maxSamples: number;
}

function badTable(detail: string): ParseError {
  return new ParseError('MP4_BAD_SAMPLE_TABLE', detail);
}

/** Builds the sample table from an `stbl` box; `shiftTicks` is added to every dts. */
export function buildSampleTable(
  buf: Buffer,
  stbl: BoxHeader,
  shiftTicks: number,
  limits: SampleTableLimits,
): SampleTable {
  const boxes = childBoxes(buf, stbl.payload, stbl.end);
  const size = readSizes(buf, boxes, limits);
  const count = size.length;
  const chunkOffsets = readChunkOffsets(buf, boxes);
  const offset = new Float64Array(count);
  fillOffsets(buf, requireBox(boxes, 'stsc', 'stbl'), chunkOffsets, size, offset);

  const dts = new Float64Array(count);
  const duration = new Uint32Array(count);
  fillTimes(buf, requireBox(boxes, 'stts', 'stbl'), shiftTicks, dts, duration);

  const ctsOffset = new Int32Array(count);
  const ctts = findBox(boxes, 'ctts');
  if (ctts) fillCtts(buf, ctts, ctsOffset);

  const keyframe = new Uint8Array(count);
  const stss = findBox(boxes, 'stss');
  if (stss) fillStss(buf, stss, keyframe);
  else keyframe.fill(1);
  let nKey = 0;
  for (let i = 0; i < count; i++) nKey += keyframe[i]!;
  const keyframes = new Uint32Array(nKey);
  for (let i = 0, k = 0; i < count; i++) if (keyframe[i]) keyframes[k++] = i;

  return { count, offset, size, dts, ctsOffset, duration, keyframe, keyframes };
}

function readSizes(buf: Buffer, boxes: BoxHeader[], limits: SampleTableLimits): Uint32Array {
  const stsz = findBox(boxes, 'stsz');
  const stz2 = findBox(boxes, 'stz2');
  const checkCount = (count: number): void => {
    if (count > limits.maxSamples)
      throw new ParseError('MP4_UNSUPPORTED', `${count} samples in a track (limit ${limits.maxSamples})`);
  };
  if (stsz) {
    const c = Cursor.ofBox(buf, stsz);
    c.fullBox();
    const sampleSize = c.u32();
    const count = c.u32();
    checkCount(count);
    if (sampleSize !== 0) {
      // Constant size: the count is not bounded by the box, so bound it by the file instead.
      if (count * sampleSize > limits.fileSize)
        throw badTable(`stsz: ${count} samples of ${sampleSize} bytes exceed the file size`);
      return new Uint32Array(count).fill(sampleSize);
    }
    c.needEntries(count, 4);
    const out = new Uint32Array(count);
    for (let i = 0; i < count; i++) out[i] = c.u32();
    return out;
  }
  if (stz2) {
    const c = Cursor.ofBox(buf, stz2);
    c.fullBox();
    c.skip(3);
    const fieldSize = c.u8();
    const count = c.u32();
    checkCount(count);
    if (fieldSize !== 4 && fieldSize !== 8 && fieldSize !== 16)
      throw new ParseError('MP4_BAD_BOX', `stz2: field_size ${fieldSize}`);
    c.need(Math.ceil((count * fieldSize) / 8));
    const out = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      if (fieldSize === 16) out[i] = c.u16();
      else if (fieldSize === 8) out[i] = c.u8();
      else out[i] = i % 2 === 0 ? buf[c.pos]! >> 4 : buf[c.pos++]! & 0x0f;
    }
    return out;
  }
  throw new ParseError('MP4_BAD_BOX', "stbl: missing 'stsz' or 'stz2' box");
}

function readChunkOffsets(buf: Buffer, boxes: BoxHeader[]): Float64Array {
  const stco = findBox(boxes, 'stco');
  const co64 = findBox(boxes, 'co64');
  const box = stco ?? co64;
  if (!box) throw new ParseError('MP4_BAD_BOX', "stbl: missing 'stco' or 'co64' box");
  const c = Cursor.ofBox(buf, box);
  c.fullBox();
  const count = c.u32();
  const wide = box.type === 'co64';
  c.needEntries(count, wide ? 8 : 4);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = wide ? c.u64() : c.u32();
  return out;
}

/** stsc (§8.7.4): runs of chunks with the same samples_per_chunk; samples are contiguous in a chunk. */
function fillOffsets(
  buf: Buffer,
  stsc: BoxHeader,
  chunkOffsets: Float64Array,
  size: Uint32Array,
  offset: Float64Array,
): void {
  const c = Cursor.ofBox(buf, stsc);
  c.fullBox();
  const n = c.u32();
  c.needEntries(n, 12);
  const firstChunk = new Float64Array(n);
  const perChunk = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    firstChunk[i] = c.u32();
    perChunk[i] = c.u32();
    c.skip(4); // sample_description_index: only the first sample entry is described (see SampleDescription)
    if (firstChunk[i]! < 1 || (i > 0 && firstChunk[i]! <= firstChunk[i - 1]!))
      throw badTable(`stsc: entry ${i} has first_chunk ${firstChunk[i]}`);
  }
  const count = size.length;
  const chunks = chunkOffsets.length;
  let sample = 0;
  for (let e = 0; e < n && sample < count; e++) {
    const from = firstChunk[e]! - 1;
    const to = e + 1 < n ? Math.min(firstChunk[e + 1]! - 1, chunks) : chunks;
    const per = perChunk[e]!;
    for (let chunk = from; chunk < to && sample < count; chunk++) {
      let at = chunkOffsets[chunk]!;
      for (let k = 0; k < per && sample < count; k++) {
        offset[sample] = at;
        at += size[sample]!;
        sample++;
      }
    }
  }
  if (sample < count) throw badTable(`stsc/stco describe ${sample} of ${count} samples`);
}

function fillTimes(
  buf: Buffer,
  stts: BoxHeader,
  shift: number,
  dts: Float64Array,
  duration: Uint32Array,
): void {
  const c = Cursor.ofBox(buf, stts);
  c.fullBox();
  const n = c.u32();
  c.needEntries(n, 8);
  const count = dts.length;
  let sample = 0;
  let t = shift;
  for (let e = 0; e < n && sample < count; e++) {
    const runLength = c.u32();
    const delta = c.u32();
    for (let k = 0; k < runLength && sample < count; k++) {
      dts[sample] = t;
      duration[sample] = delta;
      t += delta;
      sample++;
    }
  }
  if (sample < count) throw badTable(`stts describes ${sample} of ${count} samples`);
}

/**
 * ctts (§8.6.1.3). Version 0 offsets are read as signed too, as ffmpeg and most readers do: some
 * writers store negative offsets in version 0 boxes. Samples beyond the table get offset 0.
 */
function fillCtts(buf: Buffer, ctts: BoxHeader, out: Int32Array): void {
  const c = Cursor.ofBox(buf, ctts);
  c.fullBox();
  const n = c.u32();
  c.needEntries(n, 8);
  const count = out.length;
  let sample = 0;
  for (let e = 0; e < n && sample < count; e++) {
    const runLength = c.u32();
    const off = c.i32();
    const end = Math.min(count, sample + runLength);
    out.fill(off, sample, end);
    sample = end;
  }
}

function fillStss(buf: Buffer, stss: BoxHeader, out: Uint8Array): void {
  const c = Cursor.ofBox(buf, stss);
  c.fullBox();
  const n = c.u32();
  c.needEntries(n, 4);
  for (let i = 0; i < n; i++) {
    const number = c.u32();
    if (number < 1 || number > out.length) throw badTable(`stss: sample number ${number} of ${out.length}`);
    out[number - 1] = 1;
  }
}

/** Presentation time of sample i, in ticks. */
export function ptsOf(t: SampleTable, i: number): number {
  return t.dts[i]! + t.ctsOffset[i]!;
}

/** Index of the last sample with dts <= ticks, or -1. Binary search: dts is non-decreasing. */
export function lastAtOrBeforeDts(t: SampleTable, ticks: number): number {
  let lo = 0;
  let hi = t.count - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (t.dts[mid]! <= ticks) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/**
 * The last sync sample whose presentation time is <= ticks, or -1 when there is none. Binary search
 * over the sync samples, whose pts are assumed non-decreasing (true of every real stream: leading
 * pictures may precede their keyframe in presentation, keyframes do not precede one another).
 */
export function keyframeAtOrBeforeTicks(t: SampleTable, ticks: number): number {
  const keys = t.keyframes;
  let lo = 0;
  let hi = keys.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const i = keys[mid]!;
    if (ptsOf(t, i) <= ticks) {
      found = i;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** How far (in decode order) presentation order may stray from decode order; H.264/H.265 allow 16. */
const REORDER_WINDOW = 32;

/**
 * The sample on screen at `ticks`: the one with the greatest pts <= ticks, or -1 when ticks precedes
 * every sample. Found by binary search on dts, then a scan of ±32 samples for reordering (B-frames).
 */
export function sampleAtTicks(t: SampleTable, ticks: number): number {
  if (t.count === 0) return -1;
  const d = lastAtOrBeforeDts(t, ticks);
  const from = Math.max(0, d - REORDER_WINDOW);
  const to = Math.min(t.count - 1, d + REORDER_WINDOW);
  let best = -1;
  let bestPts = -Infinity;
  for (let i = from; i <= to; i++) {
    const p = ptsOf(t, i);
    if (p <= ticks && p > bestPts) {
      best = i;
      bestPts = p;
    }
  }
  return best;
}

/**
 * The first sample, in decode order, whose presentation ends after `ticks` (pts + duration > ticks),
 * or `count` when none does. For tracks presented in decode order (audio): where playing from
 * `ticks` starts without sending a sample that is entirely before it, such as AAC's priming frame,
 * which an edit list (ISO/IEC 14496-12 §8.6.6) places before 0 for the decoder to discard.
 */
export function firstSampleEndingAfter(t: SampleTable, ticks: number): number {
  let lo = 0;
  let hi = t.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ptsOf(t, mid) + t.duration[mid]! <= ticks) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
