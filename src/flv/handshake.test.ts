import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { clientDigestC0C1, findClientDigest, serverDigestValid, serverHandshakeReply } from './handshake.js';

test('handshake, plain form: S0 is 3, S2 echoes C1', () => {
  const c0c1 = Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 0x42)]);
  c0c1.writeUInt32BE(0, 5); // zero version: no digest
  const reply = serverHandshakeReply(c0c1, randomBytes(3072));
  assert.equal(reply.length, 1 + 2 * 1536);
  assert.equal(reply[0], 3);
  assert.deepEqual(reply.subarray(1537), c0c1.subarray(1));
});

test('handshake, digest form (Flash-era clients, ffmpeg): S1 carries the server digest, S2 is keyed by the client digest', () => {
  const c0c1 = clientDigestC0C1(randomBytes(1536));
  const client = findClientDigest(c0c1.subarray(1));
  assert.ok(client !== undefined);
  const reply = serverHandshakeReply(c0c1, randomBytes(3072));
  const s1 = reply.subarray(1, 1537);
  assert.ok(serverDigestValid(s1, 0));
  assert.notDeepEqual(reply.subarray(1537), c0c1.subarray(1));
  // A C1 whose digest is damaged is answered in the plain form.
  const damaged = Buffer.from(c0c1);
  damaged[100] = damaged[100]! ^ 0xff;
  damaged[900] = damaged[900]! ^ 0xff;
  assert.equal(findClientDigest(damaged.subarray(1)), undefined);
});

test('handshake: C0 of another version (RTMPE 6) is refused', () => {
  const c0c1 = Buffer.concat([Buffer.from([6]), Buffer.alloc(1536)]);
  assert.throws(() => serverHandshakeReply(c0c1, randomBytes(3072)), { code: 'RTMP_HANDSHAKE_VERSION' });
});
