/**
 * RTP payload format for H.264 (RFC 6184), packetization-mode 1 (non-interleaved): single NAL
 * unit packets, STAP-A aggregation and FU-A fragmentation. STAP-B, MTAP16/24 and FU-B belong
 * to the interleaved mode 2 and are counted as unsupported.
 */
import { ParseError } from '../base/errors.js';
import {
  H264NalType,
  H264_PARAMETER_SET_TYPES,
  h264NalType,
  h264ProfileLevelId,
  isH264Keyframe,
  isH264Vcl,
} from '../codec/h264.js';
import { formatSpropList, parseSpropList } from '../codec/nal.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  auNalus,
  type AccessUnit,
  type Packetizer,
  type RtpPayloadOut,
} from './access-unit.js';
import { checkMaxPayload, fmtpGet, fmtpInt, type RtpMap } from './common.js';
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

export const H264_RTPMAP: RtpMap = { encodingName: 'H264', clockRate: 90000 };

const H264_SCHEME: NalScheme = {
  aggregationHeaderBytes: 1,
  aggregate(group) {
    // RFC 6184 §5.7.1: F is the OR of the aggregated F bits, NRI their maximum.
    let f = 0;
    let nri = 0;
    for (const n of group) {
      f |= n[0]! & 0x80;
      nri = Math.max(nri, n[0]! & 0x60);
    }
    return buildAggregate(Buffer.from([f | nri | H264NalType.StapA]), group);
  },
  fragment(nal, max) {
    // RFC 6184 §5.8: FU indicator keeps F and NRI, FU header carries S/E and the NAL type.
    const indicator = (nal[0]! & 0xe0) | H264NalType.FuA;
    const type = nal[0]! & 0x1f;
    const out: Buffer[] = [];
    const sizes = evenChunks(nal.length - 1, max - 2);
    let pos = 1;
    sizes.forEach((size, i) => {
      const p = Buffer.allocUnsafe(2 + size);
      p[0] = indicator;
      p[1] = (i === 0 ? 0x80 : 0) | (i === sizes.length - 1 ? 0x40 : 0) | type;
      nal.copy(p, 2, pos, pos + size);
      pos += size;
      out.push(p);
    });
    return out;
  },
};

export interface H264PacketizerOptions {
  /** Maximum RTP payload size in bytes (default 1400). */
  maxPayloadBytes?: number;
  /** Known SPS/PPS (e.g. from the publisher's SDP), put before IDR pictures that lack them. */
  parameterSets?: readonly Buffer[];
}

/**
 * Packetizes H.264 access units (mode 1). Parameter sets are learned from the stream too (the
 * latest SPS and PPS win) and repeated before every IDR picture that lacks them, so readers can
 * start at any keyframe. The marker bit is set on the last packet of each access unit.
 */
export class H264Packetizer implements Packetizer {
  readonly clockRate = 90000;
  private readonly maxPayloadBytes: number;
  private readonly params = new ParameterSetCache(H264_PARAMETER_SET_TYPES, h264NalType);

  constructor(options: H264PacketizerOptions = {}) {
    this.maxPayloadBytes = checkMaxPayload(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, 16);
    if (options.parameterSets) this.params.note(options.parameterSets);
  }

  get sps(): Buffer | undefined {
    return this.params.get(H264NalType.Sps);
  }

  get pps(): Buffer | undefined {
    return this.params.get(H264NalType.Pps);
  }

  packetize(au: AccessUnit): RtpPayloadOut[] {
    let nalus: readonly Buffer[] = auNalus(au);
    this.params.note(nalus);
    if (isH264Keyframe(nalus)) nalus = this.params.complete(nalus, isH264Vcl);
    return nalPayloads(packetizeNalUnits(nalus, this.maxPayloadBytes, H264_SCHEME), au.pts);
  }
}

export interface H264DepacketizerOptions extends NalDepacketizerOptions {
  /** Parameter sets known out of band (sprop-parameter-sets). */
  parameterSets?: readonly Buffer[];
}

/**
 * Reassembles H.264 access units from mode 0/1 packets (see NalDepacketizerBase for AU
 * boundaries, loss and quirk handling). The latest SPS/PPS seen, in band or out of band, are
 * exposed as `sps` / `pps`. NAL units may be views into the packet payloads.
 */
