/** What a Stream is made of and told: its tracks, its options, and what sender reports read from it. */
import type { Clock } from '../base/clock.js';
import type { ReaderBacklogBudget } from './reader-backlog.js';
import type { StreamReader } from './stream-reader.js';
import type { RtpTiming } from './track-counters.js';

export interface StreamTrack {
  /** rtpmap encoding name, e.g. H264, MPEG4-GENERIC, OPUS. */
  encodingName: string;
  clockRate: number;
  /** The format's fmtp parameters: H.264/H.265 parameter sets to repeat before keyframes. */
  fmtp?: Readonly<Record<string, string>>;
}

export interface StreamOptions {
  clock?: Clock;
  gopCacheMaxBytes?: number;
  maxReaderBacklogBytes?: number;
  /** The server-wide cap and stall bound over readers' backlogs; absent: one of this stream's own. */
  backlogBudget?: ReaderBacklogBudget;
  /** 0: flush once per event-loop turn (setImmediate); N > 0: at most every N ms. */
  writeCoalesceMs?: number;
  /**
   * GOP-cache bytes sent to joining readers per event-loop turn (stream-joins.ts), at least 1. Default 4 MiB.
   * Sessions past it, or past `joinBurstBytesPerSecond`, start at the next keyframe.
   */
  joinBytesPerTurn?: number;
  /**
   * GOP bursts to sessions joining, bytes per second (BurstAllowance, stream-joins.ts); past it they start
   * at the next keyframe. Default 8 MiB; 0: always.
   */
  joinBurstBytesPerSecond?: number;
  /**
   * Insert parameter sets before keyframes that came without (default true). Off in a fan-out worker,
   * whose feed already carries the primary's insertions (and its renumbering).
   */
  insertParameterSets?: boolean;
  /** Runs once when the stream ends, after its readers were told (the path manager frees the name). */
  onEnded?: (reason: string) => void;
}

/** Per-reader sender-report inputs for one track. */
export interface ReaderTrackSending {
  reader: StreamReader;
  ssrc: number;
  packetsSent: number;
  octetsSent: number;
  /** The reader's timing line for the track, undefined before the track's first packet. */
  timing: RtpTiming | undefined;
}
