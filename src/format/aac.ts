/**
 * RTP payload format for MPEG-4 AAC, RFC 3640 (mpeg4-generic), mode AAC-hbr by default:
 * every packet starts with an AU-header section (16-bit AU-headers-length in bits, then per AU
 * a 13-bit AU-size and a 3-bit AU-Index / AU-Index-delta), followed by the AU data. Large AUs
 * are fragmented (§3.2.3: one AU-header carrying the size of the whole AU in every fragment).
 * The depacketizer reads the general header layout from fmtp (sizelength, indexlength,
 * indexdeltalength, ctsdeltalength, dtsdeltalength, randomaccessindication, streamstateindication,
 * auxiliarydatasizelength), so AAC-lbr works too.
 */
import { BitReader, BitWriter } from '../base/bits.js';
import { ParseError } from '../base/errors.js';
import { parseAudioSpecificConfig, type AudioSpecificConfig } from '../codec/aac.js';
import {
  DEFAULT_MAX_ACCESS_UNIT_BYTES,
  DEFAULT_MAX_PAYLOAD_BYTES,
  auPayload,
  newStats,
  type AccessUnit,
  type Depacketizer,
  type DepacketizerStats,
  type Packetizer,
  type RtpPacketIn,
  type RtpPayloadOut,
} from './access-unit.js';
import { RtpSequenceTracker, checkMaxPayload, fmtpGet, fmtpInt, type RtpMap } from './common.js';

/** AU-header layout (RFC 3640 §3.2.1). */
export interface AacHeaderLayout {
  sizeLength: number;
  indexLength: number;
  indexDeltaLength: number;
  ctsDeltaLength: number;
  dtsDeltaLength: number;
  randomAccessIndication: boolean;
  streamStateIndication: number;
  auxiliaryDataSizeLength: number;
}

export const AAC_HBR_LAYOUT: AacHeaderLayout = {
  sizeLength: 13,
  indexLength: 3,
  indexDeltaLength: 3,
  ctsDeltaLength: 0,
  dtsDeltaLength: 0,
  randomAccessIndication: false,
  streamStateIndication: 0,
  auxiliaryDataSizeLength: 0,
};

export function aacRtpmap(cfg: Pick<AudioSpecificConfig, 'sampleRate' | 'channels'>): RtpMap {
  return { encodingName: 'MPEG4-GENERIC', clockRate: cfg.sampleRate, channels: cfg.channels || 1 };
}

/** SDP fmtp for AAC-hbr (RFC 3640 §4.1): `config` is the AudioSpecificConfig in hex. */
export function aacFmtp(config: Uint8Array): Record<string, string> {
  return {
    streamtype: '5',
    'profile-level-id': '1',
    mode: 'AAC-hbr',
    sizelength: '13',
    indexlength: '3',
    indexdeltalength: '3',
    config: Buffer.from(config).toString('hex'),
  };
}

export interface AacFmtpInfo {
  mode: string;
  layout: AacHeaderLayout;
  /** The AudioSpecificConfig bytes, when `config` is present and valid hex. */
  config?: Buffer;
  /** Its parsed form, when it parses. */
  audioConfig?: AudioSpecificConfig;
}

