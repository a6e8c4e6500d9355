// Requests the server sends its readers (RFC 2326 §10.10 REDIRECT, §10.3 ANNOUNCE): rtspkit's client follows
// a REDIRECT to another rtspkit server over TCP, the HTTP tunnel and a WebSocket, and an ANNOUNCE of new
// media (H.264 → H.265) on its path, and keeps receiving frames; readers of other paths are untouched;
// clients that answer 501, garbage, a wrong CSeq or nothing get RTCP BYE and their connection closed,
// each counted, and the server goes on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RtspClient } from '../src/client/index.js';
import { RtspFramer } from '../src/rtsp/framer.js';
import type { RtspRequest } from '../src/rtsp/message.js';
import { parseRtcpCompound } from '../src/rtp/rtcp.js';
import type { RtspServer } from '../src/server/server.js';
import { Mp4LoopSource } from '../src/sources/mp4-loop.js';
import { waitFor } from './support/process.js';
import { RawClient, sessionId } from './support/raw-client.js';
import { startTestServer } from './support/server.js';
import { mediaPath, skipUnlessMedia } from './support/tools.js';

const H264 = 'h264_base_aac.mp4';
const H265 = 'h265_aac.mp4';
/** Short, so that the ended readers' connections close within the test. */
const GRACE_MS = 600;
const REQUEST_TIMEOUT_MS = 700;

