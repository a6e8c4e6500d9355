/**
 * The elementary-stream access-unit sink: one track as Annex-B H.264/H.265 (ITU-T H.264 Annex B) or
 * ADTS AAC (ISO/IEC 13818-7), each write a whole access unit.
 */
import { buildAdtsHeader } from '../codec/aac.js';
import { H264_PARAMETER_SET_TYPES, h264NalType, isH264Vcl } from '../codec/h264.js';
import { H265_PARAMETER_SET_TYPES, h265NalType, isH265Vcl } from '../codec/h265.js';
import { joinAnnexB } from '../codec/nal.js';
import type { AccessUnit } from '../format/access-unit.js';
import { parseAacFmtp } from '../format/aac.js';
import { parseH264Fmtp } from '../format/h264.js';
import { parseH265Fmtp } from '../format/h265.js';
import type { RtpTrackDescription } from '../container/fmp4/index.js';
import type { AccessUnitSink, SinkTrack } from './container.js';

export type ElementaryKind = 'h264' | 'h265' | 'aac';

/** The rtpmap encoding name of each elementary-stream kind. */
export const ENCODING_OF: Readonly<Record<ElementaryKind, string>> = {
  h264: 'H264',
  h265: 'H265',
  aac: 'MPEG4-GENERIC',
};

/** Writes the access units of one track as an elementary stream: Annex-B H.264/H.265 or ADTS AAC. */
export class ElementaryStreamSink implements AccessUnitSink {
  #started = false;
  readonly #params = new Map<number, Buffer>();
  readonly #paramTypes: readonly number[];
  readonly #adts: { objectType: number; sampleRate: number; channelConfiguration: number } | undefined;
  bytesWritten = 0;
  unitsWritten = 0;

  /** Throws ParseError for malformed parameter sets in the fmtp, Error for an AAC track without config. */
  constructor(
    readonly kind: ElementaryKind,
    readonly track: SinkTrack & RtpTrackDescription,
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

  /** Units of other tracks than this sink's are ignored. */
  push(track: SinkTrack, au: AccessUnit): void {
    if (track.index !== this.track.index) return;
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

  /** Nothing is held back: every unit is written as it comes. */
  finish(): void {}

  #emit(b: Buffer): void {
    this.write(b);
    this.bytesWritten += b.length;
    this.unitsWritten++;
  }
}
