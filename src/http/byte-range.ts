/**
 * The `Range` request header for bytes (RFC 9110 §14.1.2, §14.2): one range, as browsers' `<video>` and
 * curl ask. A server may ignore a Range it does not want to serve (§14.2), so several ranges get the whole
 * body (200) rather than a multipart/byteranges reply; so does a header that is not a bytes range.
 */

export type ByteRangeRequest =
  /** No usable Range: the whole representation (200). */
  | { kind: 'whole' }
  /** Bytes [from, to) of it (206 with Content-Range). */
  | { kind: 'range'; from: number; to: number }
  /** A range that starts at or past the end (416 with `Content-Range: bytes *∕length`). */
  | { kind: 'unsatisfiable' };

/** Longest Range header read; a longer one is ignored (the whole body is sent). */
const MAX_RANGE_HEADER_CHARS = 200;

/** Reads a Range header against a representation of `totalBytes`. */
export function parseByteRange(header: string | undefined, totalBytes: number): ByteRangeRequest {
  if (header === undefined || header.length > MAX_RANGE_HEADER_CHARS) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return { kind: 'whole' };
  const [, first, last] = m as unknown as [string, string, string];
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    // A suffix range: the last N bytes (§14.1.2); "bytes=-0" asks for nothing and cannot be satisfied.
    const n = Number(last);
    if (n === 0 || totalBytes === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', from: Math.max(0, totalBytes - n), to: totalBytes };
  }
  const from = Number(first);
  if (!Number.isSafeInteger(from)) return { kind: 'unsatisfiable' };
  if (from >= totalBytes) return { kind: 'unsatisfiable' };
  if (last === '') return { kind: 'range', from, to: totalBytes };
  const lastByte = Number(last);
  // last < first is syntactically invalid (§14.1.1): the header is ignored.
  if (lastByte < from) return { kind: 'whole' };
  return { kind: 'range', from, to: Math.min(totalBytes, lastByte + 1) };
}
