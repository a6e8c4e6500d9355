/**
 * What `rtspkit play` writes: fragmented MP4 or MPEG-TS with every track it can carry, or one elementary
 * stream (Annex-B H.264/H.265, ADTS AAC), each write a whole unit so a file cut at any moment stays readable.
 */
import { writeSync } from 'node:fs';
import { buildAdtsHeader } from '../codec/aac.js';
import { H264_PARAMETER_SET_TYPES, h264NalType, isH264Vcl } from '../codec/h264.js';
import { H265_PARAMETER_SET_TYPES, h265NalType, isH265Vcl } from '../codec/h265.js';
import { joinAnnexB } from '../codec/nal.js';
import type { AccessUnit } from '../format/access-unit.js';
import { parseAacFmtp } from '../format/aac.js';
import { parseH264Fmtp } from '../format/h264.js';
import { parseH265Fmtp } from '../format/h265.js';
import { RtspClientError } from '../client/errors.js';
import { summarizeTrack, type ClientTrack } from '../client/tracks.js';
import { ParseError } from '../base/errors.js';
import { TsMuxer, type TsTrack } from '../container/mpegts/index.js';
import { Fmp4Muxer, type Fmp4Track } from '../container/fmp4/index.js';
import { TimelineAligner } from '../container/timeline.js';

export type OutputKind = 'h264' | 'h265' | 'aac';

