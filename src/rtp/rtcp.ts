/**
 * RTCP compound packets, RFC 3550 §6.4 (SR, RR), §6.5 (SDES), §6.6 (BYE), §6.7 (APP), with
 * unknown packet types (e.g. RFC 4585 feedback, 205/206) kept raw.
 *
 * Every RTCP packet starts with the same 32-bit word:
 *
 *    0                   1                   2                   3
 *   |V=2|P|  count  |  packet type  |    length (32-bit words - 1)  |
 *
 * Validation follows RFC 3550 §A.2 loosely: version and lengths are enforced (they frame the
 * compound), but the "first packet is SR/RR" and "padding only on the last packet" rules are not,
 * because deployed cameras break them and RFC 5506 reduced-size RTCP drops the first.
 */
import type { NtpTime } from '../base/clock.js';
import { ParseError } from '../base/errors.js';

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_APP = 204;
/** RFC 4585 transport-layer and payload-specific feedback. */
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;

export const RTCP_HEADER_BYTES = 4;
export const RTCP_REPORT_BLOCK_BYTES = 24;
/** RC/SC are 5-bit fields. */
export const RTCP_MAX_COUNT = 31;

/** SDES item types, §6.5. */
export const SdesType = {
  END: 0,
  CNAME: 1,
  NAME: 2,
  EMAIL: 3,
  PHONE: 4,
  LOC: 5,
  TOOL: 6,
  NOTE: 7,
  PRIV: 8,
} as const;

/** §6.4.1 reception report block. */
export interface ReportBlock {
  /** The source this block reports on. */
  ssrc: number;
  /** Fraction lost since the previous report, fixed point with the binary point at the left (0..255). */
  fractionLost: number;
  /** Cumulative number of packets lost, signed 24 bits (duplicates can make it negative). */
  cumulativeLost: number;
  /** Extended highest sequence number received: cycles << 16 | highest seq, 32 bits. */
  highestSeq: number;
  /** Interarrival jitter in timestamp units, 32 bits. */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from the source, 0 if none. */
  lsr: number;
  /** Delay since that SR in units of 1/65536 s, 0 if none. */
  dlsr: number;
}

interface RtcpCommon {
  /**
   * Padding octets at the end of this packet (P bit), count octet included. Only the last packet
   * of a compound should carry padding (§6.4.1), but any one is accepted when parsing.
   */
  paddingLength?: number;
}

export interface SenderReport extends RtcpCommon {
  type: 'sr';
  ssrc: number;
  /** Wall-clock time at which the report was sent. */
  ntp: NtpTime;
  /** The same instant as `ntp`, in the RTP clock of the media. */
  rtpTimestamp: number;
  /** Packets sent since starting transmission, 32 bits wrapping. */
  packetCount: number;
  /** Payload octets sent since starting transmission, 32 bits wrapping. */
  octetCount: number;
  reports: ReportBlock[];
  /** Profile-specific extension after the report blocks (zero-copy view when parsed). */
  profileExtension?: Buffer;
}

export interface ReceiverReport extends RtcpCommon {
  type: 'rr';
  ssrc: number;
  reports: ReportBlock[];
  profileExtension?: Buffer;
}

export interface SdesItem {
  /** 1..255, see SdesType (CNAME = 1 ... PRIV = 8). */
  type: number;
  /** UTF-8 text, at most 255 bytes (for PRIV, prefix and text together at most 254). */
  text: string;
  /** PRIV (type 8) only: the prefix string (§6.5.8). */
  prefix?: string;
}

export interface SdesChunk {
  ssrc: number;
  items: SdesItem[];
}

export interface SourceDescription extends RtcpCommon {
  type: 'sdes';
  chunks: SdesChunk[];
}

export interface Goodbye extends RtcpCommon {
  type: 'bye';
  ssrcs: number[];
  /** UTF-8 reason for leaving, at most 255 bytes. */
  reason?: string;
}

export interface AppPacket extends RtcpCommon {
  type: 'app';
  /** 5 bits. */
  subtype: number;
  ssrc: number;
  /** Exactly 4 ASCII characters. */
  name: string;
  /** Application data, a multiple of 4 bytes (zero-copy view when parsed). */
  data: Buffer;
}

/** Any other packet type, kept as it came so it can be forwarded or decoded elsewhere. */
export interface UnknownRtcp extends RtcpCommon {
  type: 'unknown';
  /** Packet type octet (e.g. 205 RTPFB, 206 PSFB, 207 XR). */
  packetType: number;
  /** The 5-bit count field (RC/SC/FMT depending on the type). */
  count: number;
  /** Everything after the 4-byte header, without padding; a multiple of 4 bytes (zero-copy view). */
  body: Buffer;
}

