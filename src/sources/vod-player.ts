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
 * Files (one concept each):
 * - vod-file.ts: VodFile, the MP4 opened once and shared by its players (DESCRIBE).
 * - vod-api.ts: the public types (PLAY request and result, sink, end, options, VodQueueFullError).
 * - vod-segment.ts: the timeline model (tracks, ranges as segments, the npt / media / wall maps).
 * - vod-plan.ts: range planning (§10.5, §10.6): seeks to keyframes, the priming rule, resumes,
 *   pause points among the queued ranges.
 * - vod-scale.ts: Scale, Speed and trick play, and the cursor that picks each range's next sample.
 * - vod-pacer.ts: sample scheduling: the read-ahead queue and the pacing timer (injected Clock).
 * - vod-rtp.ts: RTP of the session: SSRCs and bases, packetizing samples, sender reports.
 * - vod-player.ts (this file): VodPlayer, the facade the server drives: play, pause, stop and the
 *   queue of ranges; it re-exports what the server and tests import from here.
 *
 * ## Timeline and RTP timestamps
 *
 * The npt timeline is the file's presentation timeline: sample times come from the reader with the
 * edit list applied (ISO/IEC 14496-12 §8.6.6: initial empty edits delay a track, media_time drops
 * what precedes it), so npt 0 is where the file's presentation starts and a sample's RTP time is
 * base + M(its pts) * clockRate, as ffprobe reads the file. What is sent around npt 0 follows the
 * priming rule (vod-plan.ts). A negative npt (ffmpeg asks for `npt=0.-21-` when it saw a priming
 * frame) reads as 0, so nobody gets samples before 0 by asking (see rtsp/range.ts).
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
 * Errors. A read error (file truncated, replaced, closed) stops playing, logs, and calls onEnd
 * with reason 'error'; a malformed sample is skipped with a warning. Nothing throws out of a timer.
 */
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { ParseError } from '../base/errors.js';
import type { AccessUnit } from '../format/access-unit.js';
import type { FramesOption } from '../rtsp/onvif.js';
import {
  VOD_DEFAULT_CNAME,
  VOD_DEFAULT_MAX_TIMER_WAIT_MS,
  VOD_DEFAULT_SENDER_REPORT_INTERVAL_MS,
  VOD_MAX_SINK_BACKLOG_BYTES,
  VodQueueFullError,
  type VodEndInfo,
  type VodPacketSink,
  type VodPlayerOptions,
  type VodPlayRequest,
  type VodPlayResult,
  type VodRtpInfo,
  type VodSampleRef,
} from './vod-api.js';
import type { RtpHeaderExtension } from '../rtp/packet.js';
import type { VodFile } from './vod-file.js';
import { errorMessage } from './mp4-rtp.js';
import { PacingTimer, ReadAhead, wakeAtMs } from './vod-pacer.js';
import { clampTime, continueRange, planRange, rangeContaining, type PlanContext } from './vod-plan.js';
import {
  sampleAccessUnit,
  rtpTime,
  sendAccessUnit,
  sendLeadInPacket,
  sendLeadOutPacket,
  sendSenderReports,
  sessionTracks,
} from './vod-rtp.js';
import { activeTracks, beyondEnd, resolveScale, resolveSpeed } from './vod-scale.js';
import {
  dueMs,
  mediaOf,
  positionIn,
  type Queued,
  type ResumePoint,
  type Segment,
  type SessionTrack,
} from './vod-segment.js';

export { VodFile, type VodFileOptions } from './vod-file.js';
export {
  VodQueueFullError,
  type VodEndInfo,
  type VodPacketSink,
  type VodPlayerOptions,
  type VodPlayRequest,
  type VodPlayResult,
  type VodRtpInfo,
  type VodSampleRef,
} from './vod-api.js';
export { VOD_MAX_SCALE, VOD_MAX_SPEED, VOD_MIN_SCALE, VOD_MIN_SPEED } from './vod-scale.js';

/** Whether two `Frames` options thin the video alike (absent = all). */
function sameFramesOption(a: FramesOption | undefined, b: FramesOption | undefined): boolean {
  return a?.mode === b?.mode && a?.intervalMs === b?.intervalMs;
}

/** How often a player whose sink is full looks again (VodPacketSink.backlogBytes). */
const SINK_DRAIN_POLL_MS = 5;

