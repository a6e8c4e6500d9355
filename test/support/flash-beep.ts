/**
 * A/V alignment as a player sees it: a clip whose every second has a white video frame and a 1 kHz beep
 * at the same instant, and what a decoder makes of a copy of it (ffmpeg's signalstats and astats).
 * The flash sits 0.4 s into each second, on a B- or P-frame rather than the keyframe, so composition
 * offsets count.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './process.js';

export const FLASH_BEEP_AUDIO_RATE = 48000;
/** A flash: video mean luma over this; a beep: audio RMS over this (dBFS). */
const LUMA_FLASH = 100;
const BEEP_DBFS = -30;

/** H.264 Main with two B-frames, 25 fps, GOP 1 s, AAC-LC 48 kHz stereo, `seconds` long. */
export async function makeFlashBeepClip(file: string, seconds: number): Promise<void> {
  const out = await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-y'].concat(
      ['-f', 'lavfi', '-i'],
      [
        `color=c=black:s=320x240:r=25:d=${seconds},` +
          "drawbox=c=white:t=fill:enable='between(mod(t\\,1)\\,0.39\\,0.43)'",
      ],
      // aevalsrc gates per sample (a `volume` enable would gate per 1024-sample frame of `sine`).
      ['-f', 'lavfi', '-i'],
      [
        `aevalsrc='0.5*sin(2*PI*1000*t)*between(mod(t\\,1)\\,0.4\\,0.5)'` +
          `:s=${FLASH_BEEP_AUDIO_RATE}:d=${seconds}:c=stereo`,
      ],
      ['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-bf', '2', '-pix_fmt', 'yuv420p'],
      ['-g', '25', '-keyint_min', '25', '-sc_threshold', '0'],
      ['-c:a', 'aac', '-b:a', '96k', '-ar', String(FLASH_BEEP_AUDIO_RATE), '-ac', '2', file],
    ),
    { timeoutMs: 30_000 },
  ).done;
  assert.equal(out.code, 0, out.stderr);
}

/** Times (s) at which `loud` turns true, from frames a metadata filter printed (`pts_time:` lines). */
function onsets(printed: string, key: string, loud: (value: string) => boolean): number[] {
  const out: number[] = [];
  let t: number | undefined;
  let was: boolean | undefined;
  for (const line of printed.split('\n')) {
    const time = /pts_time:(\S+)/.exec(line);
    if (time !== null) t = Number(time[1]);
    else if (line.startsWith(`${key}=`) && t !== undefined) {
      const now = loud(line.slice(key.length + 1));
      // Only a change seen whole: the reader's first frame may be in the middle of a flash.
      if (now && was === false) out.push(t);
      was = now;
    }
  }
  return out;
}

export interface Onsets {
  flashes: number[];
  beeps: number[];
}

/** Decodes `input` (ffmpeg input options and `-i`) to the end; the flash and beep onsets it sees. */
export async function detectFlashBeep(
  dir: string,
  name: string,
  input: string[],
  timeoutMs = 40_000,
): Promise<Onsets> {
  const vFile = join(dir, `${name}-v.txt`);
  const aFile = join(dir, `${name}-a.txt`);
  const graph =
    `[0:v]signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=${vFile}[v];` +
    `[0:a]asetnsamples=n=48:p=0,astats=metadata=1:reset=1,` +
    `ametadata=print:key=lavfi.astats.Overall.RMS_level:file=${aFile}[a]`;
  const out = await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', ...input].concat([
      '-filter_complex',
      graph,
      '-map',
      '[v]',
      '-map',
      '[a]',
      '-f',
      'null',
      '-',
    ]),
    { timeoutMs },
  ).done;
  assert.equal(out.code, 0, `${name}: ${out.stderr}`);
  return {
    flashes: onsets(await readFile(vFile, 'utf8'), 'lavfi.signalstats.YAVG', (v) => Number(v) > LUMA_FLASH),
    beeps: onsets(
      await readFile(aFile, 'utf8'),
      'lavfi.astats.Overall.RMS_level',
      (v) => v !== '-inf' && Number(v) > BEEP_DBFS,
    ),
  };
}

/** Each flash's distance (s, audio minus video) to the nearest beep onset. */
export function beepMinusFlash({ flashes, beeps }: Onsets): number[] {
  return flashes.map((f) => {
    let best = Infinity;
    for (const b of beeps) if (Math.abs(b - f) < Math.abs(best)) best = b - f;
    return best;
  });
}
