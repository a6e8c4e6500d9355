/**
 * Recording a stream to a file: which sink an output's extension names (fragmented MP4 or MPEG-TS
 * with every track they carry, or one elementary stream), which of the stream's tracks it takes,
 * and whole writes to the file. `rtspkit play` records through this, and so will the recorder.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { RtspClientError } from '../client/errors.js';
import { summarizeTrack, type ClientTrack } from '../client/tracks.js';
import type { AccessUnit } from '../format/access-unit.js';
import { containerTracks, type AccessUnitSink } from './container.js';
import { ElementaryStreamSink, ENCODING_OF, type ElementaryKind } from './elementary.js';
import { fmp4TrackFor } from '../container/fmp4/index.js';
import { Fmp4Sink } from './fmp4.js';
import { TsSink, tsTrackFor } from './mpegts.js';

/** Extensions of the elementary-stream outputs, with their kind. */
export const ELEMENTARY_EXTENSIONS: Readonly<Record<string, ElementaryKind>> = {
  '.h264': 'h264',
  '.264': 'h264',
  '.h265': 'h265',
  '.265': 'h265',
  '.hevc': 'h265',
  '.aac': 'aac',
};

/** Containers that take every track: MPEG-TS and fragmented MP4. */
export const CONTAINER_EXTENSIONS = ['.ts', '.mp4', '.m4v'];
export const FMP4_EXTENSIONS = ['.mp4', '.m4v'];

/** Every extension a recording can have (lower case, with the dot). */
export const RECORDING_EXTENSIONS: readonly string[] = [
  ...CONTAINER_EXTENSIONS,
  ...Object.keys(ELEMENTARY_EXTENSIONS),
];

/** A recording decided before its file is opened: the tracks to SETUP, and how to make its sink. */
export interface RecordingPlan {
  readonly chosen: ClientTrack[];
  /** The sink writing through `write`; may throw for a track's malformed fmtp (after the file is opened). */
  createSink(write: (b: Buffer) => void): AccessUnitSink;
}

/**
 * The recording an extension (one of RECORDING_EXTENSIONS, lower case) names for a stream's
 * tracks. Throws RtspClientError NO_TRACK when the stream has no track the output can carry.
 */
export function planRecording(ext: string, tracks: readonly ClientTrack[]): RecordingPlan {
  const kind = ELEMENTARY_EXTENSIONS[ext];
  if (kind === undefined) {
    if (FMP4_EXTENSIONS.includes(ext)) {
      const { chosen, configs } = containerTracks(tracks, fmp4TrackFor, 'MP4');
      return { chosen, createSink: (write) => new Fmp4Sink(chosen, configs, write) };
    }
    const { chosen, configs } = containerTracks(tracks, tsTrackFor, 'MPEG-TS');
    return { chosen, createSink: (write) => new TsSink(chosen, configs, write) };
  }
  const track = tracks.find((t) => t.encodingName.toUpperCase() === ENCODING_OF[kind]);
  if (track === undefined) {
    const have = tracks.map((t) => summarizeTrack(t).codec).join(', ') || 'none';
    throw new RtspClientError('NO_TRACK', `no ${kind} track to write to ${ext} (the stream has: ${have})`);
  }
  return { chosen: [track], createSink: (write) => new ElementaryStreamSink(kind, track, write) };
}

/** Writes all of `b` at the end of the file (one write call for a regular file). */
export function writeAll(fd: number, b: Buffer): void {
  let at = 0;
  while (at < b.length) at += writeSync(fd, b, at, b.length - at);
}

/**
 * A recording being written to a file (created or truncated): the plan's sink, writing whole, and
 * closing it (the sink's last writes, then the file). What `rtspkit play` writes through.
 */
export class RecordingFile {
  #fd: number | undefined;
  readonly #sink: AccessUnitSink;

  private constructor(fd: number, plan: RecordingPlan) {
    this.#fd = fd;
    this.#sink = plan.createSink((b) => {
      if (this.#fd !== undefined) writeAll(this.#fd, b);
    });
  }

  /** Opens `path` for `plan`; throws the system error of the open, or the sink's (the file is closed then). */
  static open(path: string, plan: RecordingPlan): RecordingFile {
    const fd = openSync(path, 'w');
    try {
      return new RecordingFile(fd, plan);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** An access unit of `track`, arrived at `arrivalMs` (monotonic). */
  push(track: ClientTrack, au: AccessUnit, arrivalMs: number): void {
    this.#sink.push(track, au, arrivalMs);
  }

  /** Units wait for `setPlayStart` (a PLAY about to be sent); see AccessUnitSink. */
  expectPlayStart(): void {
    this.#sink.expectPlayStart?.();
  }

  /** The PLAY reply's RTP-Info rtptimes by source track: the tracks are placed by their clocks. */
  setPlayStart(rtptimes: ReadonlyMap<number, number>): void {
    this.#sink.setPlayStart?.(rtptimes);
  }

  get bytesWritten(): number {
    return this.#sink.bytesWritten;
  }

  get unitsWritten(): number {
    return this.#sink.unitsWritten;
  }

  /** Writes what the sink still holds and closes the file (closed even when that throws). Idempotent. */
  close(): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    try {
      this.#sink.finish();
    } finally {
      this.#fd = undefined;
      closeSync(fd);
    }
  }
}
