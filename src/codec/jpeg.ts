/**
 * Baseline JPEG helpers (ITU-T T.81) for the RTP/JPEG payload format (RFC 2435): marker walk
 * (SOF0 size and sampling, DQT, DRI, SOS), the standard quantization tables scaled by a Q factor
 * (RFC 2435 §4.2 / Appendix A) and the rebuilding of JFIF-decodable headers from RTP/JPEG
 * parameters (RFC 2435 Appendix B), with the standard Huffman tables of T.81 Annex K.3.
 */
import { ParseError } from '../base/errors.js';

export const JpegMarker = {
  SOF0: 0xc0,
  SOF1: 0xc1,
  SOF2: 0xc2,
  DHT: 0xc4,
  SOI: 0xd8,
  EOI: 0xd9,
  SOS: 0xda,
  DQT: 0xdb,
  DRI: 0xdd,
  APP0: 0xe0,
} as const;

export interface JpegComponent {
  id: number;
  h: number;
  v: number;
  /** Quantization table selector. */
  tq: number;
}

export interface JpegInfo {
  /** Frame marker (0xc0 baseline, 0xc1 extended, 0xc2 progressive, ...). */
  sofMarker: number;
  precision: number;
  width: number;
  height: number;
  components: JpegComponent[];
  /** Quantization tables by destination id, in zigzag order; 64 bytes (8-bit) or 128 bytes (16-bit, big-endian). */
  quantTables: Map<number, { precision: 0 | 1; table: Buffer }>;
  /** DRI restart interval in MCUs, 0 when absent. */
  restartInterval: number;
  /** True when the file holds at least one DHT segment. */
  hasHuffmanTables: boolean;
  /**
   * True when every DHT table is the T.81 Annex K.3 table for its slot (or there is no DHT, as in
   * AVI1 MJPEG). RTP/JPEG receivers assume these tables, so other ones decode as garbage.
   */
  standardHuffmanTables: boolean;
  /** Entropy-coded data of the (first) scan, without the EOI. A view into the input. */
  scanData: Buffer;
}

/**
 * Walks the markers of a JPEG up to the end of the first scan. Throws ParseError('JPEG_BAD').
 */
