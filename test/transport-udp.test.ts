// UDP unicast (RFC 2326 §12.39): server ports from a configured range, one pair per track of each
// session; datagrams from any source but the one a session announced are dropped (§16).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { serializeRtpPacket } from '../src/rtp/packet.js';
import { parseTransport } from '../src/rtsp/transport.js';
import { RawClient, sessionId } from './support/raw-client.js';
import { TEST_SDP } from './support/fake-publisher.js';
import { parseProbe, probeFrames, publishFile, waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';

/** A range of `pairs` even/odd pairs somewhere high, different in each run. */
function someRange(pairs: number): { first: number; last: number } {
  const first = 40_000 + 2 * Math.floor(Math.random() * 5000);
  return { first, last: first + 2 * pairs - 1 };
}

function bindUdp(): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

function serverPorts(transportHeader: string | undefined): { rtp: number; rtcp: number } {
  const spec = parseTransport(transportHeader ?? '')[0];
  const rtp = spec?.serverPort?.rtp;
  const rtcp = spec?.serverPort?.rtcp;
  assert.ok(rtp !== undefined && rtcp !== undefined, `server_port pair in ${transportHeader}`);
  return { rtp, rtcp };
}

test('server ports come from the range, a pair per track; a full range answers 453; ends free them', async () => {
  const range = someRange(3);
  const { server, url } = await startTestServer({ udpPortRange: range });
  const sockets: dgram.Socket[] = [];
  try {
    const c = await RawClient.connect(server.port);
    const a = await c.request('ANNOUNCE', url('r'), { 'Content-Type': 'application/sdp' }, TEST_SDP);
    assert.equal(a.statusCode, 200);
    const seen = new Set<number>();
    let session: string | undefined;
    for (const track of [0, 1]) {
      const local = await bindUdp();
      sockets.push(local);
      const p = local.address().port;
      const r = await c.request('SETUP', `${url('r')}/streamid=${track}`, {
        Transport: `RTP/AVP;unicast;client_port=${p}-${p + 1};mode=record`,
        ...(session !== undefined ? { Session: session } : {}),
      });
      assert.equal(r.statusCode, 200);
      session = sessionId(r);
      const ports = serverPorts(r.headers.get('Transport'));
      assert.ok(ports.rtp >= range.first && ports.rtcp <= range.last, `${ports.rtp} in the range`);
      assert.equal(ports.rtp % 2, 0);
      assert.equal(ports.rtcp, ports.rtp + 1);
      assert.ok(!seen.has(ports.rtp), 'each track has its own pair');
      seen.add(ports.rtp);
    }
    assert.equal((await c.request('RECORD', url('r'), { Session: session! })).statusCode, 200);
    // One pair left: a reader's first track gets it, its second finds the range full.
    const reader = await RawClient.connect(server.port);
    const s1 = await reader.request('SETUP', `${url('r')}/trackID=0`, {
      Transport: 'RTP/AVP;unicast;client_port=5000-5001',
    });
    assert.equal(s1.statusCode, 200);
    const s2 = await reader.request('SETUP', `${url('r')}/trackID=1`, {
      Transport: 'RTP/AVP;unicast;client_port=5002-5003',
      Session: sessionId(s1),
    });
    assert.equal(s2.statusCode, 453);
    // TEARDOWN frees the reader's pair: a new session gets one again.
    assert.equal((await reader.request('TEARDOWN', url('r'), { Session: sessionId(s1) })).statusCode, 200);
    const s3 = await reader.request('SETUP', `${url('r')}/trackID=0`, {
      Transport: 'RTP/AVP;unicast;client_port=5004-5005',
    });
    assert.equal(s3.statusCode, 200);
    reader.close();
    c.close();
  } finally {
    for (const s of sockets) s.close();
    await server.close();
  }
});

for (const ports of ['the shared pair', 'a port range'] as const)
  test(`RTP from a source other than the announced client_port is dropped (${ports})`, async () => {
    const { server, url } = await startTestServer(
      ports === 'a port range' ? { udpPortRange: someRange(4) } : {},
    );
    const sockets: dgram.Socket[] = [];
    try {
      const c = await RawClient.connect(server.port);
      const a = await c.request('ANNOUNCE', url('src'), { 'Content-Type': 'application/sdp' }, TEST_SDP);
      assert.equal(a.statusCode, 200);
      const good = await bindUdp();
      const intruder = await bindUdp();
      sockets.push(good, intruder);
      const gp = good.address().port;
      const r = await c.request('SETUP', `${url('src')}/streamid=0`, {
        Transport: `RTP/AVP;unicast;client_port=${gp}-${gp + 1};mode=record`,
      });
      assert.equal(r.statusCode, 200);
      const id = sessionId(r);
      const ports = serverPorts(r.headers.get('Transport'));
      assert.equal((await c.request('RECORD', url('src'), { Session: id })).statusCode, 200);
      const stream = server.paths.get('src')?.stream;
      assert.ok(stream);
      let seq = 0;
      const packet = (): Buffer =>
        serializeRtpPacket({
          marker: true,
          payloadType: 96,
          sequenceNumber: seq++,
          timestamp: seq * 3600,
          ssrc: 0x1234,
          csrcs: [],
          payload: Buffer.from([0x65, 1, 2, 3]),
        });
      for (let i = 0; i < 10; i++) intruder.send(packet(), ports.rtp, '127.0.0.1');
      for (let i = 0; i < 3; i++) good.send(packet(), ports.rtp, '127.0.0.1');
      await waitFor(() => stream.counters[0]!.packetsIn === 3, 3000, 'the good packets');
      // The intruder's went first; give any late one a moment to (wrongly) arrive.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(stream.counters[0]!.packetsIn, 3, 'only the announced source is read');
      c.close();
    } finally {
      for (const s of sockets) s.close();
      await server.close();
    }
  });

const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(CLIP);

test('ffmpeg publishes and ffprobe reads over UDP with ports from the range', { skip }, async () => {
  const range = someRange(8);
  const { server, url } = await startTestServer({ udpPortRange: range });
  try {
    const pub = publishFile(mediaPath(CLIP), url('ff'), 'udp');
    await waitFor(() => server.paths.get('ff')?.stream !== undefined, 15_000, 'the publish');
    const portsSeen = new Set<number>();
    const watch = setInterval(() => {
      for (const s of server.sessions.values())
        for (const t of s.setups) if (t?.kind === 'udp' && t.ownsPair) portsSeen.add(t.pair.rtpPort);
    }, 20);
    const probe = await probeFrames(url('ff'), ['-rtsp_transport', 'udp']).done;
    const published = await pub.done;
    clearInterval(watch);
    assert.equal(published.code, 0, published.stderr);
    // Two tracks published, two read: four pairs, all in the range.
    assert.equal(portsSeen.size, 4, `server RTP ports used: ${[...portsSeen].join(', ')}`);
    for (const p of portsSeen) assert.ok(p >= range.first && p < range.last, `${p} in the range`);
    assert.equal(probe.code, 0, probe.stderr);
    const [video, audio] = parseProbe(probe.stdout);
    assert.equal(video?.codec_name, 'h264');
    assert.equal(audio?.codec_name, 'aac');
    assert.ok(Number(video.nb_read_frames) >= 200, `ffprobe read ${video.nb_read_frames} of 250 frames`);
  } finally {
    await server.close();
  }
});
