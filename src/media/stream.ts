/**
 * A live stream: one publisher, N readers.
 *
 * Packets are kept as the publisher sent them. Each reader has its own SSRC and its own random
 * sequence-number offset per track, so upstream loss stays visible (RFC 3550 §5.1, §8: a receiver sees one source that started
 * when it joined): the framed bytes of a flush are built once per set of interleaved channels,
 * then copied and patched per reader (6 bytes a packet), so the cost per reader is one copy and
 * one socket write per flush, not one per packet.
 *
 * Flushes are coalesced: packets ingested during one event-loop turn (or within
 * `writeCoalesceMs`) go out together. Without a window, a flush in the middle of a video frame waits
 * for the frame's last packet (its RTP marker bit), at most a few ms (flush-schedule.ts).
 *
 * A reader whose socket backlog exceeds `maxReaderBacklogBytes` stops receiving (the drop is
 * counted) until its backlog has drained and the next keyframe arrives; it never slows the
 * publisher or the other readers. So does a reader asking for more when every reader's backlog
 * together is at the server's cap, and one whose backlog does not drain is cut off (both in
 * reader-backlog.ts). A GOP cache (every packet since the last keyframe, bounded by
 * `gopCacheMaxBytes`) lets a new reader start at once at the latest keyframe.
 */
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import { payloadOf, readRtpHeader, type RtpHeader } from '../rtp/packet.js';
import { keyframeProbeFor, type KeyframeProbe } from './keyframe.js';
import { ParameterSetInserter } from './parameter-sets.js';
import { ReaderBacklog, ReaderBacklogBudget } from './reader-backlog.js';
import type { StreamEndInfo, StreamReader } from './stream-reader.js';
import type { ReaderTrackSending, StreamOptions, StreamTrack } from './stream-options.js';
import { StreamTiming, type ReaderStart } from './stream-timing.js';
import {
  adoptedEntry,
  newReaderEntry,
  patchOf,
  recordStarts,
  sendingOnTrack,
  type ReaderEntry,
  type ReaderPatch,
} from './stream-entry.js';
import {
  BurstAllowance,
  DEFAULT_JOIN_BURST_BYTES_PER_SECOND,
  DEFAULT_JOIN_BYTES_PER_TURN,
  JoinPacer,
  announceStart,
  collectPending,
  isWholeGop,
} from './stream-joins.js';
import { FlushSchedule } from './flush-schedule.js';
import { GopFrames, frameFor, type Queued } from './stream-frames.js';
import { ReaderDelivery } from './reader-delivery.js';
import { countArrival, newTrackCounters, type TrackCounters } from './track-counters.js';

export type { RtpTiming, TrackCounters } from './track-counters.js';
export type { ReaderStart } from './stream-timing.js';
export type { ReaderPatch } from './stream-entry.js';
export type { StreamEndInfo, StreamReader, StreamTap } from './stream-reader.js';
export type { ReaderTrackSending, StreamOptions, StreamTrack } from './stream-options.js';

const DEFAULT_GOP_CACHE_MAX_BYTES = 8 * 1024 * 1024;
const DEFAULT_MAX_READER_BACKLOG_BYTES = 4 * 1024 * 1024;

export class Stream {
  readonly tracks: readonly StreamTrack[];
  readonly counters: TrackCounters[];
  /** Packets not delivered to slow readers, summed over readers. */
  droppedPackets = 0;
  /** Readers cut off because their backlog did not drain (see reader-backlog.ts). */
  readersCutOff = 0;
  /** Sessions answered at once that started at the next keyframe (storm starts, stream-joins.ts). */
  stormStarts = 0;
  /**
   * Access units (frames) received on the frame track: the first track with keyframes, else track 0,
   * counted by timestamp changes.
   */
  accessUnitsIn = 0;
  ended = false;

