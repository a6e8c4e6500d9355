/**
 * H.265 / HEVC bitstream helpers (ITU-T H.265, ISO/IEC 14496-15 §8): NAL unit header and types,
 * SPS parsing (profile/tier/level, size with conformance window), keyframe detection and the
 * HEVCDecoderConfigurationRecord ("hvcC", ISO/IEC 14496-15 §8.3.3).
 */
import { BitReader } from '../base/bits.js';
import { ParseError } from '../base/errors.js';
import { nalToRbsp } from './nal.js';

export { splitAnnexB, joinAnnexB, splitLengthPrefixed, joinLengthPrefixed } from './nal.js';

/** nal_unit_type values (H.265 Table 7-1) plus the RTP-only types of RFC 7798 §4.4. */
export const H265NalType = {
  TrailN: 0,
  TrailR: 1,
  BlaWLp: 16,
  BlaWRadl: 17,
  BlaNLp: 18,
  IdrWRadl: 19,
  IdrNLp: 20,
  CraNut: 21,
  Vps: 32,
  Sps: 33,
  Pps: 34,
  Aud: 35,
  Eos: 36,
  Eob: 37,
  Fd: 38,
  PrefixSei: 39,
  SuffixSei: 40,
  Ap: 48,
  Fu: 49,
  Paci: 50,
} as const;

/** The parameter sets a decoder needs before a keyframe, in the order they go (VPS, SPS, PPS). */
export const H265_PARAMETER_SET_TYPES: readonly number[] = [
  H265NalType.Vps,
  H265NalType.Sps,
  H265NalType.Pps,
];

/** The 6-bit nal_unit_type, or -1 for a NAL shorter than its 2-byte header. */
export function h265NalType(nal: Uint8Array): number {
  if (nal.length < 2) return -1;
  return (nal[0]! >> 1) & 0x3f;
}

export interface H265NalHeader {
  forbiddenZero: number;
  type: number;
  layerId: number;
  /** nuh_temporal_id_plus1 (never 0 in a valid stream). */
  temporalIdPlus1: number;
}

export function parseH265NalHeader(nal: Uint8Array): H265NalHeader {
  if (nal.length < 2) throw new ParseError('H265_BAD_NAL', 'NAL unit shorter than its header');
  const b0 = nal[0]!;
  const b1 = nal[1]!;
  return {
    forbiddenZero: b0 >> 7,
    type: (b0 >> 1) & 0x3f,
    layerId: ((b0 & 1) << 5) | (b1 >> 3),
    temporalIdPlus1: b1 & 7,
  };
}

/** IRAP pictures (BLA, IDR, CRA; types 16-23) are random access points. */
export function isH265Irap(type: number): boolean {
  return type >= 16 && type <= 23;
}

export function isH265Vcl(type: number): boolean {
  return type >= 0 && type <= 31;
}

export function isH265Keyframe(nalus: readonly Uint8Array[]): boolean {
  return nalus.some((n) => isH265Irap(h265NalType(n)));
}

/** general_profile_tier_level fields (H.265 §7.3.3). */
export interface H265ProfileTierLevel {
  profileSpace: number;
  tierFlag: number;
  profileIdc: number;
  /** general_profile_compatibility_flag[0..31] as an unsigned 32-bit number (flag 0 is the MSB). */
  profileCompatibilityFlags: number;
  /** The 48 bits from general_progressive_source_flag to general_inbld/reserved flag, as 6 bytes. */
  constraintIndicatorFlags: Buffer;
  levelIdc: number;
}

export interface H265Sps extends H265ProfileTierLevel {
  vpsId: number;
  maxSubLayers: number;
  temporalIdNesting: boolean;
  spsId: number;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** Size after the conformance window. */
  width: number;
  height: number;
  codedWidth: number;
  codedHeight: number;
}

function parseProfileTierLevel(r: BitReader, maxSubLayersMinus1: number): H265ProfileTierLevel {
  const profileSpace = r.readBits(2);
  const tierFlag = r.readBits(1);
  const profileIdc = r.readBits(5);
  const profileCompatibilityFlags = r.readBits(32);
  const constraintIndicatorFlags = Buffer.alloc(6);
  for (let i = 0; i < 6; i++) constraintIndicatorFlags[i] = r.readBits(8);
  const levelIdc = r.readBits(8);
  const subProfile: boolean[] = [];
  const subLevel: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    subProfile.push(r.readFlag());
    subLevel.push(r.readFlag());
  }
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) r.skipBits(2);
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (subProfile[i]) r.skipBits(88);
    if (subLevel[i]) r.skipBits(8);
  }
  return {
    profileSpace,
    tierFlag,
    profileIdc,
    profileCompatibilityFlags,
    constraintIndicatorFlags,
    levelIdc,
  };
}

