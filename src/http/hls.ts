/**
 * HLS on the HTTP API server (RFC 8216), one muxer per live path, made on demand:
 *
 *   GET /hls/<path>/index.m3u8   media playlist (application/vnd.apple.mpegurl)
 *   GET /hls/<path>/init.mp4     fMP4 init segment (ftyp + moov)
 *   GET /hls/<path>/seg<N>.m4s   media segment N (moof + mdat ...)
 *
 * The first request for a path starts its HlsMuxer (a reader of the path's Stream); the playlist and
 * the init segment of a muxer that has no segment yet are held until it has one, at most
 * `firstSegmentWaitMs` (then 503 with Retry-After). A muxer that has had no request for
 * `idleTimeoutMs` is stopped: a player reloads the playlist every target duration (§6.3.4), so only
 * a muxer nobody plays goes idle. When its stream ends, a muxer makes its last segment and its playlist
 * gets EXT-X-ENDLIST (players play to the end and stop); it stays readable until the idle timeout. A
 * new publisher on the same path gets a new muxer, whose segments count from 0 again (hence no caching
 * of any reply).
 *
 * A muxer stopped by a fault (an exception in its media code, counted in the engine's media faults) is
 * replaced by a new one at the path's next request, as one whose stream was replaced.
 *
 * Errors are JSON `{"error": "..."}` as on the rest of the API: 404 for an unknown or not yet
 * recording path, a path without a track fMP4 carries, a segment outside the window; 400 for a
 * malformed segment name.
 */
