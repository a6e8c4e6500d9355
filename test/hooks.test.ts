// Paths and hooks end to end (README "Paths and hooks"), with real processes: a runOnDemand ffmpeg
// publishing to its path at the first reader and ended once readers are gone; a regex path whose
// captures feed a file source and a hook (an unsafe capture refused); maxReaders; overridePublisher
// with ffmpeg publishers; a fallback ffprobe follows; and a server killed with SIGKILL whose next start
// ends the command it left running.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type App } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { RawClient, sessionId } from './support/raw-client.js';
import { LOOPBACK_APP_CONFIG_LINES } from './support/server.js';
import { endsWithin, publishFile, run, waitFor } from './support/process.js';
import { mediaPath, repoRoot, skipUnless, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(CLIP);

/** Whether a process is alive (not a zombie). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** The pids of the commands running now, from their pid files. */
function hookPids(pidDir: string): number[] {
  if (!existsSync(pidDir)) return [];
  return readdirSync(pidDir).flatMap((f) => {
    const m = /^hook-(\d+)\.json$/.exec(f);
    return m !== null ? [Number(m[1])] : [];
  });
}

const TCP_SETUP = { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' };

describe('paths and hooks', { skip }, () => {
  let app: App;
  let dir: string;
  let pidDir: string;
  const url = (path: string): string => `rtsp://127.0.0.1:${app.server.port}/${path}`;
  const clients: RawClient[] = [];
  const connect = async (): Promise<RawClient> => {
    const c = await RawClient.connect(app.server.port);
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-hooks-test-'));
    pidDir = join(dir, 'pids');
    const clip = mediaPath(CLIP);
    const config = parseConfig(
      [
        ...LOOPBACK_APP_CONFIG_LINES,
        `hooksPidDir: '${pidDir}'`,
        `runOnDisconnect: touch ${dir}/disconnected-$RTSPKIT_CONN_ID`,
        'paths:',
        '  dev:',
        `    runOnDemand: ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i ${clip} -c copy -f rtsp -rtsp_transport tcp rtsp://127.0.0.1:$RTSP_PORT/$RTSPKIT_PATH`,
        '    runOnDemandCloseAfter: 1.5',
        `  qry: { runOnDemand: 'touch ${dir}/query-$RTSPKIT_QUERY', runOnDemandStartTimeout: 0.5 }`,
        "  '~^clip_(.+)$':",
        `    source: ${mediaPath('')}/$G1.mp4`,
        `    runOnReady: touch ${dir}/ready-$G1-$RTSPKIT_SOURCE_TYPE`,
        `  few: { source: ${clip}, maxReaders: 1 }`,
        '  takeover: { overridePublisher: true }',
        `  fb: { source: ${clip}, runOnUnread: 'touch ${dir}/unread-$RTSPKIT_PATH' }`,
        '  missing: { fallback: /fb }',
      ].join('\n'),
    );
    app = await startApp(config);
  });

  after(async () => {
    for (const c of clients) c.close();
    await app.close();
    assert.deepEqual(hookPids(pidDir), [], 'no command left running');
    rmSync(dir, { recursive: true, force: true });
  });

  test('runOnDemand: the first reader plays the command publishing; it ends once readers are gone', async () => {
    const c = await connect();
    const startMs = Date.now();
    const described = await c.request('DESCRIBE', url('dev'));
    const answeredMs = Date.now() - startMs;
    assert.equal(described.statusCode, 200);
    assert.match(described.body.toString(), /m=video/);
    assert.ok(answeredMs < 3000, `DESCRIBE answered after ${answeredMs} ms`);
    const [pid] = hookPids(pidDir);
    assert.ok(pid !== undefined && alive(pid), 'the command runs');
    assert.equal(app.server.paths.get('dev')?.owner.kind, 'publisher');
    // A second of media read by ffmpeg.
    const reader = run(
      'ffmpeg',
      [
        '-v',
        'error',
        '-rtsp_transport',
        'tcp',
        '-i',
        url('dev'),
        '-t',
        '1',
        '-map',
        '0',
        '-c',
        'copy',
        '-f',
        'null',
        '-',
      ],
      { timeoutMs: 20_000 },
    );
    const r = await reader.done;
    assert.equal(r.code, 0, r.stderr);
    // 1.5 s without readers: the command and its path are gone.
    await waitFor(() => !alive(pid), 15_000, 'the on-demand command to end');
    await waitFor(() => app.server.paths.get('dev') === undefined, 5000, 'the path to be free');
  });

  test('runOnDemand gets the first reader’s query as RTSPKIT_QUERY', async () => {
    const c = await connect();
    // The command publishes nothing: the DESCRIBE gets 404 after the start timeout, the file stays.
    assert.equal((await c.request('DESCRIBE', url('qry?ch=2&token=x'))).statusCode, 404);
    await waitFor(() => existsSync(join(dir, 'query-ch=2&token=x')), 5000, 'the command with the query');
  });

  test('a regex path: its captures name the file and reach the hook; an unsafe one is refused', async () => {
    const name = CLIP.replace(/\.mp4$/, '');
    const c = await connect();
    assert.equal((await c.request('DESCRIBE', url(`clip_${name}`))).statusCode, 200);
    assert.deepEqual(app.server.paths.get(`clip_${name}`)?.owner, {
      kind: 'file-loop',
      file: `${mediaPath('')}/${name}.mp4`,
      origin: 'config',
    });
    await waitFor(() => existsSync(join(dir, `ready-${name}-file`)), 10_000, 'runOnReady with $G1');
    const unsafeBefore = app.hooks.counters.unsafeCaptures;
    assert.equal((await c.request('DESCRIBE', url('clip_..%2F..%2Fetc%2Fpasswd'))).statusCode, 404);
    assert.equal((await c.request('DESCRIBE', url('clip_a%20b'))).statusCode, 404);
    assert.equal(app.hooks.counters.unsafeCaptures, unsafeBefore + 2);
    const metrics = await (await fetch(`http://127.0.0.1:${app.api!.port}/metrics`)).text();
    assert.match(metrics, new RegExp(`^rtspkit_paths_unsafe_captures_total ${unsafeBefore + 2}$`, 'm'));
    assert.match(metrics, /^rtspkit_hooks_started_total [1-9]/m);
    assert.equal((await c.request('DESCRIBE', url('clip_nosuchfile'))).statusCode, 404);
  });

  test('maxReaders: a reader past the path cap gets 453, counted', async () => {
    const a = await connect();
    const b = await connect();
    const first = await a.request('SETUP', `${url('few')}/trackID=0`, TCP_SETUP);
    assert.equal(first.statusCode, 200);
    assert.equal((await a.request('PLAY', url('few'), { Session: sessionId(first) })).statusCode, 200);
    const before = app.server.sessionLimits.refusals.readersPerPath;
    const second = await b.request('SETUP', `${url('few')}/trackID=0`, TCP_SETUP);
    assert.equal(second.statusCode, 453);
    assert.equal(app.server.sessionLimits.refusals.readersPerPath, before + 1);
    await a.request('TEARDOWN', url('few'), { Session: sessionId(first) });
    assert.equal((await b.request('SETUP', `${url('few')}/trackID=0`, TCP_SETUP)).statusCode, 200);
  });

  test('overridePublisher: a second ffmpeg takes the path; the first one is disconnected', async () => {
    const first = publishFile(mediaPath(CLIP), url('takeover'), 'tcp', { loop: true });
    let second: ReturnType<typeof publishFile> | undefined;
    try {
      await waitFor(
        () => app.server.paths.get('takeover')?.stream !== undefined,
        15_000,
        'the first publisher',
      );
      const owner = app.server.paths.get('takeover')!.owner;
      second = publishFile(mediaPath(CLIP), url('takeover'), 'tcp', { loop: true });
      await waitFor(
        () => {
          const p = app.server.paths.get('takeover');
          return p?.stream !== undefined && p.owner.kind === 'publisher' && p.owner !== owner;
        },
        15_000,
        'the second publisher to take the path',
      );
      const ended = await endsWithin(first, 15_000);
      assert.equal(ended.timedOut, false, 'the first ffmpeg ends (its connection was closed)');
      assert.ok(second.child.exitCode === null, 'the second one goes on');
    } finally {
      first.kill('SIGKILL');
      second?.kill('SIGKILL');
      await first.done;
      await second?.done;
    }
  });

  test('fallback: DESCRIBE of a path nobody feeds is 302 to its fallback, which ffprobe follows', async () => {
    const c = await connect();
    const moved = await c.request('DESCRIBE', url('missing'));
    assert.equal(moved.statusCode, 302);
    assert.equal(moved.headers.get('Location'), url('fb'));
    const probe = run(
      'ffprobe',
      [
        '-v',
        'error',
        '-rtsp_transport',
        'tcp',
        '-show_entries',
        'stream=codec_name',
        '-of',
        'json',
        url('missing'),
      ],
      { timeoutMs: 20_000 },
    );
    const r = await probe.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"codec_name": "h264"/);
    await waitFor(() => existsSync(join(dir, 'unread-fb')), 10_000, 'runOnUnread of the fallback path');
  });

  test('runOnDisconnect runs when an RTSP connection closes', async () => {
    const c = await connect();
    assert.equal((await c.request('OPTIONS', '*')).statusCode, 200);
    const before = readdirSync(dir).filter((f) => f.startsWith('disconnected-')).length;
    c.close();
    await waitFor(
      () => readdirSync(dir).filter((f) => f.startsWith('disconnected-')).length > before,
      10_000,
      'runOnDisconnect',
    );
  });
});

