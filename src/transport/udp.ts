/**
 * The server's RTP/RTCP UDP sockets (RFC 2326 §12.39 server_port): one pair shared by every
 * session, with incoming datagrams routed by their source address. A datagram from a source no
 * session announced (client_port) is dropped, so a third party cannot inject media.
 *
 * A route belongs to one owner (a session): a second owner cannot take it over (the server refuses
 * such a SETUP), or one client could steal another's incoming media by announcing its ports. A
 * datagram whose source is one of the server's own ports on a local address is the server talking
 * to itself (a client_port that named a server port) and is dropped, so it keeps no session alive.
 */
import { isSystemError } from '../base/errors.js';
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import type { Logger } from '../base/logger.js';
import { isLocalAddress } from './local-address.js';
import { UdpSendBatch, udpSendPath, type UdpBatchMode, type UdpSendPath } from './udp-batch.js';

export type DatagramHandler = (msg: Buffer, kind: 'rtp' | 'rtcp') => void;

export interface UdpPairOptions {
  host: string;
  /** Even port for RTP; 0 picks a free pair. RTCP is rtpPort + 1. */
  rtpPort: number;
  logger: Logger;
  /**
   * The server's UDP ports beyond this pair's own (a port range's other pairs): datagrams from them
   * on a local address are the server's own and are dropped.
   */
  isServerPort?: (port: number) => boolean;
  /** RTP to readers in one sendmmsg per flush when the add-on is there (udp-batch.ts); default 'auto'. */
  batchSend?: UdpBatchMode;
}

interface Route {
  handler: DatagramHandler;
  owner: unknown;
}

/**
 * dgram's address lookup for sends: an IP literal (every address a session sends to) is answered at once,
 * anything else goes to dns.lookup. Node's default goes through dns.lookup, which answers even a literal on
 * the next tick: a send then costs a tick and a closure, and its bytes are read only after the caller has
 * moved on, so a buffer given to send() could never be reused at once. With this one the datagram is handed
 * to the kernel inside send() (libuv tries a synchronous sendmsg first) unless the socket's queue is busy,
 * which getSendQueueCount() tells (UdpPair.sendRtpTransient).
 */
function immediateLookup(
  address: string,
  family: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  // The last literal's family is kept: a fan-out sends to many readers on few hosts (isIP is a regex test).
  if (address !== lastLiteral) {
    const literal = isIP(address);
    if (literal === 0) {
      dns.lookup(address, family as number, callback);
      return;
    }
    lastLiteral = address;
    lastLiteralFamily = literal;
  }
  callback(null, address, lastLiteralFamily);
}
let lastLiteral = '';
let lastLiteralFamily = 0;

function bindSocket(type: 'udp4' | 'udp6', host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type, reuseAddr: false, lookup: immediateLookup });
    const onError = (err: Error): void => {
      s.close();
      reject(err);
    };
    s.once('error', onError);
    s.bind(port, host, () => {
      s.off('error', onError);
      resolve(s);
    });
  });
}

/** Attempts at an even/odd pair on ephemeral ports: half of the ports the kernel picks are odd. */
const PAIR_ATTEMPTS = 50;

/**
 * Two sockets on `host`: RTP on an even port and RTCP on the next one (RFC 3550 §11). With `rtpPort` 0 the
 * kernel picks, retrying while it hands out an odd port or the odd neighbour is taken; a given port must be
 * even and both it and the next must be free. Throws an error with code EADDRINUSE when no pair was found.
 * Used by the server's pairs (UdpPair) and by the client's per-track ports.
 */
export async function bindUdpPair(
  host: string,
  rtpPort = 0,
): Promise<{ rtp: dgram.Socket; rtcp: dgram.Socket }> {
  const type = host.includes(':') ? 'udp6' : 'udp4';
  for (let attempt = 0; attempt < PAIR_ATTEMPTS; attempt++) {
    const rtp = await bindSocket(type, host, rtpPort);
    const port = rtp.address().port;
    if (port % 2 === 0) {
      try {
        const rtcp = await bindSocket(type, host, port + 1);
        return { rtp, rtcp };
      } catch (err) {
        // The odd neighbour of a kernel-picked port is taken: try another pair. Anything else is a fault.
        if (rtpPort !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
          rtp.close();
          throw err;
        }
      }
    }
    rtp.close();
    if (rtpPort !== 0) throw new Error(`RTP port ${rtpPort} must be even`);
  }
  throw Object.assign(new Error('could not find a free even/odd UDP port pair'), { code: 'EADDRINUSE' });
}

