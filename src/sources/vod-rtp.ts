/**
 * RTP for a VOD session: each set-up track's SSRC, random sequence and timestamp bases, the
 * packetizing of a sample on the session's media time, and the RTCP sender reports.
 *
 * RTP time of track i = base_i + M * clockRate_i (vod-segment.ts), so timestamps and sequence
 * numbers run on per track across seeks, pauses and ranges.
 *
 * Sender reports (RFC 3550 §6.4.1) go through `sink.sendRtcp` right after the first packets of
 * each range and every `senderReportIntervalMs` (5 s) while playing: NTP = wall now, RTP = the RTP
 * time of M(now) on the current range's timeline. Audio and video share M, so lip sync holds after
 * every seek; with B-frames a video packet is sent at its decode time, ahead of its RTP time.
 */
import type { AccessUnit } from '../format/access-unit.js';
import { senderReportFor } from '../rtp/clock-map.js';
import {
  type RtpHeaderExtension,
  randomRtpTimestamp,
  randomSequenceNumber,
  randomSsrc,
  readRtpPayloadLength,
  serializeRtpPacket,
} from '../rtp/packet.js';
import { serializeRtcpCompound } from '../rtp/rtcp.js';
import type { VodPacketSink } from './vod-api.js';
import type { VodFile } from './vod-file.js';
import { mod32, rtpPackets } from './mp4-rtp.js';
import type { SessionTrack } from './vod-segment.js';

/** SDES item type CNAME (RFC 3550 §6.5.1). */
const SDES_CNAME = 1;

/** The set-up tracks of a session, in index order, each with its own packetizer and RTP bases. */
export function sessionTracks(
  file: VodFile,
  indices: readonly number[],
  ssrcs: readonly (number | undefined)[] | undefined,
): SessionTrack[] {
  if (indices.length === 0) throw new RangeError('VodPlayer: no track set up');
  return [...new Set(indices)]
    .sort((a, b) => a - b)
    .map((index) => {
      const rtp = file.tracks[index];
      if (rtp === undefined || !Number.isInteger(index))
        throw new RangeError(`VodPlayer: no track ${index} (the file has ${file.tracks.length})`);
      return {
        index,
        rtp,
        mp4: rtp.mp4,
        video: rtp.mp4.kind === 'video',
        clockRate: rtp.published.clockRate,
        packetizer: rtp.createPacketizer(),
        timestampBase: randomRtpTimestamp(),
        ssrc: (ssrcs?.[index] ?? randomSsrc()) >>> 0,
        seq: randomSequenceNumber(),
        packets: 0,
        octets: 0,
        lastMediaTimestamp: undefined,
        resume: undefined,
      };
    });
}

/** The RTP time of media time `mediaS` on a track. */
export function rtpTime(st: SessionTrack, mediaS: number): number {
  return mod32(st.timestampBase + Math.round(mediaS * st.clockRate));
}

/** The access unit of a sample presented at media time `ptsM`. Throws ParseError on a malformed sample. */
export function sampleAccessUnit(st: SessionTrack, data: Buffer, ptsM: number): AccessUnit {
  return st.rtp.accessUnit(data, Math.round(ptsM * st.clockRate));
}

/** Packetizes an access unit of a track and sends its packets; returns how many. */
export function sendAccessUnit(
  st: SessionTrack,
  au: AccessUnit,
  sink: VodPacketSink,
  extension?: (lastPacket: boolean) => RtpHeaderExtension | undefined,
): number {
  const packets = rtpPackets(
    st.packetizer,
    au,
    st.rtp.published.payloadType,
    st.seq,
    st.timestampBase,
    st.ssrc,
    extension,
  );
  st.seq = (st.seq + packets.length) & 0xffff;
  st.packets += packets.length;
  for (const p of packets) {
    st.octets += readRtpPayloadLength(p);
    st.lastMediaTimestamp = p.readUInt32BE(4);
    sink.sendRtp(st.index, p);
  }
  return packets.length;
}

