/**
 * RTP payload format for H.265 (RFC 7798) without DONL (sprop-max-don-diff = 0, the common
 * case): single NAL unit packets, aggregation packets (AP, type 48) and fragmentation units
 * (FU, type 49). PACI (type 50) is counted as unsupported.
 */
import { ParseError } from '../base/errors.js';
import {
  H265NalType,
  H265_PARAMETER_SET_TYPES,
  h265NalType,
  isH265Keyframe,
  isH265Vcl,
  parseH265Sps,
} from '../codec/h265.js';
import { formatSpropList } from '../codec/nal.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  auNalus,
  type AccessUnit,
  type Packetizer,
  type RtpPayloadOut,
} from './access-unit.js';
import { checkMaxPayload, fmtpInt, fmtpGet, type RtpMap } from './common.js';
import { spropLenient } from './h264.js';
import {
  NalDepacketizerBase,
  ParameterSetCache,
  buildAggregate,
  evenChunks,
  nalPayloads,
  packetizeNalUnits,
  readAggregate,
  type NalDepacketizerOptions,
  type NalScheme,
} from './nal-common.js';

export const H265_RTPMAP: RtpMap = { encodingName: 'H265', clockRate: 90000 };

const PARAM_TYPES = H265_PARAMETER_SET_TYPES;

const H265_SCHEME: NalScheme = {
  aggregationHeaderBytes: 2,
  aggregate(group) {
    // RFC 7798 §4.4.2: F is the OR of the F bits, LayerId and TID the lowest of the units.
    let f = 0;
    let layerId = 63;
    let tid = 7;
    for (const n of group) {
      f |= n[0]! & 0x80;
      layerId = Math.min(layerId, ((n[0]! & 1) << 5) | (n[1]! >> 3));
      tid = Math.min(tid, n[1]! & 7);
    }
    const header = Buffer.from([f | (H265NalType.Ap << 1) | (layerId >> 5), ((layerId & 0x1f) << 3) | tid]);
    return buildAggregate(header, group);
  },
  fragment(nal, max) {
    // RFC 7798 §4.4.3: payload header copies F/LayerId/TID with type 49; FU header S/E/type.
    const h0 = (nal[0]! & 0x81) | (H265NalType.Fu << 1);
    const h1 = nal[1]!;
    const type = (nal[0]! >> 1) & 0x3f;
    const out: Buffer[] = [];
    const sizes = evenChunks(nal.length - 2, max - 3);
    let pos = 2;
    sizes.forEach((size, i) => {
      const p = Buffer.allocUnsafe(3 + size);
      p[0] = h0;
      p[1] = h1;
      p[2] = (i === 0 ? 0x80 : 0) | (i === sizes.length - 1 ? 0x40 : 0) | type;
      nal.copy(p, 3, pos, pos + size);
      pos += size;
      out.push(p);
    });
    return out;
  },
};

export interface H265PacketizerOptions {
  /** Maximum RTP payload size in bytes (default 1400). */
  maxPayloadBytes?: number;
  /** Known VPS/SPS/PPS, put before IRAP pictures that lack them. */
  parameterSets?: readonly Buffer[];
}

/** Packetizes H.265 access units; VPS/SPS/PPS are repeated before every IRAP picture lacking them. */
export class H265Packetizer implements Packetizer {
  readonly clockRate = 90000;
  private readonly maxPayloadBytes: number;
  private readonly params = new ParameterSetCache(PARAM_TYPES, h265NalType);

  constructor(options: H265PacketizerOptions = {}) {
    this.maxPayloadBytes = checkMaxPayload(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, 16);
    if (options.parameterSets) this.params.note(options.parameterSets);
  }

  packetize(au: AccessUnit): RtpPayloadOut[] {
    let nalus: readonly Buffer[] = auNalus(au).filter((n) => n.length >= 2);
    this.params.note(nalus);
    if (isH265Keyframe(nalus)) nalus = this.params.complete(nalus, isH265Vcl);
    return nalPayloads(packetizeNalUnits(nalus, this.maxPayloadBytes, H265_SCHEME), au.pts);
  }
}

export interface H265DepacketizerOptions extends NalDepacketizerOptions {
  /** Parameter sets known out of band (sprop-vps/sps/pps). */
  parameterSets?: readonly Buffer[];
}

