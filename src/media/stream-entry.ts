/**
 * The stream's record of one reader (media/stream.ts): its state, what it asked for, its own SSRCs and
 * sequence offsets, its counts and timing lines. Apart from the Stream so that its file holds the
 * delivery logic only.
 */
import { randomSequenceNumber, randomSsrc } from '../rtp/packet.js';
import { followTiming, type RtpTiming } from './track-counters.js';
import type { ReaderTrackSending } from './stream-options.js';
import { channelKey, type Queued } from './stream-frames.js';
import type { ReaderBacklog } from './reader-backlog.js';
import type { StreamReader } from './stream-reader.js';
import type { ReaderStart } from './stream-timing.js';

/**
 * 'waiting' for a keyframe; 'joining': started at the cached keyframe (its RTP-Info known) with its burst
 * not sent yet (stream-joins.ts); 'live'; 'dropping' (shedding until drained and a keyframe).
 */
export type ReaderState = 'waiting' | 'joining' | 'live' | 'dropping';

export interface ReaderEntry {
  reader: StreamReader;
  state: ReaderState;
  key: string;
  wants: boolean[];
  starts: (ReaderStart | undefined)[];
  pendingStarts: number;
  onStart: ((track: number, start: ReaderStart) => void) | undefined;
  droppedPackets: number;
  backlog: ReaderBacklog;
  /**
   * A 'joining' reader's packets from its keyframe on, not sent yet: references to the stream's packets
   * (no bytes of its own), and their bytes.
   */
  pending: Queued[] | undefined;
  pendingBytes: number;
  /** A 'joining' reader whose reply is out: its burst goes with the next flush (Stream.outputOpened). */
  burstDue: boolean;
  /**
   * Per track, the sequence number announced in RTP-Info before the reader's first packet was known (a
   * storm start, stream-joins.ts): that packet gets it, which fixes `seqDeltas`. Undefined otherwise.
   */
  announcedSeqs: (number | undefined)[] | undefined;
  /** Index (in accessUnitsIn numbering) of the first access unit the reader gets. */
  startAccessUnit: number | undefined;
  /** Per track: this reader's SSRC, and what is added to the stream's sequence numbers. */
  ssrcs: number[];
  seqDeltas: number[];
  /** The reader's interleaved RTP channel per track, as when it joined (what `key` is made of). */
  channels: readonly (number | undefined)[];
  /** Per track: RTP packets and payload octets sent, for this reader's sender reports. */
  packetsSent: number[];
  octetsSent: number[];
  /**
   * Per track: where this reader's RTP time sits on the monotonic clock, what its RTP-Info and sender
   * reports are built from. It is the stream's line as of the reader's PLAY, and then follows the stream's
   * by at most READER_TIMING_STEP_MS per report, not at once: the stream's lines move when the publisher's
   * sender reports replace packet arrival, shifting the tracks against each other by tens of ms, and a
   * reader given one alignment in RTP-Info must not be sent another in its SRs (ffmpeg moves from one to
   * the other at its first SR: a track would jump). The trade-off: a reader that joined on arrival-based
   * lines is off the publisher's A/V alignment by that shift at first, and reaches it over as many reports
   * as the shift has ms; continuity wins over being right at once. A jump of the publisher's timeline
   * (over TIMING_RESYNC_MS) is taken at once: the reader's packets jump anyway.
   */
  timing: (RtpTiming | undefined)[];
}

/** A reader's numbering and counts as it moves between Streams (Stream.readerPatch, adoptReader). */
export interface ReaderPatch {
  ssrcs: number[];
  seqDeltas: number[];
  packetsSent: number[];
  octetsSent: number[];
  timing: (RtpTiming | undefined)[];
}

/** A copy of a reader's numbering, counts and timing lines (Stream.readerPatch). */
export function patchOf(e: ReaderEntry): ReaderPatch {
  return {
    ssrcs: [...e.ssrcs],
    seqDeltas: [...e.seqDeltas],
    packetsSent: [...e.packetsSent],
    octetsSent: [...e.octetsSent],
    timing: e.timing.map((t) => (t === undefined ? undefined : { ...t })),
  };
}

