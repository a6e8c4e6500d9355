/**
 * AMF0 (Adobe "Action Message Format -- AMF 0", 2006): the values of RTMP commands (`connect`,
 * `publish`, `onStatus` ...) and of data messages (`@setDataFrame onMetaData`).
 *
 * Decoded from a hostile peer: every read is bounds-checked, nesting is limited (MAX_DEPTH) and so is
 * the number of values (MAX_VALUES), so a crafted message cannot exhaust the stack or the heap beyond
 * its own size. References (0x07) and the AMF3 switch (0x11) are refused: neither ffmpeg, GStreamer
 * nor OBS sends them in AMF0 commands. Objects are prototype-less (a key `__proto__` is just a key).
 */
import { ParseError } from '../base/errors.js';

export type Amf0Value = number | boolean | string | null | undefined | Date | Amf0Object | Amf0Value[];
export interface Amf0Object {
  [key: string]: Amf0Value;
}

export const Amf0Marker = {
  Number: 0x00,
  Boolean: 0x01,
  String: 0x02,
  Object: 0x03,
  Null: 0x05,
  Undefined: 0x06,
  Reference: 0x07,
  EcmaArray: 0x08,
  ObjectEnd: 0x09,
  StrictArray: 0x0a,
  Date: 0x0b,
  LongString: 0x0c,
  Unsupported: 0x0d,
  XmlDocument: 0x0f,
  TypedObject: 0x10,
  AvmPlus: 0x11,
} as const;

const MAX_DEPTH = 16;
const MAX_VALUES = 4096;

export const Amf0ErrorCode = {
  Truncated: 'AMF0_TRUNCATED',
  BadMarker: 'AMF0_BAD_MARKER',
  TooDeep: 'AMF0_TOO_DEEP',
  TooMany: 'AMF0_TOO_MANY_VALUES',
} as const;

/** An object without a prototype, so that any key a peer sends is plain data. */
export function amf0Object(entries: Record<string, Amf0Value> = {}): Amf0Object {
  return Object.assign(Object.create(null) as Amf0Object, entries);
}

class Amf0Reader {
  pos = 0;
  values = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length)
      throw new ParseError(Amf0ErrorCode.Truncated, 'AMF0: truncated value');
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  private utf8(length: number): string {
    this.need(length);
    const s = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return s;
  }

  private shortString(): string {
    this.need(2);
    const len = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return this.utf8(len);
  }

  private u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  value(depth = 0): Amf0Value {
    if (depth > MAX_DEPTH) throw new ParseError(Amf0ErrorCode.TooDeep, 'AMF0: nesting too deep');
    if (++this.values > MAX_VALUES) throw new ParseError(Amf0ErrorCode.TooMany, 'AMF0: too many values');
    const marker = this.u8();
    switch (marker) {
      case Amf0Marker.Number: {
        this.need(8);
        const v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return v;
      }
      case Amf0Marker.Boolean:
        return this.u8() !== 0;
      case Amf0Marker.String:
        return this.shortString();
      case Amf0Marker.LongString:
      case Amf0Marker.XmlDocument:
        return this.utf8(this.u32());
      case Amf0Marker.Object:
        return this.properties(depth);
      case Amf0Marker.TypedObject:
        this.shortString(); // class name, dropped
        return this.properties(depth);
      case Amf0Marker.EcmaArray:
        this.u32(); // approximate count (§2.10): the end marker is what ends it
        return this.properties(depth);
      case Amf0Marker.StrictArray: {
        const count = this.u32();
        // Each element takes at least one byte: a count beyond the bytes left is a lie.
        this.need(count);
        const list: Amf0Value[] = [];
        for (let i = 0; i < count; i++) list.push(this.value(depth + 1));
        return list;
      }
      case Amf0Marker.Date: {
        this.need(10);
        const ms = this.buf.readDoubleBE(this.pos);
        this.pos += 10; // + 2 bytes of time zone, reserved (§2.13)
        return new Date(ms);
      }
      case Amf0Marker.Null:
        return null;
      case Amf0Marker.Undefined:
      case Amf0Marker.Unsupported:
        return undefined;
      default:
        throw new ParseError(Amf0ErrorCode.BadMarker, `AMF0: unsupported marker 0x${marker.toString(16)}`);
    }
  }

  /** Key/value pairs up to the empty key and object-end marker (§2.5). */
  private properties(depth: number): Amf0Object {
    const obj = amf0Object();
    for (;;) {
      const key = this.shortString();
      if (key === '') {
        if (this.u8() !== Amf0Marker.ObjectEnd)
          throw new ParseError(Amf0ErrorCode.BadMarker, 'AMF0: empty key without object end');
        return obj;
      }
      obj[key] = this.value(depth + 1);
    }
  }
}

