// Pulls from gst-rtsp-server (../shared/peers/gst_server.py) over tcp, udp and the HTTP tunnel, and
// readers kept through an upstream outage: the upstream is killed for 5 s and started again on its
// port; an ffprobe and a GStreamer reader of the pulled path keep playing, their video pts stay
// monotonic and jump by about the outage, and the API shows the reconnect (credentials nowhere).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type App } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { gstRead, gstVideoPts, skipUnlessGstReader } from './support/gst.js';
import {
  startGstUpstream,
  stopGstUpstream,
  skipUnlessGstServer,
  type GstUpstream,
} from './support/gst-server.js';
import { run, waitFor } from './support/process.js';
import { LOOPBACK_APP_CONFIG_LINES } from './support/server.js';

const OUTAGE_MS = 5000;
const skip = skipUnlessGstServer('ffprobe') || skipUnlessGstReader();

interface PathJson {
  name: string;
  source: string;
  ready: boolean;
  upstream: {
    url: string;
    state: string;
    reconnects: number;
    packetsReceived: number;
    bitrateBps: number;
  } | null;
}

async function apiPaths(app: App): Promise<PathJson[]> {
  const res = await fetch(`http://127.0.0.1:${app.api!.port}/v1/paths`);
  const body = (await res.json()) as { items: PathJson[] };
  return body.items;
}

function increasing(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v > values[i - 1]!);
}

/** Where `values` first stop increasing, for messages. */
function firstDecrease(values: readonly number[]): string {
  const i = values.findIndex((v, j) => j > 0 && v <= values[j - 1]!);
  return i < 0 ? 'none' : `at ${i} of ${values.length}: ${values.slice(Math.max(0, i - 3), i + 3).join(' ')}`;
}

/** The largest step between consecutive values. */
function largestStep(values: readonly number[]): number {
  let step = 0;
  for (let i = 1; i < values.length; i++) step = Math.max(step, values[i]! - values[i - 1]!);
  return step;
}

describe('pull from gst-rtsp-server', { skip }, () => {
  let upstream: GstUpstream | undefined;
  let app: App | undefined;
  before(async () => {
    upstream = await startGstUpstream({ extra: ['--auth', 'user:pass', '--auth-method', 'digest'] });
    const source = (scheme: string): string => `${scheme}://user:pass@127.0.0.1:${upstream!.port}/live`;
    app = await startApp(
      parseConfig(
        [
          ...LOOPBACK_APP_CONFIG_LINES,
          'pullReconnectMaxDelay: 2',
          'paths:',
          `  viatcp: { source: ${JSON.stringify(source('rtsp'))}, sourceTransport: tcp }`,
          `  viaudp: { source: ${JSON.stringify(source('rtsp'))}, sourceTransport: udp }`,
          `  viahttp: { source: ${JSON.stringify(source('rtsp+http'))} }`,
        ].join('\n'),
      ),
    );
    await waitFor(
      () => ['viatcp', 'viaudp', 'viahttp'].every((p) => app!.server.paths.get(p)?.stream !== undefined),
      20_000,
      'the three pulls to be ready',
    );
  });
  after(async () => {
    await app?.close();
    await stopGstUpstream(upstream);
  });

  test('pulls over tcp, udp and http; the API shows the upstream without its credentials', async () => {
    await waitFor(
      () =>
        ['viatcp', 'viaudp', 'viahttp'].every(
          (p) => (app!.server.paths.get(p)?.stream?.counters[0]?.packetsIn ?? 0) > 50,
        ),
      15_000,
      'video packets on every pulled path',
    );
    const paths = await apiPaths(app!);
    const json = JSON.stringify(paths);
    assert.doesNotMatch(json, /user:pass|pass@/, 'no credentials in /v1/paths');
    for (const name of ['viatcp', 'viaudp', 'viahttp']) {
      const p = paths.find((x) => x.name === name)!;
      assert.equal(p.source, 'pull');
      assert.equal(p.upstream?.state, 'online');
      assert.ok(p.upstream.packetsReceived > 0);
      assert.match(p.upstream.url, /^rtsp(\+http)?:\/\/127\.0\.0\.1:\d+\/live$/);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${app!.api!.port}/metrics`)).text();
    assert.doesNotMatch(metrics, /user:pass/);
    assert.match(metrics, /rtspkit_pull_reconnects_total\{path="viatcp"\} 0/);
  });

  test('readers keep playing through a 5 s upstream outage, pts monotonic, sequence continued', async () => {
    const url = `rtsp://127.0.0.1:${app!.server.port}/viatcp`;
    const probe = run(
      'ffprobe',
      [
        '-v',
        'error',
        '-rtsp_transport',
        'tcp',
        '-select_streams',
        'v:0',
        '-show_entries',
        'packet=pts_time',
      ].concat(['-of', 'csv=p=0', '-read_intervals', '%+18', url]),
      { timeoutMs: 60_000 },
    );
    const gst = gstRead(url, { protocols: 'tcp', printPts: true, timeoutMs: 60_000 });
    try {
      await waitFor(
        () => gstVideoPts(gst.output().stdout).length > 25,
        15_000,
        'the GStreamer reader to play',
      );
      const stream = app!.server.paths.get('viatcp')!.stream!;
      const before = stream.counters[0]!.packetsIn;
      await stopGstUpstream(upstream, 'SIGKILL');
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      upstream = await startGstUpstream({
        port: upstream!.port,
        extra: ['--auth', 'user:pass', '--auth-method', 'digest'],
      });
      await waitFor(() => stream.counters[0]!.packetsIn > before + 100, 20_000, 'media after the outage');
      assert.equal(app!.server.paths.get('viatcp')!.stream, stream, 'the same Stream: readers kept');
      const gstCount = gstVideoPts(gst.output().stdout).length;
      await waitFor(
        () => gstVideoPts(gst.output().stdout).length > gstCount + 50,
        15_000,
        'GStreamer to go on',
      );
      gst.kill('SIGINT');
      const probed = await probe.done;
      const gstOut = await gst.done;
      const ffPts = probed.stdout
        .split('\n')
        .filter((l) => /^[\d.]+/.test(l))
        .map((l) => Number.parseFloat(l));
      const gstPts = gstVideoPts(gstOut.stdout);
      assert.ok(ffPts.length > 100, `ffprobe read ${ffPts.length} video packets: ${probed.stderr}`);
      assert.ok(increasing(ffPts), `ffprobe pts increase: ${firstDecrease(ffPts)}`);
      // rtspsrc's pads give RTP packets: the packets of one frame share its pts.
      const gstFrames = gstPts.filter((v, i) => i === 0 || v !== gstPts[i - 1]);
      assert.ok(increasing(gstFrames), `GStreamer pts increase: ${firstDecrease(gstFrames)}`);
      // The outage shows as one jump of about its length (the upstream's restart adds a few seconds).
      const ffJump = largestStep(ffPts);
      assert.ok(ffJump >= OUTAGE_MS / 1000 - 0.5 && ffJump < 30, `ffprobe's largest pts step ${ffJump} s`);
      const gstJump = largestStep(gstFrames);
      assert.ok(
        gstJump >= OUTAGE_MS / 1000 - 0.5 && gstJump < 30,
        `GStreamer's largest pts step ${gstJump} s`,
      );
      const p = (await apiPaths(app!)).find((x) => x.name === 'viatcp')!;
      assert.equal(p.upstream?.reconnects, 1);
      assert.equal(p.upstream.state, 'online');
    } finally {
      probe.kill('SIGKILL');
      gst.kill('SIGKILL');
    }
  });
});
