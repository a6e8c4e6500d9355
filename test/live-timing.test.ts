// Timelines across tracks: a reader's RTP-Info and the RTCP sender reports it then receives must put
// audio and video on the same instant (RFC 2326 §12.33, RFC 3550 §6.4.1), or a receiver that moves
// from one to the other (ffmpeg at its first SR) sees one track jump. Live paths fed by ffmpeg,
// GStreamer and a file loop, joined at several points of the GOP and of the SR period; files on
// demand after PLAY, a seek and PAUSE/resume.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { endsWithin, parseProbe, publishFile, run, waitFor, type Run } from './support/process.js';
import { gstRead, skipUnlessGstReader } from './support/gst.js';
import { startTestServer } from './support/server.js';
import { joinOverTcp, syncAfterPlay, type SyncReading } from './support/rtp-sync.js';
import { Mp4LoopSource } from '../src/sources/mp4-loop.js';
import type { RtspServer } from '../src/server/server.js';

const CLIP = 'h264_main_aac.mp4'; // B-frames: video RTP time runs ahead of decode order
/** One AAC frame at 48 kHz: the bound on the cross-track disagreement. */
const AUDIO_FRAME_MS = (1024 / 48000) * 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('RTP-Info and sender reports agree across tracks', () => {
  let server: RtspServer;
  let url: (p: string) => string;
  let dir: string;
  const publishers: Run[] = [];
  let loop: Mp4LoopSource | undefined;
  const skip = skipUnless('ffmpeg', 'ffprobe', 'gst-launch-1.0') || skipUnlessMedia(CLIP);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-timing-'));
    copyFileSync(mediaPath(CLIP), join(dir, 'clip.mp4'));
    // Reports every second (the sweep's period), so every join sees one soon.
    ({ server, url } = await startTestServer({ senderReportIntervalMs: 1000, mediaDir: dir }));
  });
  after(async () => {
    for (const p of publishers) p.kill('SIGKILL');
    await loop?.stop();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startPublishers(): Promise<string[]> {
    loop = await Mp4LoopSource.open({ file: mediaPath(CLIP), loop: true });
    const stream = server.addSourcePath('loop', loop.media);
    assert.ok(stream !== false);
    loop.start(stream);
    publishers.push(publishFile(mediaPath(CLIP), url('ffmpeg'), 'tcp', { loop: true, timeoutMs: 60_000 }));
    publishers.push(
      run(
        'gst-launch-1.0',
        ['-q', 'filesrc', `location=${mediaPath(CLIP)}`, '!', 'qtdemux', 'name=d']
          .concat(['d.video_0', '!', 'queue', '!', 'h264parse', '!'])
          .concat(['rtspclientsink', 'name=s', `location=${url('gst')}`, 'protocols=tcp'])
          .concat(['d.audio_0', '!', 'queue', '!', 'aacparse', '!', 's.']),
        { timeoutMs: 60_000 },
      ),
    );
    const paths = ['loop', 'ffmpeg', 'gst'];
    await waitFor(
      () => paths.every((p) => server.paths.get(p)?.stream?.hasCachedKeyframe === true),
      15_000,
      'every path publishing',
    );
    return paths;
  }

  /** Joins `path` once and reads how its RTP-Info and first SRs agree. */
  async function joinOnce(path: string): Promise<SyncReading> {
    const { client, play, rates } = await joinOverTcp(server.port, url(path));
    try {
      return await syncAfterPlay(client, play, rates, 0);
    } finally {
      client.close();
    }
  }

  test('live: ffmpeg, GStreamer and a file loop, 4 joins each', { skip }, async (t: TestContext) => {
    const paths = await startPublishers();
    // The first join comes as soon as every path has a keyframe, before GStreamer's first sender
    // reports (1-3 s in, each track on its own schedule): the stream's lines then move from packet
    // arrival to the reports while the reader plays, the hard case. The next ones 0.7 s and 1.3 s
    // apart: different points of the 1 s GOP and of the 1 s SR period, between the tracks' first SRs.
    const readings = new Map<string, number[]>(paths.map((p) => [p, []]));
    const beforeReports: string[] = [];
    for (const [join, pauseMs] of [700, 1300, 1300, 0].entries()) {
      for (const p of paths) {
        const known = server.paths.get(p)!.stream!.counters.filter((c) => c.senderReport !== undefined);
        if (known.length < 2) beforeReports.push(`${p} join ${join + 1} (${known.length} of 2 tracks)`);
      }
      const results = await Promise.all(paths.map((p) => joinOnce(p)));
      results.forEach((r, i) => readings.get(paths[i]!)!.push(r.spreadMs));
      await sleep(pauseMs);
    }
    t.diagnostic(`joined before the publisher's SRs: ${beforeReports.join(', ') || 'none'}`);
    for (const [path, spreads] of readings)
      t.diagnostic(
        `${path}: RTP-Info vs SR across tracks, ms: ${spreads.map((s) => s.toFixed(2)).join(' ')}`,
      );
    for (const [path, spreads] of readings) {
      for (const s of spreads)
        assert.ok(s < AUDIO_FRAME_MS, `${path}: tracks ${s.toFixed(1)} ms apart (limit one AAC frame)`);
    }
  });

  test(
    'live: ffprobe joining 3 times for 10 s sees no backward audio or keyframe pts step (ffmpeg, file loop, GStreamer)',
    { skip },
    async (t) => {
      if (server.paths.get('ffmpeg')?.stream === undefined) await startPublishers();
      // GStreamer publishing a live encode (the file one has ended by now), read from the start: the
      // first read joins before its first sender reports, so it sees the lines move under it.
      publishers.push(gstLivePublisher(url('gst-live')));
      await waitFor(
        () => server.paths.get('gst-live')?.stream?.hasCachedKeyframe === true,
        15_000,
        'GStreamer publishing',
      );
      const reads: { path: string; probe: Run }[] = [];
      for (let i = 0; i < 3; i++) {
        for (const path of ['ffmpeg', 'loop', 'gst-live'])
          reads.push({
            path,
            probe: probePackets(url(path), 10),
          });
        await sleep(1300);
      }
      for (const { path, probe } of reads) {
        const r = await probe.done;
        assert.equal(r.code, 0, `${path}: ${r.stderr}`);
        const { steps, counts } = backwardSteps(r.stdout);
        t.diagnostic(
          `${path}: ${counts.audio} audio packets, ${counts.keyframe} keyframes, ` +
            (steps.length === 0 ? 'no backward step' : steps.join('; ')),
        );
        // 10 s is about 470 AAC frames and 10 keyframes (1 s GOPs); an empty read would prove nothing. Under
        // a CPU hog one loop read ended after 83 frames (not explained yet; likely a stall over 1 s that
        // re-anchors the file loop, moving its readers' pts forward): at least a keyframe and 1 s of audio.
        assert.ok(counts.audio >= 40 && counts.keyframe >= 1, `${path}: read too little`);
        assert.deepEqual(steps, [], `${path}: pts went back`);
      }
    },
  );

  test(
    'storm starts (joinBurstBytesPerSecond: 0): readers answered at once start at the next keyframe, numbered as ' +
      'RTP-Info says, RTP-Info and SRs agree; ffprobe and rtspsrc play from there',
    { skip: skip || skipUnlessGstReader() },
    async (t) => {
      // For paths started from now on: every session PLAYing is a storm start (stream-joins.ts).
      server.updateLimits({ joinBurstBytesPerSecond: 0 });
      const path = 'storm';
      const publisher = publishFile(mediaPath(CLIP), url(path), 'tcp', { durationS: 6, timeoutMs: 30_000 });
      publishers.push(publisher);
      await waitFor(
        () => server.paths.get(path)?.stream?.hasCachedKeyframe === true,
        15_000,
        'ffmpeg publishing',
      );
      const stream = server.paths.get(path)!.stream!;
      const videoOut = join(dir, 'storm.h264');
      const gst = gstRead(url(path), { protocols: 'tcp', videoOut, timeoutMs: 30_000 });
      const probe = probePackets(url(path), 3);
      const { client, play, rates } = await joinOverTcp(server.port, url(path));
      try {
        const reading = await syncAfterPlay(client, play, rates, 0);
        t.diagnostic(
          `RTP-Info ${play.headers.get('RTP-Info')}; RTP-Info vs SR ${reading.spreadMs.toFixed(2)} ms`,
        );
        assert.ok(reading.spreadMs < AUDIO_FRAME_MS, `tracks ${reading.spreadMs.toFixed(1)} ms apart`);
        for (const [track, info] of reading.rtpInfo.entries()) {
          const first = client.frames.find((f) => f.channel === 2 * track);
          assert.ok(first !== undefined, `a packet on track ${track}`);
          assert.equal(
            first.payload.readUInt16BE(2),
            info.seq,
            `track ${track}: the first packet is numbered as announced`,
          );
        }
        // Video starts with the keyframe's parameter sets (SPS, or a STAP-A that holds it).
        const video = client.frames.find((f) => f.channel === 0)!.payload;
        assert.ok([7, 24].includes(video[12 + 4 * (video[0]! & 0x0f)]! & 0x1f), 'video starts at a keyframe');
      } finally {
        client.close();
      }
      const probed = await probe.done;
      assert.equal(probed.code, 0, probed.stderr);
      const { steps, counts } = backwardSteps(probed.stdout);
      t.diagnostic(`ffprobe: ${counts.audio} audio packets, ${counts.keyframe} keyframes`);
      assert.ok(counts.audio >= 40 && counts.keyframe >= 1, 'ffprobe read too little');
      assert.deepEqual(steps, []);
      const ended = await endsWithin(gst, 20_000);
      assert.equal(ended.code, 0, ended.stderr.slice(-2000));
      const frames = run(
        'ffprobe',
        ['-v', 'error', '-count_frames', '-of', 'json', '-show_entries', 'stream=nb_read_frames', videoOut],
        { timeoutMs: 20_000 },
      );
      const [videoStream] = parseProbe((await frames.done).stdout);
      t.diagnostic(`rtspsrc wrote ${videoStream?.nb_read_frames} frames`);
      assert.ok(Number(videoStream?.nb_read_frames) >= 50, 'rtspsrc decoded at least 2 s of video');
      assert.ok(stream.stormStarts >= 3, `${stream.stormStarts} storm starts`);
      await publisher.done;
    },
  );

  test('on demand: after PLAY, a seek and PAUSE/resume', { skip: skipUnlessMedia(CLIP) }, async (t) => {
    const { client, session, play, rates } = await joinOverTcp(server.port, url('clip.mp4'));
    try {
      const spreads: [string, number][] = [];
      spreads.push(['play', (await syncAfterPlay(client, play, rates, 0)).spreadMs]);
      const uri = `${url('clip.mp4')}/`;
      await sleep(700);
      assert.equal((await client.request('PAUSE', uri, { Session: session })).statusCode, 200);
      let from = client.frames.length;
      const seek = await client.request('PLAY', uri, { Session: session, Range: 'npt=6.5-' });
      assert.equal(seek.statusCode, 200);
      spreads.push(['seek', (await syncAfterPlay(client, seek, rates, from)).spreadMs]);
      await sleep(900);
      assert.equal((await client.request('PAUSE', uri, { Session: session })).statusCode, 200);
      await sleep(300);
      from = client.frames.length;
      const resume = await client.request('PLAY', uri, { Session: session });
      assert.equal(resume.statusCode, 200);
      spreads.push(['resume', (await syncAfterPlay(client, resume, rates, from)).spreadMs]);
      t.diagnostic(spreads.map(([w, s]) => `${w} ${s.toFixed(2)} ms`).join(', '));
      for (const [what, s] of spreads)
        assert.ok(s < AUDIO_FRAME_MS, `${what}: tracks ${s.toFixed(1)} ms apart`);
    } finally {
      client.close();
    }
  });
});

