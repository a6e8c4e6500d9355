// A minimal RTSP client connection for the fan-out benchmark: one request at a time, `$` frames to a callback.
// Deliberately independent of src/client so the benchmark measures the server, not our own client.
// Plain RTSP over one TCP socket, or the QuickTime HTTP tunnel: a GET whose reply body carries the server's
// bytes (responses and `$` frames) and a POST whose body carries our requests, base64-encoded, tied by
// x-sessioncookie (the form src/client/client.ts uses).
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { RtspFramer } from '../src/rtsp/framer.js';
import { RtspHeaders } from '../src/rtsp/headers.js';
import type { InterleavedFrame, RtspResponse } from '../src/rtsp/message.js';
import { serializeRequest } from '../src/rtsp/message.js';

export const USER_AGENT = 'rtspkit-bench';

/** A reply head longer than this is refused (the framer's own default limit is of this order). */
const MAX_HEAD_BYTES = 64 * 1024;

interface Pending {
  resolve: (res: RtspResponse) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class RtspConn {
  readonly #socket: net.Socket;
  /** The POST side of an HTTP tunnel; requests go there base64-encoded. */
  readonly #post: net.Socket | undefined;
  readonly #framer = new RtspFramer();
  /** The start of a frame or message the last chunk cut (see #demux). */
  #rest: Buffer | undefined;
  #cseq = 0;
  #pending: Pending | undefined;
  #closedError: Error | undefined;
  /** Called for every `$` frame, in order. Set before PLAY. */
  onFrame: ((frame: InterleavedFrame) => void) | undefined;
  /**
   * Instead of onFrame when set: the frame's channel and its packet as `buf[start, end)`, valid during the
   * call only (no object, no Buffer view per frame: the readers process's largest cost at 1000 readers).
   */
  onFrameBytes: ((channel: number, buf: Buffer, start: number, end: number) => void) | undefined;
  /** Called once when the connection closes or fails, after any pending request was rejected. */
  onClose: ((err: Error) => void) | undefined;

  private constructor(socket: net.Socket, post?: net.Socket, leftover?: Buffer) {
    this.#socket = socket;
    this.#post = post;
    const onData = (chunk: Buffer): void => {
      try {
        this.#demux(chunk);
      } catch (err) {
        this.#fail(err instanceof Error ? err : new Error(String(err)));
      }
    };
    socket.on('data', onData);
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('connection closed')));
    if (post !== undefined) {
      post.on('data', () => undefined); // the server never answers the POST
      post.on('error', (err) => this.#fail(err));
      post.on('close', () => this.#fail(new Error('tunnel POST closed')));
    }
    if (leftover !== undefined && leftover.length > 0) onData(leftover);
  }

  /**
   * Splits what the server sends into `$` frames (read here, in place: no copy, no framer state, since a
   * reader process at 1000 readers spends most of its time on them and is part of the measurement) and
   * RTSP messages (their head and Content-Length body handed whole to the framer). A frame or message cut
   * by the chunk's end waits in #rest for the next chunk.
   */
  #demux(chunk: Buffer): void {
    const buf = this.#rest === undefined ? chunk : Buffer.concat([this.#rest, chunk]);
    this.#rest = undefined;
    let pos = 0;
    while (pos < buf.length) {
      if (buf[pos] === 0x24) {
        if (buf.length - pos < 4) break;
        const end = pos + 4 + buf.readUInt16BE(pos + 2);
        if (end > buf.length) break;
        if (this.onFrameBytes !== undefined) this.onFrameBytes(buf[pos + 1]!, buf, pos + 4, end);
        else
          this.onFrame?.({
            kind: 'interleaved',
            channel: buf[pos + 1]!,
            payload: buf.subarray(pos + 4, end),
          });
        pos = end;
        continue;
      }
      const headEnd = buf.indexOf('\r\n\r\n', pos, 'latin1');
      if (headEnd < 0) {
        if (buf.length - pos > MAX_HEAD_BYTES) throw new Error('reply head too large');
        break;
      }
      const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(buf.toString('latin1', pos, headEnd));
      const end = headEnd + 4 + (length !== null ? Number(length[1]) : 0);
      if (end > buf.length) break;
      for (const m of this.#framer.push(buf.subarray(pos, end))) {
        if (m.kind !== 'response') continue; // requests from the server (ANNOUNCE, ...) are not expected
        const p = this.#pending;
        if (p !== undefined) {
          this.#pending = undefined;
          clearTimeout(p.timer);
          p.resolve(m);
        }
      }
      pos = end;
    }
    if (pos < buf.length) this.#rest = Buffer.from(buf.subarray(pos));
  }

