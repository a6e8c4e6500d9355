/**
 * RTP data packets, RFC 3550 §5.1 (fixed header), §5.3.1 (header extension) and
 * RFC 8285 (one-byte / two-byte extension elements).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *   |                           timestamp                           |
 *   |           synchronization source (SSRC) identifier            |
 *   |            contributing source (CSRC) identifiers (CC)        |
 *   |  [profile-defined 16 bits    |   length in 32-bit words ]     |
 *   |  [header extension data ...]                                  |
 *   |  payload ...  [padding ... | padding count]                   |
 */
import { randomUint16, randomUint32 } from '../base/random-pool.js';
import { ParseError } from '../base/errors.js';

export const RTP_VERSION = 2;
export const RTP_HEADER_BYTES = 12;
/** CC is a 4-bit field. */
export const RTP_MAX_CSRCS = 15;

export interface RtpHeaderExtension {
  /** The 16 "defined by profile" bits: 0xBEDE for RFC 8285 one-byte elements, 0x100X for two-byte. */
  profile: number;
  /** Extension body, a multiple of 4 bytes (the length field counts 32-bit words). */
  data: Buffer;
}

export interface RtpPacket {
  /** Always 2 when parsed; optional when building a packet. */
  version?: 2;
  /** The P bit as read. When serializing, the P bit follows `paddingLength` instead. */
  padding?: boolean;
  marker: boolean;
  /** 7 bits. */
  payloadType: number;
  /** 16 bits. */
  sequenceNumber: number;
  /** 32 bits, in the clock rate of the payload format. */
  timestamp: number;
  /** 32 bits. */
  ssrc: number;
  /** Up to 15 contributing sources. */
  csrcs: number[];
  extension?: RtpHeaderExtension;
  /** When parsed, a zero-copy view into the input buffer: copy it to keep it past the buffer's reuse. */
  payload: Buffer;
  /** Padding octets at the end of the packet including the final count octet (1..255); present iff P=1. */
  paddingLength?: number;
}

/**
 * Parses one RTP packet. `payload` and `extension.data` are subarrays of `buf` (no copy).
 * Throws ParseError: RTP_TOO_SHORT, RTP_BAD_VERSION, RTP_BAD_EXTENSION, RTP_BAD_PADDING.
 */
export function parseRtpPacket(buf: Buffer): RtpPacket {
  if (buf.length < RTP_HEADER_BYTES) {
    throw new ParseError(
      'RTP_TOO_SHORT',
      `RTP packet of ${buf.length} bytes is shorter than the 12-byte header`,
    );
  }
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const version = b0 >> 6;
  if (version !== RTP_VERSION) throw new ParseError('RTP_BAD_VERSION', `RTP version ${version}, expected 2`);
  const hasPadding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;

  let offset = RTP_HEADER_BYTES;
  if (buf.length < offset + csrcCount * 4) {
    throw new ParseError('RTP_TOO_SHORT', `RTP packet too short for ${csrcCount} CSRCs`);
  }
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++, offset += 4) csrcs.push(buf.readUInt32BE(offset));

  let extension: RtpHeaderExtension | undefined;
  if (hasExtension) {
    if (buf.length < offset + 4) throw new ParseError('RTP_BAD_EXTENSION', 'RTP header extension truncated');
    const profile = buf.readUInt16BE(offset);
    const words = buf.readUInt16BE(offset + 2);
    const start = offset + 4;
    const end = start + words * 4;
    if (end > buf.length) {
      throw new ParseError('RTP_BAD_EXTENSION', `RTP header extension of ${words} words overruns the packet`);
    }
    extension = { profile, data: buf.subarray(start, end) };
    offset = end;
  }

  let end = buf.length;
  let paddingLength = 0;
  if (hasPadding) {
    // §5.1: the last octet counts the padding octets, itself included, so 0 is invalid.
    paddingLength = buf[buf.length - 1]!;
    if (paddingLength === 0 || paddingLength > buf.length - offset) {
      throw new ParseError(
        'RTP_BAD_PADDING',
        `RTP padding count ${paddingLength} invalid for ${buf.length - offset} bytes after the header`,
      );
    }
    end -= paddingLength;
  }

  const packet: RtpPacket = {
    version: 2,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: (buf[2]! << 8) | buf[3]!,
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    csrcs,
    payload: buf.subarray(offset, end),
  };
  if (extension) packet.extension = extension;
  if (hasPadding) {
    packet.padding = true;
    packet.paddingLength = paddingLength;
  }
  return packet;
}

