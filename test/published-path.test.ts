// The path of media that clients send: interleaved channels are routed to the session track that set
// them up (src/server/interleaved-channels.ts, media-in.ts), and taken back when the session ends; a
// multicast member is told the SSRC its group sends with.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { serializeRtcpCompound } from '../src/rtp/rtcp.js';
import { parseTransport } from '../src/rtsp/transport.js';
import type { RtspServer } from '../src/server/server.js';
import { FakePublisher } from './support/fake-publisher.js';
import { waitFor } from './support/process.js';
import { RawClient, sessionId } from './support/raw-client.js';
import { startTestServer } from './support/server.js';

describe('published media path', () => {
  let server: RtspServer;
  let url: (path: string) => string;
  const clients: RawClient[] = [];
  const connect = async (): Promise<RawClient> => {
    const c = await RawClient.connect(server.port);
    clients.push(c);
    return c;
  };

  before(async () => {
    ({ server, url } = await startTestServer());
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  test('a frame on a channel no session set up is counted and dropped; the connection goes on', async () => {
    const c = await connect();
    const before = server.connectionEvents.interleavedUnbound;
    c.sendInterleaved(9, Buffer.alloc(20));
    assert.equal((await c.request('OPTIONS', '*')).statusCode, 200);
    assert.equal(server.connectionEvents.interleavedUnbound, before + 1);
  });

  test('a publisher torn down stops receiving: its later frames are counted as unbound', async () => {
    const pub = await FakePublisher.start(server.port, 'torn');
    clients.push(pub.client);
    pub.sendFrame(true);
    const stream = server.paths.get('torn')!.stream!;
    await waitFor(() => stream.counters[1]!.packetsIn === 1, 5000, 'the first frame');
    const session = server.sessions.get(pub.session)!;
    assert.equal(session.trackStats[0]!.packetsReceived, 3, 'SPS, PPS and IDR counted on the session track');
    const before = server.connectionEvents.interleavedUnbound;
    assert.equal(
      (await pub.client.request('TEARDOWN', url('torn'), { Session: pub.session })).statusCode,
      200,
    );
    pub.sendFrame(false);
    assert.equal((await pub.client.request('OPTIONS', '*')).statusCode, 200);
    assert.equal(
      server.connectionEvents.interleavedUnbound,
      before + 2,
      'one video and one audio frame dropped',
    );
    assert.equal(stream.counters[0]!.packetsIn, 3);
    assert.equal(session.trackStats[0]!.packetsReceived, 3);
  });

  test("a reader's RTCP reaches its session track until TEARDOWN; the channels are free again after", async () => {
    const pub = await FakePublisher.start(server.port, 'rr');
    clients.push(pub.client);
    pub.sendFrame(true);
    const c = await connect();
    const setup = await c.request('SETUP', `${url('rr')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(setup.statusCode, 200);
    const id = sessionId(setup);
    assert.equal((await c.request('PLAY', url('rr'), { Session: id })).statusCode, 200);
    const rr = (lost: number): Buffer =>
      serializeRtcpCompound([
        {
          type: 'rr',
          ssrc: 0x1234,
          reports: [
            {
              ssrc: 1,
              fractionLost: 0,
              cumulativeLost: lost,
              highestSeq: 10,
              jitter: 90,
              lsr: 0,
              dlsr: 0,
            },
          ],
        },
      ]);
    const session = server.sessions.get(id)!;
    c.sendInterleaved(1, rr(7));
    await waitFor(() => session.trackStats[0]!.packetsLost === 7, 5000, 'the receiver report');
    assert.equal((await c.request('TEARDOWN', url('rr'), { Session: id })).statusCode, 200);
    const before = server.connectionEvents.interleavedUnbound;
    c.sendInterleaved(1, rr(9));
    assert.equal((await c.request('OPTIONS', '*')).statusCode, 200);
    assert.equal(server.connectionEvents.interleavedUnbound, before + 1);
    assert.equal(session.trackStats[0]!.packetsLost, 7, 'the ended session heard nothing more');
    // The same channels can be set up again on the same connection, for a new session.
    const again = await c.request('SETUP', `${url('rr')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(again.statusCode, 200);
    const next = server.sessions.get(sessionId(again))!;
    c.sendInterleaved(1, rr(3));
    await waitFor(() => next.trackStats[0]!.packetsLost === 3, 5000, "the new session's receiver report");
  });

  test('a multicast SETUP announces the SSRC the group sends with', async () => {
    const pub = await FakePublisher.start(server.port, 'mc');
    clients.push(pub.client);
    pub.sendFrame(true);
    const ssrcs: (number | undefined)[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await connect();
      const setup = await c.request('SETUP', `${url('mc')}/trackID=0`, { Transport: 'RTP/AVP;multicast' });
      assert.equal(setup.statusCode, 200);
      const [spec] = parseTransport(setup.headers.get('Transport')!);
      ssrcs.push(spec!.ssrc);
      assert.equal((await c.request('PLAY', url('mc'), { Session: sessionId(setup) })).statusCode, 200);
    }
    const stream = server.paths.get('mc')!.stream!;
    const [group, ...others] = stream.readersOfTrack(0);
    assert.equal(others.length, 0, 'one reader: the group');
    assert.equal(ssrcs[0], group!.ssrc);
    assert.equal(ssrcs[1], group!.ssrc);
  });
});
