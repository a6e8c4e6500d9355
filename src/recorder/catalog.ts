/**
 * What is recorded, as the rest of the engine sees it: the recorder writes it, RTSP playback of recordings and
 * the HTTP API read it. One node needs no database: the segments on disk are the truth, and the catalog is
 * rebuilt from them at start (each segment's wall-clock start is in its name and in its `prft` boxes).
 *
 * On disk (the default template `./recordings/%path/%Y-%m-%d_%H-%M-%S-%f`): one file per segment, an fMP4
 * (CMAF-style) initialization segment (`ftyp` + `moov`) followed by one `moof` + `mdat` per part. Each `moof`
 * is preceded by a `prft` box (ISO/IEC 14496-12 §8.16.5) that ties the presentation time (decode time +
 * composition offset) of the part's first sample of the reference track to the server's wall clock at
 * receipt, so a part keeps its absolute time even when the file is cut by a crash. A segment's `startMs`
 * is therefore when its first picture is shown, whatever the presentation delay of the file (H.264/H.265:
 * every track is presented 0.2 s after video's decode times start, path-recorder.ts).
 * When the publisher sends RTCP sender reports, a second `prft` (flags 0: time of input to the encoder)
 * follows the first, naming the same sample's time on the publisher's clock (its last SR's mapping, RFC
 * 3550 §6.4.1); readers find it as `senderPrft` of the fragment (container/fmp4/reader.ts). The index
 * clock stays the receipt time: a publisher's clock can be anywhere.
 */

/** One recorded file: a span of wall-clock time with a fixed set of tracks. */
export interface RecordedSegment {
  /** The path it was recorded from. */
  path: string;
  /** Absolute file name. */
  file: string;
  /** Wall-clock time (ms since the Unix epoch) of the segment's first sample. */
  startMs: number;
  /** Wall-clock duration in ms of what the segment holds (complete parts only). */
  durationMs: number;
  /** Track codecs, e.g. ['h264', 'aac']. */
  codecs: string[];
  /** True while the recorder is still appending to it. */
  open: boolean;
}

/** A stretch of continuous recording of a path (adjacent segments with no gap between them). */
export interface RecordedSpan {
  startMs: number;
  durationMs: number;
}

export interface RecordingCatalog {
  /** Paths that have recordings. */
  paths(): string[];
  /** A path's segments that overlap [fromMs, toMs), in time order. */
  segments(path: string, fromMs?: number, toMs?: number): RecordedSegment[];
  /** A path's spans; gaps of more than `maxGapMs` (default 1000) between segments split spans. */
  spans(path: string, maxGapMs?: number): RecordedSpan[];
  /** Called when a segment is added, grows by a part, is completed or deleted. */
  onChange(listener: (path: string) => void): () => void;
}