  /** Time and timers of the stream, which its readers' waits share (the server's clock). */
  readonly clock: Clock;
  private readonly gopCacheMaxBytes: number;
  private readonly maxReaderBacklogBytes: number;
  private readonly backlogBudget: ReaderBacklogBudget;
  private readonly onEnded: ((reason: string) => void) | undefined;
  private readonly keyTrack: number;
  private readonly keyProbe: KeyframeProbe | undefined;

  private readonly readers = new Map<StreamReader, ReaderEntry>();
  /** Writes to each reader: its own copy of what it is sent, numbered as its own (reader-delivery.ts). */
  private readonly delivery = new ReaderDelivery();
  /** Readers joining from the GOP cache, a few bursts per event-loop turn (join storms). */
  private readonly joins: JoinPacer<ReaderEntry>;
  /** GOP bursts to joining sessions per second; past it they start at the next keyframe (stream-joins.ts). */
  private readonly burstAllowance: BurstAllowance;
  /** The GOP cache as interleaved frames, for the readers that join from it (stream-frames.ts). */
  private readonly gopFrames = new GopFrames();
  private batch: Queued[] = [];
  /** When the batch goes out, and its counts of flushes that waited for the end of a frame. */
  readonly flushSchedule: FlushSchedule;

  /** Packets since the current keyframe access unit started (all tracks), or undefined when invalid. */
  private gop: Queued[] | undefined;
  private gopBytes = 0;
  /** Index in `gop` where the current access unit of the key track starts. */
  private auStart = 0;
  private auTimestamp: number | undefined;
  private auIsKey = false;
  /** accessUnitsIn index of the access unit the GOP cache starts with. */
  private gopStartAu = 0;
  private readonly frameTrack: number;
  private readonly parameterSets: ParameterSetInserter | undefined;
  /** Each track's RTP time on our clock, from arrival and then the publisher's sender reports. */
  private readonly timing: StreamTiming;

  constructor(tracks: readonly StreamTrack[], options: StreamOptions = {}) {
    this.tracks = tracks;
    this.clock = options.clock ?? systemClock;
    this.gopCacheMaxBytes = options.gopCacheMaxBytes ?? DEFAULT_GOP_CACHE_MAX_BYTES;
    this.maxReaderBacklogBytes = options.maxReaderBacklogBytes ?? DEFAULT_MAX_READER_BACKLOG_BYTES;
    this.backlogBudget = options.backlogBudget ?? new ReaderBacklogBudget();
    this.onEnded = options.onEnded;
    this.counters = tracks.map(() => newTrackCounters());
    this.keyTrack = tracks.findIndex((t) => keyframeProbeFor(t.encodingName) !== undefined);
    this.keyProbe = this.keyTrack >= 0 ? keyframeProbeFor(tracks[this.keyTrack]!.encodingName) : undefined;
    this.frameTrack = Math.max(0, this.keyTrack);
    this.flushSchedule = new FlushSchedule(this.clock, options.writeCoalesceMs ?? 0, this.keyTrack >= 0, () =>
      this.flushNow(),
    );
    this.timing = new StreamTiming(tracks, this.counters, this.clock, this.frameTrack);
    this.burstAllowance = new BurstAllowance(
      options.joinBurstBytesPerSecond ?? DEFAULT_JOIN_BURST_BYTES_PER_SECOND,
    );
    this.joins = new JoinPacer(options.joinBytesPerTurn ?? DEFAULT_JOIN_BYTES_PER_TURN, (e) =>
      this.joinFromCache(e),
    );
    const key = tracks[this.keyTrack];
    this.parameterSets =
      key !== undefined && options.insertParameterSets !== false
        ? ParameterSetInserter.forTrack(key.encodingName, key.fmtp)
        : undefined;
  }

  /** Parameter-set packets sent before keyframes that came without (see parameter-sets.ts). */
  get insertedParameterSetPackets(): number {
    return this.parameterSets?.insertedPackets ?? 0;
  }

