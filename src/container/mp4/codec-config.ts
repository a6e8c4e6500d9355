import { BitReader } from '../../base/bits.js';
import { ParseError } from '../../base/errors.js';
import { Cursor } from './boxes.js';

/**
 * Minimal decoder-configuration records found in MP4 sample entries. Kept local to the container so the
 * reader does not depend on src/codec/ (to be unified later); only what a demuxer needs is parsed.
 * Errors: ParseError('MP4_BAD_CODEC_CONFIG').
 */

export interface AvcConfig {
  readonly profileIdc: number;
  readonly profileCompatibility: number;
  readonly levelIdc: number;
  /** Bytes of the NAL unit length prefix in samples (1, 2 or 4). */
  readonly nalLengthSize: number;
  readonly sps: Buffer[];
  readonly pps: Buffer[];
}

export interface HevcConfig {
  readonly generalProfileIdc: number;
  readonly generalLevelIdc: number;
  readonly nalLengthSize: number;
  readonly vps: Buffer[];
  readonly sps: Buffer[];
  readonly pps: Buffer[];
}

export interface EsdsConfig {
  /** MPEG-4 Systems objectTypeIndication (0x40 = MPEG-4 Audio, 0x66-0x68 = MPEG-2 AAC, 0x69/0x6b = MP3). */
  readonly objectTypeIndication: number;
  /** DecoderSpecificInfo payload: for AAC the AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1). */
  readonly decoderSpecificInfo: Buffer;
}

export interface AudioSpecificConfigInfo {
  readonly audioObjectType: number;
  readonly sampleRate: number;
  readonly channelConfiguration: number;
}

export interface OpusConfig {
  readonly outputChannelCount: number;
  readonly preSkip: number;
  readonly inputSampleRate: number;
  readonly outputGainQ8: number;
  readonly channelMappingFamily: number;
}

function bad(what: string, detail: string): ParseError {
  return new ParseError('MP4_BAD_CODEC_CONFIG', `${what}: ${detail}`);
}

/** Runs `f` with any ParseError re-coded as MP4_BAD_CODEC_CONFIG (the record is a codec matter, not a box one). */
function asConfigError<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ParseError && e.code !== 'MP4_BAD_CODEC_CONFIG') throw bad(what, e.message);
    throw e;
  }
}

/** AVCDecoderConfigurationRecord, ISO/IEC 14496-15 §5.3.3.1. The High-profile extension is ignored. */
export function parseAvcC(record: Buffer): AvcConfig {
  return asConfigError('avcC', () => {
    const c = new Cursor(record, 0, record.length, 'avcC');
    const version = c.u8();
    if (version !== 1) throw bad('avcC', `configurationVersion ${version}`);
    const profileIdc = c.u8();
    const profileCompatibility = c.u8();
    const levelIdc = c.u8();
    const nalLengthSize = (c.u8() & 3) + 1;
    if (nalLengthSize === 3) throw bad('avcC', 'lengthSizeMinusOne 2 is not allowed');
    const sps: Buffer[] = [];
    const numSps = c.u8() & 0x1f;
    for (let i = 0; i < numSps; i++) sps.push(c.bytes(c.u16()));
    const pps: Buffer[] = [];
    const numPps = c.u8();
    for (let i = 0; i < numPps; i++) pps.push(c.bytes(c.u16()));
    return { profileIdc, profileCompatibility, levelIdc, nalLengthSize, sps, pps };
  });
}

const HEVC_VPS = 32;
const HEVC_SPS = 33;
const HEVC_PPS = 34;

/** HEVCDecoderConfigurationRecord, ISO/IEC 14496-15 §8.3.3.1. SEI arrays are skipped. */
export function parseHvcC(record: Buffer): HevcConfig {
  return asConfigError('hvcC', () => {
    const c = new Cursor(record, 0, record.length, 'hvcC');
    const version = c.u8();
    // Some early writers put 0 here; the layout is the same.
    if (version > 1) throw bad('hvcC', `configurationVersion ${version}`);
    const generalProfileIdc = c.u8() & 0x1f;
    c.skip(4 + 6); // general_profile_compatibility_flags, general_constraint_indicator_flags
    const generalLevelIdc = c.u8();
    c.skip(2 + 1 + 1 + 1 + 1 + 2); // min_spatial_segmentation .. avgFrameRate
    const nalLengthSize = (c.u8() & 3) + 1;
    if (nalLengthSize === 3) throw bad('hvcC', 'lengthSizeMinusOne 2 is not allowed');
    const vps: Buffer[] = [];
    const sps: Buffer[] = [];
    const pps: Buffer[] = [];
    const numArrays = c.u8();
    for (let a = 0; a < numArrays; a++) {
      const type = c.u8() & 0x3f;
      const n = c.u16();
      for (let i = 0; i < n; i++) {
        const nal = c.bytes(c.u16());
        if (type === HEVC_VPS) vps.push(nal);
        else if (type === HEVC_SPS) sps.push(nal);
        else if (type === HEVC_PPS) pps.push(nal);
      }
    }
    return { generalProfileIdc, generalLevelIdc, nalLengthSize, vps, sps, pps };
  });
}

