// Checks Mp4Reader sample by sample against ffprobe's packet list (-show_packets: pos, size, dts, pts, K
// flag) for every MP4 clip: the test clips, the Opus fixture and the demo. The lists are stored as
// fixtures so that the test needs no ffprobe; a clip that no longer matches its fixture (regenerated
// media are not bit-identical) is probed with ffprobe on the spot. Regenerate the fixtures with
//   RTSPKIT_REGEN_FIXTURES=1 node --import tsx --test src/container/mp4/ffprobe.test.ts
//
// Reconciling ffprobe's times: ffmpeg's mov demuxer subtracts the edit list's media_time (and adds
// initial empty edits) from both dts and pts, exactly as our presentation timeline does, so
// dts/pts are compared as they are. ffprobe's "D" (discard) flag on AAC priming is ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Mp4Reader, bufferSource, type ByteSource } from './reader.js';

function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

const fixtures = join(repoRoot(), 'src', 'container', 'mp4', 'fixtures');
const media = join(repoRoot(), '..', 'shared', 'media');

interface StreamFixture {
  codec: string;
  timeBase: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  extradataSize: number;
  size: number[];
  pos: number[];
  dts: number[];
  pts: number[];
  /** One character per packet: 'K' keyframe, '_' not. */
  key: string;
}

interface Fixture {
  file: string;
  fileSize: number;
  streams: StreamFixture[];
}

const CASES: { name: string; path: string }[] = [
  { name: 'h264_base_aac', path: join(media, 'h264_base_aac.mp4') },
  { name: 'h264_main_aac', path: join(media, 'h264_main_aac.mp4') },
  { name: 'h265_aac', path: join(media, 'h265_aac.mp4') },
  // 2 s of Opus, copied from h264_opus.mkv: `ffmpeg -i h264_opus.mkv -map 0:a -c copy -t 2
  // -fflags +bitexact -map_metadata -1 opus.mp4` (moov after mdat, unlike the faststart files above).
  { name: 'opus', path: join(fixtures, 'opus.mp4') },
  // The demo clip shipped in the repository (scripts/make-demo.sh).
  { name: 'demo', path: join(repoRoot(), 'media', 'demo.mp4') },
];

interface ProbeStream {
  codec_name: string;
  time_base: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  extradata_size?: number;
}
interface ProbePacket {
  stream_index: number;
  pts: number;
  dts: number;
  size: string;
  pos: string;
  flags: string;
}

function probe(path: string): Fixture {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-show_streams', '-show_packets', '-of', 'json', path],
    { maxBuffer: 64 << 20 },
  ).toString();
  const j = JSON.parse(out) as { streams: ProbeStream[]; packets: ProbePacket[] };
  const streams = j.streams.map((s, n): StreamFixture => {
    const packets = j.packets.filter((p) => p.stream_index === n);
    const f: StreamFixture = {
      codec: s.codec_name,
      timeBase: s.time_base,
      extradataSize: s.extradata_size ?? 0,
      size: packets.map((p) => Number(p.size)),
      pos: packets.map((p) => Number(p.pos)),
      dts: packets.map((p) => p.dts),
      pts: packets.map((p) => p.pts),
      key: packets.map((p) => (p.flags.includes('K') ? 'K' : '_')).join(''),
    };
    if (s.width !== undefined) f.width = s.width;
    if (s.height !== undefined) f.height = s.height;
    if (s.sample_rate !== undefined) f.sampleRate = Number(s.sample_rate);
    if (s.channels !== undefined) f.channels = s.channels;
    return f;
  });
  return { file: path.split('/').pop()!, fileSize: statSync(path).size, streams };
}

