/**
 * Transport negotiation and allocation for SETUP (RFC 2326 §12.39): which of the client's Transport
 * specs the server takes, and what it binds for a track: interleaved channels on the connection,
 * a place in the path's multicast group, or a UDP pair (the shared one, or one from the configured
 * range) routed to the client's ports. Apart from the SETUP handler, which finds the session, the
 * path and the track, because this is the part that deals in ports, channels and groups (and holds
 * the server's UDP sockets); the handler decides, this allocates.
 */
import type { Logger } from '../base/logger.js';
import type { TransportSpec } from '../rtsp/transport.js';
import { UdpPair, UdpPortRange, normalizeAddress } from '../transport/udp.js';
import { noteUdpSendPath } from '../transport/udp-batch.js';
import type { Reply, ServerConnection } from './connection.js';
import type { TrackMediaIn } from './media-in.js';
import type { MulticastRegistry } from './multicast-registry.js';
import type { ServerSession, TrackSetup } from './session.js';
import type { SessionLimits } from './session-limits.js';
import type { ServerSettings } from './server-options.js';
import { clientPortRefusal } from './udp-client-ports.js';
import { reply } from './replies.js';
import { RtspStatus } from '../rtsp/status.js';

export interface TransportSetupDeps {
  settings: Pick<ServerSettings, 'host' | 'udpRtpPort' | 'udpPortRange' | 'udpBatchSend' | 'multicast'>;
  logger: Logger;
  /** The paths' multicast groups; undefined when multicast is off. */
  multicast(): MulticastRegistry | undefined;
  sessionLimits: SessionLimits;
  /** A session this SETUP made and then refused. */
  endSession(session: ServerSession, reason: string): void;
  /** The handler of a session track's media from its client (its channels' and UDP routes'). */
  trackMediaIn(session: ServerSession, track: number): TrackMediaIn;
}

/** What the SETUP handler knows when the transport is chosen. */
export interface ChoiceContext {
  conn: ServerConnection;
  session: ServerSession | undefined;
  /** `mode=record` in the Transport header. */
  recording: boolean;
  /** The path has a live stream (multicast is for live paths only). */
  liveStream: boolean;
  /** A file on demand is being set up. */
  file: boolean;
}

export class TransportSetup {
  /** The shared RTP/RTCP pair (udpRtpPort), when no range is configured. */
  private udp: UdpPair | undefined;
  /** Per-track pairs from a range (udpPortRange). */
  private readonly udpPorts: UdpPortRange | undefined;

  constructor(private readonly deps: TransportSetupDeps) {
    // A bad range fails at start, not at the first SETUP.
    const range = deps.settings.udpPortRange;
    if (range !== undefined)
      this.udpPorts = new UdpPortRange(range.first, range.last, deps.settings.host, deps.logger);
  }

  /** Binds the shared UDP pair (at listen), unless a range or no UDP is configured. */
  async bindShared(): Promise<void> {
    const { udpRtpPort, host, udpBatchSend } = this.deps.settings;
    if (this.udpPorts === undefined && udpRtpPort !== false) {
      this.udp = await UdpPair.bind({
        host,
        rtpPort: udpRtpPort,
        logger: this.deps.logger,
        batchSend: udpBatchSend,
      });
    }
    if (this.udp !== undefined || this.udpPorts !== undefined) {
      // A range's pairs carry one session each: a flush has a datagram or two per socket, nothing to batch.
      const sendPath = this.udp?.sendPath ?? {
        path: 'dgram' as const,
        reason: 'rtpPortRange: a socket per session track, nothing to batch',
      };
      noteUdpSendPath(sendPath);
      const { path, reason } = sendPath;
      this.deps.logger.info(
        { udpSend: path, reason },
        `UDP readers' RTP: ${path === 'sendmmsg' ? 'one sendmmsg per flush' : 'one dgram send per datagram'}`,
      );
    }
  }

  close(): void {
    this.udp?.close();
  }

  /** What `listen` reports and logs. */
  get sharedPair(): UdpPair | undefined {
    return this.udp;
  }

  get portRange(): UdpPortRange | undefined {
    return this.udpPorts;
  }

  /**
   * The first spec we can serve: RTP/AVP(F); multicast only for a live path's readers when it is on;
   * UDP only when we have ports and the connection may carry it (not TLS or WebSocket); and the same
   * lower transport as the session's other tracks.
   */
  choose(specs: readonly TransportSpec[], ctx: ChoiceContext): TransportSpec | undefined {
    const firstKind = ctx.session?.setups.find((s) => s !== undefined)?.kind;
    const lower = firstKind === 'multicast' ? 'udp' : firstKind;
    return specs.find(
      (s) =>
        (s.profile === 'AVP' || s.profile === 'AVPF') &&
        (s.delivery !== 'multicast' ||
          (this.deps.settings.multicast !== undefined &&
            s.lowerTransport === 'UDP' &&
            ctx.session?.role.kind !== 'publisher' &&
            !ctx.recording &&
            ctx.liveStream &&
            ctx.session?.role.kind !== 'file-reader' &&
            !ctx.file)) &&
        (s.lowerTransport === 'TCP' ||
          ((this.udp !== undefined || this.udpPorts !== undefined) && !ctx.conn.interleavedOnly)) &&
        (lower === undefined || lower === s.lowerTransport.toLowerCase()),
    );
  }

