// RTSP over HTTP tunnelling on the RTSP port: raw protocol checks, then ffprobe and GStreamer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RtspResponse } from '../src/rtsp/message.js';
import { FakePublisher } from './support/fake-publisher.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { gstRead, skipUnlessGstReader } from './support/gst.js';
import { parseProbe, run, waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import { openTunnelGet, openTunnelPost } from './support/tunnel-client.js';
import { ServerConnection } from '../src/server/connection.js';
import { RtspClient } from '../src/client/index.js';
import type { RtspServer } from '../src/server/server.js';

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

describe('RTSP over HTTP', () => {
  let server: RtspServer;
  let url: (p: string) => string;
  let dir: string;
  before(async () => {
    ({ server, url } = await startTestServer());
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-http-'));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('requests in base64 split anywhere on the POST are answered on the GET side', async () => {
    const pub = await FakePublisher.start(server.port, 'tun');
    pub.sendFrame(true);
    const get = await openTunnelGet(server.port, 'c00kie1', { path: '/tun' });
    const { responses } = get;
    assert.match(get.head(), /^HTTP\/1\.0 200 OK\r\n/);
    assert.match(get.head(), /Content-Type: application\/x-rtsp-tunnelled/);

    const post = await openTunnelPost(server.port, 'c00kie1', { path: '/tun' });
    const send = async (text: string): Promise<RtspResponse> => {
      const before = responses.length;
      const b64 = Buffer.from(text).toString('base64');
      // Split inside 4-character groups, with pauses so the pieces arrive apart.
      for (let i = 0; i < b64.length; i += 7) {
        post.write(b64.slice(i, i + 7));
        await new Promise((r) => setTimeout(r, 2));
      }
      await waitFor(() => responses.length > before, 3000, 'a response');
      return responses[before]!;
    };
    const o = await send('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n');
    assert.equal(o.statusCode, 200);
    assert.equal(o.headers.get('CSeq'), '1');
    const udp = await send(
      `SETUP ${url('tun')}/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n`,
    );
    assert.equal(udp.statusCode, 461, 'inside a tunnel media must go interleaved');
    const s = await send(
      `SETUP ${url('tun')}/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`,
    );
    assert.equal(s.statusCode, 200);
    const id = s.headers.get('Session')!.split(';')[0]!;
    const p = await send(`PLAY ${url('tun')} RTSP/1.0\r\nCSeq: 4\r\nSession: ${id}\r\n\r\n`);
    assert.equal(p.statusCode, 200);
    await waitFor(() => get.frames() >= 3, 3000, 'media on the GET side');
    // The POST side may close and reopen (QuickTime does); the GET side lives on.
    post.destroy();
    pub.sendFrame(false);
    await waitFor(() => get.frames() >= 4, 3000, `media after the POST closed (frames ${get.frames()})`);
    get.socket.destroy();
    await waitFor(() => !server.sessions.has(id), 3000, 'the session ends with the GET side');
    pub.client.close();
  });

  test('a POST with an unknown cookie is refused', async () => {
    const post = await connect(server.port);
    let answer = '';
    post.on('data', (d: Buffer) => (answer += d.toString()));
    post.write('POST /x HTTP/1.0\r\nx-sessioncookie: nobody\r\nContent-Length: 32767\r\n\r\n');
    await waitFor(() => answer.length > 0, 3000, 'an answer');
    assert.match(answer, /^HTTP\/1\.0 404/);
  });

  const skip =
    skipUnless('ffmpeg', 'ffprobe', 'gst-launch-1.0') ||
    skipUnlessGstReader() ||
    skipUnlessMedia('h264_base_aac.mp4');
  test(
    'ffprobe (-rtsp_transport http) and GStreamer (rtsph://, protocols=tcp+http) read through the tunnel',
    { skip },
    async () => {
      const path = 'tunnelled';
      const pub = run(
        'ffmpeg',
        ['-hide_banner', '-loglevel', 'error', '-re', '-i', mediaPath('h264_base_aac.mp4'), '-t', '4'].concat(
          ['-map', '0', '-c', 'copy', '-f', 'rtsp', '-rtsp_transport', 'tcp', url(path)],
        ),
        { timeoutMs: 30_000 },
      );
      await waitFor(() => server.paths.get(path)?.stream !== undefined, 10_000, 'the publish');
      const probe = run(
        'ffprobe',
        ['-v', 'error', '-rtsp_transport', 'http', '-count_frames', '-of', 'json'].concat([
          '-show_entries',
          'stream=codec_name,width,height,nb_read_frames',
          url(path),
        ]),
        { timeoutMs: 30_000 },
      );
      const out = join(dir, 'gst.h264');
      // GStreamer 1.22 tunnels only for rtsph:// URLs; `protocols=http` alone leaves it "no protocols
      // left" (http is a flag on top of tcp), so both are given.
      const gst = gstRead(url(path).replace(/^rtsp:/, 'rtsph:'), {
        protocols: 'tcp+http',
        videoOut: out,
        timeoutMs: 30_000,
      });
      // Both readers' sessions run over a tunnel (their media goes out on the GET side).
      const tunnelled = new Set<string>();
      const watch = setInterval(() => {
        for (const s of server.sessions.values())
          if (s.mode === 'play' && s.sink instanceof ServerConnection && s.sink.carriesTunnel)
            tunnelled.add(s.id);
      }, 20);
      assert.equal((await pub.done).code, 0);
      const r = await probe.done;
      assert.equal(r.code, 0, r.stderr);
      const [video, audio] = parseProbe(r.stdout);
      assert.equal(video?.codec_name, 'h264');
      assert.equal(video.width, 640);
      assert.equal(audio?.codec_name, 'aac');
      assert.ok(Number(video.nb_read_frames) >= 50, `ffprobe decoded ${video.nb_read_frames} frames`);
      await gst.done;
      clearInterval(watch);
      assert.equal(tunnelled.size, 2, 'ffprobe and GStreamer sessions went through the tunnel');
      const g = await run(
        'ffprobe',
        [
          '-v',
          'error',
          '-count_frames',
          '-of',
          'json',
          '-show_entries',
          'stream=codec_name,nb_read_frames',
          out,
        ],
        {
          timeoutMs: 20_000,
        },
      ).done;
      const [gv] = parseProbe(g.stdout);
      assert.equal(gv?.codec_name, 'h264');
      assert.ok(Number(gv.nb_read_frames) >= 50, `GStreamer wrote ${gv.nb_read_frames} frames`);
    },
  );
});

describe('RTSP over HTTP outlives the request timeout', () => {
  test('GET and POST stay open past requestTimeoutMs (only an incomplete RTSP message is timed)', async () => {
    const { server } = await startTestServer({ requestTimeoutMs: 300 });
    try {
      const get = await connect(server.port);
      let text = '';
      const closed = { get: false, post: false };
      get.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      get.on('close', () => (closed.get = true));
      get.write(
        'GET /t HTTP/1.0\r\nx-sessioncookie: longlived\r\nAccept: application/x-rtsp-tunnelled\r\n\r\n',
      );
      await waitFor(() => text.includes('\r\n\r\n'), 3000, 'the GET answer');
      const post = await connect(server.port);
      post.on('close', () => (closed.post = true));
      post.write(
        'POST /t HTTP/1.0\r\nx-sessioncookie: longlived\r\nContent-Type: application/x-rtsp-tunnelled\r\nContent-Length: 32767\r\n\r\n',
      );
      const options = async (cseq: number): Promise<void> => {
        post.write(Buffer.from(`OPTIONS * RTSP/1.0\r\nCSeq: ${cseq}\r\n\r\n`).toString('base64'));
        await waitFor(() => text.includes(`CSeq: ${cseq}\r\n`), 3000, `the answer to CSeq ${cseq}`);
      };
      await options(1);
      // The sweep runs once a second: give it two chances to (wrongly) close the tunnel.
      await new Promise((r) => setTimeout(r, 2500));
      assert.deepEqual(closed, { get: false, post: false }, 'the tunnel is still open');
      await options(2);
      get.destroy();
      post.destroy();
    } finally {
      await server.close();
    }
  });
});

describe('RTSP over HTTP on an extra port', () => {
  test('a client tunnels to httpTunnelPort and plays what is published on the RTSP port', async () => {
    const { server } = await startTestServer({ httpTunnelPort: 0 });
    try {
      const tunnelPort = server.httpTunnelPort;
      assert.ok(tunnelPort !== undefined && tunnelPort !== server.port, `tunnel port ${tunnelPort}`);
      const pub = await FakePublisher.start(server.port, 'extra');
      pub.sendFrame(true);
      const client = new RtspClient(`rtsph://127.0.0.1:${tunnelPort}/extra`);
      client.on('error', () => undefined);
      let units = 0;
      client.on('accessUnit', (track) => {
        if (track.type === 'video') units++;
      });
      await client.describe();
      await client.setup({});
      await client.play();
      const session = server.sessions.get(client.sessionId!);
      assert.ok(session?.sink instanceof ServerConnection && session.sink.carriesTunnel, 'tunnelled');
      for (let i = 0; i < 10; i++) pub.sendFrame(i % 5 === 0);
      await waitFor(() => units >= 10, 5000, 'the frames through the tunnel');
      await client.teardown();
      client.close();
      pub.client.close();
    } finally {
      await server.close();
    }
  });
});
