/**
 * Files on demand, as the request handlers drive them (RFC 2326 §10.5-10.6, §12.29, §12.34-12.35):
 * opening a path's file, PLAY with Range, Scale and Speed, PAUSE at a point, stopping. The model
 * (timeline, planning, pacing) is the VodPlayer's (sources/vod-player.ts); this is the RTSP side of
 * it: headers read, statuses chosen, RTP-Info written, the session told what was done (whether the
 * request is valid in its state was asked at the gate, session-state.ts).
 */
import { isParseError } from '../base/errors.js';
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { RtspRequest } from '../rtsp/message.js';
import { serializeInterleaved } from '../rtsp/message.js';
import { clockInterval, unixMsToNtp } from '../base/clock.js';
import { serializeOnvifReplayExtension } from '../rtp/onvif-replay.js';
import {
  parseFrames,
  parseRateControl,
  serializeFrames,
  serializeRateControl,
  type FramesOption,
} from '../rtsp/onvif.js';
import { formatUtcTime, parseRange, type RangeSpec } from '../rtsp/range.js';
import { RtspStatus } from '../rtsp/status.js';
import type { RecordingTimeline } from '../sources/recording-timeline.js';
import { parseScale, parseSpeed } from '../rtsp/fields.js';
import { VodPlayer, VodQueueFullError, type VodFile, type VodPlayerOptions } from '../sources/vod-player.js';
import { RECORDING_KEY_PREFIX, requiresOnvifReplay, type RecordingPlayback } from './recording-playback.js';
import type { RequestTarget } from './target.js';
import type { RecordingIndexCache } from '../sources/recording-index-cache.js';
import type { Reply } from './connection.js';
import type { ServerSession } from './session.js';
import type { FileReaderRole } from './session-state.js';
import type { SessionLimits } from './session-limits.js';
import { isOnDemandPathName, type VodFiles } from './vod-files.js';
import type { ServerSettings } from './server-options.js';
import { sendBye } from './server-rtcp.js';
import { reply, sessionHeaders } from './replies.js';

export interface VodControlDeps {
  clock: Clock;
  logger: Logger;
  /** The media folder's files; undefined when no folder is served. */
  files: VodFiles | undefined;
  /** Read at each request (reloadable). */
  settings: Pick<
    ServerSettings,
    'serverName' | 'senderReportIntervalMs' | 'maxQueuedPlayRanges' | 'maxReplaySpeed'
  >;
  /** Counts and answers the 503 of a full PLAY queue. */
  sessionLimits: SessionLimits;
  /** Playback of recordings (recording-playback.ts); undefined when the server has no catalog. */
  recordings?: RecordingPlayback | undefined;
}

/**
 * The RTCP BYE at the end of an unpaced replay (`Rate-Control: no`) goes out no sooner than this
 * after its PLAY. rtspsrc (GStreamer 1.22) ends a stream at a BYE only once the stream's first
 * packet has left the jitter buffer (its default latency: 2 s); an export of a few seconds ends well
 * within that, and a reader would then wait for rtspsrc's BYE timeout. The lead-out packets around
 * that BYE (`endUnpacedReplay`) make its EOS come out of the jitter buffer at all.
 */
export const UNPACED_REPLAY_BYE_FLOOR_MS = 3000;
/** How often an ended unpaced replay sends a lead-out packet per track (`endUnpacedReplay`). */
export const UNPACED_REPLAY_LEAD_OUT_INTERVAL_MS = 500;
/**
 * How long lead-out packets go on after the BYE: rtspsrc 1.22 turned an ignored BYE into EOS ~4.3 s
 * later (its BYE timeout) and refuses packets after that EOS, so later ones would not help.
 */
export const UNPACED_REPLAY_LEAD_OUT_AFTER_BYE_MS = 5000;

export class VodControl {
  /** Sessions playing a recording with `Require: onvif-replay`: the CSeq of their latest PLAY. */
  private readonly replayCseq = new WeakMap<ServerSession, { cseq: number }>();
  /** Sessions whose latest PLAY is unpaced: no BYE before this time (monotonic ms). */
  private readonly byeNotBeforeMs = new WeakMap<ServerSession, number>();
  /** Sessions sending lead-out packets: the token of their latest end (`endUnpacedReplay`). */
  private readonly leadOutRound = new WeakMap<ServerSession, object>();

