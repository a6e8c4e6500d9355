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
}
