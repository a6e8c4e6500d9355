import { after, test } from 'node:test';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { nullLogger } from '../base/logger.js';
import { ServerSession } from './session.js';
import { fitsSession } from './rights.js';
import {
  SESSION_EVENTS,
  SESSION_METHODS,
  SESSION_TABLE,
  allowedMethods,
  rowsOf,
  sessionCell,
  type SessionInput,
  type SessionRole,
  type SessionRoleKind,
  type SessionRow,
} from './session-state.js';
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

/**
 * The expected table, written out apart from the module's: per role and row, the inputs that are
 * valid and the row they lead to ('end' for TEARDOWN), and the refusals other than 455. Every other
 * input of that row must be refused with 455.
 */
type Expected = Partial<Record<SessionInput, SessionRow | 'end' | 404>>;
const KEEP = (row: SessionRow): Expected => ({
  OPTIONS: row,
  DESCRIBE: row,
  GET_PARAMETER: row,
  SET_PARAMETER: row,
  TEARDOWN: 'end',
});

const EXPECTED: Record<SessionRoleKind, Partial<Record<SessionRow, Expected>>> = {
  'live-reader': {
    init: { ...KEEP('init'), SETUP: 'ready', 'stream ended': 'stream-gone' },
    ready: { ...KEEP('ready'), SETUP: 'ready', PLAY: 'playing', 'stream ended': 'stream-gone' },
    playing: { ...KEEP('playing'), PLAY: 'playing', PAUSE: 'ready', 'stream ended': 'stream-gone' },
    'stream-gone': { ...KEEP('stream-gone'), SETUP: 'stream-gone', PLAY: 404, PAUSE: 'stream-gone' },
  },
  publisher: {
    init: { ...KEEP('init'), SETUP: 'ready' },
    ready: { ...KEEP('ready'), SETUP: 'ready', RECORD: 'recording' },
    recording: { ...KEEP('recording'), RECORD: 'recording', PAUSE: 'ready' },
  },
  'file-reader': {
    init: { ...KEEP('init'), SETUP: 'ready' },
    ready: {
      ...KEEP('ready'),
      SETUP: 'ready',
      PLAY: 'playing',
      PAUSE: 'ready',
      'PAUSE at a point': 'ready',
      'playback ended': 'ready',
    },
    playing: {
      ...KEEP('playing'),
      PLAY: 'playing',
      PAUSE: 'ready',
      'PAUSE at a point': 'playing',
      'playback ended': 'ready',
    },
  },
  // A recording proxied per reader moves as a file on demand (the upstream's PLAY and PAUSE).
  get 'proxy-reader'() {
    return this['file-reader'];
  },
};

const ROLE_KINDS: SessionRoleKind[] = ['live-reader', 'publisher', 'file-reader', 'proxy-reader'];
const INPUTS: SessionInput[] = [...SESSION_METHODS, ...SESSION_EVENTS];

test('every cell of the table, for every role and row, is the expected next row or refusal', () => {
  let cells = 0;
  for (const role of ROLE_KINDS) {
    assert.deepEqual(rowsOf(role).sort(), Object.keys(EXPECTED[role]).sort(), `${role}: its rows`);
    for (const row of rowsOf(role)) {
      const expected = EXPECTED[role][row]!;
      for (const input of INPUTS) {
        const want = expected[input] ?? 455;
        const cell = sessionCell(role, row, input);
        const got = 'next' in cell ? cell.next : 'ends' in cell ? 'end' : cell.refuse;
        assert.equal(got, want, `${role} / ${row} / ${input}`);
        cells++;
      }
    }
  }
  // 3 + 3 + 4 rows, 13 inputs each.
  assert.equal(cells, 13 * INPUTS.length);
});

test('a row a role never reaches refuses everything (a reader never records, a publisher never plays)', () => {
  for (const input of INPUTS) {
    assert.deepEqual(sessionCell('live-reader', 'recording', input), { refuse: 455 });
    assert.deepEqual(sessionCell('file-reader', 'recording', input), { refuse: 455 });
    assert.deepEqual(sessionCell('publisher', 'playing', input), { refuse: 455 });
  }
  assert.equal(SESSION_TABLE.publisher.playing, undefined);
});

test('Allow lists the methods a row accepts, in a fixed order (RFC 2326 §12.4)', () => {
  assert.deepEqual(allowedMethods('live-reader', 'init'), [
    'OPTIONS',
    'DESCRIBE',
    'SETUP',
    'TEARDOWN',
    'GET_PARAMETER',
    'SET_PARAMETER',
  ]);
  assert.deepEqual(allowedMethods('live-reader', 'playing'), [
    'OPTIONS',
    'DESCRIBE',
    'PLAY',
    'PAUSE',
    'TEARDOWN',
    'GET_PARAMETER',
    'SET_PARAMETER',
  ]);
  // PLAY after the stream ended is 404, not valid: not in Allow.
  assert.deepEqual(allowedMethods('live-reader', 'stream-gone'), [
    'OPTIONS',
    'DESCRIBE',
    'SETUP',
    'PAUSE',
    'TEARDOWN',
    'GET_PARAMETER',
    'SET_PARAMETER',
  ]);
  assert.deepEqual(allowedMethods('publisher', 'recording'), [
    'OPTIONS',
    'DESCRIBE',
    'PAUSE',
    'RECORD',
    'TEARDOWN',
    'GET_PARAMETER',
    'SET_PARAMETER',
  ]);
  for (const role of ROLE_KINDS)
    for (const row of rowsOf(role)) {
      const allow = allowedMethods(role, row);
      assert.ok(!allow.includes('ANNOUNCE'), `${role} / ${row}: ANNOUNCE never inside a session`);
      assert.ok(allow.includes('TEARDOWN') && allow.includes('OPTIONS'), `${role} / ${row}`);
    }
});

