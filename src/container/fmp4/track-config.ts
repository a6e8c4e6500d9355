/**
 * The fMP4 sample entry of an RTP track, from what its SDP says (rtpmap encoding name, clock rate,
 * fmtp): shared by everything that writes fMP4 from RTP (the client's recorder, the HLS muxer).
 */
import { ParseError } from '../../base/errors.js';
import { parseAacFmtp } from '../../format/aac.js';
import { parseH264Fmtp } from '../../format/h264.js';
import { parseH265Fmtp } from '../../format/h265.js';
import type { Fmp4Codec, Fmp4Track } from './muxer.js';

/** The codecs of fMP4 that browsers' MSE plays (HLS carries these; recordings carry every Fmp4Codec). */
export const BROWSER_FMP4_CODECS: ReadonlySet<Fmp4Codec> = new Set(['h264', 'h265', 'aac', 'opus']);

/** What an SDP media section tells about its first RTP format. */
export interface RtpTrackDescription {
  /** rtpmap encoding name, e.g. H264, MPEG4-GENERIC, OPUS. */
  encodingName: string;
  clockRate: number;
  /** fmtp parameters with lower-case names. */
  fmtp: Readonly<Record<string, string>>;
}

/**
 * The fMP4 track for an RTP track, or undefined when fMP4 cannot carry it (or its fmtp is malformed):
 * H.264, H.265, AAC (MPEG4-GENERIC with a config), Opus, Motion JPEG and G.711 (mono: the rtpmap's
 * channel count does not reach here, and G.711 over RTP is mono in practice). The timescale is the RTP
 * clock rate. Browsers (HLS) play only the first four: `BROWSER_FMP4_CODECS`.
 */
export function fmp4TrackFor(track: RtpTrackDescription): Fmp4Track | undefined {
  // The timescale is unsigned 32 bits (mdhd, ISO/IEC 14496-12 §8.4.2); an SDP may say anything.
  if (!Number.isInteger(track.clockRate) || track.clockRate <= 0 || track.clockRate > 0xffffffff)
    return undefined;
  try {
    const timescale = track.clockRate;
    switch (track.encodingName.toUpperCase()) {
      case 'H264': {
        const f = parseH264Fmtp(track.fmtp);
        return { codec: 'h264', timescale, parameterSets: [...f.sps, ...f.pps] };
      }
      case 'H265': {
        const f = parseH265Fmtp(track.fmtp);
        return { codec: 'h265', timescale, parameterSets: [...f.vps, ...f.sps, ...f.pps] };
      }
      case 'MPEG4-GENERIC': {
        const f = parseAacFmtp(track.fmtp);
        if (f.config === undefined || f.audioConfig === undefined) return undefined;
        return { codec: 'aac', timescale, audioSpecificConfig: f.config };
      }
      case 'OPUS': {
        const stereo = track.fmtp['sprop-stereo'] ?? track.fmtp.stereo;
        return { codec: 'opus', timescale, channels: stereo === '0' ? 1 : 2 };
      }
      case 'JPEG':
        return { codec: 'mjpeg', timescale };
      case 'PCMA':
        return { codec: 'pcma', timescale, channels: 1 };
      case 'PCMU':
        return { codec: 'pcmu', timescale, channels: 1 };
      default:
        return undefined;
    }
  } catch (e) {
    if (e instanceof ParseError) return undefined;
    throw e;
  }
}
