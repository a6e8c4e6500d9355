/**
 * Runs inside a fresh network namespace (test/transport-multicast.test.ts makes it with `unshare --net`):
 * the server, an ffmpeg publisher and multicast readers (two ffprobe with udp_multicast, one GStreamer
 * rtspsrc with udp-mcast), all on its own loopback. Prints one JSON line with what each reader got.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gstRead } from './gst.js';
import { parseProbe, probeFrames, publishFile, waitFor } from './process.js';
import { startTestServer } from './server.js';
import { mediaPath } from './tools.js';

const CLIP = 'h264_base_aac.mp4';

async function main(): Promise<void> {
  const { server, url } = await startTestServer({
    multicast: { range: '239.255.42.0/24', rtpPort: 16002, ttl: 1 },
  });
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-mc-'));
  try {
    const pub = publishFile(mediaPath(CLIP), url('mc'), 'tcp');
    await waitFor(() => server.paths.get('mc')?.stream !== undefined, 15_000, 'the publish');
    const probes = [0, 1].map(() => probeFrames(url('mc'), ['-rtsp_transport', 'udp_multicast']));
    const gstOut = join(dir, 'gst.h264');
    // GStreamer hears its own RTCP looped back by the group, takes it for an SSRC collision and sends
    // RTCP BYE for its old SSRC; ffmpeg ends a stream at any BYE, whoever sent it. So GStreamer sends
    // no RTCP here (do-rtcp=false); it still ends at the server's BYE.
    const gst = gstRead(url('mc'), {
      protocols: 'udp-mcast',
      videoOut: gstOut,
      props: ['do-rtcp=false'],
      timeoutMs: 40_000,
    });
    // While all three play: how many multicast sessions, how many readers the stream feeds.
    let peakSessions = 0;
    let readersAtPeak = -1;
    const watch = setInterval(() => {
      const playing = [...server.sessions.values()].filter(
        (s) => s.isMulticast && s.state === 'playing',
      ).length;
      if (playing > peakSessions) {
        peakSessions = playing;
        readersAtPeak = server.paths.get('mc')?.stream?.readerCount ?? -1;
      }
    }, 20);
    const published = await pub.done;
    const probed = await Promise.all(probes.map((p) => p.done));
    const g = await gst.done;
    clearInterval(watch);
    const gstProbe = await probeFrames(gstOut, [], 20_000).done;
    const result = {
      publisherCode: published.code,
      probes: probed.map((r) => ({
        code: r.code,
        streams: r.code === 0 ? parseProbe(r.stdout) : [],
        stderr: r.stderr.slice(-500),
      })),
      gst: {
        code: g.code,
        stdout: g.stdout.slice(-500),
        stderr: g.stderr.slice(-1000),
        streams: gstProbe.code === 0 ? parseProbe(gstProbe.stdout) : [],
      },
      peakSessions,
      readersAtPeak,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`multicast scenario: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