  /**
   * Takes the publisher's sender report for a track (RFC 3550 §6.4.1): the tracks move to the reports'
   * lines together once every track has one (stream-timing.ts).
   */
  ingestSenderReport(track: number, rtpTimestamp: number, ntpUnixMs: number): void {
    if (this.ended) return;
    this.timing.ingestSenderReport(track, rtpTimestamp, ntpUnixMs);
  }

  /** The publisher's last sender report of `track` (StreamTap), as it sent it. */
  senderReport(track: number): { rtpTimestamp: number; ntpUnixMs: number } | undefined {
    return this.counters[track]?.senderReport;
  }

  /** The monotonic instant of an RTP timestamp of a track, or undefined before its first packet. */
  monotonicMsOfRtp(track: number, rtpTimestamp: number): number | undefined {
    return this.timing.monotonicMsOfRtp(track, rtpTimestamp);
  }

  /** The RTP timestamp of a track at a monotonic instant (the inverse of monotonicMsOfRtp). */
  rtpAtMonotonicMs(track: number, monotonicMs: number): number | undefined {
    return this.timing.rtpAtMonotonicMs(track, monotonicMs);
  }

  /**
   * The RTP-Info rtptimes of a reader that starts with `starts`: one instant on every track
   * (RFC 2326 §12.33; stream-timing.ts). With `reader`, the stream's lines become the reader's own: its
   * sender reports are built from them (`readersOfTrack`), which follow the stream's by at most
   * READER_TIMING_STEP_MS per report.
   */
  rtpInfoTimes(starts: readonly (ReaderStart | undefined)[], reader?: StreamReader): (number | undefined)[] {
    const { lines, times } = this.timing.rtpInfo(starts);
    const entry = reader !== undefined ? this.readers.get(reader) : undefined;
    if (entry !== undefined) entry.timing = lines;
    return times;
  }

  get readerCount(): number {
    return this.readers.size;
  }

  /** True when the stream has a codec with keyframes and one has been cached for instant start. */
  get hasCachedKeyframe(): boolean {
    return this.gop !== undefined && this.gop.length > 0;
  }

  /**
   * Takes one RTP packet from the publisher. The buffer is kept (readers copy it before patching
   * their own SSRC and sequence number in): the caller must not reuse it. `header` is the packet's,
   * read where it entered the server (media-in.ts); read here when the caller has none (sources, tests).
   */
  ingestRtp(track: number, packet: Buffer, header: RtpHeader | undefined = readRtpHeader(packet)): void {
    if (this.ended || track < 0 || track >= this.tracks.length) return;
    if (header === undefined || header.version !== 2) return;
    const timestamp = header.timestamp;
    const clockRate = this.tracks[track]!.clockRate;
    countArrival(this.counters[track]!, timestamp, packet.length, this.clock.monotonicMs(), clockRate);

    if (track === this.keyTrack && this.parameterSets !== undefined) {
      const before = this.parameterSets.process(packet, header);
      // Packets made here (parameter sets), once per keyframe that came without them: read as made.
      if (before !== undefined) for (const p of before) this.enqueue(track, p, readRtpHeader(p)!);
    }
    this.enqueue(track, packet, header);
  }

  private enqueue(track: number, packet: Buffer, header: RtpHeader): void {
    const timestamp = header.timestamp;
    const item: Queued = { track, packet, header, payloadBytes: header.payloadLength };
    if (track === this.frameTrack) {
      if (timestamp !== this.auTimestamp || this.accessUnitsIn === 0) {
        this.auTimestamp = timestamp;
        this.accessUnitsIn++;
        this.auStart = this.gop?.length ?? 0;
        this.auIsKey = false;
      }
      if (track === this.keyTrack) this.checkKeyframe(item);
    }
    if (this.gop !== undefined) {
      this.gop.push(item);
      this.gopBytes += packet.length;
      if (this.gopBytes > this.gopCacheMaxBytes) this.invalidateGop();
    }
    this.batch.push(item);
    if (this.keyTrack < 0) this.rejoinDrained();
    this.flushSchedule.queued(track === this.keyTrack ? header : undefined);
  }