/** The entry of a reader that joins a Stream: waiting for its start, with a numbering of its own. */
export function newReaderEntry(
  reader: StreamReader,
  trackCount: number,
  backlog: ReaderBacklog,
  onStart: ((track: number, start: ReaderStart) => void) | undefined,
): ReaderEntry {
  const each = <T>(f: (i: number) => T): T[] => Array.from({ length: trackCount }, (_, i) => f(i));
  const wants = each((i) => reader.tracks.includes(i));
  return {
    reader,
    state: 'waiting',
    key: channelKey(reader),
    wants,
    starts: each(() => undefined),
    pendingStarts: wants.filter(Boolean).length,
    onStart,
    droppedPackets: 0,
    backlog,
    pending: undefined,
    pendingBytes: 0,
    burstDue: false,
    announcedSeqs: undefined,
    startAccessUnit: undefined,
    ssrcs: each((i) => reader.ssrcs?.[i] ?? randomSsrc()),
    channels: reader.rtpChannels,
    seqDeltas: each(() => randomSequenceNumber()),
    packetsSent: each(() => 0),
    octetsSent: each(() => 0),
    timing: each(() => undefined),
  };
}

/** The entry of a reader that comes in live with the numbering it had elsewhere (src/fanout/). */
export function adoptedEntry(
  reader: StreamReader,
  trackCount: number,
  patch: ReaderPatch,
  backlog: ReaderBacklog,
  accessUnitsIn: number,
): ReaderEntry {
  const e = newReaderEntry(reader, trackCount, backlog, undefined);
  const each = <T>(f: (i: number) => T): T[] => Array.from({ length: trackCount }, (_, i) => f(i));
  return {
    ...e,
    state: 'live',
    pendingStarts: 0,
    startAccessUnit: accessUnitsIn,
    ssrcs: each((i) => patch.ssrcs[i] ?? e.ssrcs[i]!),
    seqDeltas: each((i) => patch.seqDeltas[i] ?? e.seqDeltas[i]!),
    packetsSent: each((i) => patch.packetsSent[i] ?? 0),
    octetsSent: each((i) => patch.octetsSent[i] ?? 0),
    timing: each((i) => patch.timing[i]),
  };
}

/** Notes, per track the reader wants and has no start for yet, the first of `items` it gets (onStart). */
export function recordStarts(e: ReaderEntry, items: readonly Queued[]): void {
  for (const q of items) {
    if (e.wants[q.track] !== true || e.starts[q.track] !== undefined) continue;
    const start = {
      seq: (q.header.sequenceNumber + e.seqDeltas[q.track]!) & 0xffff,
      rtptime: q.header.timestamp,
    };
    e.starts[q.track] = start;
    e.pendingStarts--;
    e.onStart?.(q.track, start);
    if (e.pendingStarts === 0) {
      // Every track has started: what the callback holds (the PLAY's reply in waiting) can go.
      e.onStart = undefined;
      return;
    }
  }
}

/**
 * Of `entries`, every reader receiving `track`, with its SSRC, counts and timing line (the inputs of its
 * sender report); each one's line moves toward the stream's (`followTiming`), once per report.
 */
export function sendingOnTrack(
  entries: Iterable<ReaderEntry>,
  track: number,
  streamLine: RtpTiming | undefined,
  clockRate: number,
): ReaderTrackSending[] {
  const out: ReaderTrackSending[] = [];
  for (const e of entries) {
    if (e.wants[track] !== true || e.state === 'waiting' || e.state === 'joining') continue;
    if (streamLine !== undefined) e.timing[track] = followTiming(e.timing[track], streamLine, clockRate);
    out.push({
      timing: e.timing[track],
      reader: e.reader,
      ssrc: e.ssrcs[track]!,
      packetsSent: e.packetsSent[track]!,
      octetsSent: e.octetsSent[track]!,
    });
  }
  return out;
}
