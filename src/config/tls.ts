/**
 * Certificates for RTSPS: PEM files from the config, or for `--tls-self-signed` a throwaway
 * self-signed one made in-process (self-signed.ts); for real use give tlsCert/tlsKey files.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './config.js';
import { makeSelfSignedCertificate } from './self-signed.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

export function selfSignedCertificate(commonName = 'localhost'): TlsMaterial {
  return makeSelfSignedCertificate(commonName);
}

export function loadTlsFiles(certPath: string, keyPath: string): TlsMaterial {
  try {
    return { cert: readFileSync(certPath), key: readFileSync(keyPath) };
  } catch (err) {
    throw new ConfigError(`cannot read TLS certificate or key: ${(err as Error).message}`);
  }
}
