// The HTTP API, /metrics and the web page against a live server on 127.0.0.1: a scripted publisher
// and a raw reader are listed, a reader is kicked, a file path is added and read, and the metrics
// parse as Prometheus text with the values the server holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serializeRtcpCompound } from '../src/rtp/rtcp.js';
import { ApiServer, ERROR_PAGE_CSP, type ApiServerOptions } from '../src/http/api.js';
import type { PathView, SessionView } from '../src/http/views.js';
import type { RtspServer } from '../src/server/server.js';
import { FakePublisher, TEST_SDP } from './support/fake-publisher.js';
import { RawClient, sessionId } from './support/raw-client.js';
import { startTestServer, LOOPBACK_APP_CONFIG_LINES } from './support/server.js';
import { startApp } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';

// ---- helpers ----

interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: () => unknown;
}

function httpRequest(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers: options.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: () => JSON.parse(body) as unknown,
          });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

function postJson(port: number, path: string, value: unknown): Promise<HttpReply> {
  return httpRequest(port, 'POST', path, {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(value),
  });
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text exposition format (0.0.4) strictly enough for tests: every line is a
 * comment (HELP/TYPE), empty, or `name{label="value",...} number`; anything else throws.
 */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][\w:]*) (.*)$/.exec(line);
      if (m === null) throw new Error(`bad comment line: ${line}`);
      if (m[1] === 'TYPE') {
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(m[3]!)) throw new Error(`bad type: ${line}`);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/.exec(line);
    if (m === null) throw new Error(`bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2] !== undefined && m[2] !== '') {
      const re = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let l: RegExpExecArray | null;
      let end = 0;
      while ((l = re.exec(m[2])) !== null) {
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        end = re.lastIndex;
      }
      if (end !== m[2].length) throw new Error(`bad labels: ${line}`);
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad value: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types };
}

/** The value of one series (labels must match exactly), or undefined. */
function seriesValue(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)
    ?.value;
}

/** media/demo.mp4 from test/ (tsx) or dist/test/ (compiled). */
function demoClip(): string {
  for (const rel of ['../media/demo.mp4', '../../media/demo.mp4']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('media/demo.mp4 not found (scripts/make-demo.sh makes it)');
}

/** A reader over TCP interleaved (channels 0-1 video, 2-3 audio), PLAYing `path`. */
async function startReader(port: number, path: string): Promise<{ client: RawClient; session: string }> {
  const url = `rtsp://127.0.0.1:${port}/${path}`;
  const c = await RawClient.connect(port);
  const d = await c.request('DESCRIBE', url, { Accept: 'application/sdp' });
  if (d.statusCode !== 200) throw new Error(`DESCRIBE ${d.statusCode}`);
  const s1 = await c.request('SETUP', `${url}/trackID=0`, {
    Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
  });
  if (s1.statusCode !== 200) throw new Error(`SETUP ${s1.statusCode}`);
  const session = sessionId(s1);
  const s2 = await c.request('SETUP', `${url}/trackID=1`, {
    Transport: 'RTP/AVP/TCP;unicast;interleaved=2-3',
    Session: session,
  });
  if (s2.statusCode !== 200) throw new Error(`SETUP ${s2.statusCode}`);
  const p = await c.request('PLAY', `${url}/`, { Session: session, Range: 'npt=0.000-' });
  if (p.statusCode !== 200) throw new Error(`PLAY ${p.statusCode}`);
  return { client: c, session };
}

/** A publisher on `path` that has sent one keyframe and two P frames. */
async function startPublisher(port: number, path: string): Promise<FakePublisher> {
  const pub = await FakePublisher.start(port, path);
  pub.sendFrame(true);
  pub.sendFrame(false);
  pub.sendFrame(false);
  return pub;
}

