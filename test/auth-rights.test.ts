// Rights on every form of SETUP (issue 13 item 2): a table of method × transport × right over real
// sockets, on a server with users. The right a SETUP needs must follow the parsed Transport, the same
// value that decides whether it makes a reader or joins a publisher: `x-mode=record` once asked for
// `publish` (a regex on the raw header) and made a reader session, so a user with only `publish` could
// PLAY. A session then only does what it was made for: a reader session cannot RECORD, a publisher's
// cannot PLAY, whatever rights its user has.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { Authorizer } from '../src/server/auth.js';
import type { RtspServer } from '../src/server/server.js';
import { RtspFramer } from '../src/rtsp/framer.js';
import type { RtspResponse } from '../src/rtsp/message.js';
import { FakePublisher, TEST_SDP } from './support/fake-publisher.js';
import { RawClient, sessionId } from './support/raw-client.js';
import { startTestServer } from './support/server.js';
import { waitFor } from './support/process.js';
import { openTunnelGet, openTunnelPost, tunnelRequest } from './support/tunnel-client.js';

type Right = 'read' | 'publish' | 'both' | 'api-only' | 'anonymous';
const RIGHTS: Right[] = ['read', 'publish', 'both', 'api-only', 'anonymous'];
const PASSWORDS: Record<Exclude<Right, 'anonymous'>, string> = {
  read: 'r',
  publish: 'p',
  both: 'b',
  'api-only': 'a',
};

const canRead = (r: Right): boolean => r === 'read' || r === 'both';
const canPublish = (r: Right): boolean => r === 'publish' || r === 'both';
/** A refusal: 401 without credentials (no anonymous rights configured), 403 for a user without the right. */
const denied = (r: Right): number => (r === 'anonymous' ? 401 : 403);

function authHeader(r: Right): Record<string, string> {
  if (r === 'anonymous') return {};
  return { Authorization: `Basic ${Buffer.from(`${r}:${PASSWORDS[r]}`).toString('base64')}` };
}

/** What a SETUP asks for, as the server must read it (RFC 2326 §12.39: mode defaults to PLAY). */
type Intent = 'play' | 'record';

/** Mode spellings, appended to the first (or only) transport spec of a SETUP. */
const MODES: { suffix: string; intent: Intent }[] = [
  { suffix: '', intent: 'play' },
  { suffix: ';mode=play', intent: 'play' },
  { suffix: ';mode="PLAY"', intent: 'play' },
  { suffix: ';mode=record', intent: 'record' },
  { suffix: ';mode="RECORD"', intent: 'record' },
  { suffix: ';MODE=Record', intent: 'record' },
  { suffix: ';mode = record', intent: 'record' },
  { suffix: ';mode=receive', intent: 'record' },
  { suffix: ';mode="Receive"', intent: 'record' },
  { suffix: ';mode="PLAY,RECORD"', intent: 'record' },
  // Not the mode parameter: an unknown parameter, or a quoted value that mentions it.
  { suffix: ';x-mode=record', intent: 'play' },
  { suffix: ';X-Mode="RECORD"', intent: 'play' },
  { suffix: ';x-note="mode=record"', intent: 'play' },
];

interface TransportCase {
  name: string;
  /** The first spec, to which a mode spelling is appended. */
  spec: string;
  /** Over a WebSocket or the HTTP tunnel (interleaved only) instead of a plain RTSP connection. */
  via?: 'ws' | 'tunnel';
}

const TRANSPORTS: TransportCase[] = [
  { name: 'UDP', spec: 'RTP/AVP;unicast;client_port=41000-41001' },
  { name: 'TCP', spec: 'RTP/AVP/TCP;unicast;interleaved=0-1' },
  { name: 'multicast', spec: 'RTP/AVP;multicast' },
  { name: 'WebSocket', spec: 'RTP/AVP/TCP;unicast;interleaved=0-1', via: 'ws' },
  { name: 'HTTP tunnel', spec: 'RTP/AVP/TCP;unicast;interleaved=0-1', via: 'tunnel' },
];

/** Several comma-separated alternatives: the request asks for RECORD when any alternative does. */
const MULTI: { transport: string; intent: Intent }[] = [
  {
    transport: 'RTP/AVP/TCP;unicast;interleaved=0-1;x-mode=record,RTP/AVP;unicast;client_port=41000-41001',
    intent: 'play',
  },
  {
    transport:
      'RTP/AVP/TCP;unicast;interleaved=0-1;x-mode=record,RTP/AVP;unicast;client_port=41000-41001;mode=record',
    intent: 'record',
  },
  {
    transport:
      'RTP/AVP/TCP;unicast;interleaved=0-1;mode=play,RTP/AVP/TCP;unicast;interleaved=2-3;mode="RECORD"',
    intent: 'record',
  },
  {
    transport: 'RTP/AVP;multicast;mode=receive,RTP/AVP/TCP;unicast;interleaved=0-1',
    intent: 'record',
  },
];

