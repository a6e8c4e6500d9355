/**
 * HTTP Digest access authentication as RTSP uses it (RFC 2326 §12.5 defers to RFC 2617; RFC 7616 adds
 * SHA-256): computing HA1, HA2 and the response, and building the credentials a client sends. Sans-I/O:
 * the client cnonce is passed in, so the server side can reuse the same arithmetic to check a response.
 *
 * Interop notes: offer (and prefer) SHA-256 only next to MD5, since ffmpeg only does MD5; HA2 uses the
 * request's own method; `qop=auth` only (`auth-int` would hash the body, which no RTSP peer asks for).
 * RFC 2069 digest (no qop) is still sent by cameras and is supported.
 */
import { createHash } from 'node:crypto';
import type { AuthChallenge, AuthCredentials } from '../rtsp/auth-header.js';
import { encodeBasicCredentials } from '../rtsp/auth-header.js';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

const ALGORITHMS: Readonly<Record<string, DigestAlgorithm>> = {
  md5: 'MD5',
  'md5-sess': 'MD5-sess',
  'sha-256': 'SHA-256',
  'sha-256-sess': 'SHA-256-sess',
};

/** A Digest challenge from WWW-Authenticate, with the fields this module uses. */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm: DigestAlgorithm;
  /** The qop options offered, lower-case (e.g. `['auth', 'auth-int']`); empty for RFC 2069 digest. */
  qop: string[];
  /** `stale=true`: the nonce expired but the credentials were right; retry with the new nonce. */
  stale: boolean;
  /** RFC 7616 `userhash=true`. */
  userhash: boolean;
}

/**
 * Reads a Digest challenge; undefined when `challenge` is not Digest, lacks realm or nonce, or names an
 * algorithm this module does not know (the caller then tries the next challenge).
 */
export function parseDigestChallenge(challenge: AuthChallenge): DigestChallenge | undefined {
  if (challenge.scheme.toLowerCase() !== 'digest') return undefined;
  const p = challenge.params;
  const realm = p.realm;
  const nonce = p.nonce;
  if (realm === undefined || nonce === undefined) return undefined;
  const algorithm = ALGORITHMS[(p.algorithm ?? 'MD5').toLowerCase()];
  if (algorithm === undefined) return undefined;
  const out: DigestChallenge = {
    realm,
    nonce,
    algorithm,
    qop: (p.qop ?? '')
      .split(',')
      .map((q) => q.trim().toLowerCase())
      .filter((q) => q !== ''),
    stale: (p.stale ?? '').toLowerCase() === 'true',
    userhash: (p.userhash ?? '').toLowerCase() === 'true',
  };
  if (p.opaque !== undefined) out.opaque = p.opaque;
  return out;
}

function hashName(algorithm: DigestAlgorithm): 'md5' | 'sha256' {
  return algorithm.startsWith('SHA-256') ? 'sha256' : 'md5';
}

/** The lower-case hex digest of `text` (UTF-8) with the algorithm's hash function. */
export function digestHash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(hashName(algorithm)).update(text, 'utf8').digest('hex');
}

/** HA1 = H(user:realm:password); for `-sess` algorithms H(H(user:realm:password):nonce:cnonce) (RFC 7616 §3.4.2). */
export function digestHa1(input: {
  algorithm: DigestAlgorithm;
  username: string;
  realm: string;
  password: string;
  nonce?: string;
  cnonce?: string;
}): string {
  const base = digestHash(input.algorithm, `${input.username}:${input.realm}:${input.password}`);
  if (!input.algorithm.endsWith('-sess')) return base;
  return digestHash(input.algorithm, `${base}:${input.nonce ?? ''}:${input.cnonce ?? ''}`);
}

export interface DigestResponseInput {
  algorithm: DigestAlgorithm;
  /** HA1 as computed by digestHa1 (a server may hold it instead of the password). */
  ha1: string;
  nonce: string;
  method: string;
  /** The digest-uri exactly as sent in the credentials. */
  uri: string;
  /** `auth`, or undefined for RFC 2069 digest (then nc and cnonce are not used). */
  qop?: 'auth';
  /** Nonce count as 8 hex digits, e.g. `00000001`. */
  nc?: string;
  cnonce?: string;
}