/** Reassembles H.265 access units (see NalDepacketizerBase); exposes the latest VPS/SPS/PPS. */
export class H265Depacketizer extends NalDepacketizerBase {
  private readonly params = new ParameterSetCache(PARAM_TYPES, h265NalType);

  constructor(options: H265DepacketizerOptions = {}) {
    super(options);
    if (options.parameterSets) this.params.note(options.parameterSets);
  }

  get vps(): Buffer | undefined {
    return this.params.get(H265NalType.Vps);
  }

  get sps(): Buffer | undefined {
    return this.params.get(H265NalType.Sps);
  }

  get pps(): Buffer | undefined {
    return this.params.get(H265NalType.Pps);
  }

  protected parsePayload(payload: Buffer): void {
    if (payload.length < 2) {
      this.malformed();
      return;
    }
    const type = (payload[0]! >> 1) & 0x3f;
    if (type < H265NalType.Ap) {
      this.addNal(payload);
    } else if (type === H265NalType.Ap) {
      const nalus = readAggregate(payload, 2);
      if (!nalus || nalus.some((n) => n.length < 2)) this.malformed();
      else for (const n of nalus) this.addNal(n);
    } else if (type === H265NalType.Fu) {
      if (payload.length < 4) {
        this.malformed();
        return;
      }
      const fuHeader = payload[2]!;
      const nalType = fuHeader & 0x3f;
      const header = Buffer.from([(payload[0]! & 0x81) | (nalType << 1), payload[1]!]);
      this.addFragment(
        (fuHeader & 0x80) !== 0,
        (fuHeader & 0x40) !== 0,
        nalType,
        header,
        payload.subarray(3),
      );
    } else {
      // PACI carries media we cannot unwrap here; 51-63 are reserved and ignored (RFC 7798 §4.4).
      this.unsupported(type === H265NalType.Paci);
    }
  }

  protected makeAccessUnit(pts: number, nalus: Buffer[]): AccessUnit {
    this.params.note(nalus);
    return { pts, clockRate: this.clockRate, keyframe: isH265Keyframe(nalus), nalus };
  }
}

/** SDP fmtp for H.265 (RFC 7798 §7.1): sprop-vps/sps/pps plus profile, tier and level from the SPS. */
export function h265Fmtp(
  vps: Buffer | undefined,
  sps: Buffer | undefined,
  pps: Buffer | undefined,
): Record<string, string> {
  const fmtp: Record<string, string> = {};
  if (sps) {
    try {
      const info = parseH265Sps(sps);
      if (info.profileSpace !== 0) fmtp['profile-space'] = String(info.profileSpace);
      fmtp['profile-id'] = String(info.profileIdc);
      fmtp['tier-flag'] = String(info.tierFlag);
      fmtp['level-id'] = String(info.levelIdc);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
  }
  if (vps) fmtp['sprop-vps'] = formatSpropList([vps]);
  if (sps) fmtp['sprop-sps'] = formatSpropList([sps]);
  if (pps) fmtp['sprop-pps'] = formatSpropList([pps]);
  return fmtp;
}

export interface H265FmtpInfo {
  vps: Buffer[];
  sps: Buffer[];
  pps: Buffer[];
  /** sprop-max-don-diff; > 0 means DONL fields are present, which this implementation does not support. */
  maxDonDiff: number;
  profileId?: number;
  tierFlag?: number;
  levelId?: number;
}

/** Reads H.265 fmtp parameters (lenient on sprop values like parseH264Fmtp). */
export function parseH265Fmtp(fmtp: Readonly<Record<string, string>>): H265FmtpInfo {
  const pick = (name: string, type: number): Buffer[] =>
    spropLenient(fmtpGet(fmtp, name)).filter((n) => h265NalType(n) === type);
  const info: H265FmtpInfo = {
    vps: pick('sprop-vps', H265NalType.Vps),
    sps: pick('sprop-sps', H265NalType.Sps),
    pps: pick('sprop-pps', H265NalType.Pps),
    maxDonDiff: fmtpInt(fmtp, 'sprop-max-don-diff', 0),
  };
  const profileId = fmtpInt(fmtp, 'profile-id', -1);
  if (profileId >= 0) info.profileId = profileId;
  const tierFlag = fmtpInt(fmtp, 'tier-flag', -1);
  if (tierFlag >= 0) info.tierFlag = tierFlag;
  const levelId = fmtpInt(fmtp, 'level-id', -1);
  if (levelId >= 0) info.levelId = levelId;
  return info;
}
