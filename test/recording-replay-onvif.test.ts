// ONVIF replay headers on recordings (ONVIF Streaming §6.3-6.6) over a raw RTSP connection: `Frames`
// (intra, intra/<ms>, predicted) applied and echoed, `Rate-Control: no` (as fast as the connection
// takes it, echoed, still every frame), the T bit on the very last packet only, bad values refused
// with a clear status while the server serves on; and `rtspkit play --start --scale` over TCP and UDP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ntpToUnixMs } from '../src/base/clock.js';
import { parseOnvifReplayExtension } from '../src/rtp/onvif-replay.js';
import { parseRtpPacket } from '../src/rtp/packet.js';
import { parseRtcpCompound } from '../src/rtp/rtcp.js';
import { formatUtcTime } from '../src/rtsp/range.js';
import type { RtspServer } from '../src/server/server.js';
import {
  fixedCatalog,
  recordedVideoSamples,
  writeRecording,
  type TestSegment,
} from './support/muxed-recordings.js';
import { parseProbe, probeFrames, rtspkit } from './support/process.js';
import { RawClient, sessionId } from './support/raw-client.js';
import { startTestServer } from './support/server.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const T0 = Date.UTC(2026, 11, 6, 10, 15, 0);
const REPLAY = { Require: 'onvif-replay' };

interface ReplayPacket {
  marker: boolean;
  payloadBytes: number;
  wallMs: number;
  c: boolean;
  t: boolean;
}

