/**
 * The bytes a Stream writes to its readers: a queued packet, the interleaved frames of a flush
 * (RFC 2326 §10.12), built once per set of channels, and the 6 bytes patched per reader (its sequence
 * number and SSRC). Apart from the Stream's bookkeeping so that the per-packet byte work sits in one
 * short file.
 */
import type { RtpHeader } from '../rtp/packet.js';

export interface Queued {
  track: number;
  packet: Buffer;
  /** The packet's header as read where it entered (rtp/packet.ts readRtpHeader): never read again. */
  header: RtpHeader;
  /** RTP payload octets (what RTCP SR counts, RFC 3550 §6.4.1). */
  payloadBytes: number;
}

/** What framing needs of a reader entry: its channels as when it joined, its SSRCs and offsets. */
export interface FramedReader {
  readonly channels: readonly (number | undefined)[];
  readonly ssrcs: readonly number[];
  readonly seqDeltas: readonly number[];
}

/** The key readers that share frames are grouped by: their interleaved RTP channels, or `udp`. */
export function channelKey(r: {
  readonly transport: string;
  readonly rtpChannels: readonly (number | undefined)[];
}): string {
  return r.transport === 'tcp'
    ? r.rtpChannels.map((c) => (c === undefined ? '-' : String(c))).join(',')
    : 'udp';
}

/** `$ channel length` + packet for each packet of a track the reader has a channel for (RFC 2326 §10.12). */
export function frameFor(e: FramedReader, items: readonly Queued[]): Buffer {
  const channels = e.channels;
  let total = 0;
  for (const q of items) if (channels[q.track] !== undefined) total += 4 + q.packet.length;
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  for (const q of items) {
    const ch = channels[q.track];
    if (ch === undefined) continue;
    out[o] = 0x24;
    out[o + 1] = ch;
    out.writeUInt16BE(q.packet.length, o + 2);
    q.packet.copy(out, o + 4);
    o += 4 + q.packet.length;
  }
  return out;
}

/** Gives the RTP packet copied at `at` the reader's sequence number and SSRC. */
export function personalize(out: Buffer, at: number, q: Queued, e: FramedReader): void {
  out.writeUInt16BE((q.header.sequenceNumber + e.seqDeltas[q.track]!) & 0xffff, at + 2);
  out.writeUInt32BE(e.ssrcs[q.track]!, at + 8);
}
