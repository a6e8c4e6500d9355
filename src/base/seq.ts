/**
 * Wraparound arithmetic for RTP sequence numbers (16 bit) and timestamps (32 bit),
 * RFC 3550 §A.1: values are compared by their signed distance modulo 2^n.
 */

/** Signed distance b - a for 16-bit sequence numbers, in [-32768, 32767]. */
export function seqDiff16(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

/** True if sequence number b comes after a (mod 2^16). */
export function seqAfter16(a: number, b: number): boolean {
  return seqDiff16(a, b) > 0;
}

export function seqAdd16(a: number, n: number): number {
  return (a + n) & 0xffff;
}

/** Signed distance b - a for 32-bit timestamps. */
export function tsDiff32(a: number, b: number): number {
  const d = (b - a) >>> 0;
  return d >= 0x80000000 ? d - 0x100000000 : d;
}

export function tsAdd32(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * Extends wrapping n-bit counters into monotonic integers (safe up to 2^53):
 * each value is placed at the nearest position to the previous one.
 */
export class Unwrapper {
  private last: number | undefined;
  private readonly modulus: number;
  private readonly half: number;

  constructor(bits: 16 | 32) {
    this.modulus = 2 ** bits;
    this.half = this.modulus / 2;
  }

  unwrap(value: number): number {
    if (this.last === undefined) {
      this.last = value;
      return value;
    }
    const lastWrapped = ((this.last % this.modulus) + this.modulus) % this.modulus;
    let d = value - lastWrapped;
    if (d >= this.half) d -= this.modulus;
    else if (d < -this.half) d += this.modulus;
    this.last += d;
    return this.last;
  }

  reset(): void {
    this.last = undefined;
  }
}
