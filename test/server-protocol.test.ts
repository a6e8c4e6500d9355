// RFC 2326 behaviour of the server, driven by a plain client over real sockets on 127.0.0.1.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Writable } from 'node:stream';
import { RawClient, sessionId } from './support/raw-client.js';
import { FakePublisher, isContiguous, sequences } from './support/fake-publisher.js';
import { startTestServer } from './support/server.js';
import type { RtspServer } from '../src/server/server.js';
import { waitFor } from './support/process.js';
import { serializeRtcpCompound } from '../src/rtp/rtcp.js';
import { createLogger } from '../src/log/logger.js';

const PUBLIC =
  'OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, PAUSE, RECORD, TEARDOWN, GET_PARAMETER, SET_PARAMETER';

describe('rtsp server protocol', () => {
  let server: RtspServer;
  let url: (p: string) => string;
  const clients: RawClient[] = [];
  const connect = async (): Promise<RawClient> => {
    const c = await RawClient.connect(server.port);
    clients.push(c);
    return c;
  };

  before(async () => {
    ({ server, url } = await startTestServer({
      maxReaderBacklogBytes: 64 * 1024,
      senderReportIntervalMs: 200,
      endedReaderGraceMs: 1000,
    }));
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  test('OPTIONS lists exactly the supported methods and echoes CSeq (any casing)', async () => {
    const c = await connect();
    const r = await c.raw(`OPTIONS ${url('x')} RTSP/1.0\r\nCseq: 7\r\nUser-Agent: t\r\n\r\n`);
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers.get('CSeq'), '7');
    assert.equal(r.headers.get('Public'), PUBLIC);
  });

  test('errors use the RFC 2326 status codes', async () => {
    const c = await connect();
    assert.equal((await c.request('DESCRIBE', url('nothing-here'))).statusCode, 404);
    assert.equal((await c.request('FOO', url('x'))).statusCode, 501);
    assert.equal((await c.request('REDIRECT', url('x'))).statusCode, 405);
    const req = await c.request('OPTIONS', url('x'), { Require: 'funky-feature' });
    assert.equal(req.statusCode, 551);
    assert.equal(req.headers.get('Unsupported'), 'funky-feature');
    for (const m of ['PLAY', 'PAUSE', 'RECORD', 'TEARDOWN', 'GET_PARAMETER']) {
      assert.equal((await c.request(m, url('x'), { Session: 'DEADBEEF00000000' })).statusCode, 454, m);
    }
    assert.equal((await c.raw(`OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n`)).statusCode, 505);
    assert.equal((await c.raw(`OPTIONS * RTSP/1.0\r\nUser-Agent: no-cseq\r\n\r\n`)).statusCode, 400);
  });

  test('malformed input gets 400 and a closed connection; other sessions are unaffected', async () => {
    const bad = await connect();
    const r = await bad.raw('THIS IS NOT RTSP\r\n\r\n');
    assert.equal(r.statusCode, 400);
    await bad.until(() => bad.closed, 2000, 'close');
    const huge = await connect();
    const r2 = await huge.raw(`OPTIONS ${'rtsp://x/' + 'a'.repeat(20_000)} RTSP/1.0\r\nCSeq: 1\r\n\r\n`);
    assert.ok(r2.statusCode === 414 || r2.statusCode === 400, String(r2.statusCode));
    const ok = await connect();
    assert.equal((await ok.request('OPTIONS', '*')).statusCode, 200);
  });

  test('publish, DESCRIBE, instant start from the GOP cache, RTP-Info of the first packet', async () => {
    const pub = await FakePublisher.start(server.port, 'cam1');
    pub.sendFrame(true);
    pub.sendFrame(false);
    pub.sendFrame(false);
    await waitFor(() => (server.paths.get('cam1')?.stream?.accessUnitsIn ?? 0) >= 3, 2000, 'frames');

    const c = await connect();
    const d = await c.request('DESCRIBE', url('cam1'), { Accept: 'application/sdp' });
    assert.equal(d.statusCode, 200);
    assert.equal(d.headers.get('Content-Base'), `${url('cam1')}/`);
    assert.equal(d.headers.get('Content-Type'), 'application/sdp');
    const sdp = d.body.toString();
    assert.match(sdp, /^c=IN IP4 0\.0\.0\.0\r$/m);
    assert.match(sdp, /^a=control:trackID=0\r$/m);
    assert.match(sdp, /^a=control:trackID=1\r$/m);
    assert.match(sdp, /profile-level-id=42C01E/);
    assert.doesNotMatch(sdp, /streamid/);

    const s1 = await c.request('SETUP', `${url('cam1')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(s1.statusCode, 200);
    const session = s1.headers.get('Session')!;
    assert.match(session, /^[0-9A-F]{16};timeout=60$/);
    assert.match(s1.headers.get('Transport')!, /^RTP\/AVP\/TCP;unicast;interleaved=0-1;ssrc=[0-9A-F]{8}$/);
    const id = sessionId(s1);
    const s2 = await c.request('SETUP', `${url('cam1')}/trackID=1`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=2-3',
      Session: id,
    });
    assert.equal(s2.statusCode, 200);
    const p = await c.request('PLAY', `${url('cam1')}/`, { Session: id, Range: 'npt=0.000-' });
    assert.equal(p.statusCode, 200);
    assert.equal(c.framesBeforeResponse.at(-1), 0, 'the PLAY reply precedes the GOP burst');
    const info = p.headers.get('RTP-Info')!;
    const m =
      /url=([^;]+)\/trackID=0;seq=(\d+);rtptime=(\d+),url=[^;]+\/trackID=1;seq=(\d+);rtptime=(\d+)/.exec(
        info,
      );
    assert.ok(m, info);
    assert.equal(m[1], url('cam1'));
    // Without a new keyframe from the publisher, the reader already has the cached one.
    await c
      .until(() => sequences(c.frames, 0).length >= 5 && sequences(c.frames, 2).length >= 3, 2000, 'gop')
      .catch((e: unknown) => {
        throw new Error(
          `${String(e)}: video ${sequences(c.frames, 0).join(',')} audio ${sequences(c.frames, 2).join(',')}`,
        );
      });
    const firstVideo = c.frames.find((f) => f.channel === 0)!.payload;
    assert.equal(firstVideo.readUInt16BE(2), Number(m[2]));
    assert.equal(firstVideo.readUInt32BE(4), Number(m[3]));
    assert.equal(firstVideo[12]! & 0x1f, 7, 'starts with the SPS of the keyframe');
    const firstAudio = c.frames.find((f) => f.channel === 2)!.payload;
    assert.equal(firstAudio.readUInt16BE(2), Number(m[4]));
    // §12.33: the audio rtptime is the keyframe's instant in audio RTP time (through the timing the
    // sender reports use), not the first audio packet's timestamp.
    assertSameInstant(server, 'cam1', Number(m[3]), Number(m[5]));
    assert.equal(sequences(c.frames, 0).length, 5, 'SPS, PPS, IDR and two P frames');
    assert.ok(isContiguous(sequences(c.frames, 0)));

    // Live packets follow the cached ones.
    pub.sendFrame(false);
    await c.until(() => sequences(c.frames, 0).length === 6, 2000, 'live packet');
    assert.ok(isContiguous(sequences(c.frames, 0)));

    // Method/state errors on these sessions.
    assert.equal((await c.request('RECORD', url('cam1'), { Session: id })).statusCode, 455);
    assert.equal(
      (await pub.client.request('PLAY', url('cam1'), { Session: pub.session })).statusCode,
      455,
      'PLAY on a record session',
    );
    const setupAgain = await c.request('SETUP', `${url('cam1')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=4-5',
      Session: id,
    });
    assert.equal(setupAgain.statusCode, 455);

    // A second publisher is refused while the path is busy.
    const other = await connect();
    const busy = await other.request(
      'ANNOUNCE',
      url('cam1'),
      { 'Content-Type': 'application/sdp' },
      'v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n',
    );
    assert.equal(busy.statusCode, 403);

    // GET_PARAMETER: keepalive, statistics, unknown names.
    assert.equal((await c.request('GET_PARAMETER', url('cam1'), { Session: id })).statusCode, 200);
    const stats = await pub.client.request(
      'GET_PARAMETER',
      url('cam1'),
      { Session: pub.session, 'Content-Type': 'text/parameters' },
      'packets_received\r\npackets_lost\r\njitter\r\nbytes\r\n',
    );
    assert.equal(stats.statusCode, 200);
    const sent = pub.packetsSent[0]! + pub.packetsSent[1]!;
    const values = Object.fromEntries(
      stats.body
        .toString()
        .trim()
        .split('\r\n')
        .map((l) => l.split(': ')),
    ) as Record<string, string>;
    assert.deepEqual(Object.keys(values), ['packets_received', 'packets_lost', 'jitter', 'bytes']);
    assert.equal(Number(values.packets_received), sent);
    assert.equal(Number(values.packets_lost), 0);
    assert.ok(Number(values.bytes) > sent * 12);
    const unknown = await c.request(
      'GET_PARAMETER',
      url('cam1'),
      { Session: id, 'Content-Type': 'text/parameters' },
      'frobnication\r\n',
    );
    assert.equal(unknown.statusCode, 451);
    const set1 = await c.request(
      'SET_PARAMETER',
      url('cam1'),
      { Session: id, 'Content-Type': 'text/parameters' },
      'jitter: 5\r\n',
    );
    assert.equal(set1.statusCode, 458);
    const set2 = await c.request(
      'SET_PARAMETER',
      url('cam1'),
      { Session: id, 'Content-Type': 'text/parameters' },
      'volume: 5\r\n',
    );
    assert.equal(set2.statusCode, 451);

    // PAUSE stops delivery; PLAY resumes from the GOP cache.
    assert.equal((await c.request('PAUSE', url('cam1'), { Session: id })).statusCode, 200);
    assert.equal(
      (await c.request('PAUSE', url('cam1'), { Session: id })).statusCode,
      455,
      'PAUSE when Ready',
    );
    const before = c.frames.length;
    pub.sendFrame(false);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(c.frames.length, before, 'nothing while paused');

    // The publisher leaves: the reader gets RTCP BYE and its connection ends; the path is free again.
    assert.equal(
      (await pub.client.request('TEARDOWN', url('cam1'), { Session: pub.session })).statusCode,
      200,
    );
    const reader2 = await connect();
    const d2 = await reader2.request('DESCRIBE', url('cam1'));
    assert.equal(d2.statusCode, 404);
    const again = await FakePublisher.start(server.port, 'cam1');
    again.client.close();
  });

  test('publisher leaving ends readers with RTCP BYE', async () => {
    const pub = await FakePublisher.start(server.port, 'byetest');
    pub.sendFrame(true);
    const c = await connect();
    const s1 = await c.request('SETUP', `${url('byetest')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    const id = sessionId(s1);
    assert.equal((await c.request('PLAY', url('byetest'), { Session: id })).statusCode, 200);
    pub.client.close();
    const isBye = (f: { channel: number; payload: Buffer }): boolean =>
      f.channel === 1 && f.payload.includes(Buffer.from([0xcb]), 1);
    await c.until(() => c.frames.some(isBye), 3000, 'an RTCP BYE (PT 203)');
    // The session waits for the client's TEARDOWN (rtspsrc sends PAUSE first).
    assert.equal((await c.request('PAUSE', url('byetest'), { Session: id })).statusCode, 200);
    assert.equal((await c.request('TEARDOWN', url('byetest'), { Session: id })).statusCode, 200);
    assert.equal(server.sessions.has(id), false);

    // A client that ignores BYE loses its session and its connection after the grace period.
    const pub2 = await FakePublisher.start(server.port, 'byetest');
    pub2.sendFrame(true);
    const d = await connect();
    const s2 = await d.request('SETUP', `${url('byetest')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal((await d.request('PLAY', url('byetest'), { Session: sessionId(s2) })).statusCode, 200);
    pub2.client.close();
    await d.until(() => d.frames.some(isBye), 3000, 'an RTCP BYE');
    assert.equal(d.closed, false);
    await d.until(() => d.closed, 3000, 'the connection closed after the grace period');
    assert.equal(server.sessions.has(sessionId(s2)), false);
  });

  test('a UDP reader whose publisher left gets BYE and keeps its session until TEARDOWN', async () => {
    const rtp = createSocket('udp4');
    const rtcp = createSocket('udp4');
    await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => rtcp.bind(0, '127.0.0.1', r));
    let bye = false;
    rtcp.on('message', (m) => {
      if (m.includes(Buffer.from([0xcb]), 1)) bye = true;
    });
    try {
      const pub = await FakePublisher.start(server.port, 'udpbye');
      pub.sendFrame(true);
      const c = await connect();
      const s1 = await c.request('SETUP', `${url('udpbye')}/trackID=0`, {
        Transport: `RTP/AVP;unicast;client_port=${rtp.address().port}-${rtcp.address().port}`,
      });
      const id = sessionId(s1);
      assert.equal((await c.request('PLAY', url('udpbye'), { Session: id })).statusCode, 200);
      pub.client.close();
      await waitFor(() => bye, 3000, 'RTCP BYE');
      // What rtspsrc does on BYE: PAUSE, then TEARDOWN. PLAY cannot resume a stream that is gone.
      assert.equal((await c.request('GET_PARAMETER', url('udpbye'), { Session: id })).statusCode, 200);
      assert.equal((await c.request('PAUSE', url('udpbye'), { Session: id })).statusCode, 200);
      const again = await FakePublisher.start(server.port, 'udpbye');
      assert.equal((await c.request('PLAY', url('udpbye'), { Session: id })).statusCode, 404);
      again.client.close();
      assert.equal((await c.request('TEARDOWN', url('udpbye'), { Session: id })).statusCode, 200);
      assert.equal(server.sessions.has(id), false);
      assert.equal((await c.request('GET_PARAMETER', url('udpbye'), { Session: id })).statusCode, 454);
      const other = await c.request('TEARDOWN', url('udpbye'), { Session: 'F00DF00DF00DF00D' });
      assert.equal(other.statusCode, 454);
    } finally {
      rtp.close();
      rtcp.close();
    }
  });

  test('a UDP reader: RTP-Info names the first datagram of each track, which starts the cached keyframe', async () => {
    const sockets = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const sock = createSocket('udp4');
        await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
        return sock;
      }),
    );
    const firsts: (Buffer | undefined)[] = [undefined, undefined];
    for (const track of [0, 1])
      sockets[2 * track]!.on('message', (m) => {
        firsts[track] ??= m;
      });
    try {
      const pub = await FakePublisher.start(server.port, 'udpinfo');
      pub.sendFrame(true);
      pub.sendFrame(false);
      await waitFor(() => (server.paths.get('udpinfo')?.stream?.accessUnitsIn ?? 0) >= 2, 2000, 'frames');
      const c = await connect();
      let id: string | undefined;
      for (const track of [0, 1]) {
        const ports = `${sockets[2 * track]!.address().port}-${sockets[2 * track + 1]!.address().port}`;
        const s = await c.request('SETUP', `${url('udpinfo')}/trackID=${track}`, {
          Transport: `RTP/AVP;unicast;client_port=${ports}`,
          ...(id !== undefined ? { Session: id } : {}),
        });
        assert.equal(s.statusCode, 200);
        id = sessionId(s);
      }
      const p = await c.request('PLAY', url('udpinfo'), { Session: id! });
      assert.equal(p.statusCode, 200);
      const infos = p.headers.get('RTP-Info')!.split(',');
      await waitFor(() => firsts.every((f) => f !== undefined), 2000, 'a datagram on each track');
      for (const track of [0, 1]) {
        const m = /trackID=(\d);seq=(\d+);rtptime=(\d+)$/.exec(infos[track]!);
        assert.ok(m, infos[track]);
        assert.equal(Number(m[1]), track);
        const first = firsts[track]!;
        assert.equal(first.readUInt16BE(2), Number(m[2]), `seq of track ${track}`);
        if (track === 0) assert.equal(first.readUInt32BE(4), Number(m[3]), `rtptime of track ${track}`);
      }
      const rtptimes = infos.map((i) => Number(/rtptime=(\d+)$/.exec(i)![1]));
      assertSameInstant(server, 'udpinfo', rtptimes[0]!, rtptimes[1]!);
      assert.equal(firsts[0]![12]! & 0x1f, 7, 'the video starts with the SPS of the cached keyframe');
      pub.client.close();
    } finally {
      for (const sock of sockets) sock.close();
    }
  });

  test('RTCP sender reports reach readers on each track with the SSRC announced in SETUP', async () => {
    const pub = await FakePublisher.start(server.port, 'sr');
    pub.sendFrame(true);
    const c = await connect();
    const ssrcs: number[] = [];
    let id: string | undefined;
    for (const track of [0, 1]) {
      const s = await c.request('SETUP', `${url('sr')}/trackID=${track}`, {
        Transport: `RTP/AVP/TCP;unicast;interleaved=${2 * track}-${2 * track + 1}`,
        ...(id !== undefined ? { Session: id } : {}),
      });
      id = sessionId(s);
      ssrcs.push(parseInt(/ssrc=([0-9A-F]{8})/.exec(s.headers.get('Transport')!)![1]!, 16));
    }
    assert.notEqual(ssrcs[0], ssrcs[1]);
    assert.equal((await c.request('PLAY', url('sr'), { Session: id! })).statusCode, 200);
    const srOn = (channel: number): Buffer | undefined =>
      c.frames.find((f) => f.channel === channel && f.payload[1] === 200)?.payload;
    const timer = setInterval(() => {
      pub.sendFrame(false);
    }, 40);
    try {
      await c.until(
        () =>
          srOn(3) !== undefined &&
          c.frames.filter((f) => f.channel === 1 && f.payload[1] === 200).length >= 4,
        4000,
        'a sender report per track, four on the video track',
      );
    } finally {
      clearInterval(timer);
    }
    for (const track of [0, 1]) {
      const sr = srOn(2 * track + 1)!;
      assert.equal(sr.readUInt32BE(4), ssrcs[track], `SR SSRC of track ${track}`);
      const ntpSeconds = sr.readUInt32BE(8) - 2_208_988_800;
      assert.ok(Math.abs(ntpSeconds - Date.now() / 1000) < 5, 'NTP time is now');
      const rtp = c.frames.find((f) => f.channel === 2 * track)!.payload;
      assert.equal(rtp.readUInt32BE(8), ssrcs[track], `RTP SSRC of track ${track}`);
    }
    // Every report of a track places RTP time on the same line (RFC 3550 §6.4.1): the publisher's packets
    // come on a 40 ms timer whose jitter must not move the mapping, or receivers' A/V sync wobbles.
    const reports = c.frames
      .filter((f) => f.channel === 1 && f.payload[1] === 200)
      .map((f) => ({
        ntpMs: (f.payload.readUInt32BE(8) + f.payload.readUInt32BE(12) / 2 ** 32) * 1000,
        rtp: f.payload.readUInt32BE(16),
      }));
    for (let i = 1; i < reports.length; i++) {
      const ntpStepMs = reports[i]!.ntpMs - reports[0]!.ntpMs;
      const rtpStepMs = (((reports[i]!.rtp - reports[0]!.rtp) >>> 0) * 1000) / 90000;
      assert.ok(
        Math.abs(ntpStepMs - rtpStepMs) < 0.5,
        `SR ${i}: ${ntpStepMs} ms of NTP for ${rtpStepMs} ms of RTP`,
      );
    }
    pub.client.close();
  });

  test('a UDP session can be controlled from another connection; TCP sessions die with theirs', async () => {
    const pub = await FakePublisher.start(server.port, 'multi');
    pub.sendFrame(true);
    const c1 = await connect();
    const s = await c1.request('SETUP', `${url('multi')}/trackID=0`, {
      Transport: 'RTP/AVP;unicast;client_port=40000-40001',
    });
    assert.equal(s.statusCode, 200);
    assert.match(
      s.headers.get('Transport')!,
      /^RTP\/AVP;unicast;client_port=40000-40001;server_port=\d+-\d+;ssrc=[0-9A-F]{8}$/,
    );
    const id = sessionId(s);
    c1.close();
    await new Promise((r) => setTimeout(r, 50));
    const c2 = await connect();
    assert.equal((await c2.request('PLAY', url('multi'), { Session: id })).statusCode, 200);
    assert.equal((await c2.request('TEARDOWN', url('multi'), { Session: id })).statusCode, 200);

    const c3 = await connect();
    const t = await c3.request('SETUP', `${url('multi')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    const tid = sessionId(t);
    assert.ok(server.sessions.has(tid));
    c3.close();
    await waitFor(() => !server.sessions.has(tid), 2000, 'session end on close');
    pub.client.close();
  });

  test('SETUP refuses unusable transports with 461 and a foreign destination with 403', async () => {
    const pub = await FakePublisher.start(server.port, 'tr');
    pub.sendFrame(true);
    const c = await connect();
    // Multicast is served from the configured range (default 239.255.0.0/16, port 8002, ttl 16).
    const mc = await c.request('SETUP', `${url('tr')}/trackID=0`, { Transport: 'RTP/AVP;multicast' });
    assert.equal(mc.statusCode, 200);
    assert.match(
      mc.headers.get('Transport')!,
      /^RTP\/AVP;multicast;destination=239\.255\.\d+\.\d+;ttl=16;port=8002-8003;ssrc=[0-9A-F]{8}$/,
    );
    // Mixing multicast and unicast in one session is refused.
    const mixed = await c.request('SETUP', `${url('tr')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
      Session: sessionId(mc),
    });
    assert.equal(mixed.statusCode, 461);
    await c.request('TEARDOWN', url('tr'), { Session: sessionId(mc) });
    const savp = await c.request('SETUP', `${url('tr')}/trackID=0`, {
      Transport: 'RTP/SAVP;unicast;client_port=4000-4001',
    });
    assert.equal(savp.statusCode, 461);
    const alt = await c.request('SETUP', `${url('tr')}/trackID=0`, {
      Transport: 'RTP/SAVP;multicast,RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(alt.statusCode, 200, 'the first usable alternative is chosen');
    assert.match(alt.headers.get('Transport')!, /^RTP\/AVP\/TCP;unicast;interleaved=0-1/);
    const c2 = await connect();
    const dest = await c2.request('SETUP', `${url('tr')}/trackID=0`, {
      Transport: 'RTP/AVP;unicast;destination=203.0.113.9;client_port=4000-4001',
    });
    assert.equal(dest.statusCode, 403);
    const noTrack = await c2.request('SETUP', `${url('tr')}/trackID=9`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(noTrack.statusCode, 404);
    pub.client.close();
  });

  test('SETUP in a session: another path is 459, a URL naming nothing 404, the aggregate URL once tracks run out 459', async () => {
    const pub = await FakePublisher.start(server.port, 'agg');
    const other = await FakePublisher.start(server.port, 'agg2');
    pub.sendFrame(true);
    other.sendFrame(true);
    const c = await connect();
    const s = await c.request('SETUP', `${url('agg')}?token=abc/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(s.statusCode, 200);
    const id = sessionId(s);
    const tcp = (ch: number): Record<string, string> => ({
      Transport: `RTP/AVP/TCP;unicast;interleaved=${ch}-${ch + 1}`,
      Session: id,
    });
    assert.equal((await c.request('SETUP', `${url('agg2')}/trackID=1`, tcp(2))).statusCode, 459);
    // GStreamer 1.22's first try with a Content-Base holding a query; it retries on 404 only.
    assert.equal((await c.request('SETUP', url('trackID=1'), tcp(2))).statusCode, 404);
    assert.equal((await c.request('SETUP', `${url('agg')}?token=abc/trackID=1`, tcp(2))).statusCode, 200);
    assert.equal((await c.request('SETUP', `${url('agg')}/`, tcp(4))).statusCode, 459);
    assert.equal((await c.request('PLAY', `${url('agg')}?token=abc/`, { Session: id })).statusCode, 200);
    pub.client.close();
    other.client.close();
  });

  test('five readers get every packet while a stalled reader is cut off', async () => {
    const pub = await FakePublisher.start(server.port, 'fan');
    pub.sendFrame(true);
    const readers: { c: RawClient; seqs: number[] }[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await connect();
      const seqs: number[] = [];
      c.onFrame = (f) => {
        if (f.channel === 0) seqs.push(f.payload.readUInt16BE(2));
      };
      const s = await c.request('SETUP', `${url('fan')}/trackID=0`, {
        Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
      });
      assert.equal((await c.request('PLAY', url('fan'), { Session: sessionId(s) })).statusCode, 200);
      readers.push({ c, seqs });
    }
    const stalled = await connect();
    const ss = await stalled.request('SETUP', `${url('fan')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal((await stalled.request('PLAY', url('fan'), { Session: sessionId(ss) })).statusCode, 200);
    stalled.socket.pause();

    const frames = 400;
    for (let i = 1; i <= frames; i++) {
      pub.sendFrame(i % 25 === 0, 16_000);
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    const expected = pub.packetsSent[0]!;
    await waitFor(
      () => readers.every((r) => r.seqs.length === expected),
      10_000,
      'all packets at every reader',
    );
    for (const r of readers) assert.ok(isContiguous(r.seqs));
    const stream = server.paths.get('fan')!.stream!;
    assert.ok(stream.droppedPackets > 0, 'the stalled reader was cut off');
    pub.client.close();
  });
});

describe('session timeout', () => {
  test('an idle session expires after the advertised timeout; requests keep it alive', async () => {
    const { server, url } = await startTestServer({ sessionTimeoutS: 1, sessionTimeoutGraceS: 0 });
    try {
      const pub = await FakePublisher.start(server.port, 'idle');
      pub.sendFrame(true);
      const c = await RawClient.connect(server.port);
      const s = await c.request('SETUP', `${url('idle')}/trackID=0`, {
        Transport: 'RTP/AVP;unicast;client_port=40010-40011',
      });
      assert.match(s.headers.get('Session')!, /;timeout=1$/);
      const id = sessionId(s);
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 500));
        assert.equal((await c.request('GET_PARAMETER', url('idle'), { Session: id })).statusCode, 200);
      }
      await waitFor(() => !server.sessions.has(id), 4000, 'expiry');
      assert.equal((await c.request('PLAY', url('idle'), { Session: id })).statusCode, 454);
      c.close();
      pub.client.close();
    } finally {
      await server.close();
    }
  });
  test('RTCP receiver reports (UDP) and interleaved data (TCP) keep a session alive without requests', async () => {
    const { server, url } = await startTestServer({ sessionTimeoutS: 1, sessionTimeoutGraceS: 0 });
    const rtp = createSocket('udp4');
    const rtcp = createSocket('udp4');
    await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => rtcp.bind(0, '127.0.0.1', r));
    const clients: RawClient[] = [];
    let timer: NodeJS.Timeout | undefined;
    try {
      const pub = await FakePublisher.start(server.port, 'alive');
      clients.push(pub.client);
      pub.sendFrame(true);
      const setup = async (transport: string): Promise<{ c: RawClient; id: string; reply: string }> => {
        const c = await RawClient.connect(server.port);
        clients.push(c);
        const s = await c.request('SETUP', `${url('alive')}/trackID=0`, { Transport: transport });
        assert.equal(s.statusCode, 200, transport);
        const id = sessionId(s);
        assert.equal((await c.request('PLAY', url('alive'), { Session: id })).statusCode, 200);
        return { c, id, reply: s.headers.get('Transport')! };
      };
      const udp = await setup(`RTP/AVP;unicast;client_port=${rtp.address().port}-${rtcp.address().port}`);
      const serverRtcpPort = Number(/server_port=\d+-(\d+)/.exec(udp.reply)![1]);
      const tcp = await setup('RTP/AVP/TCP;unicast;interleaved=0-1');
      const idle = await setup('RTP/AVP/TCP;unicast;interleaved=0-1');
      const rr = serializeRtcpCompound([{ type: 'rr', ssrc: 0x5eed, reports: [] }]);
      // The publisher's media keeps its own session alive the same way.
      timer = setInterval(() => {
        pub.sendFrame(false);
        rtcp.send(rr, serverRtcpPort, '127.0.0.1');
        tcp.c.sendInterleaved(1, rr);
      }, 200);
      await waitFor(() => !server.sessions.has(idle.id), 5000, 'the idle session to expire');
      // Two more timeouts with nothing but media and reports.
      await new Promise((r) => setTimeout(r, 2500));
      for (const [name, id] of [
        ['publisher', pub.session],
        ['udp reader', udp.id],
        ['tcp reader', tcp.id],
      ] as const)
        assert.ok(server.sessions.has(id), `${name} session still alive`);
      clearInterval(timer);
      await waitFor(() => !server.sessions.has(udp.id), 5000, 'the UDP session to expire once reports stop');
    } finally {
      clearInterval(timer);
      for (const c of clients) c.close();
      rtp.close();
      rtcp.close();
      await server.close();
    }
  });
});

test('one structured log line per connection, session, publish and read, at start and at end', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n'))
        if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const { server, url } = await startTestServer({ logger: createLogger('info', sink) });
  try {
    const pub = await FakePublisher.start(server.port, 'logged');
    pub.sendFrame(true);
    const c = await RawClient.connect(server.port);
    const s = await c.request('SETUP', `${url('logged')}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    const id = sessionId(s);
    assert.equal((await c.request('PLAY', url('logged'), { Session: id })).statusCode, 200);
    await c.until(() => c.frames.length > 0, 2000, 'media');
    assert.equal((await c.request('TEARDOWN', url('logged'), { Session: id })).statusCode, 200);
    c.close();
    pub.client.close();
    const count = (msg: string): number => lines.filter((l) => l.msg === msg).length;
    await waitFor(() => count('connection closed') === 2, 3000, 'both connections closed in the log');
    const expected: [string, string[]][] = [
      ['connection opened', ['conn', 'remote']],
      ['connection closed', ['conn']],
      ['session created', ['session', 'path', 'mode', 'remote']],
      ['session closed', ['session', 'reason']],
      ['publish started', ['session', 'path', 'transport']],
      ['publish ended', ['session', 'path', 'reason']],
      ['read started', ['session', 'path', 'transport']],
      ['read ended', ['session', 'path', 'reason', 'bytes']],
    ];
    for (const [msg, fields] of expected) {
      const mine = lines.filter((l) => l.msg === msg);
      const per = msg.startsWith('connection') || msg.startsWith('session') ? 2 : 1;
      assert.equal(mine.length, per, `${msg}: ${JSON.stringify(mine)}`);
      for (const l of mine) for (const f of fields) assert.ok(l[f] !== undefined, `${msg} has ${f}`);
    }
    assert.equal(lines.find((l) => l.msg === 'read ended')!.session, id);
  } finally {
    await server.close();
  }
});

/** RTP-Info rtptimes of video and audio name one instant on the path's RTP-to-clock lines (§12.33). */
function assertSameInstant(
  server: RtspServer,
  path: string,
  videoRtptime: number,
  audioRtptime: number,
): void {
  const stream = server.paths.get(path)!.stream!;
  const videoMs = stream.monotonicMsOfRtp(0, videoRtptime)!;
  const audioMs = stream.monotonicMsOfRtp(1, audioRtptime)!;
  assert.ok(Math.abs(videoMs - audioMs) < 0.05, `RTP-Info: video at ${videoMs} ms, audio at ${audioMs} ms`);
}
