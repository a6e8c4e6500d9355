// `rtspkit play URL -o out.mp4` against rtspkit's own server, which plays the 25 fps H.264+AAC and
// H.265+AAC clips in a loop: a fragmented MP4 that ffprobe reads without a word on stderr, with the
// codecs, size and about the frame counts sent; after --duration, after SIGINT (last fragment flushed)
// and after SIGKILL (the file ends with the last whole fragment written).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RtspServer } from '../src/server/server.js';
import { Mp4LoopSource } from '../src/sources/mp4-loop.js';
import { parseProbe, rtspkit, type Run, run, waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';

const CLIPS = { h264: 'h264_base_aac.mp4', h265: 'h265_aac.mp4' } as const;
const FPS = 25;
/** The clips' keyframe interval: a reader starts up to this much earlier (the server's GOP cache). */
const GOP_SECONDS = 1;
/** 48 kHz AAC: 46.875 frames/s. */
const AAC_FPS = 48000 / 1024;

const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(...Object.values(CLIPS));
let server: RtspServer;
let url: (p: string) => string;
const sources: Mp4LoopSource[] = [];
const dir = mkdtempSync(join(tmpdir(), 'rtspkit-mp4-'));

before(async () => {
  ({ server, url } = await startTestServer());
  if (skip !== false) return;
  for (const [path, clip] of Object.entries(CLIPS)) {
    const source = await Mp4LoopSource.open({ file: mediaPath(clip), loop: true });
    const stream = server.addSourcePath(path, source.media);
    assert.ok(stream !== false);
    source.start(stream);
    sources.push(source);
  }
});
after(async () => {
  for (const s of sources) await s.stop();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], timeoutMs = 20_000): Run {
  return rtspkit(args, timeoutMs);
}

interface Probe {
  codecs: string[];
  width?: number;
  height?: number;
  video: number;
  audio: number;
  stderr: string;
}

async function probeMp4(file: string): Promise<Probe> {
  const r = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'stream=codec_name,codec_type,width,height,nb_read_frames',
      '-of',
      'json',
      file,
    ],
    { timeoutMs: 20_000 },
  ).done;
  assert.equal(r.code, 0, r.stderr);
  const streams = parseProbe(r.stdout);
  const v = streams.find((s) => s.codec_type === 'video');
  const a = streams.find((s) => s.codec_type === 'audio');
  const p: Probe = {
    codecs: streams.map((s) => s.codec_name),
    video: Number(v?.nb_read_frames ?? 0),
    audio: Number(a?.nb_read_frames ?? 0),
    stderr: r.stderr,
  };
  if (v?.width !== undefined) p.width = v.width;
  if (v?.height !== undefined) p.height = v.height;
  return p;
}

/** The top-level boxes of the file; throws unless they tile it exactly (no partial box at the end). */
function topLevelBoxes(file: string): string[] {
  const b = readFileSync(file);
  const types: string[] = [];
  let at = 0;
  while (at < b.length) {
    assert.ok(b.length - at >= 8, `a partial box header at ${at}`);
    const size = b.readUInt32BE(at);
    assert.ok(size >= 8 && at + size <= b.length, `box at ${at} of size ${size} overruns the file`);
    types.push(b.toString('latin1', at + 4, at + 8));
    at += size;
  }
  return types;
}

describe('play to fragmented MP4 from our server', { skip, concurrency: 2 }, () => {
  for (const [path, codec] of [
    ['h264', 'h264'],
    ['h265', 'hevc'],
  ] as const) {
    test(`${CLIPS[path]}: --duration 3 gives ${codec} 640x360 + aac, ~25 frames/s, no ffprobe errors`, async (t) => {
      const file = join(dir, `duration-${path}.mp4`);
      const r = await cli(['play', url(path), '-o', file, '--duration', '3', '--transport', 'tcp']).done;
      assert.equal(r.code, 0, r.stderr);
      const boxes = topLevelBoxes(file);
      assert.deepEqual(boxes.slice(0, 2), ['ftyp', 'moov']);
      const fragments = boxes.filter((b) => b === 'moof').length;
      // A fragment per keyframe (1 s GOP): 3 to 5 of them in 3 s plus the cached GOP.
      assert.ok(fragments >= 3 && fragments <= 6, `${fragments} fragments`);
      const p = await probeMp4(file);
      assert.equal(p.stderr, '', 'ffprobe reads the file without errors');
      assert.deepEqual(p.codecs, [codec, 'aac']);
      assert.deepEqual([p.width, p.height], [640, 360]);
      const min = FPS * 3 - 5;
      const max = FPS * (3 + GOP_SECONDS) + 5;
      assert.ok(p.video >= min && p.video <= max, `${p.video} video frames (expected ${min}..${max})`);
      const aMin = Math.floor(AAC_FPS * 3) - 10;
      const aMax = Math.ceil(AAC_FPS * (3 + GOP_SECONDS)) + 10;
      assert.ok(p.audio >= aMin && p.audio <= aMax, `${p.audio} audio frames (expected ${aMin}..${aMax})`);
      t.diagnostic(`${path}: ${fragments} fragments, ${p.video} video, ${p.audio} audio frames`);
    });
  }

  test('stopped with SIGINT: exit 0 and a file ffprobe reads without errors', async (t) => {
    const file = join(dir, 'sigint.mp4');
    const p = cli(['play', url('h265'), '-o', file, '--transport', 'tcp']);
    await waitFor(() => existsSync(file) && statSync(file).size > 100_000, 15_000, 'the recording');
    await new Promise((res) => setTimeout(res, 1500));
    p.kill('SIGINT');
    const r = await p.done;
    assert.equal(r.code, 0, r.stderr);
    topLevelBoxes(file);
    const probe = await probeMp4(file);
    assert.equal(probe.stderr, '', 'ffprobe reads the file without errors');
    assert.deepEqual(probe.codecs, ['hevc', 'aac']);
    assert.ok(probe.video >= FPS && probe.audio >= 46, `${probe.video} video, ${probe.audio} audio frames`);
    t.diagnostic(`SIGINT: ${probe.video} video, ${probe.audio} audio frames`);
  });

  test('killed with SIGKILL after ~3 s: the file still probes without errors', async (t) => {
    const file = join(dir, 'sigkill.mp4');
    const p = cli(['play', url('h264'), '-o', file, '--transport', 'tcp']);
    // From the first bytes on disk (init segment and first fragment), 3 s of recording.
    await waitFor(() => existsSync(file) && statSync(file).size > 0, 15_000, 'the recording');
    await new Promise((res) => setTimeout(res, 3000));
    p.kill('SIGKILL');
    const r = await p.done;
    assert.equal(r.signal, 'SIGKILL');
    const boxes = topLevelBoxes(file);
    assert.deepEqual(boxes.slice(0, 2), ['ftyp', 'moov']);
    assert.ok(boxes.includes('moof'), `boxes: ${boxes.join(' ')}`);
    const probe = await probeMp4(file);
    assert.equal(probe.stderr, '', 'ffprobe reads the file without errors');
    assert.deepEqual(probe.codecs, ['h264', 'aac']);
    assert.ok(probe.video > 0 && probe.audio > 0, `${probe.video} video, ${probe.audio} audio frames`);
    t.diagnostic(`SIGKILL: ${boxes.length} boxes, ${probe.video} video, ${probe.audio} audio frames`);
  });
});
