// What one client can hold of the server's connections and memory (issue 13, items 3-5 and 9): replies it
// does not read, requests it pipelines, log lines its refusals cost, tunnel halves, TLS handshakes, the
// per-address share of maxConnections, WebSockets, and the HTTP API's connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { ManualClock } from '../src/base/clock.js';
import { ApiServer } from '../src/http/api.js';
import { createLogger } from '../src/log/logger.js';
import { selfSignedCertificate } from '../src/config/tls.js';
import { RtspFramer } from '../src/rtsp/framer.js';
import type { Authorizer } from '../src/server/auth.js';
import type { RtspServer } from '../src/server/server.js';
import { FakePublisher, TEST_SDP } from './support/fake-publisher.js';
import { RawClient, sessionId } from './support/raw-client.js';
import { waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import { openTunnelGet, openTunnelPost, type TunnelGet } from './support/tunnel-client.js';

function connect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.once('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function describes(url: string, n: number): string {
  let text = '';
  for (let i = 1; i <= n; i++) text += `DESCRIBE ${url} RTSP/1.0\r\nCSeq: ${i}\r\n\r\n`;
  return text;
}

/** Counts the requests the server starts handling (the method the connections call for each one). */
function countRequests(server: RtspServer): { count: number } {
  const counter = { count: 0 };
  const s = server as unknown as { handleRequest: (...args: unknown[]) => unknown };
  const original = s.handleRequest.bind(server);
  s.handleRequest = (...args: unknown[]) => {
    counter.count++;
    return original(...args);
  };
  return counter;
}

const tunnelGet = (port: number, cookie: string): Promise<TunnelGet> => openTunnelGet(port, cookie);
const tunnelPost = (port: number, cookie: string, localAddress?: string): Promise<net.Socket> =>
  openTunnelPost(port, cookie, localAddress !== undefined ? { localAddress } : {});

const b64 = (text: string): string => Buffer.from(text).toString('base64');

test('replies a client does not read: its requests stop being read, then it is closed; others are served', async () => {
  const { server, url } = await startTestServer({ maxReplyBacklogBytes: 64 * 1024, requestTimeoutMs: 1000 });
  try {
    // A path whose DESCRIBE answer is ~32 KB (the amplified form of the attack).
    const pad = Array.from({ length: 32 }, (_, i) => `a=x-pad${i}:${'x'.repeat(1000)}`).join('\r\n');
    const sdp = TEST_SDP.replace('t=0 0\r\n', `t=0 0\r\n${pad}\r\n`);
    const pub = await RawClient.connect(server.port);
    const a = await pub.request('ANNOUNCE', url('big'), { 'Content-Type': 'application/sdp' }, sdp);
    assert.equal(a.statusCode, 200);
    const s = await pub.request('SETUP', `${url('big')}/streamid=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1;mode=record',
    });
    const session = sessionId(s);
    await pub.request('SETUP', `${url('big')}/streamid=1`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=2-3;mode=record',
      Session: session,
    });
    assert.equal((await pub.request('RECORD', url('big'), { Session: session })).statusCode, 200);
    const d = await pub.request('DESCRIBE', url('big'));
    assert.ok(d.body.length > 32_000, `DESCRIBE answer of ${d.body.length} bytes`);

    const handled = countRequests(server);
    const attacker = await connect(server.port);
    attacker.on('error', () => undefined);
    attacker.pause(); // never reads
    // 64 MB of answers: beyond what loopback socket buffers take (Linux autotunes a receive buffer up to
    // tcp_rmem's maximum, 32 MB here).
    const sent = 2000;
    attacker.write(describes(url('big'), sent));
    await waitFor(() => server.connectionEvents.replyBacklogHold >= 1, 10_000, 'reading to stop');
    await waitFor(() => server.connectionCloses.reply_backlog === 1, 10_000, 'the connection to be closed');
    assert.ok(handled.count < sent, `only what the bound allowed was handled (${handled.count} of ${sent})`);

    const fresh = await RawClient.connect(server.port);
    assert.equal((await fresh.request('OPTIONS', '*')).statusCode, 200);
    fresh.close();
    pub.close();
  } finally {
    await server.close();
  }
});

test('requests pipelined behind replies that wait are bounded; they run once the replies are written', async () => {
  const MAX_PENDING = 12; // maxPendingRequests, set below its default to show the option is read
  const waiting: (() => void)[] = [];
  let checks = 0;
  const authorizer = {
    check: () => {
      checks++;
      return new Promise<undefined>((resolve) => waiting.push(() => resolve(undefined)));
    },
  } as unknown as Authorizer;
  const { server, url } = await startTestServer({ authorizer, maxPendingRequests: MAX_PENDING });
  try {
    const client = await RawClient.connect(server.port);
    const sent = 500;
    let answered = 0;
    const framer = new RtspFramer();
    client.socket.removeAllListeners('data');
    client.socket.on('data', (chunk: Buffer) => {
      for (const m of framer.push(chunk)) if (m.kind === 'response') answered++;
    });
    client.socket.write(describes(url('nothing'), sent));
    await waitFor(() => checks >= MAX_PENDING, 5000, 'the first requests to be checked');
    await sleep(300);
    assert.equal(checks, MAX_PENDING, 'no more requests read while that many wait');
    // The hook answers: replies are written, and the requests held back run.
    for (let round = 0; round < 100 && answered < sent; round++) {
      for (const resolve of waiting.splice(0)) resolve();
      await sleep(20);
    }
    await waitFor(() => answered === sent, 5000, `every request answered (${answered})`);
    assert.equal(checks, sent);
    client.close();
  } finally {
    await server.close();
  }
});

test('refusals are logged at a bounded rate, then summed up in one line per window', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  const clock = new ManualClock();
  const { server, url } = await startTestServer({ logger: createLogger('info', sink), clock });
  try {
    const client = await RawClient.connect(server.port);
    let answered = 0;
    const framer = new RtspFramer();
    client.socket.removeAllListeners('data');
    client.socket.on('data', (chunk: Buffer) => {
      for (const m of framer.push(chunk)) if (m.kind === 'response') answered++;
    });
    const sent = 1000;
    client.socket.write(describes(url('nothing'), sent)); // each one 404
    await waitFor(() => answered === sent, 10_000, 'every answer');
    const refused = lines.filter((l) => l.includes('"request refused"')).length;
    assert.ok(refused <= 20, `${refused} "request refused" lines for ${sent} refusals`);
    clock.advance(11_000);
    await waitFor(
      () => lines.some((l) => l.includes('more \\"request refused\\" lines suppressed')),
      5000,
      'the summary line',
    );
    const summary = JSON.parse(
      lines.find((l) => l.includes('"message":"request refused"') && l.includes('lines suppressed'))!,
    ) as { suppressed: number };
    assert.equal(summary.suppressed + refused, sent);
    assert.ok(server.logLinesSuppressed >= sent - refused);
    client.close();
  } finally {
    await server.close();
  }
});

test('a WebSocket counts once toward maxConnections and lives past idleTimeout while it sends requests', async () => {
  const { server } = await startTestServer({ idleTimeoutMs: 1000 });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/x`, 'rtsp.onvif.org');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    let closed = false;
    ws.on('close', () => (closed = true));
    let answered = 0;
    const framer = new RtspFramer();
    ws.on('message', (data: Buffer) => {
      for (const m of framer.push(data)) if (m.kind === 'response' && m.statusCode === 200) answered++;
    });
    // Keepalives for 3.5 idle timeouts (a reader's GET_PARAMETER every few seconds, compressed).
    for (let i = 1; i <= 12; i++) {
      ws.send(Buffer.from(`OPTIONS * RTSP/1.0\r\nCSeq: ${i}\r\n\r\n`));
      await waitFor(() => answered === i || closed, 3000, `answer ${i}`);
      assert.equal(closed, false, `the WebSocket is still open after ${i} keepalives`);
      assert.equal(server.connectionCount, 1, 'one connection');
      await sleep(300);
    }
    ws.close();
    await waitFor(() => server.connectionCount === 0, 3000, 'the connection to be gone');
  } finally {
    await server.close();
  }
});

test('HTTP tunnels: a GET alone and a pair with no RTSP are closed; a POST from another address is refused; one POST at a time', async () => {
  const { server } = await startTestServer({ tunnelPairingTimeoutMs: 1000, idleTimeoutMs: 2000 });
  try {
    const lonely = await tunnelGet(server.port, 'lonely');
    await waitFor(
      () => lonely.socket.destroyed || lonely.socket.readableEnded,
      6000,
      'the lone GET to close',
    );
    assert.equal(server.connectionCloses.tunnel_unpaired, 1);

    const quiet = await tunnelGet(server.port, 'quiet');
    const quietPost = await tunnelPost(server.port, 'quiet');
    await waitFor(
      () => quiet.socket.destroyed || quiet.socket.readableEnded,
      8000,
      'the silent pair to close',
    );
    await waitFor(() => quietPost.destroyed || quietPost.readableEnded, 3000, 'its POST side to close');
    assert.equal(server.connectionCloses.idle, 1);

    const own = await tunnelGet(server.port, 'own');
    const stranger = await tunnelPost(server.port, 'own', '127.0.0.2');
    let answer = '';
    stranger.on('data', (d: Buffer) => (answer += d.toString()));
    stranger.write(b64('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n'));
    await waitFor(() => answer.length > 0, 3000, 'an answer to the stranger');
    assert.match(answer, /^HTTP\/1\.0 403/);
    assert.equal(own.responses.length, 0, 'nothing reached the tunnel');
    assert.equal(server.connectionEvents.tunnelPostRefused, 1);

    const first = await tunnelPost(server.port, 'own');
    first.write(b64('OPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n'));
    await waitFor(() => own.responses.length === 1, 3000, 'the answer through the first POST');
    const second = await tunnelPost(server.port, 'own');
    await waitFor(() => first.destroyed || first.readableEnded, 3000, 'the first POST to be replaced');
    second.write(b64('OPTIONS * RTSP/1.0\r\nCSeq: 3\r\n\r\n'));
    await waitFor(() => own.responses.length === 2, 3000, 'the answer through the second POST');
    assert.equal(own.responses[1]!.headers.get('CSeq'), '3');
    own.socket.destroy();
    second.destroy();
  } finally {
    await server.close();
  }
});

test('RTSPS: a TLS handshake takes a place from the TCP accept and is dropped when it does not complete', async () => {
  const { server } = await startTestServer({
    tls: { ...selfSignedCertificate(), port: 0 },
    tlsHandshakeTimeoutMs: 1000,
    maxConnections: 2,
    maxConnectionsPerIpShare: 0,
  });
  const silent: net.Socket[] = [];
  try {
    silent.push(await connect(server.rtspsPort!), await connect(server.rtspsPort!));
    for (const s of silent) s.on('error', () => undefined);
    await waitFor(() => server.connectionCount === 2, 3000, 'both handshakes to be counted');
    const third = await RawClient.connect(server.port);
    await third.until(() => third.closed, 3000, 'the third connection to be refused');
    assert.ok(server.connectionsRefused >= 1);
    await waitFor(
      () => silent.every((s) => s.destroyed || s.readableEnded),
      6000,
      'the handshakes to time out',
    );
    assert.equal(server.connectionCloses.tls_handshake, 2);
    await waitFor(() => server.connectionCount === 0, 3000, 'their places to be free');
    const fresh = await RawClient.connect(server.port);
    assert.equal((await fresh.request('OPTIONS', '*')).statusCode, 200);
    fresh.close();
  } finally {
    for (const s of silent) s.destroy(); // before close(), which waits for every TLS socket
    await server.close();
  }
});

test('one address holds at most maxConnectionsPerIpShare of maxConnections; another still gets in', async () => {
  const { server } = await startTestServer({ maxConnections: 4 }); // default share 0.5: 2 per address
  try {
    const mine = [await RawClient.connect(server.port), await RawClient.connect(server.port)];
    const third = await RawClient.connect(server.port);
    await third.until(() => third.closed, 3000, 'the third connection from one address to be refused');
    for (const c of mine)
      assert.equal((await c.request('OPTIONS', '*')).statusCode, 200, 'the first two run on');
    const other = await connect(server.port, '127.0.0.2');
    other.write('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n');
    let answer = '';
    other.on('data', (d: Buffer) => (answer += d.toString()));
    await waitFor(() => answer.includes('\r\n\r\n'), 3000, 'an answer to another address');
    assert.match(answer, /^RTSP\/1\.0 200/);
    other.destroy();
    for (const c of mine) c.close();
  } finally {
    await server.close();
  }
});

test('HTTP API: connections capped per address, silent ones closed, large headers refused', async () => {
  const { server } = await startTestServer();
  const api = new ApiServer({
    server,
    host: '127.0.0.1',
    port: 0,
    processMetrics: false,
    maxConnections: 4,
    idleTimeoutMs: 1000,
    maxHeaderBytes: 2048,
  });
  await api.listen();
  const get = async (localAddress: string, extra = ''): Promise<string> => {
    const s = await connect(api.port, localAddress);
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.on('error', () => undefined);
    s.write(`GET /v1/paths HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`);
    await waitFor(() => s.destroyed || s.readableEnded, 5000, 'the API answer');
    return answer;
  };
  try {
    const silent = [await connect(api.port), await connect(api.port)];
    for (const s of silent) s.on('error', () => undefined);
    await waitFor(() => api.connectionCount === 2, 3000, 'two silent connections');
    const third = await connect(api.port);
    third.on('error', () => undefined);
    await waitFor(
      () => third.destroyed || third.readableEnded,
      3000,
      'the third from one address to be refused',
    );
    assert.equal(api.connectionsRefused, 1);
    assert.match(await get('127.0.0.2'), /^HTTP\/1\.1 200/, 'another address is served');
    await waitFor(
      () => silent.every((s) => s.destroyed || s.readableEnded),
      6000,
      'silent connections to close',
    );
    assert.match(await get('127.0.0.1'), /^HTTP\/1\.1 200/, 'the address is served again');
    assert.match(await get('127.0.0.1', `X-Big: ${'x'.repeat(4096)}\r\n`), /^HTTP\/1\.1 431/);
  } finally {
    await api.close();
    await server.close();
  }
});

test('only replies count toward the reply backlog: a reader full of media keeps its keepalives, a publisher its RTP', async () => {
  const { server, url } = await startTestServer({ maxReplyBacklogBytes: 64 * 1024 });
  try {
    const pub = await FakePublisher.start(server.port, 'flood');
    pub.sendFrame(true);
    const reader = await RawClient.connect(server.port);
    let frames = 0;
    reader.onFrame = () => frames++;
    const s = await reader.request('SETUP', `${url('flood')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    const session = sessionId(s);
    assert.equal((await reader.request('PLAY', url('flood'), { Session: session })).statusCode, 200);
    reader.socket.pause(); // reads nothing more: media piles up towards it
    // 48 MB of media for the reader: beyond the loopback socket buffers, so its backlog fills (and
    // the stream drops to the next keyframe) with keepalive replies queued behind that media.
    for (let i = 0; i < 800; i++) {
      pub.sendFrame(i % 50 === 0, 60_000);
      if (i % 40 === 0)
        reader.socket.write(
          `GET_PARAMETER ${url('flood')} RTSP/1.0\r\nCSeq: ${100 + i}\r\nSession: ${session}\r\n\r\n`,
        );
      if (i % 10 === 0) await sleep(5);
    }
    const stream = server.paths.get('flood')?.stream;
    await waitFor(() => stream?.accessUnitsIn === pub.frames, 5000, 'every frame from the publisher');
    assert.ok((stream?.droppedPackets ?? 0) > 0, 'the reader fell behind: media was dropped for it');
    assert.equal(server.connectionEvents.replyBacklogHold, 0, 'neither connection was held');
    assert.ok(server.sessions.has(session), 'the reader session lives');
    reader.socket.resume();
    await reader.until(() => frames > 0, 5000, 'media once the reader reads again');
    reader.close();
    pub.client.close();
  } finally {
    await server.close();
  }
});
