/** An in-process rtspkit server on 127.0.0.1 with free ports, for end-to-end tests. */
import { RtspServer, type RtspServerOptions } from '../../src/server/server.js';
import { createLogger } from '../../src/log/logger.js';

export async function startTestServer(
  options: RtspServerOptions = {},
): Promise<{ server: RtspServer; url: (path: string) => string }> {
  const logger = createLogger(process.env.RTSPKIT_TEST_LOG === '1' ? 'debug' : 'silent', process.stderr);
  const server = new RtspServer({ host: '127.0.0.1', port: 0, udpRtpPort: 0, logger, ...options });
  await server.listen();
  return { server, url: (path) => `rtsp://127.0.0.1:${server.port}/${path}` };
}
