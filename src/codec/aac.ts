/**
 * MPEG-4 AAC helpers (ISO/IEC 14496-3): AudioSpecificConfig (§1.6.2.1) and ADTS headers
 * (ISO/IEC 13818-7 §6.2, §1.A.2 of 14496-3), the framing of .aac files and MPEG-TS audio.
 */
import { BitReader, BitWriter } from '../base/bits.js';
import { ParseError } from '../base/errors.js';

/** samplingFrequencyIndex 0..12 (14496-3 Table 1.18). */
export const AAC_SAMPLE_RATES: readonly number[] = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/** Audio object types of interest (14496-3 Table 1.17). */
export const AacObjectType = { Main: 1, Lc: 2, Ssr: 3, Ltp: 4, Sbr: 5, Ps: 29 } as const;

export interface AudioSpecificConfig {
  /** audioObjectType; for explicit SBR/PS signalling this is the underlying core type (e.g. 2 for HE-AAC). */
  objectType: number;
  sampleRate: number;
  /** 0..15; 0 means "defined in the program config element". */
  channelConfiguration: number;
  /** Number of channels for configurations 1..7 (7 = 7.1), else 0 when unknown. */
  channels: number;
  /** Samples per frame for GA object types: 1024, or 960 when frameLengthFlag is set. */
  frameLength: number;
  /** Explicitly signalled SBR (object type 5 or 29) extension sample rate. */
  extensionSampleRate?: number;
  /** True when the config used explicit SBR (5) or PS (29) signalling. */
  sbr?: boolean;
  ps?: boolean;
}

const CHANNELS_BY_CONFIG: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 8];
const GA_TYPES = new Set([1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23]);

function readObjectType(r: BitReader): number {
  const t = r.readBits(5);
  return t === 31 ? 32 + r.readBits(6) : t;
}

function readSampleRate(r: BitReader): number {
  const idx = r.readBits(4);
  if (idx === 15) return r.readBits(24);
  const rate = AAC_SAMPLE_RATES[idx];
  if (rate === undefined) throw new ParseError('AAC_BAD_CONFIG', `reserved samplingFrequencyIndex ${idx}`);
  return rate;
}

/** Parses an AudioSpecificConfig. Throws ParseError('AAC_BAD_CONFIG'). */
export function parseAudioSpecificConfig(data: Uint8Array): AudioSpecificConfig {
  const r = new BitReader(data);
  try {
    let objectType = readObjectType(r);
    if (objectType === 0) throw new ParseError('AAC_BAD_CONFIG', 'audioObjectType 0');
    const sampleRate = readSampleRate(r);
    const channelConfiguration = r.readBits(4);
    const cfg: AudioSpecificConfig = {
      objectType,
      sampleRate,
      channelConfiguration,
      channels: CHANNELS_BY_CONFIG[channelConfiguration] ?? 0,
      frameLength: 1024,
    };
    if (objectType === AacObjectType.Sbr || objectType === AacObjectType.Ps) {
      cfg.sbr = true;
      if (objectType === AacObjectType.Ps) cfg.ps = true;
      cfg.extensionSampleRate = readSampleRate(r);
      objectType = readObjectType(r);
      cfg.objectType = objectType;
    }
    // GASpecificConfig (§4.4.1): frameLengthFlag is its first bit. Tolerate configs cut right after
    // the channel configuration (2 bytes minus the GA bits), as some encoders emit.
    if (GA_TYPES.has(objectType) && r.bitsLeft > 0 && r.readFlag()) cfg.frameLength = 960;
    return cfg;
  } catch (e) {
    if (e instanceof ParseError && e.code === 'BITS_EOF')
      throw new ParseError('AAC_BAD_CONFIG', 'truncated AudioSpecificConfig');
    throw e;
  }
}

/**
 * Builds an AudioSpecificConfig with a GASpecificConfig (no core coder, no extension).
 * Sample rates outside the table are written explicitly (index 15 + 24 bits).
 */
export function buildAudioSpecificConfig(cfg: {
  objectType: number;
  sampleRate: number;
  channelConfiguration: number;
  frameLength?: number;
}): Buffer {
  const w = new BitWriter();
  if (cfg.objectType >= 31) {
    w.writeBits(31, 5);
    w.writeBits(cfg.objectType - 32, 6);
  } else {
    w.writeBits(cfg.objectType, 5);
  }
  const idx = AAC_SAMPLE_RATES.indexOf(cfg.sampleRate);
  if (idx >= 0) w.writeBits(idx, 4);
  else {
    w.writeBits(15, 4);
    w.writeBits(cfg.sampleRate, 24);
  }
  w.writeBits(cfg.channelConfiguration, 4);
  w.writeBits(cfg.frameLength === 960 ? 1 : 0, 1); // frameLengthFlag
  w.writeBits(0, 1); // dependsOnCoreCoder
  w.writeBits(0, 1); // extensionFlag
  return w.finish();
}

