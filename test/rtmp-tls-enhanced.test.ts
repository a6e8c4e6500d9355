// RTMPS (the RTSPS certificate, self-signed here) with ffmpeg publishing; enhanced RTMP (`hvc1`, `Opus`)
// from our own client, since ffmpeg 5.1 and GStreamer 1.22 cannot send it: RTSP readers decode the H.265,
// and an RTMP player gets enhanced sequence starts back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { selfSignedCertificate } from '../src/config/tls.js';
import { Mp4Reader } from '../src/container/mp4/reader.js';
import { fileByteSource } from '../src/sources/file-source.js';
import {
  opusHead,
  parseAudioTag,
  parseVideoTag,
  serializeAudioTag,
  serializeVideoTag,
} from '../src/flv/tags.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, probeFrames, run, waitFor } from './support/process.js';
import { watchReaderStarts } from './support/server.js';
import { startRtmpTestServer, type RtmpTestServer } from './support/rtmp.js';
import { TestRtmpClient } from './support/rtmp-client.js';

const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia('h264_base_aac.mp4', 'h265_aac.mp4');
/** A 20 ms Opus packet of silence (CELT fullband, mono). */
const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);

describe('RTMPS and enhanced RTMP', { skip }, () => {
  let s: RtmpTestServer;
  before(async () => {
    s = await startRtmpTestServer({ tls: selfSignedCertificate() });
  });
  after(async () => {
    await s.close();
  });

  test(
    'ffmpeg publishes over RTMPS; a player over RTMPS gets the H.264 and AAC',
    { timeout: 40_000 },
    async () => {
      const path = 'secure/cam';
      const pub = run(
        'ffmpeg',
        ['-hide_banner', '-loglevel', 'error', '-re', '-i', mediaPath('h264_base_aac.mp4'), '-t', '5'].concat(
          ['-c', 'copy', '-f', 'flv', s.rtmpsUrl(path)],
        ),
        { timeoutMs: 30_000 },
      );
      await waitFor(() => s.server.paths.get(path)?.stream !== undefined, 15_000, 'the publish over RTMPS');
      const player = await TestRtmpClient.connect(s.rtmp.rtmpsPort!, { tls: true });
      const id = await player.open('secure');
      assert.equal(await player.play(id, 'cam'), 'NetStream.Play.Start');
      await player.until(
        () => player.messages.filter((m) => m.typeId === 9).length >= 10,
        '10 video messages',
      );
      const video = player.messages.filter((m) => m.typeId === 9).map((m) => parseVideoTag(m.payload));
      const audio = player.messages.filter((m) => m.typeId === 8).map((m) => parseAudioTag(m.payload));
      assert.equal(video[0]!.kind, 'config');
      assert.ok(video[1]?.kind === 'frame' && video[1].keyframe, 'the first picture is a keyframe');
      assert.equal(audio[0]?.kind, 'config');
      player.close();
      const published = await pub.done;
      assert.equal(published.code, 0, published.stderr);
    },
  );

  test(
    'enhanced RTMP: hvc1 + Opus published; RTSP readers decode it; an RTMP player gets hvc1/Opus back',
    { timeout: 40_000 },
    async () => {
      const source = await fileByteSource(mediaPath('h265_aac.mp4'));
      const reader = await Mp4Reader.open(source);
      const track = reader.tracks.find((t) => t.codec === 'h265')!;
      const client = await TestRtmpClient.connect(s.rtmp.port!);
      const id = await client.open('enh', { fourCcList: ['hvc1', 'Opus'] });
      assert.equal(await client.publish(id, 'hevc'), 'NetStream.Publish.Start');
      client.metadata(id, { videocodecid: 0x68766331, audiocodecid: 0x4f707573 });
      client.media(id, 9, 0, serializeVideoTag({ kind: 'config', codec: 'h265', config: track.codecConfig }));
      client.media(id, 8, 0, serializeAudioTag({ kind: 'config', codec: 'opus', config: opusHead(1) }));
      const frames = 75;
      const ms = (ticks: number): number => Math.round((ticks * 1000) / track.timescale);
      let audioMs = 0;
      const send = async (i: number): Promise<void> => {
        const info = reader.sample(track, i);
        const data = await reader.readSample(track, i);
        const dts = ms(info.dtsTicks);
        for (; audioMs <= dts; audioMs += 20)
          client.media(
            id,
            8,
            audioMs,
            serializeAudioTag({ kind: 'frame', codec: 'opus', data: OPUS_SILENCE }),
          );
        client.media(
          id,
          9,
          dts,
          serializeVideoTag({
            kind: 'frame',
            codec: 'h265',
            keyframe: info.keyframe,
            compositionTimeMs: ms(info.ptsTicks) - dts,
            data,
          }),
        );
      };
      for (let i = 0; i < 25; i++) await send(i);
      await waitFor(
        () => s.server.paths.get('enh/hevc')?.stream?.hasCachedKeyframe === true,
        10_000,
        'the path',
      );
      const stream = s.server.paths.get('enh/hevc')!.stream!;
      assert.deepEqual(
        s.server.paths.get('enh/hevc')!.media.tracks.map((t) => t.encodingName),
        ['H265', 'opus'],
      );
      const probe = probeFrames(s.rtspUrl('enh/hevc'), ['-rtsp_transport', 'tcp'], 30_000);
      const watch = watchReaderStarts(s.server, 'enh/hevc');
      const player = await TestRtmpClient.connect(s.rtmp.port!);
      const pid = await player.open('enh');
      assert.equal(await player.play(pid, 'hevc'), 'NetStream.Play.Start');
      await waitFor(
        () => [...s.server.sessions.values()].some((x) => x.path === 'enh/hevc' && x.mode === 'play'),
        15_000,
        'the RTSP reader',
      );
      // The rest at twice real time, while the readers read.
      for (let i = 25; i < frames; i++) {
        await send(i);
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 500));
      client.close();
      const out = await probe.done;
      const starts = watch.stop();
      await source.close();
      assert.equal(out.code, 0, out.stderr);
      const streams = parseProbe(out.stdout);
      assert.deepEqual(streams.map((x) => x.codec_name).sort(), ['hevc', 'opus']);
      const hevc = streams.find((x) => x.codec_name === 'hevc')!;
      const start = starts.get('tcp');
      assert.ok(start !== undefined, 'the RTSP reader was seen');
      assert.ok(
        Math.abs(Number(hevc.nb_read_frames) - (stream.accessUnitsIn - start)) <= 1,
        `${hevc.nb_read_frames} of ${stream.accessUnitsIn - start}`,
      );
      const video = player.messages.filter((m) => m.typeId === 9);
      const audio = player.messages.filter((m) => m.typeId === 8);
      assert.equal(video[0]!.payload.subarray(1, 5).toString('latin1'), 'hvc1');
      assert.equal(parseVideoTag(video[0]!.payload).kind, 'config');
      assert.equal(audio[0]!.payload.subarray(1, 5).toString('latin1'), 'Opus');
      assert.deepEqual(parseAudioTag(audio[0]!.payload), {
        kind: 'config',
        codec: 'opus',
        config: opusHead(1),
      });
      assert.ok(video.length > 20, `${video.length} video messages played`);
      player.close();
    },
  );
});
