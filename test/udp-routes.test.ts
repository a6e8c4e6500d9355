// UDP client ports (issue 13, item 10): a SETUP may not take over another session's incoming route
// (a reader announcing a publisher's client_port from the same host), nor name one of the server's
// own ports (the server's datagrams to itself kept such a session alive forever).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { serializeRtpPacket } from '../src/rtp/packet.js';
import { parseTransport } from '../src/rtsp/transport.js';
import { RawClient, sessionId } from './support/raw-client.js';
import { TEST_SDP } from './support/fake-publisher.js';
import { waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';

function bindUdp(): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

test("a reader announcing a UDP publisher's client_port gets 461; the publisher's media still arrives", async () => {
  const { server, url } = await startTestServer();
  const clients: RawClient[] = [];
  const socket = await bindUdp();
  try {
    const pub = await RawClient.connect(server.port);
    clients.push(pub);
    const a = await pub.request('ANNOUNCE', url('cam'), { 'Content-Type': 'application/sdp' }, TEST_SDP);
    assert.equal(a.statusCode, 200);
    const port = socket.address().port;
    const s = await pub.request('SETUP', `${url('cam')}/streamid=0`, {
      Transport: `RTP/AVP;unicast;client_port=${port}-${port + 1};mode=record`,
    });
    assert.equal(s.statusCode, 200);
    const id = sessionId(s);
    const serverRtp = parseTransport(s.headers.get('Transport')!)[0]!.serverPort!.rtp;
    assert.equal((await pub.request('RECORD', url('cam'), { Session: id })).statusCode, 200);

    const thief = await RawClient.connect(server.port);
    clients.push(thief);
    for (const ports of [`${port}-${port + 1}`, `${port - 1}-${port}`, `${port + 1}-${port + 2}`]) {
      const r = await thief.request('SETUP', `${url('cam')}/trackID=0`, {
        Transport: `RTP/AVP;unicast;client_port=${ports}`,
      });
      assert.equal(r.statusCode, 461, ports);
      assert.match(r.reason, /client_port in use/);
    }
    assert.equal(server.sessionLimits.refusals.clientPortInUse, 3);
    assert.equal(server.sessions.size, 1, 'the refused SETUPs left no session behind');

    const stream = server.paths.get('cam')?.stream;
    assert.ok(stream);
    for (let i = 0; i < 3; i++)
      socket.send(
        serializeRtpPacket({
          marker: true,
          payloadType: 96,
          sequenceNumber: i,
          timestamp: i * 3600,
          ssrc: 0x1234,
          csrcs: [],
          payload: Buffer.from([0x65, 1, 2, 3]),
        }),
        serverRtp,
        '127.0.0.1',
      );
    await waitFor(() => stream.counters[0]!.packetsIn === 3, 3000, "the publisher's packets");
  } finally {
    socket.close();
    for (const c of clients) c.close();
    await server.close();
  }
});

for (const ports of ['the shared pair', 'a port range'] as const)
  test(`a client_port that is one of the server's own UDP ports gets 461 (${ports})`, async () => {
    const first = 40_000 + 2 * Math.floor(Math.random() * 5000);
    const { server, url } = await startTestServer(
      ports === 'a port range' ? { udpPortRange: { first, last: first + 7 } } : {},
    );
    const clients: RawClient[] = [];
    try {
      const c = await RawClient.connect(server.port);
      clients.push(c);
      await c.request('ANNOUNCE', url('cam'), { 'Content-Type': 'application/sdp' }, TEST_SDP);
      // A first session shows the server's ports; the next asks to be sent to them.
      const probe = await c.request('SETUP', `${url('cam')}/streamid=0`, {
        Transport: 'RTP/AVP;unicast;client_port=33000-33001;mode=record',
      });
      assert.equal(probe.statusCode, 200);
      const serverPort = parseTransport(probe.headers.get('Transport')!)[0]!.serverPort!;
      const own = ports === 'a port range' ? [first + 4, first + 5] : [serverPort.rtp, serverPort.rtcp];
      const r = await c.request('SETUP', `${url('cam')}/streamid=1`, {
        Transport: `RTP/AVP;unicast;client_port=${own[0]}-${own[1]};mode=record`,
        Session: sessionId(probe),
      });
      assert.equal(r.statusCode, 461);
      assert.match(r.reason, /server's ports/);
      assert.equal(server.sessionLimits.refusals.clientPortIsServer, 1);
    } finally {
      for (const c of clients) c.close();
      await server.close();
    }
  });
