/**
 * The server side of RTSP authentication (RFC 2326 §12.5 via RFC 2617, RFC 7616, RFC 7617): challenges,
 * stateless nonces, and checking Basic and Digest credentials. Sans-I/O: time and randomness are passed in;
 * hashing reuses ./digest.ts, which the client side uses to answer.
 *
 * Interop (design/interop-notes.md, Auth):
 * - A 401 offers Digest SHA-256, then Digest MD5, then Basic (unless disabled), all with one nonce. MD5 is
 *   never left out (ffmpeg only does MD5) and it must come LAST among the Digest challenges: ffmpeg
 *   (libavformat/httpauth.c, unchanged up to 7.x) and live555 keep the last Digest header they read, and
 *   ffmpeg sends no Authorization at all when that one names SHA-256 (checked with ffprobe 5.1: MD5 first
 *   fails, MD5 last works). Clients that pick the first challenge they support get SHA-256 if they can
 *   (RFC 7616 §3.7: most preferred first); MD5-only clients that take the first header and omit
 *   `algorithm` (GStreamer 1.22, old go2rtc) still work since both challenges share the nonce.
 * - HA2 is computed with the request's own method.
 * - The digest `uri` is matched leniently: absolute or relative, with or without a trailing slash, another
 *   host spelling, query ignored, and the aggregate URL for a track URL of the same path (or back), since
 *   clients reuse the credentials of DESCRIBE for SETUP. It must still name the same stream path: an RFC
 *   2069 answer (no qop) repeats legitimately and is not in the replay memory, so an answer seen for
 *   `/private` would otherwise open `/private/feed` (RFC 7616 §3.4.6 and RFC 2617 §3.2.2.5 bind the
 *   response to the request's uri; RFC 2069 §2.1.2 to the "Request-URI").
 *
 * Nonces are stateless (RFC 7616 §5.5 suggests a timestamp and a MAC): base64url of an 8-byte timestamp, 12
 * random bytes and a 16-byte HMAC-SHA256 of both under a server secret. They expire without a table; a
 * right answer with an expired nonce gets `stale=true`.
 *
 * Replay (RFC 7616 §3.4 and §5.5): with qop=auth a client counts its requests per nonce (`nc`) and picks
 * a cnonce, both inside the hashed response, so two requests never carry the same response unless one is
 * a copy of the other. NonceCountMemory remembers the (nonce, response) pairs it accepted, bounded in
 * entries; a replay gets 401 stale=true, so a client that really did resend recovers with a fresh nonce,
 * while a replayer cannot answer it. Keying on the response rather than on nc alone also lets through
 * clients that send nc=1 with a fresh cnonce each time, which no attacker can forge. Without qop
 * (RFC 2069: GStreamer 1.22, live555, many cameras) the response is the same for every identical request
 * (keep-alives) and a client legitimately reuses a nonce: there replay stays bounded by the nonce
 * lifetime only.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ParseError } from '../base/errors.js';
import type { AuthChallenge, AuthCredentials } from '../rtsp/auth-header.js';
import { decodeBasicCredentials } from '../rtsp/auth-header.js';
import { splitTrackUrl } from '../rtsp/url.js';
import type { DigestAlgorithm } from './digest.js';
import { digestHa1, digestHash, digestResponse } from './digest.js';
import type { StoredPassword } from './password.js';
import { AuthErrorCode, verifyPassword } from './password.js';

// ---------------------------------------------------------------------------------------------- nonces

const NONCE_TIME_BYTES = 8;
export const NONCE_RANDOM_BYTES = 12;
const NONCE_MAC_BYTES = 16;
const NONCE_BYTES = NONCE_TIME_BYTES + NONCE_RANDOM_BYTES + NONCE_MAC_BYTES;
const NONCE_RE = /^[A-Za-z0-9_-]{48}$/;
/** A nonce stamped this far in the future is rejected; allows a wall clock stepping back a little. */
const NONCE_FUTURE_SKEW_MS = 60_000;

function nonceMac(secret: Uint8Array, body: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(body).digest().subarray(0, NONCE_MAC_BYTES);
}

/** A nonce stamped `nowMs` (wall-clock ms); `random` is NONCE_RANDOM_BYTES fresh random bytes. */
export function createNonce(secret: Uint8Array, nowMs: number, random: Uint8Array): string {
  if (random.length !== NONCE_RANDOM_BYTES)
    throw new RangeError(`a nonce needs ${NONCE_RANDOM_BYTES} random bytes`);
  if (secret.length < 16) throw new RangeError('the nonce secret needs 16 bytes or more');
  const body = Buffer.alloc(NONCE_TIME_BYTES + NONCE_RANDOM_BYTES);
  body.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(nowMs))), 0);
  body.set(random, NONCE_TIME_BYTES);
  return Buffer.concat([body, nonceMac(secret, body)]).toString('base64url');
}

