/**
 * Tiny ISO-BMFF box serializer (ISO/IEC 14496-12 §4.2): enough to build box trees by hand, used by
 * the reader's tests and a starting point for an fMP4 writer.
 */

/** Numbers, or arrays of them (arrays are not spread, so tables of any length are fine). */
export type Ints = (number | readonly number[])[];
/** Byte strings, or arrays of them. */
export type Parts = (Uint8Array | readonly Uint8Array[])[];

function flatInts(v: Ints): number[] {
  const out: number[] = [];
  for (const x of v) {
    if (typeof x === 'number') out.push(x);
    else for (const y of x) out.push(y);
  }
  return out;
}

function concat(parts: Parts): Buffer {
  const list: Uint8Array[] = [];
  for (const p of parts) {
    if (p instanceof Uint8Array) list.push(p);
    else for (const q of p) list.push(q);
  }
  return Buffer.concat(list);
}

function ints(bytesPer: number, v: Ints, write: (b: Buffer, v: number, at: number) => void): Buffer {
  const values = flatInts(v);
  const b = Buffer.alloc(bytesPer * values.length);
  values.forEach((x, i) => {
    write(b, x, i * bytesPer);
  });
  return b;
}

export const u8 = (...v: Ints): Buffer => ints(1, v, (b, x, at) => b.writeUInt8(x, at));
export const u16 = (...v: Ints): Buffer => ints(2, v, (b, x, at) => b.writeUInt16BE(x, at));
export const i16 = (...v: Ints): Buffer => ints(2, v, (b, x, at) => b.writeInt16BE(x, at));
export const u24 = (...v: Ints): Buffer => ints(3, v, (b, x, at) => b.writeUIntBE(x, at, 3));
export const u32 = (...v: Ints): Buffer => ints(4, v, (b, x, at) => b.writeUInt32BE(x, at));
export const i32 = (...v: Ints): Buffer => ints(4, v, (b, x, at) => b.writeInt32BE(x, at));
/** Unsigned or signed 64-bit values within ±2^53. */
export const u64 = (...v: Ints): Buffer =>
  ints(8, v, (b, x, at) => {
    b.writeBigInt64BE(BigInt(x), at);
  });

export function ascii(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** A box with a 32-bit size. */
export function box(type: string, ...parts: Parts): Buffer {
  const body = concat(parts);
  return Buffer.concat([u32(8 + body.length), ascii(type), body]);
}

/** A box with size field 1 and a 64-bit largesize. */
export function largeBox(type: string, ...parts: Parts): Buffer {
  const body = concat(parts);
  return Buffer.concat([u32(1), ascii(type), u64(16 + body.length), body]);
}

/** A FullBox: version and flags before the body. */
export function fullBox(type: string, version: number, flags: number, ...parts: Parts): Buffer {
  return box(type, u8(version), u24(flags), ...parts);
}
