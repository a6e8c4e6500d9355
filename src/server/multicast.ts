/**
 * UDP multicast delivery (RFC 2326 §10.4 `multicast`, `destination`, `port`, `ttl`): one group per live
 * path, one send per packet however many readers joined. The group is a reader of the path's Stream
 * like any other; the sessions that PLAY over multicast only hold it open.
 */
import dgram from 'node:dgram';
import type { Logger } from '../base/logger.js';
import type { StreamReader } from '../media/stream.js';

export interface MulticastOptions {
  /** IPv4 range groups are taken from, as a.b.c.d/prefix. Default 239.255.0.0/16 (organisation-local). */
  range: string;
  /** Even port of the first track's RTP; track i uses rtpPort + 2i and the next one for RTCP. */
  rtpPort: number;
  ttl: number;
}

export const DEFAULT_MULTICAST: MulticastOptions = { range: '239.255.0.0/16', rtpPort: 8002, ttl: 16 };

/** `a.b.c.d/n` → first and last host address as 32-bit numbers; throws on a malformed or non-multicast range. */
export function parseMulticastRange(range: string): { first: number; last: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(range.trim());
  if (m === null) throw new Error(`multicast range ${JSON.stringify(range)} is not a.b.c.d/prefix`);
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix < 4 || prefix > 30)
    throw new Error(`bad multicast range ${range}`);
  const base =
    (((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0) & maskOf(prefix);
  if (base >>> 28 !== 0xe) throw new Error(`multicast range ${range} is outside 224.0.0.0/4`);
  const size = 2 ** (32 - prefix);
  return { first: base + 1, last: base + size - 2 };
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Hands out group addresses from a range, round robin (a group just closed is not reused at once,
 * so late packets of its stream do not reach the next one's members).
 */
export class MulticastAddresses {
  private readonly first: number;
  private readonly size: number;
  private next = 0;

  constructor(range: string) {
    const { first, last } = parseMulticastRange(range);
    this.first = first;
    this.size = last - first + 1;
  }

  /** The next address not in `used`; undefined when the range is full. */
  take(used: ReadonlySet<string>): string | undefined {
    for (let i = 0; i < this.size; i++) {
      const address = formatIpv4(this.first + (this.next++ % this.size));
      if (!used.has(address)) return address;
    }
    return undefined;
  }
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

export class MulticastGroup implements StreamReader {
  readonly transport = 'udp';
  readonly rtpChannels: readonly (number | undefined)[] = [];
  readonly backlogBytes = 0;
  readonly tracks: readonly number[];
  /** Sessions that set up through this group. */
  readonly members = new Set<string>();
  /** Added to the stream (at the first member's PLAY). */
  sending = false;
  private readonly socket: dgram.Socket;
  private closed = false;

  constructor(
    readonly address: string,
    readonly rtpPort: number,
    readonly ttl: number,
    trackCount: number,
    readonly ssrcs: readonly number[],
    private readonly onEnded: (reason: string) => void,
    private readonly log: Logger,
  ) {
    this.tracks = Array.from({ length: trackCount }, (_, i) => i);
    this.socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.socket.on('error', (err) => {
      this.log.warn({ group: address, err: err.message }, 'multicast send error');
    });
  }

  async open(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, resolve));
    this.socket.setMulticastTTL(this.ttl);
    this.socket.setMulticastLoopback(true);
  }

  portsOf(track: number): { rtp: number; rtcp: number } {
    return { rtp: this.rtpPort + 2 * track, rtcp: this.rtpPort + 2 * track + 1 };
  }

  writeInterleaved(): void {
    // A UDP reader: never called.
  }

  sendRtp(track: number, packet: Buffer): void {
    if (!this.closed) this.socket.send(packet, this.portsOf(track).rtp, this.address);
  }

  sendRtcp(track: number, packet: Buffer): void {
    if (!this.closed) this.socket.send(packet, this.portsOf(track).rtcp, this.address);
  }

  streamEnded(reason: string): void {
    this.onEnded(reason);
  }

  /**
   * Sends the last RTCP packets (BYE) and closes once they are on the wire: a dgram socket closed
   * right after send() drops what it had not sent yet.
   */
  closeAfter(rtcpByTrack: readonly Buffer[]): void {
    if (this.closed) return;
    this.closed = true;
    let pending = rtcpByTrack.length;
    if (pending === 0) {
      this.socket.close();
      return;
    }
    rtcpByTrack.forEach((packet, track) => {
      this.socket.send(packet, this.portsOf(track).rtcp, this.address, () => {
        if (--pending === 0) this.socket.close();
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}
