/**
 * The access unit: the one currency between protocols (RTP payload formats, containers, the
 * stream engine).
 *
 * - `pts` is in ticks of `clockRate`, unwrapped (monotonic, may exceed 2^32). RTP senders map it
 *   to the 32-bit RTP timestamp themselves (`(pts + offset) mod 2^32`).
 * - `dts` is set only when it differs from `pts` (B-frames); otherwise it is undefined.
 * - Codec data lives in exactly one of two fields, by codec family:
 *   - H.264 / H.265: `nalus`, the NAL units of one picture WITHOUT start codes or length prefixes
 *     (use codec/nal.ts `joinAnnexB` / `joinLengthPrefixed` to frame them); `payload` is undefined.
 *   - every other codec: `payload`, one frame (AAC: one raw AAC frame without ADTS header;
 *     Opus: one Opus packet; G.711: a run of samples; JPEG: one complete JFIF image); `nalus` is undefined.
 *   `auNalus()` / `auPayload()` read them with a clear error when the wrong kind is given.
 * - `keyframe` is true for random access points (H.264 IDR, H.265 IRAP) and for every audio or
 *   JPEG unit.
 */
import { ParseError } from '../base/errors.js';

export interface AccessUnit {
  /** Presentation time in ticks of clockRate (unwrapped, may exceed 2^32). */
  pts: number;
  /** Decode time in ticks, when it differs from pts (B-frames); else undefined. */
  dts?: number;
  clockRate: number;
  keyframe: boolean;
  /** H.264/H.265 only: the NAL units of the picture, WITHOUT start codes. */
  nalus?: Buffer[];
  /** Every other codec: one frame. */
  payload?: Buffer;
}

/** One RTP payload produced by a packetizer; the caller adds the RTP header. */
export interface RtpPayloadOut {
  payload: Buffer;
  marker: boolean;
  /** RTP timestamp of the packet in unwrapped ticks: the AU's pts (audio packetizers may split or merge AUs). */
  pts: number;
}

/** The RTP header fields a depacketizer needs (kept independent of src/rtp). */
export interface RtpPacketIn {
  payload: Buffer;
  marker: boolean;
  sequenceNumber: number;
  /** 32-bit RTP timestamp as received. */
  timestamp: number;
}

export interface Packetizer {
  readonly clockRate: number;
  /** RTP payloads for one access unit, in sending order. */
  packetize(au: AccessUnit): RtpPayloadOut[];
}

/** Counters kept by every depacketizer; they never throw on bad input. */
export interface DepacketizerStats {
  packets: number;
  /** Access units emitted. */
  accessUnits: number;
  /** Packets missing according to sequence numbers. */
  lostPackets: number;
  /** Duplicate or late (out-of-order) packets, dropped: reordering is the jitter buffer's job. */
  latePackets: number;
  /** Access units dropped because of loss, a malformed packet or an overflow. */
  droppedAccessUnits: number;
  /** Packets that could not be parsed. */
  malformedPackets: number;
  /** Packets of a valid but unsupported kind (e.g. STAP-B, MTAP, FU-B, PACI). */
  unsupportedPackets: number;
  /** Access units dropped for exceeding `maxAccessUnitBytes`. */
  oversizedAccessUnits: number;
}

export interface Depacketizer {
  readonly clockRate: number;
  readonly stats: Readonly<DepacketizerStats>;
  /** Feeds one packet; returns the access units it completes (possibly none). Never throws on bad input. */
  push(pkt: RtpPacketIn): AccessUnit[];
  /** Emits what is pending (end of stream). */
  flush(): AccessUnit[];
  /** Forgets all state except parameter sets and counters (e.g. after a seek or SSRC change). */
  reset(): void;
}

/** Default cap on one access unit; bigger ones are dropped to bound memory. */
export const DEFAULT_MAX_ACCESS_UNIT_BYTES = 8 * 1024 * 1024;

/** Default maximum RTP payload size: 1400 bytes leaves room for IP/UDP/RTP headers, tunnels and SRTP in a 1500-byte MTU. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1400;

export function auNalus(au: AccessUnit): Buffer[] {
  if (!au.nalus) throw new ParseError('AU_NO_NALUS', 'access unit has no NAL units (nalus)');
  return au.nalus;
}

export function auPayload(au: AccessUnit): Buffer {
  if (!au.payload) throw new ParseError('AU_NO_PAYLOAD', 'access unit has no payload');
  return au.payload;
}

export function newStats(): DepacketizerStats {
  return {
    packets: 0,
    accessUnits: 0,
    lostPackets: 0,
    latePackets: 0,
    droppedAccessUnits: 0,
    malformedPackets: 0,
    unsupportedPackets: 0,
    oversizedAccessUnits: 0,
  };
}
