import { ParseError } from './errors.js';

/**
 * MSB-first bit reader with Exp-Golomb codes (ITU-T H.264 §9.1), for parameter sets
 * and AAC AudioSpecificConfig. Reading past the end throws ParseError('BITS_EOF').
 */
export class BitReader {
  private bitPos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get bitsLeft(): number {
    return this.bytes.length * 8 - this.bitPos;
  }

  get position(): number {
    return this.bitPos;
  }

  readBit(): number {
    if (this.bitPos >= this.bytes.length * 8) throw new ParseError('BITS_EOF', 'read past end of bitstream');
    const byte = this.bytes[this.bitPos >> 3]!;
    const bit = (byte >> (7 - (this.bitPos & 7))) & 1;
    this.bitPos++;
    return bit;
  }

  /** Up to 32 bits, unsigned. */
  readBits(n: number): number {
    if (n < 0 || n > 32) throw new RangeError(`readBits(${n})`);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.readBit();
    return v;
  }

  readFlag(): boolean {
    return this.readBit() === 1;
  }

  skipBits(n: number): void {
    if (n > this.bitsLeft) throw new ParseError('BITS_EOF', 'skip past end of bitstream');
    this.bitPos += n;
  }

  /** ue(v) */
  readUE(): number {
    let zeros = 0;
    while (this.readBit() === 0) {
      zeros++;
      if (zeros > 31) throw new ParseError('BITS_BAD_EXP_GOLOMB', 'Exp-Golomb code longer than 32 bits');
    }
    return zeros === 0 ? 0 : 2 ** zeros - 1 + this.readBits(zeros);
  }

  /** se(v) */
  readSE(): number {
    const k = this.readUE();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2 || 0; // `|| 0` avoids -0
  }
}

/** MSB-first bit writer, the inverse of BitReader. */
export class BitWriter {
  private readonly out: number[] = [];
  private cur = 0;
  private n = 0;

  writeBits(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.cur = (this.cur << 1) | (Math.floor(value / 2 ** i) & 1);
      if (++this.n === 8) {
        this.out.push(this.cur);
        this.cur = 0;
        this.n = 0;
      }
    }
  }

  writeUE(value: number): void {
    const v = value + 1;
    const len = Math.floor(Math.log2(v));
    this.writeBits(0, len);
    this.writeBits(v, len + 1);
  }

  writeSE(value: number): void {
    this.writeUE(value <= 0 ? -2 * value : 2 * value - 1);
  }

  /** Pads the last byte with zero bits. */
  finish(): Buffer {
    const bytes = [...this.out];
    if (this.n > 0) bytes.push(this.cur << (8 - this.n));
    return Buffer.from(bytes);
  }
}
