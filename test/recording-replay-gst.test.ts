// ONVIF replay of recordings with GStreamer's rtspsrc in onvif-mode: a seek in clock time (the way an
// ONVIF client asks for a moment of a recording) at rate 2 and -1, and an unpaced replay
// (`onvif-rate-control=false`) read until EOS, over TCP and UDP, driven by
// test/support/gst_onvif_replay.py; every frame rtspsrc lets out is checked against the recording's
// wall clock through the replay header extension (ONVIF Streaming §6.3).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RtspServer } from '../src/server/server.js';
import {
  fixedCatalog,
  recordedVideoSamples,
  writeRecording,
  type TestSegment,
} from './support/muxed-recordings.js';
import { skipUnlessGstReader } from './support/gst.js';
import { run } from './support/process.js';
import { startTestServer } from './support/server.js';
import { mediaPath, repoRoot, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const T0 = Date.UTC(2026, 11, 6, 10, 15, 0);

interface ReplayFrame {
  wallMs: number;
  c: boolean;
  e: boolean;
  d: boolean;
  t: boolean;
}

/**
 * Runs gst_onvif_replay.py: the frames rtspsrc let out, in order, and how it ended (`terminal` after
 * the T bit, `eos` at EOS; with `untilEos` it reads on after the T bit).
 */
async function replay(
  url: string,
  protocols: string,
  options: { startMs: number; stopMs?: number; rate: number; props?: string[]; untilEos?: boolean },
): Promise<{ frames: ReplayFrame[]; endings: string[] }> {
  const args = [
    join(repoRoot(), 'test', 'support', 'gst_onvif_replay.py'),
    url,
    '--protocols',
    protocols,
    '--start',
    String(options.startMs),
    '--rate',
    String(options.rate),
  ];
  if (options.stopMs !== undefined) args.push('--stop', String(options.stopMs));
  for (const prop of options.props ?? []) args.push('--prop', prop);
  if (options.untilEos === true) args.push('--until-eos');
  const r = await run('/usr/bin/python3', args, { timeoutMs: 60_000 }).done;
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const frames: ReplayFrame[] = [];
  const endings: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^frame (\S+) ([01])([01])([01])([01])$/.exec(line);
    if (m !== null)
      frames.push({
        wallMs: Number(m[1]),
        c: m[2] === '1',
        e: m[3] === '1',
        d: m[4] === '1',
        t: m[5] === '1',
      });
    else if (line === 'eos' || line === 'terminal') endings.push(line);
    else assert.equal(line, '', `unexpected output: ${line}`);
  }
  return { frames, endings };
}

