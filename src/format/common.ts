/** Pieces shared by the payload formats: sequence/timestamp tracking, fmtp helpers, option checks. */
import { Unwrapper, seqDiff16 } from '../base/seq.js';
import type { DepacketizerStats, RtpPacketIn } from './access-unit.js';

export type PacketVerdict =
  /** In order, possibly after a gap of `lost` packets. */
  | { kind: 'next'; lost: number; pts: number }
  /** Duplicate or late: drop it. */
  | { kind: 'late' };

/**
 * Tracks RTP sequence numbers (loss detection, RFC 3550 §A.1) and unwraps timestamps. A jump
 * of more than 3000 packets either way is taken as a stream restart rather than loss or lateness.
 */
export class RtpSequenceTracker {
  private lastSeq: number | undefined;
  private readonly ts = new Unwrapper(32);

  constructor(private readonly stats: DepacketizerStats) {}

  accept(pkt: RtpPacketIn): PacketVerdict {
    this.stats.packets++;
    let lost = 0;
    if (this.lastSeq !== undefined) {
      const d = seqDiff16(this.lastSeq, pkt.sequenceNumber & 0xffff);
      if (d <= 0 && d > -3000) {
        this.stats.latePackets++;
        return { kind: 'late' };
      }
      if (d > 1 && d <= 3000) lost = d - 1;
      else if (d > 3000 || d <= -3000) lost = 1; // restart: treat the boundary as a loss
    }
    this.lastSeq = pkt.sequenceNumber & 0xffff;
    this.stats.lostPackets += lost;
    return { kind: 'next', lost, pts: this.ts.unwrap(pkt.timestamp >>> 0) };
  }

  reset(): void {
    this.lastSeq = undefined;
    this.ts.reset();
  }
}

/** Case-insensitive fmtp lookup (parameter names are case-insensitive, RFC 4566 §6 / RFC 6184 §8.1). */
export function fmtpGet(fmtp: Readonly<Record<string, string>>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(fmtp)) if (k.trim().toLowerCase() === lower) return v.trim();
  return undefined;
}

/** Parses an `a=fmtp` parameter string (`k=v; k=v`) into a record; values may contain '='. */
export function parseFmtpParameters(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0) out[p] = '';
    else out[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
  }
  return out;
}

/** Serializes fmtp parameters as `k=v;k=v` in insertion order. */
export function formatFmtpParameters(fmtp: Readonly<Record<string, string>>): string {
  return Object.entries(fmtp)
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`))
    .join(';');
}

/** Parses a non-negative integer fmtp value, or returns `fallback` when absent or invalid. */
export function fmtpInt(fmtp: Readonly<Record<string, string>>, name: string, fallback: number): number {
  const v = fmtpGet(fmtp, name);
  if (v === undefined || !/^\d+$/.test(v)) return fallback;
  return Number(v);
}

export function checkMaxPayload(maxPayloadBytes: number, min: number): number {
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < min || maxPayloadBytes > 65507)
    throw new RangeError(`maxPayloadBytes must be an integer in [${min}, 65507], got ${maxPayloadBytes}`);
  return maxPayloadBytes;
}

/** The rtpmap of a payload format (RFC 4566 §6 `a=rtpmap:<pt> <encodingName>/<clockRate>[/<channels>]`). */
export interface RtpMap {
  encodingName: string;
  clockRate: number;
  channels?: number;
}
