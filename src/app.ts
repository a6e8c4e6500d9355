/** Wires configuration, logging and the RTSP server together. */
import type { Config } from './config/config.js';
import { splitHostPort } from './config/config.js';
import { createLogger } from './log/logger.js';
import { RtspServer } from './server/server.js';

export interface App {
  server: RtspServer;
  close(): Promise<void>;
}

export async function startApp(config: Config): Promise<App> {
  const logger = createLogger(config.logLevel);
  const { host, port } = splitHostPort(config.rtspAddress);
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
  });
  await server.listen();
  return {
    server,
    close: () => server.close(),
  };
}
