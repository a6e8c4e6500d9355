/**
 * Random bytes drawn from the CSPRNG a pool at a time.
 *
 * `crypto.randomBytes(4)` is a call into OpenSSL (and an allocation) per value: a join storm of 1000
 * readers drew ~7000 of them (session ids, SSRCs, sequence numbers; RFC 3550 §5.1 and RFC 2326 §12.37 want
 * them random) and the CPU profile counted 4 % of the server's time there. Here one `randomFillSync`
 * fills 4 KB and values are read from it until it is used up, as Node's own `randomUUID` caches its
 * entropy. The bytes are the same CSPRNG's and each is handed out once; what the pool holds is never
 * exposed.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let offset = POOL_BYTES;

function take(bytes: number): number {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const at = offset;
  offset += bytes;
  return at;
}

/** A random unsigned 32-bit integer. */
export function randomUint32(): number {
  return pool.readUInt32BE(take(4));
}

/** A random unsigned 16-bit integer. */
export function randomUint16(): number {
  return pool.readUInt16BE(take(2));
}

/** `bytes` random bytes as upper-case hex (2 characters a byte). */
export function randomHex(bytes: number): string {
  if (bytes > POOL_BYTES) throw new RangeError(`randomHex: at most ${POOL_BYTES} bytes`);
  const at = take(bytes);
  return pool.toString('hex', at, at + bytes).toUpperCase();
}