/**
 * Parses an SPS NAL unit (2-byte header included) up to the bit depths: enough for the size,
 * profile, tier and level. Throws ParseError('H265_BAD_SPS').
 */
export function parseH265Sps(nal: Uint8Array): H265Sps {
  if (h265NalType(nal) !== H265NalType.Sps) throw new ParseError('H265_BAD_SPS', 'not an SPS NAL unit');
  const r = new BitReader(nalToRbsp(nal.subarray(2)));
  try {
    const vpsId = r.readBits(4);
    const maxSubLayersMinus1 = r.readBits(3);
    if (maxSubLayersMinus1 > 6) throw new ParseError('H265_BAD_SPS', 'sps_max_sub_layers_minus1 > 6');
    const temporalIdNesting = r.readFlag();
    const ptl = parseProfileTierLevel(r, maxSubLayersMinus1);
    const spsId = r.readUE();
    if (spsId > 15) throw new ParseError('H265_BAD_SPS', `sps_seq_parameter_set_id ${spsId}`);
    const chromaFormatIdc = r.readUE();
    if (chromaFormatIdc > 3) throw new ParseError('H265_BAD_SPS', `chroma_format_idc ${chromaFormatIdc}`);
    let separateColourPlane = false;
    if (chromaFormatIdc === 3) separateColourPlane = r.readFlag();
    const codedWidth = r.readUE();
    const codedHeight = r.readUE();
    let left = 0;
    let right = 0;
    let top = 0;
    let bottom = 0;
    if (r.readFlag()) {
      left = r.readUE();
      right = r.readUE();
      top = r.readUE();
      bottom = r.readUE();
    }
    const bitDepthLuma = 8 + r.readUE();
    const bitDepthChroma = 8 + r.readUE();
    // §7.4.3.2.1: conformance window offsets are in chroma sample units (Table 6-1).
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
    const subHeightC = chromaArrayType === 1 ? 2 : 1;
    const width = codedWidth - subWidthC * (left + right);
    const height = codedHeight - subHeightC * (top + bottom);
    if (width <= 0 || height <= 0) throw new ParseError('H265_BAD_SPS', 'conformance window exceeds picture');
    return {
      ...ptl,
      vpsId,
      maxSubLayers: maxSubLayersMinus1 + 1,
      temporalIdNesting,
      spsId,
      chromaFormatIdc,
      bitDepthLuma,
      bitDepthChroma,
      width,
      height,
      codedWidth,
      codedHeight,
    };
  } catch (e) {
    if (e instanceof ParseError && e.code === 'BITS_EOF')
      throw new ParseError('H265_BAD_SPS', 'truncated SPS');
    throw e;
  }
}

/** HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1). */
export interface HevcDecoderConfigurationRecord extends H265ProfileTierLevel {
  minSpatialSegmentationIdc: number;
  parallelismType: number;
  chromaFormat: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  avgFrameRate: number;
  constantFrameRate: number;
  numTemporalLayers: number;
  temporalIdNested: boolean;
  lengthSize: 1 | 2 | 4;
  /** NAL unit arrays, in record order (usually VPS, SPS, PPS, then SEI). */
  arrays: { completeness: boolean; nalType: number; nalus: Buffer[] }[];
}

