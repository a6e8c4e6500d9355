// A minimal RTSP client connection for the fan-out benchmark: one request at a time, `$` frames to a callback.
// Deliberately independent of src/client so the benchmark measures the server, not our own client.
import net from 'node:net';
import { RtspFramer } from '../src/rtsp/framer.js';
import { RtspHeaders } from '../src/rtsp/headers.js';
import type { InterleavedFrame, RtspResponse } from '../src/rtsp/message.js';
import { serializeRequest } from '../src/rtsp/message.js';

export const USER_AGENT = 'rtspkit-bench';

interface Pending {
  resolve: (res: RtspResponse) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class RtspConn {
  readonly #socket: net.Socket;
  readonly #framer = new RtspFramer();
  #cseq = 0;
  #pending: Pending | undefined;
  #closedError: Error | undefined;
  /** Called for every `$` frame, in order. Set before PLAY. */
  onFrame: ((frame: InterleavedFrame) => void) | undefined;
  /** Called once when the connection closes or fails, after any pending request was rejected. */
  onClose: ((err: Error) => void) | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      let messages;
      try {
        messages = this.#framer.push(chunk);
      } catch (err) {
        this.#fail(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      for (const m of messages) {
        if (m.kind === 'interleaved') {
          this.onFrame?.(m);
        } else if (m.kind === 'response') {
          const p = this.#pending;
          if (p !== undefined) {
            this.#pending = undefined;
            clearTimeout(p.timer);
            p.resolve(m);
          }
        }
        // Requests from the server (e.g. ANNOUNCE, GET_PARAMETER) are not expected here and are ignored.
      }
    });
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  static connect(port: number, host: string, timeoutMs: number): Promise<RtspConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RtspConn(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  request(
    method: string,
    uri: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<RtspResponse> {
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError);
    if (this.#pending !== undefined) return Promise.reject(new Error('request already in flight'));
    this.#cseq++;
    const bytes = serializeRequest({
      method,
      uri,
      headers: new RtspHeaders([
        ['CSeq', String(this.#cseq)],
        ['User-Agent', USER_AGENT],
        ...Object.entries(headers),
      ]),
      body: Buffer.alloc(0),
    });
    return new Promise<RtspResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#pending?.timer === timer) this.#pending = undefined;
        reject(new Error(`${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending = { resolve, reject, timer };
      this.#socket.write(bytes);
    });
  }

  /** Sends a request whose response is not awaited (keepalives); skipped while another request is pending. */
  send(method: string, uri: string, headers: Record<string, string>): void {
    if (this.#closedError !== undefined || this.#pending !== undefined) return;
    this.#cseq++;
    this.#socket.write(
      serializeRequest({
        method,
        uri,
        headers: new RtspHeaders([
          ['CSeq', String(this.#cseq)],
          ['User-Agent', USER_AGENT],
          ...Object.entries(headers),
        ]),
        body: Buffer.alloc(0),
      }),
    );
  }

  close(): void {
    this.#socket.destroy();
  }

  #fail(err: Error): void {
    if (this.#closedError !== undefined) return;
    this.#closedError = err;
    const p = this.#pending;
    this.#pending = undefined;
    if (p !== undefined) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.#socket.destroy();
    this.onClose?.(err);
  }
}