/** Every value in `data`, in order. Throws ParseError on malformed or unsupported input. */
export function decodeAmf0(data: Buffer): Amf0Value[] {
  const r = new Amf0Reader(data);
  const out: Amf0Value[] = [];
  while (!r.done) out.push(r.value());
  return out;
}

function stringBytes(s: string, long: boolean): Buffer {
  const body = Buffer.from(s, 'utf8');
  const head = Buffer.alloc(long ? 4 : 2);
  if (long) head.writeUInt32BE(body.length);
  else head.writeUInt16BE(body.length);
  return Buffer.concat([head, body]);
}

function encodeValue(v: Amf0Value, out: Buffer[]): void {
  if (typeof v === 'number') {
    const b = Buffer.alloc(9);
    b[0] = Amf0Marker.Number;
    b.writeDoubleBE(v, 1);
    out.push(b);
  } else if (typeof v === 'boolean') {
    out.push(Buffer.from([Amf0Marker.Boolean, v ? 1 : 0]));
  } else if (typeof v === 'string') {
    const long = Buffer.byteLength(v) > 0xffff;
    out.push(Buffer.from([long ? Amf0Marker.LongString : Amf0Marker.String]), stringBytes(v, long));
  } else if (v === null) {
    out.push(Buffer.from([Amf0Marker.Null]));
  } else if (v === undefined) {
    out.push(Buffer.from([Amf0Marker.Undefined]));
  } else if (v instanceof Date) {
    const b = Buffer.alloc(11);
    b[0] = Amf0Marker.Date;
    b.writeDoubleBE(v.getTime(), 1);
    out.push(b);
  } else if (Array.isArray(v)) {
    const head = Buffer.alloc(5);
    head[0] = Amf0Marker.StrictArray;
    head.writeUInt32BE(v.length, 1);
    out.push(head);
    for (const item of v) encodeValue(item, out);
  } else {
    out.push(Buffer.from([Amf0Marker.Object]));
    for (const [key, item] of Object.entries(v)) {
      out.push(stringBytes(key, false));
      encodeValue(item, out);
    }
    out.push(Buffer.from([0, 0, Amf0Marker.ObjectEnd]));
  }
}

/** The AMF0 encoding of `values`, one after another (a command: name, transaction id, object, args). */
export function encodeAmf0(...values: Amf0Value[]): Buffer {
  const out: Buffer[] = [];
  for (const v of values) encodeValue(v, out);
  return Buffer.concat(out);
}

/** An ECMA array (0x08) of `entries`: how `onMetaData` is usually sent. */
export function encodeAmf0EcmaArray(entries: Record<string, Amf0Value>): Buffer {
  const head = Buffer.alloc(5);
  head[0] = Amf0Marker.EcmaArray;
  head.writeUInt32BE(Object.keys(entries).length, 1);
  const out: Buffer[] = [head];
  for (const [key, item] of Object.entries(entries)) {
    out.push(stringBytes(key, false));
    encodeValue(item, out);
  }
  out.push(Buffer.from([0, 0, Amf0Marker.ObjectEnd]));
  return Buffer.concat(out);
}

/** `v` as an object, or undefined. */
export function asAmf0Object(v: Amf0Value): Amf0Object | undefined {
  return typeof v === 'object' && v !== null && !(v instanceof Date) && !Array.isArray(v) ? v : undefined;
}
