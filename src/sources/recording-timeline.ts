/**
 * The timeline of a recording played as a file: npt runs over what was recorded, gaps between
 * segments closed up, and each stretch of continuous recording (a section) keeps its wall-clock time.
 * npt 0 is the start of the played window (rounded down to the keyframe a decoder needs).
 *
 *   npt → wall:  wallMs = section.wallStartMs + (npt − section.nptStartS) * 1000
 *   wall → npt:  the section holding it; a time in a gap goes to the next section's start
 *
 * Used for `Range: clock=` (RFC 2326 §3.7) in PLAY and its reply, DESCRIBE's `a=range:clock=`, and the
 * absolute time of each access unit in the ONVIF replay header extension.
 */
import { formatUtcTime } from '../rtsp/range.js';

export interface RecordingSection {
  nptStartS: number;
  durationS: number;
  wallStartMs: number;
  /** A gap (or another recording) precedes it: its first access units carry the discontinuity bit. */
  afterGap: boolean;
}

/** Per track of the file: for each sample, the section it belongs to (parallel to the sample table). */
export type SectionOfSample = Uint32Array;

export class RecordingTimeline {
  constructor(
    /** The recorded path. */
    readonly path: string,
    readonly sections: readonly RecordingSection[],
    /** Per file track: the section of each sample. */
    readonly sectionOf: readonly SectionOfSample[],
  ) {
    if (sections.length === 0) throw new RangeError('a recording timeline needs a section');
  }

  get firstMs(): number {
    return this.sections[0]!.wallStartMs;
  }

  get lastMs(): number {
    const s = this.sections[this.sections.length - 1]!;
    return s.wallStartMs + s.durationS * 1000;
  }

  get durationS(): number {
    const s = this.sections[this.sections.length - 1]!;
    return s.nptStartS + s.durationS;
  }

  /** `clock=<first>-<last>` for DESCRIBE's `a=range` (rtspsrc seeks in clock time only with it). */
  get sdpRange(): string {
    return `clock=${formatUtcTime(Math.floor(this.firstMs))}-${formatUtcTime(Math.ceil(this.lastMs))}`;
  }

  private sectionAtNpt(nptS: number): RecordingSection {
    let found = this.sections[0]!;
    for (const s of this.sections) if (s.nptStartS <= nptS) found = s;
    return found;
  }

  wallMsAt(nptS: number): number {
    const s = this.sectionAtNpt(nptS);
    return s.wallStartMs + (nptS - s.nptStartS) * 1000;
  }

  /** The npt of a wall-clock time: clamped to the recording; in a gap, the next section's start. */
  nptAt(wallMs: number): number {
    if (wallMs <= this.firstMs) return 0;
    for (const s of this.sections) {
      const endMs = s.wallStartMs + s.durationS * 1000;
      if (wallMs < s.wallStartMs) return s.nptStartS;
      if (wallMs < endMs) return s.nptStartS + (wallMs - s.wallStartMs) / 1000;
    }
    return this.durationS;
  }

  /** The wall-clock time of a sample presented at `ptsS` (npt) on track `track`. */
  sampleWallMs(track: number, sample: number, ptsS: number): number {
    const s = this.sections[this.sectionOf[track]?.[sample] ?? 0] ?? this.sections[0]!;
    return s.wallStartMs + (ptsS - s.nptStartS) * 1000;
  }

  /** Whether a sample starts a section after a gap (D) or ends a section before one (E). */
  sampleEdges(track: number, sample: number): { discontinuity: boolean; endOfSection: boolean } {
    const of = this.sectionOf[track];
    if (of === undefined) return { discontinuity: false, endOfSection: false };
    const here = of[sample];
    const section = here === undefined ? undefined : this.sections[here];
    const first = sample === 0 || of[sample - 1] !== here;
    const last = sample === of.length - 1 || of[sample + 1] !== here;
    const next = here === undefined ? undefined : this.sections[here + 1];
    return {
      discontinuity: first && section?.afterGap === true,
      endOfSection: last && (next === undefined || next.afterGap),
    };
  }
}
