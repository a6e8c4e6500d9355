// Interop: ffmpeg publishes each clip over tcp and udp; ffprobe reads it back over tcp and udp
// at the same time, decodes every frame, and must see the codecs, the size and the frame count.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, run, waitFor } from './support/process.js';
import { startTestServer, watchReaderStarts } from './support/server.js';
import type { RtspServer } from '../src/server/server.js';
import type { Stream } from '../src/media/stream.js';

interface Clip {
  file: string;
  codecs: string[];
  video: boolean;
  /** Codec options for the publisher (default: copy). */
  encode?: string[];
}

const CLIPS: Clip[] = [
  { file: 'h264_base_aac.mp4', codecs: ['h264', 'aac'], video: true },
  { file: 'h264_main_aac.mp4', codecs: ['h264', 'aac'], video: true },
  { file: 'h265_aac.mp4', codecs: ['hevc', 'aac'], video: true },
  { file: 'h264_opus.mkv', codecs: ['h264', 'opus'], video: true },
  // ffmpeg 5.1's RTSP muxer wants AAC's AudioSpecificConfig before any bitstream filter runs, so
  // ADTS audio (MPEG-TS, raw .aac) cannot be stream-copied (-bsf:a aac_adtstoasc comes too late):
  // it is re-encoded.
  { file: 'h264_aac.ts', codecs: ['h264', 'aac'], video: true, encode: ['-c:v', 'copy', '-c:a', 'aac'] },
  { file: 'h264.264', codecs: ['h264'], video: true },
  { file: 'h265.265', codecs: ['hevc'], video: true },
  // ffmpeg packs several AAC frames into one RTP packet, as many as -max_delay allows (30 ms gave
  // two); 20 ms, less than one 21 ms frame, gives one, so the access units the server counts (one
  // per RTP timestamp) are the frames ffprobe decodes.
  { file: 'aac.aac', codecs: ['aac'], video: false, encode: ['-c:a', 'aac', '-max_delay', '20000'] },
  // ffmpeg's RTP JPEG packetizer drops frames whose Huffman tables are not the standard ones of
  // RFC 2435 §3.1.3 (the clip's are optimised), so this one is published re-encoded.
  {
    file: 'mjpeg.mkv',
    codecs: ['mjpeg'],
    video: true,
    encode: ['-c:v', 'mjpeg', '-huffman', 'default', '-q:v', '8'],
  },
  { file: 'pcmu.wav', codecs: ['pcm_mulaw'], video: false },
  { file: 'pcma.wav', codecs: ['pcm_alaw'], video: false },
];
const SECONDS = 3;
const READ_TRANSPORTS = ['tcp', 'udp'] as const;

const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(...CLIPS.map((c) => c.file));

describe('ffmpeg publishes, ffprobe reads', { skip, concurrency: 2 }, () => {
  let server: RtspServer;
  let url: (p: string) => string;
  before(async () => {
    ({ server, url } = await startTestServer());
  });
  after(async () => {
    await server.close();
  });

  for (const clip of CLIPS) {
    for (const publishTransport of ['tcp', 'udp'] as const) {
      test(`${clip.file} published over ${publishTransport}`, async () => {
        const path = `${clip.file.replace(/\W/g, '_')}_${publishTransport}`;
        const pub = run(
          'ffmpeg',
          ['-hide_banner', '-loglevel', 'error', '-re', '-i', mediaPath(clip.file), '-t', String(SECONDS)]
            .concat(['-map', '0'], clip.encode ?? ['-c', 'copy'])
            .concat(['-f', 'rtsp', '-rtsp_transport', publishTransport, url(path)]),
          { timeoutMs: 30_000 },
        );
        let stream: Stream | undefined;
        await waitFor(() => (stream = server.paths.get(path)?.stream) !== undefined, 10_000, 'the publish');
        const readers = READ_TRANSPORTS.map((t) =>
          run(
            'ffprobe',
            ['-v', 'error', '-rtsp_transport', t, '-count_frames', '-of', 'json']
              .concat([
                '-show_entries',
                'stream=codec_name,codec_type,width,height,sample_rate,channels,nb_read_frames',
              ])
              .concat([url(path)]),
            { timeoutMs: 30_000 },
          ),
        );
        const watch = watchReaderStarts(server, path);
        const published = await pub.done;
        const results = await Promise.all(readers.map((r) => r.done));
        const startByTransport = watch.stop();
        assert.equal(published.code, 0, `ffmpeg publisher failed: ${published.stderr}`);
        const sent = stream!.accessUnitsIn;
        if (clip.video) assert.ok(Math.abs(sent - SECONDS * 25) <= 2, `server received ${sent} frames`);

        READ_TRANSPORTS.forEach((t, i) => {
          const r = results[i]!;
          assert.equal(r.code, 0, `ffprobe over ${t} failed: ${r.stderr}`);
          const streams = parseProbe(r.stdout);
          assert.deepEqual(
            streams.map((s) => s.codec_name),
            clip.codecs,
            `codecs over ${t}`,
          );
          const frameStream = streams[0]!;
          if (clip.video) {
            assert.equal(frameStream.width, 640);
            assert.equal(frameStream.height, 360);
          }
          const start = startByTransport.get(t);
          assert.ok(start !== undefined, `no ${t} reader session seen`);
          const expected = sent - start;
          const got = Number(frameStream.nb_read_frames);
          assert.ok(
            Math.abs(got - expected) <= Math.max(1, expected * 0.02),
            `${t} reader decoded ${got} frames, the server sent ${expected} from its start (frame ${start} of ${sent})`,
          );
        });
      });
    }
  }
});
