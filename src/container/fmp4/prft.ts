/**
 * The producer reference time box, `prft` (ISO/IEC 14496-12 §8.16.5): written before a `moof`, it ties
 * a media time of one track to a wall-clock (NTP) time (the recorder names a presentation time: decode
 * time + composition offset of the part's first sample). A recording puts one before every part, so each
 * part keeps its absolute time even when the file is cut; `parsePrft` (reader.ts) reads it back.
 */
import { unixMsToNtp } from '../../base/clock.js';
import { fullBox, u32, u64 } from '../mp4/box-writer.js';

/**
 * A version 1 `prft` (64-bit media time) saying that `mediaTime` of track `referenceTrackId` is
 * `wallClockMs`. `flags` (§8.16.5.3) say which moment that is; readers here do not depend on them.
 */
export function prftBox(referenceTrackId: number, wallClockMs: number, mediaTime: number, flags = 0): Buffer {
  const ntp = unixMsToNtp(wallClockMs);
  return fullBox('prft', 1, flags, u32(referenceTrackId, ntp.seconds, ntp.fraction), u64(mediaTime));
}
