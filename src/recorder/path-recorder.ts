/**
 * Records one live path: a reader of the path's Stream (as the HLS muxer is: every packet handled inside
 * the Stream's flush, no queue on the media side) that depacketizes, puts the tracks on one timeline and
 * writes fMP4 segments through a SegmentWriter (writes are queued and async: a slow disk never blocks the
 * event loop or the path's other readers).
 *
 * Parts. A part is one fragment of the fMP4 muxer: it is cut at each keyframe of the first video track
 * and after `partDurationMs` (container/fmp4/muxer.ts), so a part starts at a keyframe unless the GOP is
 * longer than a part. Each part is written as `prft` + `moof` + `mdat` in one write; the `prft` (ISO/IEC
 * 14496-12 §8.16.5) ties the presentation time (decode time + composition offset) of the part's first
 * sample of the reference track (the first video track, else track 1) to the server's wall clock when
 * that sample arrived. With H.264/H.265 every track is presented `reorderDelaySecondsFor` (0.2 s) later
 * than its decode times start (Fmp4Muxer's presentation delay: composition offsets >= 0, which ffmpeg,
 * GStreamer and VLC all read as written); the prft names the picture's presentation time, so the
 * catalog's start of a segment, segment-scan.ts and playback all mean the first picture's time.
 *
 * Segments. A new file starts at the first keyframe of the first video track (any unit of track 1 without
 * video) after `segmentDurationMs` of media, and at a keyframe whose parameter sets (SPS/PPS/VPS) differ
 * from the segment's: the sample entry of a file holds one set. Each segment's media time starts near 0
 * (all tracks shifted by the same amount), so a file plays alone and no decode time grows past what
 * the muxer accepts however long the recording runs.
 *
 * Faults. A write error (ENOSPC, EIO, a folder that cannot be made) stops the segment with one log line
 * and a count; the recorder tries again with a new segment every `retryMs` and says so once it works.
 * An exception in the media code stops the recorder (reason `fault: ...`), never the Stream's flush.
 */
import { unlink } from 'node:fs/promises';
import type { Clock, ClockTimer } from '../base/clock.js';
import { clockTimeout } from '../base/clock.js';
import { isParseError } from '../base/errors.js';
import { tsDiff32 } from '../base/seq.js';
import type { Logger } from '../base/logger.js';
import {
  FMP4_CODECS,
  Fmp4Muxer,
  reorderDelaySecondsFor,
  type Fmp4Codec,
  type Fmp4Track,
} from '../container/fmp4/index.js';
import { parseFmp4Moof, parseFmp4Moov, type Fmp4TrackInfo } from '../container/fmp4/reader.js';
import { prftBox } from '../container/fmp4/prft.js';
import { childBoxes } from '../container/mp4/boxes.js';
import type { AccessUnit } from '../format/access-unit.js';
import { muxableTracks, type MuxedTrack } from '../media/hls-muxer.js';
import type { PublishedMedia } from '../media/published-media.js';
import { packetReader, type StreamReader, type StreamTap } from '../media/stream-reader.js';
import { parseRtpPacket } from '../rtp/packet.js';
import { AlignedTracks } from '../sinks/tracks.js';
import type { DiskRecordingCatalog } from './disk-catalog.js';
import { parameterSetsChanged, parameterSetsInForce } from './parameter-set-changes.js';
import { SegmentWriter } from './segment-writer.js';
import type { RecordingSettings } from './settings.js';
import { recordingFileName } from './template.js';

/** Figures of all recorders together (the manager's; /metrics reads them). */
export interface RecordingCounters {
  segmentsCompleted: number;
  partsWritten: number;
  bytesWritten: number;
  /** Parts not written because the path's write queue was full (a disk slower than the stream). */
  partsDropped: number;
  /** Write errors that stopped a segment (disk full, I/O error). */
  writeErrors: number;
  segmentsDeleted: number;
}

export function newRecordingCounters(): RecordingCounters {
  return {
    segmentsCompleted: 0,
    partsWritten: 0,
    bytesWritten: 0,
    partsDropped: 0,
    writeErrors: 0,
    segmentsDeleted: 0,
  };
}

