/** Wires configuration, logging and the RTSP server together. */
import type { Config } from './config/config.js';
import { splitHostPort } from './config/config.js';
import { createLogger } from './log/logger.js';
import { RtspServer, type RtspServerOptions } from './server/server.js';
import type { TlsMaterial } from './config/tls.js';
import { loadTlsFiles } from './config/tls.js';

export interface App {
  server: RtspServer;
  close(): Promise<void>;
}

export interface AppOptions {
  /** TLS material made elsewhere (`--tls-self-signed`); else tlsCert/tlsKey of the config. */
  tls?: TlsMaterial;
}

export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = createLogger(config.logLevel);
  const { host, port } = splitHostPort(config.rtspAddress);
  let tls: RtspServerOptions['tls'];
  const material =
    options.tls ??
    (config.tlsCert !== null && config.tlsKey !== null ? loadTlsFiles(config.tlsCert, config.tlsKey) : undefined);
  if (material !== undefined) tls = { ...material, port: splitHostPort(config.rtspsAddress).port };
  const server = new RtspServer({
    host,
    port,
    udpRtpPort: config.rtpPort ?? false,
    sessionTimeoutS: config.sessionTimeout,
    sessionTimeoutGraceS: config.sessionTimeoutGrace,
    udpReadTimeoutS: config.udpReadTimeout,
    writeCoalesceMs: config.writeCoalesceMs,
    gopCacheMaxBytes: config.gopCacheMaxBytes,
    maxReaderBacklogBytes: config.maxReaderBacklogBytes,
    logger,
    ...(tls !== undefined ? { tls } : {}),
  });
  await server.listen();
  return {
    server,
    close: () => server.close(),
  };
}
