/**
 * What makes a request a playback of recordings, and the recordings it opens (issue 17).
 *
 * The rule: a request plays a path's recordings when its URL has `start=` (`rtsp://host/<path>?start=
 * <ISO 8601>[&end=...|&duration=<s>]`) or when it carries `Require: onvif-replay` (ONVIF Streaming §6.4;
 * the window is then everything recorded, and PLAY seeks with `Range: clock=`). Otherwise the URL names
 * what it named before (a live path, a file of the media folder): recordings never hide them, and a
 * playback URL is never a live path. Other query parameters (tokens) pass through untouched. npt 0 is
 * the start of the played window, at the keyframe at or before `start=` (or the first recording).
 *
 * Bad values: a malformed `start=`/`end=` is 400; a path with nothing recorded in the window is 404.
 */
import type { Logger } from '../base/logger.js';
import { ParseError } from '../base/errors.js';
import type { RecordingCatalog } from '../recorder/catalog.js';
import type { RtspRequest } from '../rtsp/message.js';
import { ONVIF_REPLAY_FEATURE } from '../rtsp/onvif.js';
import { parsePlaybackQuery, type PlaybackQuery } from '../rtsp/playback-url.js';
import { RtspStatus } from '../rtsp/status.js';
import { NoRecordingError, openRecording, type RecordingWindow } from '../sources/recording-file.js';
import { RecordingIndexCache } from '../sources/recording-index-cache.js';
import type { VodFile } from '../sources/vod-player.js';
import type { RequestTarget } from './target.js';
import type { ServerSettings } from './server-options.js';

/** Keys of opened recordings (in place of a file's real path) start with this. */
export const RECORDING_KEY_PREFIX = 'recording:';

/** Whether a request carries `Require: onvif-replay` (in any of its Require headers). */
export function requiresOnvifReplay(req: RtspRequest): boolean {
  return req.headers
    .getAll('Require')
    .some((v) => v.split(',').some((tag) => tag.trim().toLowerCase() === ONVIF_REPLAY_FEATURE));
}

/** The option tags of Require headers other than `onvif-replay` (for 551 Option Not Supported). */
export function withoutOnvifReplay(values: readonly string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '' && tag.toLowerCase() !== ONVIF_REPLAY_FEATURE);
}

export class RecordingPlayback {
  private readonly open = new Map<string, VodFile>();
  private nextKey = 1;
  /** Segment indexes and joined windows, shared by the playbacks (bounded: `playbackIndexCacheBytes`). */
  private readonly cache: RecordingIndexCache;

  constructor(
    private readonly catalog: RecordingCatalog,
    private readonly logger: Logger,
    /** The cache's bound is read from it whenever a value is kept (reloadable). */
    settings: Pick<ServerSettings, 'playbackIndexCacheBytes'>,
  ) {
    this.cache = new RecordingIndexCache(() => settings.playbackIndexCacheBytes);
  }

  /**
   * The shared index cache (`/metrics`: `rtspkit_playback_index_*`), also the HTTP export's
   * (recorder/export.ts), so that one bound covers what any client can make the server hold.
   */
  get indexCache(): RecordingIndexCache {
    return this.cache;
  }

  /** The playback rule (module comment). */
  isPlayback(t: RequestTarget, req: RtspRequest): boolean {
    return /(^|&)start=/.test(t.query) || requiresOnvifReplay(req);
  }

  /** Opens the recording a playback request names, or the RTSP status refusing it. */
  async acquire(t: RequestTarget): Promise<{ realPath: string; file: VodFile } | number> {
    let query: PlaybackQuery | undefined;
    try {
      query = parsePlaybackQuery(t.query);
    } catch (e) {
      if (e instanceof ParseError) return RtspStatus.BadRequest;
      throw e;
    }
    const window: RecordingWindow = { startMs: query?.startMs ?? 0 };
    if (query?.endMs !== undefined) window.endMs = query.endMs;
    try {
      const file = await openRecording(this.catalog, t.path, window, {
        logger: this.logger,
        cache: this.cache,
      });
      const key = `${RECORDING_KEY_PREFIX}${this.nextKey++}`;
      this.open.set(key, file);
      return { realPath: key, file };
    } catch (e) {
      if (e instanceof NoRecordingError) return RtspStatus.NotFound;
      throw e;
    }
  }

  /** Closes a recording opened by acquire (its window's files close with the window's last playback). */
  release(key: string): void {
    const file = this.open.get(key);
    if (file === undefined) return;
    this.open.delete(key);
    void file.close();
  }

  async closeAll(): Promise<void> {
    const files = [...this.open.values()];
    this.open.clear();
    await Promise.all(files.map((f) => f.close()));
  }
}
