import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { boundLogger, nullLogger } from '../base/logger.js';
import { createLogger } from './logger.js';

function lines(): { stream: Writable; events: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return {
    stream,
    events: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const { time: _time, ...rest } = JSON.parse(l) as Record<string, unknown>;
          return rest;
        }),
  };
}

test("boundLogger (a connection's, a session's) writes the lines pino's child would, and follows the root's level", () => {
  const child = lines();
  const bound = lines();
  const viaChild = createLogger('info', child.stream).child({ conn: 7 });
  const root = createLogger('info', bound.stream);
  const viaBound = boundLogger(root, { conn: 7 });
  for (const log of [viaChild, viaBound]) {
    log.info({ remote: '127.0.0.1:5000' }, 'connection opened');
    log.debug({ method: 'OPTIONS' }, 'request'); // below the level: not written
    log.child({ session: 'ab' }).warn({ reason: 'x' }, 'session ended');
    log.error({ err: 'boom' });
  }
  assert.deepEqual(bound.events(), child.events());
  assert.deepEqual(Object.keys(bound.events()[0]!), ['level', 'app', 'conn', 'remote', 'msg']);
  assert.deepEqual(bound.events()[1], {
    level: 40,
    app: 'rtspkit',
    conn: 7,
    session: 'ab',
    reason: 'x',
    msg: 'session ended',
  });
  // A config reload changes the root's level: the bound logger writes through the root.
  root.level = 'debug';
  viaBound.debug({ method: 'OPTIONS' }, 'request');
  assert.deepEqual(bound.events().at(-1), {
    level: 20,
    app: 'rtspkit',
    conn: 7,
    method: 'OPTIONS',
    msg: 'request',
  });
  assert.equal(boundLogger(nullLogger, { conn: 1 }), nullLogger);
});
