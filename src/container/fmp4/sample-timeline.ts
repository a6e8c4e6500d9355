/**
 * The decode and presentation times one fMP4 track writes, from the times its access units bring.
 *
 * What the boxes can hold (ISO/IEC 14496-12): a sample's duration is unsigned 32 bits (`trun`,
 * §8.8.8.2), its composition offset signed 32 bits (`trun` version 1), decode times never go back
 * (§8.6.1.2: "decoding time ... strictly increasing"). What comes in is whatever a publisher put in its
 * RTP timestamps, unwrapped: a camera whose clock jumps, a publisher that restarts its timestamps, or
 * one that sends hostile ones (steps back by 0x60000000 twice: pts − dts past 2^31) would make
 * out-of-range fields, and a writer that throws on them.
 *
 * So each unit's input decode time is moved by a per-track offset onto the file's timeline, and:
 * - decode times increase by at least one tick (RTP gives no dts: B-frames come with pts that step back
 *   by a few pictures, which become small negative composition offsets);
 * - a step forward beyond `maxGapTicks`, a step back beyond `maxOffsetTicks`, or forced increases that
 *   have left pts more than `maxOffsetTicks` behind the decode time, is a discontinuity: the offset is
 *   taken again so that the unit follows the previous one by the previous sample's duration;
 * - a composition offset (pts − dts) given beyond `maxOffsetTicks` is dropped (pts = dts);
 * - times that are not safe integers (a timeline unwrapped past 2^53 by a flood of jumps) drop the unit.
 *
 * The trade-off: across a discontinuity the file's timeline no longer follows the publisher's clock.
 * The media stays continuous (no hour-long frozen sample, no segment of negative duration), each track
 * resumes right where it was, so tracks that jump together stay in sync to within a sample; a track that
 * jumps alone while the others do not is then off by what its clock jumped minus one sample. A recorder
 * that must keep the publisher's wall-clock gaps would cut a new file instead; a live HLS window cannot.
 */

/** Largest sample duration the `trun` can hold (unsigned 32 bits). */
export const MAX_SAMPLE_DURATION_TICKS = 0xffffffff;
/** Largest |composition offset| the `trun` can hold (version 1: signed 32 bits). */
export const MAX_COMPOSITION_OFFSET_TICKS = 0x7fffffff;

/** Largest decode time a track may start at (2^32: hours of any timescale, far from 2^53). */
const MAX_START_TICKS = 2 ** 32;

export interface SampleTimes {
  /** Decode time on the file's timeline, in ticks of the track's timescale. */
  dts: number;
  /** Presentation time on the file's timeline. */
  pts: number;
}

export interface SampleTimelineLimits {
  /** Longest step forward between two decode times (a longer one is a discontinuity). */
  maxGapTicks: number;
  /** Longest |pts − dts|, and longest step back of a decode time. */
  maxOffsetTicks: number;
  /** The step after a discontinuity when no sample came before it. */
  defaultDurationTicks: number;
}

export class SampleTimeline {
  readonly #limits: SampleTimelineLimits;
  /** Added to input times to put them on the file's timeline. */
  #offsetTicks = 0;
  #lastDts: number | undefined;
  #lastStepTicks: number | undefined;
  /** Discontinuities taken (jumps forward or back). */
  discontinuities = 0;
  /** Composition offsets beyond the limit, dropped. */
  clampedOffsets = 0;
  /** Units dropped for times that are not safe integers. */
  droppedUnits = 0;

  constructor(limits: SampleTimelineLimits) {
    this.#limits = {
      maxGapTicks: Math.max(1, Math.min(Math.floor(limits.maxGapTicks), MAX_SAMPLE_DURATION_TICKS)),
      maxOffsetTicks: Math.max(0, Math.min(Math.floor(limits.maxOffsetTicks), MAX_COMPOSITION_OFFSET_TICKS)),
      defaultDurationTicks: Math.max(
        1,
        Math.min(Math.round(limits.defaultDurationTicks), MAX_SAMPLE_DURATION_TICKS),
      ),
    };
  }

  /** Decode time of the newest unit placed, on the file's timeline. */
  get lastDts(): number | undefined {
    return this.#lastDts;
  }

  /** The distance between the two newest decode times (what a last sample's duration can reuse). */
  get lastStepTicks(): number | undefined {
    return this.#lastStepTicks;
  }

  /** Where a unit with these input times goes, or undefined when it is dropped. */
  place(ptsTicks: number, dtsTicks: number): SampleTimes | undefined {
    if (!Number.isSafeInteger(ptsTicks) || !Number.isSafeInteger(dtsTicks)) {
      this.droppedUnits++;
      return undefined;
    }
    const { maxGapTicks, maxOffsetTicks } = this.#limits;
    let cto = ptsTicks - dtsTicks;
    if (Math.abs(cto) > maxOffsetTicks) {
      this.clampedOffsets++;
      cto = 0;
    }
    const last = this.#lastDts;
    if (last === undefined) {
      // The first unit keeps its time (the caller aligns the tracks, near 0), unless it is negative or
      // so far out that steps from it could leave the safe integers: then the track starts at 0.
      this.#offsetTicks = dtsTicks < 0 || dtsTicks > MAX_START_TICKS ? -dtsTicks : 0;
      const dts = dtsTicks + this.#offsetTicks;
      return this.#take(dts, dts + cto);
    }
    const wanted = dtsTicks + this.#offsetTicks;
    const dts = Math.max(wanted, last + 1);
    const jumped =
      !Number.isSafeInteger(wanted) ||
      wanted - last > maxGapTicks ||
      last - wanted > maxOffsetTicks ||
      dts - (wanted + cto) > maxOffsetTicks;
    if (!jumped) return this.#take(dts, wanted + cto);
    this.discontinuities++;
    const next = last + Math.min(this.#lastStepTicks ?? this.#limits.defaultDurationTicks, maxGapTicks);
    this.#offsetTicks = next - dtsTicks;
    return this.#take(next, next + cto);
  }

  #take(dts: number, pts: number): SampleTimes {
    if (this.#lastDts !== undefined) this.#lastStepTicks = dts - this.#lastDts;
    this.#lastDts = dts;
    return { dts, pts };
  }
}
