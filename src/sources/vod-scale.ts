/**
 * Scale, Speed and trick play for VOD: what a PLAY's Scale and Speed become, and which samples a
 * range sends in each mode (the range's cursor).
 *
 * Scale (RFC 2326 §12.34: "a ratio of 2 has normal play time increase at twice the wallclock rate";
 * the data rate "SHOULD not be changed"; "for video, a server may ... deliver only key frames"):
 * - 1: every sample of every set-up track.
 * - > 1 or < 0 (fast forward, reverse): video keyframes only, each at least |scale| * 0.2 s of npt
 *   after the previous one (at most 5 frames per second of wall time), forward from or backward
 *   from the keyframe at or before the start. Timestamps follow M, i.e. they advance with the
 *   wall clock (npt / scale), so the client presents the frames at the pace they are sent.
 * - between 0 and 1 (slow motion): every video frame, timestamps stretched by 1 / scale.
 * - audio is not sent when the scale is not 1 (nothing to time-stretch it with).
 * Scales are clamped to ±[1/8, 8]; a session without video plays at scale 1. 0 is invalid
 * (RangeError: the server answers 400 / 457).
 *
 * Speed (§12.35) divides the wall time only: delivery `speed` times faster (or slower), timestamps
 * unchanged. Clamped to [1/8, 8].
 *
 * Frames (ONVIF Streaming §6.6, a range's `frames`) thins the video of any range: `intra` sends
 * keyframes only (with `intra/<ms>`, each at least that many ms of npt after the previous one taken),
 * `predicted` leaves out B-frames (samples presented before a sample decoded earlier, which nothing
 * references in the streams recorded here). Audio is not thinned.
 *
 * The cursor. Normal play sends every sample by decode time, the earliest over the tracks first;
 * a track stops at its first sample decoded at or after the end (a frame presented exactly at the
 * end is not sent, §10.6). Trick play walks `samples.keyframes` by presentation time, forward or
 * backward, skipping keyframes closer than the trick interval to the last one taken.
 */
import type { Mp4SampleInfo, Mp4Track } from '../container/mp4/reader.js';
import { sampleInfo } from '../container/mp4/reader.js';
import {
  EPSILON_S,
  mediaOf,
  type Mode,
  type Queued,
  type Run,
  type RunState,
  type Segment,
  type SessionTrack,
} from './vod-segment.js';

/** Scale and Speed limits (absolute values). */
export const VOD_MAX_SCALE = 8;
export const VOD_MIN_SCALE = 1 / 8;
export const VOD_MAX_SPEED = 8;
export const VOD_MIN_SPEED = 1 / 8;
/** Trick play: keyframes at least this far apart in wall time (npt: times |scale|). */
const TRICK_FRAME_INTERVAL_S = 0.2;

/** The scale a PLAY gets: clamped, 1 without video. Throws RangeError for 0 or a non-finite one. */
export function resolveScale(scale: number, hasVideo: boolean): number {
  if (!Number.isFinite(scale) || scale === 0) throw new RangeError(`invalid scale ${scale}`);
  if (!hasVideo) return 1;
  const sign = Math.sign(scale);
  return sign * Math.min(VOD_MAX_SCALE, Math.max(VOD_MIN_SCALE, Math.abs(scale)));
}

/** The speed a PLAY gets: clamped. Throws RangeError for a non-positive or non-finite one. */
export function resolveSpeed(speed: number, maxSpeed = VOD_MAX_SPEED): number {
  if (!Number.isFinite(speed) || speed <= 0) throw new RangeError(`invalid speed ${speed}`);
  return Math.min(maxSpeed, Math.max(VOD_MIN_SPEED, speed));
}

export function modeOf(scale: number): Mode {
  return scale < 0 ? 'backward' : scale > 1 ? 'forward' : 'normal';
}

/** The tracks a mode plays: audio only at scale 1. */
export function activeTracks(tracks: SessionTrack[], scale: number): SessionTrack[] {
  return scale === 1 ? tracks : tracks.filter((t) => t.video);
}