export function parseJpeg(data: Uint8Array): JpegInfo {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== JpegMarker.SOI)
    throw new ParseError('JPEG_BAD', 'no SOI');
  let pos = 2;
  let info:
    | Omit<
        JpegInfo,
        'quantTables' | 'restartInterval' | 'hasHuffmanTables' | 'standardHuffmanTables' | 'scanData'
      >
    | undefined;
  const quantTables: JpegInfo['quantTables'] = new Map();
  let restartInterval = 0;
  let hasHuffmanTables = false;
  let standardHuffmanTables = true;
  while (pos < buf.length) {
    if (buf[pos] !== 0xff) throw new ParseError('JPEG_BAD', `expected a marker at offset ${pos}`);
    while (buf[pos] === 0xff) pos++; // fill bytes
    const marker = buf[pos++];
    if (marker === undefined) break;
    if (marker === JpegMarker.EOI) break;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    if (pos + 2 > buf.length) throw new ParseError('JPEG_BAD', 'truncated marker segment');
    const len = buf.readUInt16BE(pos);
    if (len < 2 || pos + len > buf.length) throw new ParseError('JPEG_BAD', `bad segment length ${len}`);
    const seg = buf.subarray(pos + 2, pos + len);
    pos += len;
    if (marker === JpegMarker.DQT) {
      let p = 0;
      while (p < seg.length) {
        const pq = seg[p]! >> 4;
        const tq = seg[p]! & 0xf;
        const size = pq === 0 ? 64 : 128;
        if (pq > 1 || p + 1 + size > seg.length) throw new ParseError('JPEG_BAD', 'bad DQT');
        quantTables.set(tq, {
          precision: pq as 0 | 1,
          table: Buffer.from(seg.subarray(p + 1, p + 1 + size)),
        });
        p += 1 + size;
      }
    } else if (marker === JpegMarker.DRI) {
      if (seg.length < 2) throw new ParseError('JPEG_BAD', 'bad DRI');
      restartInterval = seg.readUInt16BE(0);
    } else if (marker === JpegMarker.DHT) {
      hasHuffmanTables = true;
      let p = 0;
      while (p + 17 <= seg.length) {
        let n = 0;
        for (let i = 1; i <= 16; i++) n += seg[p + i]!;
        if (p + 17 + n > seg.length) throw new ParseError('JPEG_BAD', 'bad DHT');
        const table = seg.subarray(p, p + 17 + n);
        if (!STANDARD_DHT.some((t) => t.equals(table))) standardHuffmanTables = false;
        p += 17 + n;
      }
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (seg.length < 6) throw new ParseError('JPEG_BAD', 'bad SOF');
      const n = seg[5]!;
      if (seg.length < 6 + 3 * n) throw new ParseError('JPEG_BAD', 'truncated SOF');
      const components: JpegComponent[] = [];
      for (let i = 0; i < n; i++) {
        const o = 6 + 3 * i;
        components.push({ id: seg[o]!, h: seg[o + 1]! >> 4, v: seg[o + 1]! & 0xf, tq: seg[o + 2]! });
      }
      info = {
        sofMarker: marker,
        precision: seg[0]!,
        height: seg.readUInt16BE(1),
        width: seg.readUInt16BE(3),
        components,
      };
    } else if (marker === JpegMarker.SOS) {
      if (!info) throw new ParseError('JPEG_BAD', 'SOS before SOF');
      // Entropy-coded data runs to the first marker that is neither a stuffed 0xFF00 nor RSTn.
      let end = pos;
      while (end < buf.length) {
        if (buf[end] === 0xff) {
          const next = buf[end + 1];
          if (next === undefined) break;
          if (next !== 0 && !(next >= 0xd0 && next <= 0xd7) && next !== 0xff) break;
          end += next === 0xff ? 1 : 2;
        } else end++;
      }
      return {
        ...info,
        quantTables,
        restartInterval,
        hasHuffmanTables,
        standardHuffmanTables,
        scanData: buf.subarray(pos, end),
      };
    }
  }
  throw new ParseError('JPEG_BAD', 'no SOS');
}

/** Natural-order index of each zigzag position (T.81 Figure A.6). */
export const ZIGZAG: readonly number[] = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
];

/** T.81 Table K.1 (luminance) and K.2 (chrominance), natural order. */
const LUMA_Q: readonly number[] = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22,
  29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103,
  121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_Q: readonly number[] = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  99,
  99,
  99,
  99,
  ...(new Array(32).fill(99) as number[]),
];

/**
 * The luma and chroma tables (zigzag order, 64 bytes each) that a Q factor of 1..99 stands for,
 * by the IJG scaling of RFC 2435 Appendix A.
 */
export function jpegQuantTablesForQ(q: number): [Buffer, Buffer] {
  const factor = Math.min(Math.max(Math.trunc(q), 1), 99);
  const scale = factor < 50 ? Math.floor(5000 / factor) : 200 - factor * 2;
  const make = (base: readonly number[]): Buffer => {
    const t = Buffer.alloc(64);
    for (let i = 0; i < 64; i++) {
      const v = Math.floor((base[ZIGZAG[i]!]! * scale + 50) / 100);
      t[i] = Math.min(Math.max(v, 1), 255);
    }
    return t;
  };
  return [make(LUMA_Q), make(CHROMA_Q)];
}

/** T.81 Annex K.3 standard Huffman tables: code counts per length 1..16, then symbols. */
const HUFF_DC_LUMA_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const HUFF_DC_CHROMA_BITS = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const HUFF_DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const HUFF_AC_LUMA_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const HUFF_AC_LUMA_VALUES = Buffer.from(
  '01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa',
  'hex',
);
const HUFF_AC_CHROMA_BITS = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const HUFF_AC_CHROMA_VALUES = Buffer.from(
  '000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa',
  'hex',
);

