/**
 * Publishing with RTSP (RFC 2326 §10.3, §10.11): ANNOUNCE an SDP, SETUP every track with mode=record over
 * UDP or TCP interleaved, RECORD, then send RTP (as packets, or as access units packetized here) with RTCP
 * sender reports every few seconds.
 */
import { clockInterval, systemClock, type Clock, type ClockTimer } from '../base/clock.js';
import { randomSequenceNumber, randomRtpTimestamp, serializeRtpPacket } from '../rtp/packet.js';
import { senderReportFor } from '../rtp/clock-map.js';
import { serializeRtcpCompound } from '../rtp/rtcp.js';
import { RtpSenderStats } from '../rtp/stats.js';
import { randomSsrc } from '../rtp/packet.js';
import type { AccessUnit, Packetizer } from '../format/access-unit.js';
import { createPacketizer } from '../format/registry.js';
import { RtspClient } from './client.js';
import type { ClientTransport } from './media.js';
import type { RtspClientOptions } from './options.js';
import { RtspClientError } from './errors.js';
import { isSendFault } from './media.js';
import type { ClientTrack } from './tracks.js';

export interface PublisherOptions extends RtspClientOptions {
  /** Default 'tcp'. */
  transport?: ClientTransport;
  /** RTCP sender report interval. Default 5000. */
  senderReportIntervalMs?: number;
}

interface SendTrack {
  track: ClientTrack;
  packetizer: Packetizer | undefined;
  ssrc: number;
  seq: number;
  tsOffset: number;
  stats: RtpSenderStats;
}

export class Publisher {
  readonly #tracks: SendTrack[];
  readonly #srTimer: ClockTimer;
  #closed = false;

  private constructor(
    readonly client: RtspClient,
    tracks: readonly ClientTrack[],
    srIntervalMs: number,
    private readonly clock: Clock,
  ) {
    this.#tracks = tracks.map((track) => ({
      track,
      packetizer: undefined,
      ssrc: randomSsrc(),
      seq: randomSequenceNumber(),
      tsOffset: randomRtpTimestamp(),
      stats: new RtpSenderStats(),
    }));
    // Unref'd, as the client's own timers: a publisher never keeps a process alive by itself.
    this.#srTimer = clockInterval(clock, () => this.sendSenderReports(), srIntervalMs, { unref: true });
  }

  /** Connects, ANNOUNCEs `sdp`, SETUPs every track with mode=record and RECORDs. */
  static async start(url: string, sdp: string, options: PublisherOptions = {}): Promise<Publisher> {
    const client = new RtspClient(url, { udpFallback: true, ...options });
    try {
      await client.connect();
      try {
        await client.options();
      } catch (e) {
        // OPTIONS is advisory; a server that refuses it may still take ANNOUNCE. Connection faults are not.
        if (!(e instanceof RtspClientError) || !e.code.startsWith('RTSP_') || e.code === 'RTSP_401') throw e;
      }
      const tracks = await client.announce(sdp);
      await client.setup({ transport: options.transport ?? 'tcp' });
      await client.record();
      return new Publisher(
        client,
        tracks,
        options.senderReportIntervalMs ?? 5000,
        options.clock ?? systemClock,
      );
    } catch (e) {
      client.close();
      throw e;
    }
  }

  get tracks(): readonly ClientTrack[] {
    return this.#tracks.map((t) => t.track);
  }

  /**
   * Sends a ready RTP packet on track `index`; false when it could not be queued (closed). Its SSRC and
   * timestamp feed this track's sender reports (the timestamp taken as sampled now: real-time senders).
   */
  sendRtp(index: number, packet: Buffer): boolean {
    const t = this.#tracks[index];
    if (t !== undefined && packet.length >= 12) {
      const ssrc = packet.readUInt32BE(8);
      if (ssrc !== t.ssrc) {
        t.ssrc = ssrc;
        t.stats = new RtpSenderStats();
      }
      const headerBytes = 12 + (packet[0]! & 0x0f) * 4;
      t.stats.onPacketSent(
        Math.max(0, packet.length - headerBytes),
        packet.readUInt32BE(4),
        this.clock.wallMs(),
      );
    }
    return this.client.sendRtp(index, packet);
  }

  /**
   * Packetizes one access unit of track `index` (pts in ticks of the track's clock rate) with the payload
   * format of its rtpmap, and sends the packets. Returns false when the connection refused the bytes.
   */
  writeAccessUnit(index: number, au: AccessUnit): boolean {
    const t = this.#tracks[index];
    if (t === undefined) throw new RtspClientError('STATE', `no track ${index}`);
    t.packetizer ??= createPacketizer(t.track.encodingName, {
      clockRate: t.track.clockRate,
      ...(t.track.channels === undefined ? {} : { channels: t.track.channels }),
      fmtp: t.track.fmtp,
    });
    let ok = true;
    const wallMs = this.clock.wallMs();
    for (const out of t.packetizer.packetize(au)) {
      const timestamp = (out.pts + t.tsOffset) >>> 0;
      const packet = serializeRtpPacket({
        marker: out.marker,
        payloadType: t.track.payloadType,
        sequenceNumber: t.seq,
        timestamp,
        ssrc: t.ssrc,
        csrcs: [],
        payload: out.payload,
      });
      t.seq = (t.seq + 1) & 0xffff;
      t.stats.onPacketSent(out.payload.length, timestamp, wallMs);
      ok = this.client.sendRtp(index, packet) && ok;
    }
    return ok;
  }

  /** Sends an SR for every track that sent packets (called periodically by itself). */
  sendSenderReports(): void {
    const nowMs = this.clock.wallMs();
    for (const t of this.#tracks) {
      const lastTs = t.stats.lastRtpTimestamp;
      const lastWall = t.stats.lastWallMs;
      if (lastTs === undefined || lastWall === undefined) continue;
      const sr = senderReportFor({
        ssrc: t.ssrc,
        clockRate: t.track.clockRate,
        lastRtpTimestamp: lastTs,
        lastWallMs: lastWall,
        nowMs,
        packetCount: t.stats.packetCount,
        octetCount: t.stats.octetCount,
      });
      const sdes = {
        type: 'sdes' as const,
        chunks: [{ ssrc: t.ssrc, items: [{ type: 1, text: 'rtspkit' }] }],
      };
      try {
        this.client.sendRtcp(t.track.index, serializeRtcpCompound([sr, sdes]));
      } catch (e) {
        // Track not set up, or its socket gone: nothing to report to.
        if (!isSendFault(e)) throw e;
      }
    }
  }

  /** TEARDOWN (best effort) and close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#srTimer.cancel();
    try {
      await this.client.teardown();
    } catch (e) {
      // The server may already be gone (closed, timed out): the client closes anyway.
      if (!(e instanceof RtspClientError)) throw e;
    }
    this.client.close();
  }
}
