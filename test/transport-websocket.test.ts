// RTSP over WebSocket (subprotocol rtsp.onvif.org) on the RTSP port.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { RtspFramer } from '../src/rtsp/framer.js';
import type { InterleavedFrame, RtspResponse } from '../src/rtsp/message.js';
import { FakePublisher, isContiguous, sequences } from './support/fake-publisher.js';
import { waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import type { RtspServer } from '../src/server/server.js';

describe('RTSP over WebSocket', () => {
  let server: RtspServer;
  let url: (p: string) => string;
  before(async () => {
    ({ server, url } = await startTestServer());
  });
  after(async () => {
    await server.close();
  });

  test('a reader plays over a WebSocket with the rtsp.onvif.org subprotocol', async () => {
    const pub = await FakePublisher.start(server.port, 'wscam');
    pub.sendFrame(true);
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/wscam`, 'rtsp.onvif.org');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    assert.equal(ws.protocol, 'rtsp.onvif.org');
    const framer = new RtspFramer();
    const responses: RtspResponse[] = [];
    const frames: InterleavedFrame[] = [];
    ws.on('message', (data: Buffer) => {
      for (const m of framer.push(data)) {
        if (m.kind === 'response') responses.push(m);
        else if (m.kind === 'interleaved') frames.push(m);
      }
    });
    let cseq = 0;
    const request = async (
      method: string,
      uri: string,
      headers: Record<string, string> = {},
    ): Promise<RtspResponse> => {
      const before = responses.length;
      let text = `${method} ${uri} RTSP/1.0\r\nCSeq: ${++cseq}\r\n`;
      for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
      ws.send(Buffer.from(`${text}\r\n`));
      await waitFor(() => responses.length > before, 3000, `${method} answer`);
      return responses[before]!;
    };
    assert.equal((await request('OPTIONS', '*')).statusCode, 200);
    const d = await request('DESCRIBE', url('wscam'));
    assert.equal(d.statusCode, 200);
    assert.match(d.body.toString(), /a=control:trackID=0/);
    const udp = await request('SETUP', `${url('wscam')}/trackID=0`, {
      Transport: 'RTP/AVP;unicast;client_port=5000-5001',
    });
    assert.equal(udp.statusCode, 461);
    const s = await request('SETUP', `${url('wscam')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(s.statusCode, 200);
    const id = s.headers.get('Session')!.split(';')[0]!;
    assert.equal((await request('PLAY', url('wscam'), { Session: id })).statusCode, 200);
    pub.sendFrame(false);
    pub.sendFrame(false);
    await waitFor(() => sequences(frames, 0).length >= 5, 3000, 'media over the WebSocket');
    assert.ok(isContiguous(sequences(frames, 0)));
    assert.equal(frames[0]!.payload[12]! & 0x1f, 7, 'starts at the cached keyframe');
    ws.close();
    await waitFor(() => !server.sessions.has(id), 3000, 'the session ends with the WebSocket');
    pub.client.close();
  });

  test('a WebSocket without the RTSP subprotocol is refused', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/x`, 'chat');
    const result = await new Promise<string>((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('error', (e) => resolve(e.message));
    });
    assert.notEqual(result, 'open');
  });
});