/** Reads RFC 3640 fmtp parameters; missing lengths default to 0 as the RFC says (§4.1). */
export function parseAacFmtp(fmtp: Readonly<Record<string, string>>): AacFmtpInfo {
  const layout: AacHeaderLayout = {
    sizeLength: fmtpInt(fmtp, 'sizelength', 0),
    indexLength: fmtpInt(fmtp, 'indexlength', 0),
    indexDeltaLength: fmtpInt(fmtp, 'indexdeltalength', 0),
    ctsDeltaLength: fmtpInt(fmtp, 'ctsdeltalength', 0),
    dtsDeltaLength: fmtpInt(fmtp, 'dtsdeltalength', 0),
    randomAccessIndication: fmtpInt(fmtp, 'randomaccessindication', 0) === 1,
    streamStateIndication: fmtpInt(fmtp, 'streamstateindication', 0),
    auxiliaryDataSizeLength: fmtpInt(fmtp, 'auxiliarydatasizelength', 0),
  };
  const info: AacFmtpInfo = { mode: fmtpGet(fmtp, 'mode') ?? '', layout };
  const hex = fmtpGet(fmtp, 'config');
  if (hex !== undefined && /^([0-9a-fA-F]{2})+$/.test(hex)) {
    info.config = Buffer.from(hex, 'hex');
    try {
      info.audioConfig = parseAudioSpecificConfig(info.config);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
  }
  return info;
}

export interface AacPacketizerOptions {
  /** RTP clock rate = the AAC sample rate. */
  clockRate: number;
  /** Maximum RTP payload size in bytes (default 1400). */
  maxPayloadBytes?: number;
  /** Samples per AU (1024, or 960), to check that aggregated AUs are contiguous. Default 1024. */
  frameLength?: number;
}

/**
 * Packetizes raw AAC frames (no ADTS header) in AAC-hbr mode. `packetize` sends one AU per packet
 * (lowest latency); `packetizeMany` aggregates consecutive AUs into as few packets as fit.
 * Marker: set on packets that end an AU (all but non-final fragments), RFC 3640 §3.2.3.
 */
export class AacPacketizer implements Packetizer {
  readonly clockRate: number;
  private readonly maxPayloadBytes: number;
  private readonly frameLength: number;

  constructor(options: AacPacketizerOptions) {
    this.clockRate = options.clockRate;
    this.maxPayloadBytes = checkMaxPayload(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, 16);
    this.frameLength = options.frameLength ?? 1024;
  }

  packetize(au: AccessUnit): RtpPayloadOut[] {
    return this.packetizeMany([au]);
  }

  packetizeMany(aus: readonly AccessUnit[]): RtpPayloadOut[] {
    const out: RtpPayloadOut[] = [];
    let group: AccessUnit[] = [];
    let groupBytes = 2;
    const flush = (): void => {
      if (group.length > 0)
        out.push({ payload: buildPacket(group.map(auPayload)), marker: true, pts: group[0]!.pts });
      group = [];
      groupBytes = 2;
    };
    for (const au of aus) {
      const frame = auPayload(au);
      if (frame.length > 8191)
        throw new ParseError('AAC_AU_TOO_LARGE', `AAC frame of ${frame.length} bytes > 8191`);
      if (2 + 2 + frame.length > this.maxPayloadBytes) {
        flush();
        out.push(...this.fragment(frame, au.pts));
        continue;
      }
      const last = group[group.length - 1];
      if (
        last &&
        (groupBytes + 2 + frame.length > this.maxPayloadBytes || au.pts !== last.pts + this.frameLength)
      )
        flush();
      group.push(au);
      groupBytes += 2 + frame.length;
    }
    flush();
    return out;
  }

  private fragment(frame: Buffer, pts: number): RtpPayloadOut[] {
    const out: RtpPayloadOut[] = [];
    const chunk = this.maxPayloadBytes - 4;
    for (let pos = 0; pos < frame.length; pos += chunk) {
      const head = Buffer.from([0, 16, frame.length >> 5, (frame.length & 0x1f) << 3]);
      const end = Math.min(pos + chunk, frame.length);
      out.push({
        payload: Buffer.concat([head, frame.subarray(pos, end)]),
        marker: end === frame.length,
        pts,
      });
    }
    return out;
  }
}

function buildPacket(frames: readonly Buffer[]): Buffer {
  const head = Buffer.allocUnsafe(2 + 2 * frames.length);
  head.writeUInt16BE(16 * frames.length, 0);
  frames.forEach((f, i) => head.writeUInt16BE(f.length << 3, 2 + 2 * i)); // size, index(-delta) 0
  return Buffer.concat([head, ...frames]);
}

export interface AacDepacketizerOptions {
  clockRate: number;
  layout?: AacHeaderLayout;
  /** Samples per AU, for the pts of the 2nd+ AU in a packet. Default 1024. */
  frameLength?: number;
  maxAccessUnitBytes?: number;
}

/**
 * Splits RFC 3640 packets into AUs, pts = RTP timestamp + AU index * frameLength, and
 * reassembles fragmented AUs (dropped on loss or timestamp change).
 */
export class AacDepacketizer implements Depacketizer {
  readonly clockRate: number;
  readonly stats: DepacketizerStats = newStats();
  private readonly seq = new RtpSequenceTracker(this.stats);
  private readonly layout: AacHeaderLayout;
  private readonly frameLength: number;
  private readonly maxAuBytes: number;
  private frag: { pts: number; size: number; parts: Buffer[]; bytes: number } | undefined;
  /** Timestamp of a fragmented AU known to be broken: its remaining fragments are skipped. */
  private discardPts: number | undefined;

  constructor(options: AacDepacketizerOptions) {
    this.clockRate = options.clockRate;
    this.layout = options.layout ?? AAC_HBR_LAYOUT;
    this.frameLength = options.frameLength ?? 1024;
    this.maxAuBytes = options.maxAccessUnitBytes ?? DEFAULT_MAX_ACCESS_UNIT_BYTES;
  }

  push(pkt: RtpPacketIn): AccessUnit[] {
    const v = this.seq.accept(pkt);
    if (v.kind === 'late') return [];
    if (this.frag && (v.lost > 0 || this.frag.pts !== v.pts)) {
      if (this.frag.pts === v.pts) this.discardPts = v.pts;
      this.dropFragment();
    }
    let parsed: { sizes: number[]; indexes: number[]; data: Buffer };
    try {
      parsed = this.parse(pkt.payload);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      this.stats.malformedPackets++;
      this.dropFragment();
      return [];
    }
    const { sizes, indexes, data } = parsed;
    if (this.frag) {
      // Continuation: one AU-header with the whole AU size (RFC 3640 §3.2.3.1).
      const frag = this.frag;
      if (sizes.length !== 1 || sizes[0] !== frag.size || frag.bytes + data.length > frag.size) {
        this.stats.malformedPackets++;
        this.dropFragment();
        return [];
      }
      frag.parts.push(data);
      frag.bytes += data.length;
      if (frag.bytes < frag.size) return [];
      this.frag = undefined;
      return [this.emit(frag.pts, Buffer.concat(frag.parts, frag.bytes))];
    }
    if (sizes.length === 1 && sizes[0]! > data.length) {
      // After a loss a fragment may be a continuation whose head is gone: skip the whole AU.
      if (this.discardPts === v.pts) return [];
      if (v.lost > 0) {
        this.discardPts = v.pts;
        this.stats.droppedAccessUnits++;
        return [];
      }
      if (sizes[0]! > this.maxAuBytes) {
        this.stats.oversizedAccessUnits++;
        this.stats.droppedAccessUnits++;
        return [];
      }
      this.frag = { pts: v.pts, size: sizes[0]!, parts: [data], bytes: data.length };
      return [];
    }
    const out: AccessUnit[] = [];
    let pos = 0;
    let total = 0;
    for (const s of sizes) total += s;
    if (total > data.length) {
      this.stats.malformedPackets++;
      return [];
    }
    sizes.forEach((size, i) => {
      out.push(this.emit(v.pts + indexes[i]! * this.frameLength, data.subarray(pos, pos + size)));
      pos += size;
    });
    return out;
  }

  flush(): AccessUnit[] {
    this.dropFragment();
    return [];
  }

  reset(): void {
    this.frag = undefined;
    this.discardPts = undefined;
    this.seq.reset();
  }

  private emit(pts: number, payload: Buffer): AccessUnit {
    this.stats.accessUnits++;
    return { pts, clockRate: this.clockRate, keyframe: true, payload };
  }

  private dropFragment(): void {
    if (this.frag) {
      this.frag = undefined;
      this.stats.droppedAccessUnits++;
    }
  }

  /** AU sizes, their interleaving indexes (relative to the packet's first AU) and the data section. */
  private parse(payload: Buffer): { sizes: number[]; indexes: number[]; data: Buffer } {
    const L = this.layout;
    if (payload.length < 2) throw new ParseError('AAC_BAD_PACKET', 'missing AU-headers-length');
    const headerBits = payload.readUInt16BE(0);
    const headerBytes = Math.ceil(headerBits / 8);
    if (2 + headerBytes > payload.length) throw new ParseError('AAC_BAD_PACKET', 'AU headers past the end');
    const r = new BitReader(payload.subarray(2, 2 + headerBytes));
    const sizes: number[] = [];
    const indexes: number[] = [];
    let index = 0;
    while (r.position < headerBits) {
      const first = sizes.length === 0;
      const size = r.readBits(L.sizeLength);
      const idx = r.readBits(first ? L.indexLength : L.indexDeltaLength);
      index = first ? 0 : index + idx + 1; // AU-Index of the first AU is the reference
      if (L.ctsDeltaLength > 0 && r.readFlag()) r.skipBits(L.ctsDeltaLength);
      if (L.dtsDeltaLength > 0 && r.readFlag()) r.skipBits(L.dtsDeltaLength);
      if (L.randomAccessIndication) r.skipBits(1);
      if (L.streamStateIndication > 0) r.skipBits(L.streamStateIndication);
      if (r.position > headerBits) throw new ParseError('AAC_BAD_PACKET', 'AU header past AU-headers-length');
      sizes.push(size);
      indexes.push(index);
      if (L.sizeLength === 0 || sizes.length > 4096)
        throw new ParseError('AAC_BAD_PACKET', 'unsupported AU layout');
    }
    if (sizes.length === 0) throw new ParseError('AAC_BAD_PACKET', 'no AU headers');
    let pos = 2 + headerBytes;
    if (L.auxiliaryDataSizeLength > 0) {
      const a = new BitReader(payload.subarray(pos));
      const auxBits = a.readBits(L.auxiliaryDataSizeLength);
      pos += Math.ceil((L.auxiliaryDataSizeLength + auxBits) / 8);
      if (pos > payload.length) throw new ParseError('AAC_BAD_PACKET', 'auxiliary section past the end');
    }
    return { sizes, indexes, data: payload.subarray(pos) };
  }
}

/** Used by tests and tools: writes AU headers for an arbitrary layout (RFC 3640 §3.2.1). */
export function buildAacPacket(frames: readonly Buffer[], layout: AacHeaderLayout = AAC_HBR_LAYOUT): Buffer {
  const w = new BitWriter();
  let bits = 0;
  frames.forEach((f, i) => {
    w.writeBits(f.length, layout.sizeLength);
    w.writeBits(0, i === 0 ? layout.indexLength : layout.indexDeltaLength);
    bits += layout.sizeLength + (i === 0 ? layout.indexLength : layout.indexDeltaLength);
  });
  const head = Buffer.alloc(2);
  head.writeUInt16BE(bits);
  return Buffer.concat([head, w.finish(), ...frames]);
}
