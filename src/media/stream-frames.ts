/**
 * The bytes a Stream writes to its readers: a queued packet, the interleaved frames of a flush
 * (RFC 2326 §10.12), built once per set of channels, and the 6 bytes patched per reader (its sequence
 * number and SSRC). Apart from the Stream's bookkeeping so that the per-packet byte work sits in one
 * short file.
 */
import type { RtpHeader } from '../rtp/packet.js';
import type { StreamReader } from './stream-reader.js';

export interface Queued {
  track: number;
  packet: Buffer;
  /** The packet's header as read where it entered (rtp/packet.ts readRtpHeader): never read again. */
  header: RtpHeader;
  /** RTP payload octets (what RTCP SR counts, RFC 3550 §6.4.1). */
  payloadBytes: number;
  /** The packet after its header (payload and padding), made once for every UDP reader (bodyOf). */
  body?: Buffer;
}

/** Octets of the packet's RTP header (fixed part, CSRCs, extension: RFC 3550 §5.1, §5.3.1). */
export function headerBytesOf(q: Queued): number {
  return Math.min(q.header.payloadOffset, q.packet.length);
}

/** What follows the header, shared by every UDP reader's datagram and never written (see headerBytesOf). */
export function bodyOf(q: Queued): Buffer {
  return (q.body ??= q.packet.subarray(headerBytesOf(q)));
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

/** RTP headers up to this size (12 + 15 CSRCs + a 200-byte extension) are written in the shared scratch. */
const UDP_HEADER_SCRATCH_BYTES = 272;

/**
 * UDP readers' datagrams: per packet, the reader's header (its SSRC and sequence number patched in) in a
 * scratch buffer, and the payload every reader shares (bodyOf), as one gather send. The scratch is reused
 * while each datagram leaves inside its send, so nothing is allocated or copied per reader but the header:
 * the payload the kernel reads stays in the CPU cache from reader to reader (a copy per reader per packet
 * made every send read a different, cold buffer). A datagram left queued in the socket keeps its scratch.
 */
export class UdpDatagrams {
  private scratch = Buffer.allocUnsafe(UDP_HEADER_SCRATCH_BYTES);
  /** The scratch's view of the last header length (most packets of a stream have one). */
  private view: Buffer | undefined;

  send(
    e: FramedReader & { readonly wants: readonly boolean[] },
    reader: StreamReader,
    items: readonly Queued[],
  ): void {
    for (const q of items) {
      if (e.wants[q.track] !== true) continue;
      const headerBytes = headerBytesOf(q);
      let header: Buffer;
      if (headerBytes > UDP_HEADER_SCRATCH_BYTES) header = Buffer.allocUnsafe(headerBytes);
      else {
        if (this.view?.length !== headerBytes) this.view = this.scratch.subarray(0, headerBytes);
        header = this.view;
      }
      q.packet.copy(header, 0, 0, headerBytes);
      personalize(header, 0, q, e);
      if (!reader.sendRtpParts!(q.track, header, bodyOf(q)) && header === this.view) {
        // Queued in the socket: that scratch is the datagram's now.
        this.scratch = Buffer.allocUnsafe(UDP_HEADER_SCRATCH_BYTES);
        this.view = undefined;
      }
    }
  }
}

/**
 * The GOP cache as interleaved frames, built once per channel set and reused while the cache has not
 * changed: every reader of a join storm gets the same burst, and only the 6 patched bytes per packet are
 * its own (the stream copies and patches it per reader, as for any flush).
 */
export class GopFrames {
  private built: { gop: readonly Queued[]; packets: number; byKey: Map<string, Buffer> } | undefined;

  /** `from` as frames for the reader's channels; cached when `from` is the stream's GOP cache `gop`. */
  framesOf(
    e: FramedReader & { readonly key: string },
    from: readonly Queued[],
    gop: readonly Queued[] | undefined,
  ): Buffer {
    if (from !== gop) return frameFor(e, from);
    if (this.built?.gop !== from || this.built.packets !== from.length)
      this.built = { gop: from, packets: from.length, byKey: new Map() };
    let framed = this.built.byKey.get(e.key);
    if (framed === undefined) {
      framed = frameFor(e, from);
      this.built.byKey.set(e.key, framed);
    }
    return framed;
  }

  clear(): void {
    this.built = undefined;
  }
}