async function setup(options: Partial<ApiServerOptions> = {}): Promise<{
  server: RtspServer;
  api: ApiServer;
  port: number;
  close: () => Promise<void>;
}> {
  const { server } = await startTestServer();
  const api = new ApiServer({ server, host: '127.0.0.1', port: 0, ...options });
  await api.listen();
  return {
    server,
    api,
    port: api.port,
    close: async () => {
      await api.close();
      await server.close();
    },
  };
}

/** Waits until the server has taken in every packet the publisher sent. */
async function ingested(server: RtspServer, pub: FakePublisher, path: string): Promise<void> {
  const sent = (): number => pub.packetsSent.reduce((a, b) => a + b, 0);
  await pub.client.until(
    () => server.paths.get(path)?.stream?.counters.reduce((a, c) => a + c.packetsIn, 0) === sent(),
    5000,
    'the publisher packets at the server',
  );
}

/** An RTCP receiver report for track 0 with `lost` packets lost, from a reader. */
function receiverReport(lost: number): Buffer {
  return serializeRtcpCompound([
    {
      type: 'rr',
      ssrc: 0x12345678,
      reports: [
        { ssrc: 0, fractionLost: 0, cumulativeLost: lost, highestSeq: 0, jitter: 900, lsr: 0, dlsr: 0 },
      ],
    },
  ]);
}

const RTP_CHANNELS = new Set([0, 2]);

