/**
 * Payload formats by rtpmap encoding name (case-insensitive): H264, H265, MPEG4-GENERIC, OPUS,
 * PCMU, PCMA, JPEG. Both factories take what an SDP media section gives: the encoding name, the
 * clock rate, the channel count and the fmtp parameters.
 */
import { ParseError } from '../base/errors.js';
import type { Depacketizer, Packetizer } from './access-unit.js';
import { AacDepacketizer, AacPacketizer, parseAacFmtp } from './aac.js';
import { G711Depacketizer, G711Packetizer } from './g711.js';
import { H264Depacketizer, H264Packetizer, parseH264Fmtp } from './h264.js';
import { H265Depacketizer, H265Packetizer, parseH265Fmtp } from './h265.js';
import { MjpegDepacketizer, MjpegPacketizer } from './mjpeg.js';
import { OpusDepacketizer, OpusPacketizer } from './opus.js';

export const SUPPORTED_ENCODINGS = ['H264', 'H265', 'MPEG4-GENERIC', 'OPUS', 'PCMU', 'PCMA', 'JPEG'] as const;

export interface FormatParams {
  clockRate: number;
  channels?: number;
  fmtp?: Readonly<Record<string, string>>;
  /** Packetizers: maximum RTP payload size (default 1400). */
  maxPayloadBytes?: number;
  /** Depacketizers: cap on one access unit (default 8 MiB). */
  maxAccessUnitBytes?: number;
}

export function isSupportedEncoding(encodingName: string): boolean {
  return (SUPPORTED_ENCODINGS as readonly string[]).includes(encodingName.toUpperCase());
}

function unsupported(encodingName: string): never {
  throw new ParseError('FORMAT_UNSUPPORTED', `unsupported RTP encoding ${encodingName}`);
}

function opt<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]: Exclude<T[K], undefined> };
}

/** A packetizer for a stream announced as `encodingName`; parameter sets come from fmtp. */
export function createPacketizer(encodingName: string, params: FormatParams): Packetizer {
  const fmtp = params.fmtp ?? {};
  const max = params.maxPayloadBytes;
  switch (encodingName.toUpperCase()) {
    case 'H264': {
      const f = parseH264Fmtp(fmtp);
      return new H264Packetizer(opt({ maxPayloadBytes: max, parameterSets: [...f.sps, ...f.pps] }));
    }
    case 'H265': {
      const f = parseH265Fmtp(fmtp);
      return new H265Packetizer(opt({ maxPayloadBytes: max, parameterSets: [...f.vps, ...f.sps, ...f.pps] }));
    }
    case 'MPEG4-GENERIC': {
      const f = parseAacFmtp(fmtp);
      return new AacPacketizer(
        opt({ clockRate: params.clockRate, maxPayloadBytes: max, frameLength: f.audioConfig?.frameLength }),
      );
    }
    case 'OPUS':
      return new OpusPacketizer();
    case 'PCMU':
    case 'PCMA':
      return new G711Packetizer(
        opt({ clockRate: params.clockRate, channels: params.channels, maxPayloadBytes: max }),
      );
    case 'JPEG':
      return new MjpegPacketizer(opt({ maxPayloadBytes: max }));
    default:
      return unsupported(encodingName);
  }
}

/**
 * A depacketizer for a received stream. Throws ParseError('FORMAT_UNSUPPORTED') for unknown
 * encodings and for variants not implemented: H.264 packetization-mode 2, H.265 with DONL
 * (sprop-max-don-diff > 0), RFC 3640 modes without AU sizes.
 */
export function createDepacketizer(
  encodingName: string,
  clockRate: number,
  fmtp: Readonly<Record<string, string>> = {},
  options: { maxAccessUnitBytes?: number } = {},
): Depacketizer {
  const maxAccessUnitBytes = options.maxAccessUnitBytes;
  switch (encodingName.toUpperCase()) {
    case 'H264': {
      const f = parseH264Fmtp(fmtp);
      if (f.packetizationMode === 2) unsupported('H264 packetization-mode=2 (interleaved)');
      return new H264Depacketizer(opt({ maxAccessUnitBytes, parameterSets: [...f.sps, ...f.pps] }));
    }
    case 'H265': {
      const f = parseH265Fmtp(fmtp);
      if (f.maxDonDiff > 0) unsupported('H265 with sprop-max-don-diff > 0 (DONL)');
      return new H265Depacketizer(opt({ maxAccessUnitBytes, parameterSets: [...f.vps, ...f.sps, ...f.pps] }));
    }
    case 'MPEG4-GENERIC': {
      const f = parseAacFmtp(fmtp);
      if (f.layout.sizeLength === 0)
        unsupported(`MPEG4-GENERIC mode ${f.mode || '(none)'} without sizelength`);
      return new AacDepacketizer(
        opt({ clockRate, layout: f.layout, frameLength: f.audioConfig?.frameLength, maxAccessUnitBytes }),
      );
    }
    case 'OPUS':
      return new OpusDepacketizer();
    case 'PCMU':
    case 'PCMA':
      return new G711Depacketizer(clockRate);
    case 'JPEG':
      return new MjpegDepacketizer(opt({ maxAccessUnitBytes }));
    default:
      return unsupported(encodingName);
  }
}