describe('server requests to readers', { skip: skipUnlessMedia(H264, H265) }, () => {
  let a: { server: RtspServer; url: (p: string) => string };
  let b: { server: RtspServer; url: (p: string) => string };
  const sources: Mp4LoopSource[] = [];
  /** The source feeding each path of server a. */
  const feeding = new Map<string, Mp4LoopSource>();

  async function feed(server: RtspServer, path: string, clip = H264): Promise<Mp4LoopSource> {
    const source = await Mp4LoopSource.open({ file: mediaPath(clip), loop: true });
    const stream = server.addSourcePath(path, source.media);
    assert.ok(stream !== false);
    source.start(stream);
    sources.push(source);
    if (server === a.server) feeding.set(path, source);
    return source;
  }

  before(async () => {
    const options = { endedReaderGraceMs: GRACE_MS, serverRequestTimeoutMs: REQUEST_TIMEOUT_MS };
    a = await startTestServer(options);
    b = await startTestServer(options);
    for (const path of ['cam', 'other', 'changing']) await feed(a.server, path);
    await feed(b.server, 'cam');
  });
  after(async () => {
    for (const s of sources) await s.stop();
    await a.server.close();
    await b.server.close();
  });

  /** A playing rtspkit client over `kind`, counting its video access units. */
  async function player(
    url: string,
    kind: 'tcp' | 'tunnel' | 'websocket',
  ): Promise<{ c: RtspClient; frames: () => number; codecs: () => string[] }> {
    const c = new RtspClient(url, { httpTunnel: kind === 'tunnel', webSocket: kind === 'websocket' });
    c.on('error', () => undefined);
    let frames = 0;
    c.on('accessUnit', (track) => {
      if (track.type === 'video') frames++;
    });
    await c.describe();
    await c.setup({ transport: 'tcp' });
    await c.play();
    await waitFor(() => frames > 0, 10_000, 'first frames');
    return { c, frames: () => frames, codecs: () => c.tracks.map((t) => t.encodingName) };
  }

  for (const kind of ['tcp', 'tunnel', 'websocket'] as const) {
    test(`rtspkit's client over ${kind} follows a REDIRECT to another server and keeps receiving frames`, async () => {
      const moved = await player(a.url('cam'), kind);
      const bystander = await player(a.url('other'), 'tcp');
      const before = { ...a.server.readerMoves.counters };
      const bReaders = (): number =>
        [...b.server.sessions.values()].filter((s) => s.path === 'cam' && s.state === 'playing').length;
      const readersBefore = bReaders();
      const n = a.server.redirectReaders((p) => (p === 'cam' ? b.url('cam') : undefined), 'test drain');
      assert.equal(n, 1);
      await waitFor(() => bReaders() === readersBefore + 1, 10_000, 'the reader playing on the other server');
      const atMove = moved.frames();
      await waitFor(() => moved.frames() > atMove + 10, 10_000, 'frames from the other server');
      assert.equal(moved.c.url, b.url('cam'));
      await waitFor(
        () => ![...a.server.sessions.values()].some((s) => s.path === 'cam'),
        5000,
        'the old session gone',
      );
      const counters = a.server.readerMoves.counters;
      assert.equal(counters.redirected - before.redirected, 1);
      assert.equal(counters.redirectFollowed - before.redirectFollowed, 1);
      // The reader of another path was not asked anything and still plays.
      const other = bystander.frames();
      await waitFor(() => bystander.frames() > other + 5, 5000, 'the bystander still playing');
      assert.ok(bystander.c.connected);
      moved.c.close();
      bystander.c.close();
    });
  }

  test("rtspkit's client follows an ANNOUNCE of new media; a client that is not ours gets BYE and is closed", async () => {
    const ours = await player(a.url('changing'), 'tcp');
    assert.deepEqual(ours.codecs().sort(), ['H264', 'MPEG4-GENERIC'].sort());
    const announces: RtspRequest[] = [];
    ours.c.on('serverRequest', (req) => announces.push(req));
    const theirs = await rawReader(
      a.server.port,
      a.url('changing'),
      'LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)',
    );
    const before = { ...a.server.readerMoves.counters };
    // What a pull source does when its camera comes back with other parameters: the old stream ends
    // saying so, and the path is fed again with the new media.
    const old = a.server.paths.get('changing')!.stream!;
    old.end('camera reconnected with new parameters', { mediaChanged: true });
    await feeding.get('changing')!.stop();
    await feed(a.server, 'changing', H265);
    await waitFor(() => announces.some((r) => r.method === 'ANNOUNCE'), 5000, 'ANNOUNCE');
    const announce = announces.find((r) => r.method === 'ANNOUNCE')!;
    assert.match(announce.body.toString(), /H265/);
    await waitFor(() => ours.codecs().includes('H265'), 10_000, 'the new description taken');
    const atChange = ours.frames();
    await waitFor(() => ours.frames() > atChange + 10, 10_000, 'frames of the new media');
    const counters = a.server.readerMoves.counters;
    assert.equal(counters.announced - before.announced, 1);
    assert.equal(counters.announceFollowed - before.announceFollowed, 1);
    assert.equal(counters.mediaChangeEnded - before.mediaChangeEnded, 1);
    // The other client: RTCP BYE, then its connection closed (it sends no TEARDOWN).
    await waitFor(() => theirs.byes > 0, 5000, 'RTCP BYE to the other client');
    await theirs.raw.until(() => theirs.raw.closed, GRACE_MS * 5, 'its connection closed');
    assert.equal(theirs.requests.length, 0, 'no ANNOUNCE to a client that is not ours');
    ours.c.close();
  });

  // Clients that do not follow: each gets BYE and its connection closed; the server counts and goes on.
  const misbehaviours: {
    name: string;
    answer: (req: RtspRequest) => string | undefined;
    counter: 'redirectNotFollowed';
    also: 'timedOut' | 'unmatched' | 'answered' | undefined;
  }[] = [
    {
      name: 'answers 501 (ffmpeg)',
      answer: (req) => `RTSP/1.0 501 Not Implemented\r\nCSeq: ${req.headers.get('CSeq')}\r\n\r\n`,
      counter: 'redirectNotFollowed',
      also: 'answered',
    },
    {
      name: 'never answers (rtspsrc)',
      answer: () => undefined,
      counter: 'redirectNotFollowed',
      also: 'timedOut',
    },
    {
      name: 'answers with a wrong CSeq',
      answer: (req) => `RTSP/1.0 200 OK\r\nCSeq: ${Number(req.headers.get('CSeq')) + 77}\r\n\r\n`,
      counter: 'redirectNotFollowed',
      also: 'unmatched',
    },
    {
      name: 'answers garbage',
      answer: () => 'RTSP/1.0 abc what\r\nCSeq: x\r\n\r\n\u0000\u0001garbage\r\n\r\n',
      counter: 'redirectNotFollowed',
      also: undefined,
    },
  ];
  for (const m of misbehaviours) {
    test(`a reader whose client ${m.name} gets RTCP BYE and its connection closed`, async () => {
      const r = await rawReader(a.server.port, a.url('other'), 'ffmpeg-like', m.answer);
      const before = { ...a.server.readerMoves.counters, ...a.server.readerMoves.requests.counters };
      const n = a.server.redirectReaders(
        (p) => (p === 'other' ? 'rtsp://127.0.0.1:1/elsewhere' : undefined),
        'test',
      );
      assert.ok(n >= 1);
      await r.raw.until(() => r.raw.closed, REQUEST_TIMEOUT_MS + GRACE_MS * 5, 'the connection closed');
      const redirect = r.requests[0];
      assert.equal(redirect?.method, 'REDIRECT');
      assert.equal(redirect.headers.get('Location'), 'rtsp://127.0.0.1:1/elsewhere');
      assert.equal(redirect.headers.get('Session'), r.session);
      if (m.also !== undefined) {
        assert.ok(r.byes > 0, 'RTCP BYE before the close');
        const after = { ...a.server.readerMoves.counters, ...a.server.readerMoves.requests.counters };
        assert.ok(after[m.counter] > before[m.counter]);
        assert.ok(after[m.also] > before[m.also]);
      }
      assert.ok(![...a.server.sessions.keys()].includes(r.session));
      // The server goes on: a new reader of that path plays.
      const next = await rawReader(a.server.port, a.url('other'), 'next');
      next.raw.close();
    });
  }

  test('requests waiting on one connection are bounded', async () => {
    a.server.updateLimits({ maxServerRequestsPending: 1 });
    try {
      const r = await rawReader(a.server.port, a.url('other'), 'silent', () => undefined);
      const before = a.server.readerMoves.requests.counters.overLimit;
      const select = (p: string): string | undefined => (p === 'other' ? 'rtsp://127.0.0.1:1/x' : undefined);
      a.server.redirectReaders(select, 'first');
      a.server.redirectReaders(select, 'second');
      await waitFor(
        () => a.server.readerMoves.requests.counters.overLimit > before,
        3000,
        'the second request refused',
      );
      await r.raw.until(() => r.raw.closed, REQUEST_TIMEOUT_MS + GRACE_MS * 5, 'the connection closed');
      assert.equal(r.requests.length, 1);
    } finally {
      a.server.updateLimits({ maxServerRequestsPending: 4 });
    }
  });
});

