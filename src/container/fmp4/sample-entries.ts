/**
 * The sample entries of an initialization segment as raw bytes, by track: what a writer copies when it
 * re-muxes recorded samples (an export to MP4 or fMP4) without knowing the codec, so every codec the
 * recorder stored survives the export unchanged, configuration boxes (`btrt`, `colr`, `pasp`...) included.
 * The path is moov/trak/{tkhd, mdia/minf/stbl/stsd} (ISO/IEC 14496-12 §8.3.2, §8.5.2); the first entry of
 * `stsd` is the one fragments use (trex and tfhd select description 1 in what we write and read).
 */
import { ParseError } from '../../base/errors.js';
import { childBoxes, Cursor, requireBox } from '../mp4/boxes.js';

/** trackId → the first `stsd` entry (a whole box: size, type, body), copied. ParseError when malformed. */
export function readInitSampleEntries(init: Buffer): Map<number, Buffer> {
  const moov = requireBox(childBoxes(init, 0, init.length), 'moov', 'init segment');
  const out = new Map<number, Buffer>();
  for (const trak of childBoxes(init, moov.payload, moov.end)) {
    if (trak.type !== 'trak') continue;
    const trakBoxes = childBoxes(init, trak.payload, trak.end);
    const tkhd = Cursor.ofBox(init, requireBox(trakBoxes, 'tkhd', 'trak'));
    const version = tkhd.fullBox().version;
    tkhd.skip(version === 1 ? 16 : 8); // creation and modification times
    const trackId = tkhd.u32();
    const mdia = requireBox(trakBoxes, 'mdia', 'trak');
    const minf = requireBox(childBoxes(init, mdia.payload, mdia.end), 'minf', 'mdia');
    const stbl = requireBox(childBoxes(init, minf.payload, minf.end), 'stbl', 'minf');
    const stsd = requireBox(childBoxes(init, stbl.payload, stbl.end), 'stsd', 'stbl');
    // stsd: version and flags, entry_count, then the entries (§8.5.2.2).
    const entry = childBoxes(init, stsd.payload + 8, stsd.end)[0];
    if (entry === undefined)
      throw new ParseError('MP4_BAD_BOX', `track ${trackId}: 'stsd' has no sample entry`);
    out.set(trackId, Buffer.from(init.subarray(entry.start, entry.end)));
  }
  return out;
}
