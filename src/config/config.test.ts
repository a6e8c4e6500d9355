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

test('auth mistakes are config errors with their place, never quoting a password', () => {
  const user = (fields: string) => `auth:\n  users:\n    - name: bob\n${fields}`;
  const cases: [string, RegExp][] = [
    [user('      password: "scrypt:Sekr1t!"\n'), /rtspkit\.yml:4:17: auth\.users\.0\.password: scrypt form/],
    [user('      password: "digest-md5:Sekr1t"\n'), /rtspkit\.yml:4:17: auth\.users\.0\.password: /],
    [
      user('      password: x\n      ips: ["10.0.0.300/8"]\n'),
      /:5:13: auth\.users\.0\.ips\.0: expected an IP/,
    ],
    [user('      password: x\n      ips: ["10.0.0.0/33"]\n'), /auth\.users\.0\.ips\.0/],
    [
      user('      password: x\n      permissions: [{ action: read, path: "~(" }]\n'),
      /auth\.users\.0\.permissions\.0\.path: invalid path regex/,
    ],
    [
      user('      password: x\n    - name: bob\n      password: y\n'),
      /auth\.users\.1\.name: user "bob" is configured twice/,
    ],
    ['auth:\n  anonymous: { permissions: [], ips: ["nope"] }\n', /auth\.anonymous\.ips\.0/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseConfig(text), ConfigError);
    assert.throws(() => parseConfig(text), message);
    assert.throws(
      () => parseConfig(text),
      (e: Error) => !e.message.includes('Sekr1t'),
    );
  }
  const ok = parseConfig(user('      password: x\n      ips: ["10.0.0.0/8", "::1", "fd00::/8"]\n'));
  assert.deepEqual(ok.auth.users[0]!.ips, ['10.0.0.0/8', '::1', 'fd00::/8']);
});

test('an unknown key is reported at its own line and column, with the nearest known key', () => {
  assert.throws(
    () => parseConfig('rtspAddress: ":8554"\nlogLevel: info\nsessionTimout: 30\n', 'x.yml'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, 'x.yml:3:1: sessionTimout: unknown key (did you mean sessionTimeout?)');
      return true;
    },
  );
  // Under a path: "unknown key" with the option it probably meant (another server's key for it).
  assert.throws(
    () => parseConfig('paths:\n  cam1:\n    runOnReadyCmd: ffmpeg\n', 'x.yml'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, 'x.yml:3:5: paths.cam1.runOnReadyCmd: unknown key (did you mean runOnReady?)');
      return true;
    },
  );
  assert.throws(
    () => parseConfig('auth:\n  realms: x\n', 'x.yml'),
    /x\.yml:2:3: auth\.realms: unknown key \(did you mean realm\?\)$/,
  );
});

test('rtpPort must be even; a pull source must be rtsp://, rtsps:// or rtsp+http://', () => {
  assert.throws(() => parseConfig('rtpPort: 20021\n', 'x.yml'), /x\.yml:1:10: rtpPort: must be even/);
  assert.equal(parseConfig('rtpPort: 0\n').rtpPort, 0);
  assert.throws(
    () => parseConfig('paths:\n  cam1: { source: "http://10.0.0.5/stream" }\n', 'x.yml'),
    /x\.yml:2:19: paths\.cam1\.source: only rtsp:\/\/, rtsps:\/\/ and rtsp\+http:\/\/ URLs can be pulled/,
  );
  const pulled = parseConfig(
    'paths:\n  cam1: { source: "rtsp://u:p@10.0.0.5/stream", sourceTransport: tcp, sourceRange: "npt=5-" }\n',
  );
  assert.equal(pulled.paths.cam1?.sourceTransport, 'tcp');
  assert.throws(
    () => parseConfig('paths:\n  cam1: { source: "rtsp://h/s", sourceRange: "npt=x" }\n', 'x.yml'),
    /paths\.cam1\.sourceRange/,
  );
  assert.throws(
    () => parseConfig('paths:\n  cam1: { source: "rtsps://h/s", sourceFingerprint: "abc" }\n', 'x.yml'),
    /paths\.cam1\.sourceFingerprint: expected a SHA-256 fingerprint/,
  );
});

test('logFormat: auto by default, text or json', () => {
  assert.equal(defaultConfig().logFormat, 'auto');
  assert.equal(parseConfig('logFormat: json\n').logFormat, 'json');
  assert.throws(() => parseConfig('logFormat: pretty\n', 'x.yml'), /x\.yml:1:12: logFormat: /);
});