/** Tc/Th byte, 16 counts and the symbols of each standard table, as they appear inside a DHT segment. */
const STANDARD_DHT: readonly Buffer[] = [
  Buffer.from([0x00, ...HUFF_DC_LUMA_BITS, ...HUFF_DC_VALUES]),
  Buffer.from([0x01, ...HUFF_DC_CHROMA_BITS, ...HUFF_DC_VALUES]),
  Buffer.concat([Buffer.from([0x10, ...HUFF_AC_LUMA_BITS]), HUFF_AC_LUMA_VALUES]),
  Buffer.concat([Buffer.from([0x11, ...HUFF_AC_CHROMA_BITS]), HUFF_AC_CHROMA_VALUES]),
];

function segment(marker: number, body: Uint8Array): Buffer {
  const h = Buffer.alloc(4);
  h[0] = 0xff;
  h[1] = marker;
  h.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([h, body]);
}

function huffmanSegment(
  tableClass: number,
  id: number,
  bits: readonly number[],
  values: Uint8Array | readonly number[],
): Buffer {
  return segment(
    JpegMarker.DHT,
    Buffer.concat([Buffer.from([(tableClass << 4) | id, ...bits]), Buffer.from(values)]),
  );
}

export interface JpegHeaderParams {
  /** RFC 2435 type without the restart bit: 0 = 4:2:2 (luma 2x1), 1 = 4:2:0 (luma 2x2). */
  type: 0 | 1;
  width: number;
  height: number;
  /** Luma then chroma quantization tables in zigzag order (64 bytes, or 128 for 16-bit tables). */
  quantTables: readonly Uint8Array[];
  /** DRI restart interval, 0 for none. */
  restartInterval?: number;
}

/**
 * Builds the JPEG headers (SOI, DQT, DRI, SOF0, DHT, SOS) that RTP/JPEG leaves out, as in
 * RFC 2435 Appendix B; the entropy-coded data and EOI follow.
 */
export function buildJpegHeaders(p: JpegHeaderParams): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, JpegMarker.SOI])];
  const dqt: Buffer[] = [];
  p.quantTables.forEach((t, i) => {
    dqt.push(Buffer.from([((t.length === 128 ? 1 : 0) << 4) | i]), Buffer.from(t));
  });
  parts.push(segment(JpegMarker.DQT, Buffer.concat(dqt)));
  if (p.restartInterval) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(p.restartInterval);
    parts.push(segment(JpegMarker.DRI, b));
  }
  const chromaTq = p.quantTables.length > 1 ? 1 : 0;
  const sof = Buffer.alloc(15);
  sof[0] = 8;
  sof.writeUInt16BE(p.height, 1);
  sof.writeUInt16BE(p.width, 3);
  sof[5] = 3;
  sof.set([1, p.type === 0 ? 0x21 : 0x22, 0], 6);
  sof.set([2, 0x11, chromaTq], 9);
  sof.set([3, 0x11, chromaTq], 12);
  parts.push(segment(JpegMarker.SOF0, sof));
  parts.push(
    huffmanSegment(0, 0, HUFF_DC_LUMA_BITS, HUFF_DC_VALUES),
    huffmanSegment(1, 0, HUFF_AC_LUMA_BITS, HUFF_AC_LUMA_VALUES),
    huffmanSegment(0, 1, HUFF_DC_CHROMA_BITS, HUFF_DC_VALUES),
    huffmanSegment(1, 1, HUFF_AC_CHROMA_BITS, HUFF_AC_CHROMA_VALUES),
  );
  // Three components; Y uses DC/AC tables 0, Cb and Cr tables 1; full spectral range.
  parts.push(segment(JpegMarker.SOS, Buffer.from([3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0])));
  return Buffer.concat(parts);
}
