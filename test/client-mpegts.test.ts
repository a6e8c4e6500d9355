// The MPEG-TS writer (src/container/mpegts) checked by ffprobe: MP4 clips (H.264 baseline and main with
// B-frames, H.265, AAC, Opus)
// remuxed access unit by access unit read back with the same codecs, sizes and frame counts, no errors.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mp4Reader } from '../src/container/mp4/reader.js';
import { splitLengthPrefixed } from '../src/container/mp4/nal.js';
import { TsMuxer, type TsTrack } from '../src/container/mpegts/index.js';
import type { AccessUnit } from '../src/format/access-unit.js';
import { fileByteSource } from '../src/sources/file-source.js';
import { parseProbe, run } from './support/process.js';
import { mediaPath, repoRoot, skipUnless, skipUnlessMedia } from './support/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'rtspkit-ts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Remuxes an MP4 to TS; returns the frame count per track. */
async function remux(file: string, out: string): Promise<number[]> {
  const source = await fileByteSource(file);
  try {
    const reader = await Mp4Reader.open(source);
    const tracks = reader.tracks.filter((t) => ['h264', 'h265', 'aac', 'opus'].includes(t.codec));
    const config: TsTrack[] = tracks.map((t) => {
      if (t.codec === 'aac') {
        const a = t.aac!;
        return {
          codec: 'aac',
          aac: {
            objectType: a.audioObjectType,
            sampleRate: a.sampleRate,
            channelConfiguration: a.channelConfiguration,
          },
        };
      }
      if (t.codec === 'opus') return { codec: 'opus', channels: t.channels ?? 2 };
      const ps = t.parameterSets!;
      return { codec: t.codec as 'h264' | 'h265', parameterSets: [...ps.vps, ...ps.sps, ...ps.pps] };
    });
    const mux = new TsMuxer(config);
    const parts: Buffer[] = [];
    const counts = tracks.map(() => 0);
    for await (const s of reader.readSamples(
      0,
      tracks.map((t) => t.id),
    )) {
      const i = tracks.findIndex((t) => t.id === s.trackId);
      const t = tracks[i]!;
      // Shift by 1 s: AAC priming samples have negative times after the edit list.
      const shift = t.timescale;
      const au: AccessUnit = { pts: s.ptsTicks + shift, clockRate: t.timescale, keyframe: s.keyframe };
      if (s.dtsTicks !== s.ptsTicks) au.dts = s.dtsTicks + shift;
      if (t.codec === 'h264' || t.codec === 'h265')
        au.nalus = splitLengthPrefixed(s.data, t.nalLengthSize as 4);
      else au.payload = s.data;
      parts.push(mux.writeAccessUnit(i, au));
      counts[i]!++;
    }
    writeFileSync(out, Buffer.concat(parts));
    return counts;
  } finally {
    await source.close();
  }
}

async function probe(file: string): Promise<{ streams: ReturnType<typeof parseProbe>; stderr: string }> {
  const r = await run(
    'ffprobe',
    ['-v', 'error', '-count_frames', '-of', 'json'].concat([
      '-show_entries',
      'stream=codec_name,width,height,sample_rate,channels,nb_read_frames',
      file,
    ]),
    { timeoutMs: 60_000 },
  ).done;
  assert.equal(r.code, 0, r.stderr);
  return { streams: parseProbe(r.stdout), stderr: r.stderr };
}

describe('MPEG-TS writer read by ffprobe', { skip: skipUnless('ffprobe') }, () => {
  const clips: [string, string, string[], [number, number] | undefined][] = [
    ['h264_base_aac.mp4', mediaPath('h264_base_aac.mp4'), ['h264', 'aac'], [640, 360]],
    ['h264_main_aac.mp4', mediaPath('h264_main_aac.mp4'), ['h264', 'aac'], undefined],
    ['h265_aac.mp4', mediaPath('h265_aac.mp4'), ['hevc', 'aac'], undefined],
    ['opus.mp4', join(repoRoot(), 'src', 'container', 'mp4', 'fixtures', 'opus.mp4'), ['opus'], undefined],
  ];
  for (const [name, file, codecs, size] of clips) {
    test(
      `${name}: codecs, frame counts, no errors`,
      { skip: name === 'opus.mp4' ? false : skipUnlessMedia(name) },
      async (t) => {
        const out = join(dir, `${name}.ts`);
        const counts = await remux(file, out);
        const { streams, stderr } = await probe(out);
        assert.equal(stderr, '', 'ffprobe reads the file without errors');
        assert.deepEqual(
          streams.map((s) => s.codec_name),
          codecs,
        );
        streams.forEach((s, i) => {
          // ffprobe may count the last audio frames differently (padding): allow 2.
          assert.ok(
            Math.abs(Number(s.nb_read_frames) - counts[i]!) <= 2,
            `${s.codec_name}: ${s.nb_read_frames} of ${counts[i]}`,
          );
        });
        if (size !== undefined) assert.deepEqual([streams[0]!.width, streams[0]!.height], size);
        t.diagnostic(
          `wrote ${counts.join('+')} units; ffprobe read ${streams.map((s) => s.nb_read_frames).join('+')}`,
        );
      },
    );
  }
});
