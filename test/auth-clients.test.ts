// Interop: ffprobe and GStreamer's rtspsrc authenticate against the Authorizer's challenges. A minimal RTSP
// responder stands in for the server (the server's wiring is tested elsewhere): every request goes through
// Authorizer.check, and OPTIONS/DESCRIBE/SETUP/PLAY are answered just enough for the client to go on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../src/base/clock.js';
import { Authorizer } from '../src/server/auth.js';
import { run, waitFor } from './support/process.js';
import { skipUnless } from './support/tools.js';

interface Seen {
  method: string;
  uri: string;
  authorization: string | undefined;
  status: number;
  stale: boolean;
}

const SDP =
  'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=auth\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\n' +
  'm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:trackID=0\r\n';

class Responder {
  readonly seen: Seen[] = [];
  readonly clock = new ManualClock();
  /** Move the clock past the nonce lifetime once this method has been allowed. */
  expireAfter: string | undefined;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  readonly auth: Authorizer;

  constructor() {
    this.auth = new Authorizer(
      {
        realm: 'rtspkit',
        basic: true,
        users: [{ name: 'alice', password: 'plain:s3cret', permissions: [{ action: 'read' }] }],
      },
      { clock: this.clock },
    );
    this.server = createServer((sock) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
      sock.on('error', () => undefined);
      let buf = '';
      sock.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          void this.answer(sock, head);
        }
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  private async answer(sock: Socket, head: string): Promise<void> {
    const [line = '', ...rest] = head.split('\r\n');
    const [method = '', uri = ''] = line.split(' ');
    const headers = new Map<string, string>();
    for (const l of rest) {
      const i = l.indexOf(':');
      if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
    }
    const cseq = headers.get('cseq') ?? '0';
    const denial = await this.auth.check(
      { method, uri, headers: { get: (n) => headers.get(n.toLowerCase()) } },
      { ip: '127.0.0.1', action: 'read', path: 'x', query: '' },
    );
    this.seen.push({
      method,
      uri,
      authorization: headers.get('authorization'),
      status: denial?.statusCode ?? 200,
      stale: denial?.headers.some(([, v]) => v.includes('stale=true')) ?? false,
    });
    if (denial === undefined && method === this.expireAfter) this.clock.advance(11 * 60_000);
    let reply: string;
    if (denial !== undefined) {
      const hs = denial.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('');
      reply = `RTSP/1.0 ${denial.statusCode} Unauthorized\r\nCSeq: ${cseq}\r\n${hs}Content-Length: 0\r\n\r\n`;
    } else if (method === 'OPTIONS') {
      reply = `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n\r\n`;
    } else if (method === 'DESCRIBE') {
      reply =
        `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Base: ${uri}/\r\nContent-Type: application/sdp\r\n` +
        `Content-Length: ${SDP.length}\r\n\r\n${SDP}`;
    } else if (method === 'SETUP') {
      reply = `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nSession: 12345678;timeout=60\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`;
    } else {
      reply = `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nSession: 12345678\r\n\r\n`;
    }
    if (!sock.destroyed) sock.write(reply);
  }
}

const CLIENTS = {
  ffprobe: (url: string) => ({ cmd: 'ffprobe', args: ['-v', 'error', '-rtsp_transport', 'tcp', url] }),
  'gst-launch-1.0': (url: string) => ({
    cmd: 'gst-launch-1.0',
    args: ['rtspsrc', `location=${url}`, 'protocols=tcp', '!', 'fakesink'],
  }),
} as const;

for (const [tool, client] of Object.entries(CLIENTS)) {
  describe(`${tool} authenticates with Digest`, { skip: skipUnless(tool) }, () => {
    let responder: Responder;
    let port: number;
    before(async () => {
      responder = new Responder();
      port = await responder.listen();
    });
    after(() => responder.close());

    async function play(password: string, until: (s: Seen[]) => boolean): Promise<void> {
      responder.seen.length = 0;
      const { cmd, args } = client(`rtsp://alice:${password}@127.0.0.1:${port}/x`);
      const proc = run(cmd, args, { timeoutMs: 15_000 });
      let exited = false;
      void proc.done.then(() => (exited = true));
      try {
        await waitFor(() => exited || until(responder.seen), 15_000, `${tool} requests`);
      } finally {
        proc.kill('SIGKILL');
        await proc.done;
      }
    }
    const allowed = (s: Seen[], method: string) => s.some((x) => x.method === method && x.status === 200);

    test('the right password gets through OPTIONS, DESCRIBE, SETUP (track URL) and PLAY', async () => {
      await play('s3cret', (s) => allowed(s, 'PLAY'));
      const s = responder.seen;
      assert.equal(s[0]?.status, 401, 'asked for credentials first');
      assert.ok(
        allowed(s, 'DESCRIBE') && allowed(s, 'SETUP') && allowed(s, 'PLAY'),
        JSON.stringify(s, null, 1),
      );
      assert.ok(s.filter((x) => x.status === 200).every((x) => x.authorization?.startsWith('Digest ')));
    });

    test('a wrong password never gets a 200', async () => {
      // ffprobe gives up after its second 401; rtspsrc keeps asking: stop after a few.
      await play('wrong', (s) => s.filter((x) => x.status === 401).length >= 4);
      assert.ok(responder.seen.length >= 2);
      assert.ok(
        responder.seen.every((x) => x.status === 401),
        JSON.stringify(responder.seen, null, 1),
      );
    });

    test('an expired nonce gets 401 stale=true and the client retries with the new one', async () => {
      responder.expireAfter = 'DESCRIBE';
      try {
        await play('s3cret', (s) => allowed(s, 'PLAY'));
      } finally {
        responder.expireAfter = undefined;
      }
      const setups = responder.seen.filter((x) => x.method === 'SETUP');
      assert.deepEqual(
        setups.map((x) => [x.status, x.stale]),
        [
          [401, true],
          [200, false],
        ],
      );
    });
  });
}