test('GET /v1/paths and /v1/sessions list a publisher and its reader; DELETE kicks the reader', async () => {
  const { server, api, port, close } = await setup();
  const pub = await startPublisher(server.port, 'cam');
  try {
    const { client: reader, session: readerId } = await startReader(server.port, 'cam');
    await ingested(server, pub, 'cam');
    reader.sendInterleaved(1, receiverReport(7));
    await reader.until(() => server.sessions.get(readerId)?.trackStats[0]?.packetsLost === 7, 5000, 'the RR');

    const paths = await httpRequest(port, 'GET', '/v1/paths');
    assert.equal(paths.status, 200);
    assert.match(String(paths.headers['content-type']), /^application\/json/);
    const items = (paths.json() as { items: PathView[] }).items;
    assert.equal(items.length, 1);
    const cam = items[0]!;
    const stream = server.paths.get('cam')!.stream!;
    assert.equal(cam.name, 'cam');
    assert.equal(cam.source, 'publisher');
    assert.equal(cam.publisherSession, pub.session);
    assert.equal(cam.ready, true);
    assert.deepEqual(cam.codecs, ['H264', 'AAC']);
    assert.deepEqual(cam.tracks, [
      { codec: 'H264', encodingName: 'H264', clockRate: 90000 },
      { codec: 'AAC', encodingName: 'MPEG4-GENERIC', clockRate: 48000 },
    ]);
    assert.equal(cam.readers, 1);
    assert.equal(cam.packetsIn, pub.packetsSent[0]! + pub.packetsSent[1]!);
    assert.equal(cam.bytesIn, stream.counters[0]!.bytesIn + stream.counters[1]!.bytesIn);
    assert.equal(cam.readerPacketsLost, 7);
    assert.equal(cam.rtspUrl, `rtsp://127.0.0.1:${server.port}/cam`);
    assert.ok(Math.abs(Date.parse(cam.since) - Date.now()) < 60_000, cam.since);

    // Bitrate: from two samples of the byte counters with packets in between.
    api.sampler.sample();
    const before = cam.bytesIn;
    pub.sendFrame(true, 2000);
    await reader.until(() => stream.counters[0]!.bytesIn + stream.counters[1]!.bytesIn > before + 2000);
    await new Promise((r) => setTimeout(r, 20));
    api.sampler.sample();
    const one = (await httpRequest(port, 'GET', '/v1/paths/cam')).json() as PathView;
    assert.ok(one.bitrateBps !== null && one.bitrateBps > 0, `bitrate ${one.bitrateBps}`);

    const sessions = await httpRequest(port, 'GET', '/v1/sessions');
    assert.equal(sessions.status, 200);
    const list = (sessions.json() as { items: SessionView[] }).items;
    assert.equal(list.length, 2);
    const publisher = list.find((s) => s.mode === 'record')!;
    const player = list.find((s) => s.mode === 'play')!;
    assert.equal(publisher.id, pub.session);
    assert.equal(publisher.path, 'cam');
    assert.equal(publisher.state, 'recording');
    assert.equal(publisher.transport, 'tcp');
    assert.equal(publisher.remoteAddress, '127.0.0.1');
    assert.equal(publisher.bytes, stream.counters[0]!.bytesIn + stream.counters[1]!.bytesIn);
    assert.equal(publisher.packetsReceived, pub.packetsSent[0]! + pub.packetsSent[1]!);
    assert.equal(publisher.packetsLost, 0);
    assert.equal(player.id, readerId);
    assert.equal(player.path, 'cam');
    assert.equal(player.state, 'playing');
    assert.equal(player.transport, 'tcp');
    assert.equal(player.remoteAddress, '127.0.0.1');
    assert.equal(player.packetsLost, 7, 'loss from the receiver report');
    assert.equal(player.jitterMs, 10, '900 ticks at 90 kHz');
    assert.equal(player.bytes, server.sessions.get(readerId)!.bytesSent);
    assert.ok(player.bytes > 0);

    const single = await httpRequest(port, 'GET', `/v1/sessions/${readerId}`);
    assert.equal(single.status, 200);
    assert.equal((single.json() as SessionView).id, readerId);

    const kick = await httpRequest(port, 'DELETE', `/v1/sessions/${readerId}`);
    assert.equal(kick.status, 204);
    assert.equal(kick.body, '');
    await reader.until(() => reader.closed, 5000, 'the kicked reader disconnected');
    const after = (await httpRequest(port, 'GET', '/v1/sessions')).json() as { items: SessionView[] };
    assert.deepEqual(
      after.items.map((s) => s.id),
      [pub.session],
    );
    assert.equal((await httpRequest(port, 'GET', `/v1/sessions/${readerId}`)).status, 404);
    const again = await httpRequest(port, 'DELETE', `/v1/sessions/${readerId}`);
    assert.equal(again.status, 404);
    assert.deepEqual(again.json(), { error: `no session ${readerId}` });
    assert.equal(((await httpRequest(port, 'GET', '/v1/paths/cam')).json() as PathView).readers, 0);

    // A publisher's path is not removed through the API: its session is kicked instead.
    const del = await httpRequest(port, 'DELETE', '/v1/paths/cam');
    assert.equal(del.status, 409);
    assert.match((del.json() as { error: string }).error, /kick that session/);
    assert.equal((await httpRequest(port, 'DELETE', `/v1/sessions/${pub.session}`)).status, 204);
    await pub.client.until(() => pub.client.closed, 5000, 'the kicked publisher disconnected');
    assert.deepEqual((await httpRequest(port, 'GET', '/v1/paths')).json(), { items: [] });
  } finally {
    pub.client.close();
    await close();
  }
});

test('POST /v1/paths adds a file-fed path that DESCRIBE reads; DELETE removes it', async () => {
  const { server, port, close } = await setup();
  try {
    const add = await postJson(port, '/v1/paths', { name: 'files/demo', source: demoClip() });
    assert.equal(add.status, 201, add.body);
    assert.equal(add.headers.location, '/v1/paths/files/demo');
    const view = add.json() as PathView;
    assert.equal(view.name, 'files/demo');
    assert.equal(view.source, 'file');
    assert.equal(view.publisherSession, null);
    assert.deepEqual(view.codecs, ['H264', 'AAC']);

    const url = `rtsp://127.0.0.1:${server.port}/files/demo`;
    const c = await RawClient.connect(server.port);
    try {
      const d = await c.request('DESCRIBE', url, { Accept: 'application/sdp' });
      assert.equal(d.statusCode, 200);
      assert.match(d.body.toString(), /^m=video /m);
      assert.match(d.body.toString(), /^a=rtpmap:\d+ H264\/90000\r$/m);

      const listed = (await httpRequest(port, 'GET', '/v1/paths')).json() as { items: PathView[] };
      assert.deepEqual(
        listed.items.map((p) => [p.name, p.source]),
        [['files/demo', 'file']],
      );
      const dup = await postJson(port, '/v1/paths', { name: 'files/demo', source: demoClip() });
      assert.equal(dup.status, 409);
      assert.deepEqual(dup.json(), { error: 'path files/demo already exists' });

      const del = await httpRequest(port, 'DELETE', '/v1/paths/files/demo');
      assert.equal(del.status, 204);
      assert.equal((await c.request('DESCRIBE', url)).statusCode, 404);
      assert.equal((await httpRequest(port, 'DELETE', '/v1/paths/files/demo')).status, 404);
      // The name is free again.
      assert.equal(
        (await postJson(port, '/v1/paths', { name: 'files/demo', source: demoClip() })).status,
        201,
      );
    } finally {
      c.close();
    }
  } finally {
    await close();
  }
});

