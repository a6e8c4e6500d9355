import { ParseError } from '../base/errors.js';

interface FmtpEntry {
  key: string;
  value: string;
  /** False for a bare token without `=` (e.g. RFC 4733 `0-15`), so that it serializes back unchanged. */
  hasValue: boolean;
}

/**
 * Format parameters of an `a=fmtp:` line (RFC 8866 §6.15): `key=value` pairs separated by `;`.
 *
 * Values stay strings exactly as written: `profile-level-id=640028` is not a number, and the `=`
 * padding of base64 values (`sprop-parameter-sets=Z0LAHtoCgL/lwEQAAAMABAAAAwDIPFi6gA==,aM48gA==`) is
 * kept because only the first `=` of a parameter separates key and value. Keys are looked up
 * case-insensitively (RFC 6184 §8.1 and friends define them so) and iterate in their original order and
 * spelling.
 */
export class FmtpParams implements Iterable<[string, string]> {
  readonly #entries: FmtpEntry[] = [];

  constructor(init?: Iterable<readonly [string, string]> | Readonly<Record<string, string>>) {
    if (init === undefined) return;
    const pairs: Iterable<readonly [string, string]> = Symbol.iterator in init ? init : Object.entries(init);
    for (const [k, v] of pairs) this.set(k, v);
  }

  get size(): number {
    return this.#entries.length;
  }

  get(key: string): string | undefined {
    return this.#find(key)?.value;
  }

  has(key: string): boolean {
    return this.#find(key) !== undefined;
  }

  /** Replaces the value of an existing key in place (keeping its position and spelling), or appends. */
  set(key: string, value: string): this {
    const e = this.#find(key);
    if (e) {
      e.value = value;
      e.hasValue = true;
    } else {
      this.#entries.push({ key, value, hasValue: true });
    }
    return this;
  }

  delete(key: string): boolean {
    const lower = key.toLowerCase();
    const i = this.#entries.findIndex((e) => e.key.toLowerCase() === lower);
    if (i < 0) return false;
    this.#entries.splice(i, 1);
    return true;
  }

  keys(): string[] {
    return this.#entries.map((e) => e.key);
  }

  entries(): [string, string][] {
    return this.#entries.map((e) => [e.key, e.value]);
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.entries()[Symbol.iterator]();
  }

  /** A plain object with the keys lower-cased (first occurrence wins), handy for lookups and JSON. */
  toRecord(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.#entries) {
      const k = e.key.toLowerCase();
      if (!Object.hasOwn(out, k)) out[k] = e.value;
    }
    return out;
  }

  /** `key=value;key=value` (no spaces), the spelling most servers and RFC examples use. */
  toString(): string {
    return this.#entries.map((e) => (e.hasValue ? `${e.key}=${e.value}` : e.key)).join(';');
  }

  /**
   * Parses `key=value;key=value` (the part of an `a=fmtp:` value after the format). Duplicates and bare
   * tokens are kept as written so that serialization reproduces them.
   */
  static parse(text: string): FmtpParams {
    const p = new FmtpParams();
    for (const part of text.split(';')) {
      const t = part.trim();
      if (t === '') continue;
      const eq = t.indexOf('=');
      if (eq < 0) p.#entries.push({ key: t, value: '', hasValue: false });
      else p.#entries.push({ key: t.slice(0, eq).trim(), value: t.slice(eq + 1).trim(), hasValue: true });
    }
    return p;
  }

  #find(key: string): FmtpEntry | undefined {
    const lower = key.toLowerCase();
    return this.#entries.find((e) => e.key.toLowerCase() === lower);
  }
}

/** A parsed `a=fmtp:` value: the media format it applies to and its parameters. */
export interface Fmtp {
  /** The media format (RTP payload type for RTP profiles), as written. */
  format: string;
  params: FmtpParams;
}

/**
 * Parses the value of an `a=fmtp:` attribute, e.g. `96 packetization-mode=1;profile-level-id=640028`.
 * Tolerates what encoders write: spaces after `;` (ffmpeg), a trailing `;`, empty parameters, spaces
 * around `=`. Throws ParseError `SDP_BAD_FMTP` when there is no format.
 */
export function parseFmtp(value: string): Fmtp {
  const m = /^\s*(\S+)(?:\s+([\s\S]*))?$/.exec(value);
  if (!m) throw new ParseError('SDP_BAD_FMTP', `bad fmtp ${JSON.stringify(value.slice(0, 40))}`);
  return { format: m[1]!, params: parseFmtpParams(m[2] ?? '') };
}

/** Parses `key=value;key=value` (the part of an `a=fmtp:` value after the format). */
export function parseFmtpParams(text: string): FmtpParams {
  return FmtpParams.parse(text);
}

/**
 * The value of an `a=fmtp:` attribute: `<format> key=value;key=value`. Accepts FmtpParams, a record or a
 * list of pairs (in the order to write them). Throws RangeError for characters that would break the line
 * or the parameter syntax.
 */
export function serializeFmtp(
  format: string | number,
  params: FmtpParams | Readonly<Record<string, string>> | Iterable<readonly [string, string]>,
): string {
  const p = params instanceof FmtpParams ? params : new FmtpParams(params);
  const fmt = String(format);
  if (fmt === '' || /\s/.test(fmt)) throw new RangeError(`bad fmtp format ${JSON.stringify(fmt)}`);
  for (const [k, v] of p) {
    if (k === '' || /[;=\r\n\0]/.test(k) || k.trim() !== k)
      throw new RangeError(`bad fmtp key ${JSON.stringify(k)}`);
    if (/[;\r\n\0]/.test(v) || v.trim() !== v) throw new RangeError(`bad fmtp value ${JSON.stringify(v)}`);
  }
  const body = p.toString();
  return body === '' ? fmt : `${fmt} ${body}`;
}
