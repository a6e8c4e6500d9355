/**
 * An RTSP session (RFC 2326 §3, Appendix A): Init → Ready (SETUP) → Playing / Recording.
 * A playing session is a StreamReader; a recording session feeds its path's Stream. It owns its
 * protocol state: the handlers ask it what a request may do and tell it what happened, and it moves
 * by the table in session-state.ts, for the role it was made with.
 */
import { clockTimeout } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { ReaderStart, Stream, StreamEndInfo, StreamReader } from '../media/stream.js';
import type { RtpReceiverStats } from '../rtp/stats.js';
import type { UdpPair, DatagramHandler } from '../transport/udp.js';
import type { ChannelHandler, InterleavedChannels } from './interleaved-channels.js';
import {
  allowedMethods,
  sessionCell,
  stateOfRow,
  type SessionInput,
  type SessionMethod,
  type SessionRole,
  type SessionRow,
  type SessionState,
  type StateRefusalStatus,
} from './session-state.js';

export type { SessionRole, SessionState } from './session-state.js';
/** The right a session was made with (rights.ts): a reader's or a publisher's. */
export type SessionMode = 'play' | 'record';

/** A request the session's state does not accept: 455 with the methods it does (§11.3.6, §12.4), or 404. */
export interface StateRefusal {
  statusCode: StateRefusalStatus;
  /** For 455: the `Allow` header's methods. */
  allow: SessionMethod[];
}

export interface UdpTrackSetup {
  kind: 'udp';
  clientAddress: string;
  clientRtpPort: number;
  clientRtcpPort: number;
  /** The server ports: the server's shared pair, or the track's own from a port range. */
  pair: UdpPair;
  /** The pair is the track's own (closed with it), not the shared one. */
  ownsPair: boolean;
}

export interface TcpTrackSetup {
  kind: 'tcp';
  rtpChannel: number;
  rtcpChannel: number;
}

/** Multicast: the path's group sends (see multicast.ts); the session only holds it open. */
export interface MulticastTrackSetup {
  kind: 'multicast';
  address: string;
  rtpPort: number;
  rtcpPort: number;
}

export type TrackSetup = UdpTrackSetup | TcpTrackSetup | MulticastTrackSetup;

/** What a session needs from the TCP connection that carries its interleaved data. */
export interface InterleavedSink {
  readonly writableLength: number;
  /** The memory its queue holds (writableLength and any buffer a queued write keeps alive); else writableLength. */
  readonly backlogBytes?: number;
  write(bytes: Buffer): void;
  /** As write, for bytes the caller reuses: true when they are no longer referenced. */
  writeTransient(bytes: Buffer): boolean;
  writeInterleaved(channel: number, packet: Buffer): void;
  end?(): void;
  destroy?(): void;
}

export interface ReceivedTrackStats {
  packetsReceived: number;
  bytesReceived: number;
  packetsLost: number;
  /** Interarrival jitter in seconds (RFC 3550 §6.4.1), from receiver reports or our own measure. */
  jitterS: number;
}

const MAX_HELD_BYTES = 8 * 1024 * 1024;

/** Where a session was made, which decides who may control it (see session-binding.ts). */
export interface SessionOwner {
  /** The connection (or HTTP tunnel) whose request made the session. */
  connection: object;
  /** Its IP address, normalized (`::ffff:` removed). */
  ip: string;
  /** The user whose credentials the creating request carried; undefined when anonymous or auth is off. */
  user: string | undefined;
}

