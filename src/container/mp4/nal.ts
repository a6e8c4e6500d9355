import { ParseError } from '../../base/errors.js';

/**
 * Splits an MP4 (ISO/IEC 14496-15 §4.3.2) H.264/H.265 sample — NAL units each preceded by a big-endian
 * length of `lengthSize` bytes, from avcC/hvcC — into NAL units without prefixes or start codes.
 * The returned Buffers are views into `sample` (no copy). Zero-length NAL units are skipped.
 * A length running past the sample throws ParseError('MP4_BAD_SAMPLE').
 */
export function splitLengthPrefixed(sample: Uint8Array, lengthSize: number): Buffer[] {
  if (lengthSize < 1 || lengthSize > 4 || !Number.isInteger(lengthSize))
    throw new RangeError(`NAL length size ${lengthSize}`);
  const buf = Buffer.isBuffer(sample)
    ? sample
    : Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength);
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < lengthSize)
      throw new ParseError('MP4_BAD_SAMPLE', `truncated NAL length prefix at ${at} of ${buf.length}`);
    const len = buf.readUIntBE(at, lengthSize);
    at += lengthSize;
    if (len > buf.length - at)
      throw new ParseError(
        'MP4_BAD_SAMPLE',
        `NAL unit of ${len} bytes at ${at} overruns the ${buf.length}-byte sample`,
      );
    if (len > 0) out.push(buf.subarray(at, at + len));
    at += len;
  }
  return out;
}
