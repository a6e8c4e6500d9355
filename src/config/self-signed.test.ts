import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { makeSelfSignedCertificate } from './self-signed.js';

test('the self-signed certificate is valid X.509 for localhost and 127.0.0.1, signed by its own key', () => {
  const now = new Date(Date.UTC(2026, 11, 6, 12));
  const { cert, key } = makeSelfSignedCertificate('localhost', 30, now);
  const x = new X509Certificate(cert);
  assert.equal(x.subject, 'CN=localhost');
  assert.equal(x.issuer, 'CN=localhost');
  assert.equal(x.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
  assert.ok(x.verify(x.publicKey));
  assert.ok(x.checkPrivateKey(createPrivateKey(key)));
  assert.equal(new Date(x.validTo).getTime(), now.getTime() + 30 * 86400_000);
  assert.equal(x.ca, false);
});

test('a TLS client that trusts it completes a handshake with it', async () => {
  const { cert, key } = makeSelfSignedCertificate();
  const server = tls.createServer({ cert, key }, (s) => s.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    for (const servername of ['localhost', undefined]) {
      const reply = await new Promise<string>((resolve, reject) => {
        const c = tls.connect({ port, host: '127.0.0.1', ca: cert, ...(servername ? { servername } : {}) });
        let text = '';
        c.on('data', (d: Buffer) => (text += d.toString()));
        c.on('end', () => resolve(text));
        c.on('error', reject);
      });
      assert.equal(reply, 'ok');
    }
  } finally {
    server.close();
  }
});