export type RtcpPacket =
  SenderReport | ReceiverReport | SourceDescription | Goodbye | AppPacket | UnknownRtcp;

/**
 * RFC 5761 §4 demultiplexing: RTCP packet types 192..223 occupy the second octet where RTP has
 * marker + payload type, so an RTP packet never looks like one if RTP payload types avoid 64..95.
 * Also checks the version, which cheaply rejects interleaved garbage.
 */
export function isRtcpPacket(buf: Uint8Array): boolean {
  if (buf.length < RTCP_HEADER_BYTES) return false;
  const pt = buf[1]!;
  return buf[0]! >> 6 === 2 && pt >= 192 && pt <= 223;
}

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Parses a compound RTCP packet (or a single packet). Sub-buffers in the result are views into
 * `buf`. Throws only ParseError: RTCP_TOO_SHORT, RTCP_BAD_VERSION, RTCP_BAD_LENGTH,
 * RTCP_BAD_PADDING, RTCP_BAD_SR, RTCP_BAD_RR, RTCP_BAD_SDES, RTCP_BAD_BYE, RTCP_BAD_APP.
 */
export function parseRtcpCompound(buf: Buffer): RtcpPacket[] {
  if (buf.length < RTCP_HEADER_BYTES) {
    throw new ParseError('RTCP_TOO_SHORT', `RTCP packet of ${buf.length} bytes is shorter than its header`);
  }
  const packets: RtcpPacket[] = [];
  let offset = 0;
  while (offset < buf.length) {
    if (buf.length - offset < RTCP_HEADER_BYTES) {
      throw new ParseError(
        'RTCP_BAD_LENGTH',
        `${buf.length - offset} trailing bytes after the last RTCP packet`,
      );
    }
    const b0 = buf[offset]!;
    const version = b0 >> 6;
    if (version !== 2) throw new ParseError('RTCP_BAD_VERSION', `RTCP version ${version}, expected 2`);
    const size = (buf.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + size > buf.length) {
      throw new ParseError(
        'RTCP_BAD_LENGTH',
        `RTCP packet of ${size} bytes overruns the ${buf.length - offset} bytes left`,
      );
    }
    packets.push(parseOne(buf.subarray(offset, offset + size)));
    offset += size;
  }
  return packets;
}

/** Parses one RTCP packet whose length field matches `pkt.length` exactly. */
function parseOne(pkt: Buffer): RtcpPacket {
  const b0 = pkt[0]!;
  const count = b0 & 0x1f;
  const packetType = pkt[1]!;
  let paddingLength = 0;
  if ((b0 & 0x20) !== 0) {
    paddingLength = pkt[pkt.length - 1]!;
    if (paddingLength === 0 || paddingLength > pkt.length - RTCP_HEADER_BYTES) {
      throw new ParseError('RTCP_BAD_PADDING', `RTCP padding count ${paddingLength} invalid`);
    }
  }
  const body = pkt.subarray(RTCP_HEADER_BYTES, pkt.length - paddingLength);
  const packet = parseBody(packetType, count, body);
  if (paddingLength > 0) packet.paddingLength = paddingLength;
  return packet;
}

function parseBody(packetType: number, count: number, body: Buffer): RtcpPacket {
  switch (packetType) {
    case RTCP_SR:
      return parseSenderReport(count, body);
    case RTCP_RR:
      return parseReceiverReport(count, body);
    case RTCP_SDES:
      return parseSdes(count, body);
    case RTCP_BYE:
      return parseBye(count, body);
    case RTCP_APP:
      return parseApp(count, body);
    default:
      return { type: 'unknown', packetType, count, body };
  }
}

function parseReportBlocks(body: Buffer, offset: number, count: number): ReportBlock[] {
  const reports: ReportBlock[] = [];
  for (let i = 0; i < count; i++, offset += RTCP_REPORT_BLOCK_BYTES) {
    const lostWord = body.readUInt32BE(offset + 4);
    reports.push({
      ssrc: body.readUInt32BE(offset),
      fractionLost: lostWord >>> 24,
      // Sign-extend the 24-bit field.
      cumulativeLost: (lostWord << 8) >> 8,
      highestSeq: body.readUInt32BE(offset + 8),
      jitter: body.readUInt32BE(offset + 12),
      lsr: body.readUInt32BE(offset + 16),
      dlsr: body.readUInt32BE(offset + 20),
    });
  }
  return reports;
}