  constructor(private readonly deps: VodControlDeps) {}

  /** Whether a request plays recordings (the rule is in recording-playback.ts). */
  isPlayback(t: RequestTarget, req: RtspRequest): boolean {
    return this.deps.recordings?.isPlayback(t, req) === true;
  }

  /** The playbacks' shared index cache; undefined when no recordings are served. */
  get recordingIndexCache(): RecordingIndexCache | undefined {
    return this.deps.recordings?.indexCache;
  }

  /** Whether `Require: onvif-replay` is understood (a catalog is served). */
  get playsRecordings(): boolean {
    return this.deps.recordings !== undefined;
  }

  /** What a reader's URL names among files and recordings, opened (shared for files); else the status. */
  async openTarget(
    t: RequestTarget,
    req: RtspRequest,
  ): Promise<{ realPath: string; file: VodFile } | number> {
    if (this.deps.recordings !== undefined && this.isPlayback(t, req)) return this.deps.recordings.acquire(t);
    return (await this.openFile(t.path)) ?? RtspStatus.NotFound;
  }

  /** A path a publisher may not ANNOUNCE while files are served: it looks like a file's. */
  reservesPath(path: string): boolean {
    return this.deps.files !== undefined && isOnDemandPathName(path);
  }

  /** Gives back a file opened by openFile (it closes with its last user). */
  release(realPath: string): void {
    if (realPath.startsWith(RECORDING_KEY_PREFIX)) this.deps.recordings?.release(realPath);
    else this.deps.files?.release(realPath);
  }

  /** A file reader's session ended: its player stops and its file is released. */
  stop(role: FileReaderRole): void {
    role.player?.stop();
    this.release(role.realPath);
  }

  async closeAll(): Promise<void> {
    await this.deps.files?.closeAll();
    await this.deps.recordings?.closeAll();
  }

  /** The file a path names in the media folder, opened (shared); undefined when there is none. */
  async openFile(path: string): Promise<{ realPath: string; file: VodFile } | undefined> {
    if (this.deps.files === undefined) return undefined;
    const realPath = await this.deps.files.resolve(path);
    if (realPath === undefined) return undefined;
    try {
      return { realPath, file: await this.deps.files.acquire(realPath) };
    } catch (err) {
      this.deps.files.release(realPath);
      this.deps.logger.warn({ path, err: (err as Error).message }, 'media file not playable');
      return undefined;
    }
  }

  private playerOf(session: ServerSession, role: FileReaderRole): VodPlayer {
    if (role.player !== undefined) return role.player;
    const player = new VodPlayer(
      role.file,
      {
        sendRtp: (track, packet) => {
          const s = session.setups[track];
          if (s?.kind === 'tcp') session.writeInterleaved(serializeInterleaved(s.rtpChannel, packet), 1);
          else session.sendRtp(track, packet);
        },
        sendRtcp: (track, packet) => {
          session.sendRtcp(track, packet);
        },
        backlogBytes: () => session.backlogBytes,
      },
      {
        clock: this.deps.clock,
        logger: session.logger,
        tracks: session.tracks,
        ssrcs: session.ssrcs,
        cname: this.deps.settings.serverName,
        senderReportIntervalMs: this.deps.settings.senderReportIntervalMs,
        ...replayExtensionOption(role.file, this.replayCseq.get(session)),
      },
    );
    player.onEnd = ({ reason, positionS }) => {
      if (session.closed) return;
      session.transition('playback ended');
      session.logger.info({ reason, positionS }, 'playback paused by itself');
      // At the end of the file, readers are told with RTCP BYE (GStreamer then ends its stream); so
      // they are when the file cannot be read on (cut short after its moov): nothing more will come.
      if (reason !== 'end' && reason !== 'error') return;
      const byeNotBeforeMs = this.byeNotBeforeMs.get(session);
      if (byeNotBeforeMs === undefined) {
        sendBye(session);
        return;
      }
      this.endUnpacedReplay(session, player, byeNotBeforeMs);
    };
    role.player = player;
    return player;
  }

