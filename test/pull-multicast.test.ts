// Multicast in the client and pulls over multicast (RFC 2326 §12.39), in a network namespace of its own
// (`unshare --net`, as test/transport-multicast.test.ts) so that multicast stays on a private loopback:
// our client plays an rtspkit group and leaves it; an rtspkit app pulls with `sourceTransport:
// multicast`, ffprobe reads through it, and the pull joins again after the upstream path came back.
// Also a pull from gst-rtsp-server in record mode (ffmpeg publishes to it, rtspkit pulls the relay).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { run, type ProbedStream } from './support/process.js';
import { repoRoot, requireTools, skipUnless, skipUnlessMedia } from './support/tools.js';
import type { TrackStats } from '../src/client/index.js';
import type { PullStatsSnapshot } from '../src/sources/pull-stats.js';

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
  return r.status === 0 ? false : `cannot make a network namespace: ${(r.stderr || String(r.error)).trim()}`;
}

interface ScenarioResult {
  client: {
    transport: string;
    group: string;
    accessUnits: number[];
    stats: TrackStats[];
    groupsWhilePlaying: string[];
    groupsAfter: string[];
    receiverReports: number;
    cli: { code: number | null; stderr: string; streams: ProbedStream[] };
  };
  pull: {
    probeCode: number | null;
    probeStderr: string;
    streams: ProbedStream[];
    before: PullStatsSnapshot | undefined;
    after: PullStatsSnapshot | undefined;
  };
}

describe('multicast in the client and in pulls', () => {
  test(
    'our client plays a group and leaves it; a multicast pull is read through and joins again',
    { skip: skipUnless('ffprobe') || skipUnlessMedia('h264_base_aac.mp4') || skipUnlessNetns() },
    async () => {
      const script = join(repoRoot(), 'dist', 'test', 'support', 'pull-multicast-scenario.js');
      const r = await run(
        'unshare',
        ['--net', 'sh', '-c'].concat([
          // `src`: without it Linux sends to the group from 0.0.0.0 (127.0.0.1 is scope host), which our
          // client refuses as not the server's address.
          'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo src 127.0.0.1 && exec "$0" "$1"',
          process.execPath,
          script,
        ]),
        { timeoutMs: 60_000 },
      ).done;
      assert.equal(r.code, 0, r.stderr);
      const { client, pull } = JSON.parse(r.stdout.trim().split('\n').pop()!) as ScenarioResult;
      assert.equal(client.transport, 'multicast');
      assert.match(client.group, /^239\.255\.43\.\d+$/);
      // 1.5 s of a 25 fps clip, started at the cached keyframe: about 37 frames (47 audio).
      assert.ok(client.accessUnits[0]! >= 25, `video access units: ${client.accessUnits[0]}`);
      assert.ok(client.accessUnits[1]! >= 25, `audio access units: ${client.accessUnits[1]}`);
      for (const s of client.stats) {
        assert.equal(s.transport, 'multicast');
        assert.equal(s.refusedDatagrams, 0);
        assert.equal(s.accessUnitsDropped, 0);
      }
      assert.ok(client.groupsWhilePlaying.includes(client.group), 'joined while playing');
      assert.ok(
        !client.groupsAfter.includes(client.group),
        `left after TEARDOWN: ${client.groupsAfter.join(' ')}`,
      );
      // One RR SSRC per track, sent to the group's RTCP port (RFC 3550 §6).
      assert.ok(client.receiverReports >= 1, 'receiver reports in the group');
      // `rtspkit play -t multicast -d 2` in the same group meanwhile (from the next keyframe: 1 s GOPs): an MPEG-TS with both tracks.
      assert.equal(client.cli.code, 0, client.cli.stderr);
      assert.deepEqual(
        client.cli.streams.map((s) => s.codec_name),
        ['h264', 'aac'],
      );
      assert.ok(Number(client.cli.streams[0]!.nb_read_frames) >= 20, 'frames recorded by rtspkit play');

      assert.equal(pull.probeCode, 0, pull.probeStderr);
      assert.equal(pull.probeStderr.trim(), '');
      const [video, audio] = pull.streams;
      assert.equal(video?.codec_name, 'h264');
      assert.equal(audio?.codec_name, 'aac');
      assert.ok(Number(video.nb_read_frames) >= 30, `ffprobe read ${video.nb_read_frames} frames`);
      assert.equal(pull.before?.reconnects, 0);
      assert.ok((pull.after?.reconnects ?? 0) >= 1);
      assert.equal(pull.after?.state, 'online');
    },
  );
});
