// `npm run bench:hls`: N HTTP clients of one path's HLS, rtspkit's beside GStreamer's hlssink2 behind a plain
// HTTP server (issue 21: "200 HTTP clients of one path's playlist and segments, side by side with GStreamer's
// hlssink2 serving the same stream through a plain HTTP server; CPU and first-segment latency reported").
//
//   npm run bench:hls -- [--clients 50,200] [--seconds 20] [--server both|rtspkit|gst] [--clip FILE] [--json]
//
// Each run starts `rtspkit serve` (its own process, TCP only, the API on) and ffmpeg publishing the clip to it in
// real time (-re, looped, -c copy), then:
//   rtspkit: the clients read http://API/hls/live/index.m3u8 (fMP4 segments made in the server's memory);
//   gst:     `gst-launch-1.0 rtspsrc (from rtspkit) ! depayloaders ! h264parse/aacparse ! hlssink2` writes MPEG-TS
//            segments of 1 s to a scratch folder, served by bench/hls-static.ts (a plain Node HTTP server, its own
//            process); rtspkit only relays one RTSP reader there (its CPU is shown apart, "relay").
// One request for the playlist first (the muxer or hlssink2 has segments: what is measured is serving, not
// start-up), then bench/hls-clients.ts (a separate Node process) runs the N clients for --seconds: each polls the
// playlist every target duration and fetches each new segment once. Measured over that window: CPU of the serving
// side in % of one core (rtspkit: the server; gst: gst-launch + the HTTP server) from /proc over wall time, its
// largest RSS (sampled each second, summed over its processes), bytes per second the clients got, first-segment
// latency (a client's start to the last byte of its first media segment) p50/p99 over the clients, and errors.
// Everything runs on 127.0.0.1; every child is ended by its PID, also on errors and Ctrl-C; each run is bounded.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HlsClientsReport } from './hls-clients.js';
import { HOST, freePort } from './probe.js';
import {
  cpuSeconds,
  endRun,
  killAllNow,
  killAllOnExit,
  Proc,
  rssKB,
  scratchDirs,
  sleep,
  waitUntil,
  within,
} from './proc.js';
import { benchServerConfigLines } from './server-config.js';
import { fmt, markdownTable, percentile } from './stats.js';
// `rtspkit serve` re-executes itself without these (cli/node-flags.ts): given here, the PID measured is the server's.
import { SERVE_NODE_ENV, SERVE_NODE_FLAGS } from '../src/cli/node-flags.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const CLIENTS = fileURLToPath(new URL('./hls-clients.js', import.meta.url));
const STATIC = fileURLToPath(new URL('./hls-static.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** Seconds a run may take beyond its window to start (server, publisher, first segment) and end. */
const START_BUDGET_S = 40;

type Kind = 'rtspkit' | 'gst';

interface Options {
  clients: number[];
  seconds: number;
  servers: Kind[];
  clip: string;
  json: boolean;
}

const USAGE =
  'usage: node dist/bench/hls.js [--clients 50,200] [--seconds 20] [--server both|rtspkit|gst] [--clip FILE] [--json]';

function parseOptions(argv: string[]): Options {
  const o: Options = {
    clients: [200],
    seconds: 20,
    servers: ['rtspkit', 'gst'],
    clip: resolve(REPO, '../shared/media/h264_base_aac.mp4'),
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') {
      o.json = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`missing value after ${a}\n${USAGE}`);
    if (a === '--clients') o.clients = v.split(',').map(Number);
    else if (a === '--seconds') o.seconds = Number(v);
    else if (a === '--server') {
      if (v !== 'both' && v !== 'rtspkit' && v !== 'gst')
        throw new Error(`--server: both, rtspkit or gst\n${USAGE}`);
      o.servers = v === 'both' ? ['rtspkit', 'gst'] : [v];
    } else if (a === '--clip') o.clip = resolve(v);
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (!o.clients.every((n) => Number.isInteger(n) && n >= 1 && n <= 2000))
    throw new Error(`--clients: 1..2000 each\n${USAGE}`);
  if (!(o.seconds >= 2 && o.seconds <= 300)) throw new Error(`--seconds: 2..300\n${USAGE}`);
  return o;
}

interface RunResult {
  server: Kind;
  clients: number;
  seconds: number;
  /** The serving side, % of one core: rtspkit's server; gst-launch + the HTTP server. */
  cpuPct?: number;
  /** gst runs: rtspkit relaying the stream to gst-launch (one RTSP reader), % of one core. */
  relayCpuPct?: number;
  /** Largest RSS of the serving side over the window (its processes summed), MB. */
  rssMaxMB?: number;
  bytesPerSecond?: number;
  firstSegmentP50Ms?: number;
  firstSegmentP99Ms?: number;
  /** Clients that got no segment in the window. */
  clientsWithoutSegment?: number;
  segmentsPerClient?: number;
  requests?: number;
  errors?: Record<string, number>;
  load1?: number;
  error?: string;
}

async function getStatus(url: string): Promise<number | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
  if (res === undefined) return undefined;
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}

function gstPipeline(rtspUrl: string, dir: string): string[] {
  return [
    '-q',
    ...['rtspsrc', `location=${rtspUrl}`, 'protocols=tcp', 'name=src'],
    ...['src.', '!', 'application/x-rtp,media=video', '!', 'queue', '!', 'rtph264depay', '!', 'h264parse'],
    ...['!', 'mux.video'],
    ...['src.', '!', 'application/x-rtp,media=audio', '!', 'queue', '!', 'rtpmp4gdepay', '!', 'aacparse'],
    ...['!', 'mux.audio'],
    ...['hlssink2', 'name=mux', `location=${join(dir, 'seg%05d.ts')}`],
    ...[
      `playlist-location=${join(dir, 'index.m3u8')}`,
      'target-duration=1',
      'playlist-length=6',
      'max-files=10',
    ],
  ];
}

async function runOne(kind: Kind, clients: number, o: Options): Promise<RunResult> {
  const result: RunResult = { server: kind, clients, seconds: o.seconds };
  const work = mkdtempSync(join(tmpdir(), `rtspkit-bench-hls-${kind}-`));
  scratchDirs.add(work);
  const procs: Proc[] = [];
  const alive = (): void => {
    for (const p of procs) if (p.name !== 'clients') p.assertAlive();
  };
  try {
    const port = await freePort();
    const apiPort = await freePort();
    const config = join(work, 'rtspkit.yml');
    writeFileSync(
      config,
      [
        ...benchServerConfigLines(HOST, port, apiPort),
        // Every client comes from 127.0.0.1: by default one address may hold half of apiMaxConnections (256),
        // so 200 keep-alive clients would be refused past 128 (as meant against one abusive address).
        'apiMaxConnections: 4096',
        'maxConnectionsPerIpShare: 0',
        '',
      ].join('\n'),
    );
    const server = new Proc('rtspkit', process.execPath, [...SERVE_NODE_FLAGS, CLI, 'serve', '-c', config], {
      cwd: work,
      env: SERVE_NODE_ENV,
    });
    procs.push(server);
    const api = `http://${HOST}:${apiPort}`;
    await waitUntil('the server', 20_000, async () => {
      alive();
      return (await getStatus(`${api}/v1/paths`)) === 200;
    });
    const rtspUrl = `rtsp://${HOST}:${port}/live`;
    procs.push(
      new Proc('ffmpeg', 'ffmpeg', [
        ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', o.clip],
        ...[
          '-t',
          String(o.seconds + 2 * START_BUDGET_S),
          '-c',
          'copy',
          '-f',
          'rtsp',
          '-rtsp_transport',
          'tcp',
        ],
        rtspUrl,
      ]),
    );
    await waitUntil('the publish', 20_000, async () => {
      alive();
      const res = await fetch(`${api}/v1/paths`).catch(() => undefined);
      const body = (await res?.json().catch(() => undefined)) as { items?: unknown[] } | undefined;
      return (body?.items?.length ?? 0) > 0;
    });
    let playlistUrl: string;
    let serving: Proc[];
    if (kind === 'rtspkit') {
      playlistUrl = `${api}/hls/live/index.m3u8`;
      serving = [server];
    } else {
      const dir = join(work, 'hls');
      mkdirSync(dir);
      const gst = new Proc('gst', 'gst-launch-1.0', gstPipeline(rtspUrl, dir));
      const httpPort = await freePort();
      const web = new Proc('http', process.execPath, [STATIC, '--dir', dir, '--port', String(httpPort)]);
      procs.push(gst, web);
      playlistUrl = `http://${HOST}:${httpPort}/index.m3u8`;
      serving = [gst, web];
    }
    // Segments exist before the clients come (start-up is not what is measured).
    await waitUntil('a first playlist', START_BUDGET_S * 1000, async () => {
      alive();
      return (await getStatus(playlistUrl)) === 200;
    });
    await sleep(2000);

    const clientsProc = new Proc('clients', process.execPath, [
      ...[CLIENTS, '--url', playlistUrl, '--clients', String(clients), '--seconds', String(o.seconds)],
    ]);
    procs.push(clientsProc);
    let stdout = '';
    clientsProc.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    const t0 = performance.now();
    const cpu0 = serving.map((p) => cpuSeconds(p.pid));
    const relay0 = kind === 'gst' ? cpuSeconds(server.pid) : 0;
    let rssMax = 0;
    while (!clientsProc.exited && performance.now() - t0 < (o.seconds + START_BUDGET_S) * 1000) {
      alive();
      rssMax = Math.max(
        rssMax,
        serving.reduce((n, p) => n + rssKB(p.pid), 0),
      );
      await within(clientsProc.exit, 1000);
    }
    const wallS = (performance.now() - t0) / 1000;
    result.cpuPct = serving.reduce((n, p, k) => n + ((cpuSeconds(p.pid) - cpu0[k]!) / wallS) * 100, 0);
    if (kind === 'gst') result.relayCpuPct = ((cpuSeconds(server.pid) - relay0) / wallS) * 100;
    result.rssMaxMB = rssMax / 1024;
    result.load1 = loadavg()[0] ?? NaN;
    if (!clientsProc.exited) throw new Error('the clients did not end in time');
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Partial<HlsClientsReport>;
    if (report.type !== 'report' || report.results === undefined)
      throw new Error(`clients (${clientsProc.exitInfo}): ${clientsProc.stderrTail()}`);
    const firsts = report.results.flatMap((r) => (r.firstSegmentMs !== undefined ? [r.firstSegmentMs] : []));
    result.firstSegmentP50Ms = percentile(firsts, 50);
    result.firstSegmentP99Ms = percentile(firsts, 99);
    result.clientsWithoutSegment = report.results.length - firsts.length;
    result.bytesPerSecond = report.results.reduce((n, r) => n + r.bytes, 0) / o.seconds;
    result.segmentsPerClient = report.results.reduce((n, r) => n + r.segments, 0) / report.results.length;
    result.requests = report.results.reduce((n, r) => n + r.requests, 0);
    const errors: Record<string, number> = {};
    for (const r of report.results)
      for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    result.errors = errors;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    await endRun(procs, work);
  }
  return result;
}

function table(results: readonly RunResult[]): string {
  const head = [
    'server',
    'clients',
    'error',
    'CPU %',
    'relay CPU %',
    'RSS MB',
    'MB/s served',
    'first segment p50/p99 ms',
  ];
  head.push('segments/client', 'no segment', 'errors', 'load1');
  return markdownTable(
    head,
    results.map((r) =>
      r.error !== undefined
        ? [r.server, String(r.clients), r.error]
        : [
            r.server,
            String(r.clients),
            '',
            fmt(r.cpuPct, 1),
            r.server === 'gst' ? fmt(r.relayCpuPct, 1) : '-',
            fmt(r.rssMaxMB, 0),
            fmt((r.bytesPerSecond ?? NaN) / 1e6, 2),
            `${fmt(r.firstSegmentP50Ms)}/${fmt(r.firstSegmentP99Ms)}`,
            fmt(r.segmentsPerClient, 1),
            String(r.clientsWithoutSegment ?? '-'),
            Object.entries(r.errors ?? {})
              .map(([k, v]) => `${k}: ${v}`)
              .join(', ') || '0',
            fmt(r.load1, 1),
          ],
    ),
  );
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  killAllOnExit('bench:hls');
  const results: RunResult[] = [];
  for (const n of o.clients)
    for (const kind of o.servers) {
      if (!o.json) process.stderr.write(`bench:hls: ${kind}, ${n} clients, ${o.seconds} s ...\n`);
      results.push(await runOne(kind, n, o));
    }
  if (o.json) process.stdout.write(JSON.stringify({ cpus: cpus().length, results }, null, 2) + '\n');
  else
    process.stdout.write(
      `${table(results)}\n\n${cpus().length} CPUs; clip ${o.clip}; CPU in % of one core over the clients' window.\n`,
    );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:hls: ${err instanceof Error ? err.stack : String(err)}\n`);
  killAllNow();
  process.exit(1);
});
