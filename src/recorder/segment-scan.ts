/**
 * What a segment file on disk holds, read without loading it: box headers are read one by one and the
 * `mdat`s skipped, so a 1-hour file costs a few reads per part. The duration counts complete parts only
 * (a `moof` whose `mdat` is whole): a tail cut by a crash or a full disk is ignored, as a player would.
 *
 * Wall-clock times come from the `prft` before each part (the server's clock at receipt); a file
 * without them (not ours, or older) falls back to the start time of its name and its media durations.
 */
import { open } from 'node:fs/promises';
import { isParseError, ParseError } from '../base/errors.js';
import {
  readBoxHeader,
  readFragmentTiming,
  readMovieTracks,
  readProducerReferenceTime,
  type ProducerReferenceTime,
  type RecordedTrackInfo,
} from './segment-boxes.js';

/** Largest `moov` or `moof` read whole; a bigger one is damage (ours are a few kB). */
const MAX_HEADER_BOX_BYTES = 16 * 1024 * 1024;

export interface ScannedSegment {
  /** Wall-clock start of the first complete part; undefined when no part is complete. */
  startMs: number | undefined;
  durationMs: number;
  codecs: string[];
  /** Bytes up to the end of the last complete part (what a reader can use). */
  usableBytes: number;
  sizeBytes: number;
  parts: number;
}

/**
 * Scans `file`. `fallbackStartMs` (from its name) is used when it has no `prft`. Throws ParseError when
 * the file is not an fMP4 we can read (no `moov`, damaged headers), and the fs errors of reading it.
 */
export async function scanSegmentFile(file: string, fallbackStartMs?: number): Promise<ScannedSegment> {
  const handle = await open(file, 'r');
  try {
    const sizeBytes = (await handle.stat()).size;
    const read = async (at: number, bytes: number): Promise<Buffer> => {
      const b = Buffer.alloc(bytes);
      const { bytesRead } = await handle.read(b, 0, bytes, at);
      return b.subarray(0, bytesRead);
    };
    let tracks: RecordedTrackInfo[] | undefined;
    let pendingPrft: ProducerReferenceTime | undefined;
    let pendingMoof: { prft: ProducerReferenceTime | undefined; durationMs: number } | undefined;
    let first: { wallMs: number } | undefined;
    let mediaMs = 0;
    let endMs: number | undefined;
    let usableBytes = 0;
    let parts = 0;
    let at = 0;
    while (at + 8 <= sizeBytes) {
      const header = readBoxHeader(await read(at, 16));
      if (header === undefined) break;
      const size = header.sizeBytes ?? sizeBytes - at;
      const end = at + size;
      if (end > sizeBytes) break; // cut by a crash: the rest is not usable
      const body = async (): Promise<Buffer> => {
        if (size > MAX_HEADER_BOX_BYTES)
          throw new ParseError('RECORDING_BAD_BOX', `${header.type} of ${size} bytes`);
        return read(at + header.headerBytes, size - header.headerBytes);
      };
      switch (header.type) {
        case 'moov':
          tracks = readMovieTracks(await body());
          usableBytes = end;
          break;
        case 'prft':
          pendingPrft = readProducerReferenceTime(await body());
          break;
        case 'moof': {
          if (tracks === undefined) throw new ParseError('RECORDING_BAD_BOX', 'moof before moov');
          const timing = readFragmentTiming(await body());
          const refId = pendingPrft?.referenceTrackId ?? timing[0]?.trackId;
          const ref = timing.find((t) => t.trackId === refId) ?? timing[0];
          const timescale = tracks.find((t) => t.trackId === ref?.trackId)?.timescale ?? 0;
          const durationMs = ref !== undefined && timescale > 0 ? (ref.durationTicks * 1000) / timescale : 0;
          pendingMoof = { prft: pendingPrft, durationMs };
          pendingPrft = undefined;
          break;
        }
        case 'mdat':
          if (pendingMoof !== undefined) {
            const partStart = pendingMoof.prft?.wallMs ?? (fallbackStartMs ?? 0) + mediaMs;
            first ??= { wallMs: partStart };
            mediaMs += pendingMoof.durationMs;
            endMs = partStart + pendingMoof.durationMs;
            usableBytes = end;
            parts++;
            pendingMoof = undefined;
          }
          break;
        default:
          break;
      }
      at = end;
    }
    if (tracks === undefined) throw new ParseError('RECORDING_BAD_BOX', 'no moov: not an fMP4 recording');
    const startMs = first?.wallMs;
    return {
      startMs,
      durationMs: startMs !== undefined && endMs !== undefined ? Math.max(0, endMs - startMs) : 0,
      codecs: tracks.map((t) => t.codec),
      usableBytes,
      sizeBytes,
      parts,
    };
  } catch (err) {
    if (isParseError(err)) throw err;
    if (err instanceof RangeError) throw new ParseError('RECORDING_BAD_BOX', err.message);
    throw err;
  } finally {
    await handle.close();
  }
}
