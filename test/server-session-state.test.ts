/**
 * The session's state table over a real socket: a request its state does not accept is answered 455
 * with `Allow` naming what it does (RFC 2326 §11.3.6, §12.4), for a live reader and a publisher, and
 * a reader whose stream ended answers rtspsrc's PAUSE but not PLAY (src/server/session-state.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, sessionId } from './support/raw-client.js';
import { FakePublisher } from './support/fake-publisher.js';
import { startTestServer } from './support/server.js';
import { waitFor } from './support/process.js';
import type { RtspServer } from '../src/server/server.js';

describe('session states over RTSP', () => {
  let server: RtspServer;
  let url: (p: string) => string;
  before(async () => {
    // The ended reader's grace outlasts the test: the session must still be there to answer.
    ({ server, url } = await startTestServer({ endedReaderGraceMs: 120_000 }));
  });
  after(async () => {
    await server.close();
  });

  test('455 with Allow for a reader and a publisher; after its stream ended a reader may PAUSE, not PLAY', async () => {
    const pub = await FakePublisher.start(server.port, 'states');
    pub.sendFrame(true);
    await waitFor(() => (server.paths.get('states')?.stream?.accessUnitsIn ?? 0) >= 1, 5000, 'a frame');

    const c = await RawClient.connect(server.port);
    const setup = await c.request('SETUP', `${url('states')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(setup.statusCode, 200);
    const id = sessionId(setup);

    const pauseInReady = await c.request('PAUSE', url('states'), { Session: id });
    assert.equal(pauseInReady.statusCode, 455);
    assert.equal(
      pauseInReady.headers.get('Allow'),
      'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER, SET_PARAMETER',
    );

    assert.equal((await c.request('PLAY', url('states'), { Session: id })).statusCode, 200);
    const setupWhilePlaying = await c.request('SETUP', `${url('states')}/trackID=1`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=2-3',
      Session: id,
    });
    assert.equal(setupWhilePlaying.statusCode, 455);
    const playingAllow = 'OPTIONS, DESCRIBE, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER';
    assert.equal(setupWhilePlaying.headers.get('Allow'), playingAllow);
    const announceInside = await c.request(
      'ANNOUNCE',
      url('states'),
      { Session: id, 'Content-Type': 'application/sdp' },
      'v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n',
    );
    assert.equal(announceInside.statusCode, 455);
    assert.equal(announceInside.headers.get('Allow'), playingAllow);
    assert.equal((await c.request('GET_PARAMETER', url('states'), { Session: id })).statusCode, 200);

    // The publisher: Recording → PAUSE → Ready, where only SETUP and RECORD move it on.
    const p = pub.client;
    assert.equal((await p.request('PAUSE', url('states'), { Session: pub.session })).statusCode, 200);
    const pauseAgain = await p.request('PAUSE', url('states'), { Session: pub.session });
    assert.equal(pauseAgain.statusCode, 455);
    assert.equal(
      pauseAgain.headers.get('Allow'),
      'OPTIONS, DESCRIBE, SETUP, RECORD, TEARDOWN, GET_PARAMETER, SET_PARAMETER',
    );
    assert.equal((await p.request('RECORD', url('states'), { Session: pub.session })).statusCode, 200);

    // The publisher leaves: the playing reader is told (RTCP BYE) and waits for its TEARDOWN.
    assert.equal((await p.request('TEARDOWN', url('states'), { Session: pub.session })).statusCode, 200);
    await waitFor(() => server.sessions.get(id)?.streamGone === true, 5000, 'the reader detached');
    assert.equal((await c.request('PAUSE', url('states'), { Session: id })).statusCode, 200);
    assert.equal((await c.request('PLAY', url('states'), { Session: id })).statusCode, 404);
    assert.equal((await c.request('TEARDOWN', url('states'), { Session: id })).statusCode, 200);
    assert.equal(server.sessions.size, 0);
    c.close();
    p.close();
  });
});