export class ServerSession implements StreamReader {
  /** The table row the session is in (session-state.ts); moved only by `transition`. */
  private row: SessionRow = 'init';
  /** It has played or recorded once (PLAY or RECORD accepted); until then it is half-made. */
  started = false;
  /** Set by the server when the session is made; undefined only for sessions made in unit tests. */
  owner: SessionOwner | undefined;
  /** Monotonic ms when the session was made. */
  readonly createdMs: number;
  readonly setups: (TrackSetup | undefined)[] = [];
  lastActivityMs: number;
  /** Seconds advertised in this session's Session header; kept when the server's option changes. */
  timeoutS = 60;
  /** Reader sessions: the SSRC announced in SETUP per track (the stream sends with it). */
  readonly ssrcs: (number | undefined)[] = [];
  /** The stream this session reads from or publishes to, once PLAYing / RECORDing. */
  stream: Stream | undefined;
  /** Per track, for GET_PARAMETER: what we received (publisher) or what the reader reported (RTCP RR). */
  readonly trackStats: ReceivedTrackStats[] = [];
  /** Publisher sessions: RFC 3550 receiver statistics per track (loss, jitter). */
  readonly receivers: (RtpReceiverStats | undefined)[] = [];
  packetsSent = 0;
  bytesSent = 0;
  closed = false;
  /** The User-Agent of the request that made the session (which server requests its client follows). */
  userAgent: string | undefined;
  /** The presentation's URL as the client named it, userinfo removed: the Request-URI of our requests to it. */
  presentationUri = '*';

  private outputOpen = false;
  private held: ({ framed: Buffer; packets: number } | { track: number; packet: Buffer })[] = [];
  private heldBytes = 0;
  private udpHandlers: { udp: UdpPair; address: string; port: number; handler: DatagramHandler }[] = [];
  /** The connections' channel tables this session registered channels in: taken back at its end. */
  private readonly channelTables = new Set<InterleavedChannels>();

  constructor(
    readonly id: string,
    readonly path: string,
    /** What the session is for, fixed when it is made: a live reader, a publisher, a file reader. */
    readonly role: SessionRole,
    readonly trackCount: number,
    /** The connection that created the session; TCP-interleaved sessions die with it. */
    public sink: InterleavedSink | undefined,
    readonly logger: Logger,
    nowMs: number,
    /** Wall-clock ms (Unix) when the session was made, for people and the API. */
    readonly createdAtWallMs: number,
  ) {
    this.lastActivityMs = nowMs;
    this.createdMs = nowMs;
    for (let i = 0; i < trackCount; i++)
      this.trackStats.push({ packetsReceived: 0, bytesReceived: 0, packetsLost: 0, jitterS: 0 });
  }

  /** A request (or a packet) of the session arrived: its timeout runs from `nowMs` (RFC 2326 §12.37). */
  keptAlive(nowMs: number): void {
    this.lastActivityMs = nowMs;
  }

  // ---- protocol state (RFC 2326 Appendix A, session-state.ts) ----

  /** RFC 2326 Appendix A state. */
  get state(): SessionState {
    return stateOfRow(this.row);
  }

  /** The right the session was made with: a publisher records, every reader plays. */
  get mode(): SessionMode {
    return this.role.kind === 'publisher' ? 'record' : 'play';
  }

  /**
   * The live stream this reader played has ended (publisher left, multicast group closed). The session
   * stays until TEARDOWN or its timeout, as gst-rtsp-server keeps it: rtspsrc answers RTCP BYE with
   * PAUSE and TEARDOWN and reports an error if they get 454.
   */
  get streamGone(): boolean {
    return this.row === 'stream-gone';
  }

  /** Why `method` is not valid in the session's state, or undefined when it is (the gate asks first). */
  refusal(method: SessionMethod): StateRefusal | undefined {
    const cell = sessionCell(this.role.kind, this.row, method);
    if (!('refuse' in cell)) return undefined;
    return { statusCode: cell.refuse, allow: allowedMethods(this.role.kind, this.row) };
  }

  /**
   * Applies what a request (that its handler carried out) or an event does to the state; false, and
   * nothing moves, when the table refuses it here. Reaching Playing or Recording marks the session
   * started.
   */
  transition(input: SessionInput): boolean {
    const cell = sessionCell(this.role.kind, this.row, input);
    if (!('next' in cell)) return false;
    this.row = cell.next;
    if (cell.next === 'playing' || cell.next === 'recording') this.started = true;
    return true;
  }

  // ---- StreamReader ----

  get transport(): 'tcp' | 'udp' {
    return this.setups.some((s) => s !== undefined && s.kind !== 'tcp') ? 'udp' : 'tcp';
  }