function addressKey(address: string, port: number): string {
  return `${address}:${port}`;
}

export class UdpPair {
  private readonly routes = new Map<string, Route>();
  packetsDropped = 0;
  /** Datagrams from the server's own ports on a local address (dropped; also in packetsDropped). */
  ownDatagramsDropped = 0;
  private readonly ownPorts: [number, number];
  /** The RTP socket's pending datagrams when sends are batched (udp-batch.ts); undefined: dgram alone. */
  private readonly batch: UdpSendBatch | undefined;

  private constructor(
    private readonly rtp: dgram.Socket,
    private readonly rtcp: dgram.Socket,
    private readonly logger: Logger,
    private readonly isServerPort: ((port: number) => boolean) | undefined,
    private readonly batchSend: UdpBatchMode,
  ) {
    this.ownPorts = [rtp.address().port, rtcp.address().port];
    this.batch = UdpSendBatch.for(rtp, batchSend);
    for (const [sock, kind] of [
      [rtp, 'rtp'],
      [rtcp, 'rtcp'],
    ] as const) {
      sock.on('message', (msg, rinfo) => {
        const route = this.routes.get(addressKey(rinfo.address, rinfo.port));
        if (route === undefined || this.fromServerItself(rinfo.address, rinfo.port)) {
          this.packetsDropped++;
          return;
        }
        route.handler(msg, kind);
      });
      // Sends to a vanished client fail asynchronously (ICMP port unreachable); that is not fatal.
      sock.on('error', (err) => {
        this.logger.debug({ err: err.message, kind }, 'udp socket error');
      });
    }
  }

  static async bind(options: UdpPairOptions): Promise<UdpPair> {
    const { rtp, rtcp } = await bindUdpPair(options.host, options.rtpPort);
    return new UdpPair(rtp, rtcp, options.logger, options.isServerPort, options.batchSend ?? 'auto');
  }

  get rtpPort(): number {
    return this.rtp.address().port;
  }

  get rtcpPort(): number {
    return this.rtcp.address().port;
  }

  /** The server's port (this pair's, or another of the server's): the server as a datagram's source. */
  isOwnPort(port: number): boolean {
    return port === this.ownPorts[0] || port === this.ownPorts[1] || (this.isServerPort?.(port) ?? false);
  }

  /** A source that is the server itself: checked only for datagrams from a server port (rare). */
  private fromServerItself(address: string, port: number): boolean {
    if (!this.isOwnPort(port) || !isLocalAddress(address)) return false;
    this.ownDatagramsDropped++;
    return true;
  }

  /**
   * Routes datagrams from address:port (on either socket) to `handler`, for `owner`. A route held
   * by another owner is not replaced: false (the caller refuses the SETUP before, see routeOwner).
   */
  route(address: string, port: number, handler: DatagramHandler, owner?: unknown): boolean {
    const key = addressKey(normalizeAddress(address), port);
    const cur = this.routes.get(key);
    if (cur !== undefined && cur.owner !== owner) return false;
    this.routes.set(key, { handler, owner });
    return true;
  }

  /** Who holds the route from address:port; undefined when nobody does. */
  routeOwner(address: string, port: number): unknown {
    return this.routes.get(addressKey(normalizeAddress(address), port))?.owner;
  }

  unroute(address: string, port: number, handler: DatagramHandler): void {
    const key = addressKey(normalizeAddress(address), port);
    if (this.routes.get(key)?.handler === handler) this.routes.delete(key);
  }

  /** RTP sends go through one sendmmsg per flush (udp-batch.ts), not one dgram send per datagram. */
  get batchesSends(): boolean {
    return this.batch !== undefined;
  }

  /** The send path this pair's RTP takes, and why (what the server logs and exports). */
  get sendPath(): UdpSendPath {
    const wanted = udpSendPath(this.batchSend);
    if (this.batch !== undefined || wanted.path === 'dgram') return wanted;
    return { path: 'dgram', reason: "the socket's descriptor is not reachable through dgram" };
  }

