/**
 * A throwaway self-signed certificate for `--tls-self-signed`, made with node:crypto alone (no openssl
 * command): an ECDSA P-256 key, and an X.509 v3 certificate (RFC 5280) encoded here in DER, which
 * node:crypto cannot build. Only what one self-signed server certificate needs is encoded.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

/** DER: a tag, its length (short or long form, X.690 §8.1.3) and contents. */
function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else if (n < 0x100) length = Buffer.from([0x81, n]);
  else if (n < 0x10000) length = Buffer.from([0x82, n >> 8, n & 0xff]);
  else length = Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const sequence = (...items: Buffer[]): Buffer => der(0x30, ...items);
const set = (...items: Buffer[]): Buffer => der(0x31, ...items);

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return der(0x06, Buffer.from(bytes));
}

/** A positive INTEGER from big-endian bytes (a leading 0 when the top bit is set). */
function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  return der(0x02, (b[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

/** UTCTime (dates before 2050, RFC 5280 §4.1.2.5.1) or GeneralizedTime. */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDhhmmss
  return d.getUTCFullYear() < 2050
    ? der(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : der(0x18, Buffer.from(`${iso}Z`));
}

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

function ipv4(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

/** A certificate for `commonName` (also its DNS name) and 127.0.0.1, valid from an hour ago for `days`. */
export function makeSelfSignedCertificate(
  commonName = 'localhost',
  days = 30,
  now = new Date(),
): { cert: Buffer; key: Buffer } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = sequence(set(sequence(oid('2.5.4.3'), der(0x0c, Buffer.from(commonName, 'utf8')))));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const subjectAltName = sequence(
    oid('2.5.29.17'),
    der(0x04, sequence(der(0x82, Buffer.from(commonName, 'ascii')), der(0x87, ipv4('127.0.0.1')))),
  );
  const basicConstraints = sequence(oid('2.5.29.19'), der(0x04, sequence()));
  const extendedKeyUsage = sequence(oid('2.5.29.37'), der(0x04, sequence(oid('1.3.6.1.5.5.7.3.1'))));
  const tbs = sequence(
    der(0xa0, integer(Buffer.from([2]))), // [0] version: v3
    integer(serial),
    ECDSA_WITH_SHA256,
    name,
    sequence(time(new Date(now.getTime() - 3600_000)), time(new Date(now.getTime() + days * 86400_000))),
    name,
    spki,
    der(0xa3, sequence(subjectAltName, basicConstraints, extendedKeyUsage)), // [3] extensions
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const cert = sequence(tbs, ECDSA_WITH_SHA256, der(0x03, Buffer.from([0]), signature));
  const pem = (label: string, body: Buffer): Buffer =>
    Buffer.from(
      `-----BEGIN ${label}-----\n${body
        .toString('base64')
        .replace(/(.{64})/g, '$1\n')
        .replace(/\n$/, '')}\n-----END ${label}-----\n`,
    );
  return {
    cert: pem('CERTIFICATE', cert),
    key: Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' })),
  };
}
