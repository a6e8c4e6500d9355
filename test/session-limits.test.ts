// One client must not fill the session table for everyone (issue 13, item 7): a per-address share of
// maxSessions, a short life for half-made sessions, a bounded ANNOUNCE SDP and bounded queued PLAY
// ranges, each refusal counted. "Another IP" is another loopback address (127.0.0.2, ...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RawClient, sessionId } from './support/raw-client.js';
import { TEST_SDP } from './support/fake-publisher.js';
import { waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import { repoRoot } from './support/tools.js';
import { parseAnnouncedSdp } from '../src/server/media-description.js';
import { Metrics } from '../src/http/metrics.js';
import { ServerSampler } from '../src/http/stats.js';

const udpSetup = (c: RawClient, uri: string, port: number) =>
  c.request('SETUP', uri, { Transport: `RTP/AVP;unicast;client_port=${port}-${port + 1}` });

test('one address holds at most its share of maxSessions; another address still gets in; a full table refuses the asker', async () => {
  // maxSessionsPerIpShare defaults to 0.5: two of four sessions per address.
  const { server, url } = await startTestServer({ maxSessions: 4 });
  const clients: RawClient[] = [];
  try {
    server.addSourcePath('live', parseAnnouncedSdp(TEST_SDP));
    const track = `${url('live')}/trackID=0`;
    const flood = await RawClient.connect(server.port);
    clients.push(flood);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await udpSetup(flood, track, 30_000 + 2 * i);
      statuses.push(r.statusCode);
      if (r.statusCode !== 200) assert.match(r.reason, /too many sessions from this address/);
    }
    assert.deepEqual(statuses, [200, 200, 503, 503, 503, 503, 503, 503, 503, 503]);
    assert.equal(server.sessionLimits.refusals.sessionsPerIp, 8);
    assert.equal(server.sessionLimits.heldBy('127.0.0.1'), 2);

    const other = await RawClient.connect(server.port, '127.0.0.2');
    clients.push(other);
    assert.equal((await udpSetup(other, track, 31_000)).statusCode, 200, 'another address gets a session');
    const third = await RawClient.connect(server.port, '127.0.0.3');
    clients.push(third);
    assert.equal((await udpSetup(third, track, 31_000)).statusCode, 200);
    // The table is full: the one asking is refused, and no session already made is ended for it.
    const before = [...server.sessions.keys()];
    const late = await RawClient.connect(server.port, '127.0.0.4');
    clients.push(late);
    const refused = await udpSetup(late, track, 31_000);
    assert.equal(refused.statusCode, 503);
    assert.match(refused.reason, /too many sessions$/);
    assert.equal(server.sessionLimits.refusals.sessions, 1);
    assert.deepEqual([...server.sessions.keys()], before);
    // The refusals are in /metrics, by reason.
    const sampler = new ServerSampler(server.view);
    const text = await new Metrics(server.view, sampler, { processMetrics: false }).render();
    sampler.dispose();
    assert.match(text, /^rtspkit_session_refusals_total\{reason="sessionsPerIp"\} 8$/m);
    assert.match(text, /^rtspkit_session_refusals_total\{reason="sessions"\} 1$/m);
    assert.match(text, /^rtspkit_session_refusals_total\{reason="foreignSession"\} 0$/m);
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
});

test('ANNOUNCE floods hold only their share, and an SDP over maxAnnouncedSdpBytes gets 413', async () => {
  const { server, url } = await startTestServer({ maxSessions: 4, maxAnnouncedSdpBytes: 2048 });
  const clients: RawClient[] = [];
  try {
    const sdp = { 'Content-Type': 'application/sdp' };
    const flood = await RawClient.connect(server.port);
    clients.push(flood);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await flood.request('ANNOUNCE', url(`p${i}`), sdp, TEST_SDP)).statusCode);
    assert.deepEqual(statuses, [200, 200, 503, 503, 503, 503]);

    const other = await RawClient.connect(server.port, '127.0.0.2');
    clients.push(other);
    const big = await other.request(
      'ANNOUNCE',
      url('big'),
      sdp,
      `${TEST_SDP}a=x-pad:${'a'.repeat(4000)}\r\n`,
    );
    assert.equal(big.statusCode, 413);
    assert.match(big.reason, /announced SDP/);
    assert.equal(other.closed, false, 'the connection stays usable');
    assert.equal(server.paths.get('big'), undefined);
    assert.equal((await other.request('ANNOUNCE', url('fine'), sdp, TEST_SDP)).statusCode, 200);
    assert.equal(server.sessionLimits.refusals.announcedSdpBytes, 1);
    assert.equal(server.sessionLimits.refusals.sessionsPerIp, 4);
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
});

test('a session never PLAYed ends after sessionStartTimeout despite keepalives; a played one stays', async () => {
  const { server, url } = await startTestServer({ sessionStartTimeoutS: 1, playStartWaitMs: 50 });
  const clients: RawClient[] = [];
  try {
    server.addSourcePath('live', parseAnnouncedSdp(TEST_SDP));
    const track = `${url('live')}/trackID=0`;
    const tcp = { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' };
    const half = await RawClient.connect(server.port);
    const played = await RawClient.connect(server.port);
    clients.push(half, played);
    const h = sessionId(await half.request('SETUP', track, tcp));
    const p = sessionId(await played.request('SETUP', track, tcp));
    assert.equal((await played.request('PLAY', url('live'), { Session: p })).statusCode, 200);
    // The half-made one keeps asking (GET_PARAMETER keepalives) until it is gone: at most 40 times.
    for (let i = 0; i < 40 && server.sessions.has(h); i++) {
      await half.request('GET_PARAMETER', url('live'), { Session: h });
      await played.request('GET_PARAMETER', url('live'), { Session: p });
      await new Promise((r) => setTimeout(r, 250));
    }
    await waitFor(() => !server.sessions.has(h), 1000, 'the half-made session to end');
    assert.ok(server.sessions.has(p), 'the playing session stays');
    assert.equal((await half.request('PLAY', url('live'), { Session: h })).statusCode, 454);
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
});

test('PLAY ranges queued beyond maxQueuedPlayRanges get 503; the queued ones play on', async () => {
  const { server, url } = await startTestServer({
    mediaDir: join(repoRoot(), 'media'),
    maxQueuedPlayRanges: 2,
  });
  const clients: RawClient[] = [];
  try {
    const c = await RawClient.connect(server.port);
    clients.push(c);
    let frames = 0;
    c.onFrame = () => frames++;
    const s = await c.request('SETUP', `${url('demo.mp4')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(s.statusCode, 200);
    const id = sessionId(s);
    const play = (range: string) => c.request('PLAY', url('demo.mp4'), { Session: id, Range: range });
    assert.equal((await play('npt=0-2')).statusCode, 200);
    assert.equal((await play('npt=3-4')).statusCode, 200, 'queued');
    assert.equal((await play('npt=5-6')).statusCode, 200, 'queued');
    const over = await play('npt=7-8');
    assert.equal(over.statusCode, 503);
    assert.match(over.reason, /queued PLAY ranges/);
    assert.equal(server.sessionLimits.refusals.queuedPlayRanges, 1);
    assert.equal(server.sessions.get(id)?.state, 'playing');
    await c.until(() => frames > 0, 5000, 'media of the first range');
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
});