describe('ONVIF replay headers on recordings', { skip: skipUnlessMedia(CLIP), concurrency: 2 }, () => {
  let dir: string;
  let server: RtspServer;
  let url: (p: string) => string;
  let segments: TestSegment[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-replay-onvif-'));
    segments = await writeRecording(dir, 'cam1', mediaPath(CLIP), [
      { startMs: T0, fromS: 0, seconds: 3 },
      { startMs: T0 + 13_000, fromS: 4, seconds: 3 },
    ]);
    ({ server, url } = await startTestServer({ recordings: fixedCatalog(segments) }));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** SETUP of the video over TCP, one PLAY with `headers`; the reply and the video packets to the BYE. */
  async function replayVideo(
    headers: Record<string, string>,
  ): Promise<{ status: number; reply: { get(name: string): string | undefined }; packets: ReplayPacket[] }> {
    const c = await RawClient.connect(server.port);
    try {
      const base = url('cam1');
      const s0 = await c.request('SETUP', `${base}/trackID=0`, {
        ...REPLAY,
        Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
      });
      assert.equal(s0.statusCode, 200);
      const session = sessionId(s0);
      const play = await c.request('PLAY', base, { ...REPLAY, Session: session, ...headers });
      const packets: ReplayPacket[] = [];
      if (play.statusCode === 200) {
        await c.until(
          () =>
            c.frames.some(
              (f) => f.channel === 1 && parseRtcpCompound(f.payload).some((p) => p.type === 'bye'),
            ),
          30_000,
          'RTCP BYE at the end of the replay',
        );
        for (const f of c.frames) {
          if (f.channel !== 0) continue;
          const p = parseRtpPacket(f.payload);
          const x = parseOnvifReplayExtension(p.extension!);
          packets.push({
            marker: p.marker,
            payloadBytes: p.payload.length,
            wallMs: ntpToUnixMs(x.ntp),
            c: x.cleanPoint,
            t: x.terminal,
          });
        }
        await c.request('TEARDOWN', base, { Session: session });
      }
      return { status: play.statusCode, reply: play.headers, packets };
    } finally {
      c.close();
    }
  }

  /** The frames (marker packets) of a replay. */
  const framesOf = (packets: ReplayPacket[]): ReplayPacket[] => packets.filter((p) => p.marker);

  test('Frames: intra sends the keyframes only, intra/<ms> no closer than that; both echoed', async () => {
    const range = `clock=${formatUtcTime(T0)}-`;
    const keys = recordedVideoSamples(segments).filter((s) => s.key);
    const intra = await replayVideo({ Range: range, Frames: 'intra' });
    assert.equal(intra.status, 200);
    assert.equal(intra.reply.get('Frames'), 'intra');
    const frames = framesOf(intra.packets);
    assert.deepEqual(
      frames.map((f) => Math.round(f.wallMs)),
      keys.map((k) => Math.round(k.wallMs)),
    );
    assert.ok(frames.every((f) => f.c));

    const spaced = await replayVideo({ Range: range, Frames: 'intra/1500' });
    assert.equal(spaced.reply.get('Frames'), 'intra/1500');
    const times = framesOf(spaced.packets).map((f) => f.wallMs);
    assert.ok(times.length > 0 && times.length < keys.length, `${times.length} of ${keys.length} keyframes`);
    // The media clock (npt) closes the 10 s gap: apart by 1.5 s of recorded media, or across the gap.
    for (let i = 1; i < times.length; i++)
      assert.ok(times[i]! - times[i - 1]! >= 1500 - 1, `${times[i - 1]} then ${times[i]}`);
  });

  test('Frames: predicted leaves out B-frames only (this clip has none: every frame)', async () => {
    const r = await replayVideo({ Range: `clock=${formatUtcTime(T0)}-`, Frames: 'predicted' });
    assert.equal(r.reply.get('Frames'), 'predicted');
    assert.equal(framesOf(r.packets).length, recordedVideoSamples(segments).length);
  });

  test('Rate-Control: no: every frame, faster than real time, echoed; T on the last frame only, then a lead-out', async () => {
    const started = performance.now();
    const r = await replayVideo({ Range: `clock=${formatUtcTime(T0)}-`, 'Rate-Control': 'no' });
    assert.equal(r.status, 200);
    assert.equal(r.reply.get('Rate-Control'), 'no');
    assert.equal(r.reply.get('Speed'), undefined);
    const recorded = recordedVideoSamples(segments);
    const frames = framesOf(r.packets);
    assert.equal(frames.length, recorded.length);
    // 6 s of recordings; the BYE waits UNPACED_REPLAY_BYE_FLOOR_MS (3 s) for rtspsrc's jitter buffer.
    assert.ok(performance.now() - started < 5500, `took ${Math.round(performance.now() - started)} ms`);
    const terminal = r.packets.map((p, i) => (p.t ? i : -1)).filter((i) => i >= 0);
    const lastFrameEnd = r.packets.findLastIndex((p) => p.marker);
    assert.deepEqual(terminal, [lastFrameEnd], 'T on the last packet of the last frame alone');
    // The lead-in packet (no payload) opens the replay over TCP, before the first frame.
    assert.equal(r.packets[0]!.payloadBytes, 0);
    assert.ok(!r.packets[0]!.marker);
    // Lead-out packets (no payload, no flag; every 0.5 s from the end of the media, one with the BYE:
    // vod-control.ts endUnpacedReplay) close it.
    const leadOuts = r.packets.slice(lastFrameEnd + 1);
    assert.ok(leadOuts.length >= 1, 'a lead-out before the BYE');
    for (const leadOut of leadOuts) {
      assert.equal(leadOut.payloadBytes, 0);
      assert.ok(!leadOut.marker && !leadOut.t);
      assert.ok(Math.abs(leadOut.wallMs - recorded.at(-1)!.wallMs) < 100, `lead-out at ${leadOut.wallMs}`);
    }
  });

  test('bad replay headers and ranges: clear statuses, the server plays on', async () => {
    const bad = [
      { Range: `clock=${formatUtcTime(T0)}-`, Frames: 'sometimes' },
      { Range: `clock=${formatUtcTime(T0)}-`, Frames: 'predicted/100' },
      { Range: `clock=${formatUtcTime(T0)}-`, 'Rate-Control': 'maybe' },
      { Range: `clock=${formatUtcTime(T0)}-`, Scale: '0' },
    ];
    for (const headers of bad)
      assert.equal((await replayVideo(headers)).status, 400, JSON.stringify(headers));
    assert.equal((await replayVideo({ Range: 'clock=2026-12-06-' })).status, 457);
    assert.equal((await replayVideo({ Range: 'clock=20261306T101500Z-' })).status, 457);
    // Scale 1000 is clamped to what the server does (8, RFC 2326 §12.34) and says so.
    const fast = await replayVideo({ Range: `clock=${formatUtcTime(T0)}-`, Scale: '1000' });
    assert.equal(fast.status, 200);
    assert.equal(fast.reply.get('Scale'), '8');
    assert.ok(framesOf(fast.packets).every((f) => f.c));
  });

  for (const transport of ['tcp', 'udp'])
    test(
      `rtspkit play --start --scale 4, then --scale -2 backwards, over ${transport}`,
      { skip: skipUnless('ffprobe') },
      async () => {
        const base = url('cam1?token=abc');
        const forward = join(dir, `cli-${transport}.mp4`);
        const keys = recordedVideoSamples(segments).filter((s) => s.key);
        const f = await rtspkit(
          [
            'play',
            base,
            '--start',
            new Date(T0 + 1000).toISOString(),
            '--scale',
            '4',
            '-t',
            transport,
            '-o',
            forward,
          ],
          40_000,
        ).done;
        assert.equal(f.code, 0, f.stderr);
        assert.match(f.stderr, /end of stream/);
        const back = join(dir, `cli-${transport}-back.mp4`);
        const b = await rtspkit(
          [
            'play',
            base,
            '--start',
            new Date(T0 + 15_500).toISOString(),
            '--end',
            new Date(T0).toISOString(),
          ].concat(['--scale', '-2', '-t', transport, '-o', back]),
          40_000,
        ).done;
        assert.equal(b.code, 0, b.stderr);
        // Keyframes at least |scale| * 0.2 s of media apart: here every keyframe (1 s apart), forward from
        // the one at 1 s, backwards from 15 s to the first.
        const expected = [keys.filter((k) => k.wallMs >= T0 + 1000).length, keys.length];
        for (const [i, file] of [forward, back].entries()) {
          const p = await probeFrames(file).done;
          assert.equal(p.code, 0, p.stderr);
          const video = parseProbe(p.stdout).find((s) => s.codec_name === 'h264');
          assert.equal(Number(video?.nb_read_frames), expected[i], file);
        }
      },
    );
});
