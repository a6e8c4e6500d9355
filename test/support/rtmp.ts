/** An RTMP server over a test RTSP server's paths (the way app.ts wires them), on 127.0.0.1 port 0. */
import { RtmpServer, type RtmpLimits } from '../../src/rtmp/server.js';
import type { RtspServer, RtspServerOptions } from '../../src/server/server.js';
import { createLogger } from '../../src/log/logger.js';
import { startTestServer } from './server.js';

export interface RtmpTestServer {
  server: RtspServer;
  rtmp: RtmpServer;
  rtspUrl(path: string): string;
  rtmpUrl(path: string): string;
  rtmpsUrl(path: string): string;
  close(): Promise<void>;
}

export async function startRtmpTestServer(
  options: {
    rtsp?: RtspServerOptions;
    limits?: Partial<RtmpLimits>;
    tls?: { cert: string | Buffer; key: string | Buffer };
    maxReadersPerPath?: number;
  } = {},
): Promise<RtmpTestServer> {
  const { server, url } = await startTestServer(options.rtsp);
  const logger = createLogger(process.env.RTSPKIT_TEST_LOG === '1' ? 'debug' : 'silent', process.stderr);
  const rtmp = new RtmpServer({
    host: '127.0.0.1',
    port: 0,
    ...(options.tls !== undefined ? { tls: { ...options.tls, port: 0 } } : {}),
    clock: server.clock,
    logger,
    paths: server.paths,
    authorizer: () => server.authorizer,
    maxReadersPerPath: () => options.maxReadersPerPath ?? 0,
    ...(options.limits !== undefined ? { limits: options.limits } : {}),
  });
  await rtmp.listen();
  return {
    server,
    rtmp,
    rtspUrl: url,
    rtmpUrl: (path) => `rtmp://127.0.0.1:${rtmp.port}/${path}`,
    rtmpsUrl: (path) => `rtmps://127.0.0.1:${rtmp.rtmpsPort}/${path}`,
    close: async () => {
      await rtmp.close();
      await server.close();
    },
  };
}
