/**
 * Reading back the boxes a recording is made of (ISO/IEC 14496-12): the tracks of the `moov`, a part's
 * `prft` and the timing of its `moof`. Pure functions over bytes the caller read; a file on disk may
 * be cut or damaged, so every read is bounded by the box it is in and a malformed box gives undefined
 * (or throws ParseError), never a read past the buffer.
 */
import { ParseError } from '../base/errors.js';
import { ntpToUnixMs } from '../base/clock.js';

export interface BoxHeader {
  type: string;
  /** Bytes of the header (8, or 16 with a 64-bit size). */
  headerBytes: number;
  /** Bytes of the whole box; undefined for size 0 (to the end of the file). */
  sizeBytes: number | undefined;
}

/** The header of the box at the start of `b` (at least 8 bytes, 16 for a 64-bit size), or undefined. */
export function readBoxHeader(b: Uint8Array): BoxHeader | undefined {
  if (b.length < 8) return undefined;
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const size = v.readUInt32BE(0);
  const type = v.toString('latin1', 4, 8);
  if (size === 1) {
    if (b.length < 16) return undefined;
    const large = Number(v.readBigUInt64BE(8));
    return large >= 16 ? { type, headerBytes: 16, sizeBytes: large } : undefined;
  }
  if (size === 0) return { type, headerBytes: 8, sizeBytes: undefined };
  return size >= 8 ? { type, headerBytes: 8, sizeBytes: size } : undefined;
}

/** The child boxes of a box body: [type, body] pairs; stops at the first malformed one. */
function children(body: Buffer): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  let at = 0;
  while (at + 8 <= body.length) {
    const h = readBoxHeader(body.subarray(at));
    if (h === undefined) break;
    const size = h.sizeBytes ?? body.length - at;
    if (at + size > body.length) break;
    out.push([h.type, body.subarray(at + h.headerBytes, at + size)]);
    at += size;
  }
  return out;
}

const child = (body: Buffer, type: string): Buffer | undefined =>
  children(body).find(([t]) => t === type)?.[1];

function need(b: Buffer, bytes: number, what: string): void {
  if (b.length < bytes) throw new ParseError('RECORDING_BAD_BOX', `${what} is truncated`);
}

export interface RecordedTrackInfo {
  trackId: number;
  timescale: number;
  /** The codec's short name: h264, h265, aac, opus, or the sample entry's four letters. */
  codec: string;
  video: boolean;
}

const CODEC_OF_ENTRY: Readonly<Record<string, string>> = {
  avc1: 'h264',
  avc3: 'h264',
  hvc1: 'h265',
  hev1: 'h265',
  mp4a: 'aac',
  Opus: 'opus',
};

/** The tracks of a `moov` body. Throws ParseError when a track lacks its header boxes. */
export function readMovieTracks(moov: Buffer): RecordedTrackInfo[] {
  return children(moov)
    .filter(([t]) => t === 'trak')
    .map(([, trak]) => {
      const tkhd = child(trak, 'tkhd');
      const mdia = child(trak, 'mdia');
      const mdhd = mdia && child(mdia, 'mdhd');
      const hdlr = mdia && child(mdia, 'hdlr');
      const stbl = mdia && child(mdia, 'minf') && child(child(mdia, 'minf')!, 'stbl');
      const stsd = stbl && child(stbl, 'stsd');
      if (tkhd === undefined || mdhd === undefined || hdlr === undefined || stsd === undefined)
        throw new ParseError('RECORDING_BAD_BOX', 'a track lacks tkhd, mdhd, hdlr or stsd');
      const v1 = (b: Buffer): boolean => b[0] === 1;
      need(tkhd, v1(tkhd) ? 24 : 16, 'tkhd');
      need(mdhd, v1(mdhd) ? 24 : 16, 'mdhd');
      need(hdlr, 12, 'hdlr');
      need(stsd, 16, 'stsd');
      const entry = stsd.toString('latin1', 12, 16);
      return {
        trackId: tkhd.readUInt32BE(v1(tkhd) ? 20 : 12),
        timescale: mdhd.readUInt32BE(v1(mdhd) ? 20 : 12),
        codec: CODEC_OF_ENTRY[entry] ?? entry.trim(),
        video: hdlr.toString('latin1', 8, 12) === 'vide',
      };
    });
}

export interface ProducerReferenceTime {
  referenceTrackId: number;
  /** The NTP time, as Unix milliseconds. */
  wallMs: number;
  mediaTime: number;
}

/** A `prft` body (§8.16.5). Throws ParseError when truncated. */
export function readProducerReferenceTime(body: Buffer): ProducerReferenceTime {
  const version = body[0];
  need(body, version === 1 ? 24 : 20, 'prft');
  return {
    referenceTrackId: body.readUInt32BE(4),
    wallMs: ntpToUnixMs({ seconds: body.readUInt32BE(8), fraction: body.readUInt32BE(12) }),
    mediaTime: version === 1 ? Number(body.readBigUInt64BE(16)) : body.readUInt32BE(16),
  };
}

