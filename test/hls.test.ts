// HLS on the API server against a live path fed by a looping MP4 (h264_base_aac.mp4): the playlist,
// init segment and segments as served, bad requests, the muxer's idle stop, the stream's end, and
// ffmpeg reading the playlist as a player would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ApiServer } from '../src/http/api.js';
import { childBoxes } from '../src/container/mp4/boxes.js';
import { Mp4LoopSource } from '../src/sources/mp4-loop.js';
import { startTestServer } from './support/server.js';
import { run, waitFor } from './support/process.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';

function get(port: number, path: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type']),
          body: Buffer.concat(chunks),
        }),
      );
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`GET ${path}: no answer in 15 s`)));
    req.on('error', reject);
  });
}

async function setup(
  idleTimeoutMs: number,
  clip = CLIP,
): Promise<{
  api: ApiServer;
  source: Mp4LoopSource;
  server: Awaited<ReturnType<typeof startTestServer>>['server'];
  close: () => Promise<void>;
}> {
  const { server } = await startTestServer();
  const source = await Mp4LoopSource.open({ file: mediaPath(clip), clock: server.clock });
  const stream = server.addSourcePath('cam/one', source.media);
  assert.ok(stream !== false);
  source.start(stream);
  const api = new ApiServer({ server, port: 0, processMetrics: false, hls: { idleTimeoutMs } });
  await api.listen();
  return {
    api,
    source,
    server,
    close: async () => {
      await api.close();
      await source.stop();
      await server.close();
    },
  };
}

const segmentNames = (playlist: string): string[] =>
  playlist.split('\n').filter((l) => /^seg\d+\.m4s$/.test(l));

test(
  'a live path read as HLS: playlist, init segment, segments; bad requests answered',
  { skip: skipUnlessMedia(CLIP), timeout: 30_000 },
  async (t) => {
    const { api, server, close } = await setup(60_000);
    try {
      const port = api.port;
      const startedMs = performance.now();
      const pl = await get(port, '/hls/cam/one/index.m3u8');
      const firstPlaylistMs = performance.now() - startedMs;
      assert.equal(pl.status, 200, pl.body.toString());
      assert.equal(pl.type, 'application/vnd.apple.mpegurl');
      const text = pl.body.toString();
      assert.match(
        text,
        /^#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:1\.\d{3},\nseg0\.m4s\n/,
      );
      t.diagnostic(`first playlist after ${firstPlaylistMs.toFixed(0)} ms`);

      const init = await get(port, '/hls/cam/one/init.mp4');
      assert.equal(init.status, 200);
      assert.equal(init.type, 'video/mp4');
      assert.deepEqual(
        childBoxes(init.body, 0, init.body.length).map((b) => b.type),
        ['ftyp', 'moov'],
      );
      const seg = await get(port, `/hls/cam/one/${segmentNames(text)[0]}`);
      assert.equal(seg.status, 200);
      const boxes = childBoxes(seg.body, 0, seg.body.length);
      assert.equal(boxes[0]!.type, 'moof');
      assert.equal(boxes.at(-1)!.end, seg.body.length);

      // The muxer shows in the path's view and in the metrics.
      const paths = JSON.parse((await get(port, '/v1/paths')).body.toString()) as {
        items: { name: string; hlsUrl: string | null; hlsActive: boolean }[];
      };
      assert.deepEqual(
        paths.items.map((p) => [p.name, p.hlsUrl, p.hlsActive]),
        [['cam/one', '/hls/cam/one/index.m3u8', true]],
      );
      const metrics = (await get(port, '/metrics')).body.toString();
      assert.match(metrics, /^rtspkit_hls_muxers 1$/m);

      for (const [path, status] of [
        ['/hls/nope/index.m3u8', 404],
        ['/hls/cam/index.m3u8', 404],
        ['/hls/index.m3u8', 404],
        ['/hls/cam/one/seg-1.m4s', 400],
        ['/hls/cam/one/seg01.m4s', 400],
        ['/hls/cam/one/segx.m4s', 400],
        ['/hls/cam/one/seg99999999999999999999.m4s', 400],
        ['/hls/cam/one/seg999999.m4s', 404],
        ['/hls/cam/one/other.ts', 404],
        ['/hls/cam/one%zz/index.m3u8', 400],
      ] as const) {
        const r = await get(port, path);
        assert.equal(r.status, status, `${path}: ${r.body.toString()}`);
        assert.match(r.type, /^application\/json/);
        assert.ok(typeof (JSON.parse(r.body.toString()) as { error: string }).error === 'string');
      }
      // Still one muxer, still serving.
      assert.equal(api.hls.muxerCount, 1);
      assert.equal(server.paths.get('cam/one')!.stream!.readerCount, 1);
    } finally {
      await close();
    }
  },
);

