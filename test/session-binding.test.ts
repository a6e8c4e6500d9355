// A session is controlled only from where it was made (issue 13, item 9): an interleaved session from
// its own connection, a UDP one from any connection of the same user (the same address when it was
// made anonymously); anything else presenting its id gets 454 and changes nothing. And a live publish
// may not take the name of a file on demand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import type { RtspResponse } from '../src/rtsp/message.js';
import { RawClient, sessionId } from './support/raw-client.js';
import { FakePublisher, TEST_SDP } from './support/fake-publisher.js';
import { startTestServer } from './support/server.js';
import { openTunnelGet, openTunnelPost, tunnelRequest } from './support/tunnel-client.js';
import { repoRoot } from './support/tools.js';
import { Authorizer } from '../src/server/auth.js';
import { parseAnnouncedSdp } from '../src/server/media-description.js';

const TCP = { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' };
const udp = (port: number) => ({ Transport: `RTP/AVP;unicast;client_port=${port}-${port + 1}` });

test("an interleaved session's id from another connection gets 454: its media stays, it is not ended", async () => {
  const { server, url } = await startTestServer({ maxReaderBacklogBytes: 64 * 1024 });
  const clients: RawClient[] = [];
  try {
    const pub = await FakePublisher.start(server.port, 'cam');
    clients.push(pub.client);
    pub.sendFrame(true);
    const owner = await RawClient.connect(server.port);
    const stranger = await RawClient.connect(server.port);
    clients.push(owner, stranger);
    let ownerFrames = 0;
    let strangerFrames = 0;
    owner.onFrame = () => ownerFrames++;
    stranger.onFrame = () => strangerFrames++;
    const id = sessionId(await owner.request('SETUP', `${url('cam')}/trackID=0`, TCP));
    assert.equal((await owner.request('PLAY', url('cam'), { Session: id })).statusCode, 200);
    for (const method of ['PLAY', 'PAUSE', 'GET_PARAMETER', 'TEARDOWN'])
      assert.equal((await stranger.request(method, url('cam'), { Session: id })).statusCode, 454, method);
    const add = await stranger.request('SETUP', `${url('cam')}/trackID=1`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=2-3',
      Session: id,
    });
    assert.equal(add.statusCode, 454, 'no track joins it from elsewhere');
    assert.equal(server.sessionLimits.refusals.foreignSession, 5);
    assert.equal(server.sessions.get(id)?.state, 'playing');
    const seen = ownerFrames;
    pub.sendFrame(true);
    await owner.until(() => ownerFrames > seen, 5000, 'the owner to keep its media');
    assert.equal(strangerFrames, 0, 'nothing went to the stranger');
    assert.equal((await owner.request('TEARDOWN', url('cam'), { Session: id })).statusCode, 200);
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
});

test('a tunnelled session answers any POST of its tunnel, and 454 on another connection', async () => {
  const { server, url } = await startTestServer();
  const clients: RawClient[] = [];
  const sockets: net.Socket[] = [];
  try {
    const pub = await FakePublisher.start(server.port, 'cam');
    clients.push(pub.client);
    pub.sendFrame(true);
    const get = await openTunnelGet(server.port, 'bound1', { path: '/cam' });
    sockets.push(get.socket);
    const post = async (): Promise<(text: string) => Promise<RtspResponse>> => {
      const p = await openTunnelPost(server.port, 'bound1', { path: '/cam' });
      sockets.push(p);
      return (text) => tunnelRequest(get, p, text, 3000);
    };
    const first = await post();
    const s = await first(
      `SETUP ${url('cam')}/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`,
    );
    assert.equal(s.statusCode, 200);
    const id = sessionId(s);
    const stranger = await RawClient.connect(server.port);
    clients.push(stranger);
    assert.equal((await stranger.request('PLAY', url('cam'), { Session: id })).statusCode, 454);
    // QuickTime opens a new POST per request: still the same tunnel, so the same session.
    const second = await post();
    const p = await second(`PLAY ${url('cam')} RTSP/1.0\r\nCSeq: 2\r\nSession: ${id}\r\n\r\n`);
    assert.equal(p.statusCode, 200);
  } finally {
    for (const c of clients) c.close();
    for (const s of sockets) s.destroy();
    await server.close();
  }
});

test('an anonymous UDP session: another connection from its address may drive it, another address may not', async () => {
  const { server, url } = await startTestServer();
  const clients: RawClient[] = [];
  try {
    const pub = await FakePublisher.start(server.port, 'cam');
    clients.push(pub.client);
    pub.sendFrame(true);
    const first = await RawClient.connect(server.port);
    const sameIp = await RawClient.connect(server.port);
    const otherIp = await RawClient.connect(server.port, '127.0.0.2');
    clients.push(first, sameIp, otherIp);
    const id = sessionId(await first.request('SETUP', `${url('cam')}/trackID=0`, udp(32_000)));
    first.close();
    assert.equal((await otherIp.request('PLAY', url('cam'), { Session: id })).statusCode, 454);
    assert.equal((await otherIp.request('TEARDOWN', url('cam'), { Session: id })).statusCode, 454);
    assert.equal((await sameIp.request('PLAY', url('cam'), { Session: id })).statusCode, 200);
    assert.equal((await sameIp.request('TEARDOWN', url('cam'), { Session: id })).statusCode, 200);
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
});

test("a user's UDP session: another connection must prove to be that user (401 without credentials, 454 as another)", async () => {
  const authorizer = new Authorizer({
    realm: 'rtspkit',
    basic: true,
    users: [
      { name: 'alice', password: 'plain:a', permissions: [{ action: 'read' }, { action: 'publish' }] },
      { name: 'bob', password: 'plain:b', permissions: [{ action: 'read' }] },
    ],
  });
  const { server, url } = await startTestServer({ authorizer });
  const clients: RawClient[] = [];
  const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  try {
    const alice = { Authorization: basic('alice', 'a') };
    server.addSourcePath('cam', parseAnnouncedSdp(TEST_SDP));
    const c = await RawClient.connect(server.port);
    clients.push(c);
    const s = await c.request('SETUP', `${url('cam')}/trackID=0`, { ...udp(32_100), ...alice });
    assert.equal(s.statusCode, 200);
    const id = sessionId(s);
    const elsewhere = await RawClient.connect(server.port, '127.0.0.2');
    clients.push(elsewhere);
    const bare = await elsewhere.request('GET_PARAMETER', url('cam'), { Session: id });
    assert.equal(bare.statusCode, 401, 'a challenge: the client may prove who it is');
    const bob = await elsewhere.request('TEARDOWN', url('cam'), {
      Session: id,
      Authorization: basic('bob', 'b'),
    });
    assert.equal(bob.statusCode, 454);
    assert.ok(server.sessions.has(id));
    const ok = await elsewhere.request('TEARDOWN', url('cam'), { Session: id, ...alice });
    assert.equal(ok.statusCode, 200, 'alice from another connection and address');
    assert.ok(!server.sessions.has(id));
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
});

test("with a media folder, ANNOUNCE of a file's name is refused: readers of demo.mp4 keep getting the file", async () => {
  const { server, url } = await startTestServer({ mediaDir: join(repoRoot(), 'media') });
  const clients: RawClient[] = [];
  try {
    const pub = await RawClient.connect(server.port);
    const reader = await RawClient.connect(server.port);
    clients.push(pub, reader);
    const sdp = { 'Content-Type': 'application/sdp' };
    for (const name of ['demo.mp4', 'DEMO.MP4', 'later/added.mov']) {
      const r = await pub.request('ANNOUNCE', url(name), sdp, TEST_SDP);
      assert.equal(r.statusCode, 403, name);
      assert.match(r.reason, /reserved for files on demand/);
    }
    assert.equal(server.sessionLimits.refusals.onDemandPath, 3);
    assert.equal(server.sessions.size, 0);
    const d = await reader.request('DESCRIBE', url('demo.mp4'));
    assert.equal(d.statusCode, 200);
    assert.match(d.body.toString(), /a=range:npt=0-/, "the file's SDP, not a publisher's");
    assert.equal((await pub.request('ANNOUNCE', url('cam9'), sdp, TEST_SDP)).statusCode, 200);
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
});