interface Conn {
  request(
    method: string,
    uri: string,
    headers?: Record<string, string>,
    body?: string,
  ): Promise<RtspResponse>;
  close(): void;
}

async function rawConn(port: number): Promise<Conn> {
  const c = await RawClient.connect(port);
  return { request: (m, u, h, b) => c.request(m, u, h, b), close: () => c.close() };
}

async function wsConn(port: number): Promise<Conn> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'rtsp.onvif.org');
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const framer = new RtspFramer();
  const responses: RtspResponse[] = [];
  ws.on('message', (data: Buffer) => {
    for (const m of framer.push(data)) if (m.kind === 'response') responses.push(m);
  });
  let cseq = 0;
  return {
    async request(method, uri, headers = {}, body = '') {
      const before = responses.length;
      let text = `${method} ${uri} RTSP/1.0\r\nCSeq: ${++cseq}\r\n`;
      for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
      if (body !== '') text += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
      ws.send(Buffer.from(`${text}\r\n${body}`));
      await waitFor(() => responses.length > before, 5000, `${method} answer`);
      return responses[before]!;
    },
    close: () => ws.close(),
  };
}

let tunnels = 0;

/** RTSP over HTTP (the QuickTime tunnel on the RTSP port): answers on the GET side, requests in base64 on the POST. */
async function tunnelConn(port: number): Promise<Conn> {
  const cookie = `rights-${++tunnels}`;
  const get = await openTunnelGet(port, cookie, { path: '/cam1' });
  const post = await openTunnelPost(port, cookie, { path: '/cam1' });
  let cseq = 0;
  return {
    async request(method, uri, headers = {}, body = '') {
      let text = `${method} ${uri} RTSP/1.0\r\nCSeq: ${++cseq}\r\n`;
      for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
      if (body !== '') text += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
      return tunnelRequest(get, post, `${text}\r\n${body}`);
    },
    close: () => {
      post.destroy();
      get.socket.destroy();
    },
  };
}

