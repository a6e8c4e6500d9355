// RTMP interop with GStreamer 1.22 (rtmp2sink, rtmp2src) and a file path read with ffmpeg:
// - rtmp2sink publishes H.264 + AAC (flvmux, paced by the clock); ffprobe reads it over RTSP and
//   rtmp2src over RTMP, each decoding as many pictures as the server received from its start;
// - a path fed by a file (no RTMP anywhere) plays over RTMP to ffmpeg.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, probeFrames, run, waitFor } from './support/process.js';
import { watchReaderStarts } from './support/server.js';
import { startRtmpTestServer, type RtmpTestServer } from './support/rtmp.js';
import type { Stream } from '../src/media/stream.js';

const CLIP = 'h264_base_aac.mp4';
const skip = skipUnless('gst-launch-1.0', 'ffmpeg', 'ffprobe') || skipUnlessMedia(CLIP, 'h264_main_aac.mp4');

describe('RTMP with GStreamer and from any path', { skip }, () => {
  let s: RtmpTestServer;
  let dir: string;
  before(async () => {
    s = await startRtmpTestServer();
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-rtmp-gst-'));
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    'rtmp2sink publishes; ffprobe over RTSP and rtmp2src over RTMP get every picture from their start',
    { timeout: 60_000 },
    async () => {
      const path = 'gst/cam';
      const pub = run(
        'gst-launch-1.0',
        ['-q', 'filesrc', `location=${mediaPath(CLIP)}`, '!', 'qtdemux', 'name=d']
          .concat(['d.video_0', '!', 'queue', '!', 'h264parse', '!', 'm.'])
          .concat(['d.audio_0', '!', 'queue', '!', 'aacparse', '!', 'm.'])
          .concat(['flvmux', 'name=m', 'streamable=true', '!', 'identity', 'sync=true'])
          .concat(['!', 'rtmp2sink', `location=${s.rtmpUrl(path)}`]),
        { timeoutMs: 40_000 },
      );
      let stream: Stream | undefined;
      await waitFor(() => (stream = s.server.paths.get(path)?.stream) !== undefined, 15_000, 'the publish');
      const rtsp = probeFrames(s.rtspUrl(path), ['-rtsp_transport', 'tcp'], 40_000);
      const videoOut = join(dir, 'rtmp2src.h264');
      const gstRead = run(
        'gst-launch-1.0',
        ['-q', 'rtmp2src', `location=${s.rtmpUrl(path)}`, '!', 'flvdemux', 'name=d']
          .concat(['d.video', '!', 'queue', '!', 'h264parse', '!', 'video/x-h264,stream-format=byte-stream'])
          .concat(['!', 'filesink', `location=${videoOut}`, 'd.audio', '!', 'queue', '!', 'fakesink']),
        { timeoutMs: 40_000 },
      );
      const watch = watchReaderStarts(s.server, path);
      let rtmpStart: number | undefined;
      const rtmpWatch = setInterval(() => {
        rtmpStart ??= s.rtmp
          .connectionSnapshots()
          .find((c) => c.role === 'player' && c.path === path)?.readerStartAccessUnit;
      }, 5);
      const published = await pub.done;
      const [rtspOut, gstOut] = await Promise.all([rtsp.done, gstRead.done]);
      clearInterval(rtmpWatch);
      const starts = watch.stop();
      assert.equal(published.code, 0, `rtmp2sink failed: ${published.stderr}`);
      const sent = stream!.accessUnitsIn;
      assert.ok(Math.abs(sent - 250) <= 2, `server received ${sent} pictures of 250`);

      assert.equal(rtspOut.code, 0, rtspOut.stderr);
      const rtspVideo = parseProbe(rtspOut.stdout).find((x) => x.codec_name === 'h264');
      const rtspStart = starts.get('tcp');
      assert.ok(rtspVideo !== undefined && rtspStart !== undefined, rtspOut.stdout);
      assert.ok(
        Math.abs(Number(rtspVideo.nb_read_frames) - (sent - rtspStart)) <= 1,
        `RTSP: ${rtspVideo.nb_read_frames} of ${sent - rtspStart}`,
      );

      assert.equal(gstOut.code, 0, `rtmp2src failed: ${gstOut.stderr}`);
      const file = await probeFrames(videoOut).done;
      const gstVideo = parseProbe(file.stdout)[0];
      assert.ok(gstVideo !== undefined && rtmpStart !== undefined, file.stderr);
      assert.equal(gstVideo.width, 640);
      assert.ok(
        Math.abs(Number(gstVideo.nb_read_frames) - (sent - rtmpStart)) <= 1,
        `rtmp2src: ${gstVideo.nb_read_frames} of ${sent - rtmpStart}`,
      );
    },
  );

  test(
    'a file path plays over RTMP (ffmpeg reads 3 s: 75 pictures and the audio)',
    { timeout: 60_000 },
    async () => {
      const added = await s.server.paths.addFileLoop(
        'file/main',
        { file: mediaPath('h264_main_aac.mp4'), loop: true },
        'api',
      );
      assert.ok(added.ok);
      const out = await run(
        'ffprobe',
        ['-v', 'error', '-read_intervals', '%+3', '-count_frames', '-of', 'json'].concat([
          '-show_entries',
          'stream=codec_name,width,height,nb_read_frames',
          s.rtmpUrl('file/main'),
        ]),
        { timeoutMs: 30_000 },
      ).done;
      await s.server.paths.removeSource('file/main', 'test over');
      assert.equal(out.code, 0, out.stderr);
      const streams = parseProbe(out.stdout);
      assert.deepEqual(streams.map((x) => x.codec_name).sort(), ['aac', 'h264']);
      const video = streams.find((x) => x.codec_name === 'h264')!;
      assert.ok(Math.abs(Number(video.nb_read_frames) - 75) <= 4, `${video.nb_read_frames} pictures in 3 s`);
    },
  );
});
