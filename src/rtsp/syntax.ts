/**
 * Lexical helpers shared by the header codecs: tokens, quoted strings (RFC 2326 §15.1, which borrows
 * RFC 2616 §2.2) and splitting lists on separators that are not inside quotes.
 */

/** RFC 2616 §2.2 `token`: visible ASCII except separators. */
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isToken(s: string): boolean {
  return TOKEN_RE.test(s);
}

/** True when `s` holds CR, LF or NUL, which would break or smuggle a header line. */
export function hasLineBreak(s: string): boolean {
  return /[\r\n\0]/.test(s);
}

/**
 * Splits `s` on `sep` where it is not inside a double-quoted string (a backslash escapes the next character
 * inside quotes). Parts are trimmed; empty parts are kept so callers decide whether they matter.
 */
export function splitOutside(s: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === sep) {
      parts.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(s.slice(start).trim());
  return parts;
}

/**
 * If `s` (already trimmed) is a quoted string, returns its content with escapes removed; otherwise `s`.
 * Returns undefined for an unterminated quoted string.
 */
export function unquote(s: string): string | undefined {
  if (!s.startsWith('"')) return s;
  let out = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      i++;
      if (i >= s.length) return undefined;
      out += s.charAt(i);
    } else if (c === '"') {
      return i === s.length - 1 ? out : undefined;
    } else {
      out += c;
    }
  }
  return undefined;
}

/** Writes `s` as a quoted string, escaping backslash and double quote. */
export function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/** Parses a decimal integer written with digits only (no sign, no exponent), or returns undefined. */
export function parseDecimal(s: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (!/^\d{1,16}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= max ? n : undefined;
}

/**
 * Formats a non-negative finite number of seconds for the wire: integers as is, fractions with at most
 * `maxDecimals` digits and no trailing zeros (never exponent notation).
 */
export function formatDecimal(n: number, maxDecimals = 9): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  const s = n.toFixed(maxDecimals);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
