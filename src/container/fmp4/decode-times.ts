/**
 * Decode times for video that comes without them (RTP carries presentation times only, RFC 6184 §5.1),
 * for a writer that presents video `delayTicks` after its decode time (Fmp4Muxer's presentation delay).
 *
 * A B-frame stream arrives in decode order with presentation times that step back (I0 P3 B1 B2 P6 ...).
 * Taking each pts as its decode time and forcing it up by a tick (what the writer did before) gives
 * sample durations of one tick next to ones of three pictures; ffmpeg's HLS input (a format that may
 * have discontinuities) predicts each next decode time from the picture rate and reads the difference
 * as a timestamp jump, shifting its clock and then refusing frames of equal timestamps. So decode times
 * step by the picture duration, as an encoder's do:
 *
 *   dts = max(pts, min(previous dts + picture duration, pts + delay))
 *
 * - at most pts + delay: composition offsets never negative (with reordering shorter than the delay);
 * - at least pts: a reference picture (the newest pts so far) pulls the decode time back up, so a
 *   duration guessed short, a slower picture rate, or a jump of the input clock cannot leave decode
 *   times ever further behind;
 * - the picture duration is the smallest step between two pts seen in this GOP or the previous one
 *   (B-frames give it within a GOP; a GOP later, a changed rate is followed).
 *
 * Decode times are on the input's timeline; the caller's SampleTimeline still makes them increase and
 * closes up jumps.
 */
export class VideoDecodeTimes {
  readonly #delayTicks: number;
  #lastPts: number | undefined;
  #lastDts: number | undefined;
  #gopStepTicks: number | undefined;
  #previousGopStepTicks: number | undefined;

  constructor(delayTicks: number) {
    this.#delayTicks = delayTicks;
  }

  /** The decode time of the next unit (in decode order), from its pts. */
  next(ptsTicks: number, keyframe: boolean): number {
    if (keyframe) {
      this.#previousGopStepTicks = this.#gopStepTicks ?? this.#previousGopStepTicks;
      this.#gopStepTicks = undefined;
    }
    if (this.#lastPts !== undefined) {
      const step = Math.abs(ptsTicks - this.#lastPts);
      if (step > 0 && (this.#gopStepTicks === undefined || step < this.#gopStepTicks))
        this.#gopStepTicks = step;
    }
    this.#lastPts = ptsTicks;
    const steps = [this.#gopStepTicks, this.#previousGopStepTicks].filter((s) => s !== undefined);
    let dts = ptsTicks;
    if (this.#lastDts !== undefined && steps.length > 0) {
      const paced = this.#lastDts + Math.min(...steps);
      dts = Math.max(ptsTicks, Math.min(paced, ptsTicks + this.#delayTicks));
    }
    this.#lastDts = dts;
    return dts;
  }
}