/** The `response` value: H(HA1:nonce:nc:cnonce:qop:HA2) with qop, H(HA1:nonce:HA2) without (RFC 7616 §3.4.1). */
export function digestResponse(input: DigestResponseInput): string {
  const ha2 = digestHash(input.algorithm, `${input.method}:${input.uri}`);
  if (input.qop === undefined) return digestHash(input.algorithm, `${input.ha1}:${input.nonce}:${ha2}`);
  return digestHash(
    input.algorithm,
    `${input.ha1}:${input.nonce}:${input.nc ?? ''}:${input.cnonce ?? ''}:${input.qop}:${ha2}`,
  );
}

export interface DigestCredentialsInput {
  username: string;
  password: string;
  method: string;
  uri: string;
  /** The nonce count for this nonce, starting at 1. */
  nonceCount: number;
  /** A fresh client nonce (only used when the challenge offers qop=auth). */
  cnonce: string;
}

/** The Authorization credentials answering `challenge`; write them with serializeAuthorization. */
export function digestCredentials(
  challenge: DigestChallenge,
  input: DigestCredentialsInput,
): AuthCredentials {
  const useQop = challenge.qop.includes('auth');
  const nc = input.nonceCount.toString(16).padStart(8, '0');
  const ha1 = digestHa1({
    algorithm: challenge.algorithm,
    username: input.username,
    realm: challenge.realm,
    password: input.password,
    nonce: challenge.nonce,
    cnonce: input.cnonce,
  });
  const response = digestResponse({
    algorithm: challenge.algorithm,
    ha1,
    nonce: challenge.nonce,
    method: input.method,
    uri: input.uri,
    ...(useQop ? { qop: 'auth' as const, nc, cnonce: input.cnonce } : {}),
  });
  const username = challenge.userhash
    ? digestHash(challenge.algorithm, `${input.username}:${challenge.realm}`)
    : input.username;
  const params: Record<string, string> = {
    username,
    realm: challenge.realm,
    nonce: challenge.nonce,
    uri: input.uri,
    response,
  };
  // RFC 2617 peers (and ffmpeg) omit algorithm for MD5; naming it is allowed and some cameras need it.
  params.algorithm = challenge.algorithm;
  if (challenge.opaque !== undefined) params.opaque = challenge.opaque;
  if (useQop) {
    params.qop = 'auth';
    params.nc = nc;
    params.cnonce = input.cnonce;
  }
  if (challenge.userhash) params.userhash = 'true';
  return { scheme: 'Digest', params };
}

/** The preferred challenge: Digest SHA-256, then Digest MD5 (plain before -sess), then Basic. */
export function selectChallenge(
  challenges: readonly AuthChallenge[],
): { kind: 'digest'; digest: DigestChallenge } | { kind: 'basic'; realm?: string } | undefined {
  const digests = challenges.map(parseDigestChallenge).filter((d): d is DigestChallenge => d !== undefined);
  const rank: Record<DigestAlgorithm, number> = { 'SHA-256': 0, 'SHA-256-sess': 1, MD5: 2, 'MD5-sess': 3 };
  digests.sort((a, b) => rank[a.algorithm] - rank[b.algorithm]);
  if (digests[0] !== undefined) return { kind: 'digest', digest: digests[0] };
  const basic = challenges.find((c) => c.scheme.toLowerCase() === 'basic');
  if (basic === undefined) return undefined;
  return basic.params.realm === undefined ? { kind: 'basic' } : { kind: 'basic', realm: basic.params.realm };
}

/** Basic credentials (RFC 7617). */
export function basicCredentials(username: string, password: string): AuthCredentials {
  return { scheme: 'Basic', params: {}, token68: encodeBasicCredentials(username, password) };
}
