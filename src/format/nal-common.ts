/**
 * Machinery shared by the NAL-unit payload formats, H.264 (RFC 6184) and H.265 (RFC 7798):
 * greedy aggregation / fragmentation to a payload budget on the sending side, and access-unit
 * assembly with loss handling and camera-quirk tolerance on the receiving side.
 */
import {
  DEFAULT_MAX_ACCESS_UNIT_BYTES,
  newStats,
  type AccessUnit,
  type Depacketizer,
  type DepacketizerStats,
  type RtpPacketIn,
  type RtpPayloadOut,
} from './access-unit.js';
import { RtpSequenceTracker } from './common.js';

/** How a NAL payload format aggregates and fragments. */
export interface NalScheme {
  /** Bytes of the aggregation packet header (STAP-A: 1, AP: 2); each NAL then costs 2 + size. */
  aggregationHeaderBytes: number;
  aggregate(group: readonly Buffer[]): Buffer;
  fragment(nal: Buffer, maxPayloadBytes: number): Buffer[];
}

/**
 * Splits NAL units into payloads of at most `maxPayloadBytes`: consecutive NAL units that fit
 * together go into one aggregation packet, a lone one goes as a single NAL unit packet, and
 * larger ones are fragmented. NAL order is preserved (RFC 6184 §5.7 / RFC 7798 §4.4.2 require
 * decoding order within aggregation packets).
 */
export function packetizeNalUnits(
  nalus: readonly Buffer[],
  maxPayloadBytes: number,
  scheme: NalScheme,
): Buffer[] {
  const out: Buffer[] = [];
  let group: Buffer[] = [];
  let groupBytes = scheme.aggregationHeaderBytes;
  const flush = (): void => {
    if (group.length === 1) out.push(group[0]!);
    else if (group.length > 1) out.push(scheme.aggregate(group));
    group = [];
    groupBytes = scheme.aggregationHeaderBytes;
  };
  for (const nal of nalus) {
    if (nal.length === 0) continue;
    if (nal.length > maxPayloadBytes) {
      flush();
      out.push(...scheme.fragment(nal, maxPayloadBytes));
      continue;
    }
    if (group.length > 0 && groupBytes + 2 + nal.length > maxPayloadBytes) flush();
    group.push(nal);
    groupBytes += 2 + nal.length;
  }
  flush();
  return out;
}

/** Even chunk sizes for `total` bytes in pieces of at most `max` (avoids a tiny last fragment). */
export function evenChunks(total: number, max: number): number[] {
  const n = Math.max(1, Math.ceil(total / max));
  const base = Math.floor(total / n);
  const extra = total - base * n;
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) sizes.push(base + (i < extra ? 1 : 0));
  return sizes;
}

/** Builds an aggregation payload: header then (16-bit size, NAL) for each NAL unit. */
export function buildAggregate(header: Buffer, group: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [header];
  for (const nal of group) {
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16BE(nal.length);
    parts.push(len, nal);
  }
  return Buffer.concat(parts);
}

/** Reads the (16-bit size, NAL) list of an aggregation packet from `offset`; undefined when malformed. */
export function readAggregate(payload: Buffer, offset: number): Buffer[] | undefined {
  const nalus: Buffer[] = [];
  let pos = offset;
  while (pos < payload.length) {
    if (pos + 2 > payload.length) return undefined;
    const size = payload.readUInt16BE(pos);
    pos += 2;
    if (size === 0 || pos + size > payload.length) return undefined;
    nalus.push(payload.subarray(pos, pos + size));
    pos += size;
  }
  return nalus.length > 0 ? nalus : undefined;
}

/** Keeps the latest parameter set of each type and puts them in front of random access points. */
export class ParameterSetCache {
  private readonly sets = new Map<number, Buffer>();

  constructor(
    /** Parameter set NAL types, in the order they must precede a keyframe (e.g. SPS, PPS). */
    private readonly types: readonly number[],
    private readonly nalType: (nal: Uint8Array) => number,
  ) {}

  /** Remembers parameter sets found in `nalus` (copies, so callers may reuse their buffers). */
  note(nalus: readonly Buffer[]): void {
    for (const nal of nalus) {
      const t = this.nalType(nal);
      if (this.types.includes(t)) {
        const prev = this.sets.get(t);
        if (!prev?.equals(nal)) this.sets.set(t, Buffer.from(nal));
      }
    }
  }

  get(type: number): Buffer | undefined {
    return this.sets.get(type);
  }

  /**
   * Returns `nalus` with the known parameter sets it lacks inserted before its first VCL NAL
   * unit (after any AUD/SEI prefix), or `nalus` itself when nothing is missing.
   */
  complete(nalus: readonly Buffer[], isVcl: (type: number) => boolean): readonly Buffer[] {
    const present = new Set(nalus.map((n) => this.nalType(n)));
    const missing: Buffer[] = [];
    for (const t of this.types) {
      const set = this.sets.get(t);
      if (!present.has(t) && set) missing.push(set);
    }
    if (missing.length === 0) return nalus;
    let at = nalus.findIndex((n) => isVcl(this.nalType(n)));
    if (at < 0) at = nalus.length;
    return [...nalus.slice(0, at), ...missing, ...nalus.slice(at)];
  }
}

/** Packetizes one NAL access unit: marker on the last payload, all at the AU's pts. */
export function nalPayloads(payloads: readonly Buffer[], pts: number): RtpPayloadOut[] {
  return payloads.map((payload, i) => ({ payload, marker: i === payloads.length - 1, pts }));
}

interface PendingAu {
  pts: number;
  nalus: Buffer[];
  bytes: number;
  broken: boolean;
}