test(
  'an HLS muxer nobody asks for stops after the idle timeout; one whose stream ends finishes its playlist',
  { skip: skipUnlessMedia(CLIP), timeout: 30_000 },
  async () => {
    const { api, server, close } = await setup(1500);
    try {
      const port = api.port;
      assert.equal((await get(port, '/hls/cam/one/index.m3u8')).status, 200);
      const stream = server.paths.get('cam/one')!.stream!;
      assert.equal(stream.readerCount, 1);
      await waitFor(() => api.hls.muxerCount === 0, 5000, 'the idle muxer to stop');
      assert.equal(stream.readerCount, 0);

      const live = await get(port, '/hls/cam/one/index.m3u8');
      assert.equal(live.status, 200);
      assert.ok(!live.body.toString().includes('#EXT-X-ENDLIST'));
      assert.equal(api.hls.muxerCount, 1);
      server.removeSourcePath('cam/one');
      assert.equal(api.hls.muxerCount, 0, 'no muxer runs once the stream ended');
      // The playlist ends (RFC 8216 §4.3.3.4) and its segments stay readable, so a player plays to the end.
      const ended = await get(port, '/hls/cam/one/index.m3u8');
      assert.equal(ended.status, 200);
      const text = ended.body.toString();
      assert.ok(text.trimEnd().endsWith('#EXT-X-ENDLIST'), text);
      const names = segmentNames(text);
      assert.ok(names.length >= 1);
      assert.equal((await get(port, `/hls/cam/one/${names[names.length - 1]!}`)).status, 200);
      // Until nobody asks for it any more.
      await waitFor(
        () => !api.hls.isActive('cam/one') && api.hls.muxerCount === 0,
        1000,
        'the ended muxer not to count as running',
      );
      await new Promise((r) => setTimeout(r, 2600));
      assert.equal((await get(port, '/hls/cam/one/index.m3u8')).status, 404);
    } finally {
      await close();
    }
  },
);

// Main profile with B-frames (RTP has no decode times: the muxer makes them up) and H.265 too.
for (const [clip, video] of [
  [CLIP, 'h264'],
  ['h264_main_aac.mp4', 'h264'],
  ['h265_aac.mp4', 'hevc'],
] as const) {
  test(
    `ffmpeg plays the HLS playlist of ${clip}: ${video} 640x360 and AAC, decoded without errors`,
    { skip: skipUnlessMedia(clip) || skipUnless('ffmpeg', 'ffprobe'), timeout: 40_000 },
    async () => {
      const { api, close } = await setup(60_000, clip);
      try {
        const url = `http://127.0.0.1:${api.port}/hls/cam/one/index.m3u8`;
        const ff = run(
          'ffmpeg',
          ['-hide_banner', '-v', 'error', '-i', url, '-t', '4', '-progress', 'pipe:1', '-f', 'null', '-'],
          { timeoutMs: 30_000 },
        );
        const r = await ff.done;
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr.trim(), '', 'ffmpeg reported errors');
        const frames = Number(/frame=(\d+)\s*\n(?![\s\S]*frame=)/.exec(r.stdout)?.[1]);
        assert.ok(frames >= 4 * 25 - 5, `decoded ${frames} frames of 4 s`);
        const probe = run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', url], {
          timeoutMs: 20_000,
        });
        const p = await probe.done;
        assert.equal(p.code, 0, p.stderr);
        const streams = (
          JSON.parse(p.stdout) as { streams: { codec_name: string; width?: number; height?: number }[] }
        ).streams;
        assert.deepEqual(streams.map((s) => [s.codec_name, s.width, s.height]).sort(), [
          ['aac', undefined, undefined],
          [video, 640, 360],
        ]);
      } finally {
        await close();
      }
    },
  );
}
