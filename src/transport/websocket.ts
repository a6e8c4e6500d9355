/**
 * RTSP over WebSocket (ONVIF Streaming, subprotocol `rtsp.onvif.org`): RTSP messages and `$`
 * interleaved frames travel in binary WebSocket messages. This adapts a `ws` WebSocket to the
 * byte-stream shape an RTSP connection is written against; message boundaries carry no meaning.
 */
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';

export const RTSP_WS_SUBPROTOCOL = 'rtsp.onvif.org';

/** What an RTSP control connection needs of its carrier: a TCP socket, a TLS socket or a WebSocket. */
export interface ByteChannel {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** Bytes accepted but not yet sent. */
  readonly writableLength: number;
  /** `flushed` runs once the bytes have left our buffers (or could not be sent: the channel closed). */
  write(bytes: Buffer | string, flushed?: (err?: Error | null) => void): unknown;
  /** Stop and restart reading (flow control: the peer's sends then wait in its TCP window). */
  pause(): unknown;
  resume(): unknown;
  // Two signatures on purpose: net.Socket's `end(callback?)` is not assignable to `end(bytes?)`.
  end(): unknown;
  // eslint-disable-next-line @typescript-eslint/unified-signatures
  end(bytes: Buffer | string): unknown;
  destroy(): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

export class WebSocketChannel extends EventEmitter implements ByteChannel {
  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string | undefined,
    readonly remotePort: number | undefined,
    /** Our end's address (a client uses it for nothing but logs and UDP, which a WebSocket never carries). */
    readonly localAddress?: string,
  ) {
    super();
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const chunk = Buffer.isBuffer(data)
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.from(data);
      this.emit('data', chunk);
    });
    ws.on('error', (err) => this.emit('error', err));
    ws.on('close', () => this.emit('close'));
  }

  get destroyed(): boolean {
    return this.ws.readyState === this.ws.CLOSING || this.ws.readyState === this.ws.CLOSED;
  }

  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  write(bytes: Buffer | string, flushed?: (err?: Error | null) => void): boolean {
    if (this.ws.readyState !== this.ws.OPEN) {
      if (flushed !== undefined) queueMicrotask(() => flushed(new Error('WebSocket not open')));
      return false;
    }
    this.ws.send(typeof bytes === 'string' ? Buffer.from(bytes) : bytes, { binary: true }, flushed);
    return true;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  end(bytes?: Buffer | string): void {
    if (bytes !== undefined) this.write(bytes);
    this.ws.close(1000);
  }

  destroy(): void {
    this.ws.terminate();
  }
}