/** A finished segment, as the recorder reports it (closed, in the catalog, `open: false`). */
export interface SegmentComplete {
  /** The path's name. */
  path: string;
  /** Absolute file name of the segment. */
  file: string;
  /** Wall-clock time (ms since the Unix epoch) of its first sample, at receipt by the server. */
  startMs: number;
  /** Wall-clock duration in ms of its complete parts. */
  durationMs: number;
  sizeBytes: number;
  /** Why it was cut: 'segment duration', 'codec parameters changed', 'path not ready', ... */
  reason: string;
}

export interface PathRecorderOptions {
  path: string;
  media: PublishedMedia;
  stream: StreamTap;
  settings: RecordingSettings;
  clock: Clock;
  logger: Logger;
  catalog: DiskRecordingCatalog;
  counters: RecordingCounters;
  /** Wait before a new segment after a write error (default 5 s). */
  retryMs?: number;
  onSegmentComplete?: (segment: SegmentComplete) => void;
  /** The recorder stopped by itself (stream ended, a fault). */
  onStopped?: (reason: string) => void;
}

const DEFAULT_RETRY_MS = 5000;

/** Every codec the fMP4 muxer carries (HLS takes only BROWSER_FMP4_CODECS, those browsers play). */
const RECORDED_CODECS: ReadonlySet<Fmp4Codec> = new Set(FMP4_CODECS);

/**
 * prft flags (ISO/IEC 14496-12 §8.16.5): the NTP time has a consistent, small offset from the real time
 * of the media. The recorder stamps the time a sample arrived, which is capture plus encoding and
 * network delay: small and steady, not the encoder's input time (flags 0). Its media_time is the
 * presentation time of the part's first sample of the reference track (catalog.ts), not its decode time:
 * with the presentation delay they differ by the sample's composition offset (up to 0.2 s).
 */
const PRFT_FLAGS_CONSISTENT_SMALL_OFFSET = 0x000018;
/**
 * prft flags 0: the NTP time is when the sample was input to the encoder. A publisher's sender report
 * maps its RTP time to its own wall clock at sampling (RFC 3550 §6.4.1): the capture time as it sees it.
 */
const PRFT_FLAGS_ENCODER_INPUT = 0;

/** When a unit was received (our wall clock) and, with a sender report, sent (the publisher's clock). */
interface UnitTimes {
  wallMs: number;
  /** The publisher's NTP time of the unit (RFC 3550 §6.4.1: its last SR's mapping), when it sent one. */
  senderMs: number | undefined;
}

interface OpenSegment {
  file: string;
  muxer: Fmp4Muxer;
  writer: SegmentWriter;
  /** Seconds of the recorder's shared timeline subtracted from every unit of this segment. */
  baseSeconds: number;
  /** The timing track's parameter sets in force (video only). */
  params: Map<number, string>;
  /** The tracks of the init segment once written (to read back the fragments' timing). */
  tracks: Fmp4TrackInfo[];
  /** Per fMP4 track: decode time in the file → when its unit was received and sent, for the `prft`s. */
  timesByDts: Map<number, UnitTimes>[];
  /** fMP4 tracks that have had a unit at or after the segment's start. */
  startedTracks: Set<number>;
  startWallMs: number | undefined;
  /** Wall-clock end of the parts the disk has. */
  endWallMs: number | undefined;
  dropLogged: boolean;
  /** Parts queued, written. */
  parts: number;
}

export class PathRecorder {
  readonly path: string;
  readonly stream: StreamTap;
  readonly settings: RecordingSettings;
  /** Short codec names of the recorded tracks, e.g. ['h264', 'aac']. */
  readonly codecs: readonly string[];
  /** Set once stopped. */
  stoppedReason: string | undefined;
  /** Why recording is held (write error, low disk space); undefined while recording. */
  heldReason: string | undefined;