/** Header size (fixed header + CSRCs + extension) of a packet about to be serialized. */
export function rtpHeaderLength(p: Pick<RtpPacket, 'csrcs' | 'extension'>): number {
  return RTP_HEADER_BYTES + p.csrcs.length * 4 + (p.extension ? 4 + p.extension.data.length : 0);
}

/**
 * Serializes a packet into a new Buffer. Out-of-range fields are programming errors and throw
 * RangeError (not ParseError). Padding octets are zeros followed by the count octet.
 */
export function serializeRtpPacket(p: RtpPacket): Buffer {
  checkUint(p.payloadType, 0x7f, 'payloadType');
  checkUint(p.sequenceNumber, 0xffff, 'sequenceNumber');
  checkUint(p.timestamp, 0xffffffff, 'timestamp');
  checkUint(p.ssrc, 0xffffffff, 'ssrc');
  if (p.csrcs.length > RTP_MAX_CSRCS) throw new RangeError(`${p.csrcs.length} CSRCs, at most 15`);
  for (const c of p.csrcs) checkUint(c, 0xffffffff, 'csrc');
  const paddingLength = p.paddingLength ?? 0;
  checkUint(paddingLength, 0xff, 'paddingLength');
  if (p.padding === true && paddingLength === 0) {
    throw new RangeError('padding is set but paddingLength is 0 (it counts the count octet, so >= 1)');
  }
  const ext = p.extension;
  if (ext) {
    checkUint(ext.profile, 0xffff, 'extension.profile');
    if (ext.data.length % 4 !== 0 || ext.data.length > 0xffff * 4) {
      throw new RangeError(`extension data of ${ext.data.length} bytes is not a multiple of 4 up to 262140`);
    }
  }

  const headerLength = rtpHeaderLength(p);
  const out = Buffer.allocUnsafe(headerLength + p.payload.length + paddingLength);
  out[0] = (RTP_VERSION << 6) | (paddingLength > 0 ? 0x20 : 0) | (ext ? 0x10 : 0) | p.csrcs.length;
  out[1] = (p.marker ? 0x80 : 0) | p.payloadType;
  out.writeUInt16BE(p.sequenceNumber, 2);
  out.writeUInt32BE(p.timestamp, 4);
  out.writeUInt32BE(p.ssrc, 8);
  let offset = RTP_HEADER_BYTES;
  for (const c of p.csrcs) {
    out.writeUInt32BE(c, offset);
    offset += 4;
  }
  if (ext) {
    out.writeUInt16BE(ext.profile, offset);
    out.writeUInt16BE(ext.data.length / 4, offset + 2);
    ext.data.copy(out, offset + 4);
    offset += 4 + ext.data.length;
  }
  p.payload.copy(out, offset);
  offset += p.payload.length;
  if (paddingLength > 0) {
    out.fill(0, offset, offset + paddingLength - 1);
    out[offset + paddingLength - 1] = paddingLength;
  }
  return out;
}

function checkUint(value: number, max: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} ${value} is not an integer in 0..${max}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Hot-path accessors for the fan-out: they read or patch the fixed header without a full parse.
// They check only that the 12-byte fixed header is present.

function requireHeader(buf: Buffer): void {
  if (buf.length < RTP_HEADER_BYTES) {
    throw new ParseError(
      'RTP_TOO_SHORT',
      `RTP packet of ${buf.length} bytes is shorter than the 12-byte header`,
    );
  }
}

export function readRtpSequence(buf: Buffer): number {
  requireHeader(buf);
  return (buf[2]! << 8) | buf[3]!;
}

export function readRtpTimestamp(buf: Buffer): number {
  requireHeader(buf);
  return buf.readUInt32BE(4);
}

export function readRtpSsrc(buf: Buffer): number {
  requireHeader(buf);
  return buf.readUInt32BE(8);
}

export function readRtpMarker(buf: Buffer): boolean {
  requireHeader(buf);
  return (buf[1]! & 0x80) !== 0;
}

export function readRtpPayloadType(buf: Buffer): number {
  requireHeader(buf);
  return buf[1]! & 0x7f;
}

/**
 * The fixed header of a received packet (RFC 3550 §5.1) and where its payload lies: read once where the
 * packet enters the server, then handed to everything that looks at it (statistics, the stream's counters,
 * its queue, keyframe probes, readers' patches) instead of each reading the bytes again.
 */
