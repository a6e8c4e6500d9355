// Pulled paths against peers with habits: an rtspkit upstream pulled on demand (the first reader plays
// within 3 s; the upstream session is gone soon after the last reader leaves), a camera-like server
// (no Content-Base, `Cseq`, media from other ports than server_port), and bad upstreams (unreachable,
// wrong password, garbage RTP, a 10 MB SDP): readers get 404, the reason is logged without the
// credentials, and every other path is served. A recorded upstream (an rtspkit serving a file on demand)
// proxied per reader: each reader its own upstream session, Range, PAUSE and ffmpeg's -ss forwarded. An
// always-on pull that never connects is listed with its state and error; a `~regex` path pulls the
// upstream its capture names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type App } from '../src/app.js';
import type { Logger } from '../src/base/logger.js';
import { RtspClient, RtspClientError } from '../src/client/index.js';
import { parseConfig } from '../src/config/config.js';
import { openRtspPull } from '../src/sources/rtsp-pull.js';
import { FakeCamera } from './support/fake-camera.js';
import { run, waitFor } from './support/process.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { LOOPBACK_APP_CONFIG_LINES } from './support/server.js';

const CLIP = 'h264_base_aac.mp4';

interface UpstreamJson {
  state: string;
  failedAttempts: number;
  lastError: string | null;
  packetsReceived: number;
  refusedDatagrams: number;
  reconnects: number;
}

interface PathJson {
  name: string;
  source: string;
  ready: boolean;
  upstream: (UpstreamJson & { url: string }) | null;
}

async function pathOf(app: App, name: string): Promise<PathJson | undefined> {
  const res = await fetch(`http://127.0.0.1:${app.api!.port}/v1/paths`);
  const body = (await res.json()) as { items: PathJson[] };
  return body.items.find((p) => p.name === name);
}

async function upstreamOf(app: App, name: string): Promise<UpstreamJson | undefined> {
  return (await pathOf(app, name))?.upstream ?? undefined;
}

/** Plays `url` over TCP until the first video access unit; returns the ms it took and the client. */
async function playFirstFrame(url: string): Promise<{ ms: number; client: RtspClient }> {
  const started = Date.now();
  const client = new RtspClient(url, { timeoutMs: 15_000 });
  client.on('error', () => undefined);
  const first = new Promise<void>((resolve) => client.once('accessUnit', () => resolve()));
  await client.connect();
  await client.describe();
  await client.setup({ transport: 'tcp' });
  await client.play();
  await first;
  return { ms: Date.now() - started, client };
}

async function describeStatus(url: string): Promise<number> {
  const client = new RtspClient(url, { timeoutMs: 15_000 });
  client.on('error', () => undefined);
  try {
    await client.describe();
    return 200;
  } catch (e) {
    if (e instanceof RtspClientError && e.statusCode !== undefined) return e.statusCode;
    throw e;
  } finally {
    client.close();
  }
}

