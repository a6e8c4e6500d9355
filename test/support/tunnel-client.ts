/**
 * RTSP over HTTP (the QuickTime tunnel) driven by hand in tests: the GET side carries the server's
 * answers and interleaved media, each POST side the client's requests in base64.
 */
import net from 'node:net';
import { RtspFramer } from '../../src/rtsp/framer.js';
import type { RtspResponse } from '../../src/rtsp/message.js';
import { waitFor } from './process.js';

export interface TunnelGet {
  socket: net.Socket;
  /** The HTTP answer head, once whole. */
  head(): string;
  /** RTSP responses read from the GET side, in order. */
  responses: RtspResponse[];
  /** Interleaved frames read from the GET side. */
  frames(): number;
}

export interface TunnelSideOptions {
  /** The HTTP path of the GET and POST; default `/t`. */
  path?: string;
  /** The client address to connect from (other loopback addresses act as other clients). */
  localAddress?: string;
}

function connect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Opens a tunnel's GET side with `cookie` and waits for its HTTP answer. */
export async function openTunnelGet(
  port: number,
  cookie: string,
  options: TunnelSideOptions = {},
): Promise<TunnelGet> {
  const socket = await connect(port, options.localAddress);
  socket.on('error', () => undefined);
  let head = '';
  let frames = 0;
  const framer = new RtspFramer();
  const responses: RtspResponse[] = [];
  socket.on('data', (chunk: Buffer) => {
    if (!head.includes('\r\n\r\n')) {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      chunk = Buffer.from(head.slice(end + 4), 'latin1');
      head = head.slice(0, end + 4);
    }
    for (const m of framer.push(chunk)) {
      if (m.kind === 'response') responses.push(m);
      else if (m.kind === 'interleaved') frames++;
    }
  });
  socket.write(
    `GET ${options.path ?? '/t'} HTTP/1.0\r\nx-sessioncookie: ${cookie}\r\n` +
      'Accept: application/x-rtsp-tunnelled\r\n\r\n',
  );
  await waitFor(() => head.includes('\r\n\r\n'), 5000, 'the tunnel GET answer');
  return { socket, head: () => head, responses, frames: () => frames };
}

/** Opens a POST side for `cookie`; what is written to it is the client's half, base64-encoded. */
export async function openTunnelPost(
  port: number,
  cookie: string,
  options: TunnelSideOptions = {},
): Promise<net.Socket> {
  const socket = await connect(port, options.localAddress);
  socket.on('error', () => undefined);
  socket.write(
    `POST ${options.path ?? '/t'} HTTP/1.0\r\nx-sessioncookie: ${cookie}\r\n` +
      'Content-Type: application/x-rtsp-tunnelled\r\nContent-Length: 32767\r\n\r\n',
  );
  return socket;
}

/** Writes `text` through `post` in base64 and waits for the next response on `get`. */
export async function tunnelRequest(
  get: TunnelGet,
  post: net.Socket,
  text: string,
  timeoutMs = 5000,
): Promise<RtspResponse> {
  const before = get.responses.length;
  post.write(Buffer.from(text).toString('base64'));
  await waitFor(() => get.responses.length > before, timeoutMs, 'a response on the GET side');
  return get.responses[before]!;
}
