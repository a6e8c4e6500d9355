/**
 * Batched UDP sends through the optional add-on `@rtspkit/udp-batch` (packages/udp-batch: one
 * sendmmsg(2) for many datagrams, Linux). A UDP reader costs one dgram send per datagram, and on this
 * kind of VM the per-call cost (JS to C++, libuv, syscall entry and exit) is most of a datagram's CPU
 * (DEVELOPERS.md, "What a UDP datagram costs"). A `UdpSendBatch` copies each datagram of a socket into an
 * arena with its destination and hands them all to the kernel in one call from a microtask, i.e. right
 * after the Stream's flush (`Stream.flushNow`) that produced them has returned, or sooner when the arena is
 * full. What the kernel does not take (a full send buffer: EAGAIN; a refusal of one datagram) goes through
 * dgram's `send` as before, which queues it and keeps the backlog accounting (`getSendQueueSize`) as it is.
 *
 * Not available (no add-on, another platform, a dgram without the private state that holds its
 * descriptor, `udpBatchSend: off`): the caller sends through dgram alone (`UdpPair`).
 */
import type dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';

export type UdpBatchMode = 'auto' | 'off';

interface Binding {
  sendBatch(
    fd: number,
    family: 4 | 6,
    arena: Uint8Array,
    lengths: Uint32Array,
    addresses: Uint8Array,
    ports: Uint16Array,
    count: number,
    errnoOut: Int32Array,
  ): number;
}

type AddonLoad =
  | { readonly available: true; readonly binding: Binding; readonly file: string }
  | { readonly available: false; readonly reason: string };

let addon: AddonLoad | undefined;

