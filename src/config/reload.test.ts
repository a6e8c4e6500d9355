import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, defaultConfig, parseConfig, type Config } from './config.js';
import { configInForce, diffConfig, RELOAD_CLASS, recordSettingsOf, serverLimitsOf } from './reload.js';
import { RELOADABLE_SERVER_LIMITS } from '../server/server.js';

const demoClip = '/pkg/media/demo.mp4';

test('every option says how it reloads', () => {
  assert.deepEqual(Object.keys(RELOAD_CLASS).sort(), Object.keys(configSchema.shape).sort());
  assert.deepEqual(Object.keys(serverLimitsOf(defaultConfig())).sort(), [...RELOADABLE_SERVER_LIMITS].sort());
});

test('no change, no work', () => {
  const c = parseConfig('paths: { a: { source: /a.mp4 } }\n');
  const changes = diffConfig(c, structuredClone(c), demoClip);
  assert.deepEqual(changes.changed, []);
  assert.deepEqual(changes.fileSources, { added: [], removed: [], changed: [] });
  assert.equal(changes.auth || changes.limits || changes.logLevel, false);
});

test('paths added, removed and changed; limits, auth and options that need a restart', () => {
  const before = parseConfig(
    'paths: { a: { source: /a.mp4 }, b: { source: /b.mp4 }, c: { source: /c.mp4 } }\n' +
      'auth: { users: [{ name: u, password: "plain:x" }] }\n',
  );
  const after: Config = parseConfig(
    'paths: { a: { source: /a.mp4 }, c: { source: /c.mp4, loop: false }, d: { source: /d.mp4 } }\n' +
      'auth: { users: [{ name: v, password: "plain:y" }] }\nmaxSessions: 10\nrtspAddress: ":9554"\ndemo: true\n',
  );
  const changes = diffConfig(before, after, demoClip);
  assert.deepEqual(changes.fileSources, { added: ['d', 'demo'], removed: ['b'], changed: ['c'] });
  assert.equal(changes.auth, true);
  assert.equal(changes.limits, true);
  assert.equal(changes.logLevel, false);
  assert.deepEqual(changes.needRestart, ['rtspAddress']);
  const inForce = configInForce(before, after);
  assert.equal(inForce.rtspAddress, ':8554');
  assert.equal(inForce.maxSessions, 10);
});

test('a config path named demo next to demo: true is refused', () => {
  const c = parseConfig('paths: { demo: { source: /x.mp4 } }\ndemo: true\n');
  assert.throws(() => diffConfig(defaultConfig(), c, demoClip), /"demo" is taken/);
});

test('limits go to the server in its units', () => {
  const limits = serverLimitsOf(parseConfig('requestTimeout: 2\nidleTimeout: 30\nsessionTimeout: 20\n'));
  assert.equal(limits.requestTimeoutMs, 2000);
  assert.equal(limits.idleTimeoutMs, 30000);
  assert.equal(limits.sessionTimeoutS, 20);
});

test('recording options per path: an exact name, then the first matching pattern, over pathDefaults', () => {
  const c = parseConfig(
    'pathDefaults: { recordSegmentDuration: 600, recordDeleteAfter: 0 }\n' +
      'recordPaths:\n  "cam*": { record: true, recordPartDuration: 0.5 }\n  cam9: { record: false }\n' +
      '  "site/**": { record: true, recordPath: "/data/%path/%Y-%m-%d_%H-%M-%S-%f" }\n',
  );
  const settingsFor = recordSettingsOf(c);
  assert.deepEqual(
    ['cam1', 'cam9', 'site/a/b', 'lobby'].map((p) => settingsFor(p).record),
    [true, false, true, false],
  );
  assert.equal(settingsFor('cam1').partDurationMs, 500);
  assert.equal(settingsFor('cam1').segmentDurationMs, 600_000);
  assert.equal(settingsFor('lobby').deleteAfterMs, 0);
  assert.equal(settingsFor('site/a/b').pathTemplate, '/data/%path/%Y-%m-%d_%H-%M-%S-%f');
  assert.throws(() => parseConfig('pathDefaults: { recordPath: "./rec/%Y" }\n'), /must contain %path/);
  assert.throws(() => parseConfig('recordPaths: { "~[": { record: true } }\n'), /recordPaths\.~\[/);
  const changes = diffConfig(c, parseConfig('pathDefaults: { record: true }\n'), demoClip);
  assert.equal(changes.recording, true);
  assert.deepEqual(changes.needRestart, []);
});
