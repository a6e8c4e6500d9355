/**
 * Track setup shared by every access-unit sink that muxes several tracks (the MPEG-TS and fMP4 sinks,
 * the HLS muxer): which tracks a container carries, and one timeline for them.
 */
import type { AccessUnit } from '../format/access-unit.js';
import { TimelineAligner } from '../container/timeline.js';

/** The tracks `trackFor` can carry, in order, each with its configuration (possibly none). */
export function carriedTracks<T, C>(
  tracks: readonly T[],
  trackFor: (t: T) => C | undefined,
): { chosen: T[]; configs: C[] } {
  const chosen: T[] = [];
  const configs: C[] = [];
  for (const t of tracks) {
    const c = trackFor(t);
    if (c === undefined) continue;
    chosen.push(t);
    configs.push(c);
  }
  return { chosen, configs };
}

/**
 * The carried tracks of a sink on one timeline (container/timeline.ts: by the arrival of each
 * track's first access unit): source track index → the container's track number, and the access
 * unit with its timestamps moved onto the shared timeline.
 */
export class AlignedTracks {
  readonly #trackOf = new Map<number, number>();
  readonly #timeline = new TimelineAligner();
  /** Tracks whose first unit at or after the origin has been placed. */
  readonly #placing = new Set<number>();

  /** `sourceIndices[i]` is the source track that goes into container track i. */
  constructor(sourceIndices: readonly number[]) {
    sourceIndices.forEach((index, i) => this.#trackOf.set(index, i));
  }

  /** The container track of a source track, or undefined when it is not carried. */
  trackOf(sourceIndex: number): number | undefined {
    return this.#trackOf.get(sourceIndex);
  }

  /** `au` of container track `track` on the shared timeline; `arrivalMs` is when it arrived. */
  align(track: number, au: AccessUnit, arrivalMs: number): AccessUnit {
    return this.#timeline.map(track, au, arrivalMs);
  }

  /**
   * `au` of container track `track` on the shared timeline, placed by the instant its pts stands for
   * (`instantMs`, e.g. Stream.monotonicMsOfRtp) rather than by its arrival; undefined when that is
   * before the timeline's origin (the first unit placed). Arrival is the wrong measure for a reader of
   * a live Stream: the GOP cache's burst delivers seconds of video at once, and publishers aggregate
   * audio (ffmpeg sends up to 0.7 s of AAC frames per RTP packet: `-max_delay`), so the first audio unit
   * arrives up to 0.7 s after its own time. Units before the origin (audio captured before the first
   * picture, delivered with or after it) would start their track at a negative time, which the fMP4
   * writer cannot hold: kept, they would be moved to 0 and the whole track with them. Only a track's
   * first units are dropped so: once it has started, a step back of the publisher's clock is the
   * writer's discontinuity to close up (container/fmp4/sample-timeline.ts), not a reason to go silent.
   */
  place(track: number, au: AccessUnit, instantMs: number): AccessUnit | undefined {
    const mapped = this.#timeline.map(track, au, instantMs);
    if (!this.#placing.has(track)) {
      if (mapped.pts < 0 || (mapped.dts ?? 0) < 0) return undefined;
      this.#placing.add(track);
    }
    return mapped;
  }
}
