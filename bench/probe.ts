// The local server under test: free ports for it, and whether it listens and answers DESCRIBE.
import dgram from 'node:dgram';
import net from 'node:net';
import { within } from './proc.js';
import { RtspConn } from './rtsp-conn.js';

/** Every bench runs on the loopback. */
export const HOST = '127.0.0.1';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** An even UDP port whose odd neighbour is free too (rtspkit's rtpPort: RTP there, RTCP on the next). */
export async function freeUdpPortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10000 + 2 * Math.floor(Math.random() * 5000);
    const sockets = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
    const ok = await Promise.all(
      sockets.map(
        (s, k) =>
          new Promise<boolean>((resolve) => {
            s.once('error', () => resolve(false));
            s.bind(port + k, HOST, () => resolve(true));
          }),
      ),
    );
    await Promise.all(
      sockets.map((s) => new Promise<void>((r) => s.close(() => r()))).map((p) => within(p, 500)),
    );
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no free UDP port pair for rtspkit');
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: HOST });
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Does `url` answer DESCRIBE with 200 (connect within 2 s, the reply within `timeoutMs`)? */
export async function describeOk(port: number, url: string, timeoutMs: number): Promise<boolean> {
  let conn: RtspConn | undefined;
  try {
    conn = await RtspConn.connect(port, HOST, 2000);
    const res = await conn.request('DESCRIBE', url, { Accept: 'application/sdp' }, timeoutMs);
    return res.statusCode === 200;
  } catch {
    return false;
  } finally {
    conn?.close();
  }
}