function hasFfprobe(): boolean {
  try {
    execFileSync('ffprobe', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const CODEC_NAMES: Record<string, string> = { h264: 'h264', hevc: 'h265', aac: 'aac', opus: 'opus' };

/** A ByteSource that answers asynchronously, like a file handle, and counts the bytes read. */
function asyncSource(bytes: Buffer): ByteSource & { bytesRead: number } {
  const s = {
    size: bytes.length,
    bytesRead: 0,
    read(offset: number, length: number): Promise<Buffer> {
      s.bytesRead += length;
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
  };
  return s;
}

for (const c of CASES) {
  test(`${c.name}: every sample matches ffprobe`, async (t) => {
    const fixturePath = join(fixtures, `${c.name}.ffprobe.json`);
    if (!existsSync(c.path)) {
      t.skip(`${c.path} is missing`);
      return;
    }
    if (process.env['RTSPKIT_REGEN_FIXTURES'] === '1') {
      writeFileSync(fixturePath, JSON.stringify(probe(c.path)) + '\n');
    }
    let fx = JSON.parse(readFileSync(fixturePath, 'utf8')) as Fixture;
    const bytes = readFileSync(c.path);
    if (bytes.length !== fx.fileSize) {
      // Regenerated media (not bit-identical between ffmpeg runs): ask ffprobe itself when it is here.
      if (!hasFfprobe()) {
        t.skip(
          `${c.path} differs from the fixture and ffprobe is missing: rerun with RTSPKIT_REGEN_FIXTURES=1`,
        );
        return;
      }
      fx = probe(c.path);
    }

    const source = asyncSource(bytes);
    const r = await Mp4Reader.open(source);
    assert.ok(source.bytesRead < 64 * 1024, `open read ${source.bytesRead} bytes: mdat must not be loaded`);
    assert.equal(r.tracks.length, fx.streams.length);
    fx.streams.forEach((s, n) => {
      const tr = r.tracks[n]!;
      assert.equal(tr.codec, CODEC_NAMES[s.codec], `stream ${n} codec`);
      assert.equal(`1/${tr.timescale}`, s.timeBase);
      // ffmpeg turns dOps into an Ogg OpusHead: the same fields plus the 8-byte 'OpusHead' magic.
      const extra = s.codec === 'opus' ? s.extradataSize - 8 : s.extradataSize;
      assert.equal(tr.codecConfig.length, extra, `stream ${n} extradata`);
      if (s.width !== undefined) assert.equal(tr.width, s.width);
      if (s.height !== undefined) assert.equal(tr.height, s.height);
      if (s.sampleRate !== undefined) assert.equal(tr.sampleRate, s.sampleRate);
      if (s.channels !== undefined) assert.equal(tr.channels, s.channels);
      const tb = tr.samples;
      assert.equal(tb.count, s.size.length, `stream ${n} sample count`);
      for (let i = 0; i < tb.count; i++) {
        const m = `stream ${n} sample ${i}`;
        assert.equal(tb.offset[i], s.pos[i], `${m} offset`);
        assert.equal(tb.size[i], s.size[i], `${m} size`);
        assert.equal(tb.dts[i], s.dts[i], `${m} dts`);
        assert.equal(tb.dts[i]! + tb.ctsOffset[i]!, s.pts[i], `${m} pts`);
        assert.equal(tb.keyframe[i] === 1 ? 'K' : '_', s.key[i], `${m} key`);
      }
    });
  });
}

test('h264_main_aac: reading samples, NAL units, seeking and interleaving', async (t) => {
  const path = join(media, 'h264_main_aac.mp4');
  if (!existsSync(path)) {
    t.skip(`${path} is missing`);
    return;
  }
  const bytes = readFileSync(path);
  const r = await Mp4Reader.open(bufferSource(bytes));
  const [video, audio] = r.tracks;
  assert.ok(video && audio);
  assert.equal(video.kind, 'video');
  assert.equal(audio.kind, 'audio');
  assert.equal(video.edit.shiftTicks, -1024); // B-frame delay: media_time = first cts offset
  assert.equal(audio.edit.shiftTicks, -1024); // AAC priming
  assert.equal(r.durationSeconds, 10);
  assert.equal(video.durationSeconds, 10);
  assert.equal(video.parameterSets?.sps.length, 1);
  assert.equal(video.parameterSets.sps[0]![0]! & 0x1f, 7);
  assert.equal(video.parameterSets.pps[0]![0]! & 0x1f, 8);
  assert.equal(video.nalLengthSize, 4);
  assert.equal(audio.aac?.audioObjectType, 2);

  // Sample bytes come from the right place; NAL units tile the sample exactly.
  for (const i of [0, 1, 25, 249]) {
    const data = await r.readSample(video, i);
    const s = r.sample(video, i);
    assert.deepEqual(data, bytes.subarray(s.offset, s.offset + s.size));
    const nals = await r.readNalUnits(video, i);
    assert.equal(
      nals.reduce((n, x) => n + x.length + 4, 0),
      s.size,
    );
    const types = nals.map((x) => x[0]! & 0x1f);
    assert.equal(types.includes(5), s.keyframe, `sample ${i} IDR iff keyframe`);
  }
  await assert.rejects(r.readNalUnits(audio, 0), { name: 'ParseError', code: 'MP4_UNSUPPORTED' });
  assert.throws(() => r.sample(video, 250), RangeError);

  // GOP = 25 frames = 1 s; keyframe pts are 0, 1, 2 ...
  assert.equal(r.keyframeAtOrBefore(video, 0), 0);
  assert.equal(r.keyframeAtOrBefore(video, 0.999), 0);
  assert.equal(r.keyframeAtOrBefore(video, 1), 25);
  assert.equal(r.keyframeAtOrBefore(video, 9.99), 225);
  assert.equal(r.keyframeAtOrBefore(video, -1), -1);
  assert.equal(r.keyframeAtOrBefore(video, 1e9), 225);
  // B-frames: the sample on screen at 0.04 s (pts 512) is sample 2, decoded after sample 1 (pts 1024).
  assert.equal(r.sampleAtTime(video, 0.04), 2);
  assert.equal(r.sampleAtTime(video, 0.079), 2);
  assert.equal(r.sampleAtTime(video, 0.08), 1);
  assert.equal(r.sampleAtTime(video, -0.5), -1);
  assert.equal(r.sampleAtTime(audio, 0), 1); // sample 0 is priming (pts -1024)
  assert.equal(r.sampleAtTime(audio, 1024 / 48000), 2);

  // The iterator: all samples once, dts (in seconds) non-decreasing.
  const all = [...r.samples()];
  assert.equal(all.length, 250 + 470);
  for (let i = 1; i < all.length; i++) {
    const a = all[i - 1]!;
    const b = all[i]!;
    assert.ok(a.dtsTicks / a.timescale <= b.dtsTicks / b.timescale, `interleave at ${i}`);
  }
  assert.deepEqual(
    all.filter((s) => s.trackId === video.id).map((s) => s.index),
    Array.from({ length: 250 }, (_, i) => i),
  );

  // From 3.5 s: video starts at the keyframe of 3 s, audio at the sample presented at 3 s.
  const plan = r.seek(3.5);
  assert.equal(plan.timeSeconds, 3);
  assert.equal(plan.startIndex[0], 75);
  assert.equal(plan.startIndex[1], r.sampleAtTime(audio, 3));
  const from = [...r.samples(3.5)];
  assert.equal(from.find((s) => s.trackId === video.id)?.index, 75);
  assert.ok(from.find((s) => s.trackId === video.id)?.keyframe);
  assert.equal(from.length, 250 - 75 + 470 - plan.startIndex[1]);

  // Only one track; with data.
  let n = 0;
  for await (const s of r.readSamples(9, [audio.id])) {
    assert.equal(s.trackId, audio.id);
    assert.equal(s.data.length, s.size);
    n++;
  }
  assert.equal(n, 470 - r.sampleAtTime(audio, 9));
});

test('h265_aac: hvcC parameter sets and NAL units', async (t) => {
  const path = join(media, 'h265_aac.mp4');
  if (!existsSync(path)) {
    t.skip(`${path} is missing`);
    return;
  }
  const r = await Mp4Reader.open(bufferSource(readFileSync(path)));
  const video = r.tracks[0]!;
  assert.equal(video.fourcc, 'hvc1');
  const ps = video.parameterSets!;
  assert.deepEqual(
    [ps.vps.length, ps.sps.length, ps.pps.length, (ps.vps[0]![0]! >> 1) & 0x3f, (ps.sps[0]![0]! >> 1) & 0x3f],
    [1, 1, 1, 32, 33],
  );
  assert.equal((ps.pps[0]![0]! >> 1) & 0x3f, 34);
  const types = (await r.readNalUnits(video, 0)).map((x) => (x[0]! >> 1) & 0x3f);
  assert.ok(
    types.some((ty) => ty >= 16 && ty <= 21),
    `IRAP in sample 0: ${types.join(',')}`,
  );
  assert.ok(video.hevc && video.hevc.generalProfileIdc === 1);
});

test('opus: dOps fields', async () => {
  const r = await Mp4Reader.open(bufferSource(readFileSync(join(fixtures, 'opus.mp4'))));
  const a = r.tracks[0]!;
  assert.equal(a.codec, 'opus');
  assert.equal(a.fourcc, 'Opus');
  assert.equal(a.kind, 'audio');
  assert.equal(a.channels, 2);
  assert.equal(a.sampleRate, 48000);
  assert.equal(a.opus?.outputChannelCount, 2);
  assert.equal(a.opus.preSkip, 312);
  assert.equal(a.opus.inputSampleRate, 48000);
  assert.equal(a.opus.channelMappingFamily, 0);
  assert.equal(a.codecConfig.length, 11);
});
