/**
 * Video on demand: one MP4 file played to ONE reader with VCR control (RFC 2326 §1): Range seeks,
 * PAUSE and resume, queued PLAY ranges (§10.5), PAUSE at a point (§10.6), Scale (§12.34) and Speed
 * (§12.35). The RTSP server owns the session and maps headers; this engine owns the media.
 *
 *   const file = await VodFile.open('media/movie.mp4', { logger });  // shared by the file's sessions
 *   // DESCRIBE: file.media.describeSdp(url) (a=range:npt=0-<duration>, trackID=N controls)
 *   const player = new VodPlayer(file, sink, { tracks: [0, 1], ssrcs });      // after SETUP
 *   player.onEnd = ({ reason, positionS }) => ...;  // the range (and queue) ended: back to 'ready'
 *   const r = player.play({ startS: 5, endS: 7 });   // Range: npt=<r.startS>-<r.endS>, Scale, RTP-Info
 *   player.pause();                                  // PAUSE: returns the pause point
 *   player.play({});                                 // resumes from the pause point
 *   player.stop();                                   // TEARDOWN
 *   await file.close();                              // when its last player is gone
 *
 * The sink receives serialized RTP (and RTCP) per set-up track index, with this player's SSRCs.
 *
 * ## Timeline and RTP timestamps
 *
 * The npt timeline is the file's presentation timeline: sample times come from the reader with the
 * edit list applied (ISO/IEC 14496-12 §8.6.6: initial empty edits delay a track, media_time drops
 * what precedes it), so npt 0 is where the file's presentation starts and a sample's RTP time is
 * base + M(its pts) * clockRate, as ffprobe reads the file.
 *
 * The priming rule. An edit list may leave samples before npt 0 that the decoder needs but a player
 * must not present (AAC's priming frame, 1024 samples; Opus's pre-skip, 312; B-frame delay shows as
 * negative decode times only). RTP has no "decode but discard" mark (RFC 3550 §5.1 gives a packet one
 * timestamp and nothing else), so: an audio sample presented entirely before the start of a range is
 * not sent (AAC's priming frame at npt 0; the decoder then starts cold, a 21 ms fade-in, as a player
 * joining a live stream does); a sample that straddles the start (Opus's first frame, or the audio
 * frame under a seek point) is sent at its true timestamp, a few ms before the Range start, so that
 * what it decodes to stays in sync; video starts at its keyframe, whose frames are all needed.
 * A negative npt (ffmpeg asks for `npt=0.-21-` when it saw a priming frame) reads as 0, so nobody
 * gets samples before 0 by asking (see rtsp/range.ts).
 *
 * Three clocks meet here: npt (the file's presentation time, seconds), the session's MEDIA time M
 * (seconds; RTP time of track i = base_i + M * clockRate_i, random base_i per track), and the wall
 * (monotonic) clock that paces. Each PLAY range is a SEGMENT with two linear maps:
 *
 *   M(npt)  = mediaOrigin + (npt - nptOrigin) / scale
 *   due(M)  = wallMs + (M - wallMediaS) / speed          (in ms: * 1000)
 *
 * M never goes back and never jumps: a new range starts at the media time where the previous one
 * stopped (its end, or the pause point), or after the end of everything already sent if that is
 * later; queued ranges chain exactly (next mediaOrigin = previous M(end)). So RTP timestamps and
 * sequence numbers are continuous per track across seeks, pauses and ranges, and the RTP-Info of
 * each PLAY (rtptime = RTP time of the reported start, seq = the next packet's) tells the client
 * how npt maps to RTP time from then on (§12.33). This is gst-rtsp-server's model (RTP time follows
 * the pipeline's running time, which stands still while paused and is divided by the rate), not
 * "rtptime = base + npt * clockRate": that one would make RTP time run backwards on a seek back or
 * at a negative scale, which jitter buffers and decoders take for reordering or loss.
 *
 * Pause and resume keep the segment's map: samples after the pause continue exactly where they
 * stopped (no sample sent twice or skipped), with the same timestamps they would have had without
 * the pause; only the wall anchor moves. RTP time does not advance while paused.
 *
 * Scale (§12.34: "a ratio of 2 has normal play time increase at twice the wallclock rate"; the data
 * rate "SHOULD not be changed"; "for video, a server may ... deliver only key frames"):
 * - 1: every sample of every set-up track.
 * - > 1 or < 0 (fast forward, reverse): video keyframes only, each at least |scale| * 0.2 s of npt
 *   after the previous one (at most 5 frames per second of wall time), forward from or backward
 *   from the keyframe at or before the start. Timestamps follow M, i.e. they advance with the
 *   wall clock (npt / scale), so the client presents the frames at the pace they are sent.
 * - between 0 and 1 (slow motion): every video frame, timestamps stretched by 1 / scale.
 * - audio is not sent when the scale is not 1 (nothing to time-stretch it with).
 * Scales are clamped to ±[1/8, 8]; a session without video plays at scale 1. The result carries
 * the scale used. 0 is invalid (RangeError: the server answers 400 / 457).
 *
 * Speed (§12.35) divides the wall time only: delivery `speed` times faster (or slower), timestamps
 * unchanged. Clamped to [1/8, 8].
 *
 * Ranges. Forward, a range [start, end) starts at the keyframe at or before `start` (the earliest
 * one over the video tracks; audio from the sample presented then) and that actual start is
 * reported; a track stops at its first sample decoded at or after `end` (a frame presented exactly
 * at the end is not sent, §10.6). With B-frames the last references may present a little after
 * the end. Backward (negative scale), a range goes from its later bound down to its earlier one
 * (either order accepted; an absent end means 0). Times are clamped to [0, duration]; an end
 * before the start throws RangeError. A range ends when the timeline reaches M(end), so queued
 * ranges follow each other exactly (§10.5), not when its last packet is sent.
 *
 * PLAY while playing: with a start it is queued (result.queued, no seq in its RTP-Info: the packets
 * before it are not counted yet); without a start it changes the scale, speed or end at once from
 * the current position (a new speed or end goes on exactly; a new scale restarts at the keyframe at
 * or before the position; queued ranges and a pending pause point are kept), or does nothing if
 * they are unchanged (a liveness PLAY: its result gives the position and the next packets). PLAY without a
 * start when ready resumes from the pause point (to the paused range's end, or to the end of the
 * file after a range that ended); with another scale it restarts at the keyframe at or before it.
 * PAUSE stops at once and drops the queue; PAUSE at a point takes effect when the timeline reaches
 * it, in the current or a queued range (drops the ranges after it); outside them it throws
 * RangeError (457 Invalid Range).
 *
 * Pacing. One timer per player, as in mp4-loop.ts: each tick sends every sample due against
 * `clock.monotonicMs()` (normal play by decode time, trick play by presentation time) and re-arms
 * for the next due sample or the end of the range, waiting at most `maxTimerWaitMs` so a clock that
 * jumps (a test's ManualClock) is polled. Samples are read ahead asynchronously into a small
 * bounded queue (48 samples / 2 MiB per player: many players share a file); a head sample more
 * than 1 s late moves the wall anchor instead of bursting the backlog.
 *
 * Sender reports (RFC 3550 §6.4.1) go through `sink.sendRtcp` right after the first packets of
 * each range and every `senderReportIntervalMs` (5 s) while playing: NTP = wall now, RTP = the RTP
 * time of M(now) on the current range's timeline. Audio and video share M, so lip sync holds after
 * every seek; with B-frames a video packet is sent at its decode time, ahead of its RTP time.
 *
 * Errors. A read error (file truncated, replaced, closed) stops playing, logs, and calls onEnd
 * with reason 'error'; a malformed sample is skipped with a warning. Nothing throws out of a timer.
 */
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { nullLogger } from '../base/logger.js';
import { ParseError } from '../base/errors.js';
import type { Mp4Reader, Mp4SampleInfo, Mp4Track } from '../container/mp4/reader.js';
import { sampleInfo } from '../container/mp4/reader.js';
import {
  firstSampleEndingAfter,
  keyframeAtOrBeforeTicks,
  ptsOf,
  sampleAtTicks,
} from '../container/mp4/sample-table.js';
import type { AccessUnit, Packetizer } from '../format/access-unit.js';
import type { PublishedMedia } from '../media/published-media.js';
import { senderReportFor } from '../rtp/clock-map.js';
import { randomRtpTimestamp, randomSequenceNumber, randomSsrc, RTP_HEADER_BYTES } from '../rtp/packet.js';
import { serializeRtcpCompound } from '../rtp/rtcp.js';
import type { FileByteSource } from './file-source.js';
import {
  describeMp4,
  errorMessage,
  mod32,
  openMp4ForRtp,
  presentationSpan,
  rtpPackets,
  type Mp4RtpTrack,
} from './mp4-rtp.js';

