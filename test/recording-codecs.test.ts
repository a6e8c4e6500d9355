// Recording Motion JPEG and G.711: ffmpeg publishes each to a `record: true` path of the whole app; the
// segment files (fMP4: `mp4v` with objectTypeIndication 0x6C, `alaw`, `ulaw`) and their exports (mp4 and
// fmp4 through /v1/recordings/NAME/get) are read back with ffprobe, every frame or packet counted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type App } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import type { Stream } from '../src/media/stream.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, probeFrames, run, waitFor } from './support/process.js';
import { LOOPBACK_APP_CONFIG_LINES } from './support/server.js';

interface Clip {
  path: string;
  file: string;
  /** ffmpeg's output options (ffmpeg's RTP JPEG packetizer needs the standard Huffman tables). */
  encode: string[];
  /** What ffprobe calls it. */
  codecName: string;
  /** What the catalog calls it. */
  codec: string;
}

const CLIPS: Clip[] = [
  {
    path: 'mjpeg',
    file: 'mjpeg.mkv',
    encode: ['-c:v', 'mjpeg', '-huffman', 'default', '-q:v', '8'],
    codecName: 'mjpeg',
    codec: 'mjpeg',
  },
  { path: 'pcma', file: 'pcma.wav', encode: ['-c', 'copy'], codecName: 'pcm_alaw', codec: 'pcma' },
  { path: 'pcmu', file: 'pcmu.wav', encode: ['-c', 'copy'], codecName: 'pcm_mulaw', codec: 'pcmu' },
];
const SECONDS = 2;

const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(...CLIPS.map((c) => c.file));

describe('recording MJPEG and G.711', { skip }, () => {
  let dir: string;
  let app: App;
  /** Access units the server got per path. */
  const received = new Map<string, number>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rtspkit-rec-codecs-'));
    app = await startApp(
      parseConfig(
        [
          ...LOOPBACK_APP_CONFIG_LINES,
          'pathDefaults:',
          '  record: true',
          `  recordPath: ${JSON.stringify(join(dir, '%path', '%Y-%m-%d_%H-%M-%S-%f'))}`,
        ].join('\n'),
      ),
    );
    const url = (path: string): string => `rtsp://127.0.0.1:${app.server.port}/${path}`;
    const pubs = CLIPS.map((c) =>
      run(
        'ffmpeg',
        ['-hide_banner', '-loglevel', 'error', '-re', '-i', mediaPath(c.file), '-t', String(SECONDS)].concat([
          '-map',
          '0',
          ...c.encode,
          '-f',
          'rtsp',
          '-rtsp_transport',
          'tcp',
          url(c.path),
        ]),
        { timeoutMs: 30_000 },
      ),
    );
    const streams = new Map<string, Stream>();
    await waitFor(
      () =>
        CLIPS.every(({ path }) => {
          const s = app.server.paths.get(path)?.stream;
          if (s !== undefined) streams.set(path, s);
          return s !== undefined;
        }),
      10_000,
      'the publishes',
    );
    for (const p of pubs) {
      const r = await p.done;
      assert.equal(r.code, 0, r.stderr);
    }
    await waitFor(() => app.recordings.recorders().length === 0, 10_000, 'the recorders to stop');
    await app.recordings.settled();
    for (const [path, s] of streams) received.set(path, s.accessUnitsIn);
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const clip of CLIPS) {
    test(`${clip.file}: the segment holds every ${clip.codecName} access unit; its mp4 and fmp4 exports too`, async () => {
      const [segment, ...more] = app.recordings.catalog.segments(clip.path);
      assert.ok(segment !== undefined, `${clip.path} recorded`);
      assert.equal(more.length, 0);
      assert.deepEqual(segment.codecs, [clip.codec], 'the catalog (rebuilt from the file) names the codec');
      const sent = received.get(clip.path)!;
      // ffmpeg fills G.711 packets up to its payload size (1400 bytes, 175 ms): few but whole.
      const expected = clip.codec === 'mjpeg' ? SECONDS * 25 - 2 : (SECONDS * 8000) / 1400 - 1;
      assert.ok(sent >= expected, `${sent} access units received`);

      const counted = async (target: string): Promise<number> => {
        const probe = await probeFrames(target).done;
        assert.equal(probe.code, 0, probe.stderr);
        const [stream, ...others] = parseProbe(probe.stdout);
        assert.equal(others.length, 0);
        assert.equal(stream!.codec_name, clip.codecName, target);
        if (clip.codec === 'mjpeg') {
          assert.equal(stream!.width, 640);
          assert.equal(stream!.height, 360);
        }
        return Number(stream!.nb_read_frames);
      };
      assert.equal(await counted(segment.file), sent, 'frames (packets for G.711) in the segment');

      const api = `http://127.0.0.1:${app.api!.port}`;
      const start = new Date(segment.startMs).toISOString();
      for (const format of ['mp4', 'fmp4']) {
        const r = await fetch(
          `${api}/v1/recordings/${clip.path}/get?start=${start}&duration=${SECONDS + 2}&format=${format}`,
        );
        assert.equal(r.status, 200, format);
        const file = join(dir, `${clip.path}-export.${format}.mp4`);
        await writeFile(file, Buffer.from(await r.arrayBuffer()));
        assert.equal(await counted(file), sent, `the ${format} export`);
      }
    });
  }

  test('played back over RTSP (`?start=`): every MJPEG frame, every G.711 sample', async () => {
    await Promise.all(
      CLIPS.map(async (clip) => {
        const [segment] = app.recordings.catalog.segments(clip.path);
        const target = `rtsp://127.0.0.1:${app.server.port}/${clip.path}?start=${new Date(segment!.startMs - 1000).toISOString()}`;
        const args = ['-v', 'error', '-rtsp_transport', 'tcp', '-of', 'csv=p=0'];
        // G.711 goes out in 20 ms packets (RFC 3551 §4.2), not as the stored chunks: its samples are counted.
        const entries =
          clip.codec === 'mjpeg'
            ? ['-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames']
            : ['-show_entries', 'packet=size'];
        const r = await run('ffprobe', [...args, ...entries, target], { timeoutMs: 30_000 }).done;
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split('\n');
        const sent = received.get(clip.path)!;
        if (clip.codec === 'mjpeg') {
          const [name, frames] = lines[0]!.split(',');
          assert.equal(name, 'mjpeg');
          // ffmpeg may leave out the very last frame at BYE.
          assert.ok(Number(frames) <= sent && Number(frames) >= sent - 1, `${frames} of ${sent} frames`);
        } else {
          // csv lines of packet sizes (ffprobe ends some with a separator).
          const bytes = lines.reduce((n, line) => n + (Number.parseInt(line, 10) || 0), 0);
          assert.ok(Math.abs(bytes - SECONDS * 8000) <= 8000 * 0.1, `${bytes} samples of ${clip.path}`);
        }
      }),
    );
  });

  test('a G.711 segment decodes to as many samples as were published', async () => {
    // 8000 samples a second: the sample count of the decoded segment is what RTP carried.
    const [segment] = app.recordings.catalog.segments('pcma');
    const r = await run(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'packet=size', '-of', 'csv=p=0', segment!.file],
      { timeoutMs: 20_000 },
    ).done;
    assert.equal(r.code, 0, r.stderr);
    const bytes = r.stdout
      .trim()
      .split('\n')
      .reduce((n, line) => n + Number(line), 0);
    assert.ok(Math.abs(bytes - SECONDS * 8000) <= 8000 * 0.1, `${bytes} samples for ${SECONDS} s`);
  });
});
