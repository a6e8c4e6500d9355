// A pull over rtsps:// with the upstream's certificate pinned by its SHA-256 fingerprint: a self-signed
// certificate is taken when it matches, and refused when it does not or when nothing is pinned.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { DEMO_CLIP } from '../src/app.js';
import { RtspClientError } from '../src/client/index.js';
import { selfSignedCertificate } from '../src/config/tls.js';
import { Stream } from '../src/media/stream.js';
import type { RtspServer } from '../src/server/server.js';
import { openRtspPull } from '../src/sources/rtsp-pull.js';
import { waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';

describe('pull over rtsps with a pinned certificate', () => {
  let server: RtspServer;
  let fingerprint: string;
  let url: string;
  before(async () => {
    const material = selfSignedCertificate();
    fingerprint = new X509Certificate(material.cert).fingerprint256;
    ({ server } = await startTestServer({ tls: { ...material, port: 0 } }));
    const added = await server.paths.addFileLoop('cam', { file: DEMO_CLIP, loop: true }, 'api');
    assert.ok(added.ok);
    url = `rtsps://127.0.0.1:${server.rtspsPort!}/cam`;
  });
  after(async () => {
    await server.close();
  });

  test('the pinned fingerprint (colons or not, any case) is accepted and media flows', async () => {
    const pinned = fingerprint.replace(/:/g, '').toLowerCase();
    const pull = await openRtspPull({ url, tlsFingerprint: pinned, transport: 'tcp' });
    try {
      const stream = new Stream(pull.media.tracks);
      pull.start(stream);
      await waitFor(() => (stream.counters[0]?.packetsIn ?? 0) > 10, 10_000, 'packets over rtsps');
      assert.equal(pull.owner.url, url);
    } finally {
      await pull.stop();
    }
  });

  test('another fingerprint, or none with a self-signed certificate, is refused', async () => {
    const other = `${fingerprint.slice(0, -2)}${fingerprint.endsWith('00') ? '11' : '00'}`;
    await assert.rejects(
      openRtspPull({ url, tlsFingerprint: other, transport: 'tcp', timeoutMs: 5000 }),
      (e: unknown) => e instanceof RtspClientError && e.code === 'TLS_FINGERPRINT',
    );
    await assert.rejects(
      openRtspPull({ url, transport: 'tcp', timeoutMs: 5000 }),
      (e: unknown) => e instanceof RtspClientError,
    );
  });
});
