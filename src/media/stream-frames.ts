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

/**
 * UDP readers' datagrams: per packet of a flush, one copy of the whole packet that every UDP reader's send
 * rewrites in place (its sequence number and SSRC, 6 bytes) and hands to its socket as one buffer. A send
 * normally leaves inside the call (libuv tries a synchronous sendmsg first), so the copy is free again for
 * the next reader: per reader and packet nothing is allocated or copied but the 6 bytes, and the packet the
 * kernel reads stays in the CPU cache from reader to reader. A datagram left queued in its socket keeps
 * its copy, and the next reader gets a new one. One buffer rather than [header, payload] (a gather send):
 * dgram wraps every buffer of a list in a new Buffer per send (measured: 0-20 % more CPU per datagram, see
 * bench/udp-send.ts and DEVELOPERS.md, "What a UDP datagram costs").
 */
export class UdpDatagrams {
  /** The batch (a flush's, or a joiner's GOP) the copies were made for. */
  private items: readonly Queued[] | undefined;
  /** Per index of `items`: the packet its copy was made from (a GOP array grows), and the copy. */
  private sources: (Queued | undefined)[] = [];
  private copies: (Buffer | undefined)[] = [];

  send(
    e: FramedReader & { readonly wants: readonly boolean[] },
    reader: StreamReader,
    items: readonly Queued[],
  ): void {
    if (items !== this.items) {
      this.items = items;
      this.sources = [];
      this.copies = [];
    }
    const sources = this.sources;
    const copies = this.copies;
    for (let i = 0; i < items.length; i++) {
      const q = items[i]!;
      if (e.wants[q.track] !== true) continue;
      let copy = copies[i];
      if (copy === undefined || sources[i] !== q) {
        copy = Buffer.allocUnsafe(q.packet.length);
        q.packet.copy(copy);
        sources[i] = q;
        copies[i] = copy;
      }
      personalize(copy, 0, q, e);
      // Queued in the socket: that copy is the datagram's now.
      if (!reader.sendRtpTransient!(q.track, copy)) copies[i] = undefined;
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