export const OUTPUT_KINDS: Readonly<Record<string, OutputKind>> = {
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

export const ENCODING_OF: Readonly<Record<OutputKind, string>> = {
  h264: 'H264',
  h265: 'H265',
  aac: 'MPEG4-GENERIC',
};

/** Writes access units of one track as an elementary stream: Annex-B H.264/H.265 or ADTS AAC. */
export class ElementaryStreamWriter {
  #started = false;
  readonly #params = new Map<number, Buffer>();
  readonly #paramTypes: readonly number[];
  readonly #adts: { objectType: number; sampleRate: number; channelConfiguration: number } | undefined;
  bytesWritten = 0;
  unitsWritten = 0;

  constructor(
    readonly kind: OutputKind,
    track: ClientTrack,
    private readonly write: (b: Buffer) => void,
  ) {
    if (kind === 'h264') {
      this.#paramTypes = H264_PARAMETER_SET_TYPES;
      const f = parseH264Fmtp(track.fmtp);
      this.#note([...f.sps, ...f.pps]);
    } else if (kind === 'h265') {
      this.#paramTypes = H265_PARAMETER_SET_TYPES;
      const f = parseH265Fmtp(track.fmtp);
      this.#note([...f.vps, ...f.sps, ...f.pps]);
    } else {
      this.#paramTypes = [];
      const cfg = parseAacFmtp(track.fmtp).audioConfig;
      if (cfg === undefined) throw new Error('the AAC track has no usable config in its SDP');
      this.#adts = {
        objectType: cfg.objectType,
        sampleRate: cfg.sampleRate,
        channelConfiguration: cfg.channelConfiguration,
      };
    }
  }

  #type(nal: Buffer): number {
    return this.kind === 'h264' ? h264NalType(nal) : h265NalType(nal);
  }

  #note(nalus: readonly Buffer[]): void {
    for (const n of nalus) {
      const t = this.#type(n);
      if (this.#paramTypes.includes(t)) this.#params.set(t, n);
    }
  }

  push(au: AccessUnit): void {
    if (this.kind === 'aac') {
      const payload = au.payload;
      if (payload === undefined || this.#adts === undefined) return;
      this.#emit(Buffer.concat([buildAdtsHeader(this.#adts, payload.length), payload]));
      return;
    }
    const nalus = au.nalus;
    if (nalus === undefined) return;
    this.#note(nalus);
    // A decoder needs a keyframe first; start there.
    if (!this.#started && !au.keyframe) return;
    this.#started = true;
    let out: readonly Buffer[] = nalus;
    if (au.keyframe) {
      // Parameter sets may come only in the SDP: put them in front of every keyframe that lacks them.
      const present = new Set(nalus.map((n) => this.#type(n)));
      const missing = this.#paramTypes.filter((t) => !present.has(t)).map((t) => this.#params.get(t));
      const isVcl = this.kind === 'h264' ? isH264Vcl : isH265Vcl;
      const sets = missing.filter((b): b is Buffer => b !== undefined);
      if (sets.length > 0) {
        let at = nalus.findIndex((n) => isVcl(this.#type(n)));
        if (at < 0) at = nalus.length;
        out = [...nalus.slice(0, at), ...sets, ...nalus.slice(at)];
      }
    }
    this.#emit(joinAnnexB(out));
  }

  #emit(b: Buffer): void {
    this.write(b);
    this.bytesWritten += b.length;
    this.unitsWritten++;
  }
}

/** The codec of a track as the MPEG-TS writer knows it, or undefined when it cannot be written there. */
export function tsTrackFor(track: ClientTrack): TsTrack | undefined {
  try {
    switch (track.encodingName.toUpperCase()) {
      case 'H264': {
        const f = parseH264Fmtp(track.fmtp);
        return { codec: 'h264', parameterSets: [...f.sps, ...f.pps] };
      }
      case 'H265': {
        const f = parseH265Fmtp(track.fmtp);
        return { codec: 'h265', parameterSets: [...f.vps, ...f.sps, ...f.pps] };
      }
      case 'MPEG4-GENERIC': {
        const cfg = parseAacFmtp(track.fmtp).audioConfig;
        if (cfg === undefined || cfg.objectType < 1 || cfg.objectType > 4) return undefined;
        return {
          codec: 'aac',
          aac: {
            objectType: cfg.objectType,
            sampleRate: cfg.sampleRate,
            channelConfiguration: cfg.channelConfiguration,
          },
        };
      }
      case 'OPUS': {
        const stereo = track.fmtp['sprop-stereo'] ?? track.fmtp.stereo;
        return { codec: 'opus', channels: stereo === '0' ? 1 : 2 };
      }
      default:
        return undefined;
    }
  } catch (e) {
    if (e instanceof ParseError) return undefined;
    throw e;
  }
}

/**
 * Writes the access units of several tracks into one container file, on one timeline (TimelineAligner),
 * each write a whole unit of the container so that a file cut at any moment stays readable.
 */
export abstract class ContainerRecorder {
  readonly #indexOf = new Map<number, number>();
  readonly #timeline = new TimelineAligner();
  bytesWritten = 0;

  constructor(
    readonly tracks: readonly ClientTrack[],
    private readonly write: (b: Buffer) => void,
  ) {
    tracks.forEach((t, i) => this.#indexOf.set(t.index, i));
  }

  /** Access units in the file so far. */
  abstract get unitsWritten(): number;

  /** The bytes ready to write after `au` of muxer track `i`, if any. */
  protected abstract muxAccessUnit(i: number, au: AccessUnit): Buffer | undefined;

  /** What the muxer still holds, at the end. */
  protected flushMuxer(): Buffer | undefined {
    return undefined;
  }

  push(track: ClientTrack, au: AccessUnit, arrivalMs: number): void {
    const i = this.#indexOf.get(track.index);
    if (i === undefined) return;
    this.#emit(this.muxAccessUnit(i, this.#timeline.map(i, au, arrivalMs)));
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

/** MPEG-TS: every write is a whole number of 188-byte packets. */
export class TsRecorder extends ContainerRecorder {
  readonly #mux: TsMuxer;
  #units = 0;

  constructor(tracks: readonly ClientTrack[], configs: readonly TsTrack[], write: (b: Buffer) => void) {
    super(tracks, write);
    this.#mux = new TsMuxer(configs);
  }

  get unitsWritten(): number {
    return this.#units;
  }

  protected muxAccessUnit(i: number, au: AccessUnit): Buffer | undefined {
    const bytes = this.#mux.writeAccessUnit(i, au);
    if (bytes.length > 0) this.#units++;
    return bytes;
  }
}

/**
 * Fragmented MP4: the init segment and each moof+mdat fragment go out in one write each, so a process
 * killed at any moment leaves a file valid up to its last whole fragment; `finish` writes the fragment
 * in progress (Ctrl-C, --duration, end of stream).
 */
export class Fmp4Recorder extends ContainerRecorder {
  readonly #mux: Fmp4Muxer;

  constructor(tracks: readonly ClientTrack[], configs: readonly Fmp4Track[], write: (b: Buffer) => void) {
    super(tracks, write);
    this.#mux = new Fmp4Muxer(configs);
  }

  get unitsWritten(): number {
    return this.#mux.stats.samples;
  }

  protected muxAccessUnit(i: number, au: AccessUnit): Buffer | undefined {
    return this.#mux.push(i, au);
  }

  protected override flushMuxer(): Buffer | undefined {
    return this.#mux.flush();
  }
}

/** The tracks a container can carry, with their configurations; NO_TRACK when there is none. */
export function containerTracks<C>(
  tracks: readonly ClientTrack[],
  trackFor: (t: ClientTrack) => C | undefined,
  container: string,
): { chosen: ClientTrack[]; configs: C[] } {
  const chosen: ClientTrack[] = [];
  const configs: C[] = [];
  for (const t of tracks) {
    const c = trackFor(t);
    if (c === undefined) continue;
    chosen.push(t);
    configs.push(c);
  }
  if (chosen.length === 0) {
    const have = tracks.map((t) => summarizeTrack(t).codec).join(', ') || 'none';
    throw new RtspClientError(
      'NO_TRACK',
      `no track ${container} can carry (h264, hevc, aac, opus; the stream has: ${have})`,
    );
  }
  return { chosen, configs };
}

/** Writes all of `b` at the end of the file (one write call for a regular file). */
export function writeAll(fd: number, b: Buffer): void {
  let at = 0;
  while (at < b.length) at += writeSync(fd, b, at, b.length - at);
}