/** A PLAY with a range while `maxQueuedRanges` ranges already wait (the server answers 503). */
export class VodQueueFullError extends Error {
  constructor(readonly maxQueuedRanges: number) {
    super(`${maxQueuedRanges} PLAY ranges are queued already`);
    this.name = 'VodQueueFullError';
  }
}

/** Read-ahead bounds per player: at least one sample, at most this many or this many bytes queued. */
const READ_AHEAD_SAMPLES = 48;
const READ_AHEAD_BYTES = 2 * 1024 * 1024;
/** A head sample later than this re-anchors the wall clock instead of sending a burst. */
const MAX_LAG_MS = 1000;
const MAX_SAMPLE_WARNINGS = 10;
/** Scale and Speed limits (absolute values). */
export const VOD_MAX_SCALE = 8;
export const VOD_MIN_SCALE = 1 / 8;
export const VOD_MAX_SPEED = 8;
export const VOD_MIN_SPEED = 1 / 8;
/** Trick play: keyframes at least this far apart in wall time (npt: times |scale|). */
const TRICK_FRAME_INTERVAL_S = 0.2;
/** Times within this of each other are equal (floating-point seconds vs integer ticks). */
const EPSILON_S = 1e-6;

// ---- the file ----

export interface VodFileOptions {
  logger?: Logger;
  /** Maximum RTP payload size (default 1400). */
  maxPayloadBytes?: number;
}

/**
 * An MP4 file opened for on-demand play: sample tables parsed once, shared by every VodPlayer of
 * the file (each reads through the same positional file handle).
 */
