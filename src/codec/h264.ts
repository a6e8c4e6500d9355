/**
 * H.264 / AVC bitstream helpers (ITU-T H.264, ISO/IEC 14496-15): NAL unit types, SPS parsing,
 * keyframe detection, profile-level-id, sprop-parameter-sets (RFC 6184 §8.1) and the
 * AVCDecoderConfigurationRecord ("avcC", ISO/IEC 14496-15 §5.3.3).
 */
import { BitReader } from '../base/bits.js';
import { ParseError } from '../base/errors.js';
import { formatSpropList, nalToRbsp, parseSpropList } from './nal.js';

export { splitAnnexB, joinAnnexB, splitLengthPrefixed, joinLengthPrefixed } from './nal.js';

/** nal_unit_type values (H.264 Table 7-1) plus the RTP-only types of RFC 6184 §5.2. */
export const H264NalType = {
  NonIdrSlice: 1,
  SliceDataA: 2,
  SliceDataB: 3,
  SliceDataC: 4,
  IdrSlice: 5,
  Sei: 6,
  Sps: 7,
  Pps: 8,
  Aud: 9,
  EndOfSequence: 10,
  EndOfStream: 11,
  Filler: 12,
  SpsExtension: 13,
  Prefix: 14,
  SubsetSps: 15,
  StapA: 24,
  StapB: 25,
  Mtap16: 26,
  Mtap24: 27,
  FuA: 28,
  FuB: 29,
} as const;

/** The parameter sets a decoder needs before a keyframe, in the order they go (SPS, PPS). */
export const H264_PARAMETER_SET_TYPES: readonly number[] = [H264NalType.Sps, H264NalType.Pps];

/** The 5-bit nal_unit_type of a NAL unit (first byte), or -1 for an empty buffer. */
export function h264NalType(nal: Uint8Array): number {
  const b = nal[0];
  return b === undefined ? -1 : b & 0x1f;
}

/** True if the NAL unit is a coded slice (VCL, types 1-5). */
export function isH264Vcl(type: number): boolean {
  return type >= 1 && type <= 5;
}

/** An access unit is a keyframe (random access point) if it holds an IDR slice. */
export function isH264Keyframe(nalus: readonly Uint8Array[]): boolean {
  return nalus.some((n) => h264NalType(n) === H264NalType.IdrSlice);
}

export interface H264Sps {
  profileIdc: number;
  /** constraint_set0..5 flags and reserved bits, as the byte following profile_idc. */
  constraintFlags: number;
  levelIdc: number;
  spsId: number;
  /** 0 = monochrome, 1 = 4:2:0, 2 = 4:2:2, 3 = 4:4:4. */
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  frameMbsOnly: boolean;
  /** Display size after frame cropping. */
  width: number;
  height: number;
  /** Coded size in samples, before cropping. */
  codedWidth: number;
  codedHeight: number;
  /** Frames per second from VUI timing info (time_scale / (2 * num_units_in_tick)), if present. */
  frameRate?: number;
  /** Sample aspect ratio from VUI, if present. */
  sarWidth?: number;
  sarHeight?: number;
}

/** profile_idc values whose SPS carries chroma format, bit depth and scaling lists (H.264 §7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Table E-1: sample aspect ratios for aspect_ratio_idc 1..16. */
const SAR_TABLE: readonly (readonly [number, number])[] = [
  [1, 1],
  [12, 11],
  [10, 11],
  [16, 11],
  [40, 33],
  [24, 11],
  [20, 11],
  [32, 11],
  [80, 33],
  [18, 11],
  [15, 11],
  [64, 33],
  [160, 99],
  [4, 3],
  [3, 2],
  [2, 1],
];

function skipScalingList(r: BitReader, size: number): void {
  let lastScale = 8;
  let nextScale = 8;
  for (let j = 0; j < size; j++) {
    if (nextScale !== 0) {
      const delta = r.readSE();
      nextScale = (lastScale + delta + 256) % 256;
    }
    lastScale = nextScale === 0 ? lastScale : nextScale;
  }
}

/**
 * Parses a sequence parameter set NAL unit (with its 1-byte header, emulation prevention
 * allowed). Throws ParseError('H264_BAD_SPS') on a NAL that is not an SPS or is truncated.
 * A truncated or odd VUI is tolerated: the fields it would give are then left out.
 */
