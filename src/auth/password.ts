/**
 * Stored password forms for server-side users. A config never needs a clear password; which form to
 * store depends on the methods the user must log in with, since Digest needs H(user:realm:password) (HA1)
 * and a salted slow hash cannot give it:
 *
 *   form                                   Basic   Digest MD5   Digest SHA-256
 *   scrypt:<salt b64>:<hash b64>           yes     -            -              (best at rest)
 *   sha256:<hex>                           yes     -            -              (unsalted: weak at rest)
 *   digest-md5:<HA1 hex>                   yes     yes          -              (bound to the realm)
 *   digest-sha256:<HA1 hex>                yes     -            yes            (bound to the realm)
 *   digest:<MD5 HA1 hex>:<SHA-256 HA1 hex> yes     yes          yes            (bound to the realm)
 *   plain:<clear> or any other string      yes     yes          yes            (quick trials only)
 *
 * Basic works with HA1 forms because the server recomputes HA1 from the clear password it receives.
 * HA1 is password-equivalent for Digest in that realm (RFC 7616 §5.2): store it as carefully as a password.
 * ffmpeg only answers Digest MD5, so a user meant for ffmpeg without Basic needs `digest-md5:` or `digest:`.
 *
 * scrypt uses N=16384, r=8, p=1 (RFC 7914 §2 recommends these interactive-login figures) and a key as long
 * as the stored hash. Sans-I/O: the salt is passed in; crypto is computation, not I/O.
 */
import { createHash, scryptSync, timingSafeEqual } from 'node:crypto';
import { ParseError } from '../base/errors.js';
import type { DigestAlgorithm } from './digest.js';
import { digestHa1 } from './digest.js';

export const AuthErrorCode = {
  /** A stored password string in the config has a known prefix but a malformed body. */
  BadPasswordForm: 'AUTH_BAD_PASSWORD_FORM',
  /** Basic or Digest credentials miss a required field or carry a malformed one. */
  BadCredentials: 'AUTH_BAD_CREDENTIALS',
  /** A path pattern of a permission is not a valid regular expression. */
  BadPattern: 'AUTH_BAD_PATTERN',
} as const;

export const SCRYPT_PARAMS = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

/** The Digest hash families a stored HA1 can be for; `-sess` variants derive from the same HA1. */
export type DigestFamily = 'MD5' | 'SHA-256';

export type StoredPassword =
  | { kind: 'clear'; password: string }
  | { kind: 'sha256'; hash: Buffer }
  | { kind: 'scrypt'; salt: Buffer; hash: Buffer }
  | { kind: 'digest'; ha1: Partial<Record<DigestFamily, string>> };

export type PasswordForm = 'scrypt' | 'sha256' | 'digest-md5' | 'digest-sha256' | 'digest';

function badForm(message: string): ParseError {
  return new ParseError(AuthErrorCode.BadPasswordForm, message);
}

const HEX32 = /^[0-9a-fA-F]{32}$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;
const B64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

function hexField(value: string, re: RegExp, what: string): string {
  if (!re.test(value)) throw badForm(`${what} must be ${re === HEX32 ? 32 : 64} hex digits`);
  return value.toLowerCase();
}

function b64Field(value: string, what: string, minBytes: number): Buffer {
  if (!B64.test(value)) throw badForm(`${what} is not base64`);
  const buf = Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
  if (buf.length < minBytes) throw badForm(`${what} is shorter than ${minBytes} bytes`);
  return buf;
}

/**
 * Reads a stored password. A string with a known prefix must be well formed (ParseError otherwise, so a
 * typo in a hash is not silently taken as a clear password); `plain:` or no known prefix means clear.
 * Messages never quote the value.
 */
export function parseStoredPassword(spec: string): StoredPassword {
  const colon = spec.indexOf(':');
  const prefix = colon < 0 ? '' : spec.slice(0, colon).toLowerCase();
  const body = spec.slice(colon + 1);
  switch (prefix) {
    case 'plain':
      return { kind: 'clear', password: body };
    case 'sha256':
      return { kind: 'sha256', hash: Buffer.from(hexField(body, HEX64, 'sha256 hash'), 'hex') };
    case 'scrypt': {
      const parts = body.split(':');
      if (parts.length !== 2) throw badForm('scrypt form is scrypt:<salt>:<hash>');
      return {
        kind: 'scrypt',
        salt: b64Field(parts[0]!, 'scrypt salt', 8),
        hash: b64Field(parts[1]!, 'scrypt hash', 16),
      };
    }
    case 'digest-md5':
      return { kind: 'digest', ha1: { MD5: hexField(body, HEX32, 'MD5 HA1') } };
    case 'digest-sha256':
      return { kind: 'digest', ha1: { 'SHA-256': hexField(body, HEX64, 'SHA-256 HA1') } };
    case 'digest': {
      const parts = body.split(':');
      if (parts.length !== 2) throw badForm('digest form is digest:<MD5 HA1>:<SHA-256 HA1>');
      return {
        kind: 'digest',
        ha1: {
          MD5: hexField(parts[0]!, HEX32, 'MD5 HA1'),
          'SHA-256': hexField(parts[1]!, HEX64, 'SHA-256 HA1'),
        },
      };
    }
    default:
      return { kind: 'clear', password: spec };
  }
}