interface PendingFragment {
  type: number;
  parts: Buffer[];
  bytes: number;
}

export interface NalDepacketizerOptions {
  /** Larger access units are dropped (memory bound). Default 8 MiB. */
  maxAccessUnitBytes?: number;
}

/**
 * Access-unit assembly for NAL payload formats. Subclasses parse one payload and call
 * `addNal`, `addFragment`, `malformed` or `unsupported`.
 *
 * Boundaries: an AU ends at a packet with the marker bit, or when the timestamp changes (cameras
 * that never set the marker, RFC 6184 §5.1 allows the receiver to rely on the timestamp).
 * Loss: a sequence gap breaks the AU being assembled and the one the next packet belongs to
 * (the lost packets may be the tail of one or the head of the other); broken AUs are dropped
 * and counted. Fragment quirks: a fragment without its start bit that directly follows a
 * packet (in sequence) that left no fragment open starts a new NAL unit; a new start, a different NAL type, a non-fragment
 * packet, a marker or a timestamp change ends a fragmented NAL unit whose end bit never came.
 * A fragment without start bit right after the first packet or a loss is dropped with its AU.
 */
export abstract class NalDepacketizerBase implements Depacketizer {
  readonly clockRate = 90000;
  readonly stats: DepacketizerStats = newStats();
  private readonly seq = new RtpSequenceTracker(this.stats);
  private readonly maxAuBytes: number;
  private au: PendingAu | undefined;
  private fu: PendingFragment | undefined;
  /** True once a packet was accepted since creation or reset. */
  private started = false;
  /** True while parsing a packet that directly follows the previous one (no loss, not the first). */
  private contiguous = false;

  protected constructor(options: NalDepacketizerOptions) {
    this.maxAuBytes = options.maxAccessUnitBytes ?? DEFAULT_MAX_ACCESS_UNIT_BYTES;
  }

  /** Parses one RTP payload into NAL units / fragments. */
  protected abstract parsePayload(payload: Buffer): void;
  /** Builds the emitted AU (keyframe detection, parameter set tracking). */
  protected abstract makeAccessUnit(pts: number, nalus: Buffer[]): AccessUnit;

  push(pkt: RtpPacketIn): AccessUnit[] {
    const v = this.seq.accept(pkt);
    if (v.kind === 'late') return [];
    const out: AccessUnit[] = [];
    // A packet with no payload (RFC 3550 §5.1 allows it; rtspkit's lead-in packets, vod-rtp.ts) only
    // counts in the sequence: it belongs to no access unit.
    if (pkt.payload.length === 0 && !pkt.marker && v.lost === 0) return out;
    this.contiguous = this.started && v.lost === 0;
    this.started = true;
    if (v.lost > 0) {
      if (this.au) this.au.broken = true;
      this.fu = undefined;
    }
    if (this.au && this.au.pts !== v.pts) this.finishAu(out);
    this.au ??= { pts: v.pts, nalus: [], bytes: 0, broken: v.lost > 0 };
    this.parsePayload(pkt.payload);
    if (pkt.marker) this.finishAu(out);
    return out;
  }

  flush(): AccessUnit[] {
    const out: AccessUnit[] = [];
    this.finishAu(out);
    return out;
  }

  reset(): void {
    this.au = undefined;
    this.fu = undefined;
    this.started = false;
    this.seq.reset();
  }

  protected addNal(nal: Buffer): void {
    this.closeFragment();
    this.append(nal);
  }

  /** `header` is the reconstructed NAL header; `data` the fragment bytes after it. */
  protected addFragment(start: boolean, end: boolean, type: number, header: Buffer, data: Buffer): void {
    if (this.fu && (start || this.fu.type !== type)) this.closeFragment();
    if (!this.fu) {
      if (!start && !this.contiguous) {
        // Head of this NAL unit is missing (joined mid-fragment or lost): the AU is unusable.
        this.markBroken();
        return;
      }
      this.fu = { type, parts: [header], bytes: header.length };
    }
    this.fu.parts.push(data);
    this.fu.bytes += data.length;
    if (this.au && this.au.bytes + this.fu.bytes > this.maxAuBytes) {
      this.oversized();
      return;
    }
    if (end) this.closeFragment();
  }

  protected malformed(): void {
    this.stats.malformedPackets++;
    this.markBroken();
  }

  /** A packet kind this receiver does not handle; `breaksAu` when it carried media data. */
  protected unsupported(breaksAu: boolean): void {
    this.stats.unsupportedPackets++;
    if (breaksAu) this.markBroken();
  }

  private markBroken(): void {
    if (this.au) {
      this.au.broken = true;
      this.au.nalus = [];
      this.au.bytes = 0;
    }
    this.fu = undefined;
  }

  private oversized(): void {
    if (this.au && !this.au.broken) this.stats.oversizedAccessUnits++;
    this.markBroken();
  }

  private closeFragment(): void {
    const fu = this.fu;
    if (!fu) return;
    this.fu = undefined;
    this.append(Buffer.concat(fu.parts, fu.bytes));
  }

  private append(nal: Buffer): void {
    const au = this.au;
    if (!au || au.broken) return;
    if (au.bytes + nal.length > this.maxAuBytes) {
      this.oversized();
      return;
    }
    au.nalus.push(nal);
    au.bytes += nal.length;
  }

  private finishAu(out: AccessUnit[]): void {
    this.closeFragment();
    const au = this.au;
    this.au = undefined;
    if (!au) return;
    if (au.broken) {
      this.stats.droppedAccessUnits++;
      return;
    }
    if (au.nalus.length === 0) return;
    this.stats.accessUnits++;
    out.push(this.makeAccessUnit(au.pts, au.nalus));
  }
}
