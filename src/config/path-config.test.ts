import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './config.js';
import { isSafeCapture, lookupPath, pathConfigFor, substituteCaptures } from './path-config.js';

const config = parseConfig(
  [
    'pathDefaults: { maxReaders: 5, runOnReady: "echo ready" }',
    'paths:',
    "  '~^cam(\\d+)$': { runOnDemand: 'make cam$G1', maxReaders: 2 }",
    "  '~^cam': { maxReaders: 3 }",
    '  cam7: { source: /clips/seven.mp4, overridePublisher: true }',
    "  '~^clip_(.+)$': { source: '/clips/$G1.mp4' }",
    'recordPaths:',
    '  "cam*": { record: true }',
    '  cam7: { recordDeleteAfter: 60 }',
  ].join('\n'),
);

test('an exact name wins over any regex; regexes are tried in the file order', () => {
  const seven = pathConfigFor(config, 'cam7')!;
  assert.equal(seven.key, 'cam7');
  assert.equal(seven.settings.overridePublisher, true);
  assert.equal(seven.settings.maxReaders, 5, 'pathDefaults under the entry');
  assert.equal(seven.settings.runOnDemand, '', 'a regex entry does not add to an exact one');
  const twelve = pathConfigFor(config, 'cam12')!;
  assert.equal(twelve.key, '~^cam(\\d+)$');
  assert.deepEqual(twelve.captures, ['cam12', '12']);
  assert.equal(twelve.settings.maxReaders, 2);
  assert.equal(twelve.settings.runOnReady, 'echo ready');
  assert.equal(pathConfigFor(config, 'camera')!.settings.maxReaders, 3, 'the second regex');
  const other = pathConfigFor(config, 'lobby')!;
  assert.equal(other.key, undefined);
  assert.equal(other.settings.maxReaders, 5);
});

test('recordPaths still applies, under the paths entry and over pathDefaults', () => {
  assert.equal(pathConfigFor(config, 'cam12')!.settings.record, true);
  assert.equal(pathConfigFor(config, 'cam7')!.settings.recordDeleteAfter, 60, 'an exact recordPaths name');
  assert.equal(pathConfigFor(config, 'cam7')!.settings.record, false, 'the exact entry, not cam*');
  assert.equal(pathConfigFor(config, 'lobby')!.settings.record, false);
});

test('a capture outside the safe set refuses the name', () => {
  assert.deepEqual(lookupPath(config, 'clip_a b'), { ok: false, key: '~^clip_(.+)$', capture: 'a b' });
  assert.equal(pathConfigFor(config, 'clip_../../etc/passwd'), undefined);
  assert.equal(pathConfigFor(config, 'clip_$(reboot)'), undefined);
  assert.deepEqual(pathConfigFor(config, 'clip_lobby.v2')!.captures, ['clip_lobby.v2', 'lobby.v2']);
  for (const bad of ['..', '.x', 'x.', 'a/b', 'a;b', "a'b", '$x', 'a\nb', 'x'.repeat(129)])
    assert.equal(isSafeCapture(bad), false, bad);
  for (const good of ['', 'cam-1', 'a_b', 'a.b.c', '12']) assert.equal(isSafeCapture(good), true, good);
});

test('captures fill $G1.. and ${G1}..; a missing group is empty', () => {
  assert.equal(substituteCaptures('/c/$G1/${G2}x$G3.mp4', ['n', 'a', 'b']), '/c/a/bx.mp4');
});

test('paths keys are exact names or valid regexes', () => {
  assert.throws(() => parseConfig('paths:\n  "~^cam(": {}\n'), /invalid path regex/);
  assert.throws(() => parseConfig('paths:\n  "../x": {}\n'), /expected a path like/);
  assert.throws(() => parseConfig('pathDefaults: { fallback: "elsewhere" }\n'), /expected "\/path"/);
});
