/**
 * NAL unit framing shared by H.264 and H.265: Annex-B byte streams (ITU-T H.264 Annex B,
 * H.265 Annex B), length-prefixed streams (ISO/IEC 14496-15 "AVCC"/"HVCC" sample format),
 * and emulation prevention (H.264 §7.4.1, H.265 §7.4.2).
 *
 * NAL units are always handled WITHOUT start codes or length prefixes.
 */
import { ParseError } from '../base/errors.js';

const START_CODE = Buffer.from([0, 0, 0, 1]);

/**
 * Splits an Annex-B byte stream at 3- and 4-byte start codes. Returned buffers are views into
 * `data` (no copy). Trailing zero bytes of each NAL unit (trailing_zero_8bits, or the leading zero
 * of the next 4-byte start code) are dropped, empty NAL units are skipped. Bytes before the first
 * start code are returned as a NAL unit: a buffer with no start code at all is one NAL unit, which
 * keeps callers lenient toward inputs that mix both conventions (e.g. sprop-parameter-sets).
 */
export function splitAnnexB(data: Uint8Array): Buffer[] {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: Buffer[] = [];
  let nalStart = 0;
  let i = 0;
  const n = buf.length;
  const push = (end: number): void => {
    let e = end;
    while (e > nalStart && buf[e - 1] === 0) e--;
    if (e > nalStart) out.push(buf.subarray(nalStart, e));
  };
  while (i + 2 < n) {
    // Fast skip: a start code needs buf[i+2] to be 0 or 1.
    const b2 = buf[i + 2]!;
    if (b2 > 1) {
      i += 3;
      continue;
    }
    if (buf[i] === 0 && buf[i + 1] === 0 && b2 === 1) {
      push(i);
      i += 3;
      nalStart = i;
      continue;
    }
    i++;
  }
  push(n);
  return out;
}

/** Joins NAL units into an Annex-B stream with 4-byte start codes. */
export function joinAnnexB(nalus: readonly Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [];
  for (const nal of nalus) parts.push(START_CODE, nal);
  return Buffer.concat(parts);
}

/**
 * Splits a length-prefixed sample (AVCC/HVCC) into NAL units (views, no copy).
 * Throws ParseError('NAL_BAD_LENGTH') when a length runs past the end.
 */
export function splitLengthPrefixed(data: Uint8Array, lengthSize: 1 | 2 | 3 | 4 = 4): Buffer[] {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + lengthSize > buf.length) throw new ParseError('NAL_BAD_LENGTH', 'truncated NAL length prefix');
    const len = buf.readUIntBE(pos, lengthSize);
    pos += lengthSize;
    if (pos + len > buf.length)
      throw new ParseError('NAL_BAD_LENGTH', `NAL length ${len} exceeds remaining ${buf.length - pos} bytes`);
    if (len > 0) out.push(buf.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

/** Joins NAL units with big-endian length prefixes of `lengthSize` bytes. */
export function joinLengthPrefixed(nalus: readonly Uint8Array[], lengthSize: 1 | 2 | 3 | 4 = 4): Buffer {
  let total = 0;
  for (const nal of nalus) total += lengthSize + nal.length;
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const nal of nalus) {
    if (nal.length >= 2 ** (8 * lengthSize))
      throw new RangeError(`NAL of ${nal.length} bytes does not fit a ${lengthSize}-byte length`);
    out.writeUIntBE(nal.length, pos, lengthSize);
    pos += lengthSize;
    out.set(nal, pos);
    pos += nal.length;
  }
  return out;
}

/** Removes emulation prevention bytes (00 00 03 -> 00 00), giving the RBSP. */
export function nalToRbsp(nal: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(nal.length);
  let o = 0;
  let zeros = 0;
  for (let i = 0; i < nal.length; i++) {
    const b = nal[i]!;
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[o++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, o);
}

/** Inserts emulation prevention bytes so that no 00 00 0x (x <= 3) appears in the NAL payload. */
export function rbspToNal(rbsp: Uint8Array): Buffer {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

/**
 * Decodes a comma-separated list of base64 parameter sets (sprop-parameter-sets, sprop-vps, ...).
 * Tolerates what cameras send: Annex-B start codes inside the base64 (several NAL units in one
 * element), whitespace, and empty elements. Throws ParseError('NAL_BAD_SPROP') on invalid base64.
 */
export function parseSpropList(value: string): Buffer[] {
  const out: Buffer[] = [];
  for (const raw of value.split(',')) {
    const b64 = raw.replace(/\s+/g, '');
    if (b64 === '') continue;
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64))
      throw new ParseError('NAL_BAD_SPROP', `invalid base64 in parameter sets: ${raw.slice(0, 40)}`);
    const bytes = Buffer.from(b64, 'base64');
    out.push(...splitAnnexB(bytes).map((b) => Buffer.from(b)));
  }
  return out;
}

/** Encodes parameter sets as a comma-separated base64 list, without start codes. */
export function formatSpropList(nalus: readonly Uint8Array[]): string {
  return nalus.map((n) => Buffer.from(n.buffer, n.byteOffset, n.byteLength).toString('base64')).join(',');
}