/** Malformed samples warned about per player; the rest are counted only. */
const MAX_SAMPLE_WARNINGS = 10;

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
  private readonly hasVideo: boolean;
  private readonly planning: PlanContext;
  private readonly readAhead: ReadAhead;
  private readonly timer: PacingTimer;
  private readonly headerExtension: VodPlayerOptions['headerExtension'];
  private readonly leadInExtension: VodPlayerOptions['leadInExtension'];
  /** The tracks that have sent a sample in each range (for `headerExtension`'s firstOfRange). */

  /** The current range first, then the queued ones; empty when ready. */
  private segments: Segment[] = [];
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
    this.cname = options.cname ?? VOD_DEFAULT_CNAME;
    this.srIntervalMs = options.senderReportIntervalMs ?? VOD_DEFAULT_SENDER_REPORT_INTERVAL_MS;
    this.tracks = sessionTracks(file, options.tracks ?? file.tracks.map((_, i) => i), options.ssrcs);
    this.hasVideo = this.tracks.some((t) => t.video);
    this.headerExtension = options.headerExtension;
    this.leadInExtension = options.leadInExtension;
    this.planning = { durationS: file.durationS, tracks: this.tracks };
    this.readAhead = new ReadAhead(
      file.reader,
      {
        stopped: () => this.stopped,
        segments: () => this.segments,
        fail: (e) => {
          this.fail(e);
        },
      },
      this.logger,
    );
    this.timer = new PacingTimer(this.clock, options.maxTimerWaitMs ?? VOD_DEFAULT_MAX_TIMER_WAIT_MS, () => {
      this.tick();
    });
  }

  get state(): 'ready' | 'playing' {
    return this.segments.length > 0 ? 'playing' : 'ready';
  }

  /** The current npt: on the timeline while playing, the pause point when ready. */
  get positionS(): number {
    const seg = this.segments[0];
    if (seg === undefined) return this.pausedAtS;
    return positionIn(seg, this.clock.monotonicMs());
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

  /**
   * Whether a range started by PLAY opens with a lead-in packet per track (vod-rtp.ts
   * `sendLeadInPacket`; RTP-Info's seq names it). The server sets it before each PLAY.
   */
  leadIn = false;

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
    const scale = resolveScale(req.scale ?? 1, this.hasVideo);
    const speed = resolveSpeed(req.speed ?? 1, req.maxSpeed);
    const frames = req.frames?.mode === 'all' ? undefined : req.frames;
    for (const t of [req.startS, req.endS])
      if (t !== undefined && !Number.isFinite(t)) throw new RangeError(`invalid time ${t}`);

    const current = this.segments[0];
    if (current !== undefined) {
      if (req.startS !== undefined) {
        if (this.queuedRanges >= this.maxQueuedRanges) throw new VodQueueFullError(this.maxQueuedRanges);
        return this.enqueue(req.startS, req.endS, scale, speed, frames);
      }
      // The current end, unless the direction changes (then the file's end that way).
      const sameWay = Math.sign(scale) === Math.sign(current.scale);
      const endS =
        req.endS !== undefined
          ? clampTime(this.planning, req.endS)
          : sameWay
            ? current.requestedEndS
            : undefined;
      const sameFrames = sameFramesOption(frames, current.frames);
      if (scale === current.scale && speed === current.speed && endS === current.requestedEndS && sameFrames)
        return this.describeNow(current);
      // A new scale, speed or end from the current position; the queued ranges follow it.
      const later = this.segments.slice(1).map((s) => ({
        startS: s.startS,
        endS: s.requestedEndS,
        scale: s.scale,
        speed: s.speed,
        frames: s.frames,
      }));
      const pauseAtS = this.segments.find((s) => s.pauseAtEnd)?.endS;
      this.pause();
      const again: VodPlayRequest = { scale, speed, maxSpeed: speed };
      if (endS !== undefined) again.endS = endS;
      if (frames !== undefined) again.frames = frames;
      const result = this.play(again);
      for (const s of later) this.enqueue(s.startS, s.endS, s.scale, s.speed, s.frames);
      if (pauseAtS !== undefined) {
        try {
          this.pause(pauseAtS);
        } catch (e) {
          // RangeError: the new direction never reaches the pause point, which is dropped.
          if (!(e instanceof RangeError)) throw e;
        }
      }
      return result;
    }

    const now = this.clock.monotonicMs();
    let seg: Segment;
    const rp = this.resumePoint;
    if (
      req.startS === undefined &&
      rp !== undefined &&
      rp.seg.scale === scale &&
      sameFramesOption(frames, rp.seg.frames)
    ) {
      seg = continueRange(this.planning, rp, req.endS, speed);
    } else {
      const startS = req.startS ?? this.pausedAtS;
      const mediaS = Math.max(this.mediaFloorS, rp?.mediaS ?? 0);
      seg = planRange(this.planning, startS, req.endS, scale, speed, mediaS);
    }
    seg.frames = frames;
    const firstSeq = this.begin(seg, now);
    return this.describe(seg, false, firstSeq);
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
      const positionS = positionIn(current, now);
      this.halt();
      this.pausedAtS = positionS;
      const mediaS = mediaOf(current, positionS);
      this.resumePoint = { seg: current, positionS, mediaS, ended: false };
      this.mediaFloorS = Math.max(this.mediaFloorS, mediaS);
      this.logger.debug({ positionS }, 'paused');
      return positionS;
    }
    const position = positionIn(current, this.clock.monotonicMs());
    const at = rangeContaining(this.segments, position, atS);
    if (at < 0) throw new RangeError(`pause point ${atS} is outside the pending ranges`);
    const seg = this.segments[at]!;
    seg.endS = atS;
    seg.pauseAtEnd = true;
    this.segments.length = at + 1;
    const kept = new Set(this.segments);
    this.readAhead.drop((q) => !kept.has(q.seg) || (q.seg === seg && beyondEnd(seg, q.info)));
    this.arm(this.clock.monotonicMs());
    return atS;
  }

  /** TEARDOWN: stops the timer and the reads. Does not close the file. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.halt();
    this.stopped = true;
  }

  /**
   * Sends a lead-out packet per track of the last range (vod-rtp.ts `sendLeadOutPacket`) at the end
   * of what was played: the last RTP before the RTCP BYE of an ended unpaced replay. Does nothing
   * while playing, after stop, or before anything was played.
   */
  sendLeadOut(): void {
    const rp = this.resumePoint;
    if (this.stopped || this.state !== 'ready' || rp === undefined) return;
    for (const st of activeTracks(this.tracks, rp.seg.scale))
      sendLeadOutPacket(st, rp.mediaS, this.sink, this.leadInExtension?.(st.index, rp.positionS));
  }

  // ---- the queue of ranges (§10.5) ----

  private enqueue(
    startS: number,
    endS: number | undefined,
    scale: number,
    speed: number,
    frames: FramesOption | undefined,
  ): VodPlayResult {
    const last = this.segments[this.segments.length - 1]!;
    const seg = planRange(this.planning, startS, endS, scale, speed, mediaOf(last, last.endS));
    seg.frames = frames;
    this.segments.push(seg);
    this.readAhead.fill();
    return this.describe(seg, true);
  }

  /**
   * Makes `seg` the current range, its timeline anchored at `nowMs`; sends its lead-in packets when
   * asked. Returns each track's first sequence number of the range.
   */
  private begin(seg: Segment, nowMs: number): Map<number, number> {
    seg.wallMs = nowMs;
    seg.wallMediaS = mediaOf(seg, seg.startS);
    for (const r of seg.runs) r.st.resume = { next: r.next, lastPtsS: r.lastPtsS };
    const firstSeq = new Map(this.tracks.map((st) => [st.index, st.seq]));
    if (this.leadIn)
      for (const st of activeTracks(this.tracks, seg.scale))
        sendLeadInPacket(st, seg.wallMediaS, this.sink, this.leadInExtension?.(st.index, seg.startS));
    this.segments = [seg];
    this.resumePoint = undefined;
    this.logger.debug({ startS: seg.startS, endS: seg.endS, scale: seg.scale, speed: seg.speed }, 'playing');
    this.readAhead.fill();
    this.arm(nowMs);
    return firstSeq;
  }

  /** The reply of a PLAY; `firstSeq` (RTP-Info seq per track) for a range that starts now. */
  private describe(seg: Segment, queued: boolean, firstSeq?: Map<number, number>): VodPlayResult {
    const mediaS = mediaOf(seg, seg.startS);
    return {
      startS: seg.startS,
      endS: seg.endS,
      scale: seg.scale,
      speed: seg.speed,
      queued,
      rtpInfo: this.tracks.map((st) => {
        const info: VodRtpInfo = { track: st.index, rtptime: rtpTime(st, mediaS) };
        const seq = firstSeq?.get(st.index);
        if (seq !== undefined) info.seq = seq;
        return info;
      }),
    };
  }

  /** A liveness PLAY: what plays now, from the current position. */
  private describeNow(seg: Segment): VodPlayResult {
    const positionS = positionIn(seg, this.clock.monotonicMs());
    const mediaS = mediaOf(seg, positionS);
    return {
      startS: positionS,
      endS: seg.endS,
      scale: seg.scale,
      speed: seg.speed,
      queued: false,
      rtpInfo: this.tracks.map((st) => ({ track: st.index, seq: st.seq, rtptime: rtpTime(st, mediaS) })),
    };
  }

  /** Stops playing now: timer, queue, ranges; reads in flight are discarded when they land. */
  private halt(): void {
    this.timer.cancel();
    this.segments = [];
    this.readAhead.clear();
  }

  // ---- pacing (vod-pacer.ts holds the queue and the timer) ----

  private tick(): void {
    if (this.stopped) return;
    try {
      const now = this.clock.monotonicMs();
      let blocked = this.sinkBlocked();
      for (let seg = this.segments[0]; seg !== undefined && !blocked; seg = this.segments[0]) {
        for (
          let q = this.readAhead.takeDue(seg, now);
          q !== undefined;
          q = blocked ? undefined : this.readAhead.takeDue(seg, now)
        ) {
          this.send(q);
          blocked = this.sinkBlocked();
        }
        if (blocked || this.readAhead.head?.seg === seg || !seg.readDone) break;
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
      this.readAhead.fill();
      if (blocked && this.segments.length > 0) this.timer.arm(now + SINK_DRAIN_POLL_MS, now);
      else this.arm(now);
    } catch (e) {
      // Nothing throws out of a timer: any exception stops this player only.
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

  /** The sink holds more than it should: wait for the connection to take it (an export's pace). */
  private sinkBlocked(): boolean {
    return (this.sink.backlogBytes?.() ?? 0) > VOD_MAX_SINK_BACKLOG_BYTES;
  }

  /** Sets the one pacing timer: for the head sample or the range's end, at most maxWaitMs away. */
  private arm(nowMs: number): void {
    this.timer.cancel();
    const seg = this.segments[0];
    if (this.stopped || seg === undefined) return;
    this.timer.arm(wakeAtMs(seg, this.readAhead.head, nowMs), nowMs);
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
      au = sampleAccessUnit(st, q.data, q.ptsM);
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
    let extension: ((lastPacket: boolean) => RtpHeaderExtension | undefined) | undefined;
    const headerExtension = this.headerExtension;
    if (headerExtension !== undefined) {
      const sample: VodSampleRef = {
        track: st.index,
        sample: q.info.index,
        ptsS: q.info.ptsTicks / q.info.timescale,
        keyframe: q.info.keyframe,
        firstOfRange: !q.seg.startedTracks.has(st.index),
        lastOfRange: q.last === true && this.segments.at(-1) === q.seg,
      };
      extension = (lastPacket) => headerExtension(sample, lastPacket);
    }
    if (sendAccessUnit(st, au, this.sink, extension) > 0) q.seg.startedTracks.add(st.index);
  }

  /**
   * RFC 3550 §6.4.1: NTP now, RTP time of the timeline now; each track's first report of a range follows
   * its first packet of the range, then all tracks report periodically. A track's first report waits for
   * its own first packet, in whichever tick that is: tracks start in different ticks when one's first
   * sample is read later, and a report for all at the first packet would leave that track without one
   * for a whole interval (5 s by default; seen under load in a test).
   */
  private senderReports(nowMs: number): void {
    const seg = this.segments[0];
    if (seg === undefined || seg.startedTracks.size === 0) return;
    const active = activeTracks(this.tracks, seg.scale);
    const due =
      nowMs >= this.nextSrMs
        ? active
        : active.filter((st) => seg.startedTracks.has(st.index) && !seg.reportedTracks.has(st.index));
    if (due.length === 0) return;
    for (const st of due) if (seg.startedTracks.has(st.index)) seg.reportedTracks.add(st.index);
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
    sendSenderReports(due, mediaS, wallMs, this.cname, this.sink);
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