import { isParseError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { HlsSegmenterOptions } from '../container/hls/index.js';
import { HlsMuxer } from '../media/hls-muxer.js';
import type { EngineAccess } from '../server/view.js';

export const DEFAULT_HLS_IDLE_TIMEOUT_MS = 20_000;
export const DEFAULT_HLS_FIRST_SEGMENT_WAIT_MS = 6_000;

export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';
export const SEGMENT_CONTENT_TYPE = 'video/mp4';

/** Encodings the segments can carry (see HlsMuxer): a path without any has no HLS. */
const HLS_ENCODINGS = new Set(['H264', 'H265', 'MPEG4-GENERIC', 'OPUS']);

export interface HlsServerOptions {
  /** The engine's view: the path's feed to attach the muxer to, the clock, fault counting. */
  engine: EngineAccess;
  /** Stop a path's muxer after this long without a request (default 20 s). */
  idleTimeoutMs?: number;
  /** Longest hold of a playlist or init request while a muxer makes its first segment (default 6 s). */
  firstSegmentWaitMs?: number;
  segmenter?: HlsSegmenterOptions;
  logger: Logger;
}

export interface HlsReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

interface Entry {
  muxer: HlsMuxer;
  lastRequestMs: number;
}

function jsonError(status: number, message: string, headers: Record<string, string> = {}): HlsReply {
  return {
    status,
    headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
    body: Buffer.from(JSON.stringify({ error: message })),
  };
}

function media(contentType: string, body: Buffer | string): HlsReply {
  return {
    status: 200,
    headers: { 'Content-Type': contentType, 'Cache-Control': 'no-cache' },
    body: typeof body === 'string' ? Buffer.from(body) : body,
  };
}

/** Segment numbers as the playlist writes them: no sign, no leading zero, within 2^53. */
const SEGMENT_NAME = /^seg(0|[1-9]\d{0,14})\.m4s$/;

/** `/hls/<path>/index.m3u8` for a path name (each segment percent-encoded). */
export function hlsPlaylistUrl(pathName: string): string {
  return `/hls/${pathName.split('/').map(encodeURIComponent).join('/')}/index.m3u8`;
}

/** Whether a path whose tracks have these rtpmap encoding names can be read as HLS. */
export function hasHlsTrack(encodingNames: readonly string[]): boolean {
  return encodingNames.some((e) => HLS_ENCODINGS.has(e.toUpperCase()));
}

export class HlsServer {
  readonly #engine: EngineAccess;
  readonly #idleTimeoutMs: number;
  readonly #firstSegmentWaitMs: number;
  readonly #segmenter: HlsSegmenterOptions;
  readonly #logger: Logger;
  readonly #entries = new Map<string, Entry>();
  /** Muxers started since the server started. */
  muxersStarted = 0;

  constructor(options: HlsServerOptions) {
    this.#engine = options.engine;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_HLS_IDLE_TIMEOUT_MS;
    this.#firstSegmentWaitMs = options.firstSegmentWaitMs ?? DEFAULT_HLS_FIRST_SEGMENT_WAIT_MS;
    this.#segmenter = options.segmenter ?? {};
    this.#logger = options.logger;
  }

  /** Muxers running now (not those kept, ended, for the last requests of their players). */
  get muxerCount(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (!e.muxer.ended) n++;
    return n;
  }

  isActive(pathName: string): boolean {
    const e = this.#entries.get(pathName);
    return e !== undefined && !e.muxer.ended;
  }

  /**
   * Answers a GET for `rest`, the URL path after `/hls/` (still percent-encoded). Never throws for
   * bad input: every refusal is a reply.
   */
  async handle(rest: string): Promise<HlsReply> {
    const slash = rest.lastIndexOf('/');
    if (slash <= 0) return jsonError(404, 'expected /hls/<path>/index.m3u8');
    const file = rest.slice(slash + 1);
    let name: string;
    try {
      name = rest.slice(0, slash).split('/').map(decodeURIComponent).join('/');
    } catch (e) {
      if (!(e instanceof URIError)) throw e;
      return jsonError(400, 'malformed percent-encoding in the URL');
    }
    let sequence: number | undefined;
    if (file !== 'index.m3u8' && file !== 'init.mp4') {
      if (!file.startsWith('seg') || !file.endsWith('.m4s')) return jsonError(404, `no ${file} in HLS`);
      const m = SEGMENT_NAME.exec(file);
      if (m === null) return jsonError(400, `bad segment name ${JSON.stringify(file)}: expected seg<N>.m4s`);
      sequence = Number(m[1]);
    }

    const entry = this.#entryFor(name);
    if (typeof entry === 'string') return jsonError(404, entry);
    entry.lastRequestMs = this.#engine.clock.monotonicMs();
    const muxer = entry.muxer;

    if (sequence !== undefined) {
      const segment = muxer.segment(sequence);
      if (segment === undefined) return jsonError(404, `segment ${sequence} of ${name} is not available`);
      return media(SEGMENT_CONTENT_TYPE, segment.bytes);
    }
    if (muxer.segmentCount === 0) {
      const ready = await muxer.waitForFirstSegment(this.#firstSegmentWaitMs);
      entry.lastRequestMs = this.#engine.clock.monotonicMs();
      if (!ready) {
        if (muxer.stoppedReason !== undefined)
          return jsonError(404, `HLS of ${name} stopped (${muxer.stoppedReason})`);
        return jsonError(503, `no segment of ${name} yet (no keyframe in ${this.#firstSegmentWaitMs} ms)`, {
          'Retry-After': '1',
        });
      }
    }
    if (file === 'init.mp4') return media(SEGMENT_CONTENT_TYPE, muxer.initSegment!);
    const text = muxer.playlist({ init: 'init.mp4', segment: (n) => `seg${n}.m4s` })!;
    return media(PLAYLIST_CONTENT_TYPE, text);
  }

  /** The running muxer of a path (started when needed), or why there is none. */
  #entryFor(name: string): Entry | string {
    const live = this.#engine.feed(name);
    const stream = live?.stream;
    const current = this.#entries.get(name);
    if (current !== undefined) {
      const replaced = stream !== undefined && !stream.ended && current.muxer.stream !== stream;
      if (replaced) this.#drop(name, current, 'the path has a new stream');
      else if (current.muxer.ended) return current;
      else if (current.muxer.stoppedReason !== undefined)
        this.#drop(name, current, current.muxer.stoppedReason);
    }
    if (live === undefined) return `no live path ${name}`;
    if (stream === undefined || stream.ended) return `path ${name} is not recording yet`;
    const running = this.#entries.get(name);
    if (running !== undefined) return running;
    if (!hasHlsTrack(live.media.tracks.map((t) => t.encodingName)))
      return `path ${name} has no track HLS can carry (H.264, H.265, AAC, Opus)`;
    let muxer: HlsMuxer | undefined;
    try {
      muxer = HlsMuxer.create(stream, live.media, {
        ...this.#segmenter,
        clock: this.#engine.clock,
        logger: this.#logger,
        onFault: (err) => {
          this.#engine.recordMediaFault('hls', name, err);
        },
      });
    } catch (err) {
      // The publisher's SDP made the muxer: whatever it throws is about that path only.
      if (!isParseError(err)) this.#engine.recordMediaFault('hls', name, err);
      return `path ${name} cannot be read as HLS: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (muxer === undefined) return `path ${name} has no track HLS can carry (H.264, H.265, AAC, Opus)`;
    const entry: Entry = { muxer, lastRequestMs: this.#engine.clock.monotonicMs() };
    // A muxer whose stream ended with segments stays, its playlist ended, until nobody asks for it.
    muxer.onStopped = (reason) => {
      if (this.#entries.get(name) === entry && !muxer.ended) this.#drop(name, entry, reason);
    };
    this.#entries.set(name, entry);
    this.muxersStarted++;
    muxer.start();
    this.#logger.info({ path: name, tracks: muxer.encodingNames }, 'hls muxer started');
    return entry;
  }

  #drop(name: string, entry: Entry, reason: string): void {
    this.#entries.delete(name);
    entry.muxer.stop(reason);
    this.#logger.info({ path: name, reason, segments: entry.muxer.stats.segments }, 'hls muxer stopped');
  }

  /** Stops the muxers nobody asked anything for `idleTimeoutMs` (call it every second or so). */
  reap(): void {
    const now = this.#engine.clock.monotonicMs();
    for (const [name, entry] of [...this.#entries]) {
      if (now - entry.lastRequestMs >= this.#idleTimeoutMs) this.#drop(name, entry, 'no HLS request');
    }
  }

  close(): void {
    for (const [name, entry] of [...this.#entries]) this.#drop(name, entry, 'server closing');
  }
}
