import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, defaultConfig, parseConfig, type Config } from './config.js';
import { configInForce, diffConfig, RELOAD_CLASS, serverLimitsOf } from './reload.js';
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
