/**
 * Recordings made without the recorder, for tests of what reads them: ffmpeg cuts a clip into fMP4
 * segment files as the recorder lays them out (`ftyp` + `moov`, then `moof` + `mdat` per part, a `prft`
 * before the first `moof` tying media time 0 to the segment's wall-clock start), named by the default
 * template `%path/%Y-%m-%d_%H-%M-%S-%f`; `ListCatalog` is a RecordingCatalog over such a list.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prftBox } from '../../src/container/fmp4/prft.js';
import type { RecordedSegment, RecordedSpan, RecordingCatalog } from '../../src/recorder/catalog.js';
import type { App } from '../../src/app.js';
import { run, waitFor } from './process.js';

/** The file's bytes with `insert` placed before its first top-level `moof`. */
function insertBeforeFirstMoof(file: Buffer, insert: Buffer): Buffer {
  for (let at = 0; at + 8 <= file.length;) {
    const size = file.readUInt32BE(at);
    if (file.toString('latin1', at + 4, at + 8) === 'moof')
      return Buffer.concat([file.subarray(0, at), insert, file.subarray(at)]);
    if (size < 8) break;
    at += size;
  }
  throw new Error('no moof in the fMP4 file');
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** The default template's file name for a wall-clock time (UTC here). */
export function segmentFileName(dir: string, path: string, startMs: number): string {
  const d = new Date(startMs);
  const stamp =
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}_` +
    `${pad(d.getUTCHours())}-${pad(d.getUTCMinutes())}-${pad(d.getUTCSeconds())}-${pad(d.getUTCMilliseconds() * 1000, 6)}`;
  return join(dir, path, `${stamp}.mp4`);
}

/**
 * Cuts `clip` (keyframes at the cut points) into one segment per [fromS, toS) of `cuts`, the first starting
 * at `startMs` on the wall clock, each at `startMs + fromS` (gaps where the cuts leave them).
 */
export async function makeRecordings(
  clip: string,
  dir: string,
  path: string,
  startMs: number,
  cuts: readonly [number, number][],
): Promise<RecordedSegment[]> {
  const out: RecordedSegment[] = [];
  for (const [fromS, toS] of cuts) {
    const segStartMs = startMs + fromS * 1000;
    const file = segmentFileName(dir, path, segStartMs);
    mkdirSync(join(dir, path), { recursive: true });
    const r = await run(
      'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-y', '-ss', String(fromS), '-t', String(toS - fromS)],
        ...['-i', clip, '-map', '0', '-c', 'copy', '-f', 'mp4'],
        ...['-movflags', 'frag_keyframe+empty_moov+default_base_moof', file],
      ],
      { timeoutMs: 30_000 },
    ).done;
    if (r.code !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
    writeFileSync(file, insertBeforeFirstMoof(readFileSync(file), prftBox(1, segStartMs, 0)));
    out.push({
      path,
      file,
      startMs: segStartMs,
      durationMs: (toS - fromS) * 1000,
      codecs: ['h264', 'aac'],
      open: false,
    });
  }
  return out;
}

/** A RecordingCatalog over a fixed list of segments. */
export class ListCatalog implements RecordingCatalog {
  constructor(private readonly list: readonly RecordedSegment[]) {}

  paths(): string[] {
    return [...new Set(this.list.map((s) => s.path))];
  }

  segments(path: string, fromMs = -Infinity, toMs = Infinity): RecordedSegment[] {
    return this.list
      .filter((s) => s.path === path && s.startMs < toMs && s.startMs + s.durationMs > fromMs)
      .sort((a, b) => a.startMs - b.startMs);
  }

  spans(path: string, maxGapMs = 1000): RecordedSpan[] {
    const spans: RecordedSpan[] = [];
    for (const s of this.segments(path)) {
      const last = spans[spans.length - 1];
      if (last !== undefined && s.startMs - (last.startMs + last.durationMs) <= maxGapMs)
        last.durationMs = s.startMs + s.durationMs - last.startMs;
      else spans.push({ startMs: s.startMs, durationMs: s.durationMs });
    }
    return spans;
  }

  onChange(): () => void {
    return () => undefined;
  }
}

/**
 * Waits until `app`'s recorders have all stopped (the publisher left) with `path` recorded, and every
 * segment's file is closed and catalogued; returns the path's segments.
 */
export async function closedSegments(app: App, path: string): Promise<RecordedSegment[]> {
  const catalog = app.recordings.catalog;
  await waitFor(
    () => app.recordings.recorders().length === 0 && catalog.segments(path).length > 0,
    10_000,
    'the segments to be closed',
  );
  await app.recordings.settled();
  return catalog.segments(path);
}