describe('rights follow the parsed request (method × transport × right)', () => {
  let server: RtspServer;
  let url: (p: string) => string;
  let pub: FakePublisher;
  before(async () => {
    ({ server, url } = await startTestServer());
    // cam1 is live; its publisher comes before the users are switched on.
    pub = await FakePublisher.start(server.port, 'cam1');
    pub.sendFrame(true);
    server.authorizer = new Authorizer({
      realm: 'rtspkit',
      basic: true,
      users: [
        { name: 'read', password: 'plain:r', permissions: [{ action: 'read', path: 'cam*' }] },
        { name: 'publish', password: 'plain:p', permissions: [{ action: 'publish', path: 'cam*' }] },
        {
          name: 'both',
          password: 'plain:b',
          permissions: [
            { action: 'read', path: 'cam*' },
            { action: 'publish', path: 'cam*' },
          ],
        },
        { name: 'api-only', password: 'plain:a', permissions: [{ action: 'api' }] },
      ],
    });
  });
  after(async () => {
    pub.client.close();
    await server.close();
  });

  /**
   * One SETUP on a fresh connection, then what its session may do: the expected status, and for a
   * session made, PLAY 200 (a reader) and RECORD 455 (not a publisher's session).
   */
  async function setupCase(
    what: string,
    conn: Conn,
    right: Right,
    uri: string,
    transport: string,
    intent: Intent,
  ): Promise<void> {
    const sessionsBefore = new Set(server.sessions.keys());
    const s = await conn.request('SETUP', uri, { ...authHeader(right), Transport: transport });
    // A SETUP asking for RECORD outside a publisher's session (no ANNOUNCE) has nothing to join: 455.
    const expected =
      intent === 'play' ? (canRead(right) ? 200 : denied(right)) : canPublish(right) ? 455 : denied(right);
    assert.equal(s.statusCode, expected, `${what}: SETUP`);
    const made = [...server.sessions.values()].filter((x) => !sessionsBefore.has(x.id));
    if (s.statusCode !== 200) {
      assert.equal(made.length, 0, `${what}: no session without 200`);
      return;
    }
    assert.equal(made.length, 1, what);
    assert.equal(made[0]!.mode, 'play', `${what}: a reader session`);
    const id = sessionId(s);
    // A reader session takes no publisher's track, whatever the user's rights.
    const more = await conn.request('SETUP', url('cam1/trackID=1'), {
      Session: id,
      Transport: 'RTP/AVP/TCP;unicast;interleaved=2-3;mode=record',
    });
    assert.equal(more.statusCode, 455, `${what}: SETUP mode=record in the reader session`);
    assert.equal(
      (await conn.request('RECORD', url('cam1'), { Session: id })).statusCode,
      455,
      `${what}: RECORD`,
    );
    assert.equal((await conn.request('PLAY', url('cam1'), { Session: id })).statusCode, 200, `${what}: PLAY`);
    assert.equal((await conn.request('TEARDOWN', url('cam1'), { Session: id })).statusCode, 200, what);
  }

  /** Runs every case, then fails with all the mismatches at once (the whole table, not the first row). */
  async function table(cases: (() => Promise<void>)[]): Promise<void> {
    const failures: string[] = [];
    for (const run of cases) {
      try {
        await run();
      } catch (e) {
        if (!(e instanceof assert.AssertionError)) throw e;
        failures.push(
          e.message
            .split('\n')
            .filter((l) => l.trim() !== '')
            .join(' '),
        );
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases:\n${failures.join('\n')}`);
  }

  for (const t of TRANSPORTS) {
    test(`SETUP over ${t.name}: every mode spelling × every right`, async () => {
      const cases = RIGHTS.flatMap((right) =>
        MODES.flatMap((m) =>
          (t.via !== undefined ? ['cam1/trackID=0'] : ['cam1/trackID=0', 'cam1']).map(
            (target) => async () => {
              const conn =
                t.via === 'ws'
                  ? await wsConn(server.port)
                  : t.via === 'tunnel'
                    ? await tunnelConn(server.port)
                    : await rawConn(server.port);
              try {
                const what = `${t.name} ${right} ${target} Transport: ${t.spec}${m.suffix}`;
                await setupCase(what, conn, right, url(target), `${t.spec}${m.suffix}`, m.intent);
              } finally {
                conn.close();
              }
            },
          ),
        ),
      );
      await table(cases);
    });
  }

  test('SETUP with several comma-separated transports × every right', async () => {
    const cases = RIGHTS.flatMap((right) =>
      MULTI.map((m) => async () => {
        const conn = await rawConn(server.port);
        try {
          await setupCase(
            `${right} Transport: ${m.transport}`,
            conn,
            right,
            url('cam1/trackID=0'),
            m.transport,
            m.intent,
          );
        } finally {
          conn.close();
        }
      }),
    );
    await table(cases);
  });

  test('DESCRIBE needs read; ANNOUNCE needs publish; a publisher session records and never plays', async () => {
    let n = 0;
    for (const right of RIGHTS) {
      const conn = await rawConn(server.port);
      try {
        const d = await conn.request('DESCRIBE', url('cam1'), authHeader(right));
        assert.equal(d.statusCode, canRead(right) ? 200 : denied(right), `${right}: DESCRIBE`);
        const path = `cam-pub-${n++}`;
        const a = await conn.request(
          'ANNOUNCE',
          url(path),
          { ...authHeader(right), 'Content-Type': 'application/sdp' },
          TEST_SDP,
        );
        assert.equal(a.statusCode, canPublish(right) ? 200 : denied(right), `${right}: ANNOUNCE`);
        if (a.statusCode !== 200) continue;
        const id = sessionId(a);
        for (const [i, mode] of [';mode=record', ''].entries()) {
          const s = await conn.request('SETUP', `${url(path)}/streamid=${i}`, {
            Session: id,
            Transport: `RTP/AVP/TCP;unicast;interleaved=${2 * i}-${2 * i + 1}${mode}`,
          });
          assert.equal(s.statusCode, 200, `${right}: publisher SETUP${mode}`);
        }
        assert.equal(server.sessions.get(id)?.mode, 'record');
        // Even a user who also has the read right: PLAY in a publisher's session is 455.
        assert.equal(
          (await conn.request('PLAY', url(path), { Session: id })).statusCode,
          455,
          `${right}: PLAY`,
        );
        assert.equal((await conn.request('RECORD', url(path), { Session: id })).statusCode, 200, right);
        assert.equal(
          (await conn.request('PLAY', url(path), { Session: id })).statusCode,
          455,
          `${right}: PLAY`,
        );
        assert.equal((await conn.request('TEARDOWN', url(path), { Session: id })).statusCode, 200, right);
      } finally {
        conn.close();
      }
    }
  });

  test('methods that only act inside a session need one, whatever the right (454)', async () => {
    for (const right of RIGHTS) {
      const conn = await rawConn(server.port);
      try {
        assert.equal((await conn.request('OPTIONS', url('cam1'), authHeader(right))).statusCode, 200, right);
        for (const method of ['PLAY', 'PAUSE', 'RECORD', 'TEARDOWN'])
          assert.equal(
            (await conn.request(method, url('cam1'), authHeader(right))).statusCode,
            454,
            `${right}: ${method}`,
          );
        const unknown = { ...authHeader(right), Session: 'notasession' };
        for (const method of ['PLAY', 'RECORD', 'SETUP'])
          assert.equal(
            (
              await conn.request(method, url('cam1/trackID=0'), {
                ...unknown,
                Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
              })
            ).statusCode,
            454,
            `${right}: ${method} with an unknown session`,
          );
      } finally {
        conn.close();
      }
    }
  });
});
