/** The MPEG-TS access-unit sink (ISO/IEC 13818-1 via container/mpegts): every write whole 188-byte packets. */
import { ParseError } from '../base/errors.js';
import type { AccessUnit } from '../format/access-unit.js';
import { parseAacFmtp } from '../format/aac.js';
import { parseH264Fmtp } from '../format/h264.js';
import { parseH265Fmtp } from '../format/h265.js';
import { TsMuxer, type TsTrack } from '../container/mpegts/index.js';
import type { RtpTrackDescription } from '../container/fmp4/index.js';
import { ContainerSink, type SinkTrack } from './container.js';

/** The codec of a track as the MPEG-TS writer knows it, or undefined when it cannot be written there. */
export function tsTrackFor(track: RtpTrackDescription): TsTrack | undefined {
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

/** MPEG-TS: every write is a whole number of 188-byte packets. */
export class TsSink extends ContainerSink {
  readonly #mux: TsMuxer;
  #units = 0;

  constructor(tracks: readonly SinkTrack[], configs: readonly TsTrack[], write: (b: Buffer) => void) {
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