  /**
   * Not batched: what comes here is a burst to one reader (the packets held until its PLAY reply, its GOP
   * among them), which dgram's slower pace lets the reader drain as it comes; one sendmmsg of a whole GOP
   * overran the readers' receive buffers in the fan-out bench (udp-batch.ts).
   */
  sendRtp(packet: Buffer, port: number, address: string): void {
    this.batch?.flush(); // what is pending leaves first: one reader's datagrams stay in order
    this.rtp.send(packet, port, address);
  }

  /**
   * As sendRtp, for a packet the caller rewrites once this returns true: the datagram is in the kernel
   * and the buffer is no longer referenced. False: it waits in the socket's queue (the kernel's buffer is
   * full) and the buffer must be left alone until it is sent.
   */
  sendRtpTransient(packet: Buffer, port: number, address: string): boolean {
    // Batched: the packet is copied into the batch's arena, so the caller's buffer is free at once.
    if (this.batch?.add(packet, port, address) === true) return true;
    this.batch?.flush();
    this.rtp.send(packet, port, address);
    return this.rtp.getSendQueueCount() === 0;
  }

  sendRtcp(packet: Buffer, port: number, address: string): void {
    this.rtcp.send(packet, port, address);
  }

  /** Bytes queued in the kernel-facing send queue of the RTP socket. */
  get sendQueueBytes(): number {
    return this.rtp.getSendQueueSize();
  }

  /** Called once the pair is closed (the port range frees its ports). */
  onClose: (() => void) | undefined;
  private closed = false;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.batch?.close();
    this.rtp.close();
    this.rtcp.close();
    this.routes.clear();
    this.onClose?.();
  }
}

/**
 * Per-session UDP ports (RFC 2326 §12.39 server_port) from a configured range, as firewalls that open a
 * port range expect: each UDP track of a session binds its own even/odd pair, closed with the session.
 * The shared pair (UdpPair.bind with one port) costs two sockets for any number of readers; a range costs
 * two per track but lets each session be told apart by port, and caps UDP sessions at (size / 2).
 */
export class UdpPortRange {
  private readonly inUse = new Set<number>();
  /** Where the next search starts, so a just-closed pair is not reused at once (late datagrams). */
  private next: number;

  constructor(
    readonly first: number,
    readonly last: number,
    private readonly host: string,
    private readonly logger: Logger,
  ) {
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1024 || last > 65535 || last <= first)
      throw new Error(`bad UDP port range ${first}-${last}`);
    this.next = first + (first % 2);
  }

  /** Pairs a range can hold. */
  get capacity(): number {
    const start = this.first + (this.first % 2);
    return Math.max(0, Math.floor((this.last - start + 1) / 2));
  }

  get pairsInUse(): number {
    return this.inUse.size;
  }

  /** The port lies in the range (the server's, whether a pair is bound there now or not). */
  includes(port: number): boolean {
    return port >= this.first && port <= this.last;
  }

  /** Binds the next free even/odd pair; undefined when every pair is taken (or bound by others). */
  async allocate(): Promise<UdpPair | undefined> {
    const start = this.first + (this.first % 2);
    const count = this.capacity;
    for (let i = 0; i < count; i++) {
      const port = start + ((this.next - start + 2 * i) % (2 * count));
      if (this.inUse.has(port)) continue;
      this.inUse.add(port);
      try {
        const pair = await UdpPair.bind({
          host: this.host,
          rtpPort: port,
          logger: this.logger,
          isServerPort: (p) => this.includes(p),
          // One session per pair: a flush has a datagram or two per socket, nothing to batch (and an
          // arena per pair would cost 512 KB per UDP session).
          batchSend: 'off',
        });
        this.next = port + 2 > this.last - 1 ? start : port + 2;
        pair.onClose = () => this.inUse.delete(port);
        return pair;
      } catch (e) {
        this.inUse.delete(port);
        // Taken by another program (or refused by the system): try the next pair.
        if (!isSystemError(e)) throw e;
      }
    }
    return undefined;
  }
}

/** `a-b` → { first, last }; throws on a malformed range. */
export function parsePortRange(text: string): { first: number; last: number } {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text.trim());
  if (m === null) throw new Error(`port range ${JSON.stringify(text)} is not "first-last"`);
  return { first: Number(m[1]), last: Number(m[2]) };
}

/** `::ffff:127.0.0.1` (IPv4-mapped, as TCP sockets on a dual-stack listener report it) → `127.0.0.1`. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
