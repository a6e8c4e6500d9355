import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, defaultConfig, parseConfig, splitHostPort } from './config.js';

test('an empty file gives every default', () => {
  assert.deepEqual(parseConfig(''), defaultConfig());
  assert.equal(defaultConfig().rtspAddress, ':8554');
  assert.equal(defaultConfig().sessionTimeout, 60);
});

test('mistakes name the line, column and what was expected', () => {
  assert.throws(
    () => parseConfig('rtspAddress: ":8554"\nsessionTimeout: "soon"\n', 'x.yml'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^x\.yml:2:17: sessionTimeout: /);
      return true;
    },
  );
  assert.throws(() => parseConfig('rtspAdress: ":8554"\n'), /rtspkit\.yml.*rtspAdress|unrecognized/i);
  assert.throws(() => parseConfig('a: [1,\n'), /^ConfigError|rtspkit\.yml:\d+:\d+/);
  assert.throws(() => parseConfig('paths:\n  "../etc": { source: x.mp4 }\n'), ConfigError);
});

test('paths and addresses', () => {
  const c = parseConfig('rtspAddress: "127.0.0.1:9554"\npaths:\n  site/cam1: { source: /srv/a.mp4 }\n');
  assert.deepEqual(splitHostPort(c.rtspAddress), { host: '127.0.0.1', port: 9554 });
  assert.deepEqual(c.paths['site/cam1'], { source: '/srv/a.mp4', loop: true });
  assert.deepEqual(splitHostPort(':8554'), { host: '0.0.0.0', port: 8554 });
});

test('hlsIdleTimeout: seconds, 20 by default, at least 1', () => {
  assert.equal(defaultConfig().hlsIdleTimeout, 20);
  assert.equal(parseConfig('hlsIdleTimeout: 5').hlsIdleTimeout, 5);
  assert.throws(() => parseConfig('hlsIdleTimeout: 0'), ConfigError);
});