test('after a SIGKILL of the server, its next start ends the command it left running', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-hooks-kill-'));
  const pidDir = join(dir, 'pids');
  const file = join(dir, 'rtspkit.yml');
  writeFileSync(
    file,
    [
      ...LOOPBACK_APP_CONFIG_LINES,
      `hooksPidDir: '${pidDir}'`,
      'paths:',
      "  cam: { runOnInit: 'sleep 300' }",
    ].join('\n'),
  );
  const serve = (): ReturnType<typeof run> =>
    run(process.execPath, [join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), 'serve', '-c', file], {
      timeoutMs: 60_000,
    });
  const first = serve();
  let second: ReturnType<typeof run> | undefined;
  try {
    await waitFor(() => hookPids(pidDir).length === 1, 20_000, 'the first run to start its command');
    const [leftover] = hookPids(pidDir);
    first.kill('SIGKILL');
    await first.done;
    assert.ok(alive(leftover!), 'the command outlives a SIGKILL of its server');
    second = serve();
    await waitFor(() => !alive(leftover!), 20_000, 'the next start to end the leftover');
    await waitFor(
      () => hookPids(pidDir).length === 1 && hookPids(pidDir)[0] !== leftover,
      20_000,
      'its own command',
    );
    const [own] = hookPids(pidDir);
    second.kill('SIGTERM');
    const r = await second.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(alive(own!), false, 'a server stopped normally ends its commands');
  } finally {
    first.kill('SIGKILL');
    second?.kill('SIGKILL');
    for (const pid of hookPids(pidDir)) if (alive(pid)) process.kill(-pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