/** expandable-class size (ISO/IEC 14496-1 §8.3.3): up to 4 bytes of 7 bits. */
function descriptorSize(c: Cursor): number {
  let size = 0;
  for (let i = 0; i < 4; i++) {
    const b = c.u8();
    size = size * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) return size;
  }
  return size;
}

/** Reads one descriptor header and returns a cursor over its body (clamped to the parent, as ffmpeg does). */
function descriptor(c: Cursor, expectedTag: number, what: string): Cursor | undefined {
  if (c.remaining < 2) return undefined;
  const tag = c.u8();
  const size = descriptorSize(c);
  if (tag !== expectedTag) return undefined;
  const end = Math.min(c.end, c.pos + size);
  const body = new Cursor(c.buf, c.pos, end, what);
  c.pos = end;
  return body;
}

/** The `esds` FullBox payload (after version/flags): ES_Descriptor, ISO/IEC 14496-1 §7.2.6.5. */
export function parseEsds(c: Cursor): EsdsConfig {
  return asConfigError('esds', () => {
    const es = descriptor(c, 0x03, 'ES_Descriptor');
    if (!es) throw bad('esds', 'no ES_Descriptor');
    es.skip(2); // ES_ID
    const flags = es.u8();
    if (flags & 0x80) es.skip(2); // dependsOn_ES_ID
    if (flags & 0x40) es.skip(es.u8()); // URL
    if (flags & 0x20) es.skip(2); // OCR_ES_Id
    const dc = descriptor(es, 0x04, 'DecoderConfigDescriptor');
    if (!dc) throw bad('esds', 'no DecoderConfigDescriptor');
    const objectTypeIndication = dc.u8();
    dc.skip(1 + 3 + 4 + 4); // streamType/upStream, bufferSizeDB, maxBitrate, avgBitrate
    const dsi = descriptor(dc, 0x05, 'DecoderSpecificInfo');
    const decoderSpecificInfo = dsi ? dsi.bytes(dsi.remaining) : Buffer.alloc(0);
    return { objectTypeIndication, decoderSpecificInfo };
  });
}

const AAC_SAMPLE_RATES = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/** The leading fields of an AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1); SBR/PS signalling is not followed. */
export function parseAudioSpecificConfig(asc: Uint8Array): AudioSpecificConfigInfo {
  return asConfigError('AudioSpecificConfig', () => {
    const r = new BitReader(asc);
    let audioObjectType = r.readBits(5);
    if (audioObjectType === 31) audioObjectType = 32 + r.readBits(6);
    const index = r.readBits(4);
    const sampleRate = index === 15 ? r.readBits(24) : AAC_SAMPLE_RATES[index];
    if (sampleRate === undefined) throw bad('AudioSpecificConfig', `samplingFrequencyIndex ${index}`);
    const channelConfiguration = r.readBits(4);
    return { audioObjectType, sampleRate, channelConfiguration };
  });
}

/** OpusSpecificBox `dOps` payload ("Encapsulation of Opus in ISO Base Media File Format" §4.3.2). */
export function parseDOps(c: Cursor): OpusConfig {
  return asConfigError('dOps', () => {
    const version = c.u8();
    if (version !== 0) throw bad('dOps', `version ${version}`);
    const outputChannelCount = c.u8();
    const preSkip = c.u16();
    const inputSampleRate = c.u32();
    const outputGainQ8 = c.i16();
    const channelMappingFamily = c.u8();
    if (channelMappingFamily !== 0) c.skip(2 + outputChannelCount); // StreamCount, CoupledCount, mapping
    return { outputChannelCount, preSkip, inputSampleRate, outputGainQ8, channelMappingFamily };
  });
}
