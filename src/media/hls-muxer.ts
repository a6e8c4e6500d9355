/**
 * HLS for one live path: a reader of the path's Stream that turns RTP into access units (the payload
 * formats' depacketizers), puts the tracks on one timeline and cuts fMP4 segments in memory
 * (container/hls). What it holds is bounded by the segment window; the HTTP side (http/hls.ts) decides
 * when one starts and stops.
 *
 * As a Stream reader it is like a UDP reader whose socket never backs up: every packet is handled
 * as it is delivered, inside the Stream's flush, so there is no queue to grow and nothing to slow
 * down; the cost is the depacketize + mux work (a copy of each access unit), small next to the
 * socket writes of an RTSP reader. It starts at the Stream's cached keyframe, so the first segment
 * starts with a picture and is ready one GOP (or one target duration) later.
 *
 * Tracks: H.264, H.265, AAC (MPEG4-GENERIC) and Opus, as far as fMP4 carries them; others (G.711,
 * MJPEG, LATM) are left out, and a path with none of the four cannot be read as HLS.
 *
 * Faults. Everything here runs on a publisher's packets, inside the Stream's flush (a timer callback):
 * an exception escaping it would end the process and every path with it, and would also skip the
 * Stream's other readers for that flush. So any exception other than the ParseError of malformed
 * parameter sets stops this muxer (reason `fault: ...`) and goes to `onFault`; its owner counts it and
 * the next HLS request starts a fresh muxer. A restart rather than a dropped unit: after an unexpected
 * exception the depacketizers' and the muxer's state cannot be trusted, and a new muxer starts clean
 * at the next keyframe.
 */
