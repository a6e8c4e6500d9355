/**
 * A session's timers without sockets: the real SessionLifecycle and Sweeper on a ManualTimerClock,
 * which runs their timers only when the test advances it. Session timeout (§12.37) from every state,
 * keepalive, the start timeout, a silent UDP publisher, and a reader's grace after RTCP BYE.
 */
import { after, test } from 'node:test';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ManualTimerClock } from '../base/clock.js';
import { nullLogger } from '../base/logger.js';
import { RtspHeaders } from '../rtsp/headers.js';
import type { RtspRequest } from '../rtsp/message.js';
import { parseRtcpCompound } from '../rtp/rtcp.js';
import type { UdpPair } from '../transport/udp.js';
import { PathManager } from '../paths/path-manager.js';
import { Stream } from '../media/stream.js';
import { resolveServerOptions } from './server-options.js';
import { UDP_BYE_DELAY_MS } from './server-rtcp.js';
import { SessionLifecycle, type SessionConnection } from './session-lifecycle.js';
import { SessionLimits } from './session-limits.js';
import { rowsOf, type SessionInput, type SessionRole, type SessionRoleKind } from './session-state.js';
import type { ServerSession } from './session.js';
import { SWEEP_INTERVAL_MS, Sweeper } from './sweeper.js';
import { VodFile } from '../sources/vod-file.js';
import type { ReaderUpstream } from './reader-upstream.js';

/** A real file for the file reader's role (../shared/media, or RTSPKIT_MEDIA_DIR). */
const MEDIA_DIR =
  process.env.RTSPKIT_MEDIA_DIR ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'media');
const CLIP_PATH = join(MEDIA_DIR, 'h264_base_aac.mp4');
const CLIP = await VodFile.open(CLIP_PATH);
/** A proxied reader's upstream that is never asked: sessions here are moved by hand. */
const NO_UPSTREAM: ReaderUpstream = {
  media: CLIP.media,
  attach: () => undefined,
  play: () => Promise.reject(new Error('no upstream here')),
  pause: () => Promise.reject(new Error('no upstream here')),
  close: () => Promise.resolve(),
};
after(() => CLIP.close());

/** A connection as the lifecycle sees it: an address, its sessions, and a sink that records what it got. */
function fakeConnection(): SessionConnection & { rtcp: Buffer[]; ended: boolean } {
  const conn = {
    remoteAddress: '127.0.0.1',
    sessions: new Set<ServerSession>(),
    writableLength: 0,
    rtcp: [] as Buffer[],
    ended: false,
    write: () => undefined,
    writeTransient: () => true,
    writeInterleaved(_channel: number, packet: Buffer) {
      conn.rtcp.push(packet);
    },
    end() {
      conn.ended = true;
    },
  };
  return conn;
}

/** A UDP pair that records the RTCP it is asked to send. */
function fakePair(rtcp: Buffer[]): UdpPair {
  return {
    sendQueueBytes: 0,
    sendRtp: () => undefined,
    sendRtcp: (packet: Buffer) => {
      rtcp.push(packet);
    },
    route: () => true,
    unroute: () => undefined,
    close: () => undefined,
  } as unknown as UdpPair;
}

const REQUEST: RtspRequest = {
  kind: 'request',
  method: 'SETUP',
  uri: 'rtsp://h/p',
  version: 'RTSP/1.0',
  headers: new RtspHeaders({}),
  body: Buffer.alloc(0),
};

function harness() {
  const clock = new ManualTimerClock();
  const settings = resolveServerOptions({});
  const sessions = new Map<string, ServerSession>();
  const ended: { id: string; reason: string }[] = [];
  const lifecycle = new SessionLifecycle({
    clock,
    logger: nullLogger,
    settings,
    sessions,
    sessionLimits: new SessionLimits(),
    paths: new PathManager({
      clock,
      logger: nullLogger,
      newStream: (m, onEnded) => new Stream(m.tracks, { clock, onEnded }),
    }),
    authorizer: () => undefined,
    releaseShared: () => undefined,
    unbindChannels: () => undefined,
    ended: (s, reason) => ended.push({ id: s.id, reason }),
  });
  const sweeper = new Sweeper({
    clock,
    settings,
    sessions: () => sessions.values(),
    endSession: (s, reason) => lifecycle.end(s, reason),
    expireConnections: () => undefined,
    senderReports: () => undefined,
  });
  const conn = fakeConnection();
  const make = (role: SessionRole, ...inputs: SessionInput[]): ServerSession => {
    const s = lifecycle.create(conn, REQUEST, '/p', role, 1);
    for (const input of inputs) assert.ok(s.transition(input), `${role.kind}: ${input}`);
    return s;
  };
  const reasonOf = (s: ServerSession): string | undefined => ended.find((e) => e.id === s.id)?.reason;
  return { clock, settings, sessions, lifecycle, sweeper, conn, make, reasonOf };
}

