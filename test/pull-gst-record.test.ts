// A pull from gst-rtsp-server in record mode (../shared/peers/gst_server.py `--record-mount /pub
// --relay-mount /bench`): ffmpeg publishes the clip to /pub, rtspkit pulls /bench over tcp, udp and the
// HTTP tunnel (packets on each), and ffprobe reads the tcp pull through rtspkit. File mode (and outages) are test/pull-outage.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import {
  GST_CLIP,
  GST_RECORD_MOUNT,
  GST_RELAY_MOUNT,
  describable,
  skipUnlessGstServer,
  startGstUpstream,
  stopGstUpstream,
} from './support/gst-server.js';
import { parseProbe, probeFrames, publishFile, waitFor } from './support/process.js';
import { LOOPBACK_APP_CONFIG_LINES } from './support/server.js';
import { mediaPath } from './support/tools.js';

test(
  'pulls over tcp, udp and http from gst-rtsp-server relaying an ffmpeg publisher; ffprobe reads one through rtspkit',
  { skip: skipUnlessGstServer('ffmpeg', 'ffprobe') },
  async (t) => {
    const upstream = await startGstUpstream({ record: true, maxSeconds: 60 });
    const base = `rtsp://127.0.0.1:${upstream.port}`;
    const publisher = publishFile(mediaPath(GST_CLIP), `${base}${GST_RECORD_MOUNT}`, 'tcp');
    let app: Awaited<ReturnType<typeof startApp>> | undefined;
    try {
      await describable(`${base}${GST_RELAY_MOUNT}`);
      app = await startApp(
        parseConfig(
          [
            ...LOOPBACK_APP_CONFIG_LINES,
            'pullReconnectMaxDelay: 1',
            'paths:',
            `  relayed: { source: ${JSON.stringify(base + GST_RELAY_MOUNT)}, sourceTransport: tcp }`,
            `  relayedudp: { source: ${JSON.stringify(base + GST_RELAY_MOUNT)}, sourceTransport: udp }`,
            `  relayedhttp: { source: ${JSON.stringify(base + GST_RELAY_MOUNT)}, sourceTransport: http }`,
          ].join('\n'),
        ),
      );
      const server = app.server;
      await waitFor(
        () =>
          ['relayed', 'relayedudp', 'relayedhttp'].every(
            (p) => (server.paths.get(p)?.stream?.counters[0]?.packetsIn ?? 0) > 10,
          ),
        15_000,
        'packets pulled from the relay over tcp, udp and http',
      );
      const probed = await probeFrames(`rtsp://127.0.0.1:${server.port}/relayed`, [
        '-rtsp_transport',
        'tcp',
        '-read_intervals',
        '%+3',
      ]).done;
      assert.equal(probed.code, 0, probed.stderr);
      assert.equal(probed.stderr.trim(), '', 'no decoder or demuxer errors');
      const [video, audio] = parseProbe(probed.stdout);
      t.diagnostic(`frames read: video ${video?.nb_read_frames}, audio ${audio?.nb_read_frames}`);
      assert.equal(video?.codec_name, 'h264');
      assert.equal(video.width, 640);
      assert.equal(audio?.codec_name, 'aac');
      // 3 s of a 25 fps clip from the cached keyframe (1 s GOPs): 75 frames, less what the start costs.
      assert.ok(Number(video.nb_read_frames) >= 40, `ffprobe read ${video.nb_read_frames} frames`);
    } finally {
      await app?.close();
      publisher.kill('SIGINT');
      await publisher.done;
      await stopGstUpstream(upstream);
    }
  },
);