/**
 * A lead-in packet: an RTP packet with no payload (RFC 3550 §5.1 allows it), one RTP tick before
 * `mediaS`, sent ahead of a range's first sample for a client that loses the first packet it reads
 * after a PLAY. GStreamer 1.22's rtspsrc in ONVIF mode over TCP stamps that packet with a running
 * time before its clock-time segment (the reply's `Range: clock=`), so rtpbin gives it no arrival
 * time and the jitter buffer discards it and every packet with the same RTP timestamp: the whole
 * first keyframe, and with it the decodable frames up to the next one. Depayloaders skip an empty
 * payload; a jitter buffer sees the next packets as usual.
 */
export function sendLeadInPacket(
  st: SessionTrack,
  mediaS: number,
  sink: VodPacketSink,
  extension?: RtpHeaderExtension,
): void {
  sendEmptyPacket(st, mod32(rtpTime(st, mediaS) - 1), sink, extension);
}

/**
 * A lead-out packet: an RTP packet with no payload and the next sequence number, sent (repeatedly,
 * vod-control.ts) at the end of an unpaced replay, around its RTCP BYE. Why (GStreamer 1.22,
 * subprojects/gst-plugins-good/gst/rtpmanager/gstrtpjitterbuffer.c): while the jitter buffer pushes
 * packets out it sets its npt-stop EOS timer (`update_estimated_eos`) without waking its timer
 * thread, which sleeps on a condition when it had no timer; only an arriving RTP packet wakes it
 * (`gst_rtp_jitter_buffer_chain` → `update_current_timer`, and only if a timer is queued then). When
 * the EOS of the BYE is popped, the push thread waits until the timer queue is empty
 * (`pop_and_push_next`), which only the timer thread empties: an unpaced replay's packets all arrived
 * before the first left the buffer, so without a later packet the stream never ends. A packet that
 * arrives once the buffer has begun to push wakes the timer thread, which then ends the stream at
 * its npt-stop estimate or drains its timers at the BYE's EOS. After that EOS arrived, packets are
 * refused (`have_eos`) without waking anything.
 *
 * Its timestamp is the last media packet's (`lastMediaTimestamp`; the end of what was played when
 * nothing was sent): a later one would move the npt-stop estimate when the packet is pushed out, and
 * if the timer thread had already drained its timers for the BYE's EOS, that new EOS timer stays
 * queued for ever (seen with GST_DEBUG=rtpjitterbuffer:6 when the packet and the BYE came together).
 * Any receiver may drop it: it holds nothing, and depayloaders skip an empty payload.
 */
export function sendLeadOutPacket(
  st: SessionTrack,
  mediaS: number,
  sink: VodPacketSink,
  extension?: RtpHeaderExtension,
): void {
  sendEmptyPacket(st, st.lastMediaTimestamp ?? rtpTime(st, mediaS), sink, extension);
}

function sendEmptyPacket(
  st: SessionTrack,
  timestamp: number,
  sink: VodPacketSink,
  extension: RtpHeaderExtension | undefined,
): void {
  const packet = serializeRtpPacket({
    ...(extension !== undefined ? { extension } : {}),
    marker: false,
    payloadType: st.rtp.published.payloadType,
    sequenceNumber: st.seq,
    timestamp,
    ssrc: st.ssrc,
    csrcs: [],
    payload: Buffer.alloc(0),
  });
  st.seq = (st.seq + 1) & 0xffff;
  st.packets += 1;
  sink.sendRtp(st.index, packet);
}

/** An SR + SDES compound per track that has sent packets: NTP = wall now, RTP = media time now. */
export function sendSenderReports(
  tracks: readonly SessionTrack[],
  mediaS: number,
  wallMs: number,
  cname: string,
  sink: VodPacketSink,
): void {
  for (const st of tracks) {
    if (st.packets === 0) continue;
    const sr = senderReportFor({
      ssrc: st.ssrc,
      clockRate: st.clockRate,
      lastRtpTimestamp: rtpTime(st, mediaS),
      lastWallMs: wallMs,
      nowMs: wallMs,
      packetCount: st.packets,
      octetCount: st.octets,
    });
    const sdes = {
      type: 'sdes' as const,
      chunks: [{ ssrc: st.ssrc, items: [{ type: SDES_CNAME, text: cname }] }],
    };
    sink.sendRtcp(st.index, serializeRtcpCompound([sr, sdes]));
  }
}
