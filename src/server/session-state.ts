/**
 * The server's session state machine (RFC 2326 Appendix A.2) as data: for each role a session plays,
 * each state it can be in and each request or event, the state that follows or the refusal. The
 * request gate asks the table before a handler runs (455 Method Not Valid in This State, with `Allow`
 * listing what the state accepts, §11.3.6 and §12.4); a handler that succeeds applies the cell
 * (ServerSession.transition), and a handler that fails (404, 457, 461...) leaves the state as it was.
 *
 * Appendix A.2, as the RFC writes it:
 *   Init      SETUP → Ready,  TEARDOWN → Init
 *   Ready     PLAY → Playing, RECORD → Recording, SETUP → Ready, TEARDOWN → Init
 *   Playing   PLAY → Playing, PAUSE → Ready, SETUP → Playing, TEARDOWN → Init
 *   Recording RECORD → Recording, PAUSE → Ready, SETUP → Recording, TEARDOWN → Init
 * OPTIONS, DESCRIBE, GET_PARAMETER and SET_PARAMETER do not change the state. Where this server
 * departs from it on purpose, the cell says why.
 *
 * The rows are per role because a role decides which half of the machine a session can reach: a
 * reader never records, a publisher never plays (rights.ts: the session's mode is the right it was
 * made with). A live reader whose stream ended has one more row, `stream-gone`: Ready to the RFC
 * (and to the API), but it answers what a client told of the end with RTCP BYE sends next.
 */
import { RtspStatus } from '../rtsp/status.js';
import type { VodFile, VodPlayer } from '../sources/vod-player.js';
import type { ReaderUpstream } from './reader-upstream.js';

/** RFC 2326 Appendix A.2 server states, as a session reports them. */
export type SessionState = 'init' | 'ready' | 'playing' | 'recording';

/** The methods a request inside a session may carry (REDIRECT and unknown methods never reach the table). */
export const SESSION_METHODS = [
  'OPTIONS',
  'DESCRIBE',
  'ANNOUNCE',
  'SETUP',
  'PLAY',
  'PAUSE',
  'RECORD',
  'TEARDOWN',
  'GET_PARAMETER',
  'SET_PARAMETER',
] as const;
export type SessionMethod = (typeof SESSION_METHODS)[number];

export function isSessionMethod(method: string): method is SessionMethod {
  return (SESSION_METHODS as readonly string[]).includes(method);
}

/**
 * What moves a session besides requests:
 * - `PAUSE at a point`: a file reader's PAUSE with a Range (§10.6): it plays on until the point;
 * - `stream ended`: a live reader's stream ended (its publisher left, its multicast group closed);
 * - `playback ended`: a file reader's player stopped by itself (end of range or file, the pause
 *   point, a read error).
 */
export const SESSION_EVENTS = ['PAUSE at a point', 'stream ended', 'playback ended'] as const;
export type SessionEvent = (typeof SESSION_EVENTS)[number];
export type SessionInput = SessionMethod | SessionEvent;

/** The table's rows: the Appendix A states, and the live reader's Ready after its stream ended. */
export type SessionRow = SessionState | 'stream-gone';

/** The roles, fixed when the session is made: a publisher by ANNOUNCE, a reader by its first SETUP. */
export type SessionRole =
  | { readonly kind: 'live-reader' }
  | { readonly kind: 'publisher' }
  | {
      readonly kind: 'file-reader';
      /** The file, opened (shared) for this session alone to play (vod-files.ts). */
      readonly realPath: string;
      readonly file: VodFile;
      /** Made at its first PLAY or PAUSE (vod-control.ts). */
      player: VodPlayer | undefined;
    }
  | {
      /** A reader with its own upstream session (proxy-control.ts): a recorded upstream, proxied. */
      readonly kind: 'proxy-reader';
      readonly upstream: ReaderUpstream;
    };
export type SessionRoleKind = SessionRole['kind'];
export type FileReaderRole = Extract<SessionRole, { kind: 'file-reader' }>;
export type ProxyReaderRole = Extract<SessionRole, { kind: 'proxy-reader' }>;

/**
 * A cell: the next row (the request is valid; its handler may still fail without moving), the end of
 * the session (TEARDOWN: Appendix A's Init, but the session is gone), or a refusal. Events are never
 * answered: their refusal means "nothing happens".
 */
export type SessionCell =
  | { readonly next: SessionRow }
  | { readonly ends: true }
  | { readonly refuse: StateRefusalStatus; readonly why?: string };

/** 455 Method Not Valid in This State (§11.3.6), or 404 where what the session was set up for is gone. */
export type StateRefusalStatus = typeof RtspStatus.MethodNotValidInThisState | typeof RtspStatus.NotFound;

const stay = (row: SessionRow): SessionCell => ({ next: row });
const to = (row: SessionRow): SessionCell => ({ next: row });
const END: SessionCell = { ends: true };
const REFUSE: SessionCell = { refuse: RtspStatus.MethodNotValidInThisState };
const refuse = (why: string): SessionCell => ({ refuse: RtspStatus.MethodNotValidInThisState, why });

type Row = Readonly<Record<SessionInput, SessionCell>>;

