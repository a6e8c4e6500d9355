// The server driven the way live555's RTSPClient does it when VLC 3.0 plays a URL: Debian's VLC has no
// live555 module (and live555 is not packaged in bookworm), so the requests below are written in the
// exact forms live555 sends and the replies are read the way it reads them (facts from liveMedia's
// RTSPClient.cpp: sendRequest, setRequestFields, constructSubsessionURL, sessionURL, handleSETUPResponse,
// parseTransportParams, handlePLAYResponse, parseRTPInfoParams; MediaSession.cpp:
// parseSDPAttribute_control; VLC's modules/access/live555.cpp: Connect, continueAfterOPTIONS,
// SessionsSetup, Play, TimeoutPrevention).
//
// What live555 does, in short:
// - CSeq starts at 2 (the counter starts at 1 and is incremented before each request); every request
//   carries `User-Agent: LibVLC/<version> (LIVE555 Streaming Media v<date>)` right after CSeq.
// - OPTIONS and DESCRIBE go to the URL as typed; DESCRIBE adds `Accept: application/sdp`. VLC keeps
//   alive with GET_PARAMETER only when the OPTIONS reply's Public names it (else OPTIONS).
// - Content-Base replaces the base URL. The session-level `a=control:*` means "the base URL", so a
//   track's SETUP URL is the base followed by its a=control, with a '/' added only when the base does
//   not end in one. Aggregate PLAY, GET_PARAMETER and TEARDOWN go to the base URL itself (with its
//   trailing '/').
// - SETUP: `Transport: RTP/AVP;unicast;client_port=P-(P+1)` (UDP, P even) or
//   `Transport: RTP/AVP/TCP;unicast;interleaved=0-1` (then 2-3), then `Session: <id>` from the second
//   SETUP on. The reply's Session is read up to ';' and `; timeout = N` after it (VLC keeps alive
//   every N-2 s); Transport needs server_port, client_port or interleaved (the channels used are the
//   reply's).
// - PLAY: `Session`, then `Range: npt=0.000-` (VLC passes the SDP's start time, 0). Before it, live555
//   sends two 4-byte 0xFEEDFACE datagrams from each RTP and RTCP socket to the server's ports (NAT
//   hack). RTP-Info entries are taken in order, one per track in SDP order, and used only when both
//   seq and rtptime are there. The reply's Range must parse (npt=now- and npt=a-b both do).
// - GET_PARAMETER from VLC has no body (no Content-Length); TEARDOWN is aggregate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, DEMO_CLIP, type App } from '../src/app.js';
import { defaultConfig } from '../src/config/config.js';
import { tsDiff32 } from '../src/base/seq.js';
import { parseRtpPacket } from '../src/rtp/packet.js';
import { Authorizer } from '../src/server/auth.js';
import type { RtspServer } from '../src/server/server.js';
import type { RtspResponse } from '../src/rtsp/message.js';
import { RawClient } from './support/raw-client.js';
import { startTestServer } from './support/server.js';
import { publishFile, waitFor } from './support/process.js';
import { skipUnless } from './support/tools.js';

/** A VLC 3.0 User-Agent in the form live555 builds it (application, then the library in parentheses). */
const USER_AGENT = 'LibVLC/3.0.21 (LIVE555 Streaming Media v2020.01.19)';

interface Track {
  media: string;
  control: string;
  clockRate: number;
  setupUrl: string;
  /** RTP packets (copies) in arrival order. */
  rtp: Buffer[];
  rtpChannel?: number;
  udp?: { rtp: Socket; rtcp: Socket; port: number; serverRtpPort?: number; serverRtcpPort?: number };
}

/** An even port and the next one, bound, as live555's MediaSubsession::initiate picks them. */
async function bindPortPair(): Promise<{ rtp: Socket; rtcp: Socket; port: number }> {
  const bind = (port: number): Promise<Socket | undefined> =>
    new Promise((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(undefined);
      });
      s.bind(port, '127.0.0.1', () => resolve(s));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const rtp = await bind(0);
    if (rtp === undefined) continue;
    const port = rtp.address().port;
    if (port % 2 === 0) {
      const rtcp = await bind(port + 1);
      if (rtcp !== undefined) return { rtp, rtcp, port };
    }
    rtp.close();
  }
  throw new Error('no free even/odd UDP port pair');
}