  get isMulticast(): boolean {
    return this.setups.some((s) => s?.kind === 'multicast');
  }

  get rtpChannels(): (number | undefined)[] {
    return Array.from({ length: this.trackCount }, (_, i) => {
      const s = this.setups[i];
      return s?.kind === 'tcp' ? s.rtpChannel : undefined;
    });
  }

  get tracks(): number[] {
    const out: number[] = [];
    this.setups.forEach((s, i) => {
      if (s !== undefined) out.push(i);
    });
    return out;
  }

  /**
   * TCP: the connection's unsent bytes. UDP: what waits in user space behind the RTP socket's
   * kernel send buffer (dgram queues without limit). On loopback the kernel charges a datagram to
   * the sender until the receiver reads it, so slow readers fill that buffer and the queue grew to
   * GBs at 1000 UDP readers. A shared pair's queue is every UDP reader's: past the stream's bound
   * they all shed (and rejoin at a keyframe once it has drained) instead of queueing without end.
   */
  get backlogBytes(): number {
    if (!this.outputOpen) return this.heldBytes;
    if (this.transport === 'tcp') return this.sink?.backlogBytes ?? this.sink?.writableLength ?? 0;
    let queued = 0;
    for (const s of this.setups) if (s?.kind === 'udp') queued = Math.max(queued, s.pair.sendQueueBytes);
    return queued;
  }

  get outputHeld(): boolean {
    return !this.outputOpen;
  }

  writeInterleaved(bytes: Buffer, packets: number): void {
    if (!this.outputOpen) {
      this.hold({ framed: bytes, packets }, bytes.length);
      return;
    }
    this.packetsSent += packets;
    this.bytesSent += bytes.length;
    this.sink?.write(bytes);
  }

  writeInterleavedTransient(bytes: Buffer, packets: number): boolean {
    if (!this.outputOpen) {
      this.hold({ framed: Buffer.from(bytes), packets }, bytes.length);
      return true;
    }
    this.packetsSent += packets;
    this.bytesSent += bytes.length;
    return this.sink?.writeTransient(bytes) ?? true;
  }

  sendRtp(track: number, packet: Buffer): void {
    if (!this.outputOpen) {
      this.hold({ track, packet }, packet.length);
      return;
    }
    const s = this.setups[track];
    if (s?.kind !== 'udp') return;
    this.packetsSent++;
    this.bytesSent += packet.length;
    s.pair.sendRtp(packet, s.clientRtpPort, s.clientAddress);
  }

  sendRtpTransient(track: number, packet: Buffer): boolean {
    if (!this.outputOpen) {
      this.hold({ track, packet: Buffer.from(packet) }, packet.length);
      return true;
    }
    const s = this.setups[track];
    if (s?.kind !== 'udp') return true;
    this.packetsSent++;
    this.bytesSent += packet.length;
    return s.pair.sendRtpTransient(packet, s.clientRtpPort, s.clientAddress);
  }

  sendRtcp(track: number, packet: Buffer): void {
    const s = this.setups[track];
    if (s === undefined) return;
    if (s.kind === 'tcp') this.sink?.writeInterleaved(s.rtcpChannel, packet);
    else if (s.kind === 'udp') s.pair.sendRtcp(packet, s.clientRtcpPort, s.clientAddress);
  }

  streamEnded(reason: string, info: StreamEndInfo = {}): void {
    this.onStreamEnded?.(this, reason, info);
  }

  /**
   * The stream cut this reader off (its backlog did not drain, see media/reader-backlog.ts): its
   * connection is closed, which frees what is queued there and ends its interleaved sessions.
   */
  cutOff(reason: string): void {
    this.logger.warn({ path: this.path, reason }, 'reader cut off, closing its connection');
    this.sink?.destroy?.();
  }

  /**
   * Set while the reading runs in a fan-out worker (src/fanout/, `fanoutWorkers`): stopping it
   * (PAUSE, the session's end) tells the worker.
   */
  remoteReading: { stop(): void } | undefined;

