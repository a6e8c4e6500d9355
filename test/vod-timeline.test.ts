// Files on demand keep the file's presentation timeline: edit lists applied (B-frame delay, AAC and
// Opus priming, an initial empty edit), ffprobe over RTSP sees the times ffprobe sees in the file, and
// ffmpeg's `-ss` (which sends `Range: npt=0.-21-` or `0.-130-` near 0) decodes from the right frame
// and ends, as does a seek past the end. Real ffmpeg/ffprobe; the extra clips are made here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { endsWithin, run } from './support/process.js';
import { startTestServer } from './support/server.js';
import { RawClient, sessionId } from './support/raw-client.js';
import type { RtspServer } from '../src/server/server.js';

const CLIPS = ['h264_base_aac.mp4', 'h264_main_aac.mp4', 'h265_aac.mp4'];
/** Made by `before` with ffmpeg: B-frames with audio behind an initial empty edit; Opus (pre-skip 312). */
const MADE = ['empty_edit.mp4', 'opus.mp4'];
/** ffmpeg waited 66 s (the session timeout) after the 457 it got for `npt=0.-21-`. */
const HANG_BOUND_MS = 25_000;
const FRAME_S = 0.04;

interface Probed {
  /** codec_type -> start_time (s). */
  starts: Map<string, number>;
  /** Video packet pts (s) in decode order; NaN where ffprobe has none. */
  videoPts: number[];
}

async function probe(target: string): Promise<Probed> {
  const args = ['-v', 'error', '-rtsp_transport', 'tcp'].filter(
    (_, i) => target.startsWith('rtsp:') || i < 2,
  );
  const r = await run(
    'ffprobe',
    args
      .concat([
        '-read_intervals',
        '%+1',
        '-show_entries',
        'stream=codec_type,start_time:packet=stream_index,pts_time',
      ])
      .concat(['-of', 'csv=p=0', target]),
    { timeoutMs: 30_000 },
  ).done;
  assert.equal(r.code, 0, `${target}: ${r.stderr}`);
  const starts = new Map<string, number>();
  const videoPts: number[] = [];
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  // Stream lines (type,start) come after the packets; packets are `index,pts`, video is stream 0.
  for (const line of lines) {
    const [a = '', b = ''] = line.split(',');
    if (a === 'video' || a === 'audio') starts.set(a, Number(b));
    else if (a === '0') videoPts.push(b === 'N/A' ? NaN : Number(b));
  }
  return { starts, videoPts };
}

/** ffmpeg `-ss` with -copyts: the pts of the first video and audio frames it decodes, and how it ended. */
async function seekWithFfmpeg(
  target: string,
  ss: string,
): Promise<{
  video: number | undefined;
  audio: number | undefined;
  code: number | null;
  timedOut: boolean;
  stderr: string;
}> {
  const rtsp = target.startsWith('rtsp:') ? ['-rtsp_transport', 'tcp'] : [];
  const proc = run(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-ss', ss, '-copyts', ...rtsp, '-i', target, '-map', '0'].concat([
      '-frames:v',
      '2',
      '-vf',
      'showinfo',
      '-af',
      'ashowinfo',
      '-f',
      'null',
      '-',
    ]),
    { timeoutMs: HANG_BOUND_MS + 5000 },
  );
  const r = await endsWithin(proc, HANG_BOUND_MS);
  const first = (filter: string): number | undefined => {
    const m = new RegExp(`Parsed_${filter}_\\d+ .*n: *0 .*?pts_time:(-?[\\d.]+)`).exec(r.stderr);
    return m === null ? undefined : Number(m[1]);
  };
  return {
    video: first('showinfo'),
    audio: first('ashowinfo'),
    code: r.code,
    timedOut: r.timedOut,
    stderr: r.stderr,
  };
}