test('API errors: status codes, Allow, JSON bodies, body limit', async () => {
  const { port, close } = await setup({ maxBodyBytes: 1024 });
  try {
    const error = (r: HttpReply): string => (r.json() as { error: string }).error;

    const notJson = await httpRequest(port, 'POST', '/v1/paths', {
      headers: { 'Content-Type': 'text/plain' },
      body: '{"name":"a","source":"b"}',
    });
    assert.equal(notJson.status, 415);
    assert.match(error(notJson), /application\/json/);

    const bad = await httpRequest(port, 'POST', '/v1/paths', {
      headers: { 'Content-Type': 'application/json' },
      body: '{"name":',
    });
    assert.equal(bad.status, 400);
    assert.equal(error(bad), 'the body is not valid JSON');

    const badName = await postJson(port, '/v1/paths', { name: '../etc', source: demoClip() });
    assert.equal(badName.status, 400);
    assert.match(error(badName), /^name: a path segment cannot be only dots/);
    const spaced = await postJson(port, '/v1/paths', { name: 'a b', source: demoClip() });
    assert.match(error(spaced), /^name: expected a path/);
    assert.equal((await postJson(port, '/v1/paths', { name: 'a', source: demoClip(), x: 1 })).status, 400);
    assert.equal((await postJson(port, '/v1/paths', { name: 'a' })).status, 400);
    assert.equal((await postJson(port, '/v1/paths', [])).status, 400);

    const missing = await postJson(port, '/v1/paths', { name: 'a', source: '/nonexistent/clip.mp4' });
    assert.equal(missing.status, 422);
    assert.match(error(missing), /cannot open/);

    const big = await postJson(port, '/v1/paths', { name: 'a', source: 'x'.repeat(2000) });
    assert.equal(big.status, 413);
    assert.equal(error(big), 'request body larger than 1024 bytes');

    const put = await httpRequest(port, 'PUT', '/v1/paths');
    assert.equal(put.status, 405);
    assert.equal(put.headers.allow, 'GET, POST, HEAD');
    assert.equal((await httpRequest(port, 'POST', '/v1/sessions')).status, 405);
    assert.equal((await httpRequest(port, 'DELETE', '/metrics')).status, 405);

    const unknown = await httpRequest(port, 'GET', '/v2/things');
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json(), { error: 'not found' });
    assert.equal((await httpRequest(port, 'GET', '/v1/paths/nope')).status, 404);
    assert.equal((await httpRequest(port, 'GET', '/v1/paths/%E0%A4%A')).status, 400);
    assert.equal((await httpRequest(port, 'GET', '/v1/paths/')).status, 200, 'a trailing slash is the list');
  } finally {
    await close();
  }
});