  /** Set by the server: what to do when the stream this session reads ends. */
  onStreamEnded: ((s: ServerSession, reason: string, info: StreamEndInfo) => void) | undefined;

  // ---- output gating: nothing is sent before the PLAY reply ----

  private hold(
    item: { framed: Buffer; packets: number } | { track: number; packet: Buffer },
    size: number,
  ): void {
    if (this.heldBytes + size > MAX_HELD_BYTES) return;
    this.held.push(item);
    this.heldBytes += size;
  }

  /** Called once the PLAY reply is written: releases what the stream delivered meanwhile. */
  openOutput(): void {
    this.outputOpen = true;
    // A live reader's GOP burst and what came since (media/stream-joins.ts), before anything held here.
    this.stream?.outputOpened(this);
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const item of held) {
      if ('framed' in item) this.writeInterleaved(item.framed, item.packets);
      else this.sendRtp(item.track, item.packet);
    }
  }

  closeOutput(): void {
    this.outputOpen = false;
    this.held = [];
    this.heldBytes = 0;
  }

  /**
   * Starts reading `stream`; resolves with the first packet of each set-up track once all are
   * known, or after `maxWaitMs` with those known by then (RTP-Info may omit seq/rtptime, §12.33).
   */
  startReading(stream: Stream, maxWaitMs: number): Promise<(ReaderStart | undefined)[]> {
    this.stream = stream;
    const wanted = this.tracks;
    return new Promise((resolve) => {
      let done = false;
      let timer: { cancel(): void } | undefined;
      const finish = (): void => {
        if (done) return;
        done = true;
        timer?.cancel();
        const starts = stream.readerStarts(this);
        resolve(Array.from({ length: this.trackCount }, (_, i) => starts[i]));
      };
      let known = 0;
      stream.addReader(this, () => {
        known++;
        if (known === wanted.length) finish();
      });
      // Starts known inside addReader (the GOP cache, a storm start) need no timer: one per PLAY of a
      // storm was 2 % of its JS.
      if (known < wanted.length || wanted.length === 0) timer = clockTimeout(stream.clock, finish, maxWaitMs);
    });
  }

  stopReading(): void {
    this.stream?.removeReader(this);
    const remote = this.remoteReading;
    this.remoteReading = undefined;
    remote?.stop();
    this.closeOutput();
  }

  // ---- interleaved routing ----

  /**
   * Registers a track's interleaved channels on the connection that carries them: its frames go
   * straight to `rtp` and `rtcp` (the track's media-in handlers) until the session ends.
   */
  bindChannels(
    channels: InterleavedChannels,
    rtpChannel: number,
    rtcpChannel: number,
    handlers: { rtp: ChannelHandler; rtcp: ChannelHandler },
  ): void {
    channels.bind(rtpChannel, this, handlers.rtp);
    channels.bind(rtcpChannel, this, handlers.rtcp);
    this.channelTables.add(channels);
  }

  // ---- UDP routing ----

  /**
   * Routes datagrams from address:port arriving on `udp` (the track's server pair) to `handler`;
   * false when another session holds that route (the server checks before, see udp-client-ports.ts).
   */
  routeUdp(udp: UdpPair, address: string, port: number, handler: DatagramHandler): boolean {
    if (!udp.route(address, port, handler, this)) return false;
    this.udpHandlers.push({ udp, address, port, handler });
    return true;
  }

  /** Closes a track's own pair (a SETUP that replaces it, or the session's end). */
  releaseTrackPorts(track: number): void {
    const s = this.setups[track];
    if (s?.kind === 'udp' && s.ownsPair) {
      const pair = s.pair;
      this.udpHandlers = this.udpHandlers.filter((r) => r.udp !== pair);
      pair.close();
    }
  }

  release(): void {
    this.closed = true;
    for (const r of this.udpHandlers) r.udp.unroute(r.address, r.port, r.handler);
    this.udpHandlers = [];
    for (const channels of this.channelTables) channels.unbind(this);
    this.channelTables.clear();
    for (let t = 0; t < this.setups.length; t++) this.releaseTrackPorts(t);
    this.held = [];
  }
}
