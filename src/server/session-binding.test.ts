import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nullLogger } from '../base/logger.js';
import { RtspHeaders } from '../rtsp/headers.js';
import type { RtspRequest } from '../rtsp/message.js';
import type { UdpPair } from '../transport/udp.js';
import type { Reply } from './connection.js';
import { controlRefusal, usernameOf, type SessionAuth } from './session-binding.js';
import { ServerSession } from './session.js';

function request(headers: Record<string, string> = {}): RtspRequest {
  return {
    kind: 'request',
    method: 'PLAY',
    uri: 'rtsp://h/p',
    version: 'RTSP/1.0',
    headers: new RtspHeaders(headers),
    body: Buffer.alloc(0),
  };
}

function session(kind: 'tcp' | 'udp' | 'none', user?: string): { s: ServerSession; conn: object } {
  const conn = {};
  const s = new ServerSession('s', 'p', { kind: 'live-reader' }, 1, undefined, nullLogger, 0, 0);
  s.owner = { connection: conn, ip: '10.0.0.1', user };
  if (kind === 'tcp') s.setups[0] = { kind: 'tcp', rtpChannel: 0, rtcpChannel: 1 };
  if (kind === 'udp')
    s.setups[0] = {
      kind: 'udp',
      clientAddress: '10.0.0.1',
      clientRtpPort: 5000,
      clientRtcpPort: 5001,
      pair: {} as unknown as UdpPair,
      ownsPair: false,
    };
  return { s, conn };
}

const basic = (user: string) => `Basic ${Buffer.from(`${user}:pw`).toString('base64')}`;
const challenge: Reply = { statusCode: 401, headers: new RtspHeaders() };
const auth: SessionAuth = { challenge: () => challenge, verify: () => Promise.resolve(undefined) };

test('interleaved and not-yet-set-up sessions: only their own connection', async () => {
  for (const kind of ['tcp', 'none'] as const) {
    const { s, conn } = session(kind);
    assert.equal(
      await controlRefusal(s, { connection: conn, ip: '10.0.0.9', req: request() }, undefined),
      undefined,
    );
    assert.equal(
      await controlRefusal(s, { connection: {}, ip: '10.0.0.1', req: request() }, undefined),
      'foreign',
    );
  }
});

test('anonymous UDP sessions: any connection of the same address', async () => {
  const { s } = session('udp');
  assert.equal(await controlRefusal(s, { connection: {}, ip: '10.0.0.1', req: request() }, auth), undefined);
  assert.equal(await controlRefusal(s, { connection: {}, ip: '10.0.0.2', req: request() }, auth), 'foreign');
});

test("a user's UDP session: that user from anywhere (verified), a challenge without credentials, 454 for others", async () => {
  const { s } = session('udp', 'alice');
  const from = (headers: Record<string, string>) => ({
    connection: {},
    ip: '10.0.0.2',
    req: request(headers),
  });
  assert.equal(await controlRefusal(s, from({ Authorization: basic('alice') }), auth), undefined);
  assert.equal(await controlRefusal(s, from({}), auth), challenge);
  assert.equal(await controlRefusal(s, from({ Authorization: basic('bob') }), auth), 'foreign');
  const denied: Reply = { statusCode: 401, headers: new RtspHeaders() };
  const wrongPassword: SessionAuth = { ...auth, verify: () => Promise.resolve(denied) };
  assert.equal(await controlRefusal(s, from({ Authorization: basic('alice') }), wrongPassword), denied);
});

test('usernameOf reads Basic and Digest credentials, and nothing from garbage', () => {
  assert.equal(usernameOf(request({ Authorization: basic('alice') })), 'alice');
  assert.equal(
    usernameOf(
      request({
        Authorization: `Digest username="bob", realm="r", nonce="n", uri="/p", response="${'0'.repeat(32)}"`,
      }),
    ),
    'bob',
  );
  assert.equal(usernameOf(request({ Authorization: 'Bearer x' })), undefined);
  assert.equal(usernameOf(request({ Authorization: 'Basic !!!' })), undefined);
  assert.equal(usernameOf(request()), undefined);
});
