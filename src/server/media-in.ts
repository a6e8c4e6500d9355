/**
 * Media that clients send the server, per session track: a publisher's RTP (counted, then into its
 * path's Stream) and RTCP (its sender reports time the stream), and readers' receiver reports (their
 * statistics). A track's `TrackMediaIn` is made at SETUP and is what its interleaved channels
 * (interleaved-channels.ts) and its UDP routes call, so a published packet goes connection or socket →
 * session track → stream, and its RTP header is read once, here, then handed down (stats, counters,
 * queue, keyframe probe, readers' patches). Apart from the request handlers because it runs per packet
 * and touches no request state.
 */
import { isParseError } from '../base/errors.js';
import { ntpToUnixMs } from '../base/clock.js';
import { readRtpHeader } from '../rtp/packet.js';
import { parseRtcpCompound, type RtcpPacket } from '../rtp/rtcp.js';
import { RtpReceiverStats } from '../rtp/stats.js';
import type { MediaFaults } from '../media/media-faults.js';
import type { PathManager } from '../paths/path-manager.js';
import type { ServerSession } from './session.js';

export interface MediaInDeps {
  now(): number;
  paths: PathManager;
  mediaFaults: MediaFaults;
}

/** Makes the handlers of session tracks at SETUP. */
export class MediaIn {
  constructor(private readonly deps: MediaInDeps) {}

  forTrack(session: ServerSession, track: number): TrackMediaIn {
    return new TrackMediaIn(this.deps, session, track);
  }
}

/** One session track's media from its client, over interleaved channels or UDP. */
export class TrackMediaIn {
  constructor(
    private readonly deps: MediaInDeps,
    readonly session: ServerSession,
    readonly track: number,
  ) {}

  /** The RTP channel's handler: the payload is a view of the connection's buffer, so the stream gets a copy. */
  readonly interleavedRtp = (payload: Buffer): void => {
    this.rtp(Buffer.from(payload));
  };

  /** The RTCP channel's handler. */
  readonly interleavedRtcp = (payload: Buffer): void => {
    this.rtcp(payload);
  };

  /** The UDP routes' handler: a datagram's buffer is ours to keep. */
  readonly datagram = (packet: Buffer, kind: 'rtp' | 'rtcp'): void => {
    if (kind === 'rtp') this.rtp(packet);
    else this.rtcp(packet);
  };

  /** A publisher's RTP packet, which the stream keeps. */
  rtp(packet: Buffer): void {
    const session = this.session;
    const nowMs = this.deps.now();
    session.lastActivityMs = nowMs;
    // GStreamer's rtspclientsink may send RTP before RECORD: ignored until then.
    if (session.mode !== 'record' || session.state !== 'recording' || session.stream === undefined) return;
    const track = this.track;
    const header = readRtpHeader(packet);
    const st = session.trackStats[track];
    if (st !== undefined && header !== undefined) {
      st.packetsReceived++;
      st.bytesReceived += packet.length;
      let rx = session.receivers[track];
      if (rx === undefined) {
        const clockRate = session.stream.tracks[track]?.clockRate ?? 90000;
        // Over TCP nothing is lost or reordered, so no probation is needed (RFC 3550 A.1).
        rx = new RtpReceiverStats(clockRate, { minSequential: 1 });
        session.receivers[track] = rx;
      }
      rx.onPacket(header.sequenceNumber, header.timestamp, nowMs);
      st.packetsLost = Math.max(0, rx.cumulativeLost);
      st.jitterS = rx.jitterMs / 1000;
    }
    try {
      session.stream.ingestRtp(track, packet, header);
    } catch (err) {
      // The socket's callback must not throw (Node would exit): this packet is lost, nothing else.
      this.deps.mediaFaults.record('ingest', session.path, err);
    }
  }

  /** RTCP from the track's client: a publisher's sender reports, a reader's receiver reports. */
  rtcp(payload: Buffer): void {
    const session = this.session;
    const track = this.track;
    session.lastActivityMs = this.deps.now();
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