/** `valid`; `stale` (ours but older than `lifetimeMs`); `invalid` (not ours, malformed, from the future). */
export type NonceState = 'valid' | 'stale' | 'invalid';

export function checkNonce(secret: Uint8Array, nonce: string, nowMs: number, lifetimeMs: number): NonceState {
  if (!NONCE_RE.test(nonce)) return 'invalid';
  const raw = Buffer.from(nonce, 'base64url');
  if (raw.length !== NONCE_BYTES) return 'invalid';
  const body = raw.subarray(0, NONCE_TIME_BYTES + NONCE_RANDOM_BYTES);
  if (!timingSafeEqual(raw.subarray(body.length), nonceMac(secret, body))) return 'invalid';
  const stampMs = Number(raw.readBigUInt64BE(0));
  if (stampMs > nowMs + NONCE_FUTURE_SKEW_MS) return 'invalid';
  return nowMs - stampMs > lifetimeMs ? 'stale' : 'valid';
}

/** When a nonce of ours was made (wall-clock ms); undefined when it is not one of ours (see checkNonce). */
export function nonceStampMs(secret: Uint8Array, nonce: string): number | undefined {
  if (!NONCE_RE.test(nonce)) return undefined;
  const raw = Buffer.from(nonce, 'base64url');
  if (raw.length !== NONCE_BYTES) return undefined;
  const body = raw.subarray(0, NONCE_TIME_BYTES + NONCE_RANDOM_BYTES);
  if (!timingSafeEqual(raw.subarray(body.length), nonceMac(secret, body))) return undefined;
  return Number(raw.readBigUInt64BE(0));
}

/** Entries a NonceCountMemory keeps by default: at ~250 bytes each, about 4 MB at most. */
export const DEFAULT_NONCE_COUNT_ENTRIES = 16_384;

/**
 * The (nonce, response) pairs of accepted Digest qop=auth answers, to refuse the same answer twice.
 * Bounded: past `maxEntries` the oldest entries go and every nonce stamped no later than one that went is
 * answered `unknown` unless remembered (the caller asks for a fresh nonce), so forgetting never reopens a
 * replay. Entries of expired nonces go first: such answers are stale anyway.
 */
export type AnswerUse = 'fresh' | 'replay' | 'unknown';

/**
 * Where accepted Digest answers are remembered: this process (NonceCountMemory) or, in a cluster, a
 * store every node shares (src/cluster/shared-digest.ts), so an answer replayed to another node is
 * refused too.
 */
export interface DigestReplayMemory {
  use(
    nonce: string,
    stampMs: number,
    response: string,
    nowMs: number,
    lifetimeMs: number,
  ): AnswerUse | Promise<AnswerUse>;
}

export class NonceCountMemory implements DigestReplayMemory {
  readonly #seen = new Map<string, number>();
  /** Nonces stamped at or before this may have lost entries. */
  #forgottenUpToMs = -Infinity;

  constructor(readonly maxEntries: number = DEFAULT_NONCE_COUNT_ENTRIES) {
    if (!(maxEntries >= 1)) throw new RangeError('NonceCountMemory needs room for one entry');
  }

  get size(): number {
    return this.#seen.size;
  }