/** NAL unit types of one RTP H.264 payload (RFC 6184: single NAL, STAP-A, FU-A start). */
function nalTypesOf(payload: Buffer): number[] {
  const type = payload[0]! & 0x1f;
  if (type >= 1 && type <= 23) return [type];
  if (type === 24) {
    const types: number[] = [];
    for (let off = 1; off + 2 < payload.length;) {
      const size = payload.readUInt16BE(off);
      types.push(payload[off + 2]! & 0x1f);
      off += 2 + size;
    }
    return types;
  }
  if (type === 28) return (payload[1]! & 0x80) !== 0 ? [payload[1]! & 0x1f] : [];
  return [];
}

/** The NAL types of the first complete access unit (up to the first marker), or undefined if none yet. */
function firstAccessUnitNalTypes(packets: Buffer[]): number[] | undefined {
  const types: number[] = [];
  for (const raw of packets) {
    const p = parseRtpPacket(raw);
    types.push(...nalTypesOf(p.payload));
    if (p.marker) return types;
  }
  return undefined;
}

/** `Session:` the way handleSETUPResponse reads it: the id up to ';', then `; timeout = N`. */
function readSessionLikeLive555(value: string | undefined): { id: string; timeoutS?: number } {
  assert.ok(value !== undefined, 'SETUP reply without Session');
  const id = /^[^;]*/.exec(value)![0];
  const m = /^;\s*timeout\s*=\s*(-?\d+)/.exec(value.slice(id.length));
  return m === null ? { id } : { id, timeoutS: Number(m[1]) };
}

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

/**
 * One live555 RTSPClient on one connection: its CSeq numbering, header order and authentication.
 * On a 401 it keeps the last Digest challenge (or the first one if none is Digest), reads it only as
 * `Digest realm="R", nonce="N"` (that order, nothing before), and sends the request again with the
 * next CSeq. Its Digest is RFC 2069 (MD5, no qop) and its `uri` is the base URL, for every request
 * (createAuthenticatorString is given fBaseURL, not the request's URL).
 */
class Live555Client {
  private cseq = 1;
  sessionId: string | undefined;
  /** fBaseURL: the URL as typed, then the DESCRIBE reply's Content-Base. */
  baseUrl: string;
  /** The challenge it answers: Digest when `nonce` is set, else Basic. */
  auth: { realm: string; nonce?: string } | undefined;
  /** Requests answered 401 (and sent again). */
  challenges = 0;

  constructor(
    readonly conn: RawClient,
    url: string,
    private readonly credentials?: { username: string; password: string },
  ) {
    this.baseUrl = url;
  }

  private authorization(method: string): string[] {
    if (this.auth === undefined || this.credentials === undefined) return [];
    const { username, password } = this.credentials;
    if (this.auth.nonce === undefined)
      return [`Authorization: Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`];
    const { realm, nonce } = this.auth;
    const ha1 = md5(`${username}:${realm}:${password}`);
    const response = md5(`${ha1}:${nonce}:${md5(`${method}:${this.baseUrl}`)}`);
    const fields = `username="${username}", realm="${realm}", nonce="${nonce}", uri="${this.baseUrl}"`;
    return [`Authorization: Digest ${fields}, response="${response}"`];
  }

  async send(method: string, url: string, extraHeaders: string[] = []): Promise<RtspResponse> {
    for (let attempt = 0; ; attempt++) {
      const cseq = ++this.cseq;
      const lines = [`${method} ${url} RTSP/1.0`, `CSeq: ${cseq}`, ...this.authorization(method)];
      lines.push(`User-Agent: ${USER_AGENT}`, ...extraHeaders);
      const r = await this.conn.raw(`${lines.join('\r\n')}\r\n\r\n`);
      assert.equal(r.headers.get('CSeq'), String(cseq), `${method}: CSeq echoed`);
      if (r.statusCode === 401 && this.credentials !== undefined && attempt === 0) {
        this.challenges++;
        let chosen: string | undefined;
        for (const h of r.headers.getAll('WWW-Authenticate'))
          if (chosen === undefined || /^Digest/i.test(h)) chosen = h;
        const digest = /^Digest realm="([^"]+)", nonce="([^"]+)"/.exec(chosen ?? '');
        const basic = /^Basic realm="([^"]+)"/.exec(chosen ?? '');
        assert.ok(digest !== null || basic !== null, `a challenge live555 can read: ${chosen}`);
        this.auth = digest !== null ? { realm: digest[1]!, nonce: digest[2]! } : { realm: basic![1]! };
        continue;
      }
      assert.equal(r.statusCode, 200, `${method} ${url}: ${r.statusCode} ${r.reason}`);
      return r;
    }
  }
}

