// RTSPS: RTSP over TLS with a self-signed certificate; media interleaved inside the TLS stream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtspFramer } from '../src/rtsp/framer.js';
import type { RtspResponse } from '../src/rtsp/message.js';
import { selfSignedCertificate } from '../src/config/tls.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { gstRead, skipUnlessGstReader } from './support/gst.js';
import { parseProbe, run, waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import type { RtspServer } from '../src/server/server.js';

// The certificate is made in-process (config/self-signed.ts): no openssl needed.
describe('RTSPS', () => {
  let server: RtspServer;
  let tlsUrl: (p: string) => string;
  let dir: string;
  before(async () => {
    const material = selfSignedCertificate();
    ({ server } = await startTestServer({ tls: { ...material, port: 0 } }));
    tlsUrl = (p) => `rtsps://127.0.0.1:${server.rtspsPort!}/${p}`;
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-tls-'));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('RTSP requests over TLS; UDP transport refused inside TLS', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: server.rtspsPort!, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const framer = new RtspFramer();
    const responses: RtspResponse[] = [];
    socket.on('data', (d: Buffer) => {
      for (const m of framer.push(d)) if (m.kind === 'response') responses.push(m);
    });
    socket.write('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n');
    await waitFor(() => responses.length === 1, 3000, 'OPTIONS answer');
    assert.equal(responses[0]!.statusCode, 200);
    socket.write(
      `ANNOUNCE ${tlsUrl('x')} RTSP/1.0\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 49\r\n\r\nv=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n`,
    );
    await waitFor(() => responses.length === 2, 3000, 'ANNOUNCE answer');
    assert.equal(responses[1]!.statusCode, 200);
    const session = responses[1]!.headers.get('Session')!.split(';')[0]!;
    socket.write(
      `SETUP ${tlsUrl('x')}/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nSession: ${session}\r\nTransport: RTP/AVP;unicast;client_port=5000-5001;mode=record\r\n\r\n`,
    );
    await waitFor(() => responses.length === 3, 3000, 'SETUP answer');
    assert.equal(responses[2]!.statusCode, 461);
    socket.destroy();
  });

  const skip =
    skipUnless('ffmpeg', 'ffprobe', 'gst-launch-1.0') ||
    skipUnlessGstReader() ||
    skipUnlessMedia('h264_base_aac.mp4');
  test('ffmpeg publishes to rtsps://, ffprobe and GStreamer read it', { skip }, async () => {
    const path = 'secure';
    const pub = run(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-re', '-i', mediaPath('h264_base_aac.mp4'), '-t', '4'].concat([
        '-map',
        '0',
        '-c',
        'copy',
        '-f',
        'rtsp',
        '-tls_verify',
        '0',
        tlsUrl(path),
      ]),
      { timeoutMs: 30_000 },
    );
    await waitFor(() => server.paths.get(path)?.stream !== undefined, 10_000, 'the publish');
    const probe = run(
      'ffprobe',
      ['-v', 'error', '-tls_verify', '0', '-count_frames', '-of', 'json'].concat([
        '-show_entries',
        'stream=codec_name,width,height,nb_read_frames',
        tlsUrl(path),
      ]),
      { timeoutMs: 30_000 },
    );
    const out = join(dir, 'gst.h264');
    const gst = gstRead(tlsUrl(path), {
      videoOut: out,
      props: ['tls-validation-flags=0'],
      timeoutMs: 30_000,
    });
    const published = await pub.done;
    assert.equal(published.code, 0, published.stderr);
    const r = await probe.done;
    assert.equal(r.code, 0, r.stderr);
    const [video, audio] = parseProbe(r.stdout);
    assert.equal(video?.codec_name, 'h264');
    assert.equal(video.height, 360);
    assert.equal(audio?.codec_name, 'aac');
    assert.ok(Number(video.nb_read_frames) >= 50, `ffprobe decoded ${video.nb_read_frames} frames`);
    await gst.done;
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
  });
});