  /**
   * Records an accepted answer (`response` as lower-case hex): `fresh` the first time, `replay` when it
   * was accepted before, `unknown` when its nonce is older than what the memory has had to forget.
   */
  use(nonce: string, stampMs: number, response: string, nowMs: number, lifetimeMs: number): AnswerUse {
    const key = `${nonce} ${response}`;
    if (this.#seen.has(key)) return 'replay';
    if (stampMs <= this.#forgottenUpToMs) return 'unknown';
    for (const [k, stamp] of this.#seen) {
      if (nowMs - stamp <= lifetimeMs) break;
      this.#seen.delete(k);
    }
    this.#seen.set(key, stampMs);
    while (this.#seen.size > this.maxEntries) {
      const [k, stamp] = this.#seen.entries().next().value!;
      this.#seen.delete(k);
      this.#forgottenUpToMs = Math.max(this.#forgottenUpToMs, stamp);
    }
    return 'fresh';
  }
}

// ------------------------------------------------------------------------------------------ challenges

/**
 * The challenges of a 401, in order: Digest SHA-256, Digest MD5 (both qop=auth, same nonce), then Basic
 * when allowed (see the module comment for why MD5 is the last Digest). Parameters start with realm then
 * nonce, the order live555 scans for. Write each as its own WWW-Authenticate header.
 */
export function serverChallenges(opts: {
  realm: string;
  nonce: string;
  /** The credentials were right but the nonce expired (RFC 7616 §3.3). */
  stale?: boolean;
  basic: boolean;
}): AuthChallenge[] {
  const digest = (algorithm: 'MD5' | 'SHA-256'): AuthChallenge => {
    const params: Record<string, string> = { realm: opts.realm, nonce: opts.nonce, qop: 'auth', algorithm };
    if (opts.stale === true) params.stale = 'true';
    return { scheme: 'Digest', params };
  };
  const out = [digest('SHA-256'), digest('MD5')];
  // RFC 7617 §2.1: charset="UTF-8" tells the client to encode user and password as UTF-8.
  if (opts.basic) out.push({ scheme: 'Basic', params: { realm: opts.realm, charset: 'UTF-8' } });
  return out;
}

// ------------------------------------------------------------------------------------------------ Basic

/** User and password from Basic credentials; ParseError when they are not Basic or not decodable. */
export function parseBasicAuthorization(credentials: AuthCredentials): {
  username: string;
  password: string;
} {
  if (credentials.scheme.toLowerCase() !== 'basic' || credentials.token68 === undefined)
    throw new ParseError(AuthErrorCode.BadCredentials, 'not Basic credentials');
  return decodeBasicCredentials(credentials.token68);
}

/** Checks Basic credentials against a stored password (see password.ts for the cost of each form). */
export function verifyBasic(
  stored: StoredPassword,
  credentials: { username: string; password: string },
  realm: string,
): boolean {
  return verifyPassword(stored, credentials.password, { username: credentials.username, realm });
}

// ----------------------------------------------------------------------------------------------- Digest

const ALGORITHMS: Readonly<Record<string, DigestAlgorithm>> = {
  md5: 'MD5',
  'md5-sess': 'MD5-sess',
  'sha-256': 'SHA-256',
  'sha-256-sess': 'SHA-256-sess',
};

export interface DigestAuthorization {
  username: string;
  /** RFC 7616 §3.4.4: `username` is H(user:realm). */
  userhash: boolean;
  realm: string;
  nonce: string;
  uri: string;
  /** Lower-case hex. */
  response: string;
  algorithm: DigestAlgorithm;
  /** `auth`, or undefined for RFC 2069 digest. */
  qop?: 'auth';
  nc?: string;
  cnonce?: string;
}

function badDigest(message: string): ParseError {
  return new ParseError(AuthErrorCode.BadCredentials, message);
}

/** Reads Digest credentials; ParseError (AUTH_BAD_CREDENTIALS) when a field is missing or malformed. */
export function parseDigestAuthorization(credentials: AuthCredentials): DigestAuthorization {
  if (credentials.scheme.toLowerCase() !== 'digest') throw badDigest('not Digest credentials');
  const p = credentials.params;
  const need = (name: string): string => {
    const v = Object.hasOwn(p, name) ? p[name] : undefined;
    if (v === undefined) throw badDigest(`Digest credentials without ${name}`);
    return v;
  };
  const algorithm = ALGORITHMS[(Object.hasOwn(p, 'algorithm') ? p.algorithm! : 'MD5').toLowerCase()];
  if (algorithm === undefined) throw badDigest('unknown Digest algorithm');
  const response = need('response').toLowerCase();
  if (!(algorithm.startsWith('SHA-256') ? /^[0-9a-f]{64}$/ : /^[0-9a-f]{32}$/).test(response))
    throw badDigest('Digest response is not a hash of the algorithm');
  const out: DigestAuthorization = {
    username: need('username'),
    userhash: (Object.hasOwn(p, 'userhash') ? p.userhash! : '').toLowerCase() === 'true',
    realm: need('realm'),
    nonce: need('nonce'),
    uri: need('uri'),
    response,
    algorithm,
  };
  const qop = Object.hasOwn(p, 'qop') ? p.qop!.toLowerCase() : undefined;
  if (qop !== undefined) {
    if (qop !== 'auth') throw badDigest('only qop=auth is supported');
    const nc = need('nc');
    if (!/^[0-9a-fA-F]{8}$/.test(nc)) throw badDigest('nc is not 8 hex digits');
    out.qop = 'auth';
    out.nc = nc;
    out.cnonce = need('cnonce');
  } else if (algorithm.endsWith('-sess')) {
    throw badDigest('-sess algorithms need qop');
  }
  return out;
}

/** The path of a request or digest URI, for comparison: no scheme, host, query or edge slashes; decoded. */
function comparablePath(uri: string): string {
  let rest = uri.trim();
  const abs = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(rest);
  if (abs !== null) rest = rest.slice(abs[0].length);
  rest = rest.replace(/[?#].*$/s, '');
  try {
    rest = decodeURIComponent(rest);
  } catch (e) {
    // Not valid percent-encoding: compare as written.
    if (!(e instanceof URIError)) throw e;
  }
  return rest.replace(/\/{2,}/g, '/').replace(/^\/+|\/+$/g, '');
}

/**
 * The stream path a URI names: comparablePath without a last track segment (`trackID=N`, `streamid=N`,
 * `stream=N`), split off by the same splitTrackUrl the server resolves request URLs with, so what
 * counts as "the same path" here is what the server serves as one.
 */
function streamPath(uri: string): string {
  return splitTrackUrl(`/${comparablePath(uri)}`).path.replace(/^\/+|\/+$/g, '');
}

/**
 * Whether the digest `uri` names the request's resource, leniently (see the module comment): the same
 * stream path, the aggregate URL or any of its track URLs. Any other extra or different segment is
 * another resource. `*` matches only an OPTIONS request, so credentials for `OPTIONS *` do not open a
 * stream.
 */
export function digestUriMatches(digestUri: string, requestUri: string, method: string): boolean {
  if (digestUri.trim() === '*' || requestUri.trim() === '*') return method.toUpperCase() === 'OPTIONS';
  return streamPath(digestUri) === streamPath(requestUri);
}

export type DigestVerdict = 'ok' | 'stale' | 'bad-nonce' | 'bad-realm' | 'bad-uri' | 'bad-response';

export interface VerifyDigestInput {
  /** The request's method; HA2 is computed with it. */
  method: string;
  /** The request line's URI, to match the digest `uri` against. */
  requestUri: string;
  /** The realm this server challenged with. */
  realm: string;
  authorization: DigestAuthorization;
  /**
   * The user's clear password, or the HA1 H(user:realm:password) of the authorization's hash family
   * (MD5 for MD5 and MD5-sess, SHA-256 for SHA-256 and SHA-256-sess).
   */
  secret: { password: string } | { ha1: string };
  /** checkNonce's answer for `authorization.nonce`. */
  nonce: NonceState;
}

/**
 * Checks Digest credentials (RFC 7616 §3.4). `stale` only when everything else is right (§3.3: the client
 * then retries with the new nonce without asking the user again).
 */
export function verifyDigest(input: VerifyDigestInput): DigestVerdict {
  const a = input.authorization;
  if (a.realm !== input.realm) return 'bad-realm';
  if (input.nonce === 'invalid') return 'bad-nonce';
  if (!digestUriMatches(a.uri, input.requestUri, input.method)) return 'bad-uri';
  let ha1: string;
  if ('password' in input.secret) {
    ha1 = digestHa1({
      algorithm: a.algorithm,
      username: a.username,
      realm: a.realm,
      password: input.secret.password,
      nonce: a.nonce,
      ...(a.cnonce === undefined ? {} : { cnonce: a.cnonce }),
    });
  } else {
    ha1 = input.secret.ha1.toLowerCase();
    if (a.algorithm.endsWith('-sess')) ha1 = digestHash(a.algorithm, `${ha1}:${a.nonce}:${a.cnonce ?? ''}`);
  }
  const expected = digestResponse({
    algorithm: a.algorithm,
    ha1,
    nonce: a.nonce,
    method: input.method,
    uri: a.uri,
    ...(a.qop === undefined ? {} : { qop: a.qop, nc: a.nc!, cnonce: a.cnonce! }),
  });
  const x = Buffer.from(expected, 'utf8');
  const y = Buffer.from(a.response, 'utf8');
  if (x.length !== y.length || !timingSafeEqual(x, y)) return 'bad-response';
  return input.nonce === 'stale' ? 'stale' : 'ok';
}

/** The `username` a client writes with `userhash=true`: H(user:realm) of the algorithm (RFC 7616 §3.4.4). */
export function digestUserhash(algorithm: DigestAlgorithm, username: string, realm: string): string {
  return digestHash(algorithm, `${username}:${realm}`);
}
