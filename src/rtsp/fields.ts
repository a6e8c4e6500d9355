/**
 * Codecs for the small RTSP header fields: CSeq (RFC 2326 §12.17), Scale (§12.34), Speed (§12.35),
 * the comma lists Public (§12.28), Require (§12.32), Proxy-Require (§12.27), Unsupported (§12.42), and the
 * URL-valued Content-Base (§12.11), Content-Location (§12.14) and Location (§12.25).
 */
import { ParseError } from '../base/errors.js';
import { RtspErrorCode } from './status.js';
import { formatDecimal, hasLineBreak, parseDecimal } from './syntax.js';

/** CSeq: a non-negative decimal (RFC 2326 §12.17). Servers echo the received text verbatim anyway. */
export function parseCSeq(value: string): number {
  const n = parseDecimal(value.trim(), 0xffffffff);
  if (n === undefined)
    throw new ParseError(RtspErrorCode.BadCSeq, `malformed CSeq ${JSON.stringify(value.slice(0, 32))}`);
  return n;
}

export function serializeCSeq(cseq: number): string {
  if (!Number.isInteger(cseq) || cseq < 0 || cseq > 0xffffffff) throw new RangeError(`invalid CSeq ${cseq}`);
  return String(cseq);
}

const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;

/** Scale: a non-zero decimal; negative plays backwards (RFC 2326 §12.34). */
export function parseScale(value: string): number {
  const text = value.trim();
  const n = DECIMAL_RE.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || n === 0) {
    throw new ParseError(RtspErrorCode.BadScale, `malformed Scale ${JSON.stringify(value.slice(0, 32))}`);
  }
  return n;
}

export function serializeScale(scale: number): string {
  if (!Number.isFinite(scale) || scale === 0 || Math.abs(scale) >= 1e9)
    throw new RangeError(`invalid Scale ${scale}`);
  return (scale < 0 ? '-' : '') + formatDecimal(Math.abs(scale), 6);
}

/** Speed: a positive decimal, the delivery rate multiplier (RFC 2326 §12.35). */
export function parseSpeed(value: string): number {
  const text = value.trim();
  const n = DECIMAL_RE.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) {
    throw new ParseError(RtspErrorCode.BadSpeed, `malformed Speed ${JSON.stringify(value.slice(0, 32))}`);
  }
  return n;
}

export function serializeSpeed(speed: number): string {
  if (!Number.isFinite(speed) || speed <= 0 || speed >= 1e9) throw new RangeError(`invalid Speed ${speed}`);
  return formatDecimal(speed, 6);
}

/**
 * A comma-separated list of tokens (methods in Public, option tags in Require and the like), trimmed,
 * empty items dropped. Items are kept as text: option tags such as `www.onvif.org/ver20/backchannel` hold
 * `/`, which is not a token character, so only line breaks and whitespace inside an item are refused.
 */
export function parseTokenList(value: string): string[] {
  const items: string[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    if (/\s/.test(item))
      throw new ParseError(
        RtspErrorCode.BadHeader,
        `malformed list item ${JSON.stringify(item.slice(0, 64))}`,
      );
    items.push(item);
  }
  return items;
}

/** Writes `a, b, c`. Throws a RangeError for an empty item or one holding whitespace or a comma. */
export function serializeTokenList(items: readonly string[]): string {
  for (const item of items) {
    if (item === '' || /[\s,]/.test(item)) throw new RangeError(`invalid list item ${JSON.stringify(item)}`);
  }
  return items.join(', ');
}

/** Public: the methods a server supports (RFC 2326 §12.28). */
export const parsePublic = parseTokenList;
export const serializePublic = serializeTokenList;
/** Require and Proxy-Require: option tags the peer must support (RFC 2326 §12.32, §12.27). */
export const parseRequire = parseTokenList;
export const serializeRequire = serializeTokenList;
/** Unsupported: the option tags of Require a server does not support (RFC 2326 §12.42). */
export const parseUnsupported = parseTokenList;
export const serializeUnsupported = serializeTokenList;

const ABSOLUTE_URL_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s]+$/;

function parseAbsoluteUrl(header: string, value: string): string {
  const url = value.trim();
  if (!ABSOLUTE_URL_RE.test(url)) {
    throw new ParseError(
      RtspErrorCode.BadUrl,
      `${header} is not an absolute URL: ${JSON.stringify(url.slice(0, 64))}`,
    );
  }
  return url;
}

function serializeAbsoluteUrl(header: string, url: string): string {
  if (!ABSOLUTE_URL_RE.test(url) || hasLineBreak(url))
    throw new RangeError(`invalid ${header} ${JSON.stringify(url)}`);
  return url;
}

/** Content-Base: the base for relative URLs in the body (RFC 2326 §12.11, C.1.1); absolute. */
export function parseContentBase(value: string): string {
  return parseAbsoluteUrl('Content-Base', value);
}
export function serializeContentBase(url: string): string {
  return serializeAbsoluteUrl('Content-Base', url);
}

/**
 * Content-Location (RFC 2326 §12.14). RFC 2616 lets it be relative to the request URL; this returns it
 * trimmed, and the control URL resolver joins it when it is not absolute.
 */
export function parseContentLocation(value: string): string {
  const url = value.trim();
  if (url === '' || /\s/.test(url)) {
    throw new ParseError(
      RtspErrorCode.BadUrl,
      `malformed Content-Location ${JSON.stringify(url.slice(0, 64))}`,
    );
  }
  return url;
}

/** Location: where a redirect (3xx) points (RFC 2326 §12.25); absolute, as clients need it. */
export function parseLocation(value: string): string {
  return parseAbsoluteUrl('Location', value);
}
export function serializeLocation(url: string): string {
  return serializeAbsoluteUrl('Location', url);
}
