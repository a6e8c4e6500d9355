// RTMP interop with ffmpeg: ffmpeg publishes H.264 (baseline; main with B-frames) + AAC with `-f flv
// rtmp://`; ffprobe reads the path over RTSP and over RTMP at once and decodes as many frames as the
// server received from each reader's start; over RTSP every video packet keeps the pts the file gives
// it (B-frames survive: RTMP's dts + composition time became RTP timestamps).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, run, waitFor } from './support/process.js';
import { watchReaderStarts } from './support/server.js';
import { startRtmpTestServer, type RtmpTestServer } from './support/rtmp.js';
import type { Stream } from '../src/media/stream.js';

const CLIPS = ['h264_base_aac.mp4', 'h264_main_aac.mp4'];
// Long enough for three ffprobe processes to start on a loaded machine (seen: 3 s) while it publishes.
const SECONDS = 8;
const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(...CLIPS);

interface Packet {
  pts: number | undefined;
  keyframe: boolean;
}

/** Video packets in decode order: pts in seconds (undefined for N/A) and the key flag. */
function videoPackets(json: string): Packet[] {
  const parsed = JSON.parse(json) as { packets?: { pts_time?: string; flags?: string }[] };
  return (parsed.packets ?? []).map((p) => ({
    pts: p.pts_time === undefined || p.pts_time === 'N/A' ? undefined : Number(p.pts_time),
    keyframe: (p.flags ?? '').startsWith('K'),
  }));
}

/**
 * Whether the packets read match the file's from one of its keyframes on: each packet's pts, relative
 * to the first packet that has one, equals the file's relative pts within 1 ms.
 */
function matchesFile(read: Packet[], file: Packet[]): number | undefined {
  const j0 = read.findIndex((p) => p.pts !== undefined);
  for (let i = 0; i + read.length <= file.length; i++) {
    if (!file[i]!.keyframe) continue;
    let ok = true;
    for (let j = j0; j < read.length && ok; j++) {
      const r = read[j]!.pts;
      if (r === undefined) continue;
      const expected = file[i + j]!.pts! - file[i + j0]!.pts!;
      ok = Math.abs(r - read[j0]!.pts! - expected) <= 0.001;
    }
    if (ok) return i;
  }
  return undefined;
}

describe('ffmpeg publishes over RTMP; ffprobe reads over RTSP and RTMP', { skip }, () => {
  let s: RtmpTestServer;
  before(async () => {
    s = await startRtmpTestServer();
  });
  after(async () => {
    await s.close();
  });

  for (const clip of CLIPS) {
    test(
      `${clip}: frame counts over RTSP and RTMP, the file's pts over RTSP`,
      { timeout: 60_000 },
      async () => {
        const path = `live/${clip.replace(/\W/g, '_')}`;
        const pub = run(
          'ffmpeg',
          ['-hide_banner', '-loglevel', 'error', '-re', '-i', mediaPath(clip), '-t', String(SECONDS)].concat([
            '-map',
            '0',
            '-c',
            'copy',
            '-f',
            'flv',
            s.rtmpUrl(path),
          ]),
          { timeoutMs: 30_000 },
        );
        let stream: Stream | undefined;
        await waitFor(() => (stream = s.server.paths.get(path)?.stream) !== undefined, 10_000, 'the publish');
        const rtspFrames = run(
          'ffprobe',
          ['-v', 'error', '-rtsp_transport', 'tcp', '-count_frames', '-of', 'json'].concat([
            '-show_entries',
            'stream=codec_name,width,height,nb_read_frames',
            s.rtspUrl(path),
          ]),
          { timeoutMs: 30_000 },
        );
        const rtspPackets = run(
          'ffprobe',
          ['-v', 'error', '-rtsp_transport', 'tcp', '-select_streams', 'v', '-of', 'json'].concat([
            '-show_entries',
            'packet=pts_time,flags',
            '-show_packets',
            s.rtspUrl(path),
          ]),
          { timeoutMs: 30_000 },
        );
        const rtmpFrames = run(
          'ffprobe',
          ['-v', 'error', '-count_frames', '-of', 'json'].concat([
            '-show_entries',
            'stream=codec_name,width,height,nb_read_frames',
            s.rtmpUrl(path),
          ]),
          { timeoutMs: 30_000 },
        );
        const watch = watchReaderStarts(s.server, path);
        let rtmpStart: number | undefined;
        const rtmpWatch = setInterval(() => {
          rtmpStart ??= s.rtmp
            .connectionSnapshots()
            .find((c) => c.role === 'player' && c.path === path)?.readerStartAccessUnit;
        }, 5);
        const published = await pub.done;
        const [framesOut, packetsOut, rtmpOut] = await Promise.all([
          rtspFrames.done,
          rtspPackets.done,
          rtmpFrames.done,
        ]);
        clearInterval(rtmpWatch);
        const starts = watch.stop();
        assert.equal(published.code, 0, `ffmpeg publisher failed: ${published.stderr}`);
        const sent = stream!.accessUnitsIn;
        assert.ok(Math.abs(sent - SECONDS * 25) <= 2, `server received ${sent} frames`);

        for (const [what, out, start] of [
          ['RTSP', framesOut, starts.get('tcp')],
          ['RTMP', rtmpOut, rtmpStart],
        ] as const) {
          assert.equal(out.code, 0, `ffprobe over ${what} failed: ${out.stderr}`);
          const streams = parseProbe(out.stdout);
          assert.deepEqual(streams.map((x) => x.codec_name).sort(), ['aac', 'h264'], `codecs over ${what}`);
          const video = streams.find((x) => x.codec_name === 'h264')!;
          assert.equal(video.width, 640);
          assert.equal(video.height, 360);
          assert.ok(start !== undefined, `no ${what} reader seen`);
          const expected = sent - start;
          const got = Number(video.nb_read_frames);
          assert.ok(
            Math.abs(got - expected) <= 1,
            `${what} reader decoded ${got} frames, the server sent ${expected}`,
          );
        }

        assert.equal(packetsOut.code, 0, packetsOut.stderr);
        const read = videoPackets(packetsOut.stdout);
        const file = await run(
          'ffprobe',
          [
            '-v',
            'error',
            '-select_streams',
            'v',
            '-of',
            'json',
            '-show_entries',
            'packet=pts_time,flags',
          ].concat(['-show_packets', mediaPath(clip)]),
          { timeoutMs: 30_000 },
        ).done;
        const filePackets = videoPackets(file.stdout);
        assert.ok(read.length > 10, `${read.length} packets read over RTSP`);
        const at = matchesFile(read, filePackets);
        assert.ok(
          at !== undefined,
          `the pts read over RTSP match no keyframe of the file: ${JSON.stringify(read.slice(0, 12))}`,
        );
        if (clip.includes('main'))
          assert.ok(
            read.some(
              (p, i) =>
                i > 0 && p.pts !== undefined && read[i - 1]!.pts !== undefined && p.pts < read[i - 1]!.pts!,
            ),
            'B-frames: pts go back in decode order',
          );
      },
    );
  }
});
