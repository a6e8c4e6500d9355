/**
 * Live HLS segments in fMP4 (RFC 8216 §3.3), sans-I/O: access units in, an init segment and numbered
 * media segments out, with a sliding window for the playlist.
 *
 * Cutting. Fmp4Muxer makes a fragment (moof + mdat) at every keyframe of the first video track, and
 * after `maxFragmentSeconds` without one; a segment is one or more whole fragments. A segment ends at
 * a keyframe once it spans `targetSegmentSeconds`, so every segment starts with a random access point
 * and the playlist can say EXT-X-INDEPENDENT-SEGMENTS (§4.3.5.1). With a GOP longer than the target,
 * segments are a GOP long. A stream that sends no keyframe for `maxSegmentSeconds` is cut anyway, at a
 * fragment boundary, to bound memory, and so is one past `maxSegmentBytes`: the next segment does not
 * start with a keyframe and the playlist then drops EXT-X-INDEPENDENT-SEGMENTS while it is listed.
 * Audio-only streams cut at any fragment.
 *
 * B-frames. RTP carries presentation times only; video is muxed with its pts as decode time and
 * presented `presentationDelaySeconds` later, audio moved by as much (see Fmp4Muxer), so composition
 * offsets stay >= 0 and ffmpeg shows video and audio as they were published.
 *
 * Durations are decode-time differences of the track that cuts (the first video track, else track 0),
 * on the fMP4 file's timeline (where Fmp4Muxer has closed up any jump of the publisher's clock).
 *
 * Target duration. §6.2.1 says EXT-X-TARGETDURATION must not change, and §4.3.3.1 that it must cover
 * every EXTINF (rounded). The segment length is only known once the publisher's GOP is seen, so the
 * value is the configured target raised to the longest segment made so far: it grows at most a few
 * times early on (hls.js and ffmpeg follow it), and never shrinks.
 *
 * Window. The playlist lists the newest `windowSegments` segments; the `retainedSegments` before them
 * stay readable, for a player that loaded the previous playlist just before it slid (§6.2.2 asks that
 * a segment stay available for a while after it leaves the playlist).
 */
import type { AccessUnit } from '../../format/access-unit.js';
import { childBoxes } from '../mp4/boxes.js';
import { Fmp4Muxer, reorderDelaySecondsFor, type Fmp4Track } from '../fmp4/muxer.js';
import { serializeMediaPlaylist, targetDurationFor } from './playlist.js';

export interface HlsSegment {
  /** The media sequence number (§3.3): 0, 1, 2, ... */
  sequence: number;
  durationSeconds: number;
  /** One or more moof + mdat fragments. */
  bytes: Buffer;
  /** Starts with a keyframe of the cutting track. */
  independent: boolean;
}

export interface HlsSegmenterOptions {
  /** Shortest segment; segments end at the first keyframe after it (default 1). */
  targetSegmentSeconds?: number;
  /** Segments listed in the playlist (default 6). */
  windowSegments?: number;
  /** Segments kept readable after they leave the playlist (default 2). */
  retainedSegments?: number;
  /** Longest segment without a keyframe before it is cut anyway (default 10, at least 4 targets). */
  maxSegmentSeconds?: number;
  /**
   * Largest segment: past it a segment is cut at the next fragment whatever its duration (default
   * 32 MiB). With the window and the retained segments, it bounds what a path's HLS holds, also for a
   * publisher whose timestamps barely advance.
   */
  maxSegmentBytes?: number;
  /**
   * How much later than decode times a stream with H.264/H.265 is presented (Fmp4Muxer's
   * `presentationDelaySeconds`; default 0.2 s, as the RTMP egress's reorder delay: x264's b-pyramid
   * reorders ~4 pictures): B-frames then get composition offsets >= 0, which every player reads alike.
   */
  presentationDelaySeconds?: number;
}

export interface PlaylistUris {
  init: string;
  segment: (sequence: number) => string;
}

const DEFAULT_TARGET_SEGMENT_SECONDS = 1;
const DEFAULT_WINDOW_SEGMENTS = 6;
const DEFAULT_RETAINED_SEGMENTS = 2;
const DEFAULT_MAX_SEGMENT_BYTES = 32 * 1024 * 1024;
/**
 * How far past its start every track must reach for the last segment to be kept (see
 * #everyTrackReachesIntoLastSegment); hls.js counts an append as progress from 1 ms.
 */
const MIN_LAST_SEGMENT_COVERAGE_SECONDS = 0.01;

