// Limits and timeouts that keep one client from holding the server: half-sent requests, idle
// connections, connection, session and reader caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { RawClient, sessionId } from './support/raw-client.js';
import { FakePublisher } from './support/fake-publisher.js';
import { waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';

function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

test('a half-sent request (slowloris) and an idle connection are closed; a busy one is not', async () => {
  const { server } = await startTestServer({ requestTimeoutMs: 1000, idleTimeoutMs: 2000 });
  try {
    const slow = net.connect(server.port, '127.0.0.1');
    slow.on('error', () => undefined);
    slow.write('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: sl');
    const idle = net.connect(server.port, '127.0.0.1');
    idle.on('error', () => undefined);
    const busy = await RawClient.connect(server.port);
    await waitFor(() => slow.destroyed, 15_000, 'the half-sent request to be closed');
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await busy.request('OPTIONS', '*')).statusCode, 200);
    }
    assert.ok(
      idle.destroyed ||
        (await Promise.race([
          closed(idle).then(() => true),
          new Promise((r) => setTimeout(() => r(false), 2000)),
        ])),
    );
    assert.equal(busy.closed, false, 'a connection that keeps talking stays');
    busy.close();
  } finally {
    await server.close();
  }
});

test('a publisher whose every TCP read ends mid-frame is not taken for a slowloris', async () => {
  const { server } = await startTestServer({ requestTimeoutMs: 300 });
  try {
    const pub = await FakePublisher.start(server.port, 'split');
    // Each write carries the tail of one frame and the head of the next, for 1.5 s (5 request timeouts).
    const pending: Buffer[] = [];
    const raw = pub.client.socket;
    const realWrite = raw.write.bind(raw);
    raw.write = (chunk: Buffer) => {
      pending.push(chunk);
      return true;
    };
    let carry = Buffer.alloc(0);
    const endAt = Date.now() + 1500;
    let i = 0;
    while (Date.now() < endAt) {
      pub.sendFrame(i++ % 25 === 0);
      const all = Buffer.concat([carry, ...pending.splice(0)]);
      const cut = all.length - 7;
      realWrite(all.subarray(0, cut));
      carry = all.subarray(cut);
      await new Promise((r) => setTimeout(r, 40));
    }
    realWrite(carry);
    const stream = server.paths.get('split')?.stream;
    await waitFor(() => stream?.accessUnitsIn === pub.frames, 2000, 'every frame to arrive');
    assert.equal(pub.client.closed, false, 'the publisher connection stays open');
    pub.client.close();
  } finally {
    await server.close();
  }
});

test('connection, per-address, session and per-path reader limits', async () => {
  const { server, url } = await startTestServer({
    maxConnections: 6,
    maxConnectionsPerIp: 4,
    maxConnectionsPerIpShare: 0,
    maxSessions: 3,
    maxReadersPerPath: 1,
    maxSessionsPerIpShare: 0, // every client here shares 127.0.0.1
  });
  try {
    const clients = [];
    for (let i = 0; i < 4; i++) clients.push(await RawClient.connect(server.port));
    const fifth = await RawClient.connect(server.port);
    await fifth.until(() => fifth.closed, 3000, 'the fifth connection from one address to be closed');
    assert.ok(server.connectionsRefused >= 1);
    assert.equal(server.connectionRefusals.maxConnectionsPerIp, server.connectionsRefused);

    const [pubConn, r1, r2] = clients as [RawClient, RawClient, RawClient];
    pubConn.close();
    await waitFor(() => server.connectionCount === 3, 2000, 'the publisher connection to be gone');
    const pub = await FakePublisher.start(server.port, 'limited');
    pub.sendFrame(true);
    const s1 = await r1.request('SETUP', `${url('limited')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(s1.statusCode, 200);
    assert.ok(sessionId(s1));
    const s2 = await r2.request('SETUP', `${url('limited')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(s2.statusCode, 453, 'one reader per path');
    pub.client.close();
    for (const c of clients) c.close();
  } finally {
    await server.close();
  }
});

test('request size limits: a header section or body over the limit gets 400 or 413 and the connection closes', async () => {
  const { server, url } = await startTestServer({ maxRequestHeaderBytes: 2048, maxRequestBodyBytes: 1024 });
  try {
    const big = await RawClient.connect(server.port);
    const r = await big.request('OPTIONS', '*', { 'X-Pad': 'a'.repeat(3000) });
    assert.equal(r.statusCode, 400);
    await big.until(() => big.closed, 5000, 'the connection to close');
    const body = await RawClient.connect(server.port);
    const a = await body.raw(
      `ANNOUNCE ${url('big')} RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\nContent-Length: 2000\r\n\r\n`,
    );
    assert.equal(a.statusCode, 413);
    await body.until(() => body.closed, 5000, 'the connection to close');
    // Within the limits all is well; a reload (updateLimits) applies to connections opened afterwards.
    const ok = await RawClient.connect(server.port);
    assert.equal((await ok.request('OPTIONS', '*', { 'X-Pad': 'a'.repeat(1500) })).statusCode, 200);
    server.updateLimits({ maxRequestHeaderBytes: 1024 });
    assert.equal((await ok.request('OPTIONS', '*', { 'X-Pad': 'a'.repeat(1500) })).statusCode, 200);
    const after = await RawClient.connect(server.port);
    assert.equal((await after.request('OPTIONS', '*', { 'X-Pad': 'a'.repeat(1500) })).statusCode, 400);
    ok.close();
    after.close();
  } finally {
    await server.close();
  }
});

test('sessions in all: SETUP beyond maxSessions gets 503; a session that ends frees its place', async () => {
  const { server, url } = await startTestServer({ maxSessions: 2, maxSessionsPerIpShare: 0 });
  try {
    const pub = await FakePublisher.start(server.port, 'few'); // one session
    pub.sendFrame(true);
    const setup = (c: RawClient) =>
      c.request('SETUP', `${url('few')}/trackID=0`, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
    const a = await RawClient.connect(server.port);
    const b = await RawClient.connect(server.port);
    const sa = await setup(a);
    assert.equal(sa.statusCode, 200);
    assert.equal((await setup(b)).statusCode, 503);
    assert.equal((await a.request('TEARDOWN', url('few'), { Session: sessionId(sa) })).statusCode, 200);
    assert.equal((await setup(b)).statusCode, 200);
    for (const c of [a, b, pub.client]) c.close();
  } finally {
    await server.close();
  }
});