/**
 * Plays `url` as VLC 3.0 does through live555 (UDP unless `tcp`), checks every reply and the media,
 * keeps alive once and tears down. `source`: a looping file source, a file on demand, or a stream a
 * publisher sends (which may carry SPS/PPS in the SDP only).
 */
async function playLikeVlc(
  server: RtspServer,
  url: string,
  transport: 'udp' | 'tcp',
  source: 'file' | 'vod' | 'publisher',
  credentials?: { username: string; password: string },
): Promise<Live555Client> {
  const conn = await RawClient.connect(server.port);
  const client = new Live555Client(conn, url, credentials);
  const tracks: Track[] = [];
  try {
    const options = await client.send('OPTIONS', url);
    // continueAfterOPTIONS: GET_PARAMETER keepalives only if Public names it.
    assert.match(options.headers.get('Public') ?? '', /\bGET_PARAMETER\b/);

    const describe = await client.send('DESCRIBE', url, ['Accept: application/sdp']);
    const base = describe.headers.get('Content-Base');
    assert.ok(base !== undefined && base.endsWith('/'), `Content-Base ${base}`);
    client.baseUrl = base;
    assert.ok(base.startsWith(url), `Content-Base ${base} is the URL asked for`);
    const sdp = describe.body.toString('utf8');
    const [session, ...media] = sdp.split(/\r\n(?=m=)/);
    assert.match(session!, /^a=control:\*\r?$/m, 'aggregate control');
    for (const block of media) {
      const control = /^a=control:(\S+)\r?$/m.exec(block)?.[1];
      assert.ok(control !== undefined && /^trackID=\d+$/.test(control), `a=control in ${block}`);
      // constructSubsessionURL: base + control (the base ends in '/', so no separator).
      const clockRate = Number(/^a=rtpmap:\d+ [^/]+\/(\d+)/m.exec(block)?.[1]);
      tracks.push({
        media: /^m=(\w+)/.exec(block)![1]!,
        control,
        clockRate,
        setupUrl: base + control,
        rtp: [],
      });
    }
    assert.deepEqual(
      tracks.map((t) => t.media),
      ['video', 'audio'],
    );

    for (const [i, track] of tracks.entries()) {
      let transportHeader: string;
      if (transport === 'udp') {
        track.udp = await bindPortPair();
        track.udp.rtp.on('message', (msg, rinfo) => {
          if (rinfo.port === track.udp!.serverRtpPort) track.rtp.push(Buffer.from(msg));
        });
        transportHeader = `Transport: RTP/AVP;unicast;client_port=${track.udp.port}-${track.udp.port + 1}`;
      } else {
        transportHeader = `Transport: RTP/AVP/TCP;unicast;interleaved=${2 * i}-${2 * i + 1}`;
      }
      const extra = [transportHeader];
      if (client.sessionId !== undefined) extra.push(`Session: ${client.sessionId}`);
      const setup = await client.send('SETUP', track.setupUrl, extra);
      const s = readSessionLikeLive555(setup.headers.get('Session'));
      assert.ok(
        s.timeoutS !== undefined && s.timeoutS > 2,
        `Session timeout in ${setup.headers.get('Session')}`,
      );
      if (client.sessionId !== undefined) assert.equal(s.id, client.sessionId, 'one session for both tracks');
      client.sessionId = s.id;
      const t = setup.headers.get('Transport') ?? '';
      const fields = t.split(';');
      if (transport === 'udp') {
        assert.ok(fields.includes('unicast'), `Transport ${t}`);
        assert.ok(fields.includes(`client_port=${track.udp!.port}-${track.udp!.port + 1}`), `Transport ${t}`);
        const sp = /(?:^|;)server_port=(\d+)-(\d+)/.exec(t);
        assert.ok(sp !== null, `Transport ${t} has server_port`);
        track.udp!.serverRtpPort = Number(sp[1]);
        track.udp!.serverRtcpPort = Number(sp[2]);
        // live555 reads only the first server port and sends RTCP to the next one (no rtcp-mux here);
        // a `source=` redirects both, so if there is one it must name the server.
        assert.equal(Number(sp[2]), Number(sp[1]) + 1, `Transport ${t}: RTCP on the RTP port + 1`);
        const source = fields.find((f) => f.startsWith('source='));
        assert.ok(source === undefined || source === 'source=127.0.0.1', `Transport ${t}`);
      } else {
        const il = /(?:^|;)interleaved=(\d+)-(\d+)/.exec(t);
        assert.ok(il !== null, `Transport ${t} has interleaved`);
        assert.deepEqual([Number(il[1]), Number(il[2])], [2 * i, 2 * i + 1]);
        track.rtpChannel = Number(il[1]);
      }
    }

    if (transport === 'tcp') {
      conn.onFrame = (f) => {
        const track = tracks.find((t) => t.rtpChannel === f.channel);
        if (track !== undefined) track.rtp.push(Buffer.from(f.payload));
      };
    } else {
      // sendDummyUDPPackets: twice from each socket to the server's ports, before PLAY.
      const dummy = Buffer.from([0xce, 0xfa, 0xed, 0xfe]);
      for (const { udp } of tracks) {
        for (let n = 0; n < 2; n++) {
          udp!.rtp.send(dummy, udp!.serverRtpPort, '127.0.0.1');
          udp!.rtcp.send(dummy, udp!.serverRtcpPort, '127.0.0.1');
        }
      }
    }

    const play = await client.send('PLAY', base, [`Session: ${client.sessionId}`, 'Range: npt=0.000-']);
    // parseRangeParam accepts these forms; anything else fails the PLAY ("Bad Range header").
    assert.match(play.headers.get('Range') ?? '', /^npt=(now-|\d+(\.\d+)?-(\d+(\.\d+)?)?)$/);
    const rtpInfo = (play.headers.get('RTP-Info') ?? '').split(',').map((entry) =>
      Object.fromEntries(
        entry.split(';').map((kv) => {
          const eq = kv.indexOf('=');
          return [kv.slice(0, eq).trim(), kv.slice(eq + 1).trim()];
        }),
      ),
    ) as Record<string, string>[];
    // Taken in order, one per subsession: the order and URLs are the SETUP ones.
    assert.deepEqual(
      rtpInfo.map((e) => e.url),
      tracks.map((t) => t.setupUrl),
    );

    await waitFor(
      () => tracks.every((t) => t.rtp.length > 0) && firstAccessUnitNalTypes(tracks[0]!.rtp) !== undefined,
      10_000,
      `RTP on both tracks over ${transport} (${tracks.map((t) => t.rtp.length).join(', ')} packets)`,
    );
    for (const [i, track] of tracks.entries()) {
      const first = parseRtpPacket(track.rtp[0]!);
      assert.equal(Number(rtpInfo[i]!.seq), first.sequenceNumber, `${track.media}: RTP-Info seq`);
      const rtptime = Number(rtpInfo[i]!.rtptime);
      if (source !== 'vod') {
        // §12.33: one instant for every track, the cached keyframe's; the video starts there, the
        // first audio packet is the one the publisher interleaved next to it (within a few frames;
        // with B-frames video is sent up to its reorder delay ahead of its timestamp).
        const offsetS = Math.abs(tsDiff32(rtptime, first.timestamp)) / track.clockRate;
        if (track.media === 'video') assert.equal(rtptime, first.timestamp, 'video: RTP-Info rtptime');
        else
          assert.ok(offsetS < 0.25, `audio: first packet ${offsetS.toFixed(3)} s from the RTP-Info rtptime`);
      } else {
        // §12.33: rtptime is the RTP time of the Range start, which live555 takes as npt = start
        // (MediaSubsession::getNormalPlayTime). The video starts at a keyframe there; the audio with
        // the AAC frame that covers or precedes it (here the encoder's priming frame, 1024 samples
        // before 0 in the edit list), so the first packet's npt is within one frame before the start.
        const before = (rtptime - first.timestamp) >>> 0;
        const frame = track.media === 'audio' ? 1024 : 0;
        assert.ok(
          before <= frame,
          `${track.media}: first packet ${before} ticks before the RTP-Info rtptime`,
        );
      }
    }
    const nals = firstAccessUnitNalTypes(tracks[0]!.rtp)!;
    const idr = nals.indexOf(5);
    assert.ok(idr >= 0, `first access unit is a keyframe: NAL types ${nals.join(',')}`);
    // VLC's live555 module hands sprop-parameter-sets to the decoder as extradata (parseH264ConfigStr),
    // and SPS/PPS come in-band as well: file sources packetize them before every keyframe, and a live
    // relay adds them when the publisher (here ffmpeg copying an MP4) sends them only in its SDP.
    const sprop = /sprop-parameter-sets=([^;\s]+)/.exec(sdp)?.[1] ?? '';
    const spropTypes = sprop.split(',').map((b64) => Buffer.from(b64, 'base64')[0]! & 0x1f);
    assert.ok(spropTypes.includes(7) && spropTypes.includes(8), `sprop-parameter-sets: ${sprop}`);
    const leading = nals.slice(0, idr);
    assert.ok(leading.includes(7) && leading.includes(8), `SPS, PPS before the IDR: ${nals.join(',')}`);

    // Receiver reports start once playing (handlePLAYResponse enables them): to the server's RTCP port,
    // or on the odd channel of each pair. An RR without report blocks is enough here.
    const rr = Buffer.from([0x80, 201, 0, 1, 0x12, 0x34, 0x56, 0x78]);
    for (const t of tracks) {
      if (t.udp !== undefined) t.udp.rtcp.send(rr, t.udp.serverRtcpPort, '127.0.0.1');
      else conn.sendInterleaved(t.rtpChannel! + 1, rr);
    }

    // TimeoutPrevention: GET_PARAMETER to the base URL with the session and no body. Without
    // GET_PARAMETER in Public it would be OPTIONS, which live555 sends to the base URL with the session.
    await client.send('GET_PARAMETER', base, [`Session: ${client.sessionId}`]);
    await client.send('OPTIONS', base, [`Session: ${client.sessionId}`]);
    const id = client.sessionId!;
    assert.ok(server.sessions.has(id));
    await client.send('TEARDOWN', base, [`Session: ${id}`]);
    assert.equal(server.sessions.has(id), false, 'TEARDOWN ended the session');
    return client;
  } finally {
    conn.close();
    for (const t of tracks) {
      t.udp?.rtp.close();
      t.udp?.rtcp.close();
    }
  }
}