export interface RtpHeader {
  /** The V field as sent: packets that are not version 2 are read but not forwarded. */
  version: number;
  marker: boolean;
  payloadType: number;
  /** Mutable: the stream shifts it when it inserts packets (media/parameter-sets.ts). */
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Where the payload starts: after the fixed header, CSRCs and extension (clamped to the packet). */
  payloadOffset: number;
  /** Payload octets before the padding, as readRtpPayloadLength counts them (0 when those do not fit). */
  payloadLength: number;
  /**
   * CSRCs, extension and padding fit the packet (parseRtpPacket would accept it). A malformed packet
   * is still forwarded, as before, but never taken for a keyframe.
   */
  wellFormed: boolean;
}

/**
 * Reads the fixed header and the payload bounds without copying or throwing; undefined for fewer than
 * 12 bytes. Bounds are clamped as readRtpPayload clamps them, and `wellFormed` tells whether
 * parseRtpPacket would accept the packet.
 */
export function readRtpHeader(buf: Buffer): RtpHeader | undefined {
  if (buf.length < RTP_HEADER_BYTES) return undefined;
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  let header = RTP_HEADER_BYTES + 4 * (b0 & 0x0f);
  let wellFormed = b0 >> 6 === RTP_VERSION && header <= buf.length;
  if ((b0 & 0x10) !== 0) {
    if (buf.length >= header + 4) header += 4 + 4 * buf.readUInt16BE(header + 2);
    else wellFormed = false;
    if (header > buf.length) wellFormed = false;
  }
  const padding = (b0 & 0x20) !== 0 ? buf[buf.length - 1]! : 0;
  if ((b0 & 0x20) !== 0 && (padding === 0 || padding > buf.length - header)) wellFormed = false;
  const start = Math.min(header, buf.length);
  return {
    version: b0 >> 6,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: (buf[2]! << 8) | buf[3]!,
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payloadOffset: start,
    payloadLength: Math.max(start, buf.length - padding) - start,
    wellFormed,
  };
}

/** The payload a header read from `buf` points to (a view, no copy). */
export function payloadOf(buf: Buffer, header: RtpHeader): Buffer {
  return buf.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength);
}

/**
 * Payload octets of a packet without parsing it (what an RTCP sender report counts, RFC 3550
 * §6.4.1): the length minus header, CSRCs, extension and padding; 0 when those do not fit.
 */
export function readRtpPayloadLength(buf: Buffer): number {
  const [start, end] = payloadBounds(buf);
  return end - start;
}

/** The payload of a packet without parsing it (a view into `buf`); empty when the header does not fit. */
export function readRtpPayload(buf: Buffer): Buffer {
  const [start, end] = payloadBounds(buf);
  return buf.subarray(start, end);
}

/** Where the payload starts and ends: after header, CSRCs and extension, before padding. */
function payloadBounds(buf: Buffer): [number, number] {
  requireHeader(buf);
  let header = RTP_HEADER_BYTES + 4 * (buf[0]! & 0x0f);
  if ((buf[0]! & 0x10) !== 0 && buf.length >= header + 4) header += 4 + 4 * buf.readUInt16BE(header + 2);
  const padding = (buf[0]! & 0x20) !== 0 ? buf[buf.length - 1]! : 0;
  const start = Math.min(header, buf.length);
  return [start, Math.max(start, buf.length - padding)];
}

/**
 * Overwrites sequence number, timestamp and SSRC in place (the rest of the packet is untouched).
 * Values are reduced modulo 2^16 / 2^32, so callers may pass running counters.
 */
export function rewriteRtpHeader(buf: Buffer, seq: number, timestamp: number, ssrc: number): void {
  requireHeader(buf);
  const s = seq & 0xffff;
  buf[2] = s >> 8;
  buf[3] = s & 0xff;
  buf.writeUInt32BE(timestamp >>> 0, 4);
  buf.writeUInt32BE(ssrc >>> 0, 8);
}

/** Overwrites the payload type in place, keeping the marker bit. */
export function rewriteRtpPayloadType(buf: Buffer, payloadType: number): void {
  requireHeader(buf);
  checkUint(payloadType, 0x7f, 'payloadType');
  buf[1] = (buf[1]! & 0x80) | payloadType;
}

// ---------------------------------------------------------------------------------------------
// Random initial values: RFC 3550 §5.1 asks for random initial sequence number and timestamp,
// §8.1 for a random SSRC. node:crypto is a CSPRNG, not I/O.

export function randomSsrc(): number {
  return randomUint32();
}