const SENDER_INFO_BYTES = 20;

function parseSenderReport(count: number, body: Buffer): SenderReport {
  const blocksAt = 4 + SENDER_INFO_BYTES;
  const need = blocksAt + count * RTCP_REPORT_BLOCK_BYTES;
  if (body.length < need) {
    throw new ParseError(
      'RTCP_BAD_SR',
      `SR with ${count} report blocks needs ${need} bytes, has ${body.length}`,
    );
  }
  const sr: SenderReport = {
    type: 'sr',
    ssrc: body.readUInt32BE(0),
    ntp: { seconds: body.readUInt32BE(4), fraction: body.readUInt32BE(8) },
    rtpTimestamp: body.readUInt32BE(12),
    packetCount: body.readUInt32BE(16),
    octetCount: body.readUInt32BE(20),
    reports: parseReportBlocks(body, blocksAt, count),
  };
  if (body.length > need) sr.profileExtension = body.subarray(need);
  return sr;
}

function parseReceiverReport(count: number, body: Buffer): ReceiverReport {
  const need = 4 + count * RTCP_REPORT_BLOCK_BYTES;
  if (body.length < need) {
    throw new ParseError(
      'RTCP_BAD_RR',
      `RR with ${count} report blocks needs ${need} bytes, has ${body.length}`,
    );
  }
  const rr: ReceiverReport = {
    type: 'rr',
    ssrc: body.readUInt32BE(0),
    reports: parseReportBlocks(body, 4, count),
  };
  if (body.length > need) rr.profileExtension = body.subarray(need);
  return rr;
}

/**
 * §6.5: SC chunks, each an SSRC followed by items and terminated by at least one null octet, then
 * padded to a 32-bit boundary. A chunk that runs into the end of the packet without its null
 * terminator is accepted (seen in the wild); anything overrunning the packet is rejected.
 */
function parseSdes(count: number, body: Buffer): SourceDescription {
  const chunks: SdesChunk[] = [];
  let offset = 0;
  for (let c = 0; c < count; c++) {
    if (offset + 4 > body.length) {
      throw new ParseError('RTCP_BAD_SDES', `SDES chunk ${c + 1} of ${count} truncated`);
    }
    const ssrc = body.readUInt32BE(offset);
    offset += 4;
    const items: SdesItem[] = [];
    while (offset < body.length) {
      const type = body[offset]!;
      if (type === SdesType.END) {
        // Skip the null terminator and the padding up to the next 32-bit boundary.
        offset = Math.min(body.length, (offset + 4) & ~3);
        break;
      }
      if (offset + 2 > body.length) throw new ParseError('RTCP_BAD_SDES', 'SDES item header truncated');
      const len = body[offset + 1]!;
      const start = offset + 2;
      const end = start + len;
      if (end > body.length) throw new ParseError('RTCP_BAD_SDES', `SDES item of ${len} bytes overruns`);
      if (type === SdesType.PRIV) {
        const prefixLen = len > 0 ? body[start]! : 0;
        if (len === 0 || 1 + prefixLen > len) {
          throw new ParseError('RTCP_BAD_SDES', `SDES PRIV prefix of ${prefixLen} bytes overruns its item`);
        }
        items.push({
          type,
          prefix: body.toString('utf8', start + 1, start + 1 + prefixLen),
          text: body.toString('utf8', start + 1 + prefixLen, end),
        });
      } else {
        items.push({ type, text: body.toString('utf8', start, end) });
      }
      offset = end;
    }
    chunks.push({ ssrc, items });
  }
  return { type: 'sdes', chunks };
}

function parseBye(count: number, body: Buffer): Goodbye {
  if (body.length < count * 4) {
    throw new ParseError(
      'RTCP_BAD_BYE',
      `BYE with ${count} SSRCs needs ${count * 4} bytes, has ${body.length}`,
    );
  }
  const ssrcs: number[] = [];
  for (let i = 0; i < count; i++) ssrcs.push(body.readUInt32BE(i * 4));
  const bye: Goodbye = { type: 'bye', ssrcs };
  const at = count * 4;
  if (body.length > at) {
    const len = body[at]!;
    if (at + 1 + len > body.length)
      throw new ParseError('RTCP_BAD_BYE', `BYE reason of ${len} bytes overruns`);
    bye.reason = body.toString('utf8', at + 1, at + 1 + len);
  }
  return bye;
}

