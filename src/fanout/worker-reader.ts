/**
 * A reader in a fan-out worker: the TCP socket the primary handed over, written by the worker's Stream
 * as the primary's connection would have been (src/transport/transient-write.ts: the kernel takes a write
 * whole, or a copy of exactly its bytes stays queued). Everything the client sends goes back to
 * the primary unread (worker.ts), which frames it and answers as before.
 */
import type net from 'node:net';
import type { StreamEndInfo, StreamReader } from '../media/stream.js';
import { serializeInterleavedHeader } from '../rtsp/message.js';
import { writeTransientTcp } from '../transport/transient-write.js';

export class WorkerReader implements StreamReader {
  readonly transport = 'tcp' as const;
  bytesOut = 0;
  cutOffReason: string | undefined;
  private pinnedBytes = 0;

  constructor(
    readonly socket: net.Socket,
    readonly tracks: readonly number[],
    readonly rtpChannels: readonly (number | undefined)[],
    private readonly rtcpChannels: readonly (number | undefined)[],
  ) {}

  get backlogBytes(): number {
    const queued = this.socket.writableLength;
    return queued === 0 ? 0 : queued + this.pinnedBytes;
  }

  writeInterleaved(bytes: Buffer): void {
    if (this.socket.destroyed) return;
    this.bytesOut += bytes.length;
    this.socket.write(bytes);
  }

  writeInterleavedTransient(bytes: Buffer): boolean {
    if (this.socket.destroyed) return true;
    this.bytesOut += bytes.length;
    const pinned = writeTransientTcp(this.socket, bytes);
    if (pinned === 0) return true;
    this.pinnedBytes = pinned;
    return false;
  }

  sendRtp(): void {
    // TCP only: the Stream writes framed bytes.
  }

  sendRtcp(track: number, packet: Buffer): void {
    const channel = this.rtcpChannels[track];
    if (channel === undefined || this.socket.destroyed) return;
    this.socket.write(Buffer.concat([serializeInterleavedHeader(channel, packet.length), packet]));
  }

  streamEnded(_reason: string, _info?: StreamEndInfo): void {
    // The primary tells the session (its feed of the path ended) and sends the BYE through us.
  }

  cutOff(reason: string): void {
    this.cutOffReason = reason;
    this.socket.destroy();
  }
}
