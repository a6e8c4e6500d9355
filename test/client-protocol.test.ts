// RtspClient against scripted servers on 127.0.0.1: the behaviours real servers and cameras need
// (redirects, digest with stale nonces, 461 and silent-UDP fallback to TCP, the reply's interleaved
// channels, keepalive without waiting, server requests, timeouts and typed errors).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { RtspClient, summarizeTrack, type RtspClientOptions } from '../src/client/index.js';
import type { AccessUnit } from '../src/format/access-unit.js';
import { digestHa1, digestResponse } from '../src/auth/digest.js';
import { RtspFramer } from '../src/rtsp/framer.js';
import { RtspHeaders } from '../src/rtsp/headers.js';
import {
  serializeInterleaved,
  serializeRequest,
  serializeResponse,
  type RtspRequest,
} from '../src/rtsp/message.js';
import { parseAuthorization } from '../src/rtsp/auth-header.js';
import { serializeRtpPacket } from '../src/rtp/packet.js';
import { rtspkit, run, waitFor } from './support/process.js';
import { hasTool } from './support/tools.js';

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Do not answer at all. */
  silent?: boolean;
}

type Handler = (req: RtspRequest, conn: ScriptConn) => Reply;

interface ScriptConn {
  socket: net.Socket;
  send(channel: number, payload: Buffer): void;
  request(method: string, uri: string, headers: Record<string, string>): void;
}

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** A server that answers each request with `handler`; CSeq is echoed. */
async function scripted(
  handler: Handler,
): Promise<{ port: number; requests: RtspRequest[]; conns: ScriptConn[] }> {
  const requests: RtspRequest[] = [];
  const conns: ScriptConn[] = [];
  const server = net.createServer((socket) => {
    const framer = new RtspFramer();
    const conn: ScriptConn = {
      socket,
      send: (channel, payload) => socket.write(serializeInterleaved(channel, payload)),
      request: (method, uri, headers) =>
        socket.write(
          serializeRequest({ method, uri, headers: new RtspHeaders(headers), body: Buffer.alloc(0) }),
        ),
    };
    conns.push(conn);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      for (const m of framer.push(chunk)) {
        if (m.kind !== 'request') continue;
        requests.push(m);
        const r = handler(m, conn);
        if (r.silent === true) continue;
        const headers = new RtspHeaders({ CSeq: m.headers.get('CSeq') ?? '0', ...r.headers });
        socket.write(
          serializeResponse({ statusCode: r.status, headers, body: Buffer.from(r.body ?? '', 'utf8') }),
        );
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, requests, conns };
}

const SDP = [
  'v=0',
  'o=- 0 0 IN IP4 127.0.0.1',
  's= ',
  't=0 0',
  'a=control:*',
  'm=video 0 RTP/AVP 96',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 packetization-mode=1',
  'a=control:trackID=0',
  '',
].join('\r\n');

function rtp(seq: number, payload: Buffer, marker = true): Buffer {
  return serializeRtpPacket({
    marker,
    payloadType: 96,
    sequenceNumber: seq,
    timestamp: seq * 3600,
    ssrc: 0x1234,
    csrcs: [],
    payload,
  });
}

const IDR = Buffer.from([0x65, 0x88, 0x80, 0x40]);

function client(url: string, options: RtspClientOptions = {}): RtspClient {
  const c = new RtspClient(url, { timeoutMs: 3000, ...options });
  c.on('error', () => undefined);
  return c;
}

test('3xx with Location is followed to another server, keeping the credentials', async () => {
  const target = await scripted((req) =>
    req.method === 'DESCRIBE'
      ? { status: 200, headers: { 'Content-Type': 'application/sdp' }, body: SDP }
      : { status: 200 },
  );
  const origin = await scripted(() => ({
    status: 302,
    headers: { Location: `rtsp://127.0.0.1:${target.port}/moved` },
  }));
  const c = client(`rtsp://u:p@127.0.0.1:${origin.port}/cam`);
  const d = await c.describe();
  assert.equal(d.tracks.length, 1);
  assert.equal(c.url, `rtsp://u:p@127.0.0.1:${target.port}/moved`);
  assert.equal(target.requests[0]!.uri, `rtsp://127.0.0.1:${target.port}/moved`);
  assert.equal(d.tracks[0]!.controlUrl, `rtsp://u:p@127.0.0.1:${target.port}/moved/trackID=0`);
  c.close();
});

test('more than 5 redirects fail with TOO_MANY_REDIRECTS', async () => {
  let port = 0;
  const loop = await scripted(() => ({
    status: 301,
    headers: { Location: `rtsp://127.0.0.1:${port}/again` },
  }));
  port = loop.port;
  const c = client(`rtsp://127.0.0.1:${port}/x`);
  await assert.rejects(c.describe(), { code: 'TOO_MANY_REDIRECTS' });
  assert.equal(loop.requests.length, 6);
  c.close();
});

for (const algorithm of ['MD5', 'SHA-256'] as const) {
  test(`digest ${algorithm}: answers the challenge, then retries once more on stale=true with the new nonce`, async () => {
    const nonces = ['n1', 'n2'];
    let stalePending = true;
    const seen: Record<string, string>[] = [];
    const srv = await scripted((req) => {
      const auth = req.headers.get('Authorization');
      const challenge = (nonce: string, stale = false): Reply => ({
        status: 401,
        headers: {
          'WWW-Authenticate': `Digest realm="cam", nonce="${nonce}", qop="auth", algorithm=${algorithm}${stale ? ', stale=true' : ''}`,
        },
      });
      if (auth === undefined) return challenge(nonces[0]!);
      const p = parseAuthorization(auth).params;
      seen.push(p);
      const ha1 = digestHa1({ algorithm, username: 'admin', realm: 'cam', password: 'p@ss:word' });
      const expected = digestResponse({
        algorithm,
        ha1,
        nonce: p.nonce!,
        method: req.method,
        uri: p.uri!,
        qop: 'auth',
        nc: p.nc!,
        cnonce: p.cnonce!,
      });
      if (p.response !== expected || p.uri !== req.uri) return challenge(nonces[0]!);
      if (p.nonce === 'n1' && stalePending) {
        stalePending = false;
        return challenge(nonces[1]!, true);
      }
      return req.method === 'DESCRIBE'
        ? { status: 200, headers: { 'Content-Type': 'application/sdp' }, body: SDP }
        : { status: 200 };
    });
    // The password holds '@' and ':' percent-encoded in the URL.
    const c = client(`rtsp://admin:p%40ss%3Aword@127.0.0.1:${srv.port}/cam`);
    const d = await c.describe();
    assert.equal(d.tracks.length, 1);
    assert.deepEqual(
      seen.map((p) => p.nonce),
      ['n1', 'n2'],
    );
    assert.ok(seen.every((p) => p.username === 'admin' && p.qop === 'auth' && p.algorithm === algorithm));
    // The next request reuses the nonce with an incremented nonce count, without a new challenge.
    const before = srv.requests.length;
    await c.options();
    assert.equal(srv.requests.length, before + 1);
    assert.equal(seen.at(-1)!.nc, '00000002');
    c.close();
  });
}

test('a wrong password fails with RTSP_401 after one attempt; no credentials too', async () => {
  const srv = await scripted(() => ({
    status: 401,
    headers: { 'WWW-Authenticate': 'Basic realm="cam"' },
  }));
  const c = client(`rtsp://u:wrong@127.0.0.1:${srv.port}/cam`);
  await assert.rejects(c.describe(), (e: { code: string; message: string }) => {
    assert.equal(e.code, 'RTSP_401');
    assert.match(e.message, /wrong user name or password/);
    return true;
  });
  assert.equal(srv.requests.length, 2);
  assert.equal(srv.requests[1]!.headers.get('Authorization'), 'Basic dTp3cm9uZw==');
  c.close();
  const anon = client(`rtsp://127.0.0.1:${srv.port}/cam`);
  await assert.rejects(anon.describe(), { code: 'RTSP_401' });
  anon.close();
});

/** A camera refusing UDP (461) or silent on UDP, answering TCP with channels of its own choice. */
async function camera(udp: 'refuse' | 'silent'): Promise<Awaited<ReturnType<typeof scripted>>> {
  const srv = await scripted((req, conn) => {
    const transport = req.headers.get('Transport') ?? '';
    switch (req.method) {
      case 'OPTIONS':
        return { status: 200, headers: { Public: 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN' } };
      case 'DESCRIBE':
        // No Content-Base: controls resolve against the request URL.
        return { status: 200, headers: { 'Content-Type': 'application/sdp' }, body: SDP };
      case 'SETUP':
        if (!transport.includes('TCP')) {
          if (udp === 'refuse') return { status: 461 };
          return {
            status: 200,
            headers: { Session: 'S1;timeout=30', Transport: `${transport};server_port=9-10` },
          };
        }
        return {
          status: 200,
          headers: { Session: 'S2;timeout=30', Transport: 'RTP/AVP/TCP;unicast;interleaved=6-7' },
        };
      case 'PLAY':
        if (req.headers.get('Session') === 'S2') {
          setTimeout(() => {
            for (let i = 0; i < 3; i++) conn.send(6, rtp(100 + i, IDR));
          }, 20);
        }
        return { status: 200, headers: { Session: req.headers.get('Session') ?? '' } };
      default:
        return { status: 200 };
    }
  });
  return srv;
}

for (const mode of ['refuse', 'silent'] as const) {
  test(`UDP ${mode === 'refuse' ? 'refused with 461' : 'silent after PLAY'}: falls back to TCP and uses the reply's channels`, async () => {
    const srv = await camera(mode);
    const c = client(`rtsp://127.0.0.1:${srv.port}/cam`, { udpTimeoutMs: 300 });
    const fallbacks: string[] = [];
    const aus: boolean[] = [];
    c.on('transportFallback', (r) => fallbacks.push(r));
    c.on('accessUnit', (_t, au) => aus.push(au.keyframe));
    await c.options();
    const d = await c.describe();
    assert.equal(d.tracks[0]!.controlUrl, `rtsp://127.0.0.1:${srv.port}/cam/trackID=0`);
    await c.setup({ transport: 'udp' });
    await c.play();
    await waitFor(() => aus.length >= 2, 5000, 'access units over TCP');
    assert.equal(c.transport, 'tcp');
    assert.equal(fallbacks.length, 1);
    assert.ok(aus.every((k) => k));
    const methods = srv.requests.map((r) => r.method);
    if (mode === 'silent') {
      // The UDP session is torn down before the TCP one is set up.
      assert.deepEqual(methods, ['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY', 'TEARDOWN', 'SETUP', 'PLAY']);
    } else {
      assert.deepEqual(methods, ['OPTIONS', 'DESCRIBE', 'SETUP', 'SETUP', 'PLAY']);
    }
    // The TCP SETUP asked for 0-1; the server chose 6-7 and packets came on 6.
    assert.match(
      srv.requests
        .filter((r) => r.method === 'SETUP')
        .at(-1)!
        .headers.get('Transport')!,
      /interleaved=0-1/,
    );
    assert.equal(c.stats()[0]!.packetsReceived, 3);
    c.close();
  });
}

test('keepalive: GET_PARAMETER when Public lists it, not waited on; server requests answered', async () => {
  const srv = await scripted((req) => {
    if (req.method === 'OPTIONS')
      return { status: 200, headers: { Public: 'DESCRIBE, SETUP, PLAY, GET_PARAMETER' } };
    if (req.method === 'DESCRIBE')
      return { status: 200, headers: { 'Content-Type': 'application/sdp' }, body: SDP };
    if (req.method === 'SETUP')
      return { status: 200, headers: { Session: 'K1', Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' } };
    if (req.method === 'GET_PARAMETER') return { status: 200, silent: true }; // a camera that never answers
    return { status: 200 };
  });
  const c = client(`rtsp://127.0.0.1:${srv.port}/cam`, { keepaliveIntervalMs: 50, followRedirect: false });
  const redirects: string[] = [];
  c.on('redirect', (l) => redirects.push(l));
  await c.options();
  await c.describe();
  await c.setup({ transport: 'tcp' });
  await c.play();
  await waitFor(
    () => srv.requests.filter((r) => r.method === 'GET_PARAMETER').length >= 3,
    5000,
    'keepalives',
  );
  const ka = srv.requests.find((r) => r.method === 'GET_PARAMETER')!;
  assert.equal(ka.headers.get('Session'), 'K1');
  assert.equal(ka.uri, `rtsp://127.0.0.1:${srv.port}/cam`);
  // Unanswered keepalives do not hold up other requests.
  const res = await c.request('SET_PARAMETER', c.url, { body: 'x: 1\r\n' });
  assert.equal(res.statusCode, 200);

  // The server asks something of the client, then redirects it.
  const answers: string[] = [];
  const conn = srv.conns[0]!;
  const framer = new RtspFramer();
  conn.socket.on('data', (chunk) => {
    for (const m of framer.push(chunk))
      if (m.kind === 'response') answers.push(`${m.statusCode} ${m.headers.get('CSeq')}`);
  });
  conn.request('GET_PARAMETER', `rtsp://127.0.0.1:${srv.port}/cam`, { CSeq: '41' });
  conn.request('REDIRECT', `rtsp://127.0.0.1:${srv.port}/cam`, {
    CSeq: '42',
    Location: 'rtsp://elsewhere/cam',
  });
  await waitFor(() => answers.length >= 2 && redirects.length === 1, 5000, 'answers to server requests');
  assert.deepEqual(answers, ['200 41', '200 42']);
  assert.deepEqual(redirects, ['rtsp://elsewhere/cam']);
  c.close();
});

for (const hangUp of [false, true]) {
  test(`a REDIRECT request while playing${hangUp ? ', then the connection closed' : ''}: TEARDOWN here, then DESCRIBE, SETUP and PLAY at the Location`, async () => {
    const describe: Reply = { status: 200, headers: { 'Content-Type': 'application/sdp' }, body: SDP };
    const to = await scripted((req, conn) => {
      if (req.method === 'DESCRIBE') return describe;
      if (req.method === 'SETUP')
        return { status: 200, headers: { Session: 'B1', Transport: 'RTP/AVP/TCP;unicast;interleaved=4-5' } };
      if (req.method === 'PLAY') {
        setTimeout(() => {
          for (let i = 0; i < 3; i++) conn.send(4, rtp(200 + i, IDR));
        }, 20);
      }
      return { status: 200, headers: { Session: 'B1' } };
    });
    const location = `rtsp://127.0.0.1:${to.port}/other`;
    const from = await scripted((req, conn) => {
      if (req.method === 'DESCRIBE') return describe;
      if (req.method === 'SETUP')
        return { status: 200, headers: { Session: 'A1', Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' } };
      if (req.method === 'PLAY') {
        setTimeout(() => {
          conn.request('REDIRECT', req.uri, { CSeq: '1', Location: location });
          if (hangUp) conn.socket.end();
        }, 20);
      }
      return { status: 200, headers: { Session: 'A1' } };
    });
    const c = client(`rtsp://127.0.0.1:${from.port}/cam`);
    const redirects: string[] = [];
    c.on('redirect', (l) => redirects.push(l));
    let aus = 0;
    c.on('accessUnit', () => aus++);
    await c.describe();
    await c.setup({ transport: 'tcp' });
    await c.play();
    await waitFor(() => aus >= 2, 5000, 'access units from the new location');
    assert.deepEqual(redirects, [location]);
    assert.equal(c.url, location);
    assert.equal(c.sessionId, 'B1');
    const teardown = from.requests.find((r) => r.method === 'TEARDOWN');
    if (!hangUp) assert.equal(teardown?.headers.get('Session'), 'A1', 'the old session is torn down');
    assert.equal(c.connected, true);
    assert.deepEqual(
      to.requests.map((r) => r.method),
      ['DESCRIBE', 'SETUP', 'PLAY'],
    );
    assert.equal(to.requests[1]!.uri, `${location}/trackID=0`);
    assert.match(to.requests[1]!.headers.get('Transport')!, /TCP/);
    c.close();
  });
}

test('keepalive: OPTIONS when Public lacks GET_PARAMETER, every session timeout / 2 by default', async () => {
  const srv = await scripted((req) => {
    if (req.method === 'OPTIONS')
      return { status: 200, headers: { Public: 'DESCRIBE, SETUP, PLAY, TEARDOWN' } };
    if (req.method === 'DESCRIBE')
      return { status: 200, headers: { 'Content-Type': 'application/sdp' }, body: SDP };
    if (req.method === 'SETUP')
      return {
        status: 200,
        headers: { Session: 'K2;timeout=2', Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' },
      };
    return { status: 200 };
  });
  // No keepaliveIntervalMs: with the default session timeout (60 s) nothing would come within the wait.
  const c = client(`rtsp://127.0.0.1:${srv.port}/cam`);
  await c.options();
  await c.describe();
  await c.setup({ transport: 'tcp' });
  await c.play();
  assert.equal(c.sessionTimeoutS, 2);
  const keepalives = (): RtspRequest[] =>
    srv.requests.filter((r) => r.method === 'OPTIONS' && r.headers.get('Session') === 'K2');
  await waitFor(() => keepalives().length >= 2, 10_000, 'OPTIONS keepalives');
  assert.equal(srv.requests.filter((r) => r.method === 'GET_PARAMETER').length, 0);
  c.close();
});

test('rtspkit probe: a server that never answers, an http:// URL (exit 3, 2, one readable line)', async () => {
  const mute = await scripted(() => ({ status: 200, silent: true }));
  const cases: [string[], number, RegExp][] = [
    [
      ['probe', '--timeout', '1', `rtsp://127.0.0.1:${mute.port}/cam`],
      3,
      /^rtspkit: OPTIONS rtsp:\/\/127\.0\.0\.1:\d+\/cam: no reply in 1000 ms\n$/,
    ],
    [['probe', 'http://127.0.0.1/cam'], 2, /^rtspkit: http:\/\/ URLs are not supported \(use rtsp:\/\//],
  ];
  for (const [args, code, message] of cases) {
    const r = await rtspkit(args).done;
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('a camera with odd habits: Cseq/Content-length casing, no Content-Base, start codes in sprop, no marker bits', async () => {
  const sps = Buffer.from('Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I', 'base64');
  const pps = Buffer.from('aMuMsg==', 'base64');
  const sprop = [sps, pps].map((n) => Buffer.concat([Buffer.from([0, 0, 0, 1]), n]).toString('base64'));
  const sdp = SDP.replace(
    'packetization-mode=1',
    `packetization-mode=1;sprop-parameter-sets=${sprop.join(',')}`,
  );
  const srv = await scripted((req, conn) => {
    const cseq = req.headers.get('CSeq') ?? '0';
    let extra = '';
    let body = '';
    if (req.method === 'DESCRIBE') {
      extra = 'Content-Type: application/sdp\r\n';
      body = sdp;
    } else if (req.method === 'SETUP') {
      extra = 'Session: C1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n';
    } else if (req.method === 'PLAY') {
      setTimeout(() => {
        // Three pictures, none with the marker bit: each ends when the next timestamp begins.
        for (let i = 0; i < 4; i++) conn.send(0, rtp(300 + i, IDR, false));
      }, 20);
    }
    conn.socket.write(
      `RTSP/1.0 200 OK\r\nCseq: ${cseq}\r\n${extra}Content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    return { status: 200, silent: true };
  });
  const c = client(`rtsp://127.0.0.1:${srv.port}/cam?channel=1`);
  const aus: AccessUnit[] = [];
  c.on('accessUnit', (_t, au) => aus.push(au));
  const d = await c.describe();
  // No Content-Base: the relative control joins the request URL (query kept, as ffmpeg does).
  assert.equal(d.tracks[0]!.controlUrl, `rtsp://127.0.0.1:${srv.port}/cam?channel=1/trackID=0`);
  const summary = summarizeTrack(d.tracks[0]!);
  assert.deepEqual([summary.width, summary.height], [640, 360]);
  await c.setup({ transport: 'tcp' });
  assert.equal(c.sessionId, 'C1');
  assert.equal(srv.requests.find((r) => r.method === 'SETUP')!.uri, d.tracks[0]!.controlUrl);
  await c.play();
  await waitFor(() => aus.length >= 3, 5000, 'access units without marker bits');
  assert.deepEqual(
    aus.map((au) => au.pts - aus[0]!.pts),
    [0, 3600, 7200],
  );
  assert.ok(aus.every((au) => au.keyframe));
  c.close();
});

test('stats(): packets lost from sequence gaps, jitter, and the access units dropped after them', async (t) => {
  const sent = [500, 501, 502, 504, 505, 507, 508, 509];
  const srv = await scripted((req, conn) => {
    if (req.method === 'DESCRIBE')
      return { status: 200, headers: { 'Content-Type': 'application/sdp' }, body: SDP };
    if (req.method === 'SETUP')
      return { status: 200, headers: { Session: 'L1', Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' } };
    if (req.method === 'PLAY') setTimeout(() => sent.forEach((seq) => conn.send(0, rtp(seq, IDR))), 20);
    return { status: 200 };
  });
  const c = client(`rtsp://127.0.0.1:${srv.port}/cam`);
  t.after(() => c.close());
  await c.describe();
  await c.setup({ transport: 'tcp' });
  await c.play();
  await waitFor(() => c.stats()[0]!.packetsReceived === sent.length, 5000, 'every packet');
  const [s] = c.stats();
  assert.equal(s!.packetsLost, 2);
  assert.ok(Number.isFinite(s!.jitterMs) && s!.jitterMs >= 0);
  // The picture after each gap may have lost its first packet: it is dropped, not decoded broken.
  assert.deepEqual([s!.accessUnits, s!.accessUnitsDropped], [sent.length - 2, 2]);
});

test('typed errors: TIMEOUT, ECONNREFUSED, RTSP_404, BAD_URL', async () => {
  const mute = await scripted(() => ({ status: 200, silent: true }));
  const c1 = client(`rtsp://127.0.0.1:${mute.port}/x`, { timeoutMs: 200 });
  await assert.rejects(c1.options(), { code: 'TIMEOUT' });
  c1.close();

  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const c2 = client(`rtsp://127.0.0.1:${port}/x`);
  await assert.rejects(c2.options(), { code: 'ECONNREFUSED' });
  c2.close();

  const nf = await scripted(() => ({ status: 404 }));
  const c3 = client(`rtsp://127.0.0.1:${nf.port}/missing`);
  await assert.rejects(c3.describe(), (e: { code: string; message: string }) => {
    assert.equal(e.code, 'RTSP_404');
    assert.match(e.message, /404 Not Found \(unknown path\)/);
    return true;
  });
  c3.close();

  await assert.rejects(client('rtsp//nope').connect(), { code: 'BAD_URL' });
});

test(
  'rtsps: TLS with a self-signed certificate, refused unless verification is off',
  { skip: hasTool('openssl', 'version') ? false : 'needs openssl to make a certificate' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtspkit-tls-'));
    try {
      const gen = run(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ]),
        { timeoutMs: 30_000 },
      );
      assert.equal((await gen.done).code, 0);
      const plain = await scripted((req) =>
        req.method === 'DESCRIBE'
          ? {
              status: 200,
              headers: { 'Content-Type': 'application/sdp', 'Content-Base': 'rtsps://127.0.0.1/cam/' },
              body: SDP,
            }
          : { status: 200 },
      );
      // TLS terminates here and the bytes go on to the scripted server.
      const front = tls.createServer(
        { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
        (s) => {
          const back = net.connect(plain.port, '127.0.0.1');
          s.pipe(back).pipe(s);
          s.on('error', () => back.destroy());
          back.on('error', () => s.destroy());
        },
      );
      servers.push(front);
      await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
      const port = (front.address() as net.AddressInfo).port;

      const strict = client(`rtsps://127.0.0.1:${port}/cam`);
      await assert.rejects(strict.describe(), (e: { code: string }) => /CERT|SELF_SIGNED/.test(e.code));
      strict.close();
      const cli = await rtspkit(['probe', `rtsps://127.0.0.1:${port}/cam`]).done;
      assert.equal(cli.code, 1, cli.stderr);
      assert.match(
        cli.stderr,
        /^rtspkit: cannot connect to .*self-signed certificate \(--insecure accepts it\)\n$/,
      );

      const lax = client(`rtsps://127.0.0.1:${port}/cam`, { rejectUnauthorized: false });
      const d = await lax.describe();
      assert.equal(d.tracks[0]!.controlUrl, 'rtsps://127.0.0.1/cam/trackID=0');
      assert.equal(plain.requests[0]!.uri, `rtsps://127.0.0.1:${port}/cam`);
      lax.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('multicast SETUP: the preference is asked; a unicast reply, a unicast destination or 461 fail clearly, without fallback', async () => {
  const replies = [
    {
      status: 200,
      transport: 'RTP/AVP;unicast;client_port=5000-5001;server_port=6000-6001',
      code: 'BAD_TRANSPORT',
    },
    {
      status: 200,
      transport: 'RTP/AVP;multicast;destination=10.1.2.3;port=5000-5001',
      code: 'BAD_TRANSPORT',
    },
    { status: 200, transport: 'RTP/AVP;multicast;destination=239.1.2.3', code: 'BAD_TRANSPORT' },
    { status: 461, transport: '', code: 'RTSP_461' },
  ];
  let next = 0;
  const srv = await scripted((req) => {
    if (req.method === 'DESCRIBE')
      return { status: 200, headers: { 'Content-Type': 'application/sdp' }, body: SDP };
    if (req.method !== 'SETUP') return { status: 200 };
    const r = replies[next++]!;
    return r.status === 200
      ? { status: 200, headers: { Session: `M${next};timeout=30`, Transport: r.transport } }
      : { status: r.status };
  });
  for (const r of replies) {
    const c = client(`rtsp://127.0.0.1:${srv.port}/cam`);
    const fallbacks: string[] = [];
    c.on('transportFallback', (f) => fallbacks.push(f));
    await c.describe();
    await assert.rejects(
      c.setup({ transport: 'multicast', multicast: { destination: '239.1.2.3', port: 5000 } }),
      (e: Error & { code?: string }) => e.code === r.code && /multicast|461/.test(e.message),
      r.transport,
    );
    assert.deepEqual(fallbacks, []);
    assert.equal(c.transport, undefined, 'no track set up');
    c.close();
  }
  const setups = srv.requests.filter((q) => q.method === 'SETUP');
  assert.equal(setups.length, replies.length, 'one SETUP each: no retry over UDP or TCP');
  assert.equal(setups[0]!.headers.get('Transport'), 'RTP/AVP;multicast;destination=239.1.2.3;port=5000-5001');
  // Recording over multicast is refused before anything is sent.
  const rec = client(`rtsp://127.0.0.1:${srv.port}/cam`);
  await rec.announce(SDP);
  await assert.rejects(rec.setup({ transport: 'multicast' }), { code: 'UNSUPPORTED' });
  rec.close();
});