export function randomSequenceNumber(): number {
  return randomUint16();
}

export function randomRtpTimestamp(): number {
  return randomUint32();
}

/** An SSRC from caller-supplied random bytes (deterministic in tests). */
export function ssrcFromBytes(bytes: Uint8Array): number {
  if (bytes.length < 4) throw new RangeError('ssrcFromBytes needs 4 bytes');
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// RFC 8285 header extension elements.

/** `profile` value of the one-byte form (RFC 8285 §4.2). */
export const RTP_EXT_ONE_BYTE_PROFILE = 0xbede;
/** Two-byte form (§4.3): 0x100 in the upper 12 bits, 4 "appbits" in the lower 4. */
export const RTP_EXT_TWO_BYTE_PROFILE = 0x1000;

export interface RtpExtensionElement {
  /** Local identifier: 1..14 in the one-byte form, 1..255 in the two-byte form. */
  id: number;
  /** Zero-copy view into the extension data. */
  data: Buffer;
}

export function isOneByteExtension(profile: number): boolean {
  return profile === RTP_EXT_ONE_BYTE_PROFILE;
}

export function isTwoByteExtension(profile: number): boolean {
  return (profile & 0xfff0) === RTP_EXT_TWO_BYTE_PROFILE;
}

/**
 * Splits an RFC 8285 extension into elements; returns undefined for other profiles (plain
 * RFC 3550 extensions are opaque). Zero bytes between elements are padding. In the one-byte form
 * ID 15 stops processing (§4.2). Throws ParseError RTP_BAD_EXTENSION if an element overruns.
 */
export function parseRtpExtensionElements(ext: RtpHeaderExtension): RtpExtensionElement[] | undefined {
  const oneByte = isOneByteExtension(ext.profile);
  if (!oneByte && !isTwoByteExtension(ext.profile)) return undefined;
  const data = ext.data;
  const out: RtpExtensionElement[] = [];
  let i = 0;
  while (i < data.length) {
    const b = data[i]!;
    if (b === 0) {
      i++;
      continue;
    }
    let id: number;
    let len: number;
    if (oneByte) {
      id = b >> 4;
      if (id === 15) break;
      // ID 0 with a non-zero length is not valid padding; stop rather than guess.
      if (id === 0) break;
      len = (b & 0x0f) + 1;
      i += 1;
    } else {
      if (i + 1 >= data.length)
        throw new ParseError('RTP_BAD_EXTENSION', 'two-byte extension element truncated');
      id = b;
      len = data[i + 1]!;
      i += 2;
    }
    if (i + len > data.length) {
      throw new ParseError(
        'RTP_BAD_EXTENSION',
        `extension element ${id} of ${len} bytes overruns the extension`,
      );
    }
    out.push({ id, data: data.subarray(i, i + len) });
    i += len;
  }
  return out;
}

/**
 * Builds an RFC 8285 extension. The one-byte form is used when every element fits it (ID 1..14,
 * 1..16 bytes), unless `form` says otherwise. Throws RangeError for elements that fit neither.
 */
export function serializeRtpExtensionElements(
  elements: readonly RtpExtensionElement[],
  form?: 'one-byte' | 'two-byte',
): RtpHeaderExtension {
  const fitsOne = elements.every((e) => e.id >= 1 && e.id <= 14 && e.data.length >= 1 && e.data.length <= 16);
  const oneByte = form === undefined ? fitsOne : form === 'one-byte';
  if (oneByte && !fitsOne)
    throw new RangeError('element does not fit the one-byte form (ID 1..14, 1..16 bytes)');
  for (const e of elements) {
    if (!Number.isInteger(e.id) || e.id < 1 || e.id > 255 || e.data.length > 255) {
      throw new RangeError(`extension element ${e.id} of ${e.data.length} bytes is invalid`);
    }
  }
  const perElement = oneByte ? 1 : 2;
  const raw = elements.reduce((n, e) => n + perElement + e.data.length, 0);
  const data = Buffer.alloc(Math.ceil(raw / 4) * 4);
  let i = 0;
  for (const e of elements) {
    if (oneByte) {
      data[i++] = (e.id << 4) | (e.data.length - 1);
    } else {
      data[i++] = e.id;
      data[i++] = e.data.length;
    }
    e.data.copy(data, i);
    i += e.data.length;
  }
  return { profile: oneByte ? RTP_EXT_ONE_BYTE_PROFILE : RTP_EXT_TWO_BYTE_PROFILE, data };
}
