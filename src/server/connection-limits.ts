/**
 * Admission of TCP connections: a global cap, an absolute per-address cap and a per-address share of
 * the global cap. Counted from the TCP accept, whatever the socket turns out to carry (RTSP, a TLS
 * handshake still under way, a tunnel half, a WebSocket upgrade): one socket, one place, released when
 * it closes. Used by the RTSP server and by the HTTP API server.
 *
 * Refusing the newcomer, never evicting a connection already admitted, is the trade-off: a client
 * that is already running well is never cut to make room, and the share keeps one address (one
 * attacker) from holding every place. Readers behind one NAT share an address, hence share 0 (off).
 */
import { normalizeAddress } from '../transport/udp.js';

export interface ConnectionLimitValues {
  maxConnections: number;
  /** Absolute cap per address; 0: none. */
  maxConnectionsPerIp: number;
  /** Fraction (0..1) of maxConnections one address may hold; 0: no share. */
  maxConnectionsPerIpShare: number;
}

/** The per-address cap in force: the lower of the absolute one and the share (at least 1). */
export function perIpConnectionCap(limits: ConnectionLimitValues): number {
  let cap = Infinity;
  if (limits.maxConnectionsPerIp > 0) cap = limits.maxConnectionsPerIp;
  if (limits.maxConnectionsPerIpShare > 0)
    cap = Math.min(cap, Math.max(1, Math.floor(limits.maxConnections * limits.maxConnectionsPerIpShare)));
  return cap;
}

/** Which cap refused a connection (metrics: rtspkit_refusals_total{reason}). */
export type ConnectionRefusalReason = 'maxConnections' | 'maxConnectionsPerIp';

export class ConnectionLedger {
  private readonly byIp = new Map<string, number>();
  private count = 0;
  /** Connections refused by the caps, since start. */
  refused = 0;
  /** The same, by the cap that refused them (the per-address one covers its share too). */
  readonly refusedBy: Record<ConnectionRefusalReason, number> = { maxConnections: 0, maxConnectionsPerIp: 0 };

  constructor(private readonly limits: () => ConnectionLimitValues) {}

  get total(): number {
    return this.count;
  }

  fromIp(address: string): number {
    return this.byIp.get(normalizeAddress(address)) ?? 0;
  }

  /**
   * Takes a place for a connection from `address`, or says why not (counted as refused). On success
   * `release` must be called exactly once, when the socket closes.
   */
  admit(address: string): string | undefined {
    const ip = normalizeAddress(address);
    const limits = this.limits();
    const fromIp = this.byIp.get(ip) ?? 0;
    let refusal: string | undefined;
    if (this.count >= limits.maxConnections) {
      refusal = 'too many connections';
      this.refusedBy.maxConnections++;
    } else if (fromIp >= perIpConnectionCap(limits)) {
      refusal = 'too many connections from this address';
      this.refusedBy.maxConnectionsPerIp++;
    }
    if (refusal !== undefined) {
      this.refused++;
      return refusal;
    }
    this.count++;
    this.byIp.set(ip, fromIp + 1);
    return undefined;
  }

  release(address: string): void {
    const ip = normalizeAddress(address);
    const fromIp = this.byIp.get(ip) ?? 0;
    if (fromIp <= 1) this.byIp.delete(ip);
    else this.byIp.set(ip, fromIp - 1);
    this.count = Math.max(0, this.count - 1);
  }
}