export interface AdtsHeader {
  /** 7 bytes, or 9 with CRC. */
  headerLength: number;
  /** Whole frame length, header included. */
  frameLength: number;
  objectType: number;
  samplingFrequencyIndex: number;
  sampleRate: number;
  channelConfiguration: number;
  /** number_of_raw_data_blocks_in_frame + 1 (1 in practice). */
  rawDataBlocks: number;
  protectionAbsent: boolean;
}

export const ADTS_HEADER_LENGTH = 7;

/** Parses the ADTS header at `offset`. Throws ParseError('ADTS_BAD_HEADER' | 'ADTS_TRUNCATED'). */
export function parseAdtsHeader(data: Uint8Array, offset = 0): AdtsHeader {
  if (offset + 7 > data.length) throw new ParseError('ADTS_TRUNCATED', 'ADTS header needs 7 bytes');
  const b = (i: number): number => data[offset + i]!;
  if (b(0) !== 0xff || (b(1) & 0xf6) !== 0xf0) throw new ParseError('ADTS_BAD_HEADER', 'no ADTS syncword');
  const protectionAbsent = (b(1) & 1) === 1;
  const objectType = (b(2) >> 6) + 1;
  const samplingFrequencyIndex = (b(2) >> 2) & 0xf;
  const sampleRate = AAC_SAMPLE_RATES[samplingFrequencyIndex];
  if (sampleRate === undefined)
    throw new ParseError('ADTS_BAD_HEADER', `reserved sampling_frequency_index ${samplingFrequencyIndex}`);
  const channelConfiguration = ((b(2) & 1) << 2) | (b(3) >> 6);
  const frameLength = ((b(3) & 3) << 11) | (b(4) << 3) | (b(5) >> 5);
  const headerLength = protectionAbsent ? 7 : 9;
  if (frameLength < headerLength) throw new ParseError('ADTS_BAD_HEADER', `frame_length ${frameLength}`);
  return {
    headerLength,
    frameLength,
    objectType,
    samplingFrequencyIndex,
    sampleRate,
    channelConfiguration,
    rawDataBlocks: (b(6) & 3) + 1,
    protectionAbsent,
  };
}

/** Builds a 7-byte ADTS header (no CRC) for a raw AAC frame of `payloadLength` bytes. */
export function buildAdtsHeader(
  cfg: { objectType: number; sampleRate: number; channelConfiguration: number },
  payloadLength: number,
): Buffer {
  const idx = AAC_SAMPLE_RATES.indexOf(cfg.sampleRate);
  if (idx < 0) throw new RangeError(`ADTS cannot carry sample rate ${cfg.sampleRate}`);
  if (cfg.objectType < 1 || cfg.objectType > 4)
    throw new RangeError(`ADTS cannot carry object type ${cfg.objectType}`);
  if (cfg.channelConfiguration > 7) throw new RangeError('ADTS channel configuration > 7');
  const frameLength = payloadLength + 7;
  if (frameLength > 0x1fff) throw new RangeError(`AAC frame of ${payloadLength} bytes too large for ADTS`);
  const h = Buffer.alloc(7);
  h[0] = 0xff;
  h[1] = 0xf1; // MPEG-4, layer 0, no CRC
  h[2] = ((cfg.objectType - 1) << 6) | (idx << 2) | (cfg.channelConfiguration >> 2);
  h[3] = ((cfg.channelConfiguration & 3) << 6) | (frameLength >> 11);
  h[4] = (frameLength >> 3) & 0xff;
  h[5] = ((frameLength & 7) << 5) | 0x1f; // buffer fullness 0x7ff (VBR)
  h[6] = 0xfc; // fullness low bits, one raw data block
  return h;
}

export interface AdtsFrame {
  header: AdtsHeader;
  /** Raw AAC frame (header and CRC removed); a view into the input. */
  payload: Buffer;
}

/**
 * Splits an ADTS stream into frames. A trailing partial frame is returned as `rest` so that
 * streaming callers can prepend it to the next chunk. Garbage between frames is skipped by
 * resynchronising on the next syncword whose header parses.
 */
export function splitAdts(data: Uint8Array): { frames: AdtsFrame[]; rest: Buffer } {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const frames: AdtsFrame[] = [];
  let pos = 0;
  while (pos + 7 <= buf.length) {
    let header: AdtsHeader;
    try {
      header = parseAdtsHeader(buf, pos);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      pos++;
      continue;
    }
    if (pos + header.frameLength > buf.length) break;
    frames.push({ header, payload: buf.subarray(pos + header.headerLength, pos + header.frameLength) });
    pos += header.frameLength;
  }
  return { frames, rest: buf.subarray(pos) };
}

/** The AudioSpecificConfig equivalent of an ADTS header. */
export function adtsToAudioSpecificConfig(h: AdtsHeader): Buffer {
  return buildAudioSpecificConfig({
    objectType: h.objectType,
    sampleRate: h.sampleRate,
    channelConfiguration: h.channelConfiguration,
  });
}
