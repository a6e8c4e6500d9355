// `rtspkit play URL -o out.ts` against rtspkit's own server, which plays the 25 fps H.264+AAC clip in a
// loop at /live: every track recorded into MPEG-TS that ffprobe reads without errors, for --duration or
// until SIGINT, over udp, tcp and the RTSP-over-HTTP tunnel.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtspClient } from '../src/client/index.js';
import type { AccessUnit } from '../src/format/access-unit.js';
import type { RtspServer } from '../src/server/server.js';
import { Mp4LoopSource } from '../src/sources/mp4-loop.js';
import { parseProbe, rtspkit, type Run, run, waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const FPS = 25;
/** The clip's keyframe interval: a reader starts up to this much earlier (the server's GOP cache). */
const GOP_SECONDS = 1;

const skip = skipUnless('ffprobe') || skipUnlessMedia(CLIP);
let server: RtspServer;
let url: (p: string) => string;
let source: Mp4LoopSource | undefined;
const dir = mkdtempSync(join(tmpdir(), 'rtspkit-rec-'));

before(async () => {
  ({ server, url } = await startTestServer());
  if (skip !== false) return;
  source = await Mp4LoopSource.open({ file: mediaPath(CLIP), loop: true });
  const stream = server.addSourcePath('live', source.media);
  assert.ok(stream !== false);
  source.start(stream);
});
after(async () => {
  await source?.stop();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], timeoutMs = 40_000): Run {
  return rtspkit(args, timeoutMs);
}

async function probeTs(
  file: string,
): Promise<{ video: number; audio: number; width?: number; height?: number; stderr: string }> {
  const r = await run(
    'ffprobe',
    ['-v', 'error', '-count_frames', '-of', 'json'].concat([
      '-show_entries',
      'stream=codec_name,width,height,sample_rate,channels,nb_read_frames',
      file,
    ]),
    { timeoutMs: 30_000 },
  ).done;
  assert.equal(r.code, 0, r.stderr);
  const streams = parseProbe(r.stdout);
  assert.deepEqual(
    streams.map((s) => s.codec_name),
    ['h264', 'aac'],
  );
  const [v, a] = streams;
  const out: { video: number; audio: number; width?: number; height?: number; stderr: string } = {
    video: Number(v!.nb_read_frames),
    audio: Number(a!.nb_read_frames),
    stderr: r.stderr,
  };
  if (v!.width !== undefined) out.width = v!.width;
  if (v!.height !== undefined) out.height = v!.height;
  return out;
}

describe('play to MPEG-TS from our server', { skip, concurrency: 2 }, () => {
  for (const transport of ['udp', 'tcp', 'http'] as const) {
    test(`--duration 3 over ${transport}: video and audio, ~25 frames/s`, async (t) => {
      const file = join(dir, `duration-${transport}.ts`);
      const r = await cli(['play', url('live'), '-o', file, '--duration', '3', '--transport', transport])
        .done;
      assert.equal(r.code, 0, r.stderr);
      const p = await probeTs(file);
      assert.equal(p.stderr, '', 'ffprobe reads the file without errors');
      assert.deepEqual([p.width, p.height], [640, 360]);
      const min = FPS * 3 - 5;
      const max = FPS * (3 + GOP_SECONDS) + 5;
      assert.ok(p.video >= min && p.video <= max, `${p.video} video frames (expected ${min}..${max})`);
      // 48 kHz AAC: 46.875 frames/s.
      assert.ok(p.audio >= 46 * 3 - 10, `${p.audio} audio frames`);
      t.diagnostic(`${transport}: ${p.video} video, ${p.audio} audio frames`);
    });
  }

  test('stopped with SIGINT: exit 0 and a readable file', async (t) => {
    const file = join(dir, 'sigint.ts');
    const p = cli(['play', url('live'), '-o', file, '--transport', 'tcp']);
    await waitFor(() => existsSync(file) && statSync(file).size > 100_000, 20_000, 'the recording');
    await new Promise((res) => setTimeout(res, 1500));
    p.kill('SIGINT');
    const r = await p.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(file).size % 188, 0, 'whole TS packets');
    const probe = await probeTs(file);
    assert.equal(probe.stderr, '');
    assert.ok(probe.video >= FPS && probe.audio >= 46, `${probe.video} video, ${probe.audio} audio frames`);
    t.diagnostic(`SIGINT: ${probe.video} video, ${probe.audio} audio frames`);
  });

  test('RtspClient with an rtsph:// URL plays through the HTTP tunnel', async () => {
    const client = new RtspClient(url('live').replace(/^rtsp:/, 'rtsph:'));
    client.on('error', () => undefined);
    assert.equal(client.httpTunnel, true);
    const video: AccessUnit[] = [];
    let audio = 0;
    client.on('accessUnit', (t, au) => {
      if (t.type === 'video') video.push(au);
      else audio++;
    });
    const d = await client.describe();
    assert.deepEqual(
      d.tracks.map((t) => t.encodingName),
      ['H264', 'MPEG4-GENERIC'],
    );
    await client.setup({ transport: 'udp' }); // interleaved anyway inside the tunnel
    assert.equal(client.transport, 'tcp');
    await client.play();
    await waitFor(() => video.length >= 50 && audio >= 50, 15_000, '2 s of media');
    assert.equal(video[0]!.keyframe, true);
    assert.equal(client.stats()[0]!.packetsLost, 0);
    await client.teardown();
    client.close();
  });
});
