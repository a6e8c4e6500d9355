/**
 * The RTMP handshake (Adobe RTMP specification 1.0, §5.2): C0/S0 (version 3), C1/S1 and C2/S2 of
 * 1536 bytes each. The specification's plain form just echoes: S2 is C1. Flash-era clients (and
 * ffmpeg, librtmp) send the undocumented "digest" form: C1 carries an HMAC-SHA256 of itself keyed
 * with "Genuine Adobe Flash Player 001" at an offset derived from its own bytes; such a client checks
 * that S1 carries a digest keyed with the server's key and that S2 ends with an HMAC of its random
 * bytes keyed by an HMAC of the client's digest. We answer in kind when C1's digest is valid (either
 * of the two offset schemes), else with the plain echo, so both kinds of client are accepted.
 * Sans-I/O: the random bytes come in as an argument.
 */
import { createHmac } from 'node:crypto';
import { ParseError } from '../base/errors.js';

export const RTMP_VERSION = 3;
export const HANDSHAKE_SIZE = 1536;
const DIGEST_SIZE = 32;

/** The 32 bytes both well-known keys end with. */
const KEY_TAIL = Buffer.from('f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae', 'hex');
const CLIENT_KEY_TEXT = Buffer.from('Genuine Adobe Flash Player 001', 'latin1');
const SERVER_KEY_TEXT = Buffer.from('Genuine Adobe Flash Media Server 001', 'latin1');
const SERVER_KEY_FULL = Buffer.concat([SERVER_KEY_TEXT, KEY_TAIL]);
/** What S1 says as the server's version (its digest form needs a non-zero one). */
const SERVER_VERSION = Buffer.from([0x0d, 0x0e, 0x0a, 0x0d]);

function hmac(key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Where the digest sits in a 1536-byte block, for scheme 0 (offset bytes at 8) or 1 (at 772). */
function digestOffset(block: Buffer, scheme: 0 | 1): number {
  const base = scheme === 0 ? 8 : 772;
  const sum = block[base]! + block[base + 1]! + block[base + 2]! + block[base + 3]!;
  return (sum % 728) + base + 4;
}

function digestAt(block: Buffer, offset: number, key: Buffer): Buffer {
  return hmac(key, block.subarray(0, offset), block.subarray(offset + DIGEST_SIZE));
}

/** The client's digest from C1 when it carries a valid one (and under which scheme), else undefined. */
export function findClientDigest(c1: Buffer): { digest: Buffer; scheme: 0 | 1 } | undefined {
  if (c1.length !== HANDSHAKE_SIZE) return undefined;
  for (const scheme of [0, 1] as const) {
    const offset = digestOffset(c1, scheme);
    const digest = c1.subarray(offset, offset + DIGEST_SIZE);
    if (digestAt(c1, offset, CLIENT_KEY_TEXT).equals(digest)) return { digest: Buffer.from(digest), scheme };
  }
  return undefined;
}

/**
 * S0 + S1 + S2 answering C0 + C1 (`c0c1`: 1537 bytes). `random` gives 2 x 1536 random bytes (the
 * caller's source); `epochMs` is S1's time field. Throws ParseError when C0 is not version 3.
 */
export function serverHandshakeReply(c0c1: Buffer, random: Buffer, epochMs = 0): Buffer {
  if (c0c1.length !== 1 + HANDSHAKE_SIZE) throw new ParseError('RTMP_HANDSHAKE', 'C0+C1 must be 1537 bytes');
  // Version 3 is plain RTMP; 6 and 8 are RTMPE (encrypted), which we do not speak (§5.2.2).
  if (c0c1[0] !== RTMP_VERSION)
    throw new ParseError('RTMP_HANDSHAKE_VERSION', `unsupported RTMP version ${c0c1[0]}`);
  if (random.length < 2 * HANDSHAKE_SIZE) throw new RangeError('handshake needs 3072 random bytes');
  const c1 = c0c1.subarray(1);
  const s1 = Buffer.from(random.subarray(0, HANDSHAKE_SIZE));
  s1.writeUInt32BE(epochMs >>> 0, 0);
  const client = findClientDigest(c1);
  if (client === undefined) {
    s1.writeUInt32BE(0, 4); // plain form: zero version, no digest expected
    return Buffer.concat([Buffer.from([RTMP_VERSION]), s1, c1]);
  }
  SERVER_VERSION.copy(s1, 4);
  const offset = digestOffset(s1, client.scheme);
  digestAt(s1, offset, SERVER_KEY_TEXT).copy(s1, offset);
  const s2 = Buffer.from(random.subarray(HANDSHAKE_SIZE, 2 * HANDSHAKE_SIZE));
  const key = hmac(SERVER_KEY_FULL, client.digest);
  hmac(key, s2.subarray(0, HANDSHAKE_SIZE - DIGEST_SIZE)).copy(s2, HANDSHAKE_SIZE - DIGEST_SIZE);
  return Buffer.concat([Buffer.from([RTMP_VERSION]), s1, s2]);
}

/**
 * A C0 + C1 in the digest form, as Flash-era clients send (for tests and our own client): `random`
 * gives its 1536 bytes, scheme 0.
 */
export function clientDigestC0C1(random: Buffer): Buffer {
  const c1 = Buffer.from(random.subarray(0, HANDSHAKE_SIZE));
  c1.writeUInt32BE(0, 0);
  Buffer.from([0x80, 0x00, 0x07, 0x02]).copy(c1, 4);
  const offset = digestOffset(c1, 0);
  digestAt(c1, offset, CLIENT_KEY_TEXT).copy(c1, offset);
  return Buffer.concat([Buffer.from([RTMP_VERSION]), c1]);
}

/** Whether S1 carries a valid server digest (what a digest-form client checks). */
export function serverDigestValid(s1: Buffer, scheme: 0 | 1 = 0): boolean {
  const offset = digestOffset(s1, scheme);
  return digestAt(s1, offset, SERVER_KEY_TEXT).equals(s1.subarray(offset, offset + DIGEST_SIZE));
}
