import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import { Base64StreamDecoder, looksLikeHttpTunnel, parseTunnelRequest } from './tunnel.js';

test('the two halves of a QuickTime tunnel are recognised', () => {
  const get = Buffer.from(
    'GET /live/cam HTTP/1.0\r\nUser-Agent: QTS\r\nx-sessioncookie: a1b2c3\r\nAccept: application/x-rtsp-tunnelled\r\n\r\n',
  );
  assert.ok(looksLikeHttpTunnel(get));
  assert.deepEqual(parseTunnelRequest(get), {
    method: 'GET',
    path: '/live/cam',
    cookie: 'a1b2c3',
    headBytes: get.length,
  });
  const post = Buffer.from(
    'POST /live/cam HTTP/1.0\r\nX-SessionCookie: a1b2c3\r\nContent-Type: application/x-rtsp-tunnelled\r\nContent-Length: 32767\r\n\r\nT1BUSU9OUw==',
  );
  const r = parseTunnelRequest(post)!;
  assert.equal(r.method, 'POST');
  assert.equal(post.subarray(r.headBytes).toString(), 'T1BUSU9OUw==');
  assert.equal(parseTunnelRequest(get.subarray(0, 20)), undefined, 'incomplete head');
  assert.ok(!looksLikeHttpTunnel(Buffer.from('OPTIONS * RTSP/1.0\r\n')));
  assert.throws(() => parseTunnelRequest(Buffer.from('GET / HTTP/1.0\r\n\r\n')), ParseError);
  assert.throws(() => parseTunnelRequest(Buffer.alloc(10_000, 0x41)), ParseError);
});

test('base64 split at any byte decodes to the same bytes (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (messages, cuts) => {
        // Clients encode each request on its own, with padding.
        const text = Buffer.from(messages.map((m) => Buffer.from(m).toString('base64')).join('\r\n'));
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const d = new Base64StreamDecoder();
        const parts: Buffer[] = [];
        let prev = 0;
        for (const p of [...points, text.length]) {
          parts.push(d.push(text.subarray(prev, p)));
          prev = p;
        }
        assert.deepEqual(Buffer.concat(parts), Buffer.concat(messages.map((m) => Buffer.from(m))));
      },
    ),
  );
  assert.throws(() => new Base64StreamDecoder().push(Buffer.from('ab*d')), ParseError);
});
