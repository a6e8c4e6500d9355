/**
 * Media that clients send the server: a publisher's RTP (counted, then into its path's Stream) and
 * RTCP (its sender reports time the stream), and readers' receiver reports (their statistics), over
 * interleaved channels or UDP. Apart from the request handlers because it runs per packet, on the
 * session the channel or port was bound to at SETUP, and touches no request state.
 */
import { isParseError } from '../base/errors.js';
import { ntpToUnixMs } from '../base/clock.js';
import { parseRtcpCompound, type RtcpPacket } from '../rtp/rtcp.js';
import { RtpReceiverStats } from '../rtp/stats.js';
import type { MediaFaults } from '../media/media-faults.js';
import type { ServerConnection } from './connection.js';
import type { PathRegistry } from './paths.js';
import type { ServerSession } from './session.js';

export interface MediaInDeps {
  now(): number;
  paths: PathRegistry;
  mediaFaults: MediaFaults;
}

export class MediaIn {
  constructor(private readonly deps: MediaInDeps) {}

  /** A packet on one of our UDP ports, routed to the session at SETUP. */
  udp(session: ServerSession, track: number, packet: Buffer, kind: 'rtp' | 'rtcp'): void {
    session.lastActivityMs = this.deps.now();
    if (kind === 'rtp') this.fromPublisher(session, track, packet);
    else this.rtcpFromPeer(session, track, packet);
  }

  interleaved(conn: ServerConnection, channel: number, payload: Buffer): void {
    const bound = conn.channelBinding(channel);
    if (bound === undefined) return;
    const { session, track, kind } = bound;
    session.lastActivityMs = this.deps.now();
    if (kind === 'rtp') this.fromPublisher(session, track, Buffer.from(payload));
    else this.rtcpFromPeer(session, track, payload);
  }

  private fromPublisher(session: ServerSession, track: number, packet: Buffer): void {
    // GStreamer's rtspclientsink may send RTP before RECORD: ignored until then.
    if (session.mode !== 'record' || session.state !== 'recording' || session.stream === undefined) return;
    const st = session.trackStats[track];
    if (st !== undefined && packet.length >= 12) {
      st.packetsReceived++;
      st.bytesReceived += packet.length;
      let rx = session.receivers[track];
      if (rx === undefined) {
        const clockRate = session.stream.tracks[track]?.clockRate ?? 90000;
        // Over TCP nothing is lost or reordered, so no probation is needed (RFC 3550 A.1).
        rx = new RtpReceiverStats(clockRate, { minSequential: 1 });
        session.receivers[track] = rx;
      }
      rx.onPacket(packet.readUInt16BE(2), packet.readUInt32BE(4), this.deps.now());
      st.packetsLost = Math.max(0, rx.cumulativeLost);
      st.jitterS = rx.jitterMs / 1000;
    }
    try {
      session.stream.ingestRtp(track, packet);
    } catch (err) {
      // The socket's callback must not throw (Node would exit): this packet is lost, nothing else.
      this.deps.mediaFaults.record('ingest', session.path, err);
    }
  }

  private rtcpFromPeer(session: ServerSession, track: number, payload: Buffer): void {
    let packets: RtcpPacket[];
    try {
      packets = parseRtcpCompound(payload);
    } catch (e) {
      if (!isParseError(e)) throw e;
      return;
    }
    if (session.mode !== 'play') {
      for (const p of packets) {
        if (p.type === 'sr') session.stream?.ingestSenderReport(track, p.rtpTimestamp, ntpToUnixMs(p.ntp));
      }
      return;
    }
    const st = session.trackStats[track];
    const clockRate = this.deps.paths.get(session.path)?.media.tracks[track]?.clockRate ?? 90000;
    for (const p of packets) {
      if (p.type !== 'rr' && p.type !== 'sr') continue;
      const block = p.reports[0];
      if (block === undefined || st === undefined) continue;
      st.packetsLost = block.cumulativeLost;
      st.jitterS = block.jitter / clockRate;
      st.packetsReceived = session.packetsSent;
    }
  }
}
