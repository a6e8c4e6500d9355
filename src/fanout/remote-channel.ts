/**
 * The primary's end of a connection whose socket a fan-out worker holds: a ByteChannel (as a WebSocket
 * is one) under the same ServerConnection, so framing, the request gate, in-order replies, their bounds
 * and the timeouts stay where they were. Writes go to the worker, which writes them to the socket and
 * says when they are flushed (the reply backlog's bound holds); what the client sends comes back as
 * 'data'; the worker's socket closing, or the worker dying, is 'close'.
 */
import { EventEmitter } from 'node:events';
import type { ByteChannel } from '../transport/websocket.js';
import type { PrimaryMessage } from './protocol.js';

export class RemoteChannel extends EventEmitter implements ByteChannel {
  private pendingBytes = 0;
  private readonly flushWaiters: { bytes: number; done: ((err?: Error | null) => void) | undefined }[] = [];
  private closed = false;

  constructor(
    readonly conn: number,
    readonly remoteAddress: string | undefined,
    readonly remotePort: number | undefined,
    private readonly send: (m: PrimaryMessage) => void,
  ) {
    super();
  }

  get writableLength(): number {
    return this.pendingBytes;
  }

  get destroyed(): boolean {
    return this.closed;
  }

  write(bytes: Buffer | string, flushed?: (err?: Error | null) => void): boolean {
    const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    if (this.closed) {
      if (flushed !== undefined) queueMicrotask(() => flushed(new Error('closed')));
      return false;
    }
    this.pendingBytes += b.length;
    this.flushWaiters.push({ bytes: b.length, done: flushed });
    this.send({ t: 'write', conn: this.conn, bytes: b });
    return true;
  }

  /** The worker wrote `bytes` to the socket (its 'flushed' message, in write order). */
  flushed(bytes: number): void {
    const w = this.flushWaiters.shift();
    if (w === undefined) return;
    this.pendingBytes = Math.max(0, this.pendingBytes - Math.min(bytes, w.bytes));
    w.done?.();
  }

  pause(): void {
    if (!this.closed) this.send({ t: 'pause', conn: this.conn });
  }

  resume(): void {
    if (!this.closed) this.send({ t: 'resume', conn: this.conn });
  }

  end(bytes?: Buffer | string): void {
    if (bytes !== undefined) this.write(bytes);
    if (!this.closed) this.send({ t: 'end', conn: this.conn });
  }

  destroy(): void {
    if (!this.closed) this.send({ t: 'destroy', conn: this.conn });
  }

  /** The socket closed in the worker, or the worker is gone: the connection ends here. */
  closedRemotely(): void {
    if (this.closed) return;
    this.closed = true;
    this.pendingBytes = 0;
    for (const w of this.flushWaiters.splice(0)) w.done?.(new Error('closed'));
    this.emit('close');
  }
}
