/**
 * Puts several tracks on one timeline by the arrival of their first access unit: each track's pts
 * counts from its first unit, shifted by the time that unit arrived after the first unit of any track.
 * (Our server and most cameras start every track together, from the same cached keyframe or the same
 * instant, so this keeps them within a few tens of ms; RTCP sender reports would make it exact.)
 * Arrival times come in as arguments (sans-I/O).
 */
import type { AccessUnit } from '../format/access-unit.js';

export class TimelineAligner {
  readonly #anchors = new Map<number, { pts: number; offsetTicks: number }>();
  #firstArrivalMs: number | undefined;

  /** `au` of track `index` on the shared timeline (pts and dts >= 0 from the first unit on). */
  map(index: number, au: AccessUnit, arrivalMs: number): AccessUnit {
    this.#firstArrivalMs ??= arrivalMs;
    let anchor = this.#anchors.get(index);
    if (anchor === undefined) {
      anchor = {
        pts: au.pts,
        offsetTicks: Math.round(((arrivalMs - this.#firstArrivalMs) * au.clockRate) / 1000),
      };
      this.#anchors.set(index, anchor);
    }
    const shift = anchor.offsetTicks - anchor.pts;
    const mapped: AccessUnit = { ...au, pts: au.pts + shift };
    if (au.dts !== undefined) mapped.dts = au.dts + shift;
    return mapped;
  }
}
