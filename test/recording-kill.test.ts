// Crash safety of recordings: the real server (a child process) records a published clip and is killed
// with SIGKILL mid-part. Every complete part of the cut file must decode with ffprobe, and the next
// start must index the file (README "Recording").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { indexFmp4Buffer } from '../src/container/fmp4/reader.js';
import { scanSegmentFile } from '../src/recorder/segment-scan.js';
import { mediaPath, repoRoot, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, probeFrames, publishFile, run, waitFor } from './support/process.js';

const CLIP = 'h264_base_aac.mp4';
const CLI = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(CLIP);

test(
  'kill -9 while recording: the cut file plays up to its last part and is indexed at the next start',
  { skip },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rtspkit-rec-kill-'));
    const configLines = [
      "rtspAddress: '127.0.0.1:0'",
      'rtpPort: null',
      'rtmpAddress: null',
      'multicastRange: null',
      'logFormat: json',
      'pathDefaults:',
      '  record: true',
      `  recordPath: ${JSON.stringify(join(dir, 'rec', '%path', '%Y-%m-%d_%H-%M-%S-%f'))}`,
      '  recordPartDuration: 0.5',
    ];
    const configFile = join(dir, 'rtspkit.yml');
    await writeFile(configFile, configLines.join('\n') + '\n');
    const server = run(process.execPath, [CLI, 'serve', '--no-watch', '--config', configFile], {
      timeoutMs: 60_000,
      cwd: dir,
    });
    let publisher: ReturnType<typeof publishFile> | undefined;
    try {
      await waitFor(() => server.output().stdout.includes('"rtsp server listening"'), 15_000, 'the server');
      const line = server
        .output()
        .stdout.split('\n')
        .find((l) => l.includes('"rtsp server listening"'))!;
      const port = (JSON.parse(line) as { port: number }).port;
      publisher = publishFile(mediaPath(CLIP), `rtsp://127.0.0.1:${port}/cam`, 'tcp', { loop: true });
      const folder = join(dir, 'rec', 'cam');
      let file: string | undefined;
      let parts = 0;
      // At least 4 complete parts on disk (about 2 s of media), read back as they grow; bounded.
      for (let i = 0; i < 200 && parts < 4; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const names = await readdir(folder).catch(() => [] as string[]);
        if (names.length === 0) continue;
        file = join(folder, names[0]!);
        // A file just opened has no moov yet (ParseError): try again.
        parts = await scanSegmentFile(file).then(
          (s) => s.parts,
          () => 0,
        );
      }
      assert.ok(file !== undefined && parts >= 4, `${parts} parts written`);
      server.kill('SIGKILL');
      const killed = await server.done;
      assert.equal(killed.signal, 'SIGKILL');
      publisher.kill('SIGKILL');
      await publisher.done;

      // Every complete part decodes: ffprobe counts exactly the video samples of the complete fragments.
      const index = indexFmp4Buffer(await readFile(file));
      const video = index.tracks.find((t) => t.kind === 'video')!;
      const samples = index.fragments.reduce(
        (n, f) => n + (f.runs.find((r) => r.trackId === video.trackId)?.count ?? 0),
        0,
      );
      assert.ok(samples >= 4 * 12, `${samples} video samples in complete parts`);
      const probe = await probeFrames(file).done;
      assert.equal(probe.code, 0, probe.stderr);
      const streams = parseProbe(probe.stdout);
      assert.deepEqual(
        streams.map((s) => s.codec_name),
        ['h264', 'aac'],
      );
      assert.equal(Number(streams[0]!.nb_read_frames), samples);

      // The next start indexes it.
      const app = await startApp(parseConfig([...configLines, 'logLevel: silent'].join('\n')));
      try {
        const [segment] = app.recordings.catalog.segments('cam');
        assert.equal(segment?.file, file);
        assert.equal(segment.open, false);
        assert.ok(segment.durationMs >= 1500, `${segment.durationMs} ms indexed`);
        assert.deepEqual(segment.codecs, ['h264', 'aac']);
      } finally {
        await app.close();
      }
    } finally {
      server.kill('SIGKILL');
      publisher?.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  },
);
