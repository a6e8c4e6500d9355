/**
 * Range planning for VOD (RFC 2326 §10.5, §10.6): where a PLAY range starts on each track, how a
 * resumed range goes on, and where a PAUSE at a point lands among the pending ranges.
 *
 * Ranges. Forward, a range [start, end) starts at the keyframe at or before `start` (the earliest
 * one over the video tracks; audio from the sample presented then) and that actual start is
 * reported; a track stops at its first sample decoded at or after `end` (vod-scale.ts, the cursor).
 * With B-frames the last references may present a little after the end. Backward (negative
 * scale), a range goes from its later bound down to its earlier one (either order accepted; an
 * absent end means 0). Times are clamped to [0, duration]; an end before the start throws
 * RangeError. A range ends when the timeline reaches M(end), so queued ranges follow each other
 * exactly (§10.5), not when its last packet is sent.
 *
 * The priming rule. An edit list may leave samples before npt 0 that the decoder needs but a player
 * must not present (AAC's priming frame, 1024 samples; Opus's pre-skip, 312; B-frame delay shows as
 * negative decode times only). RTP has no "decode but discard" mark (RFC 3550 §5.1 gives a packet one
 * timestamp and nothing else), so: an audio sample presented entirely before the start of a range is
 * not sent (AAC's priming frame at npt 0; the decoder then starts cold, a 21 ms fade-in, as a player
 * joining a live stream does); a sample that straddles the start (Opus's first frame, or the audio
 * frame under a seek point) is sent at its true timestamp, a few ms before the Range start, so that
 * what it decodes to stays in sync; video starts at its keyframe, whose frames are all needed.
 */
import type { Mp4Track } from '../container/mp4/reader.js';
import {
  firstSampleEndingAfter,
  keyframeAtOrBeforeTicks,
  ptsOf,
  sampleAtTicks,
} from '../container/mp4/sample-table.js';
import { activeTracks, modeOf } from './vod-scale.js';
import {
  EPSILON_S,
  newSegment,
  type ResumePoint,
  type Run,
  type Segment,
  type SessionTrack,
} from './vod-segment.js';

/** What planning needs of the player: the file's duration and the session's tracks. */
export interface PlanContext {
  readonly durationS: number;
  readonly tracks: SessionTrack[];
}

/** A time clamped to the file: [0, duration]. */
export function clampTime(ctx: PlanContext, s: number): number {
  return Math.min(ctx.durationS, Math.max(0, s));
}

/** A range that starts by seeking: the keyframe at or before `requestedS`. */
export function planRange(
  ctx: PlanContext,
  requestedS: number,
  requestedEndS: number | undefined,
  scale: number,
  speed: number,
  mediaOrigin: number,
): Segment {
  const durationS = ctx.durationS;
  let startS = clampTime(ctx, requestedS);
  let endS = requestedEndS === undefined ? (scale > 0 ? durationS : 0) : clampTime(ctx, requestedEndS);
  if (scale < 0 && requestedEndS !== undefined && endS > startS) [startS, endS] = [endS, startS];
  if (scale > 0 && endS < startS)
    throw new RangeError(`range end ${requestedEndS} is before its start ${requestedS}`);
  const mode = modeOf(scale);
  const active = activeTracks(ctx.tracks, scale);
  const runs: Run[] = [];
  if (mode === 'normal') {
    const videos = active.filter((t) => t.video);
    let actual = startS;
    if (startS >= durationS - EPSILON_S && durationS > 0) {
      // At or past the end (a seek past it is clamped there): an empty range, answered 200, which
      // ends at once, so the reader gets RTCP BYE rather than the last GOP to decode and discard.
      actual = durationS;
      for (const st of active) runs.push({ st, next: st.mp4.samples.count, lastPtsS: undefined });
    } else if (startS <= EPSILON_S) {
      // The priming rule: see the module comment.
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
  return newSegment(startS, endS, scale, speed, mode, startS, mediaOrigin, runs);
}

/** A range that goes on from the resume point with the same timestamps (same scale). */
export function continueRange(
  ctx: PlanContext,
  rp: ResumePoint,
  requestedEndS: number | undefined,
  speed: number,
): Segment {
  const old = rp.seg;
  const fileEnd = old.scale > 0 ? ctx.durationS : 0;
  let endS =
    requestedEndS === undefined ? (rp.ended ? fileEnd : old.requestedEndS) : clampTime(ctx, requestedEndS);
  if (old.scale > 0 ? endS < rp.positionS : endS > rp.positionS)
    throw new RangeError(`range end ${requestedEndS} is behind the pause point ${rp.positionS}`);
  if (Math.abs(endS - rp.positionS) < EPSILON_S) endS = rp.positionS;
  const runs: Run[] = old.initial.map((r) => ({ st: r.st, ...(r.st.resume ?? r) }));
  return newSegment(rp.positionS, endS, old.scale, speed, old.mode, old.nptOrigin, old.mediaOrigin, runs);
}

/**
 * PAUSE at a point (§10.6): the index of the pending range (the current one from `positionS`,
 * then the queued ones) that contains `atS`, or -1 when none does (457).
 */
export function rangeContaining(segments: readonly Segment[], positionS: number, atS: number): number {
  return segments.findIndex((s, i) => {
    const from = i === 0 ? positionS : s.startS;
    return s.scale > 0
      ? atS >= from - EPSILON_S && atS <= s.endS + EPSILON_S
      : atS <= from + EPSILON_S && atS >= s.endS - EPSILON_S;
  });
}

/** Every sample a sync sample (audio; a track without stss): presentation order is decode order. */
function isPresentedInDecodeOrder(t: Mp4Track): boolean {
  return t.samples.keyframes.length === t.samples.count;
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