export function parseHevcDecoderConfigurationRecord(data: Uint8Array): HevcDecoderConfigurationRecord {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 23) throw new ParseError('HVCC_TRUNCATED', 'hvcC shorter than 23 bytes');
  if (buf[0] !== 1) throw new ParseError('HVCC_BAD_VERSION', `hvcC configurationVersion ${buf[0]}`);
  const lengthSizeMinusOne = buf[21]! & 3;
  if (lengthSizeMinusOne === 2) throw new ParseError('HVCC_BAD_LENGTH_SIZE', 'hvcC lengthSizeMinusOne = 2');
  const rec: HevcDecoderConfigurationRecord = {
    profileSpace: buf[1]! >> 6,
    tierFlag: (buf[1]! >> 5) & 1,
    profileIdc: buf[1]! & 0x1f,
    profileCompatibilityFlags: buf.readUInt32BE(2),
    constraintIndicatorFlags: Buffer.from(buf.subarray(6, 12)),
    levelIdc: buf[12]!,
    minSpatialSegmentationIdc: buf.readUInt16BE(13) & 0x0fff,
    parallelismType: buf[15]! & 3,
    chromaFormat: buf[16]! & 3,
    bitDepthLuma: (buf[17]! & 7) + 8,
    bitDepthChroma: (buf[18]! & 7) + 8,
    avgFrameRate: buf.readUInt16BE(19),
    constantFrameRate: buf[21]! >> 6,
    numTemporalLayers: (buf[21]! >> 3) & 7,
    temporalIdNested: ((buf[21]! >> 2) & 1) === 1,
    lengthSize: (lengthSizeMinusOne + 1) as 1 | 2 | 4,
    arrays: [],
  };
  const numArrays = buf[22]!;
  let pos = 23;
  const need = (n: number): void => {
    if (pos + n > buf.length) throw new ParseError('HVCC_TRUNCATED', 'truncated hvcC record');
  };
  for (let a = 0; a < numArrays; a++) {
    need(3);
    const completeness = (buf[pos]! & 0x80) !== 0;
    const nalType = buf[pos]! & 0x3f;
    const count = buf.readUInt16BE(pos + 1);
    pos += 3;
    const nalus: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      need(2);
      const len = buf.readUInt16BE(pos);
      pos += 2;
      need(len);
      nalus.push(Buffer.from(buf.subarray(pos, pos + len)));
      pos += len;
    }
    rec.arrays.push({ completeness, nalType, nalus });
  }
  return rec;
}

/** The NAL units of one type from an hvcC record (e.g. H265NalType.Sps). */
export function hvccNalus(rec: HevcDecoderConfigurationRecord, nalType: number): Buffer[] {
  return rec.arrays.filter((a) => a.nalType === nalType).flatMap((a) => a.nalus);
}

/**
 * Builds an hvcC record from VPS/SPS/PPS (arrays marked complete). Profile, level, chroma and
 * bit depth come from the first SPS.
 */
export function buildHevcDecoderConfigurationRecord(
  vps: readonly Uint8Array[],
  sps: readonly Uint8Array[],
  pps: readonly Uint8Array[],
  lengthSize: 1 | 2 | 4 = 4,
): Buffer {
  const first = sps[0];
  if (!first) throw new ParseError('HVCC_NO_SPS', 'hvcC needs at least one SPS');
  const info = parseH265Sps(first);
  const head = Buffer.alloc(23);
  head[0] = 1;
  head[1] = (info.profileSpace << 6) | (info.tierFlag << 5) | info.profileIdc;
  head.writeUInt32BE(info.profileCompatibilityFlags >>> 0, 2);
  info.constraintIndicatorFlags.copy(head, 6);
  head[12] = info.levelIdc;
  head.writeUInt16BE(0xf000, 13); // min_spatial_segmentation_idc = 0 (unknown)
  head[15] = 0xfc; // parallelismType = 0 (unknown)
  head[16] = 0xfc | info.chromaFormatIdc;
  head[17] = 0xf8 | (info.bitDepthLuma - 8);
  head[18] = 0xf8 | (info.bitDepthChroma - 8);
  head.writeUInt16BE(0, 19); // avgFrameRate unknown
  head[21] = ((info.maxSubLayers & 7) << 3) | ((info.temporalIdNesting ? 1 : 0) << 2) | (lengthSize - 1);
  const arrays: [number, readonly Uint8Array[]][] = [
    [H265NalType.Vps, vps],
    [H265NalType.Sps, sps],
    [H265NalType.Pps, pps],
  ];
  const present = arrays.filter(([, list]) => list.length > 0);
  head[22] = present.length;
  const parts: Uint8Array[] = [head];
  for (const [type, list] of present) {
    const h = Buffer.alloc(3);
    h[0] = 0x80 | type;
    h.writeUInt16BE(list.length, 1);
    parts.push(h);
    for (const n of list) {
      if (n.length > 0xffff) throw new RangeError('parameter set larger than 65535 bytes');
      const len = Buffer.alloc(2);
      len.writeUInt16BE(n.length);
      parts.push(len, n);
    }
  }
  return Buffer.concat(parts);
}