/** Whether a sample lies past the end of the range, in the range's direction and time base. */
export function beyondEnd(seg: Segment, info: Mp4SampleInfo): boolean {
  switch (seg.mode) {
    case 'normal':
      return info.dtsTicks / info.timescale >= seg.endS - EPSILON_S;
    case 'forward':
      return info.ptsTicks / info.timescale >= seg.endS - EPSILON_S;
    default:
      return info.ptsTicks / info.timescale < seg.endS - EPSILON_S;
  }
}

/** The next sample of a range, in sending order, or undefined at its end; advances its run. */
export function nextSample(seg: Segment): Omit<Queued, 'data'> | undefined {
  let best: { run: Run; info: Mp4SampleInfo; dueM: number; ptsM: number; after: RunState } | undefined;
  for (const run of seg.runs) {
    const c = candidate(seg, run);
    if (c !== undefined && (best === undefined || c.dueM < best.dueM)) best = { run, ...c };
  }
  if (best === undefined) return undefined;
  best.run.next = best.after.next;
  best.run.lastPtsS = best.after.lastPtsS;
  const last = candidate(seg, best.run) === undefined;
  return { seg, st: best.run.st, info: best.info, ptsM: best.ptsM, dueM: best.dueM, after: best.after, last };
}

/**
 * Whether a sample is presented before a sample decoded earlier in its GOP (back to the keyframe):
 * a B-frame (with B-pyramids a referenced one too; `predicted` drops both, as nothing but B-frames
 * refers to them).
 */
function isBFrame(mp4: Mp4Track, index: number, info: Mp4SampleInfo): boolean {
  for (let k = index - 1; k >= 0; k--) {
    const earlier = sampleInfo(mp4, k);
    if (earlier.ptsTicks > info.ptsTicks) return true;
    if (earlier.keyframe) return false;
  }
  return false;
}

/** Whether `Frames` leaves a video sample of normal play out (see the module comment). */
function framesSkip(seg: Segment, run: Run, index: number, info: Mp4SampleInfo): boolean {
  const frames = seg.frames;
  if (frames === undefined || frames.mode === 'all' || !run.st.video) return false;
  if (frames.mode === 'predicted') return isBFrame(run.st.mp4, index, info);
  if (!info.keyframe) return true;
  const ptsS = info.ptsTicks / info.timescale;
  return (
    frames.intervalMs !== undefined &&
    run.lastPtsS !== undefined &&
    ptsS - run.lastPtsS < frames.intervalMs / 1000 - EPSILON_S
  );
}

function candidate(
  seg: Segment,
  run: Run,
): { info: Mp4SampleInfo; dueM: number; ptsM: number; after: RunState } | undefined {
  const mp4 = run.st.mp4;
  const t = mp4.samples;
  if (seg.mode === 'normal') {
    for (let i = run.next; i < t.count; i++) {
      const info = sampleInfo(mp4, i);
      if (beyondEnd(seg, info)) return undefined;
      if (framesSkip(seg, run, i, info)) continue;
      return {
        info,
        dueM: mediaOf(seg, info.dtsTicks / mp4.timescale),
        ptsM: mediaOf(seg, info.ptsTicks / mp4.timescale),
        after: { next: i + 1, lastPtsS: info.ptsTicks / mp4.timescale },
      };
    }
    return undefined;
  }
  const step = seg.mode === 'forward' ? 1 : -1;
  const intervalS = seg.frames?.mode === 'intra' ? (seg.frames.intervalMs ?? 0) / 1000 : 0;
  const gapS = Math.max(Math.abs(seg.scale) * TRICK_FRAME_INTERVAL_S, intervalS) - EPSILON_S;
  for (let k = run.next; k >= 0 && k < t.keyframes.length; k += step) {
    const info = sampleInfo(mp4, t.keyframes[k]!);
    if (beyondEnd(seg, info)) return undefined;
    const ptsS = info.ptsTicks / mp4.timescale;
    if (run.lastPtsS !== undefined && (ptsS - run.lastPtsS) * step < gapS) continue;
    const m = mediaOf(seg, ptsS);
    return { info, dueM: m, ptsM: m, after: { next: k + step, lastPtsS: ptsS } };
  }
  return undefined;
}