  static #connectSocket(port: number, host: string, timeoutMs: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Opens an HTTP tunnel to `path`: GET (waits for its 200 head), then POST. */
  static async connectTunnel(port: number, host: string, path: string, timeoutMs: number): Promise<RtspConn> {
    const cookie = randomBytes(12).toString('hex');
    const common = `x-sessioncookie: ${cookie}\r\nUser-Agent: ${USER_AGENT}\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n`;
    const get = await RtspConn.#connectSocket(port, host, timeoutMs);
    let leftover: Buffer;
    try {
      get.write(`GET ${path} HTTP/1.0\r\n${common}Accept: application/x-rtsp-tunnelled\r\n\r\n`, 'latin1');
      leftover = await new Promise<Buffer>((resolve, reject) => {
        let head = Buffer.alloc(0);
        const timer = setTimeout(
          () => finish(new Error(`tunnel GET: no reply in ${timeoutMs} ms`)),
          timeoutMs,
        );
        const finish = (err: Error | undefined, rest?: Buffer): void => {
          clearTimeout(timer);
          get.off('data', onData);
          get.off('error', finish);
          get.off('close', onClose);
          if (err !== undefined) reject(err);
          else resolve(rest!);
        };
        const onClose = (): void => finish(new Error('tunnel GET closed before its reply'));
        const onData = (chunk: Buffer): void => {
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) {
            if (head.length > 8192) finish(new Error('tunnel GET: reply head too large'));
            return;
          }
          const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1', 0, 20));
          if (status?.[1] !== '200')
            finish(new Error(`tunnel GET: ${head.toString('latin1', 0, Math.min(end, 40))}`));
          else finish(undefined, head.subarray(end + 4));
        };
        get.on('data', onData);
        get.on('error', finish);
        get.on('close', onClose);
      });
    } catch (err) {
      get.destroy();
      throw err;
    }
    let post: net.Socket;
    try {
      post = await RtspConn.#connectSocket(port, host, timeoutMs);
    } catch (err) {
      get.destroy();
      throw err;
    }
    // The POST body never ends; the length is the tunnel's customary formality.
    post.write(
      `POST ${path} HTTP/1.0\r\n${common}Content-Type: application/x-rtsp-tunnelled\r\n` +
        'Content-Length: 32767\r\nExpires: Sun, 9 Jan 1972 00:00:00 GMT\r\n\r\n',
      'latin1',
    );
    return new RtspConn(get, post, leftover);
  }

  #write(bytes: Buffer): void {
    if (this.#post !== undefined) this.#post.write(bytes.toString('base64'), 'latin1');
    else this.#socket.write(bytes);
  }

  static async connect(port: number, host: string, timeoutMs: number): Promise<RtspConn> {
    return new RtspConn(await RtspConn.#connectSocket(port, host, timeoutMs));
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
      this.#write(bytes);
    });
  }

  /** Sends a request whose response is not awaited (keepalives); skipped while another request is pending. */
  send(method: string, uri: string, headers: Record<string, string>): void {
    if (this.#closedError !== undefined || this.#pending !== undefined) return;
    this.#cseq++;
    this.#write(
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
    this.#post?.destroy();
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
    this.#post?.destroy();
    this.onClose?.(err);
  }
}