  /**
   * Every reader receiving `track`, with its SSRC, counts and timing line: the inputs of its sender
   * report. Called once per report: each reader's line moves toward the stream's (`followTiming`).
   */
  readersOfTrack(track: number): ReaderTrackSending[] {
    return sendingOnTrack(
      this.readers.values(),
      track,
      this.counters[track]?.timing,
      this.tracks[track]!.clockRate,
    );
  }

  /**
   * Adds a reader. It starts at once from the cached keyframe when there is one, else at the
   * next keyframe (or, for streams without keyframes, the next packet). `onStart` reports, per
   * track, the first packet the reader really receives.
   */
  addReader(reader: StreamReader, onStart?: (track: number, start: ReaderStart) => void): void {
    if (this.ended) {
      reader.streamEnded('stream ended');
      return;
    }
    const backlog = new ReaderBacklog(this.backlogBudget, reader.transport === 'tcp');
    const entry = newReaderEntry(reader, this.tracks.length, backlog, onStart);
    this.readers.set(reader, entry);
    if (this.keyTrack < 0) {
      this.flushNow();
      entry.state = 'live';
      entry.startAccessUnit = this.accessUnitsIn;
    } else if (this.gop !== undefined && this.gop.length > 0) {
      // A session whose reply would wait for the pacer's turn, or past the second's bursts, is answered now
      // and starts at the next keyframe (storm starts, stream-joins.ts); the others wait for their turn.
      const nowMs = this.clock.monotonicMs();
      if (
        reader.outputHeld === true &&
        (this.joins.wouldWait || !this.burstAllowance.take(this.gopBytes, nowMs)) &&
        announceStart(entry, (track) => this.timing.rtpAtMonotonicMs(track, nowMs))
      )
        this.stormStarts++;
      else this.joins.offer(entry);
    }
  }

  /**
   * The JoinPacer's turn for a reader: still here and waiting (a keyframe may have let it in already),
   * it starts at the cached keyframe. Returns the bytes of its burst.
   */
  private joinFromCache(e: ReaderEntry): number {
    if (this.readers.get(e.reader) !== e || e.state !== 'waiting') return 0;
    const gop = this.gop;
    if (gop === undefined || gop.length === 0) return 0; // it waits for the next keyframe
    // A reader that goes live at once must not get the queued packets twice (the cache holds them); a
    // joining one skips them when they are flushed (collectPending): no flush to every reader for it.
    if (e.reader.outputHeld !== true) this.flushNow();
    this.join(e, gop);
    return this.gopBytes;
  }

  /**
   * The reader's output opened (a session's PLAY reply is written): a joining reader gets its burst, the
   * packets from its keyframe on (stream-joins.ts), framed once for all joiners while they are the GOP cache
   * as it is; with packets queued, at the next flush (one per turn for every reader, not one per reply).
   */
  outputOpened(reader: StreamReader): void {
    const e = this.readers.get(reader);
    if (e?.state !== 'joining') return;
    if (this.batch.length > 0) e.burstDue = true;
    else this.sendBurst(e);
  }

  /** A joining reader's burst: what it collected since its keyframe; it is live from here. */
  private sendBurst(e: ReaderEntry): void {
    const reader = e.reader;
    e.burstDue = false;
    const pending = e.pending!;
    e.pending = undefined;
    e.pendingBytes = 0;
    e.state = 'live';
    const from = isWholeGop(pending, this.gop) ? this.gop! : pending;
    this.delivery.deliver(
      e,
      from,
      reader.transport === 'tcp' ? this.gopFrames.framesOf(e, from, this.gop) : undefined,
    );
  }

  /**
   * A live reader's own numbering (its SSRC and sequence offset per track) and counts, for moving it to
   * another Stream fed with this one's packets (src/fanout/): undefined unless it is live.
   */
  readerPatch(reader: StreamReader): ReaderPatch | undefined {
    const e = this.readers.get(reader);
    return e?.state === 'live' ? patchOf(e) : undefined;
  }

