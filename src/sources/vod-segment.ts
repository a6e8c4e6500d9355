/**
 * The VOD session's timeline model: its set-up tracks, the PLAY ranges (segments) on the session's
 * media time, the samples read ahead, and the linear maps between the three clocks.
 *
 * Three clocks meet here: npt (the file's presentation time, seconds), the session's MEDIA time M
 * (seconds; RTP time of track i = base_i + M * clockRate_i, random base_i per track), and the wall
 * (monotonic) clock that paces. Each PLAY range is a SEGMENT with two linear maps:
 *
 *   M(npt)  = mediaOrigin + (npt - nptOrigin) / scale
 *   due(M)  = wallMs + (M - wallMediaS) / speed          (in ms: * 1000)
 *
 * M never goes back and never jumps (see vod-player.ts): a new range starts at the media time where
 * the previous one stopped, or after the end of everything already sent if that is later.
 */
import type { Mp4SampleInfo, Mp4Track } from '../container/mp4/reader.js';
import type { Packetizer } from '../format/access-unit.js';
import type { Mp4RtpTrack } from './mp4-rtp.js';
import type { FramesOption } from '../rtsp/onvif.js';

/** Times within this of each other are equal (floating-point seconds vs integer ticks). */
export const EPSILON_S = 1e-6;

/** One set-up track of the session. */
export interface SessionTrack {
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
  /** The RTP timestamp of the last media packet sent (vod-rtp.ts: the lead-out packets repeat it). */
  lastMediaTimestamp: number | undefined;
  /** Where a continuation of the current run starts: the run state after the last sent sample. */
  resume: RunState | undefined;
}

/** How far a track's run has gone: the next candidate and the pts (s) of the last one taken. */
export interface RunState {
  /** Normal play: next sample index. Trick play: next position in `samples.keyframes`. */
  next: number;
  lastPtsS: number | undefined;
}

export interface Run extends RunState {
  readonly st: SessionTrack;
}

export type Mode = 'normal' | 'forward' | 'backward';

/** One PLAY range on the session timeline (see the module comment for the maps). */
export interface Segment {
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
  /** Tracks that sent a packet in this range, and those whose first report of the range went out. */
  readonly startedTracks: Set<number>;
  readonly reportedTracks: Set<number>;
  /** Which video frames the range sends (ONVIF `Frames`, vod-scale.ts); all when absent. */
  frames?: FramesOption | undefined;
}

/** A sample read ahead, waiting for its due time. */
export interface Queued {
  seg: Segment;
  st: SessionTrack;
  info: Mp4SampleInfo;
  data: Buffer;
  /** Media time of the sample's pts, and of its due time (dts in normal play). */
  ptsM: number;
  dueM: number;
  after: RunState;
  /** The last sample of its track in its range (the cursor found none after it). */
  last?: boolean;
}

/** Where a later PLAY without Range resumes. */
export interface ResumePoint {
  seg: Segment;
  positionS: number;
  mediaS: number;
  /** The range ended (rather than being paused): resuming goes on to the end of the file. */
  ended: boolean;
}

export function mediaOf(seg: Segment, nptS: number): number {
  return seg.mediaOrigin + (nptS - seg.nptOrigin) / seg.scale;
}

export function nptOf(seg: Segment, mediaS: number): number {
  return seg.nptOrigin + (mediaS - seg.mediaOrigin) * seg.scale;
}

export function dueMs(seg: Segment, mediaS: number): number {
  return seg.wallMs + ((mediaS - seg.wallMediaS) / seg.speed) * 1000;
}

/** The npt reached at `nowMs` on the segment's timeline, within its bounds. */
export function positionIn(seg: Segment, nowMs: number): number {
  const m = seg.wallMediaS + ((nowMs - seg.wallMs) / 1000) * seg.speed;
  const lo = mediaOf(seg, seg.startS);
  const hi = mediaOf(seg, seg.endS);
  return nptOf(seg, Math.min(hi, Math.max(lo, m)));
}

/** A new segment, not yet anchored to the wall clock (`begin` in the player does that). */
export function newSegment(
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
    startedTracks: new Set(),
    reportedTracks: new Set(),
  };
}
