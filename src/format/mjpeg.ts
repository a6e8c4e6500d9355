/**
 * RTP payload format for JPEG (RFC 2435), payload type 26. Only baseline JPEGs with 3 components
 * and the types of §4.1 travel: type 0 (4:2:2, luma 2x1) and 1 (4:2:0, luma 2x2), +64 when a
 * restart interval is used (§3.1.7). Quantization tables go in band (Q = 255, §3.1.8) so any
 * encoder's tables survive; Huffman tables must be the standard ones (Annex K.3), which the
 * receiver rebuilds (JPEGs with other tables are refused unless allowed). Sizes are sent in units of 8 pixels (max 2040).
 */
import { ParseError } from '../base/errors.js';
import { buildJpegHeaders, jpegQuantTablesForQ, parseJpeg } from '../codec/jpeg.js';
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
import { RtpSequenceTracker, checkMaxPayload, type RtpMap } from './common.js';

export const JPEG_PAYLOAD_TYPE = 26;
export const JPEG_RTPMAP: RtpMap = { encodingName: 'JPEG', clockRate: 90000 };

export interface MjpegPacketizerOptions {
  /** Maximum RTP payload size in bytes (default 1400). */
  maxPayloadBytes?: number;
  /**
   * Send JPEGs whose Huffman tables are not the standard ones (e.g. ffmpeg's default
   * `-huffman optimal`) anyway; receivers will decode them wrongly. Default false: they throw.
   */
  allowNonStandardHuffman?: boolean;
}

/**
 * Packetizes one JFIF/baseline JPEG per AU. Throws ParseError('JPEG_UNSUPPORTED') for JPEGs RTP/JPEG
 * cannot describe (progressive, not 3 components, other sampling, larger than 2040 pixels).
 */
export class MjpegPacketizer implements Packetizer {
  readonly clockRate = 90000;
  private readonly maxPayloadBytes: number;
  private readonly allowNonStandardHuffman: boolean;

  constructor(options: MjpegPacketizerOptions = {}) {
    this.maxPayloadBytes = checkMaxPayload(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, 300);
    this.allowNonStandardHuffman = options.allowNonStandardHuffman ?? false;
  }

  packetize(au: AccessUnit): RtpPayloadOut[] {
    const info = parseJpeg(auPayload(au));
    const [y, cb, cr] = info.components;
    const unsupported = (why: string): never => {
      throw new ParseError('JPEG_UNSUPPORTED', `RTP/JPEG cannot carry this JPEG: ${why}`);
    };
    if (info.sofMarker !== 0xc0 && info.sofMarker !== 0xc1) unsupported('not a baseline/sequential DCT JPEG');
    if (info.precision !== 8) unsupported('sample precision is not 8 bits');
    if (!y || !cb || !cr || info.components.length !== 3) unsupported('not 3 components');
    if (y!.h !== 2 || (y!.v !== 1 && y!.v !== 2)) unsupported('luma sampling is neither 2x1 nor 2x2');
    if (cb!.h !== 1 || cb!.v !== 1 || cr!.h !== 1 || cr!.v !== 1)
      unsupported('chroma is subsampled differently');
    if (cb!.tq !== cr!.tq) unsupported('Cb and Cr use different quantization tables');
    if (!info.standardHuffmanTables && !this.allowNonStandardHuffman)
      unsupported('Huffman tables are not the standard ones (encode with -huffman default)');
    if (info.width > 2040 || info.height > 2040 || info.width === 0 || info.height === 0)
      unsupported('size beyond 2040 pixels');
    const lq = info.quantTables.get(y!.tq);
    const cq = info.quantTables.get(cb!.tq);
    if (!lq || !cq) throw new ParseError('JPEG_BAD', 'quantization table missing');
    const type = (y!.v === 1 ? 0 : 1) + (info.restartInterval > 0 ? 64 : 0);

    const main = Buffer.alloc(8);
    main[4] = type;
    main[5] = 255;
    main[6] = Math.ceil(info.width / 8);
    main[7] = Math.ceil(info.height / 8);
    let restart: Buffer | undefined;
    if (info.restartInterval > 0) {
      // F = L = 1 and count 0x3fff: fragments are not aligned to restart intervals (§3.1.7).
      restart = Buffer.from([info.restartInterval >> 8, info.restartInterval & 0xff, 0xff, 0xff]);
    }
    const tables = Buffer.concat([lq.table, cq.table]);
    const qHeader = Buffer.from([
      0,
      lq.precision | (cq.precision << 1),
      tables.length >> 8,
      tables.length & 0xff,
    ]);

    const data = info.scanData;
    const out: RtpPayloadOut[] = [];
    let offset = 0;
    do {
      const first = offset === 0;
      const headerBytes = 8 + (restart ? 4 : 0) + (first ? 4 + tables.length : 0);
      const room = this.maxPayloadBytes - headerBytes;
      if (room <= 0) throw new RangeError('maxPayloadBytes too small for the RTP/JPEG headers');
      const end = Math.min(offset + room, data.length);
      const m = Buffer.from(main);
      m.writeUIntBE(offset, 1, 3);
      const parts: Buffer[] = [m];
      if (restart) parts.push(restart);
      if (first) parts.push(qHeader, tables);
      parts.push(data.subarray(offset, end));
      out.push({ payload: Buffer.concat(parts), marker: end === data.length, pts: au.pts });
      offset = end;
    } while (offset < data.length);
    return out;
  }
}

interface PendingFrame {
  pts: number;
  type: number;
  width: number;
  height: number;
  restartInterval: number;
  tables: Buffer[] | undefined;
  parts: Buffer[];
  bytes: number;
  broken: boolean;
}