  /** Adds a reader live at once with the numbering it had in another Stream (readerPatch): no GOP burst. */
  adoptReader(reader: StreamReader, patch: ReaderPatch): void {
    if (this.ended) {
      reader.streamEnded('stream ended');
      return;
    }
    // What is queued came before the reader did: it went to the readers there were (and it, elsewhere).
    this.flushNow();
    const backlog = new ReaderBacklog(this.backlogBudget, reader.transport === 'tcp');
    this.readers.set(reader, adoptedEntry(reader, this.tracks.length, patch, backlog, this.accessUnitsIn));
  }

  removeReader(reader: StreamReader): number {
    const e = this.readers.get(reader);
    this.readers.delete(reader);
    e?.backlog.release();
    return e?.droppedPackets ?? 0;
  }

  /** The index (counting from 0 in accessUnitsIn) of the first frame this reader got. */
  readerStartAccessUnit(reader: StreamReader): number | undefined {
    return this.readers.get(reader)?.startAccessUnit;
  }

  readerStarts(reader: StreamReader): readonly (ReaderStart | undefined)[] {
    return this.readers.get(reader)?.starts ?? [];
  }

  /**
   * The publisher left: flush what is queued and tell every reader. A source that feeds the path again
   * at once with new media passes `{ mediaChanged: true }` (StreamEndInfo).
   */
  end(reason: string, info: StreamEndInfo = {}): void {
    if (this.ended) return;
    this.flushNow();
    this.ended = true;
    this.flushSchedule.cancel();
    const readers = [...this.readers.keys()];
    for (const e of this.readers.values()) e.backlog.release();
    this.readers.clear();
    this.joins.clear();
    this.gop = undefined;
    this.gopFrames.clear();
    for (const r of readers) r.streamEnded(reason, info);
    this.onEnded?.(reason);
  }

  // ---- access units and the GOP cache ----

  private checkKeyframe(item: Queued): void {
    if (this.auIsKey || this.keyProbe === undefined) return;
    // A packet parseRtpPacket would refuse is forwarded but never starts the cache.
    if (!item.header.wellFormed || !this.keyProbe(payloadOf(item.packet, item.header))) return;
    this.auIsKey = true;
    // The cache restarts at the first packet of this access unit (its parameter sets).
    const head = this.gop !== undefined ? this.gop.slice(this.auStart) : [];
    this.gop = head;
    this.gopBytes = head.reduce((n, q) => n + q.packet.length, 0);
    this.auStart = 0;
    this.gopStartAu = this.accessUnitsIn - 1;
    this.onKeyframe(head);
  }

  private invalidateGop(): void {
    this.gop = undefined;
    this.gopBytes = 0;
    this.auStart = 0;
  }

  /** Waiting readers, and dropping ones whose backlog has drained, join at this keyframe. */
  private onKeyframe(auSoFar: Queued[]): void {
    let flushed = false;
    for (const e of this.readers.values()) {
      if (e.state === 'live' || e.state === 'joining') continue;
      if (e.state === 'dropping' && !this.drained(e)) continue;
      if (!flushed) {
        this.flushNow();
        flushed = true;
      }
      this.join(e, auSoFar);
    }
  }

  /** For streams without keyframes: a dropping reader resumes as soon as its backlog drains. */
  private rejoinDrained(): void {
    for (const e of this.readers.values()) {
      if (e.state === 'dropping' && this.drained(e)) {
        e.state = 'live';
        e.backlog.stopShedding();
      }
    }
  }

  /**
   * A shedding reader may take packets again: under half its own bound and half what it held when it
   * started shedding, and with room under the server's cap.
   */
  private drained(e: ReaderEntry): boolean {
    const backlog = e.backlog.observe(e.reader.backlogBytes);
    return (
      backlog <= this.maxReaderBacklogBytes / 2 &&
      e.backlog.hasDrained(backlog) &&
      this.backlogBudget.allows(backlog, 0)
    );
  }