  /**
   * The end of an unpaced replay: a lead-out packet per track (vod-rtp.ts `sendLeadOutPacket`) every
   * UNPACED_REPLAY_LEAD_OUT_INTERVAL_MS from the end of the media, the RTCP BYE with the first round
   * at or after `byeNotBeforeMs`, then rounds on for UNPACED_REPLAY_LEAD_OUT_AFTER_BYE_MS. rtspsrc
   * needs one of them to arrive after its jitter buffer began to push (its latency after the first
   * packet, later on a loaded machine) and before the BYE's EOS reached it; it ignores a BYE that
   * came before its first packet left the buffer, ends the stream itself at its npt-stop estimate
   * once woken, and turns the BYE into EOS some seconds later all the same (its BYE timeout).
   * Packets after the BYE depart on purpose from RFC 3550 §6.1 (BYE SHOULD be the last packet sent
   * with its SSRC): the BYE cannot wait for a jitter buffer whose latency the server does not know
   * without delaying the end of every unpaced replay for the clients that end at the BYE (ffmpeg,
   * ours); these hold no payload, so a receiver that drops them, or that ended at the BYE and tore
   * down (the rounds stop with the session), loses nothing. Stops at the
   * bound, when the session closes, or at another PLAY (the player is then no longer `ready`; a
   * PLAY that ended again runs its own rounds, told apart by `leadOutRound`).
   */
  private endUnpacedReplay(session: ServerSession, player: VodPlayer, byeNotBeforeMs: number): void {
    const round = {};
    this.leadOutRound.set(session, round);
    let byeSentAtMs: number | undefined;
    const tick = (): boolean => {
      if (session.closed || player.state !== 'ready' || this.leadOutRound.get(session) !== round)
        return false;
      player.sendLeadOut();
      const nowMs = this.deps.clock.monotonicMs();
      if (byeSentAtMs === undefined && nowMs >= byeNotBeforeMs) {
        sendBye(session);
        byeSentAtMs = nowMs;
      }
      return byeSentAtMs === undefined || nowMs - byeSentAtMs < UNPACED_REPLAY_LEAD_OUT_AFTER_BYE_MS;
    };
    if (!tick()) return;
    const timer = clockInterval(
      this.deps.clock,
      () => {
        if (!tick()) timer.cancel();
      },
      UNPACED_REPLAY_LEAD_OUT_INTERVAL_MS,
      { unref: true },
    );
  }

