import { hasLineBreak, isToken } from './syntax.js';

interface Field {
  name: string;
  lower: string;
  value: string;
}

/**
 * The header fields of an RTSP message: an ordered multimap whose names compare case-insensitively
 * (RFC 2326 §4.2 after RFC 2616 §4.2) while keeping the casing they were written with, because some peers
 * care about what they read back (`CSeq`, `Content-Length`).
 *
 * Repeated fields stay separate entries (a 401 may carry several WWW-Authenticate). A message has a dozen
 * fields, so lookups scan the list instead of keeping an index.
 *
 * Names must be tokens and values must not hold CR, LF or NUL: `set` and `append` throw a TypeError
 * otherwise, so nothing can inject a header line through a value.
 */
export class RtspHeaders {
  readonly #fields: Field[] = [];

  constructor(init?: Iterable<readonly [string, string]> | Readonly<Record<string, string>>) {
    if (init === undefined) return;
    const entries = isIterable(init) ? init : Object.entries(init);
    for (const [name, value] of entries) this.append(name, value);
  }

  /** The first value of `name`, or undefined. */
  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    return this.#fields.find((f) => f.lower === lower)?.value;
  }

  /** Every value of `name`, in order. */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    return this.#fields.filter((f) => f.lower === lower).map((f) => f.value);
  }

  has(name: string): boolean {
    const lower = name.toLowerCase();
    return this.#fields.some((f) => f.lower === lower);
  }

  /** Replaces every `name` field by one, at the position of the first (or at the end when absent). */
  set(name: string, value: string): this {
    const field = makeField(name, value);
    const first = this.#fields.findIndex((f) => f.lower === field.lower);
    if (first < 0) {
      this.#fields.push(field);
      return this;
    }
    this.#fields[first] = field;
    this.#removeFrom(field.lower, first + 1);
    return this;
  }

  append(name: string, value: string): this {
    this.#fields.push(makeField(name, value));
    return this;
  }

  delete(name: string): void {
    this.#removeFrom(name.toLowerCase(), 0);
  }

  /** `[name, value]` pairs in order, names as written. */
  *entries(): IterableIterator<[string, string]> {
    for (const f of this.#fields) yield [f.name, f.value];
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** The number of fields, repeated names counted each time. */
  get size(): number {
    return this.#fields.length;
  }

  /** A plain object for logs and assertions; repeated names are joined with ", ". */
  toJSON(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of this.#fields) {
      const prev = Object.hasOwn(out, f.name) ? out[f.name] : undefined;
      Object.defineProperty(out, f.name, {
        value: prev === undefined ? f.value : `${prev}, ${f.value}`,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  #removeFrom(lower: string, start: number): void {
    let w = start;
    for (let r = start; r < this.#fields.length; r++) {
      const f = this.#fields[r]!;
      if (f.lower !== lower) this.#fields[w++] = f;
    }
    this.#fields.length = w;
  }
}

function makeField(name: string, value: string): Field {
  if (!isToken(name)) throw new TypeError(`invalid RTSP header name ${JSON.stringify(name)}`);
  if (hasLineBreak(value)) throw new TypeError(`RTSP header ${name} has a line break or NUL in its value`);
  return { name, lower: name.toLowerCase(), value };
}

function isIterable(
  x: Iterable<readonly [string, string]> | Readonly<Record<string, string>>,
): x is Iterable<readonly [string, string]> {
  return typeof (x as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function';
}
