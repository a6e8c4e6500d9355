/**
 * Writing what a Stream sends to one reader (media/stream.ts): its start noted, its counts, and its own copy of
 * the packets with its SSRC and sequence numbers patched in (over TCP the interleaved frames shared by the
 * readers with the same channels; over UDP one datagram copy per packet), through the reader's transient
 * write where it has one. Apart from the Stream so that its file holds the fan-out's decisions.
 */
import { anchorAnnouncedSeqs } from './stream-joins.js';
import { recordStarts, type ReaderEntry } from './stream-entry.js';
import { UdpDatagrams, personalize, type Queued } from './stream-frames.js';

/**
 * Flushes up to this size are built in the shared scratch buffer; larger ones (a GOP cache sent to a
 * joining reader) in a buffer of their own. A write the kernel does not take whole keeps the scratch
 * it came from alive until it is sent, and that is counted in the reader's backlog: the cap keeps
 * what one stalled reader can pin small and stops the scratch from growing to a GOP's size for good.
 */
const MAX_SCRATCH_BYTES = 256 * 1024;

export class ReaderDelivery {
  /**
   * Where a TCP reader's personalised copy of a flush is built. Reused from reader to reader
   * while the kernel takes each write whole: the bytes stay in the CPU cache, which matters more
   * at 1000 readers than the copy itself (one buffer per reader per flush cost 1.5x the CPU).
   */
  private scratch = Buffer.allocUnsafe(64 * 1024);
  /** The scratch's first bytes as a Buffer of a flush's size: one per flush, not one per reader. */
  private scratchView: Buffer | undefined;
  /** UDP readers' datagrams: one copy of each packet, patched per reader (stream-frames.ts). */
  private readonly udpDatagrams = new UdpDatagrams();

  /** `framed` (TCP) is shared by the readers with the same channels: copied before patching. */
  deliver(e: ReaderEntry, items: readonly Queued[], framed: Buffer | undefined): void {
    if (e.pendingStarts > 0) recordStarts(e, items);
    if (e.announcedSeqs !== undefined) anchorAnnouncedSeqs(e, items);
    for (const q of items) {
      if (e.wants[q.track] !== true) continue;
      e.packetsSent[q.track]!++;
      e.octetsSent[q.track]! += q.payloadBytes;
    }
    if (e.reader.transport === 'tcp') {
      if (framed === undefined || framed.length === 0) return;
      const transient =
        e.reader.writeInterleavedTransient !== undefined && framed.length <= MAX_SCRATCH_BYTES;
      // Not transient: a buffer of exactly these bytes, which the reader keeps (no pool slab, no spare room).
      const own = transient ? this.scratchBytes(framed.length) : Buffer.allocUnsafeSlow(framed.length);
      framed.copy(own);
      let packets = 0;
      let o = 0;
      for (const q of items) {
        if (e.channels[q.track] === undefined) continue;
        personalize(own, o + 4, q, e);
        o += 4 + q.packet.length;
        packets++;
      }
      if (!transient) {
        e.reader.writeInterleaved(own, packets);
      } else if (e.reader.writeInterleavedTransient?.(own, packets) === false) {
        // Still queued in the socket: that buffer is the reader's now (and counted in its backlog).
        this.scratch = Buffer.allocUnsafe(this.scratch.length);
        this.scratchView = undefined;
      }
      return;
    }
    if (e.reader.sendRtpTransient !== undefined) {
      this.udpDatagrams.send(e, e.reader, items);
      return;
    }
    // UDP without transient sends (multicast groups, packet readers): one allocation per flush; each
    // datagram is a view of it.
    let total = 0;
    for (const q of items) if (e.wants[q.track] === true) total += q.packet.length;
    if (total === 0) return;
    const own = Buffer.allocUnsafe(total);
    let o = 0;
    for (const q of items) {
      if (e.wants[q.track] !== true) continue;
      q.packet.copy(own, o);
      personalize(own, o, q, e);
      e.reader.sendRtp(q.track, own.subarray(o, o + q.packet.length));
      o += q.packet.length;
    }
  }

  private scratchBytes(length: number): Buffer {
    if (this.scratch.length < length) {
      this.scratch = Buffer.allocUnsafe(length);
      this.scratchView = undefined;
    }
    if (this.scratchView?.length !== length) this.scratchView = this.scratch.subarray(0, length);
    return this.scratchView;
  }
}