/** What every state of every role answers alike: requests that never change the state, and TEARDOWN. */
function row(
  here: SessionRow,
  cells: Partial<Record<'SETUP' | 'PLAY' | 'PAUSE' | 'RECORD' | SessionEvent, SessionCell>>,
): Row {
  return {
    OPTIONS: stay(here),
    DESCRIBE: stay(here),
    // A session is made by ANNOUNCE (publisher) or SETUP (reader); an ANNOUNCE inside one has no place.
    ANNOUNCE: REFUSE,
    SETUP: REFUSE,
    PLAY: REFUSE,
    PAUSE: REFUSE,
    RECORD: REFUSE,
    TEARDOWN: END,
    // Keepalives and statistics (§10.8, §10.9).
    GET_PARAMETER: stay(here),
    SET_PARAMETER: stay(here),
    // Events of other roles: nothing happens.
    'PAUSE at a point': REFUSE,
    'stream ended': REFUSE,
    'playback ended': REFUSE,
    ...cells,
  };
}

/**
 * §10.4 lets a server refuse a SETUP that would change a playing session's transport (455); changing
 * transports under a running stream is not supported, so Appendix A's Playing/Recording → SETUP → same
 * state is refused.
 */
const SETUP_WHILE_RUNNING = refuse('no transport change while the session plays or records (§10.4)');

const LIVE_READER: Readonly<Partial<Record<SessionRow, Row>>> = {
  init: row('init', { SETUP: to('ready'), 'stream ended': to('stream-gone') }),
  ready: row('ready', {
    SETUP: stay('ready'),
    PLAY: to('playing'),
    'stream ended': to('stream-gone'),
  }),
  playing: row('playing', {
    SETUP: SETUP_WHILE_RUNNING,
    // Playing → PLAY → Playing: answered 200 with nothing restarted.
    PLAY: stay('playing'),
    PAUSE: to('ready'),
    'stream ended': to('stream-gone'),
  }),
  'stream-gone': row('stream-gone', {
    // A SETUP still adds a track (to a new publisher's media); PLAY stays refused below.
    SETUP: stay('stream-gone'),
    // The set-up tracks belonged to the stream that ended and do not carry over to a new publisher,
    // whose tracks may differ: the client sets up again (a new session).
    PLAY: { refuse: RtspStatus.NotFound, why: 'the stream this session was set up for has ended' },
    // Not in Appendix A (PAUSE in Ready): rtspsrc answers RTCP BYE with PAUSE, then TEARDOWN, and
    // reports an error status as a failure, so PAUSE is answered 200 and nothing moves.
    PAUSE: stay('stream-gone'),
    // Told once: a second end changes nothing.
    'stream ended': REFUSE,
  }),
};

const PUBLISHER: Readonly<Partial<Record<SessionRow, Row>>> = {
  init: row('init', { SETUP: to('ready') }),
  ready: row('ready', { SETUP: stay('ready'), RECORD: to('recording') }),
  recording: row('recording', {
    SETUP: SETUP_WHILE_RUNNING,
    RECORD: stay('recording'),
    PAUSE: to('ready'),
  }),
};

const FILE_READER: Readonly<Partial<Record<SessionRow, Row>>> = {
  // The player is made at the first PLAY or PAUSE: nothing ends before.
  init: row('init', { SETUP: to('ready') }),
  ready: row('ready', {
    SETUP: stay('ready'),
    PLAY: to('playing'),
    // Not in Appendix A (PAUSE in Ready): a file pauses by itself at the end of its range or file,
    // and clients (ffmpeg, GStreamer) then send PAUSE; they get the position (200) instead of an error.
    PAUSE: stay('ready'),
    'PAUSE at a point': stay('ready'),
    'playback ended': stay('ready'),
  }),
  playing: row('playing', {
    SETUP: SETUP_WHILE_RUNNING,
    // §10.5: a PLAY while playing queues its range after the current one.
    PLAY: stay('playing'),
    PAUSE: to('ready'),
    // §10.6: a PAUSE with a Range plays on until that point; the player then stops (`playback ended`).
    'PAUSE at a point': stay('playing'),
    'playback ended': to('ready'),
  }),
};

/** The whole table: role × row × input → cell. */
export const SESSION_TABLE: Readonly<Record<SessionRoleKind, Readonly<Partial<Record<SessionRow, Row>>>>> = {
  'live-reader': LIVE_READER,
  publisher: PUBLISHER,
  'file-reader': FILE_READER,
  // Its PLAY and PAUSE are the upstream's (a recording or a file on demand there): a file reader's
  // moves. The upstream's BYE on every track is its `playback ended`; a PAUSE point is refused (456)
  // by proxy-control.ts before the table is asked to move.
  'proxy-reader': FILE_READER,
};

/** The rows a role can be in (the keys of its part of the table). */
export function rowsOf(role: SessionRoleKind): SessionRow[] {
  return Object.keys(SESSION_TABLE[role]) as SessionRow[];
}

/** The cell for `input` in `row` of `role`; a row the role never reaches refuses everything. */
export function sessionCell(role: SessionRoleKind, at: SessionRow, input: SessionInput): SessionCell {
  return SESSION_TABLE[role][at]?.[input] ?? REFUSE;
}

/** The Appendix A state of a row (`stream-gone` is Ready). */
export function stateOfRow(at: SessionRow): SessionState {
  return at === 'stream-gone' ? 'ready' : at;
}

/** The methods `row` of `role` accepts, for the `Allow` header of a 455 (§12.4), in SESSION_METHODS order. */
export function allowedMethods(role: SessionRoleKind, at: SessionRow): SessionMethod[] {
  return SESSION_METHODS.filter((m) => !('refuse' in sessionCell(role, at, m)));
}