export class VodFile {
  /** DESCRIBE: `a=range:npt=0-<duration>` at session level, `a=control:*`, trackID=N per track. */
  readonly media: PublishedMedia;
  /** Movie duration (mvhd, edit lists applied), else the end of the latest sample. */
  readonly durationS: number;
  /** The playable tracks, parallel to `media.tracks`. */
  readonly tracks: readonly Mp4RtpTrack[];
  readonly logger: Logger;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    private readonly source: FileByteSource,
    readonly reader: Mp4Reader,
    tracks: Mp4RtpTrack[],
    durationS: number,
    logger: Logger,
  ) {
    this.tracks = tracks;
    this.durationS = durationS;
    this.logger = logger;
    this.media = describeMp4(tracks, path, `npt=0-${formatNpt(durationS)}`);
  }

  /**
   * Opens the file. Rejects with an Error naming the file when it cannot be read, is not a
   * progressive MP4, or has no track in a supported codec (h264, h265, aac, opus).
   */
  static async open(path: string, options: VodFileOptions = {}): Promise<VodFile> {
    const logger = (options.logger ?? nullLogger).child({ source: 'vod', file: path });
    const { source, reader, tracks } = await openMp4ForRtp(path, logger, options.maxPayloadBytes);
    let end = 0;
    for (const t of tracks) end = Math.max(end, presentationSpan(t.mp4).end / t.mp4.timescale);
    const durationS = reader.durationSeconds > 0 ? reader.durationSeconds : end;
    logger.info(
      {
        tracks: tracks.map((t) => `${t.published.encodingName}/${t.published.clockRate}`),
        durationS: Number(durationS.toFixed(3)),
      },
      'vod file opened',
    );
    return new VodFile(path, source, reader, tracks, durationS, logger);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Closes the file: players still playing it stop with reason 'error'. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.source.close().catch((e: unknown) => {
      this.logger.warn({ err: errorMessage(e) }, 'closing the file failed');
    });
    return this.closing;
  }
}

function formatNpt(s: number): string {
  return String(Number(s.toFixed(3)));
}

// ---- the player's API ----

/** Where a player's packets go, by set-up track index (`media.tracks` order). */
export interface VodPacketSink {
  sendRtp(track: number, packet: Buffer): void;
  sendRtcp(track: number, packet: Buffer): void;
}

/** One PLAY request: Range (npt seconds), Scale, Speed. Absent scale and speed mean 1. */
export interface VodPlayRequest {
  /** Absent: resume from the pause point (or, while playing, change scale/speed/end at once). */
  startS?: number;
  /** Absent: the end of the file (0 with a negative scale). */
  endS?: number;
  scale?: number;
  speed?: number;
}

export interface VodRtpInfo {
  track: number;
  /** Sequence number of the track's first packet of this range; absent for a queued range. */
  seq?: number;
  /** RTP time of `startS` on this track (§12.33): the first video packet's timestamp. */
  rtptime: number;
}

export interface VodPlayResult {
  /** The actual start: the keyframe at or before the requested one, or the pause point resumed. */
  startS: number;
  endS: number;
  /** The scale used (clamped; 1 for a session without video). */
  scale: number;
  speed: number;
  /** True when the range waits for the ranges before it (§10.5). */
  queued: boolean;
  /** One per set-up track. */
  rtpInfo: VodRtpInfo[];
}

export interface VodEndInfo {
  /** 'end': the last range ended; 'pause': a pause point was reached; 'error': a read failed. */
  reason: 'end' | 'pause' | 'error';
  positionS: number;
  error?: Error;
}

export interface VodPlayerOptions {
  clock?: Clock;
  logger?: Logger;
  /** The set-up tracks (indices into `file.media.tracks`); default all. */
  tracks?: readonly number[];
  /** SSRC per track index (e.g. from the Transport header); random where absent. */
  ssrcs?: readonly (number | undefined)[];
  /** SDES CNAME in the sender reports (default 'rtspkit'). */
  cname?: string;
  senderReportIntervalMs?: number;
  /** Longest wait of the pacing timer (default 20 ms; it usually wakes at the next sample's time). */
  maxTimerWaitMs?: number;
}

// ---- internals ----

/** One set-up track of the session. */
interface SessionTrack {
  readonly index: number;
  readonly rtp: Mp4RtpTrack;
  readonly mp4: Mp4Track;
  readonly video: boolean;
  readonly clockRate: number;
  readonly packetizer: Packetizer;
  readonly timestampBase: number;
  readonly ssrc: number;
  seq: number;
  packets: number;
  octets: number;
  /** Where a continuation of the current run starts: the run state after the last sent sample. */
  resume: RunState | undefined;
}

/** How far a track's run has gone: the next candidate and the pts (s) of the last one taken. */
interface RunState {
  /** Normal play: next sample index. Trick play: next position in `samples.keyframes`. */
  next: number;
  lastPtsS: number | undefined;
}

interface Run extends RunState {
  readonly st: SessionTrack;
}

type Mode = 'normal' | 'forward' | 'backward';

/** One PLAY range on the session timeline (see the module comment for the maps). */
interface Segment {
  readonly startS: number;
  endS: number;
  /** The end asked for, kept when a pause point shortens the range. */
  readonly requestedEndS: number;
  readonly scale: number;
  readonly speed: number;
  readonly mode: Mode;
  readonly nptOrigin: number;
  mediaOrigin: number;
  wallMs: number;
  wallMediaS: number;
  readonly initial: readonly Run[];
  runs: Run[];
  readDone: boolean;
  /** A sample could not be read (a file cut short): the range plays what was read, then fails. */
  readError: unknown;
  pauseAtEnd: boolean;
  srPending: boolean;
  sentPackets: number;
}

interface Queued {
  seg: Segment;
  st: SessionTrack;
  info: Mp4SampleInfo;
  data: Buffer;
  /** Media time of the sample's pts, and of its due time (dts in normal play). */
  ptsM: number;
  dueM: number;
  after: RunState;
}

/** Where a later PLAY without Range resumes. */
interface ResumePoint {
  seg: Segment;
  positionS: number;
  mediaS: number;
  /** The range ended (rather than being paused): resuming goes on to the end of the file. */
  ended: boolean;
}

function mediaOf(seg: Segment, nptS: number): number {
  return seg.mediaOrigin + (nptS - seg.nptOrigin) / seg.scale;
}

