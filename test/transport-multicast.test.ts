// UDP multicast (RFC 2326 §10.4) with real clients, in a network namespace of its own (`unshare --net`)
// so that multicast stays on a private loopback: ffprobe (udp_multicast) twice and GStreamer rtspsrc
// (udp-mcast) read one live path; the stream feeds one group however many sessions joined.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { run, type ProbedStream } from './support/process.js';
import { repoRoot, requireTools, skipUnless, skipUnlessMedia } from './support/tools.js';
import { skipUnlessGstReader } from './support/gst.js';

function skipUnlessNetns(): string | false {
  if (process.getuid?.() !== 0) {
    const reason = 'needs root to make a network namespace';
    if (requireTools) throw new Error(`RTSPKIT_REQUIRE_TOOLS=1 but ${reason}`);
    return reason;
  }
  const r = spawnSync('unshare', ['--net', 'ip', 'link', 'set', 'lo', 'up'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  // Root without CAP_SYS_ADMIN (an unprivileged container) cannot: say so rather than fail.
  return r.status === 0 ? false : `cannot make a network namespace: ${(r.stderr || String(r.error)).trim()}`;
}

const skip =
  skipUnless('ffmpeg', 'ffprobe', 'gst-launch-1.0') ||
  skipUnlessGstReader() ||
  skipUnlessMedia('h264_base_aac.mp4') ||
  skipUnlessNetns();

interface ScenarioResult {
  publisherCode: number | null;
  probes: { code: number | null; streams: ProbedStream[]; stderr: string }[];
  gst: { code: number | null; stdout: string; stderr: string; streams: ProbedStream[] };
  peakSessions: number;
  readersAtPeak: number;
}

test('ffprobe (udp_multicast) and GStreamer (udp-mcast) read one multicast group', { skip }, async () => {
  const script = join(repoRoot(), 'dist', 'test', 'support', 'multicast-scenario.js');
  const r = await run(
    'unshare',
    ['--net', 'sh', '-c'].concat([
      'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec "$0" "$1"',
      process.execPath,
      script,
    ]),
    { timeoutMs: 60_000 },
  ).done;
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as ScenarioResult;
  assert.equal(result.publisherCode, 0);
  for (const [i, p] of result.probes.entries()) {
    assert.equal(p.code, 0, `ffprobe ${i}: ${p.stderr}`);
    const [video, audio] = p.streams;
    assert.equal(video?.codec_name, 'h264');
    assert.equal(video.width, 640);
    assert.equal(audio?.codec_name, 'aac');
    // The first member's PLAY starts the group at the cached keyframe; a member that joins a group
    // already sending starts at the next keyframe (1 s GOPs). 250 frames were sent.
    assert.ok(Number(video.nb_read_frames) >= 175, `ffprobe ${i} decoded ${video.nb_read_frames} frames`);
  }
  assert.equal(result.gst.code, 0, result.gst.stderr);
  const [gstVideo] = result.gst.streams;
  assert.equal(gstVideo?.codec_name, 'h264');
  assert.equal(gstVideo.height, 360);
  assert.ok(Number(gstVideo.nb_read_frames) >= 100, `GStreamer wrote ${gstVideo.nb_read_frames} frames`);
  // Three sessions played at once through the group, and the stream had one reader: the group.
  assert.equal(result.peakSessions, 3);
  assert.equal(result.readersAtPeak, 1);
});
