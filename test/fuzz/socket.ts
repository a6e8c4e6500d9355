/**
 * Socket-level fuzzing of a running server: several connections send random bytes, mutated
 * requests, interleaved frames and half messages for a bounded time. Afterwards the server must
 * still answer, and its heap (after a full GC) must not have grown beyond a stated bound.
 *
 * The server runs with authentication (anonymous may read and publish, so requests without credentials
 * go deep): requests carry no credentials, garbage ones, Digest answers to a real nonce with a wrong
 * response, or right ones with random counts (each remembered by the replay memory, which must stay
 * bounded), and some are replayed.
 */
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { randomBytes, randomInt } from 'node:crypto';
import { RtspServer } from '../../src/server/server.js';
import { Authorizer } from '../../src/server/auth.js';
import { createNonce } from '../../src/auth/server.js';
import { digestCredentials, type DigestChallenge } from '../../src/auth/digest.js';
import { serializeAuthorization } from '../../src/rtsp/auth-header.js';
import { FakePublisher } from '../support/fake-publisher.js';
import { RawClient } from '../support/raw-client.js';

export interface SocketFuzzResult {
  seconds: number;
  connections: number;
  messagesSent: number;
  bytesSent: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  /** Requests the server refused for their credentials (wrong, garbage or replayed). */
  authFailures: number;
  stillAnswers: boolean;
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const METHODS = [
  'OPTIONS',
  'DESCRIBE',
  'SETUP',
  'PLAY',
  'PAUSE',
  'RECORD',
  'TEARDOWN',
  'ANNOUNCE',
  'GET_PARAMETER',
  'GET',
  'POST',
  'X',
];
const HEADERS = [
  'Transport: RTP/AVP/TCP;unicast;interleaved=0-1',
  'Transport: RTP/AVP;unicast;client_port=5000-5001',
  'Transport: RTP/AVP;multicast;ttl=999',
  'Transport: ;;;=,,',
  'Session: 0123456789ABCDEF',
  'Range: npt=5-1',
  'Content-Type: application/sdp',
  'Require: x',
  'x-sessioncookie: fuzz',
  'Upgrade: websocket',
  'Content-Length: 5',
  'Content-Length: -1',
];

const SECRET = randomBytes(32);
const REALM = 'rtspkit';

/** An Authorization header: garbage, a wrong Digest answer to a real nonce, or a right one (maybe replayed). */
function randomAuthorization(method: string, uri: string, replayable: string[]): string {
  const challenge: DigestChallenge = {
    realm: REALM,
    nonce: createNonce(SECRET, Date.now(), randomBytes(12)),
    algorithm: randomInt(2) === 0 ? 'MD5' : 'SHA-256',
    qop: randomInt(4) === 0 ? [] : ['auth'],
    stale: false,
    userhash: false,
  };
  const kind = randomInt(6);
  if (kind === 0) return `Basic ${randomBytes(randomInt(40)).toString('base64')}`;
  if (kind === 1)
    return `Digest ${randomBytes(randomInt(80))
      .toString('latin1')
      .replace(/[\r\n]/g, ' ')}`;
  if (kind === 2 && replayable.length > 0) return replayable[randomInt(replayable.length)]!;
  {
    const right = randomInt(2) === 0;
    const h = serializeAuthorization(
      digestCredentials(challenge, {
        username: 'alice',
        password: right ? 'pw' : randomBytes(4).toString('hex'),
        method,
        uri,
        nonceCount: randomInt(1, 0x7fffffff),
        cnonce: randomBytes(8).toString('hex'),
      }),
    );
    if (right && replayable.length < 64) replayable.push(h);
    return h;
  }
}

const replayable: string[] = [];

function randomMessage(port: number): Buffer {
  switch (randomInt(6)) {
    case 0:
      return randomBytes(randomInt(1, 400));
    case 1: {
      const ch = randomInt(256);
      const len = randomInt(0, 1500);
      return Buffer.concat([
        Buffer.from([0x24, ch, len >> 8, len & 0xff]),
        randomBytes(Math.min(len, randomInt(0, 1600))),
      ]);
    }
    default: {
      const method = METHODS[randomInt(METHODS.length)]!;
      const path = ['live', 'fuzz', '', '..%2f..', 'a'.repeat(randomInt(300))][randomInt(5)]!;
      const uri = `rtsp://127.0.0.1:${port}/${path}/trackID=${randomInt(4)}`;
      const lines = [`${method} ${uri} RTSP/1.0`];
      if (randomInt(5) > 0) lines.push(`CSeq: ${randomInt(1000)}`);
      if (randomInt(3) === 0) lines.push(`Authorization: ${randomAuthorization(method, uri, replayable)}`);
      for (let i = randomInt(4); i > 0; i--) lines.push(HEADERS[randomInt(HEADERS.length)]!);
      let text = `${lines.join('\r\n')}\r\n\r\n`;
      if (randomInt(4) === 0) text += 'v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n';
      const b = Buffer.from(text);
      // Mutate a few bytes, or cut the message short.
      for (let i = randomInt(3); i > 0; i--) b[randomInt(b.length)] = randomInt(256);
      return randomInt(5) === 0 ? b.subarray(0, randomInt(b.length)) : b;
    }
  }
}

export async function fuzzServer(seconds: number, connections: number): Promise<SocketFuzzResult> {
  const authorizer = new Authorizer(
    {
      realm: REALM,
      basic: true,
      users: [
        { name: 'alice', password: 'plain:pw', permissions: [{ action: 'read' }, { action: 'publish' }] },
      ],
      anonymous: { permissions: [{ action: 'read' }, { action: 'publish' }] },
    },
    { secret: SECRET },
  );
  const server = new RtspServer({
    host: '127.0.0.1',
    port: 0,
    udpRtpPort: 0,
    requestTimeoutMs: 500,
    idleTimeoutMs: 2000,
    authorizer,
  });
  await server.listen();
  const port = server.port;
  const pub = await FakePublisher.start(port, 'live');
  let frame = 0;
  const feed = setInterval(() => {
    pub.sendFrame(frame++ % 25 === 0);
  }, 20);
  // Warm up, so that what is allocated once (code, caches) is not counted as growth.
  await new Promise((r) => setTimeout(r, 300));
  const heapBefore = heapAfterGc();
  let messagesSent = 0;
  let bytesSent = 0;
  const deadline = Date.now() + seconds * 1000;

  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      await new Promise<void>((resolve) => {
        socket.once('connect', () => resolve());
        socket.once('close', () => resolve());
      });
      for (let i = randomInt(1, 30); i > 0 && !socket.destroyed && Date.now() < deadline; i--) {
        const m = randomMessage(port);
        socket.write(m);
        messagesSent++;
        bytesSent += m.length;
        if (randomInt(4) === 0) await new Promise((r) => setTimeout(r, randomInt(5)));
      }
      socket.destroy();
    }
  };
  await Promise.all(Array.from({ length: connections }, () => worker()));
  clearInterval(feed);
  await new Promise((r) => setTimeout(r, 300));

  const probe = await RawClient.connect(port);
  const options = await probe.request('OPTIONS', '*');
  const describe = await probe.request('DESCRIBE', `rtsp://127.0.0.1:${port}/live`);
  probe.close();
  pub.client.close();
  await new Promise((r) => setTimeout(r, 200));
  const heapAfter = heapAfterGc();
  await server.close();
  return {
    seconds,
    connections,
    messagesSent,
    bytesSent,
    heapBeforeBytes: heapBefore,
    heapAfterBytes: heapAfter,
    authFailures: authorizer.authFailures,
    stillAnswers: options.statusCode === 200 && describe.statusCode === 200,
  };
}
