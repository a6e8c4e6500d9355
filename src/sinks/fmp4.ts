/**
 * The fragmented-MP4 access-unit sink (ISO/IEC 14496-12 via container/fmp4). The HLS muxer
 * (media/hls-muxer.ts) cuts the same fMP4 into segments and shares this sink's track setup:
 * the choice of tracks (`carriedTracks` with `fmp4TrackFor`) and their timeline (AlignedTracks),
 * both in tracks.ts.
 */
import type { AccessUnit } from '../format/access-unit.js';
import { Fmp4Muxer, reorderDelaySecondsFor, type Fmp4Track } from '../container/fmp4/index.js';
import { ContainerSink, type SinkTrack } from './container.js';

/**
 * Fragmented MP4: the init segment and each moof+mdat fragment go out in one write each, so a process
 * killed at any moment leaves a file valid up to its last whole fragment; `finish` writes the fragment
 * in progress (Ctrl-C, --duration, end of stream).
 */
export class Fmp4Sink extends ContainerSink {
  readonly #mux: Fmp4Muxer;

  constructor(tracks: readonly SinkTrack[], configs: readonly Fmp4Track[], write: (b: Buffer) => void) {
    super(tracks, write);
    // B-frames without negative composition offsets (ffmpeg's mov demuxer shows video late by the
    // largest one): every track presented 0.2 s later with H.264/H.265, as HLS and the recorder do.
    this.#mux = new Fmp4Muxer(configs, { presentationDelaySeconds: reorderDelaySecondsFor(configs) });
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