function nptOf(seg: Segment, mediaS: number): number {
  return seg.nptOrigin + (mediaS - seg.mediaOrigin) * seg.scale;
}

function dueMs(seg: Segment, mediaS: number): number {
  return seg.wallMs + ((mediaS - seg.wallMediaS) / seg.speed) * 1000;
}

function modeOf(scale: number): Mode {
  return scale < 0 ? 'backward' : scale > 1 ? 'forward' : 'normal';
}

/**
 * Plays one VodFile to one reader. See the module comment for the model; `play`, `pause` and
 * `stop` are synchronous and never wait on the disk.
 */
export class VodPlayer {
  /** Called when playing stops by itself: end of the ranges, a pause point, a read error. */
  onEnd: ((info: VodEndInfo) => void) | undefined;

  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly tracks: SessionTrack[];
  private readonly cname: string;
  private readonly srIntervalMs: number;
  private readonly maxWaitMs: number;
  private readonly hasVideo: boolean;

  /** The current range first, then the queued ones; empty when ready. */
  private segments: Segment[] = [];
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private reading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private nextSrMs = 0;
  private badSamples = 0;

  private pausedAtS = 0;
  private resumePoint: ResumePoint | undefined;
  /** Media time where the next range may start: the end of what was played or sent. */
  private mediaFloorS = 0;

