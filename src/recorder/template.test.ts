import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { parseRecordingFileName, recordingFileName, recordingRoot } from './template.js';

const T = Date.UTC(2026, 11, 6, 10, 15, 3, 250) + 0.123; // 10:15:03.250123 UTC

test('a file name from the template: %path, UTC fields, microseconds, .mp4', () => {
  assert.equal(
    recordingFileName('/rec/%path/%Y-%m-%d_%H-%M-%S-%f', 'site/cam1', T),
    '/rec/site/cam1/2026-12-06_10-15-03-250123.mp4',
  );
  assert.equal(recordingFileName('rec/%path_%Y%m%d', 'a', T), resolve('rec/a_20261206.mp4'));
});

test('a file name reads back to its path and start; other names are not ours', () => {
  const template = '/rec/%path/%Y-%m-%d_%H-%M-%S-%f';
  const file = recordingFileName(template, 'site/cam1', T);
  const back = parseRecordingFileName(template, file);
  assert.ok(back !== undefined);
  assert.equal(back.path, 'site/cam1');
  assert.ok(Math.abs(back.startWallMs - T) < 0.001);
  assert.equal(parseRecordingFileName(template, '/rec/cam1/notes.mp4'), undefined);
  assert.equal(parseRecordingFileName(template, '/rec/cam1/2026-12-06_10-15-03-250123.mkv'), undefined);
  assert.equal(parseRecordingFileName(template, '/other/cam1/2026-12-06_10-15-03-250123.mp4'), undefined);
  // Fields a template lacks count as 0.
  assert.equal(
    parseRecordingFileName('/r/%path/%Y-%m-%d', '/r/x/2026-12-06.mp4')?.startWallMs,
    Date.UTC(2026, 11, 6),
  );
});

test('the folder a template scans: everything before its first field', () => {
  assert.equal(recordingRoot('/rec/%path/%Y'), '/rec/');
  assert.equal(recordingRoot('/rec/cams-%path/%Y'), '/rec/');
  assert.equal(recordingRoot('rec/%path'), resolve('rec') + '/');
});