test('the table agrees with the rights: PLAY only in a reader’s session, RECORD only in a publisher’s', () => {
  for (const role of ROLE_KINDS) {
    const mode = role === 'publisher' ? 'record' : 'play';
    for (const method of ['PLAY', 'RECORD'] as const) {
      const validSomewhere = rowsOf(role).some((row) => !('refuse' in sessionCell(role, row, method)));
      assert.equal(validSomewhere, fitsSession(mode, method, undefined), `${role} / ${method}`);
    }
  }
});

function roleOf(kind: SessionRoleKind): SessionRole {
  if (kind === 'file-reader') return { kind, realPath: CLIP_PATH, file: CLIP, player: undefined };
  if (kind === 'proxy-reader') return { kind, upstream: NO_UPSTREAM };
  return { kind };
}

function sessionIn(kind: SessionRoleKind): ServerSession {
  return new ServerSession('S', '/p', roleOf(kind), 1, undefined, nullLogger, 0, 0);
}

/** Inputs that lead a fresh session of `kind` to `row`, found by walking the table (breadth first). */
function pathTo(kind: SessionRoleKind, row: SessionRow): SessionInput[] {
  const queue: { at: SessionRow; path: SessionInput[] }[] = [{ at: 'init', path: [] }];
  const seen = new Set<SessionRow>(['init']);
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    if (item.at === row) return item.path;
    for (const input of INPUTS) {
      const cell = sessionCell(kind, item.at, input);
      if ('next' in cell && !seen.has(cell.next)) {
        seen.add(cell.next);
        queue.push({ at: cell.next, path: [...item.path, input] });
      }
    }
  }
  throw new Error(`${kind}: ${row} unreachable`);
}

test('a session moves by the table: every cell applied to a real session in that row', () => {
  for (const kind of ROLE_KINDS) {
    for (const row of rowsOf(kind)) {
      for (const input of INPUTS) {
        const s = sessionIn(kind);
        for (const step of pathTo(kind, row)) assert.ok(s.transition(step), `${kind}: ${step} on the way`);
        assert.equal(s.streamGone, row === 'stream-gone');
        const before = s.state;
        const cell = sessionCell(kind, row, input);
        const what = `${kind} / ${row} / ${input}`;
        if ((SESSION_METHODS as readonly string[]).includes(input)) {
          // What the gate asks before the handler runs.
          const refusal = s.refusal(input as (typeof SESSION_METHODS)[number]);
          if ('refuse' in cell) {
            assert.equal(refusal?.statusCode, cell.refuse, what);
            assert.deepEqual(refusal.allow, allowedMethods(kind, row), what);
          } else assert.equal(refusal, undefined, what);
        }
        const moved = s.transition(input);
        if ('next' in cell) {
          assert.ok(moved, what);
          assert.equal(s.state, cell.next === 'stream-gone' ? 'ready' : cell.next, what);
        } else {
          assert.equal(moved, false, what);
          assert.equal(s.state, before, `${what}: nothing moves`);
        }
      }
    }
  }
});

test('state, mode and started follow the role and the transitions', () => {
  const reader = sessionIn('live-reader');
  assert.equal(reader.mode, 'play');
  assert.equal(reader.state, 'init');
  assert.deepEqual(reader.refusal('PLAY'), {
    statusCode: 455,
    allow: ['OPTIONS', 'DESCRIBE', 'SETUP', 'TEARDOWN', 'GET_PARAMETER', 'SET_PARAMETER'],
  });
  assert.ok(reader.transition('SETUP'));
  assert.equal(reader.started, false);
  assert.ok(reader.transition('PLAY'));
  assert.equal(reader.state, 'playing');
  assert.equal(reader.started, true);
  assert.ok(reader.transition('PAUSE'));
  assert.equal(reader.state, 'ready');
  assert.equal(reader.started, true, 'pausing does not make it half-made again');
  assert.equal(reader.refusal('PAUSE')?.statusCode, 455, 'PAUSE in Ready');
  assert.ok(reader.transition('stream ended'));
  assert.equal(reader.state, 'ready');
  assert.ok(reader.streamGone);
  assert.equal(reader.refusal('PAUSE'), undefined, 'rtspsrc’s PAUSE after BYE');
  assert.equal(reader.refusal('PLAY')?.statusCode, 404);
  assert.equal(reader.transition('stream ended'), false, 'told once');

  const publisher = sessionIn('publisher');
  assert.equal(publisher.mode, 'record');
  assert.equal(publisher.refusal('PLAY')?.statusCode, 455);
  assert.ok(publisher.transition('SETUP'));
  assert.ok(publisher.transition('RECORD'));
  assert.equal(publisher.state, 'recording');
  assert.equal(publisher.refusal('SETUP')?.statusCode, 455, 'no transport change while recording');
  assert.ok(publisher.transition('RECORD'), 'RECORD while recording');
  assert.ok(publisher.transition('PAUSE'));
  assert.equal(publisher.state, 'ready');

  const file = sessionIn('file-reader');
  assert.equal(file.mode, 'play');
  assert.ok(file.transition('SETUP'));
  assert.ok(file.transition('PLAY'));
  assert.ok(file.transition('PAUSE at a point'));
  assert.equal(file.state, 'playing', 'plays on until the pause point');
  assert.ok(file.transition('playback ended'));
  assert.equal(file.state, 'ready');
  assert.equal(file.refusal('PAUSE'), undefined, 'PAUSE after the file paused by itself');
});