  readonly #o: PathRecorderOptions;
  readonly #configs: readonly Fmp4Track[];
  readonly #byStreamTrack = new Map<number, MuxedTrack>();
  readonly #aligned: AlignedTracks;
  /** The fMP4 track whose keyframes start parts and segments: the first video track, else 0. */
  readonly #timing: number;
  readonly #video: boolean;
  readonly #reader: StreamReader;
  #segment: OpenSegment | undefined;
  #closing: Promise<void>[] = [];
  /** The report of the last segment cut (the next one waits for it). */
  #lastCompletion: Promise<unknown> = Promise.resolve();
  #retry: ClockTimer | undefined;
  /** A write error was logged and no part was written since: the next one logs "resumed". */
  #failing = false;

  /** Undefined (with a warning) when no track of the path can be recorded. */
  static create(options: PathRecorderOptions): PathRecorder | undefined {
    const { tracks, configs } = muxableTracks(options.media, RECORDED_CODECS);
    const carried = new Set(tracks.map((t) => t.streamTrack));
    options.media.tracks.forEach((t, i) => {
      if (!carried.has(i))
        options.logger.warn(
          { path: options.path, track: i, codec: `${t.encodingName}/${t.clockRate}` },
          'recording leaves this track out: fMP4 recording carries H.264, H.265, AAC, Opus, MJPEG and G.711',
        );
    });
    if (tracks.length === 0) {
      options.logger.warn({ path: options.path }, 'path not recorded: none of its tracks can be recorded');
      return undefined;
    }
    return new PathRecorder(options, tracks, configs);
  }

