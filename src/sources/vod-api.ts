/**
 * The VOD player's public types: what the RTSP server hands a VodPlayer (a PLAY's Range, Scale and
 * Speed; where packets go) and what it gets back (the RTP-Info and Range of the reply, the end of
 * playing). The model behind them is described in vod-player.ts.
 */
import type { Mp4Reader } from '../container/mp4/reader.js';
import type { FramesOption } from '../rtsp/onvif.js';
import type { RtpHeaderExtension } from '../rtp/packet.js';
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';

/** A PLAY with a range while `maxQueuedRanges` ranges already wait (the server answers 503). */
export class VodQueueFullError extends Error {
  constructor(readonly maxQueuedRanges: number) {
    super(`${maxQueuedRanges} PLAY ranges are queued already`);
    this.name = 'VodQueueFullError';
  }
}

/** Where a player's packets go, by set-up track index (`media.tracks` order). */
export interface VodPacketSink {
  sendRtp(track: number, packet: Buffer): void;
  sendRtcp(track: number, packet: Buffer): void;
  /**
   * Bytes written and not yet taken by the peer. Past VOD_MAX_SINK_BACKLOG_BYTES the player sends
   * nothing more until it drains: at high speeds (an export) the connection sets the pace.
   */
  backlogBytes?(): number;
}

/** See `VodPacketSink.backlogBytes`. */
export const VOD_MAX_SINK_BACKLOG_BYTES = 1024 * 1024;

/** One PLAY request: Range (npt seconds), Scale, Speed. Absent scale and speed mean 1. */
export interface VodPlayRequest {
  /** Absent: resume from the pause point (or, while playing, change scale/speed/end at once). */
  startS?: number;
  /** Absent: the end of the file (0 with a negative scale). */
  endS?: number;
  scale?: number;
  speed?: number;
  /** The highest speed granted (default VOD_MAX_SPEED; ONVIF `Rate-Control: no` asks for more). */
  maxSpeed?: number;
  /** Which video frames to send (ONVIF `Frames`); absent: all. Applies to the ranges this PLAY starts. */
  frames?: FramesOption;
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

/** Defaults of VodPlayerOptions. */
export const VOD_DEFAULT_CNAME = 'rtspkit';
export const VOD_DEFAULT_SENDER_REPORT_INTERVAL_MS = 5000;
export const VOD_DEFAULT_MAX_TIMER_WAIT_MS = 20;

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
  /**
   * An RTP header extension for each packet of a sample (ONVIF replay: its wall-clock time);
   * `lastPacket`: the sample's last packet (ONVIF's T bit goes there only).
   */
  headerExtension?: (sample: VodSampleRef, lastPacket: boolean) => RtpHeaderExtension | undefined;
  /**
   * The header extension of a range's lead-in packets (`VodPlayer.leadIn`), at its start (npt s),
   * and of the lead-out packets (`VodPlayer.sendLeadOut`), at the end of what was played.
   */
  leadInExtension?: (track: number, startS: number) => RtpHeaderExtension | undefined;
}

/** A sample about to be sent, as `headerExtension` sees it. */
export interface VodSampleRef {
  /** Track index in the file. */
  track: number;
  /** Sample index in the track's table. */
  sample: number;
  /** Its presentation time on the file's timeline (npt seconds). */
  ptsS: number;
  keyframe: boolean;
  /** The first sample sent of its PLAY range (after a seek: a discontinuity). */
  firstOfRange: boolean;
  /** The track's last sample of the last range queued (nothing follows unless another PLAY comes). */
  lastOfRange: boolean;
}

/** Where a player reads sample bytes: the file's Mp4Reader, or a recording's segments (recording-file.ts). */
export type VodSampleReader = Pick<Mp4Reader, 'readSample'>;
