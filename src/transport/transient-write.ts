/**
 * Writing bytes the caller will reuse (the fan-out's framed batches) to a TCP socket without a copy per
 * reader. A socket that queues a Buffer keeps its whole ArrayBuffer alive, so what may stay queued is a
 * copy of exactly these bytes: always behind other queued bytes, since such a write cannot go out now.
 * With nothing queued the bytes go to the kernel as they are (no copy: the hot path); when it takes only
 * part of them, libuv sends the rest from this very buffer later, so it stays referenced and the caller
 * counts the rest of that buffer in its backlog until the queue empties. At most one such buffer per
 * socket, since every later write is a copy until the queue has emptied.
 */
import type net from 'node:net';

/** A copy in an ArrayBuffer of its own: not a slice of the shared pool, which would keep the slab alive. */
export function exactCopy(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(out);
  return out;
}

/**
 * Writes `bytes` to a plain TCP socket: 0 when they are no longer referenced once this returns, else the
 * bytes of their ArrayBuffer the socket keeps alive beyond them (count them as backlog until it drains).
 */
export function writeTransientTcp(socket: net.Socket, bytes: Buffer): number {
  if (socket.writableLength > 0) {
    socket.write(exactCopy(bytes));
    return 0;
  }
  socket.write(bytes);
  if (socket.writableLength === 0) return 0;
  return bytes.buffer.byteLength - bytes.length;
}