describe('live555 RTSPClient (VLC 3.0) forms', () => {
  let app: App;
  let dir: string;
  let url: (path: string) => string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-live555-'));
    mkdirSync(join(dir, 'media'));
    copyFileSync(DEMO_CLIP, join(dir, 'media', 'clip.mp4'));
    app = await startApp({
      ...defaultConfig(),
      logLevel: 'silent',
      rtspAddress: '127.0.0.1:0',
      rtpPort: 0,
      rtmpAddress: null,
      demo: true,
      mediaDir: join(dir, 'media'),
    });
    url = (path) => `rtsp://127.0.0.1:${app.server.port}/${path}`;
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const transport of ['udp', 'tcp'] as const) {
    test(`the looping demo source over ${transport}`, { timeout: 30_000 }, async () => {
      await playLikeVlc(app.server, url('demo'), transport, 'file');
    });
    test(`a file on demand from the media folder over ${transport}`, { timeout: 30_000 }, async () => {
      await playLikeVlc(app.server, url('clip.mp4'), transport, 'vod');
    });
  }

  test('a URL with a query: SETUP at <path>?<query>/trackID=N (live555 appends to Content-Base)', async () => {
    await playLikeVlc(app.server, url('demo?vlc=1'), 'tcp', 'file');
    await playLikeVlc(app.server, url('clip.mp4?vlc=1'), 'udp', 'vod');
  });

  test(
    'a live path published by ffmpeg, over udp',
    { skip: skipUnless('ffmpeg'), timeout: 60_000 },
    async () => {
      const pub = publishFile(DEMO_CLIP, url('live'), 'tcp');
      try {
        await waitFor(
          () => (app.server.paths.get('live')?.stream?.accessUnitsIn ?? 0) >= 30,
          20_000,
          `ffmpeg publishing (${pub.output().stderr})`,
        );
        await playLikeVlc(app.server, url('live'), 'udp', 'publisher');
      } finally {
        pub.kill('SIGINT');
        await pub.done;
      }
    },
  );
});

test('live555 Digest (MD5, no qop, uri = the base URL on every request) against a server that asks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-live555-auth-'));
  copyFileSync(DEMO_CLIP, join(dir, 'clip.mp4'));
  const authorizer = new Authorizer({
    realm: 'rtspkit',
    basic: true,
    users: [{ name: 'vlc', password: 'plain:pa ss', permissions: [{ action: 'read' }] }],
  });
  const { server, url } = await startTestServer({ authorizer, mediaDir: dir });
  try {
    const client = await playLikeVlc(server, url('clip.mp4'), 'udp', 'vod', {
      username: 'vlc',
      password: 'pa ss',
    });
    assert.ok(client.challenges >= 1, 'the server asked for credentials');
    assert.ok(client.auth?.nonce !== undefined, 'answered with Digest, not Basic');
    const conn = await RawClient.connect(server.port);
    try {
      const wrong = new Live555Client(conn, url('clip.mp4'), { username: 'vlc', password: 'wrong' });
      await assert.rejects(wrong.send('DESCRIBE', url('clip.mp4'), ['Accept: application/sdp']), /401/);
    } finally {
      conn.close();
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