/** Loads the add-on once (the package's loader picks the prebuild or a local build; it never throws). */
function loadAddon(): AddonLoad {
  if (addon !== undefined) return addon;
  try {
    addon = createRequire(import.meta.url)('@rtspkit/udp-batch') as AddonLoad;
  } catch (err) {
    addon = {
      available: false,
      reason: `optional dependency @rtspkit/udp-batch not installed (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
    };
  }
  return addon;
}

export interface UdpSendPath {
  readonly path: 'sendmmsg' | 'dgram';
  readonly reason: string;
}

/** Which send path UDP fan-out takes under `mode`, and why: what the server logs and exports. */
export function udpSendPath(mode: UdpBatchMode): UdpSendPath {
  if (mode === 'off') return { path: 'dgram', reason: 'udpBatchSend: off' };
  const a = loadAddon();
  return a.available
    ? { path: 'sendmmsg', reason: `add-on ${a.file}` }
    : { path: 'dgram', reason: `add-on not available: ${a.reason}` };
}

/**
 * The path the server that last bound its UDP ports took (TransportSetup), for `/metrics`
 * (rtspkit_udp_send_path): process-wide like the add-on and its counters; undefined before any did.
 */
export let udpSendPathInUse: UdpSendPath | undefined;
export function noteUdpSendPath(path: UdpSendPath): void {
  udpSendPathInUse = path;
}

/** Process-wide counts of the batched path (rtspkit_udp_batch_* metrics). */
export const udpBatchCounters = {
  /** sendBatch calls. */
  calls: 0,
  /** Datagrams the kernel took through sendmmsg. */
  sent: 0,
  /** Datagrams handed to dgram instead, by why: the kernel's send buffer was full (EAGAIN), the
   *  kernel refused that datagram (another errno; dgram then tries it), the socket already had
   *  datagrams queued (sending around them would reorder), or its descriptor was not reachable. */
  viaDgram: { full: 0, refused: 0, queued: 0, noDescriptor: 0 },
  /** Datagrams dropped because their socket had closed before the batch left (nothing can send them). */
  closedDropped: 0,
};

/** Datagrams per batch at most, and the arena's size: a batch is sent when either is reached. */
const MAX_DATAGRAMS = 1024;
const ARENA_BYTES = 512 * 1024;
/** The largest UDP payload (IPv4); anything larger goes to dgram, which throws or reports it as before. */
const MAX_DATAGRAM_BYTES = 65507;
const EAGAIN = 11;
/**
 * SO_SNDBUF asked for a batched socket (Linux doubles it and caps it at 2 * net.core.wmem_max). On loopback a
 * datagram stays charged to the sender until its reader has read it: with the default (208 KB, about 90
 * datagrams) a flush to 500 readers sent in one go outran the readers, hit EAGAIN, and the dgram queue it
 * then fills made every reader of the shared pair shed (the fan-out bench lost a fifth of its packets). One
 * dgram send at a time is slow enough for the readers to keep up; a batch needs the room.
 */
const SEND_BUFFER_BYTES = 4 * 1024 * 1024;

/** dgram keeps its handle (and so the descriptor) under a private symbol; `_handle` is deprecated. */
function stateSymbolOf(socket: dgram.Socket): symbol | undefined {
  return Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
}

/** An IP literal's 16 address bytes for a socket of `family` (IPv4 in an IPv6 socket: v4-mapped). */
function addressBytes(address: string, family: 4 | 6, out: Uint8Array): boolean {
  const kind = isIP(address);
  out.fill(0);
  if (kind === 4) {
    const parts = address.split('.');
    const at = family === 4 ? 0 : 12;
    if (family === 6) out[10] = out[11] = 0xff;
    for (let i = 0; i < 4; i++) out[at + i] = Number(parts[i]);
    return true;
  }
  if (kind !== 6 || family !== 6 || address.includes('%')) return false; // a scope id: dgram's job
  return parseIpv6(address, out);
}

/** `a:b::c` (and an IPv4 tail, `::ffff:1.2.3.4`) into 16 bytes; isIP has already accepted it. */
function parseIpv6(address: string, out: Uint8Array): boolean {
  let text = address;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    for (const p of text.slice(lastColon + 1).split('.')) tail.push(Number(p));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = text.split('::');
  const groupsOf = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const front = groupsOf(head);
  const back = rest === undefined ? [] : groupsOf(rest);
  const zeros = 8 - front.length - back.length;
  if (zeros < 0 || (rest === undefined && zeros !== 0)) return false;
  const groups = [...front, ...new Array<number>(zeros).fill(0), ...back];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  if (tail.length === 4) out.set(tail, 12);
  return true;
}

/** One socket's pending datagrams (the server's RTP socket of a pair: UdpPair). */
export class UdpSendBatch {
  private readonly arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
  private readonly lengths = new Uint32Array(MAX_DATAGRAMS);
  private readonly ports = new Uint16Array(MAX_DATAGRAMS);
  private readonly addresses = new Uint8Array(16 * MAX_DATAGRAMS);
  private readonly errnoOut = new Int32Array(1);
  private count = 0;
  private used = 0;
  private scheduled = false;
  private closed = false;
  /** The last destination's address bytes (a fan-out sends to few hosts, often one). */
  private lastAddress = '';
  private readonly lastBytes = new Uint8Array(16);
  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly family: 4 | 6,
    private readonly stateSymbol: symbol,
    private readonly binding: Binding,
  ) {}

  /** A batch for `socket` when the add-on is there and the socket's descriptor reachable; else undefined. */
  static for(socket: dgram.Socket, mode: UdpBatchMode): UdpSendBatch | undefined {
    if (mode === 'off') return undefined;
    const a = loadAddon();
    const symbol = stateSymbolOf(socket);
    if (!a.available || symbol === undefined) return undefined;
    const family = socket.address().family === 'IPv6' ? 6 : 4;
    try {
      if (socket.getSendBufferSize() < SEND_BUFFER_BYTES) socket.setSendBufferSize(SEND_BUFFER_BYTES);
    } catch {
      // Refused (a system limit): the kernel's EAGAIN is handled, only sooner.
    }
    return new UdpSendBatch(socket, family, symbol, a.binding);
  }

  /** Datagrams waiting for the next flush. */
  get pending(): number {
    return this.count;
  }

  /**
   * Copies `packet` in for address:port; it is sent by the end of this turn. False: not taken (an address
   * this path does not handle, a packet too large): the caller sends it through dgram after `flush()`.
   */
  add(packet: Uint8Array, port: number, address: string): boolean {
    if (this.closed) return false;
    const length = packet.length;
    // dgram checks (and throws on) a bad port where the caller can see it, not in this batch's microtask.
    if (length > MAX_DATAGRAM_BYTES || !Number.isInteger(port) || port <= 0 || port > 0xffff) return false;
    if (address !== this.lastAddress) {
      if (!addressBytes(address, this.family, this.lastBytes)) {
        this.lastAddress = '';
        return false;
      }
      this.lastAddress = address;
    }
    if (this.count === MAX_DATAGRAMS || this.used + length > ARENA_BYTES) this.flush();
    const i = this.count;
    this.arena.set(packet, this.used);
    this.lengths[i] = length;
    this.ports[i] = port;
    this.addresses.set(this.lastBytes, 16 * i);
    this.used += length;
    this.count = i + 1;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushSoon);
    }
    return true;
  }

  /** Sends what is pending; afterwards `add` takes nothing (the caller's socket is closing). */
  close(): void {
    this.flush();
    this.closed = true;
  }

  /**
   * Hands the pending datagrams to the kernel; what it does not take goes through dgram. Never throws: it
   * runs from a microtask, where an exception would end the process.
   */
  flush(): void {
    const count = this.count;
    if (count === 0) return;
    this.count = 0;
    this.used = 0;
    const handle = (
      this.socket as unknown as Record<symbol, { handle?: { fd?: unknown } | null } | undefined>
    )[this.stateSymbol]?.handle;
    if (handle === null || handle === undefined) {
      // The socket closed under the batch: nothing can send these any more.
      udpBatchCounters.closedDropped += count;
      return;
    }
    const fd = handle.fd;
    if (typeof fd !== 'number' || fd < 0) {
      // A dgram whose handle has no descriptor (another platform, another Node).
      udpBatchCounters.viaDgram.noDescriptor += count;
      this.sendViaDgram(0, count, 0);
      return;
    }
    if (this.socket.getSendQueueCount() > 0) {
      udpBatchCounters.viaDgram.queued += count;
      this.sendViaDgram(0, count, 0);
      return;
    }
    let from = 0;
    let offset = 0;
    while (from < count) {
      udpBatchCounters.calls++;
      const sent = this.binding.sendBatch(
        fd,
        this.family,
        this.arena.subarray(offset),
        this.lengths.subarray(from),
        this.addresses.subarray(16 * from),
        this.ports.subarray(from),
        count - from,
        this.errnoOut,
      );
      udpBatchCounters.sent += sent;
      for (let i = from; i < from + sent; i++) offset += this.lengths[i]!;
      from += sent;
      if (from === count) return;
      if (this.errnoOut[0] === EAGAIN || this.errnoOut[0] === 0) {
        // The send buffer is full: dgram queues the rest, in order, and the backlog counts it.
        udpBatchCounters.viaDgram.full += count - from;
        this.sendViaDgram(from, count, offset);
        return;
      }
      // The kernel refused this one datagram (its destination): dgram tries it as it did before the add-on.
      udpBatchCounters.viaDgram.refused++;
      this.sendViaDgram(from, from + 1, offset);
      offset += this.lengths[from]!;
      from++;
    }
  }

  /** Datagrams [from, to) starting at `offset` in the arena, each as its own copy (dgram may queue it). */
  private sendViaDgram(from: number, to: number, offset: number): void {
    for (let i = from; i < to; i++) {
      const length = this.lengths[i]!;
      const address = addressText(this.addresses.subarray(16 * i, 16 * i + 16), this.family);
      try {
        this.socket.send(Buffer.from(this.arena.subarray(offset, offset + length)), this.ports[i], address);
      } catch {
        udpBatchCounters.closedDropped++; // the socket closed (dgram throws ERR_SOCKET_DGRAM_NOT_RUNNING)
      }
      offset += length;
    }
  }
}

/** The text of 16 address bytes (IPv4: the first 4; IPv6: all, v4-mapped as `::ffff:a.b.c.d`). */
function addressText(bytes: Uint8Array, family: 4 | 6): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}