  constructor(
    private readonly file: VodFile,
    private readonly sink: VodPacketSink,
    options: VodPlayerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? file.logger).child({ component: 'vod-player' });
    this.cname = options.cname ?? 'rtspkit';
    this.srIntervalMs = options.senderReportIntervalMs ?? 5000;
    this.maxWaitMs = options.maxTimerWaitMs ?? 20;
    const indices = options.tracks ?? file.tracks.map((_, i) => i);
    if (indices.length === 0) throw new RangeError('VodPlayer: no track set up');
    this.tracks = [...new Set(indices)]
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
          ssrc: (options.ssrcs?.[index] ?? randomSsrc()) >>> 0,
          seq: randomSequenceNumber(),
          packets: 0,
          octets: 0,
          resume: undefined,
        };
      });
    this.hasVideo = this.tracks.some((t) => t.video);
  }

  get state(): 'ready' | 'playing' {
    return this.segments.length > 0 ? 'playing' : 'ready';
  }

  /** The current npt: on the timeline while playing, the pause point when ready. */
  get positionS(): number {
    const seg = this.segments[0];
    if (seg === undefined) return this.pausedAtS;
    return this.positionIn(seg, this.clock.monotonicMs());
  }

  /** The scale of the current range (1 when ready). */
  get scale(): number {
    return this.segments[0]?.scale ?? 1;
  }

  /**
   * PLAY ranges that may wait after the current one (§10.5 queues them without a bound); a PLAY
   * beyond throws VodQueueFullError. Each range holds its plan (a run per track), so a client
   * queueing 100,000 of them held ~100 MB. The server sets it from its options before each PLAY.
   */
  maxQueuedRanges = Infinity;

  /** Ranges waiting after the current one. */
  get queuedRanges(): number {
    return Math.max(0, this.segments.length - 1);
  }

  /** The SSRC of a set-up track (for the Transport header). */
  ssrc(track: number): number {
    const st = this.tracks.find((t) => t.index === track);
    if (st === undefined) throw new RangeError(`VodPlayer: track ${track} is not set up`);
    return st.ssrc;
  }

  /**
   * PLAY. Starts now when ready; while playing, queues a range with a start or applies a new
   * scale/speed/end at once (see the module comment). Throws RangeError for a zero or non-finite
   * scale/speed, a non-finite time, or an end before the start.
   */
  play(req: VodPlayRequest = {}): VodPlayResult {
    if (this.stopped) throw new Error('VodPlayer: play after stop');
    if (this.file.closed) throw new Error('VodPlayer: the file is closed');
    const scale = this.resolveScale(req.scale ?? 1);
    const speed = resolveSpeed(req.speed ?? 1);
    for (const t of [req.startS, req.endS])
      if (t !== undefined && !Number.isFinite(t)) throw new RangeError(`invalid time ${t}`);

    const current = this.segments[0];
    if (current !== undefined) {
      if (req.startS !== undefined) {
        if (this.queuedRanges >= this.maxQueuedRanges) throw new VodQueueFullError(this.maxQueuedRanges);
        return this.enqueue(req.startS, req.endS, scale, speed);
      }
      // The current end, unless the direction changes (then the file's end that way).
      const sameWay = Math.sign(scale) === Math.sign(current.scale);
      const endS =
        req.endS !== undefined ? this.clampTime(req.endS) : sameWay ? current.requestedEndS : undefined;
      if (scale === current.scale && speed === current.speed && endS === current.requestedEndS)
        return this.describeNow(current);
      // A new scale, speed or end from the current position; the queued ranges follow it.
      const later = this.segments.slice(1).map((s) => ({
        startS: s.startS,
        endS: s.requestedEndS,
        scale: s.scale,
        speed: s.speed,
      }));
      const pauseAtS = this.segments.find((s) => s.pauseAtEnd)?.endS;
      this.pause();
      const result = this.play(endS === undefined ? { scale, speed } : { endS, scale, speed });
      for (const s of later) this.enqueue(s.startS, s.endS, s.scale, s.speed);
      if (pauseAtS !== undefined) {
        try {
          this.pause(pauseAtS);
        } catch {
          // The new direction never reaches the pause point: it is dropped.
        }
      }
      return result;
    }

    const now = this.clock.monotonicMs();
    let seg: Segment;
    const rp = this.resumePoint;
    if (req.startS === undefined && rp !== undefined && rp.seg.scale === scale) {
      seg = this.continuation(rp, req.endS, speed);
    } else {
      const startS = req.startS ?? this.pausedAtS;
      const mediaS = Math.max(this.mediaFloorS, rp?.mediaS ?? 0);
      seg = this.plan(startS, req.endS, scale, speed, mediaS);
    }
    this.begin(seg, now);
    return this.describe(seg, false, true);
  }

  /**
   * PAUSE. Without `atS`: stops now, keeps the position, drops queued ranges; returns the pause
   * point. With `atS`: playing goes on until the timeline reaches it (in the current or a queued
   * range; later ranges are dropped), then pauses; returns `atS`. Throws RangeError when `atS` is
   * not ahead in a pending range (457). When ready, does nothing and returns the position.
   */
  pause(atS?: number): number {
    if (atS !== undefined && !Number.isFinite(atS)) throw new RangeError(`invalid pause point ${atS}`);
    const current = this.segments[0];
    if (current === undefined) return this.pausedAtS;
    if (atS === undefined) {
      const now = this.clock.monotonicMs();
      const positionS = this.positionIn(current, now);
      this.halt();
      this.pausedAtS = positionS;
      const mediaS = mediaOf(current, positionS);
      this.resumePoint = { seg: current, positionS, mediaS, ended: false };
      this.mediaFloorS = Math.max(this.mediaFloorS, mediaS);
      this.logger.debug({ positionS }, 'paused');
      return positionS;
    }
    const position = this.positionIn(current, this.clock.monotonicMs());
    const at = this.segments.findIndex((s, i) => {
      const from = i === 0 ? position : s.startS;
      return s.scale > 0
        ? atS >= from - EPSILON_S && atS <= s.endS + EPSILON_S
        : atS <= from + EPSILON_S && atS >= s.endS - EPSILON_S;
    });
    if (at < 0) throw new RangeError(`pause point ${atS} is outside the pending ranges`);
    const seg = this.segments[at]!;
    seg.endS = atS;
    seg.pauseAtEnd = true;
    this.segments.length = at + 1;
    const kept = new Set(this.segments);
    this.dropQueued((q) => !kept.has(q.seg) || (q.seg === seg && this.beyondEnd(seg, q.info)));
    this.arm(this.clock.monotonicMs());
    return atS;
  }

  /** TEARDOWN: stops the timer and the reads. Does not close the file. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.halt();
    this.stopped = true;
  }

  // ---- planning ----

  private resolveScale(scale: number): number {
    if (!Number.isFinite(scale) || scale === 0) throw new RangeError(`invalid scale ${scale}`);
    if (!this.hasVideo) return 1;
    const sign = Math.sign(scale);
    return sign * Math.min(VOD_MAX_SCALE, Math.max(VOD_MIN_SCALE, Math.abs(scale)));
  }

  private clampTime(s: number): number {
    return Math.min(this.file.durationS, Math.max(0, s));
  }

  /** The tracks a mode plays: audio only at scale 1. */
  private activeTracks(scale: number): SessionTrack[] {
    return scale === 1 ? this.tracks : this.tracks.filter((t) => t.video);
  }

  /** A range that starts by seeking: the keyframe at or before `requestedS`. */
  private plan(
    requestedS: number,
    requestedEndS: number | undefined,
    scale: number,
    speed: number,
    mediaOrigin: number,
  ): Segment {
    let startS = this.clampTime(requestedS);
    let endS =
      requestedEndS === undefined ? (scale > 0 ? this.file.durationS : 0) : this.clampTime(requestedEndS);
    if (scale < 0 && requestedEndS !== undefined && endS > startS) [startS, endS] = [endS, startS];
    if (scale > 0 && endS < startS)
      throw new RangeError(`range end ${requestedEndS} is before its start ${requestedS}`);
    const mode = modeOf(scale);
    const active = this.activeTracks(scale);
    const runs: Run[] = [];
    if (mode === 'normal') {
      const videos = active.filter((t) => t.video);
      let actual = startS;
      if (startS >= this.file.durationS - EPSILON_S && this.file.durationS > 0) {
        // At or past the end (a seek past it is clamped there): an empty range, answered 200, which
        // ends at once, so the reader gets RTCP BYE rather than the last GOP to decode and discard.
        actual = this.file.durationS;
        for (const st of active) runs.push({ st, next: st.mp4.samples.count, lastPtsS: undefined });
      } else if (startS <= EPSILON_S) {
        // The priming rule: see "Timeline" in the module comment.
        actual = 0;
        for (const st of active) {
          const next = isPresentedInDecodeOrder(st.mp4) ? firstSampleEndingAfter(st.mp4.samples, 0) : 0;
          runs.push({ st, next, lastPtsS: undefined });
        }
      } else {
        const keys = new Map<SessionTrack, number>();
        if (videos.length > 0) actual = Infinity;
        for (const st of videos) {
          const t = st.mp4.samples;
          let k = keyframeAtOrBeforeTicks(t, secondsToTicks(startS, st.mp4.timescale));
          if (k < 0) k = t.keyframes[0] ?? 0;
          keys.set(st, k);
          actual = Math.min(actual, ptsOf(t, k) / st.mp4.timescale);
        }
        for (const st of active) {
          const next =
            keys.get(st) ??
            Math.max(0, sampleAtTicks(st.mp4.samples, secondsToTicks(actual, st.mp4.timescale)));
          runs.push({ st, next, lastPtsS: undefined });
        }
      }
      startS = actual;
    } else {
      let actual = Infinity;
      for (const st of active) {
        const t = st.mp4.samples;
        let k = keyframeAtOrBeforeTicks(t, secondsToTicks(startS, st.mp4.timescale));
        if (k < 0) k = t.keyframes[0] ?? 0;
        const pos = Math.max(0, lowerBound(t.keyframes, k));
        runs.push({ st, next: pos, lastPtsS: undefined });
        actual = Math.min(actual, ptsOf(t, t.keyframes[pos] ?? 0) / st.mp4.timescale);
      }
      if (Number.isFinite(actual)) startS = actual;
    }
    if (scale > 0 ? endS < startS : endS > startS) endS = startS;
    return this.segment(startS, endS, scale, speed, mode, startS, mediaOrigin, runs);
  }

  /** A range that goes on from the resume point with the same timestamps (same scale). */
  private continuation(rp: ResumePoint, requestedEndS: number | undefined, speed: number): Segment {
    const old = rp.seg;
    const fileEnd = old.scale > 0 ? this.file.durationS : 0;
    let endS =
      requestedEndS === undefined ? (rp.ended ? fileEnd : old.requestedEndS) : this.clampTime(requestedEndS);
    if (old.scale > 0 ? endS < rp.positionS : endS > rp.positionS)
      throw new RangeError(`range end ${requestedEndS} is behind the pause point ${rp.positionS}`);
    if (Math.abs(endS - rp.positionS) < EPSILON_S) endS = rp.positionS;
    const runs: Run[] = old.initial.map((r) => ({ st: r.st, ...(r.st.resume ?? r) }));
    return this.segment(rp.positionS, endS, old.scale, speed, old.mode, old.nptOrigin, old.mediaOrigin, runs);
  }

  private segment(
    startS: number,
    endS: number,
    scale: number,
    speed: number,
    mode: Mode,
    nptOrigin: number,
    mediaOrigin: number,
    runs: Run[],
  ): Segment {
    return {
      startS,
      endS,
      requestedEndS: endS,
      scale,
      speed,
      mode,
      nptOrigin,
      mediaOrigin,
      wallMs: 0,
      wallMediaS: 0,
      initial: runs.map((r) => ({ ...r })),
      runs: runs.map((r) => ({ ...r })),
      readDone: false,
      readError: undefined,
      pauseAtEnd: false,
      srPending: true,
      sentPackets: 0,
    };
  }

  private enqueue(startS: number, endS: number | undefined, scale: number, speed: number): VodPlayResult {
    const last = this.segments[this.segments.length - 1]!;
    const seg = this.plan(startS, endS, scale, speed, mediaOf(last, last.endS));
    this.segments.push(seg);
    this.fill();
    return this.describe(seg, true, false);
  }

  /** Makes `seg` the current range, its timeline anchored at `nowMs`. */
  private begin(seg: Segment, nowMs: number): void {
    seg.wallMs = nowMs;
    seg.wallMediaS = mediaOf(seg, seg.startS);
    for (const r of seg.runs) r.st.resume = { next: r.next, lastPtsS: r.lastPtsS };
    this.segments = [seg];
    this.resumePoint = undefined;
    this.logger.debug({ startS: seg.startS, endS: seg.endS, scale: seg.scale, speed: seg.speed }, 'playing');
    this.fill();
    this.arm(nowMs);
  }

  private describe(seg: Segment, queued: boolean, withSeq: boolean): VodPlayResult {
    const mediaS = mediaOf(seg, seg.startS);
    return {
      startS: seg.startS,
      endS: seg.endS,
      scale: seg.scale,
      speed: seg.speed,
      queued,
      rtpInfo: this.tracks.map((st) => {
        const info: VodRtpInfo = { track: st.index, rtptime: this.rtpTime(st, mediaS) };
        if (withSeq) info.seq = st.seq;
        return info;
      }),
    };
  }

  /** A liveness PLAY: what plays now, from the current position. */
  private describeNow(seg: Segment): VodPlayResult {
    const positionS = this.positionIn(seg, this.clock.monotonicMs());
    const mediaS = mediaOf(seg, positionS);
    return {
      startS: positionS,
      endS: seg.endS,
      scale: seg.scale,
      speed: seg.speed,
      queued: false,
      rtpInfo: this.tracks.map((st) => ({ track: st.index, seq: st.seq, rtptime: this.rtpTime(st, mediaS) })),
    };
  }

  private rtpTime(st: SessionTrack, mediaS: number): number {
    return mod32(st.timestampBase + Math.round(mediaS * st.clockRate));
  }

  private positionIn(seg: Segment, nowMs: number): number {
    const m = seg.wallMediaS + ((nowMs - seg.wallMs) / 1000) * seg.speed;
    const lo = mediaOf(seg, seg.startS);
    const hi = mediaOf(seg, seg.endS);
    return nptOf(seg, Math.min(hi, Math.max(lo, m)));
  }

  /** Stops playing now: timer, queue, ranges; reads in flight are discarded when they land. */
  private halt(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.segments = [];
    this.queue = [];
    this.queuedBytes = 0;
  }

  // ---- the cursor: which sample comes next in a range ----

  private beyondEnd(seg: Segment, info: Mp4SampleInfo): boolean {
    switch (seg.mode) {
      case 'normal':
        return info.dtsTicks / info.timescale >= seg.endS - EPSILON_S;
      case 'forward':
        return info.ptsTicks / info.timescale >= seg.endS - EPSILON_S;
      default:
        return info.ptsTicks / info.timescale < seg.endS - EPSILON_S;
    }
  }

  /** The next sample of a range, in sending order, or undefined at its end. */
  private nextSample(seg: Segment): Omit<Queued, 'data'> | undefined {
    let best: { run: Run; info: Mp4SampleInfo; dueM: number; ptsM: number; after: RunState } | undefined;
    for (const run of seg.runs) {
      const c = this.candidate(seg, run);
      if (c !== undefined && (best === undefined || c.dueM < best.dueM)) best = { run, ...c };
    }
    if (best === undefined) return undefined;
    best.run.next = best.after.next;
    best.run.lastPtsS = best.after.lastPtsS;
    return { seg, st: best.run.st, info: best.info, ptsM: best.ptsM, dueM: best.dueM, after: best.after };
  }

  private candidate(
    seg: Segment,
    run: Run,
  ): { info: Mp4SampleInfo; dueM: number; ptsM: number; after: RunState } | undefined {
    const mp4 = run.st.mp4;
    const t = mp4.samples;
    if (seg.mode === 'normal') {
      if (run.next >= t.count) return undefined;
      const info = sampleInfo(mp4, run.next);
      if (this.beyondEnd(seg, info)) return undefined;
      return {
        info,
        dueM: mediaOf(seg, info.dtsTicks / mp4.timescale),
        ptsM: mediaOf(seg, info.ptsTicks / mp4.timescale),
        after: { next: run.next + 1, lastPtsS: info.ptsTicks / mp4.timescale },
      };
    }
    const step = seg.mode === 'forward' ? 1 : -1;
    const gapS = Math.abs(seg.scale) * TRICK_FRAME_INTERVAL_S - EPSILON_S;
    for (let k = run.next; k >= 0 && k < t.keyframes.length; k += step) {
      const info = sampleInfo(mp4, t.keyframes[k]!);
      if (this.beyondEnd(seg, info)) return undefined;
      const ptsS = info.ptsTicks / mp4.timescale;
      if (run.lastPtsS !== undefined && (ptsS - run.lastPtsS) * step < gapS) continue;
      const m = mediaOf(seg, ptsS);
      return { info, dueM: m, ptsM: m, after: { next: k + step, lastPtsS: ptsS } };
    }
    return undefined;
  }

  // ---- pacing ----

  private tick(): void {
    if (this.stopped) return;
    try {
      const now = this.clock.monotonicMs();
      for (let seg = this.segments[0]; seg !== undefined; seg = this.segments[0]) {
        for (let q = this.queue[0]; q !== undefined && q.seg === seg; q = this.queue[0]) {
          const due = dueMs(seg, q.dueM);
          if (due > now) break;
          if (now - due > MAX_LAG_MS) {
            seg.wallMs += now - due;
            this.logger.warn(
              { lateMs: Math.round(now - due) },
              'player fell behind: wall-clock anchor moved',
            );
          }
          this.queue.shift();
          this.queuedBytes -= q.data.length;
          this.send(q);
        }
        if (this.queue[0]?.seg === seg || !seg.readDone) break;
        if (seg.readError !== undefined) {
          this.fail(seg.readError);
          return;
        }
        const endMs = dueMs(seg, mediaOf(seg, seg.endS));
        if (now < endMs) break;
        this.finish(seg, endMs);
        if (this.segments.length === 0) return;
      }
      this.senderReports(now);
      this.fill();
      this.arm(now);
    } catch (e) {
      this.fail(e);
    }
  }

  /** The current range reached its end on the timeline: the next one starts there, or ready. */
  private finish(seg: Segment, endMs: number): void {
    const endM = mediaOf(seg, seg.endS);
    this.mediaFloorS = Math.max(this.mediaFloorS, endM);
    this.segments.shift();
    const next = this.segments[0];
    if (next !== undefined) {
      next.wallMs = endMs;
      next.wallMediaS = mediaOf(next, next.startS);
      // Rewind the resume points to the range's start: its read-ahead is not sent yet.
      for (const r of next.initial) r.st.resume = { next: r.next, lastPtsS: r.lastPtsS };
      this.logger.debug({ startS: next.startS, endS: next.endS, scale: next.scale }, 'next range');
      return;
    }
    this.halt();
    this.pausedAtS = seg.endS;
    this.resumePoint = { seg, positionS: seg.endS, mediaS: endM, ended: !seg.pauseAtEnd };
    const reason = seg.pauseAtEnd ? 'pause' : 'end';
    this.logger.debug({ positionS: seg.endS, reason }, 'range ended');
    this.onEnd?.({ reason, positionS: seg.endS });
  }

  /** Sets the one pacing timer: for the head sample or the range's end, at most maxWaitMs away. */
  private arm(nowMs: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const seg = this.segments[0];
    if (this.stopped || seg === undefined) return;
    const head = this.queue[0];
    let at: number | undefined;
    if (head !== undefined && head.seg === seg) at = dueMs(seg, head.dueM);
    else if (seg.readError !== undefined) at = nowMs;
    else if (seg.readDone) at = dueMs(seg, mediaOf(seg, seg.endS));
    const waitMs = at === undefined ? this.maxWaitMs : Math.min(this.maxWaitMs, Math.max(0, at - nowMs));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick();
    }, Math.ceil(waitMs));
  }

  private send(q: Queued): void {
    const st = q.st;
    st.resume = q.after;
    this.mediaFloorS = Math.max(
      this.mediaFloorS,
      q.ptsM + q.info.durationTicks / q.info.timescale / Math.abs(q.seg.scale),
    );
    let au: AccessUnit;
    try {
      au = st.rtp.accessUnit(q.data, Math.round(q.ptsM * st.clockRate));
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      this.badSamples++;
      if (this.badSamples <= MAX_SAMPLE_WARNINGS)
        this.logger.warn(
          { trackId: q.info.trackId, sample: q.info.index, err: e.message, skipped: this.badSamples },
          'malformed sample skipped',
        );
      return;
    }
    const packets = rtpPackets(
      st.packetizer,
      au,
      st.rtp.published.payloadType,
      st.seq,
      st.timestampBase,
      st.ssrc,
    );
    st.seq = (st.seq + packets.length) & 0xffff;
    st.packets += packets.length;
    q.seg.sentPackets += packets.length;
    for (const p of packets) {
      st.octets += p.length - RTP_HEADER_BYTES;
      this.sink.sendRtp(st.index, p);
    }
  }

  /** RFC 3550 §6.4.1: NTP now, RTP time of the timeline now; after a range's first packets, then periodically. */
  private senderReports(nowMs: number): void {
    const seg = this.segments[0];
    if (seg === undefined || seg.sentPackets === 0) return;
    if (!seg.srPending && nowMs < this.nextSrMs) return;
    seg.srPending = false;
    this.nextSrMs = nowMs + this.srIntervalMs;
    // The timeline's position and the NTP time are read together: `nowMs` is the tick's start, and
    // sending its packets can take tens of ms on a loaded machine. Reports of one track made in one tick
    // and of another in a later one (a track with no packet sent yet waits for the next) would otherwise
    // place the tracks that far apart (seen: 52 ms under a CPU hog).
    const monoMs = this.clock.monotonicMs();
    const wallMs = this.clock.wallMs();
    const mediaS = Math.min(
      mediaOf(seg, seg.endS),
      seg.wallMediaS + ((monoMs - seg.wallMs) / 1000) * seg.speed,
    );
    for (const st of this.activeTracks(seg.scale)) {
      if (st.packets === 0) continue;
      const sr = senderReportFor({
        ssrc: st.ssrc,
        clockRate: st.clockRate,
        lastRtpTimestamp: this.rtpTime(st, mediaS),
        lastWallMs: wallMs,
        nowMs: wallMs,
        packetCount: st.packets,
        octetCount: st.octets,
      });
      const sdes = {
        type: 'sdes' as const,
        chunks: [{ ssrc: st.ssrc, items: [{ type: 1, text: this.cname }] }],
      };
      this.sink.sendRtcp(st.index, serializeRtcpCompound([sr, sdes]));
    }
  }

  // ---- read-ahead ----

  /** A method, so that the checks after an await are not narrowed away. */
  private isLive(seg: Segment): boolean {
    return !this.stopped && this.segments.includes(seg);
  }

  private wantsMore(): boolean {
    const queued = this.queue.length;
    return queued === 0 || (queued < READ_AHEAD_SAMPLES && this.queuedBytes < READ_AHEAD_BYTES);
  }

  private dropQueued(drop: (q: Queued) => boolean): void {
    this.queue = this.queue.filter((q) => {
      if (!drop(q)) return true;
      this.queuedBytes -= q.data.length;
      return false;
    });
  }

  /** Starts an asynchronous read-ahead unless one runs, the queue is full or nothing is left. */
  private fill(): void {
    if (this.reading !== undefined || this.stopped || !this.wantsMore()) return;
    if (!this.segments.some((s) => !s.readDone)) return;
    const p = this.readAhead()
      .catch((e: unknown) => {
        this.fail(e);
      })
      .finally(() => {
        if (this.reading === p) this.reading = undefined;
      });
    this.reading = p;
  }

  private async readAhead(): Promise<void> {
    while (!this.stopped && this.wantsMore()) {
      const seg = this.segments.find((s) => !s.readDone);
      if (seg === undefined) return;
      const next = this.nextSample(seg);
      if (next === undefined) {
        seg.readDone = true;
        continue;
      }
      if (next.info.size === 0) continue;
      let data: Buffer;
      try {
        data = await this.file.reader.readSample(next.st.mp4, next.info.index);
      } catch (e) {
        // The samples read before it are still sent (tick fails the range once they are out).
        if (this.isLive(seg)) {
          seg.readError = e;
          seg.readDone = true;
          return;
        }
        continue; // the range is gone (paused, stopped): its failure does not matter
      }
      // Paused, sought or stopped during the read: the sample belongs to a range that is gone.
      if (!this.isLive(seg) || this.beyondEnd(seg, next.info)) continue;
      this.queue.push({ ...next, data });
      this.queuedBytes += data.length;
    }
  }

  private fail(e: unknown): void {
    if (this.stopped) return;
    const error = e instanceof Error ? e : new Error(String(e));
    const positionS = this.positionS;
    this.logger.error({ err: errorMessage(e), positionS }, 'vod player failed: playing stops');
    this.halt();
    this.pausedAtS = positionS;
    this.resumePoint = undefined;
    this.onEnd?.({ reason: 'error', positionS, error });
  }
}

/** Every sample a sync sample (audio; a track without stss): presentation order is decode order. */
function isPresentedInDecodeOrder(t: Mp4Track): boolean {
  return t.samples.keyframes.length === t.samples.count;
}

function resolveSpeed(speed: number): number {
  if (!Number.isFinite(speed) || speed <= 0) throw new RangeError(`invalid speed ${speed}`);
  return Math.min(VOD_MAX_SPEED, Math.max(VOD_MIN_SPEED, speed));
}

/** Seconds to ticks, rounding down but forgiving binary floating-point error. */
function secondsToTicks(seconds: number, timescale: number): number {
  return Math.floor(seconds * timescale + 1e-6);
}

/** First position in a sorted array whose value is >= x. */
function lowerBound(values: Uint32Array, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
