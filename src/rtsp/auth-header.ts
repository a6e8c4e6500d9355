/**
 * The syntax of WWW-Authenticate and Authorization (RFC 2326 §12.5, §12.44, which defer to HTTP; grammar of
 * RFC 7235 §2.1): a scheme followed by either a token68 or a comma list of `name=value` auth-params whose
 * values are tokens or quoted strings.
 *
 *   WWW-Authenticate: Digest realm="x", nonce="y", qop="auth,auth-int", algorithm=MD5, stale=TRUE
 *   Authorization: Basic dXNlcjpwYXNz
 *
 * One WWW-Authenticate value may hold several challenges (`Digest realm="a", nonce="b", Basic realm="a"`);
 * a 401 may also repeat the header. Computing digests is the job of src/auth.
 */
import { ParseError } from '../base/errors.js';
import { RtspErrorCode } from './status.js';
import { hasLineBreak, isToken, quote } from './syntax.js';

export interface AuthChallenge {
  /** As written (`Digest`, `Basic`); compare case-insensitively. */
  scheme: string;
  /** auth-params by lower-case name, values unquoted. */
  params: Record<string, string>;
  /** The token68 form (`Basic dXNlcjpwYXNz`), exclusive with params. */
  token68?: string;
}

/** Credentials have the same shape as a challenge. */
export type AuthCredentials = AuthChallenge;

function bad(message: string): ParseError {
  return new ParseError(RtspErrorCode.BadAuth, message);
}

