// Files on demand: DESCRIBE with the duration, Range seeks, PAUSE and resume, the end of the file,
// queued PLAY, PAUSE at a point, Scale and Speed, and a media folder nothing escapes from. Real
// ffprobe, ffmpeg and GStreamer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaPath, repoRoot, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, probeFrames, run } from './support/process.js';
import { startTestServer } from './support/server.js';
import { startApp } from '../src/app.js';
import { defaultConfig } from '../src/config/config.js';
import { RawClient, sessionId } from './support/raw-client.js';
import type { RtspServer } from '../src/server/server.js';
import type { RtspResponse } from '../src/rtsp/message.js';
import { h264NalType, isH264Vcl } from '../src/codec/h264.js';
import { sampleInfo } from '../src/container/mp4/reader.js';
import { H264Depacketizer } from '../src/format/h264.js';
import { parseRtpPacket } from '../src/rtp/packet.js';
import { parseRtcpCompound } from '../src/rtp/rtcp.js';
import { VOD_MAX_SCALE, VodFile } from '../src/sources/vod-player.js';

function isBye(rtcp: Buffer): boolean {
  return parseRtcpCompound(rtcp).some((p) => p.type === 'bye');
}

describe('files on demand', { concurrency: 2 }, () => {
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
    mkdirSync(join(dir, 'outside'));
    copyFileSync(join(repoRoot(), 'media', 'demo.mp4'), join(dir, 'outside', 'demo.mp4'));
    symlinkSync(join(dir, 'outside'), join(dir, 'media', 'dirlink'));
    // Not an MP4 inside (a clear 404 and a log line, not a crash), and the moov of a real one cut short.
    writeFileSync(join(dir, 'media', 'broken.mp4'), Buffer.alloc(3000, 0x41));
    const demo = readFileSync(join(repoRoot(), 'media', 'demo.mp4'));
    writeFileSync(join(dir, 'media', 'cut.mp4'), demo.subarray(0, 2000));
    // The moov whole (faststart), the media cut after about 2 s.
    writeFileSync(join(dir, 'media', 'short.mp4'), demo.subarray(0, SHORT_BYTES));
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
      '%2E%2E/secret.mp4',
      'sub/..%2f..%2fsecret.mp4',
      '%252e%252e/secret.mp4',
      'sub%5c..%5c..%5csecret.mp4',
      'link.mp4',
      'dirlink/demo.mp4',
      'notes.txt',
      'sub/nothing.mp4',
      'sub',
      'broken.mp4',
      'cut.mp4',
    ]) {
      assert.equal((await c.request('DESCRIBE', url(bad))).statusCode, 404, bad);
      const setup = await c.request('SETUP', `${url(bad)}/trackID=0`, {
        Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
      });
      assert.equal(setup.statusCode, 404, `SETUP ${bad}`);
    }
    assert.equal((await c.request('DESCRIBE', url('sub/demo.mp4'))).statusCode, 200, 'still serving');
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
    const ssrc = /;ssrc=([0-9A-F]{8})/.exec(s.headers.get('Transport') ?? '')?.[1];
    assert.equal(first.readUInt32BE(8), parseInt(ssrc ?? 'x', 16), 'the SSRC SETUP announced');
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
    // Past the end: 200 (ffmpeg waits, paused, after a refused PLAY), an empty range there, then BYE.
    assert.equal((await c.request('PAUSE', url('sub/demo.mp4'), { Session: id })).statusCode, 200);
    const before = c.frames.length;
    const past = await c.request('PLAY', url('sub/demo.mp4'), { Session: id, Range: 'npt=42-' });
    assert.equal(past.statusCode, 200);
    assert.equal(past.headers.get('Range'), 'npt=10.000-10.000');
    await c.until(
      () => c.frames.slice(before).some((f) => f.channel === 1 && isBye(f.payload)),
      3000,
      'RTCP BYE after a seek past the end',
    );
    assert.ok(
      c.frames.slice(before).every((f) => f.channel !== 0),
      'no media after a seek past the end',
    );
    c.close();
  });

  test('a file cut short after its moov: DESCRIBE says 10 s, playback stops where the data ends, with RTCP BYE', async (t) => {
    const c = await RawClient.connect(server.port);
    t.after(() => c.close());
    const d = await c.request('DESCRIBE', url('short.mp4'));
    assert.equal(d.statusCode, 200);
    const s = await c.request('SETUP', `${url('short.mp4')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    const id = sessionId(s);
    assert.equal((await c.request('PLAY', url('short.mp4'), { Session: id })).statusCode, 200);
    const byes = (): number =>
      c.frames.filter((f) => f.channel === 1 && parseRtcpCompound(f.payload).some((p) => p.type === 'bye'))
        .length;
    await c.until(() => byes() > 0, 10_000, 'RTCP BYE where the data ends');
    const rtp = c.frames.filter((f) => f.channel === 0);
    const lastTs = rtp.at(-1)!.payload.readUInt32BE(4);
    const playedS = ((lastTs - rtp[0]!.payload.readUInt32BE(4)) | 0) / 90000;
    // Every picture up to the last one whose bytes are all in the file (read-ahead does not cut it short).
    const file = await VodFile.open(join(dir, 'media', 'short.mp4'));
    const video = file.tracks[0]!.mp4;
    let last = 0;
    while (
      last + 1 < video.samples.count &&
      video.samples.offset[last + 1]! + video.samples.size[last + 1]! <= SHORT_BYTES
    )
      last++;
    const info = sampleInfo(video, last);
    const lastS = info.ptsTicks / info.timescale;
    await file.close();
    assert.ok(
      lastS > 1 && Math.abs(playedS - lastS) < 0.001,
      `played ${playedS} s; the data ends at ${lastS} s`,
    );
    // The session stays, paused, and answers.
    assert.equal((await c.request('GET_PARAMETER', url('short.mp4'), { Session: id })).statusCode, 200);
    assert.equal((await c.request('TEARDOWN', url('short.mp4'), { Session: id })).statusCode, 200);
  });

  // RFC 2326 §10.5 (queued PLAY), §10.6 (PAUSE at a point), §12.34 (Scale) and §12.35 (Speed), read back
  // picture by picture: each received picture is found in the file by its slice data, so these tests
  // know which npt the server sent independently of the RTP timestamps it put on it.
  describe('VCR controls', () => {
    const clip = (): string => url('sub/demo.mp4');
    let nptOf: Map<string, number>;
    before(async () => {
      nptOf = await videoPictureTimes(join(dir, 'media', 'sub', 'demo.mp4'));
    });

    async function videoSession(): Promise<{ c: RawClient; id: string; v: VideoReader }> {
      const c = await RawClient.connect(server.port);
      const v = new VideoReader(c, nptOf);
      const s = await c.request('SETUP', `${clip()}/trackID=0`, {
        Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
      });
      assert.equal(s.statusCode, 200);
      return { c, id: sessionId(s), v };
    }

    test('queued PLAY (§10.5): npt 0-2 then 6-7 back to back, then the session pauses by itself', async (t) => {
      const { c, id, v } = await videoSession();
      t.after(() => c.close());
      const first = await c.request('PLAY', clip(), { Session: id, Range: 'npt=0-2' });
      const second = await c.request('PLAY', clip(), { Session: id, Range: 'npt=6-7' });
      assert.equal(first.statusCode, 200);
      assert.equal(second.statusCode, 200);
      assert.equal(first.headers.get('Range'), 'npt=0.000-2.000');
      assert.equal(second.headers.get('Range'), 'npt=6.000-7.000');
      const a = rtpInfo(first);
      const b = rtpInfo(second);
      await c.until(() => v.byes > 0, 8000, 'RTCP BYE after the second range');
      const count = v.pictures.length;
      await sleep(QUIET_MS);
      assert.equal(v.pictures.length, count, 'nothing is sent after the last range');
      assert.deepEqual(
        v.npts(),
        [...nptTimes(0, 2), ...nptTimes(6, 7)],
        'every picture of [0, 2) then of [6, 7)',
      );
      v.assertContiguousFrom(a.seq);
      // Each reply's RTP-Info gives the RTP time of its range's start (§12.33); RTP time runs on
      // across the ranges (the second starts where the first ended), it never jumps or goes back.
      assert.equal(
        ticksBetween(a.rtptime, b.rtptime),
        2 * 90000,
        'the second range starts at RTP time 0 + 2 s',
      );
      for (const p of v.pictures) {
        const [origin, startS] = p.nptS < 6 ? [a.rtptime, 0] : [b.rtptime, 6];
        assertTicks(ticksBetween(origin, p.ts), (p.nptS - startS) * 90000, `picture at npt ${p.nptS}`);
      }
      v.assertRtpTimeIncreases(0);
      // Paused at 7 s, not torn down: the session answers and can be torn down.
      assert.equal((await c.request('GET_PARAMETER', clip(), { Session: id })).statusCode, 200);
      assert.equal((await c.request('TEARDOWN', clip(), { Session: id })).statusCode, 200);
    });

    test('PAUSE with a Range (§10.6) plays on up to that point; PLAY without Range resumes there', async (t) => {
      const { c, id, v } = await videoSession();
      t.after(() => c.close());
      const play = await c.request('PLAY', clip(), { Session: id, Range: 'npt=0-' });
      assert.equal(play.statusCode, 200);
      const a = rtpInfo(play);
      await c.until(() => v.pictures.length > 0, 3000, 'media');
      const pause = await c.request('PAUSE', clip(), { Session: id, Range: 'npt=3' });
      assert.equal(pause.statusCode, 200, 'the form of RFC 2326 §10.6: Range: npt=<point>');
      assert.equal(pause.headers.get('Range'), 'npt=3.000-');
      const atReply = v.npts().at(-1)!;
      assert.ok(atReply < 2, `the PAUSE was answered at npt ${atReply}, long before the pause point`);
      await c.until(() => v.npts().some((n) => n >= 2.96), 6000, 'the pictures up to the pause point');
      const count = v.pictures.length;
      await sleep(QUIET_MS);
      assert.equal(v.pictures.length, count, 'nothing is sent after the pause point');
      assert.deepEqual(v.npts(), nptTimes(0, 3), 'every picture before 3 s, none from 3 s on');
      assert.equal(v.byes, 0, 'a pause point is not the end of the stream');
      v.assertContiguousFrom(a.seq);

      const resumed = await c.request('PLAY', clip(), { Session: id });
      assert.equal(resumed.statusCode, 200);
      assert.equal(resumed.headers.get('Range'), 'npt=3.000-10.000');
      const r = rtpInfo(resumed);
      assert.equal(r.seq, (v.seqs.at(-1)! + 1) & 0xffff, 'sequence numbers go on');
      assertTicks(ticksBetween(a.rtptime, r.rtptime), 3 * 90000, 'RTP time of npt 3 on the first timeline');
      await c.until(() => v.pictures.length > count, 3000, 'media after PLAY');
      assert.equal(v.pictures[count]!.nptS, 3, 'the first picture after the pause point');
      assert.equal(v.pictures[count]!.ts, r.rtptime);
      v.assertContiguousFrom(a.seq);
      // Playing 3-10 now: a point behind the position is outside the pending range.
      const behind = await c.request('PAUSE', clip(), { Session: id, Range: 'npt=1' });
      assert.equal(behind.statusCode, 457, 'a point outside the pending ranges is 457 Invalid Range');
      assert.equal((await c.request('TEARDOWN', clip(), { Session: id })).statusCode, 200);
    });

    test('Scale (§12.34): 2 plays keyframes at twice the wall-clock rate, -1 backwards; bad values are refused', async (t) => {
      const { c, id, v } = await videoSession();
      t.after(() => c.close());
      const fast = await c.request('PLAY', clip(), { Session: id, Range: 'npt=0-', Scale: '2' });
      assert.equal(fast.statusCode, 200);
      assert.equal(fast.headers.get('Scale'), '2');
      assert.equal(fast.headers.get('Range'), 'npt=0.000-10.000');
      const f = rtpInfo(fast);
      await c.until(() => v.npts().some((n) => n >= 3), 5000, 'fast-forward up to npt 3');
      assert.equal((await c.request('PAUSE', clip(), { Session: id })).statusCode, 200);
      const ff = v.pictures.slice(0, 4);
      // The clip has a keyframe every second: fast forward sends those only.
      assert.deepEqual(
        ff.map((p) => p.nptS),
        [0, 1, 2, 3],
      );
      assert.ok(
        ff.every((p) => p.keyframe),
        'keyframes only',
      );
      const ratio = (ff[3]!.nptS - ff[0]!.nptS) / ((ff[3]!.atMs - ff[0]!.atMs) / 1000);
      assert.ok(ratio > 1.5 && ratio < 3, `npt ran ${ratio.toFixed(2)} times as fast as the wall clock`);
      // npt = start + RTP time elapsed * scale: RTP time follows the wall clock.
      for (const p of ff)
        assertTicks(ticksBetween(f.rtptime, p.ts) * 2, p.nptS * 90000, `picture at npt ${p.nptS}`);
      v.assertRtpTimeIncreases(0);

      const from = v.pictures.length;
      const back = await c.request('PLAY', clip(), { Session: id, Range: 'npt=2.5-', Scale: '-1' });
      assert.equal(back.statusCode, 200);
      assert.equal(back.headers.get('Scale'), '-1');
      assert.equal(
        back.headers.get('Range'),
        'npt=2.000-0.000',
        'from the keyframe at or before 2.5 down to 0',
      );
      const b = rtpInfo(back);
      await c.until(() => v.byes > 0, 5000, 'RTCP BYE at npt 0');
      const rev = v.pictures.slice(from);
      assert.deepEqual(
        rev.map((p) => p.nptS),
        [2, 1, 0],
        'keyframes, backwards',
      );
      assert.ok(rev.every((p) => p.keyframe));
      // npt decreases while RTP time increases (a receiver never sees time run back): npt = 2 - elapsed.
      for (const p of rev)
        assertTicks(ticksBetween(b.rtptime, p.ts), (2 - p.nptS) * 90000, `picture at npt ${p.nptS}`);
      v.assertRtpTimeIncreases(0);

      for (const bad of ['fast', '0', '1/2']) {
        const r = await c.request('PLAY', clip(), { Session: id, Range: 'npt=0-', Scale: bad });
        assert.equal(r.statusCode, 400, `Scale: ${bad}`);
      }
      const clamped = await c.request('PLAY', clip(), { Session: id, Range: 'npt=0-', Scale: '100' });
      assert.equal(clamped.statusCode, 200, 'an unsupported scale is served at a supported one');
      assert.equal(Number(clamped.headers.get('Scale')), VOD_MAX_SCALE);
      assert.equal((await c.request('TEARDOWN', clip(), { Session: id })).statusCode, 200);
    });

    test('Speed (§12.35): 2 delivers twice as fast, every picture with its normal-play RTP time', async (t) => {
      const { c, id, v } = await videoSession();
      t.after(() => c.close());
      const play = await c.request('PLAY', clip(), { Session: id, Range: 'npt=0-3', Speed: '2' });
      assert.equal(play.statusCode, 200);
      assert.equal(play.headers.get('Speed'), '2');
      assert.equal(play.headers.get('Range'), 'npt=0.000-3.000');
      const a = rtpInfo(play);
      await c.until(() => v.byes > 0, 5000, 'RTCP BYE at npt 3');
      assert.deepEqual(v.npts(), nptTimes(0, 3), 'every picture');
      v.assertContiguousFrom(a.seq);
      for (const p of v.pictures)
        assertTicks(ticksBetween(a.rtptime, p.ts), p.nptS * 90000, `picture at npt ${p.nptS}`);
      const first = v.pictures[0]!;
      const last = v.pictures.at(-1)!;
      const ratio = (last.nptS - first.nptS) / ((last.atMs - first.atMs) / 1000);
      assert.ok(ratio > 1.5 && ratio < 3, `delivered ${ratio.toFixed(2)} times as fast as real time`);
      for (const bad of ['-1', '0', 'fast']) {
        const r = await c.request('PLAY', clip(), { Session: id, Range: 'npt=0-', Speed: bad });
        assert.equal(r.statusCode, 400, `Speed: ${bad}`);
      }
      assert.equal((await c.request('TEARDOWN', clip(), { Session: id })).statusCode, 200);
    });
  });

  const clips = ['h265_aac.mp4', 'h264_main_aac.mp4'];
  test(
    'every codec whole over RTSP: ffprobe decodes as many frames as from the file (H.265, B-frames, Opus)',
    { skip: skipUnless('ffprobe') || skipUnlessMedia(...clips) },
    async () => {
      const files = [
        ...clips.map((c) => mediaPath(c)),
        join(repoRoot(), 'src', 'container', 'mp4', 'fixtures', 'opus.mp4'),
      ];
      const names = files.map((f, i) => {
        const name = `codec${i}.mp4`;
        copyFileSync(f, join(dir, 'media', name));
        return name;
      });
      const counts = async (target: string, options: string[] = []): Promise<[string, number][]> => {
        const r = await probeFrames(target, options).done;
        assert.equal(r.code, 0, `${target}: ${r.stderr}`);
        return parseProbe(r.stdout).map((s) => [s.codec_name, Number(s.nb_read_frames)]);
      };
      const served = await Promise.all(names.map((n) => counts(url(n), ['-rtsp_transport', 'tcp'])));
      for (const [i, f] of files.entries()) {
        const fromFile = await counts(f);
        assert.deepEqual(
          served[i]!.map(([codec]) => codec),
          fromFile.map(([codec]) => codec),
          f,
        );
        served[i]!.forEach(([codec, n], k) => {
          // AAC: the file's priming frame (before npt 0 in its edit list) is not sent (the priming rule);
          // ffprobe does not count it in the file either.
          assert.equal(n, fromFile[k]![1], `${f} ${codec}: frames over RTSP and in the file`);
        });
      }
    },
  );

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

test('rtspkit serve --media: a folder that is not there, or a file, stops the server with a clear error', async () => {
  const base = {
    ...defaultConfig(),
    logLevel: 'silent' as const,
    rtspAddress: '127.0.0.1:0',
    rtpPort: null,
    rtmpAddress: null,
  };
  const missing = join(tmpdir(), 'rtspkit-no-such-folder');
  await assert.rejects(startApp({ ...base, mediaDir: missing }), {
    name: 'ConfigError',
    message: new RegExp(`^mediaDir: cannot read ${missing}: ENOENT`),
  });
  const file = join(repoRoot(), 'media', 'demo.mp4');
  await assert.rejects(startApp({ ...base, mediaDir: file }), {
    name: 'ConfigError',
    message: `mediaDir: ${file} is not a folder`,
  });
});

/** short.mp4: demo.mp4 cut after this many bytes (the moov, then about 2 s of media). */
const SHORT_BYTES = 250_000;

/** How long "nothing more is sent" is watched for. */
const QUIET_MS = 400;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The npt of the clip's pictures (25 fps) in [fromS, toS). */
function nptTimes(fromS: number, toS: number): number[] {
  const out: number[] = [];
  for (let i = Math.round(fromS * 25); i < Math.round(toS * 25); i++) out.push(round3(i / 25));
  return out;
}

/** RTP ticks from `from` to `to` (32-bit wraparound). */
function ticksBetween(from: number, to: number): number {
  return (to - from) | 0;
}

function assertTicks(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1, `${what}: ${actual} RTP ticks, expected ${expected}`);
}

function rtpInfo(r: RtspResponse): { seq: number | undefined; rtptime: number } {
  const h = r.headers.get('RTP-Info') ?? '';
  const rtptime = /rtptime=(\d+)/.exec(h)?.[1];
  assert.ok(rtptime !== undefined, `RTP-Info: ${h}`);
  const seq = /seq=(\d+)/.exec(h)?.[1];
  return { seq: seq === undefined ? undefined : Number(seq), rtptime: Number(rtptime) };
}

/** A key for one H.264 picture: the hash of its slice NAL units (not of the parameter sets). */
function sliceKey(nalus: readonly Buffer[]): string {
  const h = createHash('sha1');
  for (const n of nalus) if (isH264Vcl(h264NalType(n))) h.update(n);
  return h.digest('hex');
}

/** The clip's video pictures (trackID=0) by slice key: their npt in seconds. */
async function videoPictureTimes(path: string): Promise<Map<string, number>> {
  const file = await VodFile.open(path);
  try {
    const track = file.tracks[0];
    assert.equal(track?.mp4.kind, 'video', 'trackID=0 is the video');
    const times = new Map<string, number>();
    for (let i = 0; i < track.mp4.samples.count; i++) {
      const au = track.accessUnit(await file.reader.readSample(track.mp4, i), 0);
      const info = sampleInfo(track.mp4, i);
      times.set(sliceKey(au.nalus ?? []), round3(info.ptsTicks / info.timescale));
    }
    assert.equal(times.size, track.mp4.samples.count, 'every picture of the clip is distinct');
    return times;
  } finally {
    await file.close();
  }
}

interface Picture {
  /** RTP timestamp. */
  ts: number;
  /** Its npt in the file; NaN when it is none of the file's pictures. */
  nptS: number;
  keyframe: boolean;
  /** When its last packet arrived (performance.now()). */
  atMs: number;
}

/** Reads an interleaved H.264 session on channels 0-1: pictures, sequence numbers, RTCP BYE. */
class VideoReader {
  readonly pictures: Picture[] = [];
  readonly seqs: number[] = [];
  byes = 0;
  private readonly depacketizer = new H264Depacketizer();
  private readonly errors: string[] = [];

  constructor(c: RawClient, nptOf: ReadonlyMap<string, number>) {
    c.onFrame = (f) => {
      try {
        if (f.channel === 1) {
          if (parseRtcpCompound(f.payload).some((p) => p.type === 'bye')) this.byes++;
          return;
        }
        assert.equal(f.channel, 0, 'interleaved channel');
        const p = parseRtpPacket(f.payload);
        this.seqs.push(p.sequenceNumber);
        const aus = this.depacketizer.push({
          payload: p.payload,
          marker: p.marker,
          sequenceNumber: p.sequenceNumber,
          timestamp: p.timestamp,
        });
        for (const au of aus) {
          const nptS = nptOf.get(sliceKey(au.nalus ?? [])) ?? Number.NaN;
          this.pictures.push({ ts: p.timestamp, nptS, keyframe: au.keyframe, atMs: performance.now() });
        }
      } catch (e) {
        this.errors.push((e as Error).message);
      }
    };
  }

  npts(): number[] {
    assert.deepEqual(this.errors, [], 'malformed packets');
    return this.pictures.map((p) => p.nptS);
  }

  /** No packet lost: sequence numbers from `first` (the RTP-Info seq) on, one by one. */
  assertContiguousFrom(first: number | undefined): void {
    assert.equal(this.seqs[0], first, 'the RTP-Info seq is the first packet');
    this.seqs.forEach((s, i) => {
      if (i > 0) assert.equal(s, (this.seqs[i - 1]! + 1) & 0xffff, `packet ${i}`);
    });
    assert.equal(this.depacketizer.stats.droppedAccessUnits, 0);
  }

  assertRtpTimeIncreases(from: number): void {
    for (let i = from + 1; i < this.pictures.length; i++)
      assert.ok(
        ticksBetween(this.pictures[i - 1]!.ts, this.pictures[i]!.ts) > 0,
        `RTP time goes back at picture ${i}`,
      );
  }
}
