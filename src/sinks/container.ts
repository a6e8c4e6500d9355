/**
 * Access-unit sinks that mux several tracks into one container (MPEG-TS, fragmented MP4): the sink
 * interface, the shared base (track numbers, one timeline, byte counts) and the choice of tracks.
 */
import type { AccessUnit } from '../format/access-unit.js';
import { RtspClientError } from '../client/errors.js';
import { summarizeTrack, type ClientTrack } from '../client/tracks.js';
import { PlayStartLine } from './play-start.js';
import { AlignedTracks, carriedTracks } from './tracks.js';

/** A source track as a sink knows it: its position among the source's tracks. */
export interface SinkTrack {
  readonly index: number;
}

/**
 * Where access units (the one currency between protocols) go to be written: a container or an
 * elementary stream. Each write a sink makes is a whole unit of its format, so that output cut at
 * any moment stays readable.
 */
export interface AccessUnitSink {
  /** An access unit of source track `track`, arrived at `arrivalMs` (monotonic); others are ignored. */
  push(track: SinkTrack, au: AccessUnit, arrivalMs: number): void;
  /** Writes what the sink still holds (the end of the stream, Ctrl-C, --duration). */
  finish(): void;
  readonly bytesWritten: number;
  /** Access units in the output so far. */
  readonly unitsWritten: number;
  /** Units from now on wait (bounded) for `setPlayStart`, so that the first ones are placed by it too. */
  expectPlayStart?(): void;
  /** The PLAY reply's RTP-Info rtptimes by source track (play-start.ts); an empty map: by arrival. */
  setPlayStart?(rtptimes: ReadonlyMap<number, number>): void;
}

/** Units held while waiting for the PLAY reply, at most (then placed by arrival). */
const MAX_HELD_UNITS = 1024;

/**
 * Writes the access units of several tracks into one container, on one timeline (AlignedTracks),
 * each write a whole unit of the container so that a file cut at any moment stays readable.
 */
export abstract class ContainerSink implements AccessUnitSink {
  readonly #tracks: AlignedTracks;
  bytesWritten = 0;
  /** Units waiting for the play start, in arrival order; undefined when not waiting. */
  #held: { track: SinkTrack; au: AccessUnit; arrivalMs: number }[] | undefined;
  /** Places units by their clocks (play-start.ts) once set with every track covered. */
  #line: PlayStartLine | undefined;

  constructor(
    readonly tracks: readonly SinkTrack[],
    private readonly write: (b: Buffer) => void,
  ) {
    this.#tracks = new AlignedTracks(tracks.map((t) => t.index));
  }

  abstract get unitsWritten(): number;

  /** The bytes ready to write after `au` of muxer track `i`, if any. */
  protected abstract muxAccessUnit(i: number, au: AccessUnit): Buffer | undefined;

  /** What the muxer still holds, at the end. */
  protected flushMuxer(): Buffer | undefined {
    return undefined;
  }

  push(track: SinkTrack, au: AccessUnit, arrivalMs: number): void {
    const i = this.#tracks.trackOf(track.index);
    if (i === undefined) return;
    if (this.#held !== undefined) {
      this.#held.push({ track, au, arrivalMs });
      if (this.#held.length >= MAX_HELD_UNITS) this.setPlayStart(new Map());
      return;
    }
    const line = this.#line;
    if (line === undefined) {
      this.#emit(this.muxAccessUnit(i, this.#tracks.align(i, au, arrivalMs)));
      return;
    }
    // Before the first unit placed (audio from before the keyframe the server starts with): dropped.
    const placed = this.#tracks.place(i, au, line.instantMs(track.index, au) ?? 0);
    if (placed !== undefined) this.#emit(this.muxAccessUnit(i, placed));
  }

  expectPlayStart(): void {
    this.#held ??= [];
  }

  setPlayStart(rtptimes: ReadonlyMap<number, number>): void {
    const line = new PlayStartLine(rtptimes);
    if (line.covers(this.tracks.map((t) => t.index))) this.#line = line;
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const h of held) this.push(h.track, h.au, h.arrivalMs);
  }

  finish(): void {
    if (this.#held !== undefined) this.setPlayStart(new Map());
    this.#emit(this.flushMuxer());
  }

  #emit(bytes: Buffer | undefined): void {
    if (bytes === undefined || bytes.length === 0) return;
    this.write(bytes);
    this.bytesWritten += bytes.length;
  }
}

/** The tracks a container can carry, with their configurations; NO_TRACK when there is none. */
export function containerTracks<C>(
  tracks: readonly ClientTrack[],
  trackFor: (t: ClientTrack) => C | undefined,
  container: string,
): { chosen: ClientTrack[]; configs: C[] } {
  const carried = carriedTracks(tracks, trackFor);
  if (carried.chosen.length === 0) {
    const have = tracks.map((t) => summarizeTrack(t).codec).join(', ') || 'none';
    throw new RtspClientError(
      'NO_TRACK',
      `no track ${container} can carry (h264, hevc, aac, opus; the stream has: ${have})`,
    );
  }
  return carried;
}