test('open API on loopback: only loopback Host names (DNS rebinding); an authorize hook decides otherwise', async () => {
  const open = await setup();
  try {
    const evil = await httpRequest(open.port, 'GET', '/v1/paths', { headers: { Host: 'evil.example:9997' } });
    assert.equal(evil.status, 403);
    for (const host of [`localhost:${open.port}`, `127.0.0.1:${open.port}`, `[::1]:${open.port}`])
      assert.equal(
        (await httpRequest(open.port, 'GET', '/v1/paths', { headers: { Host: host } })).status,
        200,
      );
  } finally {
    await open.close();
  }

  const seen: string[] = [];
  const guarded = await setup({
    authorize: (req: http.IncomingMessage) => {
      seen.push(`${req.method} ${req.url}`);
      return Promise.resolve(
        req.headers.authorization === 'Basic YWRtaW46c2VjcmV0'
          ? undefined
          : { statusCode: 401 as const, headers: [['WWW-Authenticate', 'Basic realm="rtspkit"']] },
      );
    },
  });
  try {
    for (const path of ['/', '/metrics', '/v1/paths', '/v1/sessions']) {
      const r = await httpRequest(guarded.port, 'GET', path);
      assert.equal(r.status, 401, path);
      assert.equal(r.headers['www-authenticate'], 'Basic realm="rtspkit"');
    }
    assert.equal((await httpRequest(guarded.port, 'DELETE', '/v1/sessions/X')).status, 401);
    const ok = await httpRequest(guarded.port, 'GET', '/v1/paths', {
      headers: { Authorization: 'Basic YWRtaW46c2VjcmV0', Host: 'rtspkit.example' },
    });
    assert.equal(ok.status, 200, 'with authorize, the Host check is left to it');
    assert.equal((ok.json() as { items: unknown[] }).items.length, 0);
    assert.ok(seen.includes('GET /metrics'));
  } finally {
    await guarded.close();
  }
});