/**
 * A reader over TCP from RawClient with `userAgent`, playing `url`: counts RTCP BYEs and notes the
 * requests the server sends it, answering each with `answer` (nothing when it gives undefined).
 */
async function rawReader(
  port: number,
  url: string,
  userAgent: string,
  answer: (req: RtspRequest) => string | undefined = () => undefined,
): Promise<{ raw: RawClient; session: string; requests: RtspRequest[]; byes: number }> {
  const raw = await RawClient.connect(port);
  const out = { raw, session: '', requests: [] as RtspRequest[], byes: 0 };
  const framer = new RtspFramer();
  raw.socket.on('data', (chunk: Buffer) => {
    for (const m of framer.push(chunk)) {
      if (m.kind === 'request') {
        out.requests.push(m);
        const text = answer(m);
        if (text !== undefined) raw.socket.write(text);
      } else if (m.kind === 'interleaved' && m.channel % 2 === 1) {
        if (parseRtcpCompound(m.payload).some((p) => p.type === 'bye')) out.byes++;
      }
    }
  });
  raw.onFrame = () => undefined;
  const ua = { 'User-Agent': userAgent };
  assert.equal((await raw.request('DESCRIBE', url, ua)).statusCode, 200);
  const setup = await raw.request('SETUP', `${url}/trackID=0`, {
    ...ua,
    Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
  });
  assert.equal(setup.statusCode, 200);
  out.session = sessionId(setup);
  assert.equal((await raw.request('PLAY', url, { ...ua, Session: out.session })).statusCode, 200);
  return out;
}