/**
 * rtspclientsink publishing H.264 with B-frames and AAC encoded live from test sources (it never ends,
 * as a camera).
 */
function gstLivePublisher(location: string): Run {
  return run(
    'gst-launch-1.0',
    ['-q', 'videotestsrc', 'is-live=true', '!', 'video/x-raw,width=320,height=240,framerate=25/1']
      .concat(['!', 'x264enc', 'speed-preset=superfast', 'bframes=2', 'key-int-max=25', '!', 'h264parse'])
      .concat(['!', 'rtspclientsink', 'name=s', `location=${location}`, 'protocols=tcp'])
      .concat(['audiotestsrc', 'is-live=true', 'wave=ticks', '!', 'audio/x-raw,rate=48000,channels=2'])
      .concat(['!', 'audioconvert', '!', 'avenc_aac', '!', 'aacparse', '!', 's.']),
    { timeoutMs: 60_000 },
  );
}

/** ffprobe reading `url` over TCP for `seconds`: a `codec_type,pts_time,flags` line per packet. */
function probePackets(url: string, seconds: number): Run {
  return run(
    'ffprobe',
    ['-v', 'error', '-rtsp_transport', 'tcp', '-read_intervals', `%+${seconds}`].concat([
      '-show_entries',
      'packet=codec_type,pts_time,flags',
      '-of',
      'csv=p=0',
      url,
    ]),
    { timeoutMs: 30_000 },
  );
}

/**
 * Backward pts steps in ffprobe's `codec_type,pts_time,flags` lines: any in audio, and
 * between video keyframes (flag K; B-frames make other video pts non-monotonic).
 */
function backwardSteps(csv: string): { steps: string[]; counts: { audio: number; keyframe: number } } {
  const last = new Map<string, number>();
  const steps: string[] = [];
  const counts = { audio: 0, keyframe: 0 };
  for (const line of csv.split('\n')) {
    const [codecType, ptsText, flags = ''] = line.split(',');
    if (ptsText === undefined || ptsText === 'N/A' || ptsText === '') continue;
    const pts = Number(ptsText);
    const key =
      codecType === 'audio'
        ? 'audio'
        : codecType === 'video' && flags.startsWith('K')
          ? 'keyframe'
          : undefined;
    if (key === undefined) continue;
    counts[key]++;
    const prev = last.get(key);
    if (prev !== undefined && pts < prev) steps.push(`${key} ${prev.toFixed(3)} -> ${pts.toFixed(3)}`);
    last.set(key, pts);
  }
  return { steps, counts };
}