const ROLES: Record<SessionRoleKind, SessionRole> = {
  'live-reader': { kind: 'live-reader' },
  publisher: { kind: 'publisher' },
  'file-reader': { kind: 'file-reader', realPath: CLIP_PATH, file: CLIP, player: undefined },
  'proxy-reader': { kind: 'proxy-reader', upstream: NO_UPSTREAM },
};
/** The inputs that bring a new session to each row (its role's). */
const WAY_TO: Record<string, SessionInput[]> = {
  init: [],
  ready: ['SETUP'],
  playing: ['SETUP', 'PLAY'],
  recording: ['SETUP', 'RECORD'],
  'stream-gone': ['SETUP', 'PLAY', 'stream ended'],
};

test('a session times out from every state of every role, after its timeout and the grace (§12.37)', () => {
  const h = harness();
  // A start timeout past the session timeout, so that only the session timeout is at work.
  h.settings.sessionStartTimeoutS = 1000;
  const all: ServerSession[] = [];
  for (const kind of Object.keys(ROLES) as SessionRoleKind[])
    for (const row of rowsOf(kind)) all.push(h.make(ROLES[kind], ...WAY_TO[row]!));
  assert.equal(all.length, 13);
  h.sweeper.start();
  const limitMs = (h.settings.sessionTimeoutS + h.settings.sessionTimeoutGraceS) * 1000;
  h.clock.advance(limitMs);
  assert.equal(h.sessions.size, all.length, 'idle exactly the limit: kept');
  h.clock.advance(SWEEP_INTERVAL_MS);
  assert.equal(h.sessions.size, 0);
  for (const s of all) assert.equal(h.reasonOf(s), 'session timeout', `${s.role.kind} / ${s.state}`);
  h.sweeper.stop();
  assert.equal(h.clock.pendingTimers, 0, 'the round stops with the server');
});

test('a keepalive (any request of the session) restarts its timeout', () => {
  const h = harness();
  const s = h.make(ROLES['live-reader'], 'SETUP', 'PLAY');
  h.sweeper.start();
  for (let i = 0; i < 5; i++) {
    h.clock.advance(50_000);
    s.keptAlive(h.clock.monotonicMs());
  }
  assert.equal(h.reasonOf(s), undefined, '250 s with a keepalive every 50 s');
  h.clock.advance((h.settings.sessionTimeoutS + h.settings.sessionTimeoutGraceS) * 1000 + SWEEP_INTERVAL_MS);
  assert.equal(h.reasonOf(s), 'session timeout');
  h.sweeper.stop();
});

test('a session that never plays or records ends after the start timeout, whatever its keepalives', () => {
  const h = harness();
  const halfMade = h.make(ROLES['live-reader'], 'SETUP');
  const playing = h.make(ROLES['live-reader'], 'SETUP', 'PLAY');
  const paused = h.make(ROLES.publisher, 'SETUP', 'RECORD', 'PAUSE');
  h.sweeper.start();
  const startMs = h.settings.sessionStartTimeoutS * 1000;
  for (let t = 0; t < startMs; t += 5000) {
    h.clock.advance(5000);
    for (const s of [halfMade, playing, paused]) s.keptAlive(h.clock.monotonicMs());
  }
  assert.equal(h.reasonOf(halfMade), undefined, 'exactly the start timeout: kept');
  h.clock.advance(SWEEP_INTERVAL_MS);
  assert.equal(h.reasonOf(halfMade), 'no PLAY or RECORD in time');
  assert.equal(h.reasonOf(playing), undefined);
  assert.equal(h.reasonOf(paused), undefined, 'paused after recording: started once');
  h.sweeper.stop();
});

