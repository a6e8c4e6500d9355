/**
 * Certificates for RTSPS. `--tls-self-signed` makes a throwaway one with the openssl command
 * (Node can make keys but not X.509 certificates); for real use give tlsCert/tlsKey files.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

export function selfSignedCertificate(commonName = 'localhost'): TlsMaterial {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-tls-'));
  try {
    const r = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30']
        .concat(['-subj', `/CN=${commonName}`, '-addext', `subjectAltName=DNS:${commonName},IP:127.0.0.1`])
        .concat(['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]),
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 },
    );
    if (r.error !== undefined || r.status !== 0) {
      const why = r.error !== undefined ? r.error.message : r.stderr.toString().trim().split('\n').pop();
      throw new ConfigError(`cannot make a self-signed certificate with openssl: ${why ?? 'unknown error'}`);
    }
    return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function loadTlsFiles(certPath: string, keyPath: string): TlsMaterial {
  try {
    return { cert: readFileSync(certPath), key: readFileSync(keyPath) };
  } catch (err) {
    throw new ConfigError(`cannot read TLS certificate or key: ${(err as Error).message}`);
  }
}