/** Whether a form is written in clear (for a warning at startup; `plain:` is an explicit choice). */
export function isImplicitClear(spec: string): boolean {
  return parseStoredPassword(spec).kind === 'clear' && !spec.toLowerCase().startsWith('plain:');
}

/** Which methods a stored password allows (see the table above). */
export function passwordMethods(stored: StoredPassword): { basic: true; digest: DigestFamily[] } {
  switch (stored.kind) {
    case 'clear':
      return { basic: true, digest: ['MD5', 'SHA-256'] };
    case 'digest':
      return {
        basic: true,
        digest: (['MD5', 'SHA-256'] as const).filter((f) => stored.ha1[f] !== undefined),
      };
    default:
      return { basic: true, digest: [] };
  }
}

export function digestFamily(algorithm: DigestAlgorithm): DigestFamily {
  return algorithm.startsWith('SHA-256') ? 'SHA-256' : 'MD5';
}

/** HA1 = H(user:realm:password) for the family, or undefined when the stored form cannot give it. */
export function storedHa1(
  stored: StoredPassword,
  family: DigestFamily,
  username: string,
  realm: string,
): string | undefined {
  if (stored.kind === 'digest') return stored.ha1[family];
  if (stored.kind === 'clear')
    return digestHa1({ algorithm: family, username, realm, password: stored.password });
  return undefined;
}

/**
 * Turns a stored password into the cheapest equivalent for a realm: a clear one becomes `digest` HA1s, so
 * the server need not keep it. Other forms are returned unchanged.
 */
export function withoutClear(stored: StoredPassword, username: string, realm: string): StoredPassword {
  if (stored.kind !== 'clear') return stored;
  return {
    kind: 'digest',
    ha1: {
      MD5: storedHa1(stored, 'MD5', username, realm)!,
      'SHA-256': storedHa1(stored, 'SHA-256', username, realm)!,
    },
  };
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function sameHex(a: string, b: string): boolean {
  return sameBytes(Buffer.from(a.toLowerCase(), 'utf8'), Buffer.from(b.toLowerCase(), 'utf8'));
}

/** The scrypt key for a stored scrypt form; engines may compute it asynchronously with the same inputs. */
export function scryptKey(stored: { salt: Buffer; hash: Buffer }, clear: string): Buffer {
  return scryptSync(clear, stored.salt, stored.hash.length, SCRYPT_PARAMS);
}

export function scryptMatches(stored: { hash: Buffer }, derived: Buffer): boolean {
  return sameBytes(stored.hash, derived);
}

/**
 * Checks a clear password (from Basic) against a stored form, in constant time over the compared bytes.
 * Synchronous: for scrypt this blocks for tens of milliseconds; an engine should use scryptKey's inputs with
 * the async `crypto.scrypt` and scryptMatches instead, and cache the outcome.
 */
export function verifyPassword(
  stored: StoredPassword,
  clear: string,
  ctx: { username: string; realm: string },
): boolean {
  switch (stored.kind) {
    case 'clear':
      return sameBytes(Buffer.from(stored.password, 'utf8'), Buffer.from(clear, 'utf8'));
    case 'sha256':
      return sameBytes(stored.hash, createHash('sha256').update(clear, 'utf8').digest());
    case 'scrypt':
      return scryptMatches(stored, scryptKey(stored, clear));
    case 'digest': {
      let ok = false;
      for (const family of ['MD5', 'SHA-256'] as const) {
        const ha1 = stored.ha1[family];
        if (ha1 === undefined) continue;
        const got = digestHa1({
          algorithm: family,
          username: ctx.username,
          realm: ctx.realm,
          password: clear,
        });
        ok = sameHex(ha1, got);
        if (!ok) return false;
      }
      return ok;
    }
  }
}

/**
 * Writes a password in a stored form. `digest*` forms need the user name and realm; `scrypt` needs a
 * random salt of at least 16 bytes (the caller draws it, e.g. crypto.randomBytes(16)).
 */
export function hashPassword(
  clear: string,
  form: PasswordForm,
  opts: { username?: string; realm?: string; salt?: Uint8Array } = {},
): string {
  const ha1 = (family: DigestFamily): string => {
    if (opts.username === undefined || opts.realm === undefined)
      throw new RangeError(`the ${form} form needs the user name and the realm`);
    return digestHa1({ algorithm: family, username: opts.username, realm: opts.realm, password: clear });
  };
  switch (form) {
    case 'sha256':
      return `sha256:${createHash('sha256').update(clear, 'utf8').digest('hex')}`;
    case 'scrypt': {
      if (opts.salt === undefined || opts.salt.length < 16)
        throw new RangeError('scrypt needs a random salt of 16 bytes or more');
      const salt = Buffer.from(opts.salt);
      const key = scryptKey({ salt, hash: Buffer.alloc(32) }, clear);
      return `scrypt:${salt.toString('base64')}:${key.toString('base64')}`;
    }
    case 'digest-md5':
      return `digest-md5:${ha1('MD5')}`;
    case 'digest-sha256':
      return `digest-sha256:${ha1('SHA-256')}`;
    case 'digest':
      return `digest:${ha1('MD5')}:${ha1('SHA-256')}`;
  }
}