test('GET / serves the web page, its inline code allowed by hash in the CSP; /hls.js is served', async () => {
  const { port, close } = await setup();
  try {
    const r = await httpRequest(port, 'GET', '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(r.body, /^<!doctype html>/i);
    assert.match(r.body, /fetch\('v1\/paths'/);
    assert.match(r.body, /REFRESH_MS = 2000/);
    const csp = String(r.headers['content-security-policy']);
    const script = /<script>([\s\S]*?)<\/script>/.exec(r.body)![1]!;
    const hash = createHash('sha256').update(script).digest('base64');
    // 'self': the page loads hls.js from /hls.js; nothing else outside the page runs.
    assert.ok(csp.includes(`script-src 'self' 'sha256-${hash}'`), csp);
    assert.ok(csp.includes("default-src 'none'"), csp);
    assert.doesNotMatch(csp, /unsafe-inline/);
    const head = await httpRequest(port, 'HEAD', '/');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const hlsJs = await httpRequest(port, 'GET', '/hls.js');
    assert.equal(hlsJs.status, 200);
    assert.equal(hlsJs.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.ok(hlsJs.body.length > 100_000, `hls.js is ${hlsJs.body.length} bytes`);
  } finally {
    await close();
  }
});

test('/metrics: Prometheus text with the server state, bytes out kept after a reader ends', async () => {
  const { server, port, close } = await setup({ authFailures: () => 5 });
  const pub = await startPublisher(server.port, 'cam');
  try {
    const { client: reader, session: readerId } = await startReader(server.port, 'cam');
    await ingested(server, pub, 'cam');
    const rtpFrames = (): { channel: number; payload: Buffer }[] =>
      reader.frames.filter((f) => RTP_CHANNELS.has(f.channel));
    const total = pub.packetsSent[0]! + pub.packetsSent[1]!;
    await reader.until(() => rtpFrames().length === total, 5000, 'every packet at the reader');
    reader.sendInterleaved(1, receiverReport(3));
    await reader.until(() => server.sessions.get(readerId)?.trackStats[0]?.packetsLost === 3, 5000, 'the RR');

    const r = await httpRequest(port, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const { samples, types } = parsePrometheus(r.body);
    const v = (name: string, labels: Record<string, string> = {}): number | undefined =>
      seriesValue(samples, name, labels);
    const stream = server.paths.get('cam')!.stream!;
    const sentBytes = rtpFrames().reduce((a, f) => a + f.payload.length + 4, 0);

    assert.equal(v('rtspkit_connections'), 2);
    assert.equal(v('rtspkit_sessions', { transport: 'tcp', mode: 'record' }), 1);
    assert.equal(v('rtspkit_sessions', { transport: 'tcp', mode: 'play' }), 1);
    assert.equal(v('rtspkit_sessions', { transport: 'udp', mode: 'play' }), 0);
    assert.equal(v('rtspkit_path_readers', { path: 'cam' }), 1);
    assert.equal(v('rtspkit_path_publishers', { path: 'cam' }), 1);
    assert.equal(v('rtspkit_rtp_packets_in_total', { path: 'cam' }), total);
    assert.equal(
      v('rtspkit_rtp_bytes_in_total', { path: 'cam' }),
      stream.counters[0]!.bytesIn + stream.counters[1]!.bytesIn,
    );
    assert.equal(v('rtspkit_rtp_bytes_out_total'), sentBytes);
    assert.equal(v('rtspkit_rtp_packets_out_total'), rtpFrames().length);
    assert.equal(v('rtspkit_reader_dropped_packets_total', { path: 'cam' }), 0);
    assert.equal(v('rtspkit_receiver_packets_lost', { path: 'cam' }), 3);
    assert.equal(v('rtspkit_publisher_packets_lost', { path: 'cam' }), 0);
    assert.equal(v('rtspkit_connections_refused_total'), 0);
    assert.equal(v('rtspkit_auth_failures_total'), 5);
    assert.equal(types.get('rtspkit_rtp_packets_in_total'), 'counter');
    assert.equal(types.get('rtspkit_rtp_bytes_out_total'), 'counter');
    assert.equal(types.get('rtspkit_rtp_packets_out_total'), 'counter');
    assert.equal(types.get('rtspkit_sessions'), 'gauge');
    // prom-client's process metrics.
    assert.ok((v('process_cpu_user_seconds_total') ?? -1) >= 0);
    assert.ok((v('nodejs_heap_size_used_bytes') ?? 0) > 0);

    // The reader leaves: its bytes stay in the total, its session and loss go.
    reader.close();
    await reader.until(() => !server.sessions.has(readerId), 5000, 'the reader session ended');
    const after = parsePrometheus((await httpRequest(port, 'GET', '/metrics')).body).samples;
    assert.equal(seriesValue(after, 'rtspkit_rtp_bytes_out_total'), sentBytes);
    assert.equal(seriesValue(after, 'rtspkit_rtp_packets_out_total'), rtpFrames().length);
    assert.equal(seriesValue(after, 'rtspkit_sessions', { transport: 'tcp', mode: 'play' }), 0);
    assert.equal(seriesValue(after, 'rtspkit_path_readers', { path: 'cam' }), 0);
    assert.equal(seriesValue(after, 'rtspkit_receiver_packets_lost', { path: 'cam' }), 0);

    // The publisher leaves: the path's series go.
    pub.client.close();
    await pub.client.until(() => server.paths.get('cam') === undefined, 5000, 'the path released');
    const gone = parsePrometheus((await httpRequest(port, 'GET', '/metrics')).body).samples;
    assert.equal(gone.filter((s) => s.labels.path === 'cam').length, 0, 'no series left for the path');
    assert.equal(seriesValue(gone, 'rtspkit_rtp_bytes_out_total'), sentBytes);
  } finally {
    pub.client.close();
    await close();
  }
});

test('/metrics without an auth counter leaves rtspkit_auth_failures_total out', async () => {
  const { port, close } = await setup({ processMetrics: false });
  try {
    const { samples } = parsePrometheus((await httpRequest(port, 'GET', '/metrics')).body);
    assert.equal(seriesValue(samples, 'rtspkit_auth_failures_total'), undefined);
    assert.equal(seriesValue(samples, 'process_cpu_user_seconds_total'), undefined);
    assert.equal(seriesValue(samples, 'rtspkit_connections'), 0);
  } finally {
    await close();
  }
});

test('with users: HLS and the player page need the read right on their path, the rest the api right', async () => {
  const config = parseConfig(
    [
      ...LOOPBACK_APP_CONFIG_LINES,
      'auth:',
      '  users:',
      '    - { name: viewer, password: "plain:v", permissions: [{ action: read, path: "cam*" }] }',
      '    - { name: admin, password: "plain:a", permissions: [{ action: api }] }',
    ].join('\n'),
  );
  const app = await startApp(config);
  try {
    const port = app.api!.port;
    const as = (user: string, password: string): Record<string, string> => ({
      Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    });
    const viewer = as('viewer', 'v');
    const admin = as('admin', 'a');
    // Past the check, an unpublished path is 404; a right password without the right is 403, as over
    // RTSP; no credentials, 401.
    assert.equal((await httpRequest(port, 'GET', '/hls/cam1/index.m3u8', { headers: viewer })).status, 404);
    assert.equal((await httpRequest(port, 'GET', '/hls/other/index.m3u8', { headers: viewer })).status, 403);
    assert.equal((await httpRequest(port, 'GET', '/v1/paths', { headers: viewer })).status, 403);
    assert.equal((await httpRequest(port, 'GET', '/hls/cam1/index.m3u8', { headers: admin })).status, 403);
    assert.equal((await httpRequest(port, 'GET', '/v1/paths', { headers: admin })).status, 200);
    assert.equal((await httpRequest(port, 'GET', '/hls/cam1/index.m3u8')).status, 401);
    // The player page asks what its HLS asks: read on the path (then the 404 page: nothing published);
    // the index page lists every path, so it stays the API's.
    assert.equal((await httpRequest(port, 'GET', '/play/cam1', { headers: viewer })).status, 404);
    const other = await httpRequest(port, 'GET', '/play/other', { headers: viewer });
    assert.equal(other.status, 403);
    assert.equal(other.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal((await httpRequest(port, 'GET', '/play/cam1', { headers: admin })).status, 403);
    const anonymous = await httpRequest(port, 'GET', '/play/cam1');
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /Digest realm="rtspkit"/);
    assert.equal((await httpRequest(port, 'GET', '/', { headers: viewer })).status, 403);
    assert.equal((await httpRequest(port, 'GET', '/', { headers: admin })).status, 200);
    const lib = await httpRequest(port, 'GET', '/hls.js');
    assert.equal(lib.status, 200, 'hls.js is a public library');
  } finally {
    await app.close();
  }
});

test('DELETE of a path the config file defines is 409 with the reason; it survives reloads; API paths go', async () => {
  const configText = (paths: string[]): string =>
    [
      ...LOOPBACK_APP_CONFIG_LINES,
      'demo: true',
      `paths: {${paths.map((p) => `${p}: { source: ${JSON.stringify(demoClip())} }`).join(', ')}}`,
    ].join('\n');
  let current = configText(['lobby']);
  const app = await startApp(parseConfig(current), { loadConfig: () => parseConfig(current) });
  try {
    const port = app.api!.port;
    const lobby = await httpRequest(port, 'DELETE', '/v1/paths/lobby');
    assert.equal(lobby.status, 409);
    assert.deepEqual(lobby.json(), {
      error:
        'path lobby is defined in the config file (paths.lobby); remove it there, and the reload removes it',
    });
    const demo = await httpRequest(port, 'DELETE', '/v1/paths/demo');
    assert.equal(demo.status, 409);
    assert.match((demo.json() as { error: string }).error, /\(demo: true\)/);
    // Refused, so nothing changed: the path is live, and a reload of the same file keeps it.
    assert.ok(app.server.paths.get('lobby') !== undefined);
    assert.equal((await app.reload()).ok, true);
    assert.equal((await httpRequest(port, 'GET', '/v1/paths/lobby')).status, 200);

    // Taken out of the file, the reload removes it; the name, added again through the API, is the
    // API's: its DELETE works.
    current = configText([]);
    assert.equal((await app.reload()).ok, true);
    assert.equal((await httpRequest(port, 'GET', '/v1/paths/lobby')).status, 404);
    assert.equal((await postJson(port, '/v1/paths', { name: 'lobby', source: demoClip() })).status, 201);
    assert.equal((await httpRequest(port, 'DELETE', '/v1/paths/lobby')).status, 204);
    assert.equal(app.server.paths.get('lobby'), undefined);
  } finally {
    await app.close();
  }
});

test('GET /play/<path>: the player page, the name HTML-escaped, CSP by hash; 404 pages for no player', async () => {
  const { server, port, close } = await setup();
  // A publisher picks the name: quotes, angle brackets and an ampersand, percent-encoded in its URL.
  const name = `site/x"><img src=x onerror=alert(1)>&'y`;
  const encoded = name.split('/').map(encodeURIComponent).join('/');
  const pub = await startPublisher(server.port, encoded);
  const g711 = await RawClient.connect(server.port);
  try {
    assert.equal(server.paths.get(name)?.name, name);
    const r = await httpRequest(port, 'GET', `/play/${encoded}`);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    // The name only as text, escaped: no markup of the publisher's comes through.
    assert.doesNotMatch(r.body, /<img|onerror=alert\(1\)>/);
    assert.ok(r.body.includes('<h1>site/x&#34;&#62;&#60;img src=x onerror=alert(1)&#62;&#38;&#39;y</h1>'));
    // Two segments under /play/: the relative links climb two levels back to the root.
    const playlist = `../../hls/${encoded.replace(/'/g, '&#39;')}/index.m3u8`;
    assert.ok(r.body.includes(`data-src="${playlist}"`), r.body);
    assert.ok(r.body.includes('<script src="../../hls.js"></script>'));
    assert.match(r.body, /<video id="video" controls /);
    const csp = String(r.headers['content-security-policy']);
    const script = /<script>([\s\S]*?)<\/script>/.exec(r.body)![1]!;
    const hash = createHash('sha256').update(script).digest('base64');
    assert.ok(csp.includes(`script-src 'self' 'sha256-${hash}'`), csp);
    assert.ok(csp.includes("default-src 'none'"), csp);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    // A trailing slash is one level more to climb.
    const slash = await httpRequest(port, 'GET', `/play/${encoded}/`);
    assert.ok(slash.body.includes('<script src="../../../hls.js"></script>'));
    assert.equal((await httpRequest(port, 'HEAD', `/play/${encoded}`)).body, '');

    // No player: a page (not JSON) saying why, which allows nothing to run.
    const none = await httpRequest(port, 'GET', '/play/nobody%3Cb%3E');
    assert.equal(none.status, 404);
    assert.equal(none.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(none.headers['content-security-policy'], ERROR_PAGE_CSP);
    assert.ok(none.body.includes('<p>no live path nobody&#60;b&#62;: nothing is published there now</p>'));
    const bad = await httpRequest(port, 'GET', '/play/%ZZ');
    assert.equal(bad.status, 404);
    assert.match(bad.body, /not a valid path name/);
    // A path whose tracks a browser cannot play (G.711 only) has no player either.
    const sdp = TEST_SDP.replace(/m=video[\s\S]*/, 'm=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n');
    const url = `rtsp://127.0.0.1:${server.port}/phone`;
    const a = await g711.request('ANNOUNCE', url, { 'Content-Type': 'application/sdp' }, sdp);
    assert.equal(a.statusCode, 200);
    const phone = await httpRequest(port, 'GET', '/play/phone');
    assert.equal(phone.status, 404);
    assert.match(phone.body, /path phone has no track a browser can play/);
    assert.equal((await httpRequest(port, 'POST', '/play/phone')).status, 405);
  } finally {
    g711.close();
    pub.client.close();
    await close();
  }
});
