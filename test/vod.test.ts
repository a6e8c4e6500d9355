// Files on demand: DESCRIBE with the duration, Range seeks, PAUSE and resume, the end of the file,
// and a media folder nothing escapes from. Real ffprobe, ffmpeg and GStreamer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaPath, repoRoot, skipUnless, skipUnlessMedia } from './support/tools.js';
import { run } from './support/process.js';
import { startTestServer } from './support/server.js';
import { RawClient, sessionId } from './support/raw-client.js';
import type { RtspServer } from '../src/server/server.js';

describe('files on demand', () => {
  let server: RtspServer;
  let url: (p: string) => string;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-vod-'));
    mkdirSync(join(dir, 'media', 'sub'), { recursive: true });
    copyFileSync(join(repoRoot(), 'media', 'demo.mp4'), join(dir, 'media', 'sub', 'demo.mp4'));
    writeFileSync(join(dir, 'secret.mp4'), 'outside the media folder');
    writeFileSync(join(dir, 'media', 'notes.txt'), 'not media');
    symlinkSync(join(dir, 'secret.mp4'), join(dir, 'media', 'link.mp4'));
    ({ server, url } = await startTestServer({ mediaDir: join(dir, 'media') }));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('DESCRIBE gives the range; nothing outside the media folder is reachable', async () => {
    const c = await RawClient.connect(server.port);
    const d = await c.request('DESCRIBE', url('sub/demo.mp4'));
    assert.equal(d.statusCode, 200);
    assert.match(d.body.toString(), /^a=range:npt=0-10(\.0+)?\r$/m);
    assert.match(d.body.toString(), /a=control:trackID=1/);
    for (const bad of [
      '../secret.mp4',
      'sub/%2e%2e/%2e%2e/secret.mp4',
      'link.mp4',
      'notes.txt',
      'sub/nothing.mp4',
      'sub',
    ]) {
      assert.equal((await c.request('DESCRIBE', url(bad))).statusCode, 404, bad);
    }
    c.close();
  });

  test('PLAY with a Range starts at the keyframe at or before it, PAUSE keeps the position, PLAY resumes', async () => {
    const c = await RawClient.connect(server.port);
    const s = await c.request('SETUP', `${url('sub/demo.mp4')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(s.statusCode, 200);
    const id = sessionId(s);
    const p = await c.request('PLAY', url('sub/demo.mp4'), { Session: id, Range: 'npt=3.5-5' });
    assert.equal(p.statusCode, 200);
    assert.equal(p.headers.get('Range'), 'npt=3.000-5.000', 'the keyframe at or before 3.5');
    const info = /seq=(\d+);rtptime=(\d+)/.exec(p.headers.get('RTP-Info') ?? '');
    assert.ok(info, p.headers.get('RTP-Info'));
    await c.until(() => c.frames.some((f) => f.channel === 0), 3000, 'media');
    const first = c.frames.find((f) => f.channel === 0)!.payload;
    assert.equal(first.readUInt16BE(2), Number(info[1]), 'RTP-Info seq is the first packet');
    assert.equal(first.readUInt32BE(4), Number(info[2]), 'RTP-Info rtptime is the first packet');
    await new Promise((r) => setTimeout(r, 600));
    const paused = await c.request('PAUSE', url('sub/demo.mp4'), { Session: id });
    assert.equal(paused.statusCode, 200);
    const at = Number(/npt=([\d.]+)-/.exec(paused.headers.get('Range') ?? '')?.[1]);
    assert.ok(at > 3 && at < 5, `paused at ${at}`);
    const count = c.frames.length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.frames.length, count, 'nothing is sent while paused');
    const resumed = await c.request('PLAY', url('sub/demo.mp4'), { Session: id });
    assert.equal(resumed.statusCode, 200);
    assert.match(
      resumed.headers.get('Range') ?? '',
      new RegExp(`^npt=${at.toFixed(3)}-`),
      'resumes from the pause point',
    );
    assert.equal(
      (await c.request('PLAY', url('sub/demo.mp4'), { Session: id, Range: 'npt=42-' })).statusCode,
      457,
    );
    c.close();
  });

  const skip = skipUnless('ffmpeg', 'ffprobe', 'gst-launch-1.0') || skipUnlessMedia('h264_base_aac.mp4');
  test('ffprobe reads the duration, ffmpeg -ss 5 seeks, GStreamer plays to the end', { skip }, async () => {
    copyFileSync(mediaPath('h264_base_aac.mp4'), join(dir, 'media', 'clip.mp4'));
    const probe = await run(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', url('clip.mp4')],
      {
        timeoutMs: 20_000,
      },
    ).done;
    assert.equal(probe.code, 0, probe.stderr);
    assert.ok(Math.abs(Number(probe.stdout.trim()) - 10) < 0.1, `duration ${probe.stdout}`);
    const seek = run(
      'ffmpeg',
      ['-hide_banner', '-v', 'error', '-ss', '5', '-rtsp_transport', 'tcp', '-i', url('clip.mp4')].concat([
        '-map',
        '0:v',
        '-progress',
        'pipe:1',
        '-f',
        'null',
        '-',
      ]),
      { timeoutMs: 30_000 },
    );
    const gst = run(
      'gst-launch-1.0',
      ['rtspsrc', `location=${url('sub/demo.mp4')}`, '!', 'decodebin', '!', 'fakesink'],
      {
        timeoutMs: 30_000,
      },
    );
    const s = await seek.done;
    assert.equal(s.code, 0, s.stderr);
    // 5 s of a 25 fps clip remain; starting at the keyframe at or before 5 s adds at most one GOP.
    const frames = Number([...s.stdout.matchAll(/frame=(\d+)/g)].pop()?.[1]);
    assert.ok(frames >= 120 && frames <= 151, `ffmpeg decoded ${frames} frames after -ss 5`);
    const g = await gst.done;
    assert.equal(g.code, 0, `GStreamer did not end cleanly: ${g.stderr}`);
    assert.notEqual(g.signal, 'SIGKILL');
    assert.match(g.stdout, /Got EOS|Execution ended/);
  });
});
