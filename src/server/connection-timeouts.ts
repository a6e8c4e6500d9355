/**
 * Timeouts that close a connection which holds a place without doing anything useful: a request left
 * half-sent (slowloris), silence without a session, an HTTP-tunnel GET side waiting for its POST, replies
 * the client does not read, and a TLS handshake that never completes. Decided here, from the clock and
 * the connection's state; the server's once-a-second sweep acts on the answer.
 */
import type net from 'node:net';
import type { ServerConnection } from './connection.js';

export interface ConnectionTimeoutValues {
  /** A started request must be whole by then; also how long input may stay held for unread replies. */
  requestTimeoutMs: number;
  /** A connection (or tunnel pair) with no session and no data for this long is closed. */
  idleTimeoutMs: number;
  /** A tunnel's GET side with no POST side for this long, and no session, is closed. */
  tunnelPairingTimeoutMs: number;
  /** A TLS handshake not completed by then is dropped. */
  tlsHandshakeTimeoutMs: number;
}

export type CloseReason = 'request_timeout' | 'reply_backlog' | 'tunnel_unpaired' | 'idle' | 'tls_handshake';

export const CLOSE_REASONS: readonly CloseReason[] = [
  'request_timeout',
  'reply_backlog',
  'tunnel_unpaired',
  'idle',
  'tls_handshake',
];

export const CLOSE_MESSAGES: Record<CloseReason, string> = {
  request_timeout: 'request not completed in time, closing',
  reply_backlog: 'replies not read in time, closing',
  tunnel_unpaired: 'http tunnel without its POST side, closing',
  idle: 'idle connection closed',
  tls_handshake: 'tls handshake not completed in time, closing',
};

/** Why `c` must be closed at `nowMs`, or undefined. */
export function expiredConnection(
  c: ServerConnection,
  nowMs: number,
  t: ConnectionTimeoutValues,
): CloseReason | undefined {
  // A socket handed to the WebSocket server leaves this list once the upgrade is accepted (its
  // WebSocket connection is timed from then on); one still here is an upgrade that never completed.
  if (c.handedOff) return nowMs - c.lastDataMs > t.requestTimeoutMs ? 'request_timeout' : undefined;
  // A tunnel's POST side is timed by its GET side, which closes it with itself.
  if (c.isTunnelInput) return undefined;
  if (c.partialSinceMs !== undefined && nowMs - c.partialSinceMs > t.requestTimeoutMs)
    return 'request_timeout';
  if (c.heldSinceMs !== undefined && nowMs - c.heldSinceMs > t.requestTimeoutMs) return 'reply_backlog';
  if (c.sessions.size > 0) return undefined;
  if (c.unpairedSinceMs !== undefined && nowMs - c.unpairedSinceMs > t.tunnelPairingTimeoutMs)
    return 'tunnel_unpaired';
  // A tunnel's GET side: lastDataMs moves with the RTSP its POST side brings.
  if (nowMs - c.lastDataMs > t.idleTimeoutMs) return 'idle';
  return undefined;
}

/**
 * TLS sockets from the TCP accept until their handshake completes: counted as connections from the
 * start (they hold a descriptor and memory) and dropped when the handshake takes too long. Node's own
 * `handshakeTimeout` is fixed when the server is made; this one follows a config reload.
 */
export class PendingHandshakes {
  /**
   * By remote address and port (unique among open TCP connections): the TLS socket handed over at the
   * end of the handshake is another object than the TCP socket seen at accept.
   */
  private readonly pending = new Map<string, { socket: net.Socket; sinceMs: number }>();

  get size(): number {
    return this.pending.size;
  }

  add(socket: net.Socket, nowMs: number): void {
    this.pending.set(keyOf(socket), { socket, sinceMs: nowMs });
  }

  delete(socket: net.Socket): void {
    this.pending.delete(keyOf(socket));
  }

  /** Destroys every socket still in its handshake (the server is closing). */
  destroyAll(): void {
    for (const p of this.pending.values()) p.socket.destroy();
    this.pending.clear();
  }

  /** Destroys the sockets whose handshake has taken longer than `timeoutMs`; returns how many. */
  expire(nowMs: number, timeoutMs: number): number {
    let n = 0;
    for (const [key, p] of this.pending) {
      if (nowMs - p.sinceMs <= timeoutMs) continue;
      this.pending.delete(key);
      p.socket.destroy();
      n++;
    }
    return n;
  }
}

function keyOf(socket: net.Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
}
