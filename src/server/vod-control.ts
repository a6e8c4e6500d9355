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
import { parseRange, type RangeSpec } from '../rtsp/range.js';
import { parseScale, parseSpeed } from '../rtsp/fields.js';
import { VodPlayer, VodQueueFullError, type VodFile } from '../sources/vod-player.js';
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
  settings: Pick<ServerSettings, 'serverName' | 'senderReportIntervalMs' | 'maxQueuedPlayRanges'>;
  /** Counts and answers the 503 of a full PLAY queue. */
  sessionLimits: SessionLimits;
}

export class VodControl {
  constructor(private readonly deps: VodControlDeps) {}

  /** A path a publisher may not ANNOUNCE while files are served: it looks like a file's. */
  reservesPath(path: string): boolean {
    return this.deps.files !== undefined && isOnDemandPathName(path);
  }

  /** Gives back a file opened by openFile (it closes with its last user). */
  release(realPath: string): void {
    this.deps.files?.release(realPath);
  }

  /** A file reader's session ended: its player stops and its file is released. */
  stop(role: FileReaderRole): void {
    role.player?.stop();
    this.release(role.realPath);
  }

  async closeAll(): Promise<void> {
    await this.deps.files?.closeAll();
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
      },
      {
        clock: this.deps.clock,
        logger: session.logger,
        tracks: session.tracks,
        ssrcs: session.ssrcs,
        cname: this.deps.settings.serverName,
        senderReportIntervalMs: this.deps.settings.senderReportIntervalMs,
      },
    );
    player.onEnd = ({ reason, positionS }) => {
      if (session.closed) return;
      session.transition('playback ended');
      session.logger.info({ reason, positionS }, 'playback paused by itself');
      // At the end of the file, readers are told with RTCP BYE (GStreamer then ends its stream); so
      // they are when the file cannot be read on (cut short after its moov): nothing more will come.
      if (reason === 'end' || reason === 'error') sendBye(session);
    };
    role.player = player;
    return player;
  }

  play(req: RtspRequest, session: ServerSession, role: FileReaderRole): Reply {
    let range: { startS?: number; endS?: number } = {};
    let scale: number | undefined;
    let speed: number | undefined;
    try {
      const r = req.headers.get('Range');
      if (r !== undefined) range = nptRange(parseRange(r));
    } catch (e) {
      if (!isParseError(e) && !(e instanceof RangeError)) throw e; // RangeError: not npt
      return reply(457);
    }
    // A malformed (or zero) Scale or Speed is a bad header, not an invalid range.
    try {
      const sc = req.headers.get('Scale');
      if (sc !== undefined) scale = parseScale(sc);
      const sp = req.headers.get('Speed');
      if (sp !== undefined) speed = parseSpeed(sp);
    } catch (e) {
      if (!isParseError(e)) throw e;
      return reply(400);
    }
    // A start past the end is not refused: ffmpeg waits, paused, after a refused PLAY. It gets an empty
    // range at the end (200), then RTCP BYE; negative starts already read as 0 (rtsp/range.ts).
    if (
      range.endS !== undefined &&
      range.startS !== undefined &&
      range.endS < range.startS &&
      (scale ?? 1) > 0
    )
      return reply(457);
    const player = this.playerOf(session, role);
    const request: Parameters<VodPlayer['play']>[0] = {};
    if (range.startS !== undefined) request.startS = range.startS;
    if (range.endS !== undefined) request.endS = range.endS;
    if (scale !== undefined) request.scale = scale;
    if (speed !== undefined) request.speed = speed;
    let result;
    player.maxQueuedRanges = this.deps.settings.maxQueuedPlayRanges;
    try {
      result = player.play(request);
    } catch (err) {
      if (err instanceof VodQueueFullError)
        return this.deps.sessionLimits.refuse('queuedPlayRanges', `${err.maxQueuedRanges} queued`);
      return reply(457, undefined, undefined, `Invalid Range: ${(err as Error).message}`);
    }
    session.transition('PLAY');
    const headers = sessionHeaders(session);
    headers.Range = `npt=${result.startS.toFixed(3)}-${result.endS.toFixed(3)}`;
    if (scale !== undefined) headers.Scale = String(result.scale);
    if (speed !== undefined) headers.Speed = String(result.speed);
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
    return { ...reply(200, headers), afterWrite: () => session.openOutput() };
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
        return reply(457);
      }
    }
    let position: number;
    try {
      position = this.playerOf(session, role).pause(atS);
    } catch (err) {
      // §10.6: a point outside the pending PLAY ranges.
      return reply(457, undefined, undefined, `Invalid Range: ${(err as Error).message}`);
    }
    // §10.6: with a point, it plays on until there (the player then ends: `playback ended`).
    session.transition(atS === undefined ? 'PAUSE' : 'PAUSE at a point');
    const headers = sessionHeaders(session);
    headers.Range = `npt=${position.toFixed(3)}-`;
    return reply(200, headers);
  }
}

/** Start and end (seconds) of an npt Range; other units are refused (ParseError-like). */
function nptRange(r: RangeSpec): { startS?: number; endS?: number } {
  if (r.unit !== 'npt') throw new RangeError('only npt ranges are served');
  const out: { startS?: number; endS?: number } = {};
  if (r.start !== undefined && r.start !== 'now') out.startS = r.start;
  if (r.end !== undefined && r.end !== 'now') out.endS = r.end;
  return out;
}