  play(req: RtspRequest, session: ServerSession, role: FileReaderRole): Reply {
    let range: { startS?: number; endS?: number } = {};
    let scale: number | undefined;
    let speed: number | undefined;
    const recording = role.file.recording;
    let clockRange = false;
    try {
      const r = req.headers.get('Range');
      if (r !== undefined) {
        const spec = parseRange(r);
        clockRange = spec.unit === 'clock';
        range = recording !== undefined && clockRange ? recordingRange(spec, recording) : nptRange(spec);
      }
    } catch (e) {
      if (!isParseError(e) && !(e instanceof RangeError)) throw e; // RangeError: not npt
      return reply(RtspStatus.InvalidRange);
    }
    const onvif = recording !== undefined && requiresOnvifReplay(req);
    // GStreamer's rtspsrc in ONVIF mode (1.22) sends no `Require: onvif-replay`, only `Range: clock=`
    // and `Rate-Control`: either on a recording's PLAY asks for the replay extension too (a client
    // that does not know it skips it, RFC 3550 §5.3.1).
    const replayExtension =
      onvif || (recording !== undefined && (clockRange || req.headers.get('Rate-Control') !== undefined));
    if (replayExtension) {
      // The low byte of this PLAY's CSeq goes into every packet's replay extension (§6.3).
      const state = this.replayCseq.get(session) ?? { cseq: 0 };
      state.cseq = Number(req.headers.get('CSeq') ?? 0) & 0xff;
      this.replayCseq.set(session, state);
    }
    // A malformed (or zero) Scale or Speed is a bad header, not an invalid range.
    let unpaced: boolean;
    let frames: FramesOption | undefined;
    try {
      const sc = req.headers.get('Scale');
      if (sc !== undefined) scale = parseScale(sc);
      const sp = req.headers.get('Speed');
      if (sp !== undefined) speed = parseSpeed(sp);
      // ONVIF Streaming §6.5: `Rate-Control: no` is an export: as fast as the connection takes it
      // (the player waits while the session's output backlog is full), up to maxReplaySpeed.
      const rc = req.headers.get('Rate-Control');
      unpaced = recording !== undefined && rc !== undefined && !parseRateControl(rc);
      if (unpaced && speed === undefined) speed = this.deps.settings.maxReplaySpeed;
      // §6.6: Frames thins the video of a recording's replay; echoed in the reply.
      const fr = req.headers.get('Frames');
      if (recording !== undefined && fr !== undefined) frames = parseFrames(fr);
    } catch (e) {
      if (!isParseError(e)) throw e;
      return reply(RtspStatus.BadRequest);
    }
    // A start past the end is not refused: ffmpeg waits, paused, after a refused PLAY. It gets an empty
    // range at the end (200), then RTCP BYE; negative starts already read as 0 (rtsp/range.ts).
    if (
      range.endS !== undefined &&
      range.startS !== undefined &&
      range.endS < range.startS &&
      (scale ?? 1) > 0
    )
      return reply(RtspStatus.InvalidRange);
    const player = this.playerOf(session, role);
    const request: Parameters<VodPlayer['play']>[0] = {};
    if (range.startS !== undefined) request.startS = range.startS;
    if (range.endS !== undefined) request.endS = range.endS;
    if (scale !== undefined) request.scale = scale;
    if (speed !== undefined) request.speed = speed;
    if (unpaced) request.maxSpeed = this.deps.settings.maxReplaySpeed;
    if (frames !== undefined) request.frames = frames;
    const clockReply = recording !== undefined && (clockRange || onvif);
    let result;
    player.maxQueuedRanges = this.deps.settings.maxQueuedPlayRanges;
    // rtspsrc (GStreamer 1.22) in ONVIF mode over TCP loses the first packet after a PLAY answered
    // with a clock range, and the rest of its frame: lead-in packets take that loss (vod-rtp.ts).
    player.leadIn = clockReply && session.setups.some((s) => s?.kind === 'tcp');
    try {
      result = player.play(request);
    } catch (err) {
      if (err instanceof VodQueueFullError)
        return this.deps.sessionLimits.refuse('queuedPlayRanges', `${err.maxQueuedRanges} queued`);
      return reply(RtspStatus.InvalidRange, undefined, undefined, `Invalid Range: ${(err as Error).message}`);
    }
    session.transition('PLAY');
    this.leadOutRound.delete(session);
    if (unpaced)
      this.byeNotBeforeMs.set(session, this.deps.clock.monotonicMs() + UNPACED_REPLAY_BYE_FLOOR_MS);
    else this.byeNotBeforeMs.delete(session);
    const headers = sessionHeaders(session);
    headers.Range =
      recording !== undefined && clockReply
        ? `clock=${utc(recording.wallMsAt(result.startS))}-${utc(recording.wallMsAt(result.endS))}`
        : `npt=${result.startS.toFixed(3)}-${result.endS.toFixed(3)}`;
    if (scale !== undefined) headers.Scale = String(result.scale);
    if (speed !== undefined && !unpaced) headers.Speed = String(result.speed);
    if (unpaced) headers['Rate-Control'] = serializeRateControl(false);
    if (frames !== undefined) headers.Frames = serializeFrames(frames);
    const base = req.uri.replace(/\/+$/, '').replace(/\/trackID=\d+$/, '');
    headers['RTP-Info'] = result.rtpInfo
      .map(
        (i) =>
          `url=${base}/trackID=${i.track}${i.seq !== undefined ? `;seq=${i.seq}` : ''};rtptime=${i.rtptime}`,
      )
      .join(',');
    this.deps.logger.info(
      {
        session: session.id,
        path: session.path,
        start: result.startS,
        end: result.endS,
        scale: result.scale,
        queued: result.queued,
      },
      'file playback',
    );
    return { ...reply(RtspStatus.Ok, headers), afterWrite: () => session.openOutput() };
  }