function parseApp(subtype: number, body: Buffer): AppPacket {
  if (body.length < 8)
    throw new ParseError('RTCP_BAD_APP', `APP packet body of ${body.length} bytes, needs 8`);
  return {
    type: 'app',
    subtype,
    ssrc: body.readUInt32BE(0),
    name: body.toString('latin1', 4, 8),
    data: body.subarray(8),
  };
}

// ---------------------------------------------------------------------------------------------
// Serialization. Invalid values are programming errors and throw RangeError.

/** Serializes packets back to back into one compound packet. */
export function serializeRtcpCompound(packets: readonly RtcpPacket[]): Buffer {
  return Buffer.concat(packets.map(serializeRtcpPacket));
}

/** Serializes a single RTCP packet (header, body, padding). */
export function serializeRtcpPacket(p: RtcpPacket): Buffer {
  let count: number;
  let packetType: number;
  let body: Buffer;
  switch (p.type) {
    case 'sr': {
      count = checkCount(p.reports.length, 'report blocks');
      packetType = RTCP_SR;
      const ext = checkAligned(p.profileExtension, 'profileExtension');
      body = Buffer.alloc(4 + SENDER_INFO_BYTES + count * RTCP_REPORT_BLOCK_BYTES + ext.length);
      body.writeUInt32BE(checkU32(p.ssrc, 'ssrc'), 0);
      body.writeUInt32BE(checkU32(p.ntp.seconds, 'ntp.seconds'), 4);
      body.writeUInt32BE(checkU32(p.ntp.fraction, 'ntp.fraction'), 8);
      body.writeUInt32BE(checkU32(p.rtpTimestamp, 'rtpTimestamp'), 12);
      body.writeUInt32BE(checkU32(p.packetCount, 'packetCount'), 16);
      body.writeUInt32BE(checkU32(p.octetCount, 'octetCount'), 20);
      writeReportBlocks(body, 24, p.reports);
      ext.copy(body, 24 + count * RTCP_REPORT_BLOCK_BYTES);
      break;
    }
    case 'rr': {
      count = checkCount(p.reports.length, 'report blocks');
      packetType = RTCP_RR;
      const ext = checkAligned(p.profileExtension, 'profileExtension');
      body = Buffer.alloc(4 + count * RTCP_REPORT_BLOCK_BYTES + ext.length);
      body.writeUInt32BE(checkU32(p.ssrc, 'ssrc'), 0);
      writeReportBlocks(body, 4, p.reports);
      ext.copy(body, 4 + count * RTCP_REPORT_BLOCK_BYTES);
      break;
    }
    case 'sdes':
      count = checkCount(p.chunks.length, 'SDES chunks');
      packetType = RTCP_SDES;
      body = serializeSdesChunks(p.chunks);
      break;
    case 'bye': {
      count = checkCount(p.ssrcs.length, 'BYE SSRCs');
      packetType = RTCP_BYE;
      const reason = p.reason === undefined ? undefined : Buffer.from(p.reason, 'utf8');
      if (reason && reason.length > 255)
        throw new RangeError(`BYE reason of ${reason.length} bytes, max 255`);
      const size = count * 4 + (reason ? 1 + reason.length : 0);
      const bye = Buffer.alloc(Math.ceil(size / 4) * 4);
      p.ssrcs.forEach((s, i) => bye.writeUInt32BE(checkU32(s, 'ssrc'), i * 4));
      if (reason) {
        bye[count * 4] = reason.length;
        reason.copy(bye, count * 4 + 1);
      }
      body = bye;
      break;
    }
    case 'app': {
      if (!Number.isInteger(p.subtype) || p.subtype < 0 || p.subtype > RTCP_MAX_COUNT) {
        throw new RangeError(`APP subtype ${p.subtype} is not in 0..31`);
      }
      // §6.7 asks for ASCII; any 4 latin1 characters are accepted so parsed packets re-serialize.
      if (p.name.length !== 4 || Buffer.from(p.name, 'latin1').toString('latin1') !== p.name) {
        throw new RangeError(`APP name ${JSON.stringify(p.name)} is not 4 characters`);
      }
      count = p.subtype;
      packetType = RTCP_APP;
      const data = checkAligned(p.data, 'APP data');
      body = Buffer.alloc(8 + data.length);
      body.writeUInt32BE(checkU32(p.ssrc, 'ssrc'), 0);
      body.write(p.name, 4, 'latin1');
      data.copy(body, 8);
      break;
    }
    case 'unknown':
      count = checkCount(p.count, 'count');
      if (!Number.isInteger(p.packetType) || p.packetType < 0 || p.packetType > 255) {
        throw new RangeError(`packet type ${p.packetType} is not an octet`);
      }
      packetType = p.packetType;
      body = checkAligned(p.body, 'body');
      break;
  }

  const paddingLength = p.paddingLength ?? 0;
  if (
    !Number.isInteger(paddingLength) ||
    paddingLength < 0 ||
    paddingLength > 255 ||
    paddingLength % 4 !== 0
  ) {
    // The length field counts 32-bit words, so RTCP padding keeps the packet aligned.
    throw new RangeError(`RTCP paddingLength ${paddingLength} must be a multiple of 4 in 0..252`);
  }
  const size = RTCP_HEADER_BYTES + body.length + paddingLength;
  if (size / 4 - 1 > 0xffff) throw new RangeError(`RTCP packet of ${size} bytes is too long`);
  const out = Buffer.allocUnsafe(size);
  out[0] = 0x80 | (paddingLength > 0 ? 0x20 : 0) | count;
  out[1] = packetType;
  out.writeUInt16BE(size / 4 - 1, 2);
  body.copy(out, RTCP_HEADER_BYTES);
  if (paddingLength > 0) {
    out.fill(0, RTCP_HEADER_BYTES + body.length, size - 1);
    out[size - 1] = paddingLength;
  }
  return out;
}

