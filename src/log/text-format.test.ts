import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { formatLogLine, formatLogTime } from './text-format.js';
import { createLogger } from './logger.js';

const ESC = String.fromCharCode(0x1b);

function sink(isTTY?: boolean): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  }) as Writable & { isTTY?: boolean };
  if (isTTY !== undefined) stream.isTTY = isTTY;
  return { stream, text: () => text };
}

test('a JSON event becomes one text line: time, level word, message, key=value', () => {
  const time = Date.UTC(2026, 11, 6, 14, 31, 2, 123);
  const line = formatLogLine(
    JSON.stringify({
      level: 30,
      time,
      app: 'rtspkit',
      msg: 'request refused',
      conn: 5,
      method: 'DESCRIBE',
      path: '/cam 1',
      status: 404,
      tracks: ['H264/90000'],
    }),
    false,
  );
  assert.equal(
    line,
    `${formatLogTime(time)} INFO  request refused conn=5 method=DESCRIBE path="/cam 1" status=404 tracks=["H264/90000"]`,
  );
  assert.match(formatLogTime(time), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.123$/);
  // A stack trace stays on its line.
  assert.doesNotMatch(
    formatLogLine(JSON.stringify({ level: 50, time, msg: 'x', err: 'a\n  at b' }), false),
    /\n/,
  );
  assert.match(formatLogLine(JSON.stringify({ level: 40, time, msg: 'x' }), false), / WARN {2}x$/);
  assert.equal(formatLogLine('not json', false), 'not json');
});

test('colours only when asked (a terminal)', () => {
  const line = JSON.stringify({ level: 50, time: 0, msg: 'boom', a: 1 });
  assert.ok(!formatLogLine(line, false).includes(ESC));
  assert.ok(formatLogLine(line, true).includes(`${ESC}[31mERROR`));
});

test('createLogger: JSON lines unless asked for text; auto is text on a terminal only', () => {
  const json = sink();
  createLogger('info', json.stream).info({ path: 'cam' }, 'hello');
  const event = JSON.parse(json.text()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(event), ['level', 'time', 'app', 'path', 'msg']);
  assert.equal(event.level, 30);

  const pipe = sink(false);
  createLogger('info', pipe.stream, 'auto').info({}, 'hello');
  assert.ok(pipe.text().startsWith('{"level":30,'));

  const tty = sink(true);
  createLogger('info', tty.stream, 'auto').warn({ path: 'cam' }, 'hello');
  assert.match(
    tty.text().replaceAll(new RegExp(`${ESC}\\[\\d+m`, 'g'), ''),
    /^\d{4}-\d\d-\d\d [\d:.]+ WARN {2}hello path=cam\n$/,
  );

  const text = sink();
  const logger = createLogger('info', text.stream, 'text');
  logger.debug({}, 'hidden');
  logger.info({ a: 1 }, 'shown');
  assert.match(text.text(), /^[\d-]+ [\d:.]+ INFO {2}shown a=1\n$/);
});