export class HlsSegmenter {
  readonly #mux: Fmp4Muxer;
  /** Index of the track whose keyframes and decode times cut segments (as Fmp4Muxer's fragments). */
  readonly #cutTrack: number;
  readonly #cutTrackIsVideo: boolean;
  readonly #trackCount: number;
  readonly #targetSeconds: number;
  readonly #maxSeconds: number;
  readonly #maxBytes: number;
  #partsBytes = 0;
  readonly #windowSegments: number;
  readonly #keptSegments: number;
  #init: Buffer | undefined;
  #parts: Buffer[] = [];
  #segmentStartSeconds: number | undefined;
  #segmentIndependent = true;
  /** Oldest first: the retained segments, then the window. */
  #segments: HlsSegment[] = [];
  #nextSequence = 0;
  #longestSeconds = 0;
  /** When the segment in progress starts to be shown (its first unit of the cutting track). */
  #segmentStartPresentationSeconds: number | undefined;
  /** Decode time of the newest unit of the cutting track, for the last segment's duration. */
  #lastCutTimeSeconds: number | undefined;
  #ended = false;

  constructor(tracks: readonly Fmp4Track[], options: HlsSegmenterOptions = {}) {
    this.#targetSeconds = options.targetSegmentSeconds ?? DEFAULT_TARGET_SEGMENT_SECONDS;
    if (!(this.#targetSeconds > 0))
      throw new RangeError(`bad target segment duration ${this.#targetSeconds}`);
    this.#maxSeconds = Math.max(options.maxSegmentSeconds ?? 10, 4 * this.#targetSeconds);
    this.#maxBytes = options.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
    this.#windowSegments = options.windowSegments ?? DEFAULT_WINDOW_SEGMENTS;
    if (!Number.isInteger(this.#windowSegments) || this.#windowSegments < 1)
      throw new RangeError(`bad window ${this.#windowSegments}`);
    this.#keptSegments = this.#windowSegments + (options.retainedSegments ?? DEFAULT_RETAINED_SEGMENTS);
    // Fragments of at most one target: a segment of a long GOP is then several fragments, which
    // players take as they come (hls.js appends each moof + mdat to the SourceBuffer).
    const firstVideo = tracks.findIndex((t) => t.codec === 'h264' || t.codec === 'h265');
    this.#mux = new Fmp4Muxer(tracks, {
      maxFragmentSeconds: this.#targetSeconds,
      maxFragmentBytes: Math.max(1, Math.floor(this.#maxBytes / 4)),
      presentationDelaySeconds: options.presentationDelaySeconds ?? reorderDelaySecondsFor(tracks),
    });
    this.#cutTrack = Math.max(0, firstVideo);
    this.#trackCount = tracks.length;
    this.#cutTrackIsVideo = firstVideo >= 0;
  }

  /** ftyp + moov, once the first fragment is made; undefined before. */
  get initSegment(): Buffer | undefined {
    return this.#init;
  }

  /** Segments still readable (retained ones and the window), oldest first. */
  get segments(): readonly HlsSegment[] {
    return this.#segments;
  }

  segment(sequence: number): HlsSegment | undefined {
    const first = this.#segments[0];
    if (first === undefined) return undefined;
    return this.#segments[sequence - first.sequence];
  }

  /**
   * Adds one access unit of track `index` (pts on the timeline shared by the tracks, as Fmp4Muxer
   * wants it). Returns the segment it completes, if any. Throws what Fmp4Muxer throws (ParseError for
   * malformed parameter sets).
   */
  push(index: number, au: AccessUnit): HlsSegment | undefined {
    if (this.#ended) return undefined;
    const atCutTrack = index === this.#cutTrack;
    const bytes = this.#mux.push(index, au);
    // Times on the file's timeline, not the unit's: the muxer closes up jumps of the publisher's clock,
    // so durations stay what the segments hold (never negative, never a clock jump long).
    const timeSeconds = this.#mux.decodeTimeSeconds(index);
    if (timeSeconds === undefined) return undefined;
    if (atCutTrack && this.#segmentStartSeconds === undefined && (au.keyframe || !this.#cutTrackIsVideo)) {
      this.#segmentStartSeconds = timeSeconds;
      this.#segmentStartPresentationSeconds = this.#mux.newestPresentationSeconds(index)?.startSeconds;
    }
    if (atCutTrack && this.#segmentStartSeconds !== undefined) this.#lastCutTimeSeconds = timeSeconds;
    if (bytes === undefined || this.#segmentStartSeconds === undefined || !this.#take(bytes))
      return undefined;
    // Fmp4Muxer cuts on units of this track (the fragment ends where `au` starts), or on any unit
    // once a fragment is full (it ends at the newest unit of this track).
    const endSeconds = atCutTrack ? timeSeconds : (this.#lastCutTimeSeconds ?? this.#segmentStartSeconds);
    const elapsedSeconds = Math.max(0, endSeconds - this.#segmentStartSeconds);
    const atKeyframe = atCutTrack && (au.keyframe || !this.#cutTrackIsVideo);
    if (
      !(atKeyframe && elapsedSeconds >= this.#targetSeconds) &&
      elapsedSeconds < this.#maxSeconds &&
      this.#partsBytes < this.#maxBytes
    )
      return undefined;
    const segment = this.#cut(elapsedSeconds);
    this.#segmentStartSeconds = endSeconds;
    // The next segment starts with the cutting track's held unit (the keyframe just pushed, or the
    // newest unit when a full fragment was cut).
    this.#segmentStartPresentationSeconds = this.#mux.newestPresentationSeconds(this.#cutTrack)?.startSeconds;
    this.#segmentIndependent = atKeyframe;
    return segment;
  }

  /**
   * The stream ended: what the muxer holds becomes the last segment (returned, if any), and the
   * playlist says EXT-X-ENDLIST (§4.3.3.4) so players play to the end rather than wait for more.
   */
  finish(): HlsSegment | undefined {
    if (this.#ended) return undefined;
    this.#ended = true;
    const covered = this.#everyTrackReachesIntoLastSegment();
    const bytes = this.#mux.flush();
    if (!covered) return undefined;
    if (bytes === undefined || this.#segmentStartSeconds === undefined || !this.#take(bytes))
      return undefined;
    const elapsedSeconds = Math.max(
      0,
      (this.#lastCutTimeSeconds ?? this.#segmentStartSeconds) - this.#segmentStartSeconds,
    );
    return this.#cut(elapsedSeconds);
  }

  /**
   * Whether every track that has units shows some past the start of the segment in progress. A
   * publisher that goes mid-GOP leaves tracks ending at different times (ffmpeg sends several AAC
   * frames per packet, so audio arrives up to a packet behind the video). A last segment that one
   * track does not reach adds nothing to what a Media Source Extensions player can play (its buffered
   * range is the intersection of the tracks'): hls.js then reports an append without progress, never
   * ends the stream, and its video waits forever instead of firing `ended`. Such a segment (less
   * than a packet of some track) is dropped; the playlist ends with the one before.
   */
  #everyTrackReachesIntoLastSegment(): boolean {
    const start = this.#segmentStartPresentationSeconds;
    if (start === undefined) return true;
    for (let i = 0; i < this.#trackCount; i++) {
      const end = this.#mux.newestPresentationSeconds(i)?.endSeconds;
      if (end !== undefined && end < start + MIN_LAST_SEGMENT_COVERAGE_SECONDS) return false;
    }
    return true;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Keeps the fragment bytes of the segment in progress (the first ones also give the init segment). */
  #take(bytes: Buffer): boolean {
    if (this.#init === undefined) {
      const boxes = childBoxes(bytes, 0, bytes.length);
      const firstMoof = boxes.find((b) => b.type === 'moof');
      if (firstMoof === undefined) return false;
      this.#init = bytes.subarray(0, firstMoof.start);
      bytes = bytes.subarray(firstMoof.start);
    }
    this.#parts.push(bytes);
    this.#partsBytes += bytes.length;
    return true;
  }

  #cut(durationSeconds: number): HlsSegment {
    const segment: HlsSegment = {
      sequence: this.#nextSequence++,
      durationSeconds,
      bytes: Buffer.concat(this.#parts),
      independent: this.#segmentIndependent,
    };
    this.#parts = [];
    this.#partsBytes = 0;
    this.#longestSeconds = Math.max(this.#longestSeconds, durationSeconds);
    this.#segments.push(segment);
    if (this.#segments.length > this.#keptSegments) this.#segments.shift();
    return segment;
  }

  /** The media playlist of the window, or undefined while there is no segment yet. */
  playlist(uris: PlaylistUris): string | undefined {
    const listed = this.#segments.slice(-this.#windowSegments);
    if (listed.length === 0) return undefined;
    return serializeMediaPlaylist({
      targetDurationSeconds: targetDurationFor([this.#longestSeconds], this.#targetSeconds),
      mediaSequence: listed[0]!.sequence,
      initUri: uris.init,
      independentSegments: listed.every((s) => s.independent),
      ended: this.#ended,
      segments: listed.map((s) => ({ uri: uris.segment(s.sequence), durationSeconds: s.durationSeconds })),
    });
  }
}