export class H264Depacketizer extends NalDepacketizerBase {
  private readonly params = new ParameterSetCache(H264_PARAMETER_SET_TYPES, h264NalType);

  constructor(options: H264DepacketizerOptions = {}) {
    super(options);
    if (options.parameterSets) this.params.note(options.parameterSets);
  }

  get sps(): Buffer | undefined {
    return this.params.get(H264NalType.Sps);
  }

  get pps(): Buffer | undefined {
    return this.params.get(H264NalType.Pps);
  }

  protected parsePayload(payload: Buffer): void {
    if (payload.length === 0) {
      this.malformed();
      return;
    }
    const type = payload[0]! & 0x1f;
    if (type >= 1 && type <= 23) {
      this.addNal(payload);
    } else if (type === H264NalType.StapA) {
      const nalus = readAggregate(payload, 1);
      if (!nalus) this.malformed();
      else for (const n of nalus) this.addNal(n);
    } else if (type === H264NalType.FuA) {
      if (payload.length < 3) {
        this.malformed();
        return;
      }
      const fuHeader = payload[1]!;
      const nalType = fuHeader & 0x1f;
      const header = Buffer.from([(payload[0]! & 0xe0) | nalType]);
      this.addFragment(
        (fuHeader & 0x80) !== 0,
        (fuHeader & 0x40) !== 0,
        nalType,
        header,
        payload.subarray(2),
      );
    } else if (
      type === H264NalType.StapB ||
      type === H264NalType.Mtap16 ||
      type === H264NalType.Mtap24 ||
      type === H264NalType.FuB
    ) {
      this.unsupported(true);
    } else {
      // 0, 30, 31: reserved, ignored by receivers (RFC 6184 §5.4).
      this.unsupported(false);
    }
  }

  protected makeAccessUnit(pts: number, nalus: Buffer[]): AccessUnit {
    this.params.note(nalus);
    return { pts, clockRate: this.clockRate, keyframe: isH264Keyframe(nalus), nalus };
  }
}

/** SDP fmtp parameters for an H.264 stream in packetization-mode 1 (RFC 6184 §8.1). */
export function h264Fmtp(
  sps: Buffer | undefined,
  pps: readonly Buffer[] | Buffer | undefined,
): Record<string, string> {
  const fmtp: Record<string, string> = { 'packetization-mode': '1' };
  const ppsList = pps === undefined ? [] : Buffer.isBuffer(pps) ? [pps] : [...pps];
  if (sps) {
    fmtp['profile-level-id'] = h264ProfileLevelId(sps);
    fmtp['sprop-parameter-sets'] = formatSpropList([sps, ...ppsList]);
  }
  return fmtp;
}

export interface H264FmtpInfo {
  packetizationMode: number;
  profileLevelId?: string;
  sps: Buffer[];
  pps: Buffer[];
}

/**
 * Reads H.264 fmtp parameters. Lenient: start codes inside sprop-parameter-sets are split,
 * undecodable elements are skipped (parameter sets usually come in band too).
 */
export function parseH264Fmtp(fmtp: Readonly<Record<string, string>>): H264FmtpInfo {
  const info: H264FmtpInfo = { packetizationMode: fmtpInt(fmtp, 'packetization-mode', 0), sps: [], pps: [] };
  const pli = fmtpGet(fmtp, 'profile-level-id');
  if (pli !== undefined && /^[0-9a-fA-F]{6}$/.test(pli)) info.profileLevelId = pli.toLowerCase();
  for (const nal of spropLenient(fmtpGet(fmtp, 'sprop-parameter-sets'))) {
    const t = h264NalType(nal);
    if (t === H264NalType.Sps) info.sps.push(nal);
    else if (t === H264NalType.Pps) info.pps.push(nal);
  }
  return info;
}

/** Decodes a sprop list element by element, skipping the invalid ones. */
export function spropLenient(value: string | undefined): Buffer[] {
  if (value === undefined) return [];
  const out: Buffer[] = [];
  for (const el of value.split(',')) {
    try {
      out.push(...parseSpropList(el));
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
  }
  return out;
}
