/**
 * Access-unit sinks that mux several tracks into one container (MPEG-TS, fragmented MP4): the sink
 * interface, the shared base (track numbers, one timeline, byte counts) and the choice of tracks.
 */
import type { AccessUnit } from '../format/access-unit.js';
import { RtspClientError } from '../client/errors.js';
import { summarizeTrack, type ClientTrack } from '../client/tracks.js';
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
}

/**
 * Writes the access units of several tracks into one container, on one timeline (AlignedTracks),
 * each write a whole unit of the container so that a file cut at any moment stays readable.
 */
export abstract class ContainerSink implements AccessUnitSink {
  readonly #tracks: AlignedTracks;
  bytesWritten = 0;

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
    this.#emit(this.muxAccessUnit(i, this.#tracks.align(i, au, arrivalMs)));
  }

  finish(): void {
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