test('a UDP publisher that goes silent while recording is ended; over TCP or paused it is not', () => {
  const h = harness();
  const udp = h.make(ROLES.publisher, 'SETUP');
  udp.setups[0] = {
    kind: 'udp',
    clientAddress: '127.0.0.1',
    clientRtpPort: 5000,
    clientRtcpPort: 5001,
    pair: fakePair([]),
    ownsPair: false,
  };
  assert.ok(udp.transition('RECORD'));
  const udpPaused = h.make(ROLES.publisher, 'SETUP');
  udpPaused.setups[0] = { ...udp.setups[0] };
  assert.ok(udpPaused.transition('RECORD') && udpPaused.transition('PAUSE'));
  const tcp = h.make(ROLES.publisher, 'SETUP', 'RECORD');
  tcp.setups[0] = { kind: 'tcp', rtpChannel: 0, rtcpChannel: 1 };
  h.sweeper.start();
  h.clock.advance(h.settings.udpReadTimeoutS * 1000 + SWEEP_INTERVAL_MS);
  assert.equal(h.reasonOf(udp), 'no packets from publisher');
  assert.equal(h.reasonOf(udpPaused), undefined);
  assert.equal(h.reasonOf(tcp), undefined);
  h.sweeper.stop();
});

test('an interleaved reader whose stream ended gets RTCP BYE, then its grace to send TEARDOWN', () => {
  const h = harness();
  const s = h.make(ROLES['live-reader'], 'SETUP');
  s.setups[0] = { kind: 'tcp', rtpChannel: 0, rtcpChannel: 1 };
  s.ssrcs[0] = 0x1234;
  assert.ok(s.transition('PLAY'));
  s.streamEnded('publisher gone');
  assert.equal(h.conn.rtcp.length, 1, 'BYE at once over TCP');
  const [bye] = parseRtcpCompound(h.conn.rtcp[0]!);
  assert.deepEqual(bye?.type === 'bye' ? bye.ssrcs : undefined, [0x1234]);
  assert.equal(s.state, 'ready');
  assert.ok(s.streamGone);
  assert.equal(s.refusal('PAUSE'), undefined, 'rtspsrc’s PAUSE after BYE is answered');
  s.streamEnded('again');
  assert.equal(h.conn.rtcp.length, 1, 'told once');

  h.clock.advance(h.settings.endedReaderGraceMs - 1);
  assert.equal(h.reasonOf(s), undefined, 'within its grace');
  assert.equal(h.conn.ended, false);
  h.clock.advance(1);
  assert.equal(h.reasonOf(s), 'publisher left (publisher gone); no TEARDOWN after RTCP BYE');
  assert.ok(h.conn.ended, 'its connection is closed');
  assert.equal(h.clock.pendingTimers, 0);
});

test('a UDP reader gets BYE after the last datagrams; a TEARDOWN within its grace cancels the grace', () => {
  const h = harness();
  const rtcp: Buffer[] = [];
  const s = h.make(ROLES['live-reader'], 'SETUP');
  s.setups[0] = {
    kind: 'udp',
    clientAddress: '127.0.0.1',
    clientRtpPort: 5000,
    clientRtcpPort: 5001,
    pair: fakePair(rtcp),
    ownsPair: false,
  };
  assert.ok(s.transition('PLAY'));
  s.streamEnded('publisher gone');
  assert.equal(rtcp.length, 0, 'not before the last RTP could land');
  assert.equal(s.state, 'playing');
  h.clock.advance(UDP_BYE_DELAY_MS);
  assert.equal(rtcp.length, 1);
  assert.ok(s.streamGone);
  assert.equal(h.clock.pendingTimers, 1, 'the grace');
  h.clock.advance(h.settings.endedReaderGraceMs / 2);
  h.lifecycle.end(s, 'teardown');
  assert.equal(h.clock.pendingTimers, 0, 'the grace is cancelled with the session');
  h.clock.advance(h.settings.endedReaderGraceMs);
  assert.equal(h.reasonOf(s), 'teardown');
  assert.equal(h.conn.ended, false, 'a UDP reader’s connection is left open');
});
