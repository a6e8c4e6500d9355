/**
 * Per-track media of the client after SETUP: the track's UDP ports or interleaved channels, RTP in
 * (reception statistics, RFC 3550 A.8; depacketizing into access units), RTCP in (sender reports, BYE,
 * §6.6), RTP/RTCP out (record mode, receiver reports) and the statistics of stats().
 * UDP ports are an even/odd pair from transport/udp.ts, or a multicast group's pair (multicast.ts);
 * datagrams are taken from the server's addresses only.
 */
import type dgram from 'node:dgram';
import type { Clock } from '../base/clock.js';
import { isParseError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { AccessUnit, Depacketizer } from '../format/access-unit.js';
import { createDepacketizer } from '../format/registry.js';
import { parseRtcpCompound, serializeRtcpCompound, type RtcpPacket } from '../rtp/rtcp.js';
import { parseRtpPacket, randomSsrc, type RtpPacket } from '../rtp/packet.js';
import { RtpReceiverStats } from '../rtp/stats.js';
import { serializeInterleaved } from '../rtsp/message.js';
import { parseRtpInfo, type RtpInfo } from '../rtsp/rtp-info.js';
import type { RtspResponse } from '../rtsp/message.js';
import { parseSession } from '../rtsp/session.js';
import { parseTransport, type TransportSpec } from '../rtsp/transport.js';
import { bindUdpPair, normalizeAddress } from '../transport/udp.js';
import { isOpen, writeTo, type Connection } from './connection.js';
import { RtspClientError } from './errors.js';
import {
  joinFromReply,
  leaveGroup,
  multicastRequest,
  placeKey,
  type MulticastMembership,
  type MulticastPlace,
  type MulticastPreference,
} from './multicast.js';
import type { ClientTrack } from './tracks.js';
import { sameUrl } from './urls.js';

/** `multicast`: RTP/AVP;multicast (RFC 2326 §12.39), the server's group joined (multicast.ts); play only. */
export type ClientTransport = 'udp' | 'tcp' | 'multicast';

export interface TrackStats {
  index: number;
  transport: ClientTransport | undefined;
  packetsReceived: number;
  bytesReceived: number;
  packetsLost: number;
  jitterMs: number;
  accessUnits: number;
  /** Access units the depacketizer dropped (loss, malformed packets). */
  accessUnitsDropped: number;
  /** UDP datagrams dropped for their source address or port. */
  refusedDatagrams: number;
}

/** Where media events go (the client's emitter). */
export interface MediaSink {
  rtp(track: ClientTrack, packet: RtpPacket): void;
  rtcp(track: ClientTrack, packets: RtcpPacket[]): void;
  accessUnit(track: ClientTrack, au: AccessUnit): void;
  bye(track: ClientTrack): void;
  end(): void;
}

export interface UdpSockets {
  rtp: dgram.Socket;
  rtcp: dgram.Socket;
}

interface UdpPorts extends UdpSockets {
  serverAddress: string;
  serverRtpPort?: number;
  serverRtcpPort?: number;
  /** Multicast: the group joined and its place; RTCP goes to the group's port (see multicast.ts). */
  multicast?: { membership: MulticastMembership; place: MulticastPlace };
}

/** A track after SETUP. */
interface SetupTrack {
  track: ClientTrack;
  transport: ClientTransport;
  channels?: { rtp: number; rtcp: number };
  udp?: UdpPorts;
  stats: RtpReceiverStats;
  depacketizer: Depacketizer | undefined;
  remoteSsrc: number | undefined;
  ssrc: number;
  accessUnits: number;
  /** Every RTP packet that arrived, counted before RFC 3550 probation (stats counts after it). */
  packets: number;
  bytes: number;
  rtpInfo?: RtpInfo;
  /** RTCP BYE received from the sender since the last PLAY. */
  ended: boolean;
  /** UDP datagrams dropped for their source (another host, or another port without `anyPort`). */
  refusedDatagrams: number;
}

export interface AddTrack {
  track: ClientTrack;
  transport: ClientTransport;
  /** The SETUP reply's Transport, if it had one that parsed. */
  reply: TransportSpec | undefined;
  /** The channels asked for (used when the reply names none). */
  askedChannels: { rtp: number; rtcp: number };
  udp: UdpSockets | undefined;
  /** Multicast: the group joined for this track (its sockets are `udp`). */
  multicast?: { membership: MulticastMembership; place: MulticastPlace };
  /** The control connection's peer: UDP datagrams are accepted from it and from the reply's source. */
  remoteAddress: string;
  /** Depacketize into access units (play mode with accessUnits on). */
  depacketize: boolean;
}

/** The Transport a SETUP asks for (RFC 2326 §12.39): unicast RTP/AVP over UDP ports or interleaved. */
export function transportRequest(
  transport: ClientTransport,
  record: boolean,
  ports: { channels: { rtp: number; rtcp: number } } | { udp: UdpSockets },
): TransportSpec {
  const spec: TransportSpec = {
    protocol: 'RTP',
    profile: 'AVP',
    lowerTransport: transport === 'tcp' ? 'TCP' : 'UDP',
    lowerTransportExplicit: transport === 'tcp',
    delivery: 'unicast',
    extra: [],
  };
  if (record) spec.mode = 'RECORD';
  if ('channels' in ports) spec.interleaved = ports.channels;
  else spec.clientPort = { rtp: ports.udp.rtp.address().port, rtcp: ports.udp.rtcp.address().port };
  return spec;
}

/** What a SETUP reply says: its Session (id, timeout) and its Transport; either may be absent or unreadable. */
export function readSetupReply(res: RtspResponse): {
  session: { id: string; timeoutS: number | undefined } | undefined;
  transport: TransportSpec | undefined;
} {
  let session: { id: string; timeoutS: number | undefined } | undefined;
  const sessionHeader = res.headers.get('Session');
  if (sessionHeader !== undefined) {
    try {
      const s = parseSession(sessionHeader);
      session = { id: s.id, timeoutS: s.timeoutS };
    } catch (e) {
      if (!isParseError(e)) throw e;
    }
  }
  let transport: TransportSpec | undefined;
  const th = res.headers.get('Transport');
  if (th !== undefined) {
    try {
      transport = parseTransport(th)[0];
    } catch (e) {
      if (!isParseError(e)) throw e;
    }
  }
  return { session, transport };
}

/** The tracks set up, by index, and their media. */
export class ClientMedia {
  readonly #setup = new Map<number, SetupTrack>();

  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly anyPort: boolean;

  constructor(
    private readonly sink: MediaSink,
    env: { clock: Clock; logger: Logger; anyPort: boolean },
    private readonly cname: string,
  ) {
    this.clock = env.clock;
    this.logger = env.logger;
    this.anyPort = env.anyPort;
  }

  get size(): number {
    return this.#setup.size;
  }

  /** The transport of the first track set up ('tcp' after a fallback), or undefined. */
  get transport(): ClientTransport | undefined {
    return this.#setup.values().next().value?.transport;
  }

  /** The channels the next interleaved track asks for: two per track set up. */
  nextChannels(): { rtp: number; rtcp: number } {
    return { rtp: this.#setup.size * 2, rtcp: this.#setup.size * 2 + 1 };
  }

  /** An even/odd UDP port pair on the control connection's local address. */
  async bindUdp(localAddress: string): Promise<UdpSockets> {
    try {
      return await bindUdpPair(normalizeAddress(localAddress));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      throw new RtspClientError('EADDRINUSE', 'could not bind an even/odd UDP port pair', { cause: e });
    }
  }

  /**
   * What a track's SETUP asks (§12.39), and what it holds while it waits: channels, a bound UDP pair, or
   * (multicast) nothing until the reply names the group.
   */
  async request(
    transport: ClientTransport,
    record: boolean,
    localAddress: string | undefined,
    multicast: MulticastPreference | undefined,
  ): Promise<{ spec: TransportSpec; askedChannels: { rtp: number; rtcp: number }; udp?: UdpSockets }> {
    const askedChannels = this.nextChannels();
    if (transport === 'multicast')
      return { spec: multicastRequest(multicast, this.#setup.size), askedChannels };
    if (transport === 'tcp')
      return { spec: transportRequest(transport, record, { channels: askedChannels }), askedChannels };
    const udp = await this.bindUdp(localAddress ?? '0.0.0.0');
    return { spec: transportRequest(transport, record, { udp }), askedChannels, udp };
  }

  /** A multicast SETUP reply: checked and its group joined (multicast.ts), apart from the tracks' places. */
  joinGroup(
    reply: TransportSpec | undefined,
    url: string,
    localAddress: string | undefined,
  ): Promise<{ membership: MulticastMembership; place: MulticastPlace }> {
    return joinFromReply(reply, url, this.multicastPlaces(), localAddress);
  }

  /** A track after its SETUP reply: replaces one of the same index. */
  add(a: AddTrack): void {
    const { track, reply } = a;
    const st: SetupTrack = {
      track,
      transport: a.transport,
      stats: new RtpReceiverStats(track.clockRate),
      depacketizer: undefined,
      remoteSsrc: reply?.ssrc,
      ssrc: randomSsrc(),
      accessUnits: 0,
      packets: 0,
      bytes: 0,
      ended: false,
      refusedDatagrams: 0,
    };
    if (a.depacketize && track.depacketizable) {
      try {
        st.depacketizer = createDepacketizer(track.encodingName, track.clockRate, track.fmtp);
      } catch (e) {
        if (!isParseError(e)) throw e;
        this.logger.info({ track: track.index, err: (e as Error).message }, 'no depacketizer for track');
      }
    }
    if (a.transport === 'tcp') {
      const ch = reply?.interleaved;
      st.channels = ch === undefined ? a.askedChannels : { rtp: ch.rtp, rtcp: ch.rtcp ?? ch.rtp + 1 };
    } else if (a.udp !== undefined) {
      st.udp = this.#listen(st, a.udp, reply, normalizeAddress(a.remoteAddress), a.multicast?.membership);
      if (a.multicast !== undefined) st.udp.multicast = a.multicast;
    }
    const old = this.#setup.get(track.index);
    if (old !== undefined) closeUdp(old);
    this.#setup.set(track.index, st);
  }

  #listen(
    st: SetupTrack,
    udp: UdpSockets,
    reply: TransportSpec | undefined,
    remote: string,
    membership: MulticastMembership | undefined,
  ): UdpPorts {
    const serverAddress = normalizeAddress(reply?.source ?? remote);
    const ports: UdpPorts = { ...udp, serverAddress };
    if (reply?.serverPort !== undefined) {
      ports.serverRtpPort = reply.serverPort.rtp;
      ports.serverRtcpPort = reply.serverPort.rtcp ?? reply.serverPort.rtp + 1;
    }
    // Datagrams from the server's addresses only; from its `server_port` too unless `anyPort`.
    const accept = (rinfo: dgram.RemoteInfo, serverPort: number | undefined): boolean => {
      const a = normalizeAddress(rinfo.address);
      if (a !== remote && a !== serverAddress) return false;
      return this.anyPort || serverPort === undefined || rinfo.port === serverPort;
    };
    udp.rtp.on('message', (msg, rinfo) => {
      if (accept(rinfo, ports.serverRtpPort)) this.#onRtp(st, msg);
      else st.refusedDatagrams++;
    });
    // A group loops our receiver reports (and other local members') back to us: from our interface and the
    // group's RTCP port. They are not the sender's and not refusals (unless the server is on our address).
    const ownRtcpPort = membership === undefined ? undefined : udp.rtcp.address().port;
    udp.rtcp.on('message', (msg, rinfo) => {
      const a = normalizeAddress(rinfo.address);
      if (
        rinfo.port === ownRtcpPort &&
        a === membership?.interfaceAddress &&
        a !== serverAddress &&
        a !== remote
      )
        return;
      if (accept(rinfo, ports.serverRtcpPort)) this.#onRtcp(st, msg);
      else st.refusedDatagrams++;
    });
    for (const s of [udp.rtp, udp.rtcp])
      s.on('error', (err) => this.logger.debug({ err: err.message }, 'udp error'));
    return ports;
  }

  /** The group:port places the multicast tracks hold (a reply giving one to another track is refused). */
  multicastPlaces(): Set<string> {
    const keys = new Set<string>();
    for (const st of this.#setup.values()) {
      const p = st.udp?.multicast?.place;
      if (p !== undefined) keys.add(placeKey(p.group, p.rtpPort)).add(placeKey(p.group, p.rtcpPort));
    }
    return keys;
  }

  /** Whether any UDP track received a packet (the fallback watchdog's question). */
  udpTracks(): { any: boolean; received: () => boolean } {
    const udp = [...this.#setup.values()].filter((s) => s.transport === 'udp');
    return { any: udp.length > 0, received: () => udp.some((s) => s.packets > 0) };
  }

  /** Closes every UDP socket and forgets the tracks (session ended). */
  clear(): void {
    this.closeSockets();
    this.#setup.clear();
  }

  /** Closes every UDP socket (client closed). */
  closeSockets(): void {
    for (const s of this.#setup.values()) closeUdp(s);
  }

  /** After a PLAY reply: no track has ended; RTP-Info entries (§12.33) go to their tracks by URL. */
  onPlay(rtpInfoHeader: string | undefined): void {
    for (const st of this.#setup.values()) st.ended = false;
    let rtpInfo: RtpInfo[] = [];
    if (rtpInfoHeader !== undefined) {
      try {
        rtpInfo = parseRtpInfo(rtpInfoHeader);
      } catch (e) {
        if (!isParseError(e)) throw e;
      }
    }
    for (const entry of rtpInfo) {
      const st = [...this.#setup.values()].find((s) => sameUrl(s.track.controlUrl, entry.url));
      if (st !== undefined) st.rtpInfo = entry;
    }
  }

  onInterleaved(channel: number, payload: Buffer): void {
    for (const st of this.#setup.values()) {
      if (st.channels === undefined) continue;
      if (channel === st.channels.rtp) return this.#onRtp(st, payload);
      if (channel === st.channels.rtcp) return this.#onRtcp(st, payload);
    }
  }

  #onRtp(st: SetupTrack, buf: Buffer): void {
    let packet: RtpPacket;
    try {
      packet = parseRtpPacket(buf);
    } catch (e) {
      if (isParseError(e)) return;
      throw e;
    }
    st.remoteSsrc ??= packet.ssrc;
    st.packets++;
    st.bytes += packet.payload.length;
    st.stats.onPacket(
      packet.sequenceNumber,
      packet.timestamp,
      this.clock.monotonicMs(),
      packet.payload.length,
    );
    this.sink.rtp(st.track, packet);
    if (st.depacketizer === undefined) return;
    if (packet.payloadType !== st.track.payloadType && st.track.payloadType >= 0) return;
    for (const au of st.depacketizer.push(packet)) {
      st.accessUnits++;
      this.sink.accessUnit(st.track, au);
    }
  }

  #onRtcp(st: SetupTrack, buf: Buffer): void {
    let packets: RtcpPacket[];
    try {
      packets = parseRtcpCompound(buf);
    } catch (e) {
      if (isParseError(e)) return;
      throw e;
    }
    let bye = false;
    for (const p of packets) {
      if (p.type === 'sr') st.stats.onSenderReport(p, this.clock.monotonicMs());
      // A BYE for another SSRC (a collision, another participant) does not end this track.
      else if (p.type === 'bye' && (st.remoteSsrc === undefined || p.ssrcs.includes(st.remoteSsrc)))
        bye = true;
    }
    this.sink.rtcp(st.track, packets);
    if (!bye || st.ended) return;
    st.ended = true;
    this.sink.bye(st.track);
    if ([...this.#setup.values()].every((s) => s.ended)) this.sink.end();
  }

  /** Ends the access unit being assembled on every track (end of stream) and emits it. */
  flush(): void {
    for (const st of this.#setup.values()) {
      for (const au of st.depacketizer?.flush() ?? []) {
        st.accessUnits++;
        this.sink.accessUnit(st.track, au);
      }
    }
  }

  stats(): TrackStats[] {
    return [...this.#setup.values()].map((st) => ({
      index: st.track.index,
      transport: st.transport,
      packetsReceived: st.packets,
      bytesReceived: st.bytes,
      packetsLost: Math.max(0, st.stats.cumulativeLost),
      jitterMs: st.stats.jitterMs,
      accessUnits: st.accessUnits,
      accessUnitsDropped: st.depacketizer?.stats.droppedAccessUnits ?? 0,
      refusedDatagrams: st.refusedDatagrams,
    }));
  }

  /**
   * Sends RTP or RTCP of track `index`: interleaved on `conn`, to the server's UDP ports, or (RTCP of a
   * multicast track) to the group's RTCP port.
   */
  send(conn: Connection | undefined, index: number, packet: Buffer, kind: 'rtp' | 'rtcp'): boolean {
    const st = this.#setup.get(index);
    if (st === undefined) throw new RtspClientError('STATE', `track ${index} is not set up`);
    if (st.channels !== undefined) {
      if (!isOpen(conn)) return false;
      return writeTo(conn, serializeInterleaved(kind === 'rtp' ? st.channels.rtp : st.channels.rtcp, packet));
    }
    const u = st.udp;
    const group = u?.multicast?.place;
    if (group !== undefined) {
      // Receivers of a group send RTCP only (RFC 3550 §6); RTP would come back to every member.
      if (kind === 'rtp') return false;
      u!.rtcp.send(packet, group.rtcpPort, group.group);
      return true;
    }
    const port = kind === 'rtp' ? u?.serverRtpPort : u?.serverRtcpPort;
    if (u === undefined || port === undefined) return false;
    (kind === 'rtp' ? u.rtp : u.rtcp).send(packet, port, u.serverAddress);
    return true;
  }

  /** An RR + SDES compound (RFC 3550 §6.4.2) for every track that received validated packets. */
  sendReceiverReports(conn: Connection | undefined): void {
    const now = this.clock.monotonicMs();
    for (const st of this.#setup.values()) {
      if (st.remoteSsrc === undefined || !st.stats.validated) continue;
      const packet = serializeRtcpCompound([
        { type: 'rr', ssrc: st.ssrc, reports: [st.stats.reportBlock(st.remoteSsrc, now)] },
        { type: 'sdes', chunks: [{ ssrc: st.ssrc, items: [{ type: 1, text: this.cname }] }] },
      ]);
      try {
        this.send(conn, st.track.index, packet, 'rtcp');
      } catch (e) {
        if (!isSendFault(e)) throw e;
        this.logger.debug({ err: (e as Error).message }, 'receiver report not sent');
      }
    }
  }
}

/**
 * What sending media may throw when the session is going away: a track not set up (STATE), a UDP socket
 * already closed, or a server port no datagram can go to (a reply's server_port=0).
 */
export function isSendFault(e: unknown): boolean {
  if (e instanceof RtspClientError) return true;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ERR_SOCKET_DGRAM_NOT_RUNNING' || code === 'ERR_SOCKET_BAD_PORT';
}

function closeUdp(st: SetupTrack): void {
  if (st.udp === undefined) return;
  if (st.udp.multicast !== undefined) leaveGroup(st.udp.multicast.membership);
  for (const s of [st.udp.rtp, st.udp.rtcp]) {
    try {
      s.close();
    } catch (e) {
      // Closing twice throws ERR_SOCKET_DGRAM_NOT_RUNNING: already closed is closed.
      if ((e as NodeJS.ErrnoException).code !== 'ERR_SOCKET_DGRAM_NOT_RUNNING') throw e;
    }
  }
  delete st.udp;
}
