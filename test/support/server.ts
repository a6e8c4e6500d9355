/** An in-process rtspkit server on 127.0.0.1 with free ports, for end-to-end tests. */
import { RtspServer, type RtspServerOptions } from '../../src/server/server.js';
import { createLogger } from '../../src/log/logger.js';

/**
 * The first lines of an rtspkit.yml for a whole app (startApp) in a test: RTSP and the API on
 * 127.0.0.1 with free ports, no UDP, no multicast, no log. Tests add their own lines after them.
 */
export const LOOPBACK_APP_CONFIG_LINES: readonly string[] = [
  'logLevel: silent',
  "rtspAddress: '127.0.0.1:0'",
  'rtpPort: null',
  // RTMP's default :1935 would collide between test processes: tests that need it give port 0.
  'rtmpAddress: null',
  'multicastRange: null',
  'api: true',
  "apiAddress: '127.0.0.1:0'",
];

export async function startTestServer(
  options: RtspServerOptions = {},
): Promise<{ server: RtspServer; url: (path: string) => string }> {
  const logger = createLogger(process.env.RTSPKIT_TEST_LOG === '1' ? 'debug' : 'silent', process.stderr);
  const server = new RtspServer({ host: '127.0.0.1', port: 0, udpRtpPort: 0, logger, ...options });
  await server.listen();
  return { server, url: (path) => `rtsp://127.0.0.1:${server.port}/${path}` };
}

/**
 * Notes, for each reader transport of `path`, the first frame (in the stream's accessUnitsIn
 * numbering) its first reader session got, while those sessions are alive: what a reader's frame
 * count is compared with. `stop()` ends the watch and returns the map.
 */
export function watchReaderStarts(server: RtspServer, path: string): { stop(): Map<string, number> } {
  const starts = new Map<string, number>();
  const timer = setInterval(() => {
    for (const s of server.sessions.values()) {
      if (s.path !== path || s.mode !== 'play' || s.stream === undefined) continue;
      const start = s.stream.readerStartAccessUnit(s);
      if (start !== undefined && !starts.has(s.transport)) starts.set(s.transport, start);
    }
  }, 5);
  return {
    stop: () => {
      clearInterval(timer);
      return starts;
    },
  };
}
