// RtspClient and the probe/play commands against gst-rtsp-server (../shared/peers/gst_server.py), a server
// nobody here wrote: play over udp and tcp, digest auth, probe output and exit codes, a recorded file that
// ffprobe decodes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtspClient, type DescribeResult, type RtspClientError } from '../src/client/index.js';
import type { AccessUnit } from '../src/format/access-unit.js';
import { mediaPath, repoRoot, requireTools, skipUnless, skipUnlessMedia } from './support/tools.js';
import { parseProbe, probeFrames, rtspkit, type Run, run, waitFor } from './support/process.js';

const GST_SERVER = join(repoRoot(), '..', 'shared', 'peers', 'gst_server.py');
const CLIP = 'h264_base_aac.mp4';

function skipReason(): string | false {
  const tools = skipUnless('ffprobe') || skipUnlessMedia(CLIP);
  if (tools !== false) return tools;
  if (existsSync('/usr/bin/python3') && existsSync(GST_SERVER)) return false;
  if (requireTools)
    throw new Error('RTSPKIT_REQUIRE_TOOLS=1 but gst_server.py or /usr/bin/python3 is missing');
  return 'needs /usr/bin/python3 and ../shared/peers/gst_server.py';
}

/** A TCP port free right now (bound on port 0, then released). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Gst {
  proc: Run;
  port: number;
}

async function startGst(extra: string[] = [], file = mediaPath(CLIP)): Promise<Gst> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    // Server-side RTP/RTCP ports next to the RTSP port; a clash makes gst exit, and we retry elsewhere.
    const proc = run(
      '/usr/bin/python3',
      [GST_SERVER, '--file', file, '--port', String(port)]
        .concat(['--udp-ports', `${port + 2}-${port + 41}`, '--max-seconds', '60'])
        .concat(extra),
      { timeoutMs: 70_000 },
    );
    const state = { stderr: '', exited: false };
    proc.child.stderr!.on('data', (d: string) => {
      state.stderr += d;
    });
    void proc.done.then(() => (state.exited = true));
    await waitFor(
      () => /ready pid=\d+/.test(state.stderr) || state.exited,
      20_000,
      'gst_server.py to be ready',
    );
    if (!state.exited) {
      await describable(port, extra.includes('--auth') ? 'user:pass@' : '');
      return { proc, port };
    }
    if (attempt >= 2) throw new Error(`gst_server.py failed: ${state.stderr}`);
  }
}

/** A shared live media answers DESCRIBE (400 before) only once its pipeline has data: wait for that. */
async function describable(port: number, userinfo: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const c = new RtspClient(`rtsp://${userinfo}127.0.0.1:${port}/live`, { timeoutMs: 5000 });
    c.on('error', () => undefined);
    try {
      await c.describe();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    } finally {
      c.close();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * DESCRIBE, again while gst-rtsp-server answers 503: its shared media, unprepared when the last reader
 * left (the readiness probe of startGst), is being prepared again.
 */
async function describeWhenReady(client: RtspClient): Promise<DescribeResult> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await client.describe();
    } catch (e) {
      if ((e as RtspClientError).code !== 'RTSP_503' || Date.now() > deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopGst(g: Gst | undefined): Promise<void> {
  if (g === undefined) return;
  g.proc.kill('SIGTERM');
  await g.proc.done;
}

function cli(args: string[], timeoutMs = 30_000): Run {
  return rtspkit(args, timeoutMs);
}

describe('client against gst-rtsp-server', { skip: skipReason() }, () => {
  let gst: Gst | undefined;
  let auth: Gst | undefined;
  let dir: string;
  before(async () => {
    [gst, auth] = await Promise.all([
      startGst(),
      startGst(['--auth', 'user:pass', '--auth-method', 'digest']),
    ]);
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-client-'));
  });
  after(async () => {
    await Promise.all([stopGst(gst), stopGst(auth)]);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const via of ['udp', 'tcp', 'http'] as const) {
    test(`plays over ${via}: keyframe first, ~25 fps video and audio`, async () => {
      // http: the QuickTime tunnel (GET + POST with x-sessioncookie), media interleaved in the GET.
      const transport = via === 'http' ? 'tcp' : via;
      const client = new RtspClient(`rtsp://127.0.0.1:${gst!.port}/live`, {
        udpFallback: false,
        httpTunnel: via === 'http',
      });
      client.on('error', () => undefined);
      const video: AccessUnit[] = [];
      let audio = 0;
      client.on('accessUnit', (t, au) => {
        if (t.type === 'video') video.push(au);
        else audio++;
      });
      await client.options();
      assert.ok(client.publicMethods?.includes('GET_PARAMETER'));
      const d = await client.describe();
      assert.deepEqual(
        d.tracks.map((t) => t.encodingName),
        ['H264', 'MPEG4-GENERIC'],
      );
      await client.setup({ transport });
      await client.play();
      await waitFor(() => video.length >= 50, 15_000, '50 video access units');
      assert.equal(client.transport, transport);
      assert.equal(video[0]!.keyframe, true);
      // 25 fps: consecutive frames 3600 ticks of 90 kHz apart (the relay may put a cached keyframe first,
      // with a gap after it, so the rule is asked of most frames, not all).
      const deltas = video.slice(1, 50).map((au, i) => au.pts - video[i]!.pts);
      const regular = deltas.filter((d) => d === 3600).length;
      assert.ok(regular >= deltas.length - 2, `frame intervals ${deltas.join(' ')}`);
      assert.ok(audio > 0);
      assert.equal(client.stats()[0]!.packetsLost, 0);
      await client.teardown();
      client.close();
    });
  }

  test('digest auth: the right password plays, a wrong one fails with RTSP_401', async () => {
    const good = new RtspClient(`rtsp://user:pass@127.0.0.1:${auth!.port}/live`);
    good.on('error', () => undefined);
    let aus = 0;
    good.on('accessUnit', () => aus++);
    await good.describe();
    await good.setup({ transport: 'tcp' });
    await good.play();
    await waitFor(() => aus > 10, 15_000, 'access units with digest auth');
    await good.teardown();
    good.close();

    const bad = new RtspClient(`rtsp://user:nope@127.0.0.1:${auth!.port}/live`);
    bad.on('error', () => undefined);
    await assert.rejects(bad.describe(), { code: 'RTSP_401' });
    bad.close();
  });

  test('probe prints the codecs, 640x360 and the methods; --json too', async () => {
    const text = await cli(['probe', `rtsp://user:pass@127.0.0.1:${auth!.port}/live`]).done;
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Track 0: video h264 \(Constrained Baseline, level 3\.0\) 640x360 25 fps/);
    assert.match(text.stdout, /Track 1: audio aac \(LC\) 48000 Hz 2 ch/);
    assert.match(text.stdout, /Methods: .*DESCRIBE.*GET_PARAMETER/);
    assert.doesNotMatch(text.stdout, /pass/, 'no password in the output');

    const json = await cli(['probe', '--json', '--transport', 'udp', `rtsp://127.0.0.1:${gst!.port}/live`])
      .done;
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as {
      tracks: { codec: string; width?: number; height?: number; sampleRate?: number; channels?: number }[];
      transport: string;
    };
    assert.deepEqual(
      out.tracks.map((t) => t.codec),
      ['h264', 'aac'],
    );
    assert.deepEqual([out.tracks[0]!.width, out.tracks[0]!.height], [640, 360]);
    assert.deepEqual([out.tracks[1]!.sampleRate, out.tracks[1]!.channels], [48000, 2]);
    assert.equal(out.transport, 'udp');
  });

  test('probe failures: exit code and one readable line', async () => {
    const cases: [string[], number, RegExp][] = [
      [['probe', `rtsp://127.0.0.1:${gst!.port}/nope`], 4, /404 Not Found \(unknown path\)/],
      [['probe', `rtsp://user:wrong@127.0.0.1:${auth!.port}/live`], 5, /401 .*wrong user name or password/],
      [['probe', `rtsp://127.0.0.1:${auth!.port}/live`], 5, /credentials required/],
      [['probe', `rtsp://127.0.0.1:${await freePort()}/live`], 3, /connection refused/],
      [['probe', 'rtsp//127.0.0.1/live'], 2, /bad URL/],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(args).done;
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
  });

  test('play -o .mp4 over udp, tcp and http: the codecs and picture size of the source, 25 frames/s', async (t) => {
    const src = await probeFrames(mediaPath(CLIP)).done;
    assert.equal(src.code, 0, src.stderr);
    const source = parseProbe(src.stdout);
    const SECONDS = 3;
    const runs = (['udp', 'tcp', 'http'] as const).map((via) => {
      const file = join(dir, `gst-${via}.mp4`);
      const args = ['play', `rtsp://127.0.0.1:${gst!.port}/live`, '-o', file, '-t', via];
      return { via, file, done: cli([...args, '--duration', String(SECONDS)]).done };
    });
    for (const r of runs) {
      const ended = await r.done;
      assert.equal(ended.code, 0, `${r.via}: ${ended.stderr}`);
      const p = await probeFrames(r.file).done;
      assert.equal(p.code, 0, p.stderr);
      assert.equal(p.stderr, '', `${r.via}: ffprobe reads the file without errors`);
      const got = parseProbe(p.stdout);
      assert.deepEqual(
        got.map((s) => [s.codec_name, s.width, s.height]),
        source.map((s) => [s.codec_name, s.width, s.height]),
        `${r.via}: codecs and picture size`,
      );
      // A live stream joined mid-GOP: the recording starts at the next keyframe, up to 1 s in.
      const frames = Number(got[0]!.nb_read_frames);
      assert.ok(frames >= 25 * (SECONDS - 1) - 3 && frames <= 25 * SECONDS + 3, `${r.via}: ${frames} frames`);
      t.diagnostic(`${r.via}: ${frames} video frames in ${SECONDS} s`);
    }
  });

  test('play writes H.264 and AAC files that ffprobe decodes, also when stopped with SIGINT', async () => {
    const h264 = join(dir, 'out.h264');
    const r = await cli(['play', `rtsp://127.0.0.1:${gst!.port}/live`, '-o', h264, '--duration', '3']).done;
    assert.equal(r.code, 0, r.stderr);
    const aac = join(dir, 'out.aac');
    const p = cli(['play', `rtsp://127.0.0.1:${gst!.port}/live`, '-o', aac, '--transport', 'tcp']);
    await waitFor(() => existsSync(aac), 15_000, 'the output file');
    await new Promise((res) => setTimeout(res, 2500));
    p.kill('SIGINT');
    const r2 = await p.done;
    assert.equal(r2.code, 0, r2.stderr);

    for (const [file, codec, min] of [
      [h264, 'h264', 40],
      [aac, 'aac', 50],
    ] as const) {
      const probe = await run(
        'ffprobe',
        ['-v', 'error', '-count_frames', '-of', 'json'].concat([
          '-show_entries',
          'stream=codec_name,width,height,sample_rate,channels,nb_read_frames',
          file,
        ]),
        { timeoutMs: 30_000 },
      ).done;
      assert.equal(probe.code, 0, probe.stderr);
      assert.equal(probe.stderr, '', `ffprobe reads ${file} without errors`);
      const [s] = parseProbe(probe.stdout);
      assert.equal(s?.codec_name, codec);
      assert.ok(Number(s.nb_read_frames) >= min, `${file}: ${s.nb_read_frames} frames`);
      if (codec === 'h264') assert.deepEqual([s.width, s.height], [640, 360]);
    }
  });
});

/** A clip gst-rtsp-server payloads (rtph265pay, rtpopuspay, rtpjpegpay, rtppcmupay, rtppcmapay). */
interface CodecCase {
  clip: string;
  encodings: string[];
  /** Ticks between consecutive access units of each track (PCM: the previous unit's sample count). */
  step: (number | 'samples')[];
  /**
   * Re-encode the clip first with these ffmpeg options. RFC 2435 carries no Huffman tables (the
   * receiver uses the standard ones of JPEG Annex K.3), and ffmpeg's MJPEG encoder writes optimised
   * ones by default, so the shared clip's pictures cannot be rebuilt from RTP by anyone.
   */
  reencode?: string[];
}

const CODEC_CASES: CodecCase[] = [
  { clip: 'h265_aac.mp4', encodings: ['H265', 'MPEG4-GENERIC'], step: [3600, 1024] },
  { clip: 'h264_opus.mkv', encodings: ['H264', 'OPUS'], step: [3600, 960] },
  {
    clip: 'mjpeg.mkv',
    encodings: ['JPEG'],
    step: [3600],
    reencode: ['-c:v', 'mjpeg', '-huffman', 'default', '-pix_fmt', 'yuvj420p', '-q:v', '8'],
  },
  { clip: 'pcmu.wav', encodings: ['PCMU'], step: ['samples'] },
  { clip: 'pcma.wav', encodings: ['PCMA'], step: ['samples'] },
];

describe(
  'access units of every codec from gst-rtsp-server',
  { skip: skipReason() || skipUnless('ffmpeg') || skipUnlessMedia(...CODEC_CASES.map((c) => c.clip)) },
  () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'rtspkit-codecs-'));
    });
    after(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    for (const c of CODEC_CASES) {
      test(`${c.clip}: ${c.encodings.join(' + ')} depacketized, one presentation time per frame`, async (t) => {
        let file = mediaPath(c.clip);
        if (c.reencode !== undefined) {
          file = join(dir, c.clip);
          const args = ['-hide_banner', '-loglevel', 'error', '-y', '-i', mediaPath(c.clip), '-t', '3'];
          const r = await run('ffmpeg', [...args, ...c.reencode, file], { timeoutMs: 60_000 }).done;
          assert.equal(r.code, 0, r.stderr);
        }
        const gst = await startGst([], file);
        try {
          const client = new RtspClient(`rtsp://127.0.0.1:${gst.port}/live`, { udpFallback: false });
          client.on('error', () => undefined);
          const units = c.encodings.map((): AccessUnit[] => []);
          client.on('accessUnit', (track, au) => units[track.index]!.push(au));
          const d = await describeWhenReady(client);
          assert.deepEqual(
            d.tracks.map((tr) => tr.encodingName),
            c.encodings,
          );
          await client.setup({ transport: 'tcp' });
          await client.play();
          // PCM comes ~6 packets a second; 12 units of every track is ~2 s of media.
          await waitFor(() => units.every((u) => u.length >= 12), 15_000, 'access units on every track');
          await client.teardown();
          client.close();
          c.step.forEach((step, i) => {
            const us = units[i]!;
            const deltas = us.slice(1).map((au, k) => au.pts - us[k]!.pts);
            // The shared live media may start a reader mid-stream: the first interval can be anything.
            if (step === 'samples') {
              const expected = us.slice(0, -1).map((au) => au.payload!.length);
              assert.deepEqual(deltas.slice(1), expected.slice(1), `${c.encodings[i]} pts intervals`);
              return;
            }
            // One presentation time per frame: every interval a whole number of frames. A loaded machine
            // makes gst-rtsp-server drop a few packets of a TCP client whose backlog is full (seen twice with
            // AAC, a gap of 2048 at the start): a missing frame, not one of ours merged or repeated (an
            // interval of 0, or one that is not a multiple of the frame's).
            const gaps = deltas.slice(1).filter((d) => d !== step);
            assert.ok(
              gaps.every((d) => d > 0 && d % step === 0) && gaps.length <= 2,
              `${c.encodings[i]} pts intervals: ${deltas.join(' ')}`,
            );
            if (gaps.length > 0)
              t.diagnostic(`${c.encodings[i]}: ${gaps.length} frames missing from the peer`);
          });
          if (d.tracks[0]!.type === 'video') assert.equal(units[0]![0]!.keyframe, true, 'keyframe first');
          if (c.encodings[0] === 'JPEG') {
            // Each unit is a whole JFIF picture rebuilt from the RFC 2435 header: ffprobe decodes it.
            const jpeg = units[0]![5]!.payload!;
            const file = join(dir, 'frame.jpg');
            writeFileSync(file, jpeg);
            const r = await probeFrames(file).done;
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stderr, '', 'ffprobe decodes the picture without errors');
            const [s] = parseProbe(r.stdout);
            assert.deepEqual([s?.codec_name, s?.width, s?.height], ['mjpeg', 640, 360]);
          }
          t.diagnostic(`${c.clip}: ${units.map((u) => u.length).join(' + ')} access units`);
        } finally {
          await stopGst(gst);
        }
      });
    }
  },
);