describe('files on demand: the file presentation timeline', () => {
  let server: RtspServer;
  let url: (p: string) => string;
  let dir: string;
  const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(...CLIPS);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-vodtl-'));
    ({ server, url } = await startTestServer({ mediaDir: dir }));
    if (skip !== false) return;
    for (const c of CLIPS) copyFileSync(mediaPath(c), join(dir, c));
    const lavfi = (spec: string): string[] => ['-f', 'lavfi', '-i', spec];
    const video = lavfi('testsrc2=size=320x180:rate=25:duration=3');
    const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-bf', '2', '-pix_fmt', 'yuv420p'];
    const make = [
      // Audio starts 0.5 s in: ffmpeg writes an empty edit before it (and its AAC priming after).
      [...video, '-itsoffset', '0.5', ...lavfi('sine=sample_rate=48000:duration=2')].concat([
        '-map',
        '0',
        '-map',
        '1',
        ...x264,
        '-c:a',
        'aac',
        join(dir, 'empty_edit.mp4'),
      ]),
      [...video, ...lavfi('sine=sample_rate=48000:duration=3')].concat([
        '-map',
        '0',
        '-map',
        '1',
        ...x264,
        '-c:a',
        'libopus',
        join(dir, 'opus.mp4'),
      ]),
    ];
    for (const args of make) {
      const r = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args], { timeoutMs: 60_000 })
        .done;
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    'ffprobe over RTSP sees the file times: start_time per track, video pts packet by packet',
    { skip },
    async (t) => {
      for (const name of [...CLIPS, ...MADE]) {
        const [file, served] = await Promise.all([probe(join(dir, name)), probe(url(name))]);
        const fileAudio = file.starts.get('audio')!;
        const servedAudio = served.starts.get('audio')!;
        t.diagnostic(
          `${name}: audio start ${fileAudio.toFixed(6)} in the file, ${servedAudio.toFixed(6)} over RTSP; ` +
            `video ${file.starts.get('video')!.toFixed(6)} / ${served.starts.get('video')!.toFixed(6)}`,
        );
        // Opus: the first frame straddles 0 (pre-skip 312 of its 960 samples): sent at its true time,
        // -6.5 ms, which RTP cannot mark as partly discarded. AAC's priming frame, wholly before 0, is not sent.
        const expectedAudio = name === 'opus.mp4' ? fileAudio - 312 / 48000 : fileAudio;
        assert.ok(Math.abs(servedAudio - expectedAudio) < 0.001, `${name}: audio starts at ${servedAudio}`);
        // Video, packet by packet in decode order. ffmpeg's parser gives no time to the first frame it reads
        // from RTP (no byte position), so its start_time is the second packet's; every timed packet matches.
        assert.ok(served.videoPts.length >= 10, `${name}: ${served.videoPts.length} video packets`);
        served.videoPts.slice(0, 20).forEach((pts, i) => {
          if (i === 0 && Number.isNaN(pts)) return;
          assert.ok(
            Math.abs(pts - file.videoPts[i]!) < 0.001,
            `${name}: video packet ${i} at ${pts}, ${file.videoPts[i]} in the file`,
          );
        });
      }
    },
  );

  test('a=range and Range replies say what the file holds', { skip }, async () => {
    const c = await RawClient.connect(server.port);
    try {
      for (const name of ['h264_base_aac.mp4', 'h264_main_aac.mp4']) {
        const d = await c.request('DESCRIBE', url(name));
        assert.match(d.body.toString(), /^a=range:npt=0-10\r$/m, 'ffprobe: duration 10.000000');
        const s = await c.request('SETUP', `${url(name)}/trackID=0`, {
          Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
        });
        const id = sessionId(s);
        for (const [asked, replied] of [
          ['npt=0.-21-', 'npt=0.000-10.000'],
          ['npt=0.-130-', 'npt=0.000-10.000'],
          ['npt=3.5-', 'npt=3.000-10.000'], // the keyframe at 3 s (one every 25 frames)
          ['npt=20.000-', 'npt=10.000-10.000'],
        ]) {
          assert.equal((await c.request('PAUSE', `${url(name)}/`, { Session: id })).statusCode, 200);
          const p = await c.request('PLAY', `${url(name)}/`, { Session: id, Range: asked! });
          assert.equal(p.statusCode, 200, `${name} ${asked}`);
          assert.equal(p.headers.get('Range'), replied, `${name} ${asked}`);
        }
        await c.request('TEARDOWN', `${url(name)}/`, { Session: id });
      }
    } finally {
      c.close();
    }
  });

  test(
    'ffmpeg -ss 0, 0.01, 5 and past the end, with and without B-frames: the first frames the file gives, then an end',
    { skip },
    async (t) => {
      for (const name of ['h264_base_aac.mp4', 'h264_main_aac.mp4']) {
        for (const ss of ['0', '0.01', '5', '20']) {
          const [file, served] = await Promise.all([
            seekWithFfmpeg(join(dir, name), ss),
            seekWithFfmpeg(url(name), ss),
          ]);
          t.diagnostic(
            `${name} -ss ${ss}: video ${served.video}, audio ${served.audio} (file: ${file.video}, ${file.audio})`,
          );
          assert.ok(!served.timedOut, `${name} -ss ${ss}: ffmpeg hung: ${served.stderr.slice(-1500)}`);
          assert.equal(served.code, 0, `${name} -ss ${ss}: ${served.stderr.slice(-1500)}`);
          if (ss === '20') {
            assert.deepEqual([served.video, served.audio], [undefined, undefined], 'nothing past the end');
            continue;
          }
          assert.ok(
            served.audio !== undefined && Math.abs(served.audio - file.audio!) < 0.001,
            `${name} -ss ${ss}: audio`,
          );
          // ffmpeg loses the time of the first frame after each PLAY (see above): when its seek lands on a
          // keyframe (-ss 5 without B-frames; with them it seeks 0.13 s earlier), that frame is dropped.
          const lost = name === 'h264_base_aac.mp4' && ss === '5' ? FRAME_S : 0;
          assert.ok(
            served.video !== undefined && Math.abs(served.video - file.video! - lost) < 0.001,
            `${name} -ss ${ss}: first video frame at ${served.video}, ${file.video} from the file`,
          );
        }
      }
    },
  );
});