export function parseH264Sps(nal: Uint8Array): H264Sps {
  if (h264NalType(nal) !== H264NalType.Sps) throw new ParseError('H264_BAD_SPS', 'not an SPS NAL unit');
  const r = new BitReader(nalToRbsp(nal.subarray(1)));
  try {
    const profileIdc = r.readBits(8);
    const constraintFlags = r.readBits(8);
    const levelIdc = r.readBits(8);
    const spsId = r.readUE();
    if (spsId > 31) throw new ParseError('H264_BAD_SPS', `seq_parameter_set_id ${spsId} out of range`);
    let chromaFormatIdc = 1;
    let separateColourPlane = false;
    let bitDepthLuma = 8;
    let bitDepthChroma = 8;
    if (HIGH_PROFILES.has(profileIdc)) {
      chromaFormatIdc = r.readUE();
      if (chromaFormatIdc > 3) throw new ParseError('H264_BAD_SPS', `chroma_format_idc ${chromaFormatIdc}`);
      if (chromaFormatIdc === 3) separateColourPlane = r.readFlag();
      bitDepthLuma = 8 + r.readUE();
      bitDepthChroma = 8 + r.readUE();
      r.skipBits(1); // qpprime_y_zero_transform_bypass_flag
      if (r.readFlag()) {
        const lists = chromaFormatIdc === 3 ? 12 : 8;
        for (let i = 0; i < lists; i++) if (r.readFlag()) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
    r.readUE(); // log2_max_frame_num_minus4
    const pocType = r.readUE();
    if (pocType === 0) {
      r.readUE(); // log2_max_pic_order_cnt_lsb_minus4
    } else if (pocType === 1) {
      r.skipBits(1); // delta_pic_order_always_zero_flag
      r.readSE(); // offset_for_non_ref_pic
      r.readSE(); // offset_for_top_to_bottom_field
      const cycle = r.readUE();
      if (cycle > 255) throw new ParseError('H264_BAD_SPS', 'num_ref_frames_in_pic_order_cnt_cycle > 255');
      for (let i = 0; i < cycle; i++) r.readSE();
    } else if (pocType !== 2) {
      throw new ParseError('H264_BAD_SPS', `pic_order_cnt_type ${pocType}`);
    }
    r.readUE(); // max_num_ref_frames
    r.skipBits(1); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.readUE() + 1;
    const heightMapUnits = r.readUE() + 1;
    const frameMbsOnly = r.readFlag();
    if (!frameMbsOnly) r.skipBits(1); // mb_adaptive_frame_field_flag
    r.skipBits(1); // direct_8x8_inference_flag
    let cropLeft = 0;
    let cropRight = 0;
    let cropTop = 0;
    let cropBottom = 0;
    if (r.readFlag()) {
      cropLeft = r.readUE();
      cropRight = r.readUE();
      cropTop = r.readUE();
      cropBottom = r.readUE();
    }
    // §7.4.2.1.1: crop units depend on ChromaArrayType and field coding.
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const subWidthC = chromaArrayType === 3 ? 1 : 2;
    const subHeightC = chromaArrayType === 1 ? 2 : 1;
    const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
    const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * (frameMbsOnly ? 1 : 2);
    const codedWidth = widthMbs * 16;
    const codedHeight = (frameMbsOnly ? 1 : 2) * heightMapUnits * 16;
    const width = codedWidth - cropUnitX * (cropLeft + cropRight);
    const height = codedHeight - cropUnitY * (cropTop + cropBottom);
    if (width <= 0 || height <= 0) throw new ParseError('H264_BAD_SPS', 'cropping exceeds picture size');
    const sps: H264Sps = {
      profileIdc,
      constraintFlags,
      levelIdc,
      spsId,
      chromaFormatIdc,
      bitDepthLuma,
      bitDepthChroma,
      frameMbsOnly,
      width,
      height,
      codedWidth,
      codedHeight,
    };
    if (r.readFlag()) parseVui(r, sps);
    return sps;
  } catch (e) {
    if (e instanceof ParseError && e.code === 'BITS_EOF')
      throw new ParseError('H264_BAD_SPS', 'truncated SPS');
    throw e;
  }
}

/** VUI (Annex E.1.1) up to the timing info; errors leave the SPS without the VUI fields. */
function parseVui(r: BitReader, sps: H264Sps): void {
  try {
    if (r.readFlag()) {
      const idc = r.readBits(8);
      if (idc === 255) {
        sps.sarWidth = r.readBits(16);
        sps.sarHeight = r.readBits(16);
      } else {
        const sar = SAR_TABLE[idc - 1];
        if (sar) [sps.sarWidth, sps.sarHeight] = sar;
      }
    }
    if (r.readFlag()) r.skipBits(1); // overscan_appropriate_flag
    if (r.readFlag()) {
      r.skipBits(4); // video_format, video_full_range_flag
      if (r.readFlag()) r.skipBits(24); // colour_primaries, transfer_characteristics, matrix_coefficients
    }
    if (r.readFlag()) {
      r.readUE(); // chroma_sample_loc_type_top_field
      r.readUE(); // chroma_sample_loc_type_bottom_field
    }
    if (r.readFlag()) {
      const numUnitsInTick = r.readBits(32);
      const timeScale = r.readBits(32);
      if (numUnitsInTick > 0 && timeScale > 0) sps.frameRate = timeScale / (2 * numUnitsInTick);
    }
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
  }
}

/** RFC 6184 §8.1 profile-level-id: profile_idc, constraint byte and level_idc of the SPS, as 6 hex digits. */
export function h264ProfileLevelId(sps: Uint8Array): string {
  if (sps.length < 4 || h264NalType(sps) !== H264NalType.Sps)
    throw new ParseError('H264_BAD_SPS', 'not an SPS NAL unit');
  return Buffer.from(sps.subarray(1, 4)).toString('hex');
}

/** RFC 6184 §8.1 sprop-parameter-sets: base64 NAL units, comma separated. */
export function formatSpropParameterSets(nalus: readonly Uint8Array[]): string {
  return formatSpropList(nalus);
}

/**
 * Parses sprop-parameter-sets into SPS and PPS lists. Tolerates Annex-B start codes inside the
 * base64 (several NAL units in one element) and ignores NAL units that are neither SPS nor PPS.
 */
export function parseSpropParameterSets(value: string): { sps: Buffer[]; pps: Buffer[] } {
  const sps: Buffer[] = [];
  const pps: Buffer[] = [];
  for (const nal of parseSpropList(value)) {
    const t = h264NalType(nal);
    if (t === H264NalType.Sps) sps.push(nal);
    else if (t === H264NalType.Pps) pps.push(nal);
  }
  return { sps, pps };
}

/** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1). */
export interface AvcDecoderConfigurationRecord {
  profileIdc: number;
  profileCompatibility: number;
  levelIdc: number;
  /** Size of the NAL length prefix in samples: 1, 2 or 4. */
  lengthSize: 1 | 2 | 4;
  sps: Buffer[];
  pps: Buffer[];
  /** Present for High profiles (100, 110, 122, 144) when the record carries the extension. */
  chromaFormat?: number;
  bitDepthLuma?: number;
  bitDepthChroma?: number;
  spsExt?: Buffer[];
}

const AVCC_EXT_PROFILES = new Set([100, 110, 122, 144]);

export function parseAvcDecoderConfigurationRecord(data: Uint8Array): AvcDecoderConfigurationRecord {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > buf.length) throw new ParseError('AVCC_TRUNCATED', 'truncated avcC record');
  };
  const readList = (count: number): Buffer[] => {
    const list: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      need(2);
      const len = buf.readUInt16BE(pos);
      pos += 2;
      need(len);
      list.push(Buffer.from(buf.subarray(pos, pos + len)));
      pos += len;
    }
    return list;
  };
  need(6);
  if (buf[0] !== 1) throw new ParseError('AVCC_BAD_VERSION', `avcC configurationVersion ${buf[0]}`);
  const profileIdc = buf[1]!;
  const profileCompatibility = buf[2]!;
  const levelIdc = buf[3]!;
  const lengthSizeMinusOne = buf[4]! & 3;
  if (lengthSizeMinusOne === 2) throw new ParseError('AVCC_BAD_LENGTH_SIZE', 'avcC lengthSizeMinusOne = 2');
  const lengthSize = (lengthSizeMinusOne + 1) as 1 | 2 | 4;
  const numSps = buf[5]! & 0x1f;
  pos = 6;
  const sps = readList(numSps);
  need(1);
  const numPps = buf[pos++]!;
  const pps = readList(numPps);
  const rec: AvcDecoderConfigurationRecord = {
    profileIdc,
    profileCompatibility,
    levelIdc,
    lengthSize,
    sps,
    pps,
  };
  // The High-profile extension is often missing in real files: read it only if present.
  if (AVCC_EXT_PROFILES.has(profileIdc) && pos + 4 <= buf.length) {
    rec.chromaFormat = buf[pos]! & 3;
    rec.bitDepthLuma = (buf[pos + 1]! & 7) + 8;
    rec.bitDepthChroma = (buf[pos + 2]! & 7) + 8;
    const numExt = buf[pos + 3]!;
    pos += 4;
    rec.spsExt = readList(numExt);
  }
  return rec;
}