/** A logger that keeps every line (object and message) as JSON text. */
function recordingLogger(lines: string[]): Logger {
  const log = (obj: object, msg?: string): void => void lines.push(JSON.stringify({ ...obj, msg }));
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

describe('pulled paths', () => {
  let upstream: App;
  let app: App;
  const cameras = {} as Record<
    'normal' | 'changing' | 'strict' | 'unauthorized' | 'garbage' | 'huge',
    FakeCamera
  >;
  before(async () => {
    upstream = await startApp(
      parseConfig([...LOOPBACK_APP_CONFIG_LINES, 'demo: true', `mediaDir: '${mediaPath('')}'`].join('\n')),
    );
    const up = `rtsp://127.0.0.1:${upstream.server.port}`;
    cameras.normal = await FakeCamera.start('normal');
    cameras.strict = await FakeCamera.start('normal');
    cameras.changing = await FakeCamera.start('normal');
    cameras.unauthorized = await FakeCamera.start('unauthorized');
    cameras.garbage = await FakeCamera.start('garbage-rtp');
    cameras.huge = await FakeCamera.start('huge-sdp');
    const src = (url: string): string => JSON.stringify(url);
    app = await startApp(
      parseConfig(
        [
          ...LOOPBACK_APP_CONFIG_LINES,
          'demo: true',
          'paths:',
          `  od: { source: ${src(`rtsp://127.0.0.1:${upstream.server.port}/demo`)}, sourceOnDemand: true,`,
          '        sourceOnDemandCloseAfter: 1, sourceTransport: tcp }',
          `  cam: { source: ${src(cameras.normal.url())}, sourceTransport: udp, sourceAnyPortEnable: true }`,
          `  changing: { source: ${src(cameras.changing.url())}, sourceTransport: udp, sourceAnyPortEnable: true }`,
          `  strict: { source: ${src(cameras.strict.url())}, sourceTransport: udp }`,
          `  garbage: { source: ${src(cameras.garbage.url())}, sourceTransport: udp, sourceAnyPortEnable: true }`,
          `  unreachable: { source: "rtsp://127.0.0.1:1/x", sourceOnDemand: true }`,
          `  wrongpass: { source: ${src(cameras.unauthorized.url('user:secret@'))}, sourceOnDemand: true }`,
          `  hugesdp: { source: ${src(cameras.huge.url())}, sourceOnDemand: true }`,
          `  rec: { source: ${src(`${up}/${CLIP}`)}, sourcePerReader: true, sourceTransport: tcp, runOnUnread: 'true' }`,
          `  down: { source: "rtsp://user:secret@127.0.0.1:1/x" }`,
          `  recdown: { source: "rtsp://127.0.0.1:1/x", sourcePerReader: true }`,
          `  '~^relay_(\\w+)$': { source: ${src(`${up}/$G1`)}, sourceOnDemandCloseAfter: 1, sourceTransport: tcp }`,
        ].join('\n'),
      ),
    );
  });
  after(async () => {
    await app.close();
    await upstream.close();
    for (const c of Object.values(cameras)) await c.close();
  });

  test('on demand: the first reader plays within 3 s; the upstream session ends after the idle delay', async () => {
    const upstreamReaders = (): number =>
      [...upstream.server.sessions.values()].filter((s) => s.path === 'demo').length;
    assert.equal(upstreamReaders(), 0, 'nothing pulled before a reader asks');
    const { ms, client } = await playFirstFrame(`rtsp://127.0.0.1:${app.server.port}/od`);
    assert.ok(ms < 3000, `first frame after ${ms} ms`);
    assert.equal(upstreamReaders(), 1, 'one upstream session');
    const second = await playFirstFrame(`rtsp://127.0.0.1:${app.server.port}/od`);
    assert.equal(upstreamReaders(), 1, 'a second reader shares it');
    await second.client.teardown();
    second.client.close();
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(upstreamReaders(), 1, 'kept while a reader is left');
    await client.teardown();
    client.close();
    // closeAfter 1 s, checked every 250 ms; the upstream's TEARDOWN follows.
    await waitFor(() => upstreamReaders() === 0, 8000, 'the upstream session to end');
    assert.equal(app.server.paths.get('od'), undefined);
    assert.equal(app.server.view.counters().paths.onDemandIdleStops, 1);
  });

  test('a camera without Content-Base, with `Cseq`, sending from other ports than server_port', async () => {
    await waitFor(() => app.server.paths.get('cam')?.stream !== undefined, 10_000, 'the camera pull');
    const { client } = await playFirstFrame(`rtsp://127.0.0.1:${app.server.port}/cam`);
    client.close();
    for (const method of ['DESCRIBE', 'SETUP', 'PLAY'])
      assert.ok(cameras.normal.requests.includes(method), method);
    // Without sourceAnyPortEnable the same camera's datagrams are refused, and counted.
    await waitFor(() => app.server.paths.get('strict')?.stream !== undefined, 10_000, 'the strict pull');
    await waitFor(
      () => (app.server.paths.get('strict')?.source?.stats?.().refusedDatagrams as number) > 10,
      10_000,
      'datagrams refused',
    );
    const strict = await upstreamOf(app, 'strict');
    assert.equal(strict?.packetsReceived, 0);
    assert.ok((await upstreamOf(app, 'cam'))!.packetsReceived > 10);
  });

  test('an upstream back with other codec parameters renews the path: an rtspkit reader is sent ANNOUNCE and follows', async () => {
    await waitFor(() => app.server.paths.get('changing')?.stream !== undefined, 10_000, 'the pull');
    const before = app.server.paths.get('changing')!;
    const { client } = await playFirstFrame(`rtsp://127.0.0.1:${app.server.port}/changing`);
    // Our client acts on the server's ANNOUNCE (RFC 2326 §10.3): it starts again with the new media.
    const announced = new Promise<void>((resolve) =>
      client.on('serverRequest', (req) => {
        if (req.method === 'ANNOUNCE') resolve();
      }),
    );
    // The same camera after a reboot with another SPS (another resolution).
    cameras.changing.sdp = cameras.changing.sdp.replace(
      'Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I',
      'Z0LAH9kAUAW7ARAAAAMAEAAAAwPI8YMkgA==',
    );
    cameras.changing.dropConnections();
    await announced;
    assert.equal(before.stream!.ended, true);
    await waitFor(
      () => app.server.paths.get('changing')?.stream?.ended === false,
      10_000,
      'the renewed path',
    );
    const after = app.server.paths.get('changing')!;
    assert.notEqual(after.stream, before.stream);
    assert.match(after.media.tracks[0]!.fmtp['sprop-parameter-sets'] ?? '', /^Z0LAH9k/);
    assert.equal(after.source!.stats!().mediaChanges, 1);
    // The reader that followed the ANNOUNCE plays the renewed path.
    await waitFor(() => after.stream!.readerCount > 0, 10_000, 'the reader back on the renewed path');
    await new Promise<void>((resolve) => client.once('accessUnit', () => resolve()));
    client.close();
    const again = await playFirstFrame(`rtsp://127.0.0.1:${app.server.port}/changing`);
    again.client.close();
  });

  test('bad upstreams: readers get 404, the reason is logged without credentials, other paths served', async () => {
    const base = `rtsp://127.0.0.1:${app.server.port}`;
    for (const name of ['unreachable', 'wrongpass', 'hugesdp', 'recdown'])
      assert.equal(await describeStatus(`${base}/${name}`), 404, name);
    assert.equal(await describeStatus(`${base}/demo`), 200, 'a file path is served');
    // Garbage instead of RTP: the session is up, nothing reaches the path, the server goes on.
    await waitFor(() => app.server.paths.get('garbage')?.stream !== undefined, 10_000, 'the garbage pull');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await upstreamOf(app, 'garbage'))?.packetsReceived, 0);
    assert.equal(app.server.paths.get('garbage')!.stream!.counters[0]!.packetsIn, 0);
    assert.equal(await describeStatus(`${base}/cam`), 200, 'other pulls are served');

    // The reasons, as the pull logs and throws them.
    const lines: string[] = [];
    const open = (url: string): Promise<string> =>
      openRtspPull({ url, logger: recordingLogger(lines), timeoutMs: 5000 }).then(
        async (s) => {
          await s.stop();
          return 'opened';
        },
        (e: unknown) => (e as Error).message,
      );
    const wrong = await open(cameras.unauthorized.url('user:secret@'));
    assert.match(wrong, /401/);
    assert.doesNotMatch(wrong, /secret/);
    assert.match(await open('rtsp://127.0.0.1:1/x'), /refused/);
    assert.match(await open(cameras.huge.url()), /exceeds the limit/);
    assert.doesNotMatch(lines.join('\n'), /secret/);
  });

  test('an always-on pull that never connects is listed: source pull, not ready, its state and error', async () => {
    await waitFor(
      () => Number(app.server.paths.get('down')?.source?.stats?.().failedAttempts ?? 0) >= 1,
      10_000,
      'a failed attempt',
    );
    const down = await pathOf(app, 'down');
    assert.equal(down?.source, 'pull');
    assert.equal(down.ready, false);
    assert.equal(down.upstream?.url, 'rtsp://127.0.0.1:1/x', 'no credentials');
    assert.equal(down.upstream.state, 'connecting');
    assert.ok(down.upstream.failedAttempts >= 1);
    assert.match(down.upstream.lastError ?? '', /refused/);
    assert.equal(await describeStatus(`rtsp://127.0.0.1:${app.server.port}/down`), 404);
  });

  test('a regex path pulls the upstream its capture names, on demand', async () => {
    const { client } = await playFirstFrame(`rtsp://127.0.0.1:${app.server.port}/relay_demo`);
    assert.deepEqual(app.server.paths.get('relay_demo')?.owner, {
      kind: 'pull',
      url: `rtsp://127.0.0.1:${upstream.server.port}/demo`,
      onDemand: true,
    });
    assert.equal(await describeStatus(`rtsp://127.0.0.1:${app.server.port}/relay_nothing`), 404);
    assert.equal(await describeStatus(`rtsp://127.0.0.1:${app.server.port}/relay_a.b`), 404, 'no match');
    await client.teardown();
    client.close();
    await waitFor(() => app.server.paths.get('relay_demo') === undefined, 8000, 'the idle stop');
  });

  const skipSeek = skipUnless('ffmpeg') || skipUnlessMedia(CLIP);
  test(
    'per reader: each reader has its own upstream session; Range, PAUSE and ffmpeg -ss go through',
    { skip: skipSeek },
    async () => {
      const upstreamSessions = (): { state: string }[] =>
        [...upstream.server.sessions.values()].filter((s) => s.path === CLIP);
      const url = `rtsp://127.0.0.1:${app.server.port}/rec`;
      const open = async (): Promise<RtspClient> => {
        const c = new RtspClient(url, { timeoutMs: 15_000 });
        c.on('error', () => undefined);
        const described = await c.describe();
        // The upstream's duration reaches the reader.
        assert.match(described.sdpText, /a=range:npt=0-10(\.\d+)?\r\n/);
        await c.setup({ transport: 'tcp' });
        return c;
      };
      const hooksBefore = app.hooks.counters.started;
      const a = await open();
      const b = await open();
      // The upstream sessions are set up at the readers' first PLAY (the tracks each reader set up).
      assert.equal(upstreamSessions().length, 0);
      assert.equal(app.server.paths.get('rec'), undefined, 'no shared path');
      const aPackets = new Promise<void>((resolve) => a.once('rtp', () => resolve()));
      const played = await a.play({ range: { unit: 'npt', start: 6 } });
      assert.match(played.headers.get('Range') ?? '', /^npt=[56](\.\d+)?-10(\.\d+)?$/);
      assert.match(
        played.headers.get('RTP-Info') ?? '',
        /\/rec\/trackID=0;seq=\d+;rtptime=\d+,.*\/rec\/trackID=1;/,
      );
      await aPackets;
      await b.play();
      assert.deepEqual(
        upstreamSessions()
          .map((s) => s.state)
          .sort(),
        ['playing', 'playing'],
      );
      // A Range the upstream refuses: its 457 reaches the reader, whose session goes on.
      await assert.rejects(b.play({ range: null, headers: { Range: 'npt=abc-' } }), { statusCode: 457 });
      const paused = await a.pause();
      assert.match(paused.headers.get('Range') ?? '', /^npt=\d/);
      assert.deepEqual(
        upstreamSessions()
          .map((s) => s.state)
          .sort(),
        ['playing', 'ready'],
      );
      for (const c of [a, b]) {
        await c.teardown();
        c.close();
      }
      await waitFor(() => upstreamSessions().length === 0, 5000, 'the upstream sessions to end');
      // Each proxied read is a read for the hooks: runOnUnread ran for both.
      await waitFor(() => app.hooks.counters.started >= hooksBefore + 2, 5000, 'runOnUnread of both reads');
      // Two DESCRIBEs and two SETUPs opened upstream sessions; the unreachable `recdown` failed.
      const metrics = await (await fetch(`http://127.0.0.1:${app.api!.port}/metrics`)).text();
      assert.match(metrics, /^rtspkit_pull_per_reader_upstreams_total\{result="opened"\} 4$/m);
      assert.match(metrics, /^rtspkit_pull_per_reader_upstreams_total\{result="failed"\} [1-9]/m);

      // ffmpeg seeks through the proxy (PLAY Range forwarded) and ends at the file's end (BYE forwarded).
      const seek = await run(
        'ffmpeg',
        ['-hide_banner', '-v', 'error', '-ss', '7', '-rtsp_transport', 'tcp', '-i', url].concat([
          '-map',
          '0:v',
          '-progress',
          'pipe:1',
          '-f',
          'null',
          '-',
        ]),
        { timeoutMs: 30_000 },
      ).done;
      assert.equal(seek.code, 0, seek.stderr);
      // 3 s of a 25 fps clip remain; starting at the keyframe at or before 7 s adds at most one GOP.
      const frames = Number([...seek.stdout.matchAll(/frame=(\d+)/g)].pop()?.[1]);
      assert.ok(frames >= 70 && frames <= 101, `ffmpeg decoded ${frames} frames after -ss 7`);
      await waitFor(() => upstreamSessions().length === 0, 5000, 'the upstream session to end');
    },
  );
});