describe(
  'ONVIF replay with rtspsrc onvif-mode',
  { skip: skipUnlessMedia(CLIP) || skipUnlessGstReader() },
  () => {
    let dir: string;
    let server: RtspServer;
    let url: string;
    let segments: TestSegment[];
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'rtspkit-replay-gst-'));
      // Two segments of 3 s with a gap of 10 s, as in recording-playback.test.ts.
      segments = await writeRecording(dir, 'cam1', mediaPath(CLIP), [
        { startMs: T0, fromS: 0, seconds: 3 },
        { startMs: T0 + 13_000, fromS: 4, seconds: 3 },
      ]);
      const s = await startTestServer({ recordings: fixedCatalog(segments) });
      server = s.server;
      // DESCRIBE names the recordings by start= (rtspsrc asks for nothing else); the seek picks the moment.
      url = s.url(`cam1?start=${new Date(T0).toISOString()}`);
    });
    after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const protocols of ['tcp', 'udp'])
      test(`rate 2 from a clock-time seek over ${protocols}: every frame after it at its recorded time, across the gap`, async () => {
        const fromMs = T0 + 2000;
        // rtspsrc turns rate 2 into `Speed: 2`: every frame, delivered twice as fast.
        const { frames, endings } = await replay(url, protocols, { startMs: fromMs, rate: 2 });
        assert.ok(endings.length > 0, 'ended by the T bit or EOS');
        const recorded = recordedVideoSamples(segments);
        const firstKey = recorded.filter((s) => s.key && s.wallMs <= fromMs).at(-1)!;
        const expected = recorded.filter((s) => s.wallMs >= firstKey.wallMs);
        assert.equal(frames.length, expected.length, 'every frame from the keyframe at or before the seek');
        frames.forEach((f, i) => {
          const want = expected[i]!;
          assert.ok(Math.abs(f.wallMs - want.wallMs) < 1, `frame ${i}: ${f.wallMs} vs ${want.wallMs}`);
          assert.equal(f.c, want.key, `frame ${i} clean point`);
          const firstOfSecond = want.segment === 1 && expected[i - 1]?.segment === 0;
          assert.equal(f.d, i === 0 || firstOfSecond, `frame ${i} discontinuity`);
          assert.equal(f.t, i === expected.length - 1, `frame ${i} terminal`);
        });
      });

    for (const protocols of ['tcp', 'udp'])
      test(`rate -1 over ${protocols}: keyframes backwards across the gap, each at its recorded time`, async () => {
        const { frames } = await replay(url, protocols, { startMs: T0, stopMs: T0 + 15_500, rate: -1 });
        const keys = recordedVideoSamples(segments)
          .filter((s) => s.key && s.wallMs <= T0 + 15_500)
          .map((s) => s.wallMs)
          .sort((a, b) => b - a);
        assert.ok(frames.length > 0);
        frames.forEach((f, i) => {
          assert.ok(Math.abs(f.wallMs - keys[i]!) < 1, `frame ${i}: ${f.wallMs} vs ${keys[i]}`);
          assert.ok(f.c, `frame ${i} is a keyframe`);
        });
        // Over UDP rtspsrc may end at the BYE before its jitter buffer lets the last keyframe out.
        if (protocols === 'tcp') {
          assert.equal(frames.length, keys.length, 'every keyframe');
          assert.ok(frames.at(-1)!.t, 'T on the last one');
        } else assert.ok(frames.length >= keys.length - 1, `${frames.length} of ${keys.length} keyframes`);
      });

    const unpacedCases = [
      { protocols: 'tcp', latencyMs: undefined },
      { protocols: 'udp', latencyMs: undefined },
      // A client slower than the BYE's floor (UNPACED_REPLAY_BYE_FLOOR_MS, 3 s): its jitter buffer
      // lets the first packet out after the BYE (which rtspsrc then ignores), as a loaded machine's does.
      { protocols: 'tcp', latencyMs: 4000 },
    ];
    for (const { protocols, latencyMs } of unpacedCases)
      test(`onvif-rate-control=false over ${protocols}${latencyMs !== undefined ? ` with latency=${latencyMs}` : ''}: every frame at its recorded time, then EOS`, async () => {
        // `Rate-Control: no`: all 6 s of recordings arrive at once. rtspsrc 1.22 over TCP reaches EOS
        // only through the lead-out packets (vod-rtp.ts sendLeadOutPacket, vod-control.ts).
        const started = performance.now();
        const { frames, endings } = await replay(url, protocols, {
          startMs: T0,
          rate: 1,
          props: ['onvif-rate-control=false', ...(latencyMs !== undefined ? [`latency=${latencyMs}`] : [])],
          untilEos: true,
        });
        const tookMs = performance.now() - started;
        assert.deepEqual(endings, ['terminal', 'eos'], `the T bit, then EOS (${frames.length} frames)`);
        const recorded = recordedVideoSamples(segments);
        assert.equal(frames.length, recorded.length, 'every frame');
        frames.forEach((f, i) => {
          assert.ok(
            Math.abs(f.wallMs - recorded[i]!.wallMs) < 1,
            `frame ${i}: ${f.wallMs} vs ${recorded[i]!.wallMs}`,
          );
        });
        // The BYE waits UNPACED_REPLAY_BYE_FLOOR_MS (3 s) after the PLAY: ~3.2 s on a quiet machine.
        // A client whose jitter buffer begins to push after that BYE (a slow one, or latency=4000)
        // ends at its npt-stop estimate or its BYE timeout instead, ~8 s (vod-control.ts
        // endUnpacedReplay); the bound only says it ended well before the 60 s of a stuck reader.
        assert.ok(tookMs < 20_000, `EOS after ${Math.round(tookMs)} ms`);
        console.log(`${protocols} latency=${latencyMs ?? 'default'}: EOS after ${Math.round(tookMs)} ms`);
      });
  },
);