import type { Clock } from '../base/clock.js';
import { clockTimeout, systemClock } from '../base/clock.js';
import { isParseError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { nullLogger } from '../base/logger.js';
import {
  BROWSER_FMP4_CODECS,
  fmp4TrackFor,
  type Fmp4Codec,
  type Fmp4Track,
} from '../container/fmp4/index.js';
import {
  HlsSegmenter,
  type HlsSegment,
  type HlsSegmenterOptions,
  type PlaylistUris,
} from '../container/hls/index.js';
import type { Depacketizer } from '../format/access-unit.js';
import { createDepacketizer } from '../format/registry.js';
import { parseRtpPacket } from '../rtp/packet.js';
import { AlignedTracks, carriedTracks } from '../sinks/tracks.js';
import type { PublishedMedia } from './published-media.js';
import type { StreamReader, StreamTap } from './stream.js';
import { packetReader } from './stream-reader.js';

export interface HlsMuxerOptions extends HlsSegmenterOptions {
  clock?: Clock;
  logger?: Logger;
  /** An unexpected exception stopped the muxer (see Faults above); it is not thrown. */
  onFault?: (err: unknown) => void;
}

/** A track of a Stream muxed into fMP4 (by the HLS muxer and the recorder). */
export interface MuxedTrack {
  /** The Stream's track index. */
  streamTrack: number;
  /** The fMP4 track index. */
  fmp4Track: number;
  encodingName: string;
  depacketizer: Depacketizer;
}

export interface HlsMuxerStats {
  accessUnits: number;
  segments: number;
}

/**
 * The tracks of `media` that fMP4 carries in `codecs` (by default those browsers play), with their
 * depacketizers; empty when there is none. The choice is the fMP4 sink's (sinks/tracks.ts), less the
 * tracks whose fmtp has no depacketizer. The recorder (recorder/path-recorder.ts) takes every codec.
 */
export function muxableTracks(
  media: PublishedMedia,
  codecs: ReadonlySet<Fmp4Codec> = BROWSER_FMP4_CODECS,
): { tracks: MuxedTrack[]; configs: Fmp4Track[] } {
  const streamTracks = media.tracks.map((description, streamTrack) => ({ description, streamTrack }));
  const { chosen, configs } = carriedTracks(streamTracks, ({ description }) => {
    const config = fmp4TrackFor(description);
    if (config === undefined || !codecs.has(config.codec)) return undefined;
    try {
      return {
        config,
        depacketizer: createDepacketizer(description.encodingName, description.clockRate, description.fmtp),
      };
    } catch (err) {
      if (isParseError(err)) return undefined;
      throw err;
    }
  });
  const tracks = chosen.map(({ description, streamTrack }, fmp4Track): MuxedTrack => ({
    streamTrack,
    fmp4Track,
    encodingName: description.encodingName,
    depacketizer: configs[fmp4Track]!.depacketizer,
  }));
  return { tracks, configs: configs.map((c) => c.config) };
}

export class HlsMuxer {
  readonly stream: StreamTap;
  /** rtpmap encoding names of the tracks in the segments, e.g. ['H264', 'MPEG4-GENERIC']. */
  readonly encodingNames: readonly string[];
  readonly stats: HlsMuxerStats = { accessUnits: 0, segments: 0 };
  /** Set once stopped: why (the stream ended, a malformed stream, stopped by its owner). */
  stoppedReason: string | undefined;
  /**
   * The stream ended and the segments are complete: the playlist says EXT-X-ENDLIST and stays readable
   * (its owner decides for how long), rather than vanishing under a player mid-segment.
   */
  ended = false;
  /** Called once when the muxer stops by itself (stream ended, malformed media, a fault). */
  onStopped: ((reason: string) => void) | undefined;

  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #onFault: ((err: unknown) => void) | undefined;
  readonly #segmenter: HlsSegmenter;
  readonly #aligned: AlignedTracks;
  readonly #byStreamTrack = new Map<number, MuxedTrack>();
  readonly #reader: StreamReader;
  readonly #waiters = new Set<(ready: boolean) => void>();

  /** Undefined when no track of `media` can go into fMP4. */
  static create(
    stream: StreamTap,
    media: PublishedMedia,
    options: HlsMuxerOptions = {},
  ): HlsMuxer | undefined {
    const { tracks, configs } = muxableTracks(media);
    if (tracks.length === 0) return undefined;
    return new HlsMuxer(stream, tracks, configs, options);
  }

  private constructor(
    stream: StreamTap,
    tracks: readonly MuxedTrack[],
    configs: readonly Fmp4Track[],
    options: HlsMuxerOptions,
  ) {
    this.stream = stream;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? nullLogger;
    this.#onFault = options.onFault;
    this.#segmenter = new HlsSegmenter(configs, options);
    for (const t of tracks) this.#byStreamTrack.set(t.streamTrack, t);
    this.#aligned = new AlignedTracks(tracks.map((t) => t.streamTrack));
    this.encodingNames = tracks.map((t) => t.encodingName);
    this.#reader = packetReader({
      tracks: tracks.map((t) => t.streamTrack),
      // Muxed at once: nothing waits in a queue.
      backlogBytes: () => 0,
      rtp: (track, packet) => {
        this.#isolated(() => {
          this.#onRtp(track, packet);
        });
      },
      ended: (reason) => {
        this.#isolated(() => {
          this.#finish(reason);
        });
      },
    });
  }

  /** Joins the Stream (at its cached keyframe when there is one). */
  start(): void {
    this.stream.addReader(this.#reader);
  }

  /** Leaves the Stream and drops the segments; waiting requests get `false`. */
  stop(reason = 'stopped'): void {
    this.#stop(reason, false);
  }

  get initSegment(): Buffer | undefined {
    return this.#segmenter.initSegment;
  }

  segment(sequence: number): HlsSegment | undefined {
    return this.#segmenter.segment(sequence);
  }

  get segmentCount(): number {
    return this.#segmenter.segments.length;
  }

  /** The media playlist, or undefined before the first segment. */
  playlist(uris: PlaylistUris): string | undefined {
    return this.#segmenter.playlist(uris);
  }

  /**
   * Resolves true once there is a segment (at once when there is one), false when the muxer stops
   * or `timeoutMs` passes first.
   */
  waitForFirstSegment(timeoutMs: number): Promise<boolean> {
    if (this.#segmenter.segments.length > 0) return Promise.resolve(true);
    if (this.stoppedReason !== undefined) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ready: boolean): void => {
        timer.cancel();
        this.#waiters.delete(done);
        resolve(ready);
      };
      const timer = clockTimeout(this.#clock, () => done(false), timeoutMs);
      this.#waiters.add(done);
    });
  }

  #onRtp(streamTrack: number, packet: Buffer): void {
    if (this.stoppedReason !== undefined) return;
    const track = this.#byStreamTrack.get(streamTrack);
    if (track === undefined) return;
    let rtp;
    try {
      rtp = parseRtpPacket(packet);
    } catch (err) {
      if (isParseError(err)) return; // the Stream checked the version only; the depacketizer counts loss
      throw err;
    }
    const arrivalMs = this.#clock.monotonicMs();
    for (const au of track.depacketizer.push(rtp)) {
      this.stats.accessUnits++;
      // The unit's RTP time is its unwrapped pts modulo 2^32 (the depacketizer's timestamp tracker).
      const instantMs = this.stream.monotonicMsOfRtp?.(streamTrack, au.pts >>> 0) ?? arrivalMs;
      const placed = this.#aligned.place(track.fmp4Track, au, instantMs);
      if (placed === undefined) continue; // before the first unit placed (see AlignedTracks.place)
      let segment: HlsSegment | undefined;
      try {
        segment = this.#segmenter.push(track.fmp4Track, placed);
      } catch (err) {
        if (!isParseError(err)) throw err;
        // Malformed parameter sets (the init segment cannot be built): nothing playable will come.
        this.#logger.warn({ err: err.message, code: err.code }, 'hls: cannot mux the stream');
        this.#stop(`cannot mux: ${err.message}`, true);
        return;
      }
      if (segment !== undefined) {
        this.stats.segments++;
        for (const w of [...this.#waiters]) w(true);
      }
    }
  }

  /** Runs `f`; an exception stops the muxer and goes to onFault, never up into the Stream. */
  #isolated(f: () => void): void {
    try {
      f();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#stop(`fault: ${message}`, true);
      this.#onFault?.(err);
    }
  }

  #finish(reason: string): void {
    if (this.stoppedReason !== undefined) return;
    let last;
    try {
      last = this.#segmenter.finish();
    } catch (err) {
      if (!isParseError(err)) throw err;
    }
    if (last !== undefined) this.stats.segments++;
    this.ended = this.#segmenter.segments.length > 0;
    if (this.ended) for (const w of [...this.#waiters]) w(true);
    this.#stop(`stream ended: ${reason}`, true);
  }

  #stop(reason: string, notify: boolean): void {
    if (this.stoppedReason !== undefined) return;
    this.stoppedReason = reason;
    this.stream.removeReader(this.#reader);
    for (const w of [...this.#waiters]) w(false);
    if (notify) this.onStopped?.(reason);
  }
}