/**
 * Builds an avcC record from parameter sets. Profile and level come from the first SPS; the
 * High-profile extension is written for profiles 100/110/122/144.
 */
export function buildAvcDecoderConfigurationRecord(
  sps: readonly Uint8Array[],
  pps: readonly Uint8Array[],
  lengthSize: 1 | 2 | 4 = 4,
): Buffer {
  const first = sps[0];
  if (!first || first.length < 4) throw new ParseError('AVCC_NO_SPS', 'avcC needs at least one SPS');
  if (sps.length > 31 || pps.length > 255) throw new RangeError('too many parameter sets for avcC');
  const parts: Uint8Array[] = [
    Buffer.from([1, first[1]!, first[2]!, first[3]!, 0xfc | (lengthSize - 1), 0xe0 | sps.length]),
  ];
  const pushList = (list: readonly Uint8Array[]): void => {
    for (const n of list) {
      if (n.length > 0xffff) throw new RangeError('parameter set larger than 65535 bytes');
      const len = Buffer.alloc(2);
      len.writeUInt16BE(n.length);
      parts.push(len, n);
    }
  };
  pushList(sps);
  parts.push(Buffer.from([pps.length]));
  pushList(pps);
  if (AVCC_EXT_PROFILES.has(first[1]!)) {
    let chroma = 1;
    let depthL = 8;
    let depthC = 8;
    try {
      const info = parseH264Sps(first);
      chroma = info.chromaFormatIdc;
      depthL = info.bitDepthLuma;
      depthC = info.bitDepthChroma;
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
    parts.push(Buffer.from([0xfc | chroma, 0xf8 | (depthL - 8), 0xf8 | (depthC - 8), 0]));
  }
  return Buffer.concat(parts);
}