export interface FragmentTrackTiming {
  trackId: number;
  /** tfdt: decode time of the first sample. */
  baseDecodeTime: number;
  samples: number;
  /** Sum of the sample durations, in the track's timescale. */
  durationTicks: number;
  /** The first sample's composition offset (pts − dts). */
  firstCompositionOffset: number;
}

const TFHD_DEFAULT_DURATION = 0x000008;
const TFHD_BASE_DATA_OFFSET = 0x000001;
const TFHD_SAMPLE_DESCRIPTION = 0x000002;
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
const TRUN_SAMPLE_DURATION = 0x000100;
const TRUN_SAMPLE_SIZE = 0x000200;
const TRUN_SAMPLE_FLAGS = 0x000400;
const TRUN_SAMPLE_CTO = 0x000800;

/** The timing of each track of a `moof` body (tfhd, tfdt, trun). Throws ParseError when malformed. */
export function readFragmentTiming(moof: Buffer): FragmentTrackTiming[] {
  return children(moof)
    .filter(([t]) => t === 'traf')
    .map(([, traf]) => {
      const tfhd = child(traf, 'tfhd');
      const tfdt = child(traf, 'tfdt');
      if (tfhd === undefined || tfdt === undefined)
        throw new ParseError('RECORDING_BAD_BOX', 'a traf lacks tfhd or tfdt');
      need(tfhd, 8, 'tfhd');
      const tfhdFlags = tfhd.readUIntBE(1, 3);
      let at = 8;
      if (tfhdFlags & TFHD_BASE_DATA_OFFSET) at += 8;
      if (tfhdFlags & TFHD_SAMPLE_DESCRIPTION) at += 4;
      let defaultDuration = 0;
      if (tfhdFlags & TFHD_DEFAULT_DURATION) {
        need(tfhd, at + 4, 'tfhd');
        defaultDuration = tfhd.readUInt32BE(at);
      }
      need(tfdt, tfdt[0] === 1 ? 12 : 8, 'tfdt');
      const baseDecodeTime = tfdt[0] === 1 ? Number(tfdt.readBigUInt64BE(4)) : tfdt.readUInt32BE(4);
      let samples = 0;
      let durationTicks = 0;
      let firstCompositionOffset: number | undefined;
      for (const [type, trun] of children(traf)) {
        if (type !== 'trun') continue;
        need(trun, 8, 'trun');
        const flags = trun.readUIntBE(1, 3);
        const count = trun.readUInt32BE(4);
        let p = 8 + (flags & TRUN_DATA_OFFSET ? 4 : 0) + (flags & TRUN_FIRST_SAMPLE_FLAGS ? 4 : 0);
        const fields = [TRUN_SAMPLE_DURATION, TRUN_SAMPLE_SIZE, TRUN_SAMPLE_FLAGS, TRUN_SAMPLE_CTO].filter(
          (f) => flags & f,
        ).length;
        need(trun, p + count * fields * 4, 'trun');
        for (let i = 0; i < count; i++) {
          let duration = defaultDuration;
          if (flags & TRUN_SAMPLE_DURATION) {
            duration = trun.readUInt32BE(p);
            p += 4;
          }
          if (flags & TRUN_SAMPLE_SIZE) p += 4;
          if (flags & TRUN_SAMPLE_FLAGS) p += 4;
          if (flags & TRUN_SAMPLE_CTO) {
            const cto = trun[0] === 1 ? trun.readInt32BE(p) : trun.readUInt32BE(p);
            firstCompositionOffset ??= cto;
            p += 4;
          } else firstCompositionOffset ??= 0;
          durationTicks += duration;
        }
        samples += count;
      }
      return {
        trackId: tfhd.readUInt32BE(4),
        baseDecodeTime,
        samples,
        durationTicks,
        firstCompositionOffset: firstCompositionOffset ?? 0,
      };
    });
}

/** The top-level boxes of `bytes` that are whole: [type, start, end, body]. */
export function topLevelBoxes(bytes: Buffer): { type: string; start: number; end: number; body: Buffer }[] {
  const out: { type: string; start: number; end: number; body: Buffer }[] = [];
  let at = 0;
  while (at + 8 <= bytes.length) {
    const h = readBoxHeader(bytes.subarray(at));
    if (h === undefined) break;
    const end = at + (h.sizeBytes ?? bytes.length - at);
    if (end > bytes.length) break;
    out.push({ type: h.type, start: at, end, body: bytes.subarray(at + h.headerBytes, end) });
    at = end;
  }
  return out;
}