  pause(req: RtspRequest, session: ServerSession, role: FileReaderRole): Reply {
    let atS: number | undefined;
    const r = req.headers.get('Range');
    if (r !== undefined) {
      try {
        // RFC 2326 §10.6 writes the pause point without a dash (`Range: npt=37`): read it as `npt=37-`.
        const [spec = '', ...params] = r.split(';');
        const point = /^\s*npt\s*=[^-]*$/i.test(spec) ? [`${spec.trim()}-`, ...params].join(';') : r;
        atS = nptRange(parseRange(point)).startS;
      } catch (e) {
        if (!isParseError(e) && !(e instanceof RangeError)) throw e; // RangeError: not npt
        return reply(RtspStatus.InvalidRange);
      }
    }
    let position: number;
    try {
      position = this.playerOf(session, role).pause(atS);
    } catch (err) {
      // §10.6: a point outside the pending PLAY ranges.
      return reply(RtspStatus.InvalidRange, undefined, undefined, `Invalid Range: ${(err as Error).message}`);
    }
    // §10.6: with a point, it plays on until there (the player then ends: `playback ended`).
    session.transition(atS === undefined ? 'PAUSE' : 'PAUSE at a point');
    const headers = sessionHeaders(session);
    headers.Range = `npt=${position.toFixed(3)}-`;
    return reply(RtspStatus.Ok, headers);
  }
}

/** A `Range: clock=` on a recording's timeline (npt seconds); npt ranges as they are. */
function recordingRange(r: RangeSpec, timeline: RecordingTimeline): { startS?: number; endS?: number } {
  if (r.unit !== 'clock') return nptRange(r);
  const out: { startS?: number; endS?: number } = { startS: timeline.nptAt(r.startMs) };
  if (r.endMs !== undefined) out.endS = timeline.nptAt(r.endMs);
  return out;
}

function utc(ms: number): string {
  return formatUtcTime(Math.max(0, Math.round(ms)));
}

/**
 * The ONVIF replay header extension (ONVIF Streaming §6.3) for a recording's player when its session
 * asked for `Require: onvif-replay`: the wall-clock time of each access unit, C on keyframes, D on the
 * first after a gap or a seek, E on the last before a gap, and the CSeq of the latest PLAY.
 */
function replayExtensionOption(
  file: VodFile,
  state: { cseq: number } | undefined,
): Pick<VodPlayerOptions, 'headerExtension' | 'leadInExtension'> {
  const timeline = file.recording;
  if (timeline === undefined || state === undefined) return {};
  return {
    headerExtension: (s, lastPacket) => {
      const edges = timeline.sampleEdges(s.track, s.sample);
      return serializeOnvifReplayExtension({
        ntp: unixMsToNtp(timeline.sampleWallMs(s.track, s.sample, s.ptsS)),
        cleanPoint: s.keyframe,
        endOfSection: edges.endOfSection,
        discontinuity: edges.discontinuity || s.firstOfRange,
        // T on the very last packet: GStreamer's rtponvifparse ends the stream (EOS) after it.
        terminal: s.lastOfRange && lastPacket,
        cseqLowByte: state.cseq,
      });
    },
    // A lead-in packet carries the time of the range's start and no flag (it holds no frame).
    leadInExtension: (_track, startS) =>
      serializeOnvifReplayExtension({
        ntp: unixMsToNtp(timeline.wallMsAt(startS)),
        cleanPoint: false,
        endOfSection: false,
        discontinuity: false,
        terminal: false,
        cseqLowByte: state.cseq,
      }),
  };
}

/** Start and end (seconds) of an npt Range; other units are refused (ParseError-like). */
function nptRange(r: RangeSpec): { startS?: number; endS?: number } {
  if (r.unit !== 'npt') throw new RangeError('only npt ranges are served');
  const out: { startS?: number; endS?: number } = {};
  if (r.start !== undefined && r.start !== 'now') out.startS = r.start;
  if (r.end !== undefined && r.end !== 'now') out.endS = r.end;
  return out;
}
