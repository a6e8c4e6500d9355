/**
 * Recordings for playback tests, made without the recorder (test/support/recordings.ts cuts them with
 * ffmpeg instead): a clip's samples muxed by our own Fmp4Muxer
 * into fMP4 segment files (init + `prft` + `moof` + `mdat` per part) named per the recorder's template
 * (`<dir>/<path>/%Y-%m-%d_%H-%M-%S-%f.mp4`), and a tiny RecordingCatalog over them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childBoxes } from '../../src/container/mp4/boxes.js';
import { bufferSource, Mp4Reader } from '../../src/container/mp4/reader.js';
import { Fmp4Muxer, type Fmp4Track } from '../../src/container/fmp4/muxer.js';
import { prftBox } from '../../src/container/fmp4/prft.js';
import { indexFmp4Buffer, type Fmp4Index } from '../../src/container/fmp4/reader.js';
import type { AccessUnit } from '../../src/format/access-unit.js';
import type { RecordedSegment, RecordedSpan, RecordingCatalog } from '../../src/recorder/catalog.js';

export interface SegmentSpec {
  /** Wall-clock time (ms) of the segment's first video keyframe. */
  startMs: number;
  /** Where in the clip it starts (the keyframe at or before) and how long it lasts. */
  fromS: number;
  seconds: number;
}

export interface TestSegment extends RecordedSegment {
  index: Fmp4Index;
  /** Wall-clock ms of media time 0 of the file. */
  wallAtZeroMs: number;
}

/** The recorder's file name for a start time: `%Y-%m-%d_%H-%M-%S-%f` (UTC, microseconds). */
export function segmentFileName(startMs: number): string {
  const iso = new Date(startMs).toISOString(); // 2026-12-06T10:15:00.250Z
  return `${iso.slice(0, 10)}_${iso.slice(11, 19).replace(/:/g, '-')}-${iso.slice(20, 23)}000.mp4`;
}

/** Writes one segment per spec from `clip` into `<dir>/<path>/`. */
export async function writeRecording(
  dir: string,
  path: string,
  clip: string,
  specs: readonly SegmentSpec[],
): Promise<TestSegment[]> {
  const mp4 = await Mp4Reader.open(bufferSource(readFileSync(clip)));
  mkdirSync(join(dir, path), { recursive: true });
  const out: TestSegment[] = [];
  for (const spec of specs) {
    const tracks: Fmp4Track[] = mp4.tracks.map((t) =>
      t.codec === 'h264'
        ? {
            codec: 'h264',
            timescale: 90000,
            parameterSets: [...t.parameterSets!.sps, ...t.parameterSets!.pps],
          }
        : { codec: 'aac', timescale: t.timescale, audioSpecificConfig: t.codecConfig },
    );
    const mux = new Fmp4Muxer(tracks);
    const parts: Buffer[] = [];
    // Media time 1 s (the muxer takes times >= 0; B-frame decode times precede their pts) is startMs.
    const emit = (b: Buffer | undefined): void => {
      if (!b) return;
      for (const box of childBoxes(b, 0, b.length)) {
        if (box.type === 'moof') parts.push(prftBox(1, spec.startMs, 90000));
        parts.push(b.subarray(box.start, box.end));
      }
    };
    let originS: number | undefined;
    for await (const s of mp4.readSamples(spec.fromS)) {
      const n = mp4.tracks.findIndex((t) => t.id === s.trackId);
      const track = mp4.tracks[n]!;
      if (track.codec === 'h264' && originS === undefined) originS = s.ptsTicks / s.timescale;
      if (originS === undefined) continue;
      if (s.dtsTicks / s.timescale >= originS + spec.seconds) break;
      const rate = tracks[n]!.timescale;
      const at = (ticks: number): number => Math.round((ticks / s.timescale - originS! + 1) * rate);
      const au: AccessUnit =
        track.codec === 'h264'
          ? {
              pts: at(s.ptsTicks),
              dts: at(s.dtsTicks),
              clockRate: rate,
              keyframe: s.keyframe,
              nalus: await mp4.readNalUnits(track, s.index),
            }
          : { pts: at(s.ptsTicks), clockRate: rate, keyframe: true, payload: s.data };
      emit(mux.push(n, au));
    }
    emit(mux.flush());
    const bytes = Buffer.concat(parts);
    const file = join(dir, path, segmentFileName(spec.startMs));
    writeFileSync(file, bytes);
    const index = indexFmp4Buffer(bytes);
    let endS = 0;
    for (const f of index.fragments)
      for (const run of f.runs) {
        const ts = index.tracks.find((t) => t.trackId === run.trackId)!.timescale;
        const last = run.count - 1;
        endS = Math.max(endS, (run.decodeTime[last]! + run.duration[last]!) / ts);
      }
    out.push({
      path,
      file,
      startMs: spec.startMs,
      durationMs: Math.round((endS - 1) * 1000),
      codecs: index.tracks.map((t) => t.codec),
      open: false,
      index,
      wallAtZeroMs: spec.startMs - 1000,
    });
  }
  return out;
}

/** A RecordingCatalog over fixed segments (the recorder's catalog replaces it in the app). */
export function fixedCatalog(segments: readonly RecordedSegment[]): RecordingCatalog {
  const sorted = [...segments].sort((a, b) => a.startMs - b.startMs);
  return {
    paths: () => [...new Set(sorted.map((s) => s.path))],
    segments: (path, fromMs = -Infinity, toMs = Infinity) =>
      sorted.filter((s) => s.path === path && s.startMs + s.durationMs > fromMs && s.startMs < toMs),
    spans: (path, maxGapMs = 1000) => {
      const spans: RecordedSpan[] = [];
      for (const s of sorted.filter((x) => x.path === path)) {
        const last = spans.at(-1);
        if (last !== undefined && s.startMs - (last.startMs + last.durationMs) <= maxGapMs)
          last.durationMs = s.startMs + s.durationMs - last.startMs;
        else spans.push({ startMs: s.startMs, durationMs: s.durationMs });
      }
      return spans;
    },
    onChange: () => () => undefined,
  };
}

/** Wall-clock ms of every video sample recorded (pts), in order, with its keyframe flag and segment. */
export function recordedVideoSamples(
  segments: readonly TestSegment[],
): { wallMs: number; key: boolean; segment: number }[] {
  const out: { wallMs: number; key: boolean; segment: number }[] = [];
  segments.forEach((s, segment) => {
    const video = s.index.tracks.find((t) => t.kind === 'video')!;
    for (const f of s.index.fragments)
      for (const run of f.runs) {
        if (run.trackId !== video.trackId) continue;
        for (let i = 0; i < run.count; i++)
          out.push({
            wallMs:
              s.wallAtZeroMs + ((run.decodeTime[i]! + run.compositionOffset[i]!) / video.timescale) * 1000,
            key: run.sync[i] === 1,
            segment,
          });
      }
  });
  return out;
}