const TOKEN_CHAR_RE = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_AT_END_RE = /^[A-Za-z0-9\-._~+/]+=*[ \t]*(?:,|$)/;

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string | undefined {
    return this.text[this.pos];
  }

  /** Skips SP and HT; returns whether any was skipped. */
  skipSpace(): boolean {
    const start = this.pos;
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
    return this.pos > start;
  }

  skipSpaceAndCommas(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.pos++;
  }

  token(): string | undefined {
    const start = this.pos;
    while (!this.atEnd() && TOKEN_CHAR_RE.test(this.text[this.pos]!)) this.pos++;
    return this.pos > start ? this.text.slice(start, this.pos) : undefined;
  }

  /** A token68 that is the whole rest of this list item, or undefined (cursor unchanged). */
  token68(): string | undefined {
    const m = TOKEN68_AT_END_RE.exec(this.text.slice(this.pos));
    if (m === null) return undefined;
    const value = m[0].replace(/[ \t,]+$/, '');
    this.pos += value.length;
    return value;
  }

  quoted(): string {
    let out = '';
    for (let i = this.pos + 1; i < this.text.length; i++) {
      const c = this.text[i]!;
      if (c === '"') {
        this.pos = i + 1;
        return out;
      }
      if (c === '\\') i++;
      out += this.text[i] ?? '';
    }
    throw bad('unterminated quoted string');
  }

  /**
   * An unquoted value. RFC 7235 wants a token; peers also write `uri=/path` or base64 bare, so anything up
   * to a comma or whitespace is taken.
   */
  bareValue(): string | undefined {
    const start = this.pos;
    while (!this.atEnd() && !/[\s,"]/.test(this.text[this.pos]!)) this.pos++;
    return this.pos > start ? this.text.slice(start, this.pos) : undefined;
  }
}

function setParam(params: Record<string, string>, name: string, value: string): void {
  const key = name.toLowerCase();
  // RFC 7235: a parameter occurs once; keep the first. defineProperty keeps `__proto__` an ordinary key.
  if (Object.hasOwn(params, key)) return;
  Object.defineProperty(params, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Parses the items of a challenge or credentials list. */
function parseList(value: string): AuthChallenge[] {
  const c = new Cursor(value);
  const out: AuthChallenge[] = [];
  c.skipSpaceAndCommas();
  while (!c.atEnd()) {
    const scheme = c.token();
    if (scheme === undefined)
      throw bad(`expected an auth scheme at ${JSON.stringify(value.slice(c.pos, c.pos + 32))}`);
    const item: AuthChallenge = { scheme, params: {} };
    out.push(item);
    const spaced = c.skipSpace();
    if (c.atEnd() || c.peek() === ',') {
      c.skipSpaceAndCommas();
      continue;
    }
    if (!spaced) throw bad(`expected a space after ${scheme}`);
    const t68 = c.token68();
    if (t68 !== undefined) {
      item.token68 = t68;
      c.skipSpaceAndCommas();
      continue;
    }
    // auth-params until the end or until an item that is not `name=`, which starts the next challenge.
    let first = true;
    while (!c.atEnd()) {
      const save = c.pos;
      const name = c.token();
      c.skipSpace();
      if (name === undefined || c.peek() !== '=') {
        if (first) throw bad(`malformed auth-param at ${JSON.stringify(value.slice(save, save + 32))}`);
        c.pos = save;
        break;
      }
      first = false;
      c.pos++;
      c.skipSpace();
      const v = c.peek() === '"' ? c.quoted() : c.bareValue();
      if (v === undefined) throw bad(`auth-param ${name} has no value`);
      setParam(item.params, name, v);
      c.skipSpace();
      if (!c.atEnd() && c.peek() !== ',') throw bad(`expected a comma after auth-param ${name}`);
      c.skipSpaceAndCommas();
    }
  }
  return out;
}

/** Parses a WWW-Authenticate (or Proxy-Authenticate) value into its challenges. */
export function parseWwwAuthenticate(value: string): AuthChallenge[] {
  const list = parseList(value);
  if (list.length === 0) throw bad('empty WWW-Authenticate');
  return list;
}

/** Parses an Authorization (or Proxy-Authorization) value: exactly one set of credentials. */
export function parseAuthorization(value: string): AuthCredentials {
  const list = parseList(value);
  if (list.length !== 1) throw bad(`Authorization holds ${list.length} credentials, expected one`);
  return list[0]!;
}

/**
 * Parameters written bare when their value is a token, following RFC 7616 usage (and what ffmpeg, VLC and
 * live555 write): the rest are always quoted, since some peers insist on quotes around realm or nonce.
 */
const BARE_IN_CHALLENGE = new Set(['algorithm', 'stale']);
const BARE_IN_CREDENTIALS = new Set(['algorithm', 'qop', 'nc']);

function serialize(item: AuthChallenge, bare: ReadonlySet<string>): string {
  if (!isToken(item.scheme)) throw new RangeError(`invalid auth scheme ${JSON.stringify(item.scheme)}`);
  if (item.token68 !== undefined) {
    if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(item.token68)) throw new RangeError('invalid token68');
    return `${item.scheme} ${item.token68}`;
  }
  const params = Object.entries(item.params).map(([name, value]) => {
    if (!isToken(name) || hasLineBreak(value))
      throw new RangeError(`invalid auth-param ${JSON.stringify(name)}`);
    return bare.has(name.toLowerCase()) && isToken(value) ? `${name}=${value}` : `${name}=${quote(value)}`;
  });
  return params.length === 0 ? item.scheme : `${item.scheme} ${params.join(', ')}`;
}

/** Writes one challenge; send several as repeated WWW-Authenticate headers. */
export function serializeWwwAuthenticate(challenge: AuthChallenge): string {
  return serialize(challenge, BARE_IN_CHALLENGE);
}

export function serializeAuthorization(credentials: AuthCredentials): string {
  return serialize(credentials, BARE_IN_CREDENTIALS);
}

/** The token68 of Basic credentials (RFC 7617): base64 of `user:password` in UTF-8. */
export function encodeBasicCredentials(username: string, password: string): string {
  if (username.includes(':')) throw new RangeError('a Basic user name cannot hold a colon');
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

/** Decodes the token68 of Basic credentials. */
export function decodeBasicCredentials(token68: string): { username: string; password: string } {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(token68) || token68.length % 4 === 1)
    throw bad('Basic credentials are not base64');
  const text = Buffer.from(token68, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) throw bad('Basic credentials without a colon');
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}