export interface MjpegDepacketizerOptions {
  maxAccessUnitBytes?: number;
}

/**
 * Rebuilds complete JPEG files (SOI, DQT, DRI, SOF0, DHT, SOS, data, EOI) from RTP/JPEG packets.
 * Frames end on the marker bit or a timestamp change; a fragment offset that does not follow on
 * (loss) drops the frame. Q 1..99 tables are computed (§4.2), in-band tables of Q 128..255 are
 * remembered per Q for frames that omit them (§3.1.8).
 */
export class MjpegDepacketizer implements Depacketizer {
  readonly clockRate = 90000;
  readonly stats: DepacketizerStats = newStats();
  private readonly seq = new RtpSequenceTracker(this.stats);
  private readonly maxAuBytes: number;
  private readonly tableCache = new Map<number, Buffer[]>();
  private frame: PendingFrame | undefined;

  constructor(options: MjpegDepacketizerOptions = {}) {
    this.maxAuBytes = options.maxAccessUnitBytes ?? DEFAULT_MAX_ACCESS_UNIT_BYTES;
  }

  push(pkt: RtpPacketIn): AccessUnit[] {
    const v = this.seq.accept(pkt);
    if (v.kind === 'late') return [];
    const out: AccessUnit[] = [];
    if (v.lost > 0 && this.frame) this.frame.broken = true;
    if (this.frame && this.frame.pts !== v.pts) this.finish(out);
    this.handle(pkt.payload, v.pts);
    if (pkt.marker) this.finish(out);
    return out;
  }

  flush(): AccessUnit[] {
    const out: AccessUnit[] = [];
    this.finish(out);
    return out;
  }

  reset(): void {
    this.frame = undefined;
    this.seq.reset();
  }

  private handle(p: Buffer, pts: number): void {
    if (p.length < 8) {
      this.malformed(pts);
      return;
    }
    const offset = p.readUIntBE(1, 3);
    const type = p[4]!;
    const q = p[5]!;
    let pos = 8;
    if ((type & 0x3f) > 1 || type >= 128) {
      this.stats.unsupportedPackets++;
      this.breakFrame(pts);
      return;
    }
    let restartInterval = 0;
    if (type >= 64) {
      if (p.length < pos + 4) {
        this.malformed(pts);
        return;
      }
      restartInterval = p.readUInt16BE(pos);
      pos += 4;
    }
    if (offset === 0) {
      let tables: Buffer[] | undefined;
      if (q >= 128) {
        if (p.length < pos + 4) {
          this.malformed(pts);
          return;
        }
        const precision = p[pos + 1]!;
        const length = p.readUInt16BE(pos + 2);
        pos += 4;
        if (length > 0) {
          const lSize = precision & 1 ? 128 : 64;
          const cSize = precision & 2 ? 128 : 64;
          // One table only: ffmpeg's encoder writes one DQT table when chroma's matrix is luma's, and its
          // packetizer sends what the JPEG has (length 64); the chroma components then use it too, as
          // ffmpeg's depacketizer reads it.
          const single = length === lSize;
          if ((!single && length < lSize + cSize) || p.length < pos + length) {
            this.malformed(pts);
            return;
          }
          const luma = Buffer.from(p.subarray(pos, pos + lSize));
          tables = [luma, single ? luma : Buffer.from(p.subarray(pos + lSize, pos + lSize + cSize))];
          this.tableCache.set(q, tables);
          pos += length;
        } else {
          tables = this.tableCache.get(q);
        }
      } else {
        tables = jpegQuantTablesForQ(q);
      }
      this.frame = {
        pts,
        type: type & 1,
        width: p[6]! * 8,
        height: p[7]! * 8,
        restartInterval,
        tables,
        parts: [],
        bytes: 0,
        broken: !tables || p[6] === 0 || p[7] === 0,
      };
    } else if (!this.frame || this.frame.pts !== pts || this.frame.bytes !== offset) {
      this.breakFrame(pts);
      return;
    }
    const frame = this.frame;
    if (frame.broken) return;
    const data = p.subarray(pos);
    if (frame.bytes + data.length > this.maxAuBytes) {
      this.stats.oversizedAccessUnits++;
      this.breakFrame(pts);
      return;
    }
    frame.parts.push(data);
    frame.bytes += data.length;
  }

  private malformed(pts: number): void {
    this.stats.malformedPackets++;
    this.breakFrame(pts);
  }

  /** Marks the frame of this timestamp as unusable (creating a placeholder when none is pending). */
  private breakFrame(pts: number): void {
    if (this.frame?.pts === pts) {
      this.frame.broken = true;
      this.frame.parts = [];
    } else {
      this.frame = {
        pts,
        type: 0,
        width: 0,
        height: 0,
        restartInterval: 0,
        tables: undefined,
        parts: [],
        bytes: 0,
        broken: true,
      };
    }
  }

  private finish(out: AccessUnit[]): void {
    const f = this.frame;
    this.frame = undefined;
    if (!f) return;
    if (f.broken || !f.tables || f.bytes === 0) {
      this.stats.droppedAccessUnits++;
      return;
    }
    const header = buildJpegHeaders({
      type: f.type as 0 | 1,
      width: f.width,
      height: f.height,
      quantTables: f.tables,
      restartInterval: f.restartInterval,
    });
    const data = Buffer.concat(f.parts, f.bytes);
    const hasEoi = data.length >= 2 && data[data.length - 2] === 0xff && data[data.length - 1] === 0xd9;
    const payload = Buffer.concat(hasEoi ? [header, data] : [header, data, Buffer.from([0xff, 0xd9])]);
    this.stats.accessUnits++;
    out.push({ pts: f.pts, clockRate: this.clockRate, keyframe: true, payload });
  }
}