  /**
   * Binds the chosen transport for one track of a session and writes the reply's spec; or the
   * refusal. `made`: the session was made by this SETUP (ended again if its ports are refused).
   */
  async bind(
    conn: ServerConnection,
    session: ServerSession,
    track: number,
    trackCount: number,
    chosen: TransportSpec,
    made: boolean,
  ): Promise<Reply | { setup: TrackSetup; spec: TransportSpec }> {
    let setup: TrackSetup;
    const replySpec: TransportSpec = {
      protocol: chosen.protocol,
      profile: chosen.profile,
      lowerTransport: chosen.lowerTransport,
      lowerTransportExplicit: chosen.lowerTransportExplicit,
      delivery: 'unicast',
      extra: [],
    };
    if (chosen.lowerTransport === 'TCP') {
      const used = conn.channels.used();
      let rtp = chosen.interleaved?.rtp;
      let rtcp = chosen.interleaved?.rtcp;
      if (rtp === undefined) {
        // QuickTime sends no interleaved parameter: pick the next free pair.
        rtp = 0;
        while (used.has(rtp) || used.has(rtp + 1)) rtp += 2;
      }
      rtcp ??= rtp + 1;
      if (rtp > 255 || rtcp > 255 || used.has(rtp) || used.has(rtcp))
        return reply(RtspStatus.UnsupportedTransport);
      setup = { kind: 'tcp', rtpChannel: rtp, rtcpChannel: rtcp };
      const input = this.deps.trackMediaIn(session, track);
      session.bindChannels(conn.channels, rtp, rtcp, {
        rtp: input.interleavedRtp,
        rtcp: input.interleavedRtcp,
      });
      session.sink = conn;
      replySpec.interleaved = { rtp, rtcp };
    } else if (chosen.delivery === 'multicast') {
      if (session.setups.some((s) => s !== undefined && s.kind !== 'multicast'))
        return reply(RtspStatus.UnsupportedTransport);
      const group = await this.deps.multicast()!.groupFor(session.path, trackCount);
      if (group === undefined)
        return reply(
          RtspStatus.NotEnoughBandwidth,
          undefined,
          undefined,
          'Not Enough Bandwidth: no free multicast group',
        );
      group.members.add(session.id);
      const ports = group.portsOf(track);
      setup = { kind: 'multicast', address: group.address, rtpPort: ports.rtp, rtcpPort: ports.rtcp };
      replySpec.delivery = 'multicast';
      replySpec.destination = group.address;
      replySpec.port = ports;
      replySpec.ttl = group.ttl;
      session.ssrcs[track] = group.ssrcs[track];
    } else {
      if (session.isMulticast) return reply(RtspStatus.UnsupportedTransport);
      const clientRtp = chosen.clientPort?.rtp;
      if (clientRtp === undefined) return reply(RtspStatus.UnsupportedTransport);
      const clientRtcp = chosen.clientPort?.rtcp ?? clientRtp + 1;
      const remote = normalizeAddress(conn.remoteAddress);
      if (chosen.destination !== undefined && normalizeAddress(chosen.destination) !== remote) {
        // RFC 2326 §16: never send media to an address other than the requester's.
        return reply(
          RtspStatus.Forbidden,
          undefined,
          undefined,
          'Forbidden: destination differs from the client address',
        );
      }
      const portRefusal = clientPortRefusal(
        { address: remote, rtpPort: clientRtp, rtcpPort: clientRtcp },
        session,
        (port) => (this.udp?.isOwnPort(port) ?? false) || (this.udpPorts?.includes(port) ?? false),
        this.udp,
      );
      if (portRefusal !== undefined) {
        if (made) this.deps.endSession(session, 'SETUP refused');
        return this.deps.sessionLimits.refuse(portRefusal, `${clientRtp}-${clientRtcp}`);
      }
      // Chosen only when one of the two exists.
      const pair = this.udpPorts !== undefined ? await this.udpPorts.allocate() : this.udp!;
      if (pair === undefined)
        return reply(
          RtspStatus.NotEnoughBandwidth,
          undefined,
          undefined,
          'Not Enough Bandwidth: no free UDP ports in the range',
        );
      session.releaseTrackPorts(track);
      setup = {
        kind: 'udp',
        clientAddress: remote,
        clientRtpPort: clientRtp,
        clientRtcpPort: clientRtcp,
        pair,
        ownsPair: pair !== this.udp,
      };
      replySpec.clientPort = { rtp: clientRtp, rtcp: clientRtcp };
      replySpec.serverPort = { rtp: pair.rtpPort, rtcp: pair.rtcpPort };
      const onDatagram = this.deps.trackMediaIn(session, track).datagram;
      session.routeUdp(pair, remote, clientRtp, onDatagram);
      if (clientRtcp !== clientRtp) session.routeUdp(pair, remote, clientRtcp, onDatagram);
    }
    return { setup, spec: replySpec };
  }
}