  private constructor(
    options: PathRecorderOptions,
    tracks: readonly MuxedTrack[],
    configs: readonly Fmp4Track[],
  ) {
    this.#o = options;
    this.path = options.path;
    this.stream = options.stream;
    this.settings = options.settings;
    this.#configs = configs;
    for (const t of tracks) this.#byStreamTrack.set(t.streamTrack, t);
    this.#aligned = new AlignedTracks(tracks.map((t) => t.streamTrack));
    const firstVideo = configs.findIndex((c) => c.codec === 'h264' || c.codec === 'h265');
    this.#timing = Math.max(0, firstVideo);
    this.#video = firstVideo >= 0;
    this.codecs = configs.map((c) => c.codec);
    this.#reader = packetReader({
      tracks: tracks.map((t) => t.streamTrack),
      // Parts are queued by the file writer, bounded there (recordMaxQueueBytes), not in the Stream.
      backlogBytes: () => 0,
      rtp: (track, packet) => {
        this.#isolated(() => {
          this.#onRtp(track, packet);
        });
      },
      ended: (reason) => {
        void this.stop(`stream ended: ${reason}`).then(() => this.#o.onStopped?.(`stream ended: ${reason}`));
      },
    });
  }

  /** Joins the Stream (at its cached keyframe, which starts the first segment). */
  start(): void {
    this.stream.addReader(this.#reader);
    this.#o.logger.info({ path: this.path, codecs: this.codecs }, 'recording started');
  }

  /** Leaves the Stream, writes the part in progress and closes the segment. */
  async stop(reason = 'stopped'): Promise<void> {
    if (this.stoppedReason === undefined) {
      this.stoppedReason = reason;
      this.stream.removeReader(this.#reader);
      this.#retry?.cancel();
      this.#finishSegment(reason);
    }
    await Promise.all(this.#closing);
  }

  /** Stops writing (closing the segment) until `resume`: low disk space. */
  hold(reason: string): void {
    if (this.heldReason !== undefined || this.stoppedReason !== undefined) return;
    this.heldReason = reason;
    this.#retry?.cancel();
    this.#finishSegment(reason);
  }

  /** Records again from the next keyframe. */
  resume(): void {
    if (this.heldReason === undefined || this.stoppedReason !== undefined) return;
    this.heldReason = undefined;
    this.#retry?.cancel();
  }

  /** Segments being closed, for tests and shutdown. */
  async settled(): Promise<void> {
    await Promise.all(this.#closing);
  }

  #onRtp(streamTrack: number, packet: Buffer): void {
    if (this.stoppedReason !== undefined) return;
    const track = this.#byStreamTrack.get(streamTrack);
    if (track === undefined) return;
    let rtp;
    try {
      rtp = parseRtpPacket(packet);
    } catch (err) {
      if (isParseError(err)) return; // the depacketizer counts the loss
      throw err;
    }
    const arrivalMs = this.#o.clock.monotonicMs();
    const wallMs = this.#o.clock.wallMs();
    const sr = this.stream.senderReport?.(streamTrack);
    for (const au of track.depacketizer.push(rtp)) {
      // The unit's RTP time is its unwrapped pts modulo 2^32 (the depacketizer's timestamp tracker).
      const senderMs =
        sr !== undefined
          ? sr.ntpUnixMs + (tsDiff32(sr.rtpTimestamp, au.pts >>> 0) * 1000) / au.clockRate
          : undefined;
      // Placed by the instant the Stream's clock line gives its pts, not by arrival (AlignedTracks.place:
      // ffmpeg's AAC packets come up to 0.7 s after their first frame's time).
      const instantMs = this.stream.monotonicMsOfRtp?.(streamTrack, au.pts >>> 0) ?? arrivalMs;
      const placed = this.#aligned.place(track.fmp4Track, au, instantMs);
      if (placed === undefined) continue; // before the first unit placed
      this.#onAccessUnit(track.fmp4Track, placed, { wallMs, senderMs });
    }
  }

  #onAccessUnit(i: number, au: AccessUnit, times: UnitTimes): void {
    const wallMs = times.wallMs;
    const starts = i === this.#timing && (!this.#video || au.keyframe);
    let seg = this.#segment;
    if (seg !== undefined && starts) {
      // Media time, or wall time when the publisher's clock went back (a segment stays bounded).
      const ageMs = Math.max(
        (au.pts / au.clockRate - seg.baseSeconds) * 1000,
        seg.startWallMs !== undefined ? wallMs - seg.startWallMs : 0,
      );
      if (ageMs >= this.settings.segmentDurationMs) this.#finishSegment('segment duration');
      else if (this.#video && this.#paramsChanged(seg, au)) this.#finishSegment('codec parameters changed');
      seg = this.#segment;
    }
    if (seg === undefined) {
      if (!starts || this.heldReason !== undefined) return;
      seg = this.#openSegment(au, wallMs);
    }
    const shift = Math.round(seg.baseSeconds * au.clockRate);
    const shifted: AccessUnit = { ...au, pts: au.pts - shift };
    if (au.dts !== undefined) shifted.dts = au.dts - shift;
    if (!seg.startedTracks.has(i)) {
      // A track's first units in this file from before its first picture (audio that comes after it,
      // as ffmpeg's AAC packets of up to 0.7 s do) would start the track at a negative time, moved to 0
      // with everything after it; they belong to the previous file, closed at the picture: dropped.
      if (shifted.pts < 0 || (shifted.dts ?? 0) < 0) return;
      seg.startedTracks.add(i);
    }
    let out: Buffer | undefined;
    try {
      out = seg.muxer.push(i, shifted);
    } catch (err) {
      if (!isParseError(err)) throw err;
      this.#o.logger.warn({ path: this.path, err: err.message }, 'recording: cannot mux the stream');
      this.#finishSegment(`cannot mux: ${err.message}`);
      return;
    }
    const dts = seg.muxer.decodeTimeSeconds(i);
    if (dts !== undefined) seg.timesByDts[i]!.set(Math.round(dts * this.#configs[i]!.timescale), times);
    if (out !== undefined) this.#writeOut(seg, out);
  }

  #paramsChanged(seg: OpenSegment, au: AccessUnit): boolean {
    return parameterSetsChanged(seg.params, this.#configs[this.#timing]!.codec, au);
  }

  #openSegment(au: AccessUnit, wallMs: number): OpenSegment {
    const file = recordingFileName(this.settings.pathTemplate, this.path, wallMs);
    const timing = this.#configs[this.#timing]!;
    const params = this.#video
      ? parameterSetsInForce(timing.codec, timing.parameterSets ?? [], au)
      : new Map<number, string>();
    const seg: OpenSegment = {
      file,
      muxer: new Fmp4Muxer(this.#configs, {
        maxFragmentSeconds: this.settings.partDurationMs / 1000,
        presentationDelaySeconds: reorderDelaySecondsFor(this.#configs),
      }),
      writer: new SegmentWriter(file, {
        maxQueueBytes: this.settings.maxQueueBytes,
        onError: (err) => {
          this.#onWriteError(seg, err);
        },
      }),
      baseSeconds: au.pts / au.clockRate,
      params,
      tracks: [],
      timesByDts: this.#configs.map(() => new Map<number, UnitTimes>()),
      startedTracks: new Set(),
      startWallMs: undefined,
      endWallMs: undefined,
      dropLogged: false,
      parts: 0,
    };
    this.#segment = seg;
    return seg;
  }

  /**
   * Writes muxer output: the init segment goes with the first part; each fragment (moof + mdat) goes
   * behind its `prft`, one write per part.
   */
  #writeOut(seg: OpenSegment, out: Buffer): void {
    let pending: Buffer[] = [];
    let part: { wallMs: number; durationMs: number } | undefined;
    for (const b of childBoxes(out, 0, out.length)) {
      const bytes = out.subarray(b.start, b.end);
      if (b.type === 'moov') seg.tracks = parseFmp4Moov(bytes);
      if (b.type === 'moof') {
        const { runs } = parseFmp4Moof(bytes, 0, seg.tracks);
        const ref = runs.find((r) => r.trackId === this.#timing + 1) ?? runs[0];
        if (ref === undefined || ref.count === 0) continue;
        const index = ref.trackId - 1;
        const timescale = this.#configs[index]!.timescale;
        const firstDts = ref.decodeTime[0]!;
        // The prft names the sample's presentation time (decode time + its offset), when it was received.
        const firstPts = firstDts + ref.compositionOffset[0]!;
        const times = seg.timesByDts[index]!.get(firstDts);
        const wallMs = times?.wallMs ?? seg.endWallMs ?? this.#o.clock.wallMs();
        // The receipt times of the samples now written are no longer needed.
        for (const r of runs) {
          const map = seg.timesByDts[r.trackId - 1]!;
          const last = r.decodeTime[r.count - 1] ?? -1;
          for (const dts of map.keys()) if (dts <= last) map.delete(dts);
        }
        let ticks = 0;
        for (let i = 0; i < ref.count; i++) ticks += ref.duration[i]!;
        pending.push(prftBox(ref.trackId, wallMs, firstPts, PRFT_FLAGS_CONSISTENT_SMALL_OFFSET));
        // The publisher's time of the same sample, from its sender reports, second (catalog.ts).
        if (times?.senderMs !== undefined)
          pending.push(prftBox(ref.trackId, times.senderMs, firstPts, PRFT_FLAGS_ENCODER_INPUT));
        pending.push(bytes);
        part = { wallMs, durationMs: (ticks / timescale) * 1000 };
      } else {
        pending.push(bytes);
        if (b.type === 'mdat' && part !== undefined) {
          this.#queuePart(seg, Buffer.concat(pending), part.wallMs, part.durationMs);
          pending = [];
          part = undefined;
        }
      }
    }
    if (pending.length > 0) seg.writer.write(Buffer.concat(pending));
  }

  /** Queues one part; the catalog learns of it once the disk has it. */
  #queuePart(seg: OpenSegment, bytes: Buffer, partWallMs: number, partDurationMs: number): void {
    const counters = this.#o.counters;
    seg.startWallMs ??= partWallMs;
    const startMs = seg.startWallMs;
    const endMs = Math.max(partWallMs + partDurationMs, seg.endWallMs ?? 0);
    seg.endWallMs = endMs;
    const first = seg.parts === 0;
    const accepted = seg.writer.write(bytes, () => {
      counters.partsWritten++;
      counters.bytesWritten += bytes.length;
      if (this.#failing) {
        this.#failing = false;
        this.#o.logger.info({ path: this.path, file: seg.file }, 'recording resumed');
      }
      const catalog = this.#o.catalog;
      if (catalog.entry(this.path, seg.file) === undefined)
        catalog.add({
          path: this.path,
          file: seg.file,
          startMs,
          durationMs: endMs - startMs,
          codecs: [...this.codecs],
          open: seg.writer.error === undefined && this.#segment === seg,
          sizeBytes: seg.writer.bytesWritten,
        });
      else
        catalog.update(this.path, seg.file, {
          durationMs: endMs - startMs,
          sizeBytes: seg.writer.bytesWritten,
        });
    });
    if (accepted) {
      seg.parts++;
      return;
    }
    if (seg.writer.error !== undefined) return;
    counters.partsDropped++;
    if (first) {
      // Without its init segment the file is useless: start over at the next keyframe.
      this.#finishSegment('write queue full');
      return;
    }
    if (!seg.dropLogged) {
      seg.dropLogged = true;
      this.#o.logger.warn(
        { path: this.path, file: seg.file, maxQueueBytes: this.settings.maxQueueBytes },
        'recording: the disk is slower than the stream, parts dropped',
      );
    }
  }

  #onWriteError(seg: OpenSegment, err: Error): void {
    this.#o.counters.writeErrors++;
    if (!this.#failing) {
      this.#failing = true;
      this.#o.logger.error(
        {
          path: this.path,
          file: seg.file,
          code: (err as NodeJS.ErrnoException).code,
          err: err.message,
          retryMs: this.#o.retryMs ?? DEFAULT_RETRY_MS,
        },
        'recording stopped by a write error; retrying with a new segment',
      );
    }
    if (this.#segment === seg) this.#finishSegment(`write error: ${err.message}`);
    if (this.stoppedReason !== undefined) return;
    // Hold until the retry: no new segment at the next keyframe, which would fail again at once.
    this.heldReason ??= 'write error';
    this.#retry?.cancel();
    this.#retry = clockTimeout(
      this.#o.clock,
      () => {
        if (this.heldReason === 'write error') this.heldReason = undefined;
      },
      this.#o.retryMs ?? DEFAULT_RETRY_MS,
    );
  }

  /**
   * Closes the open segment: the muxer's last part is written (unless the writer failed), the file
   * closed, the catalog entry completed, and a log line and a count say it.
   */
  #finishSegment(reason: string): void {
    const seg = this.#segment;
    if (seg === undefined) return;
    this.#segment = undefined;
    if (seg.writer.error === undefined) {
      let last: Buffer | undefined;
      try {
        last = seg.muxer.flush();
      } catch (err) {
        if (!isParseError(err)) throw err;
      }
      if (last !== undefined) this.#writeOut(seg, last);
    }
    // Segments are reported in the order they were cut, whichever file finishes closing first.
    const previous = this.#lastCompletion;
    const closing = Promise.all([seg.writer.close(), previous]).then(async () => {
      this.#closing = this.#closing.filter((c) => c !== closing);
      const catalog = this.#o.catalog;
      const entry = catalog.entry(this.path, seg.file);
      if (entry === undefined) {
        // No part reached the disk: an empty (or init-only) file is nothing to keep.
        await unlink(seg.file).catch(() => undefined);
        return;
      }
      catalog.update(this.path, seg.file, { open: false, sizeBytes: seg.writer.bytesWritten });
      this.#o.counters.segmentsCompleted++;
      const done: SegmentComplete = {
        path: this.path,
        file: seg.file,
        startMs: entry.startMs,
        durationMs: entry.durationMs,
        sizeBytes: seg.writer.bytesWritten,
        reason,
      };
      this.#o.logger.info(
        {
          path: this.path,
          file: seg.file,
          start: new Date(entry.startMs).toISOString(),
          durationMs: Math.round(entry.durationMs),
          bytes: done.sizeBytes,
          reason,
        },
        'recording segment complete',
      );
      this.#o.onSegmentComplete?.(done);
    });
    this.#closing.push(closing);
    this.#lastCompletion = closing.catch(() => undefined);
  }

  /** Runs `f`; an exception stops the recorder and is logged, never thrown into the Stream. */
  #isolated(f: () => void): void {
    try {
      f();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#o.logger.error({ path: this.path, err: message }, 'recording stopped by a fault');
      void this.stop(`fault: ${message}`).then(() => this.#o.onStopped?.(`fault: ${message}`));
    }
  }
}
