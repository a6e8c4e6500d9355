/**
 * A deliberately plain RTSP client for protocol tests: writes the bytes it is given, returns
 * responses and interleaved frames as the framer reads them. No retries, no cleverness.
 */
import net from 'node:net';
import { RtspFramer } from '../../src/rtsp/framer.js';
import type { InterleavedFrame, RtspResponse } from '../../src/rtsp/message.js';

export class RawClient {
  readonly frames: InterleavedFrame[] = [];
  private readonly framer = new RtspFramer();
  private readonly responses: RtspResponse[] = [];
  private waiters: (() => void)[] = [];
  private cseq = 0;
  closed = false;
  /** Per response, in order: the interleaved frames received before it (a reply precedes its media). */
  readonly framesBeforeResponse: number[] = [];
  private framesSeen = 0;
  /** When set, frames are counted but not kept. */
  onFrame: ((f: InterleavedFrame) => void) | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      for (const m of this.framer.push(chunk)) {
        if (m.kind === 'response') {
          this.responses.push(m);
          this.framesBeforeResponse.push(this.framesSeen);
        } else if (m.kind === 'interleaved') {
          this.framesSeen++;
          if (this.onFrame !== undefined) this.onFrame(m);
          else this.frames.push(m);
        }
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Connects to 127.0.0.1:port, from `localAddress` (another loopback address is another client IP). */
  static connect(port: number, localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const options: net.NetConnectOpts = { port, host: '127.0.0.1' };
      if (localAddress !== undefined) options.localAddress = localAddress;
      const s = net.connect(options, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends raw bytes and waits for the next response. */
  async raw(text: string | Buffer, timeoutMs = 5000): Promise<RtspResponse> {
    const before = this.responses.length;
    this.socket.write(text);
    await this.until(() => this.responses.length > before || this.closed, timeoutMs, 'a response');
    const r = this.responses[before];
    if (r === undefined) throw new Error('connection closed without a response');
    return r;
  }

  request(
    method: string,
    uri: string,
    headers: Record<string, string> = {},
    body = '',
  ): Promise<RtspResponse> {
    this.cseq++;
    let text = `${method} ${uri} RTSP/1.0\r\nCSeq: ${this.cseq}\r\n`;
    for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
    if (body !== '') text += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
    text += `\r\n${body}`;
    return this.raw(text);
  }

  sendInterleaved(channel: number, payload: Buffer): void {
    const h = Buffer.from([0x24, channel, payload.length >> 8, payload.length & 0xff]);
    this.socket.write(Buffer.concat([h, payload]));
  }

  close(): void {
    this.socket.destroy();
  }
}

export function sessionId(r: RtspResponse): string {
  const h = r.headers.get('Session');
  if (h === undefined) throw new Error(`no Session header in ${r.statusCode} response`);
  return h.split(';')[0]!.trim();
}
