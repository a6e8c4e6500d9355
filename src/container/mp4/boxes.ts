import { ParseError } from '../../base/errors.js';

/**
 * In-memory ISO-BMFF box walking (ISO/IEC 14496-12 §4.2). Used on the `moov` box once it has been read
 * whole; `mdat` is never loaded. Every read is bounds-checked against the enclosing box, so a
 * malformed box throws ParseError('MP4_BAD_BOX') and never reads a neighbour's bytes.
 */

export interface BoxHeader {
  readonly type: string;
  /** Offset of the box's first byte in the buffer. */
  readonly start: number;
  /** Offset of the payload (after size, type, largesize and the `uuid` user type). */
  readonly payload: number;
  /** Offset one past the box's last byte. */
  readonly end: number;
}

export function fourcc(buf: Uint8Array, at: number): string {
  return String.fromCharCode(buf[at]!, buf[at + 1]!, buf[at + 2]!, buf[at + 3]!);
}

/** Reads the header of the box at `at`, which must end by `limit` (the parent's end). */
export function readBoxHeader(buf: Buffer, at: number, limit: number): BoxHeader {
  if (limit - at < 8) throw new ParseError('MP4_BAD_BOX', `box header at ${at} overruns its parent`);
  const size32 = buf.readUInt32BE(at);
  const type = fourcc(buf, at + 4);
  let headerSize = 8;
  let size: number;
  if (size32 === 1) {
    if (limit - at < 16)
      throw new ParseError('MP4_BAD_BOX', `'${type}' largesize at ${at} overruns its parent`);
    size = readU64(buf, at + 8, type);
    headerSize = 16;
  } else if (size32 === 0) {
    size = limit - at; // "box extends to the end of the enclosing container"
  } else {
    size = size32;
  }
  if (type === 'uuid') headerSize += 16;
  if (size < headerSize) throw new ParseError('MP4_BAD_BOX', `'${type}' at ${at} has size ${size}`);
  if (size > limit - at)
    throw new ParseError(
      'MP4_BAD_BOX',
      `'${type}' at ${at} (size ${size}) overruns its parent (ends at ${limit})`,
    );
  return { type, start: at, payload: at + headerSize, end: at + size };
}

/** The child boxes in [from, to). */
export function childBoxes(buf: Buffer, from: number, to: number): BoxHeader[] {
  const out: BoxHeader[] = [];
  let at = from;
  while (at < to) {
    // A few trailing zero bytes (< a box header) are tolerated, as in QuickTime's 32-bit terminator.
    if (to - at < 8) break;
    const h = readBoxHeader(buf, at, to);
    out.push(h);
    at = h.end;
  }
  return out;
}

export function findBox(boxes: readonly BoxHeader[], type: string): BoxHeader | undefined {
  return boxes.find((b) => b.type === type);
}

/** The first child of `parent` with the given type, or throws MP4_BAD_BOX naming `context`. */
export function requireBox(boxes: readonly BoxHeader[], type: string, context: string): BoxHeader {
  const b = findBox(boxes, type);
  if (!b) throw new ParseError('MP4_BAD_BOX', `${context}: missing '${type}' box`);
  return b;
}

function readU64(buf: Buffer, at: number, what: string): number {
  const hi = buf.readUInt32BE(at);
  const lo = buf.readUInt32BE(at + 4);
  if (hi > 0x1fffff) throw new ParseError('MP4_UNSUPPORTED', `${what}: 64-bit value beyond 2^53`);
  return hi * 0x100000000 + lo;
}

/** Bounds-checked big-endian reader over one box (or any byte range) of a buffer. */
export class Cursor {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    readonly what: string,
  ) {
    this.pos = start;
  }

  static ofBox(buf: Buffer, box: BoxHeader): Cursor {
    return new Cursor(buf, box.payload, box.end, `'${box.type}'`);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number): void {
    if (n > this.end - this.pos)
      throw new ParseError(
        'MP4_BAD_BOX',
        `${this.what}: needs ${n} more bytes at ${this.pos}, has ${this.remaining}`,
      );
  }

  /** Throws unless `count` entries of `entrySize` bytes fit; the check that keeps allocations bounded. */
  needEntries(count: number, entrySize: number): void {
    if (count * entrySize > this.remaining)
      throw new ParseError(
        'MP4_BAD_BOX',
        `${this.what}: ${count} entries of ${entrySize} bytes do not fit in ${this.remaining} bytes`,
      );
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  i16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = readU64(this.buf, this.pos, this.what);
    this.pos += 8;
    return v;
  }

  /** Unsigned 64-bit, or -1 when beyond 2^53 (e.g. the all-ones "unknown duration"). */
  u64OrUnknown(): number {
    this.need(8);
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi > 0x1fffff ? -1 : hi * 0x100000000 + lo;
  }

  /** Signed 64-bit; values outside ±2^53 throw MP4_UNSUPPORTED. */
  i64(): number {
    this.need(8);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    if (hi > 0x1fffff || hi < -0x200000)
      throw new ParseError('MP4_UNSUPPORTED', `${this.what}: 64-bit value beyond 2^53`);
    this.pos += 8;
    return hi * 0x100000000 + lo;
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  fourcc(): string {
    this.need(4);
    const s = fourcc(this.buf, this.pos);
    this.pos += 4;
    return s;
  }

  /** version (8) + flags (24) of a FullBox. */
  fullBox(): { version: number; flags: number } {
    const version = this.u8();
    const flags = this.u24();
    return { version, flags };
  }
}