  private join(e: ReaderEntry, from: readonly Queued[]): void {
    e.backlog.stopShedding();
    e.startAccessUnit ??= this.gopStartAu;
    if (e.reader.outputHeld === true) {
      // Its start is known now (the PLAY reply's RTP-Info); its bytes wait for outputOpened.
      e.state = 'joining';
      e.pending = from.slice();
      e.pendingBytes = 0;
      for (const q of from) e.pendingBytes += q.packet.length;
      recordStarts(e, from);
      return;
    }
    e.state = 'live';
    if (from.length > 0)
      this.delivery.deliver(
        e,
        from,
        e.reader.transport === 'tcp' ? this.gopFrames.framesOf(e, from, this.gop) : undefined,
      );
  }

  // ---- delivery ----

  /** Writes the queued batch to every live reader now. */
  flushNow(): void {
    this.flushSchedule.cancel();
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    const shared = new Map<string, Buffer>();
    const nowMs = this.clock.monotonicMs();
    let stalled: ReaderEntry[] | undefined;
    for (const e of this.readers.values()) {
      if (e.state === 'waiting') continue;
      if (e.state === 'joining') {
        // Its reply held that long (behind a slow one): it sheds as a slow reader does, rejoins at a keyframe.
        if (collectPending(e, batch) > this.maxReaderBacklogBytes) {
          this.shed(e, nowMs, e.pendingBytes, batch.length);
          e.pending = undefined;
          e.pendingBytes = 0;
          e.burstDue = false;
        } else if (e.burstDue) this.sendBurst(e); // its reply is out: the burst, with this batch
        continue;
      }
      const backlog = e.backlog.observe(e.reader.backlogBytes);
      if (e.state === 'dropping') {
        this.drop(e, batch.length);
        if (e.backlog.counted && e.reader.cutOff !== undefined && e.backlog.stalled(nowMs, backlog))
          (stalled ??= []).push(e);
        continue;
      }
      if (backlog > this.maxReaderBacklogBytes) {
        this.shed(e, nowMs, backlog, batch.length);
        continue;
      }
      let framed: Buffer | undefined;
      if (e.reader.transport === 'tcp') {
        framed = shared.get(e.key);
        if (framed === undefined) {
          framed = frameFor(e, batch);
          shared.set(e.key, framed);
        }
        if (e.backlog.counted && !this.backlogBudget.allows(backlog, framed.length)) {
          this.backlogBudget.capDroppedPackets += batch.length;
          this.shed(e, nowMs, backlog, batch.length);
          continue;
        }
      }
      this.delivery.deliver(e, batch, framed);
      if (e.backlog.counted) e.backlog.observe(e.reader.backlogBytes);
    }
    if (stalled !== undefined) for (const e of stalled) this.cutOff(e, nowMs);
  }

  /** The reader stops receiving until it has drained and a keyframe comes; its stall clock starts. */
  private shed(e: ReaderEntry, nowMs: number, backlogBytes: number, packets: number): void {
    e.state = 'dropping';
    e.backlog.startShedding(nowMs, backlogBytes);
    this.drop(e, packets);
  }

  private drop(e: ReaderEntry, packets: number): void {
    e.droppedPackets += packets;
    this.droppedPackets += packets;
  }

  private cutOff(e: ReaderEntry, nowMs: number): void {
    if (this.readers.get(e.reader) !== e) return;
    const backlogBytes = e.reader.backlogBytes;
    const stalledMs = e.backlog.stalledForMs(nowMs);
    this.readers.delete(e.reader);
    e.backlog.release();
    this.readersCutOff++;
    this.backlogBudget.readersCutOff++;
    e.reader.cutOff?.(`backlog of ${backlogBytes} bytes did not drain in ${Math.round(stalledMs)} ms`);
  }
}