function writeReportBlocks(body: Buffer, offset: number, reports: readonly ReportBlock[]): void {
  for (const r of reports) {
    if (!Number.isInteger(r.fractionLost) || r.fractionLost < 0 || r.fractionLost > 255) {
      throw new RangeError(`fractionLost ${r.fractionLost} is not in 0..255`);
    }
    if (!Number.isInteger(r.cumulativeLost) || r.cumulativeLost < -0x800000 || r.cumulativeLost > 0x7fffff) {
      throw new RangeError(`cumulativeLost ${r.cumulativeLost} does not fit 24 signed bits`);
    }
    body.writeUInt32BE(checkU32(r.ssrc, 'report ssrc'), offset);
    body.writeUInt32BE(((r.fractionLost << 24) | (r.cumulativeLost & 0xffffff)) >>> 0, offset + 4);
    body.writeUInt32BE(checkU32(r.highestSeq, 'highestSeq'), offset + 8);
    body.writeUInt32BE(checkU32(r.jitter, 'jitter'), offset + 12);
    body.writeUInt32BE(checkU32(r.lsr, 'lsr'), offset + 16);
    body.writeUInt32BE(checkU32(r.dlsr, 'dlsr'), offset + 20);
    offset += RTCP_REPORT_BLOCK_BYTES;
  }
}

function serializeSdesChunks(chunks: readonly SdesChunk[]): Buffer {
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    const items: Buffer[] = [];
    for (const item of chunk.items) {
      if (!Number.isInteger(item.type) || item.type < 1 || item.type > 255) {
        throw new RangeError(`SDES item type ${item.type} is not in 1..255`);
      }
      let content: Buffer;
      if (item.type === SdesType.PRIV) {
        const prefix = Buffer.from(item.prefix ?? '', 'utf8');
        if (prefix.length > 254) throw new RangeError(`SDES PRIV prefix of ${prefix.length} bytes`);
        content = Buffer.concat([Buffer.of(prefix.length), prefix, Buffer.from(item.text, 'utf8')]);
      } else {
        if (item.prefix !== undefined) throw new RangeError('only SDES PRIV items have a prefix');
        content = Buffer.from(item.text, 'utf8');
      }
      if (content.length > 255) throw new RangeError(`SDES item of ${content.length} bytes, max 255`);
      items.push(Buffer.of(item.type, content.length), content);
    }
    const itemsLength = items.reduce((n, b) => n + b.length, 0);
    // SSRC + items + at least one null octet, padded to 32 bits.
    const size = Math.ceil((4 + itemsLength + 1) / 4) * 4;
    const out = Buffer.alloc(size);
    out.writeUInt32BE(checkU32(chunk.ssrc, 'ssrc'), 0);
    let offset = 4;
    for (const b of items) {
      b.copy(out, offset);
      offset += b.length;
    }
    parts.push(out);
  }
  return Buffer.concat(parts);
}

function checkCount(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > RTCP_MAX_COUNT) throw new RangeError(`${n} ${what}, at most 31`);
  return n;
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what} ${v} is not a uint32`);
  return v;
}

function checkAligned(b: Buffer | undefined, what: string): Buffer {
  if (b === undefined) return Buffer.alloc(0);
  if (b.length % 4 !== 0) throw new RangeError(`${what} of ${b.length} bytes is not a multiple of 4`);
  return b;
}
