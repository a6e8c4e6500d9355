/**
 * The file side of video on demand: an MP4 opened once (sample tables parsed, tracks chosen, the
 * DESCRIBE answer built) and shared by every VodPlayer of the file, each reading through the same
 * positional file handle. The npt timeline and the priming rule are in vod-player.ts and vod-plan.ts.
 */
import type { Logger } from '../base/logger.js';
import { nullLogger } from '../base/logger.js';
import type { RecordingTimeline } from './recording-timeline.js';
import type { VodSampleReader } from './vod-api.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { FileByteSource } from './file-source.js';
import { describeMp4, errorMessage, openMp4ForRtp, presentationSpan, type Mp4RtpTrack } from './mp4-rtp.js';

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
    private readonly source: Pick<FileByteSource, 'close'>,
    readonly reader: VodSampleReader,
    tracks: Mp4RtpTrack[],
    durationS: number,
    logger: Logger,
    /** A recording played as a file: the wall-clock times of its timeline (recording-file.ts). */
    readonly recording?: RecordingTimeline,
  ) {
    this.tracks = tracks;
    this.durationS = durationS;
    this.logger = logger;
    this.media = describeMp4(tracks, path, recording?.sdpRange ?? `npt=0-${formatNpt(durationS)}`);
  }

  /**
   * A file made of other parts than one MP4 (a recording's segments): its tracks and sample tables,
   * where their bytes are read, what closes them. DESCRIBE announces `recording.sdpRange`.
   */
  static of(
    name: string,
    parts: { close(): Promise<void>; reader: VodSampleReader; tracks: Mp4RtpTrack[]; durationS: number },
    recording: RecordingTimeline,
    logger: Logger,
  ): VodFile {
    return new VodFile(name, parts, parts.reader, parts.tracks, parts.durationS, logger, recording);
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
      // Any failure to close: the handle is gone either way, so it is only logged.
      this.logger.warn({ err: errorMessage(e) }, 'closing the file failed');
    });
    return this.closing;
  }
}

function formatNpt(s: number): string {
  return String(Number(s.toFixed(3)));
}
