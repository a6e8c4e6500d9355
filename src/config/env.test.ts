import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, configSchema, defaultConfig, parseConfig } from './config.js';
import { applyConfigEnv, configEnvOptions, upperSnake } from './env.js';

test('variable names: the option in upper snake case, nested keys joined with _', () => {
  assert.equal(upperSnake('maxConnectionsPerIp'), 'MAX_CONNECTIONS_PER_IP');
  assert.equal(upperSnake('rtspsAddress'), 'RTSPS_ADDRESS');
  assert.equal(upperSnake('timeoutMs'), 'TIMEOUT_MS');
  const names = configEnvOptions(configSchema).map((o) => o.variable);
  for (const name of [
    'RTSPKIT_CONFIG_RTSP_ADDRESS',
    'RTSPKIT_CONFIG_LOG_LEVEL',
    'RTSPKIT_CONFIG_SESSION_TIMEOUT',
    'RTSPKIT_CONFIG_AUTH_REALM',
    'RTSPKIT_CONFIG_AUTH_HOOK_TIMEOUT_MS',
    'RTSPKIT_CONFIG_PATHS',
  ])
    assert.ok(names.includes(name), name);
  assert.equal(new Set(names).size, names.length, 'two options share a variable');
});

test('values are read by the option type and win over the file', () => {
  const c = parseConfig('sessionTimeout: 30\nlogLevel: warn\n', 'x.yml', {
    RTSPKIT_CONFIG_SESSION_TIMEOUT: '20',
    RTSPKIT_CONFIG_RTSP_ADDRESS: '127.0.0.1:9554',
    RTSPKIT_CONFIG_DEMO: 'yes',
    RTSPKIT_CONFIG_API: 'false',
    RTSPKIT_CONFIG_MULTICAST_RANGE: 'null',
    RTSPKIT_CONFIG_RTP_PORT: 'null',
    RTSPKIT_CONFIG_AUTH_REALM: 'cams',
    RTSPKIT_CONFIG_PATHS: '{"lobby": {"source": "/srv/lobby.mp4"}}',
  });
  assert.equal(c.sessionTimeout, 20);
  assert.equal(c.logLevel, 'warn');
  assert.equal(c.rtspAddress, '127.0.0.1:9554');
  assert.equal(c.demo, true);
  assert.equal(c.api, false);
  assert.equal(c.multicastRange, null);
  assert.equal(c.rtpPort, null);
  assert.deepEqual(c.auth, { basic: true, realm: 'cams', users: [] });
  assert.deepEqual(c.paths, { lobby: { source: '/srv/lobby.mp4', loop: true } });
});

test('a nested variable refines a whole section set by another, and keeps the file section', () => {
  const fromFile = parseConfig('auth:\n  users: [{ name: a, password: "plain:x" }]\n', 'x.yml', {
    RTSPKIT_CONFIG_AUTH_BASIC: 'off',
  });
  assert.equal(fromFile.auth.basic, false);
  assert.equal(fromFile.auth.users[0]!.name, 'a');
  const both = parseConfig('', 'x.yml', {
    RTSPKIT_CONFIG_AUTH_REALM: 'inner',
    RTSPKIT_CONFIG_AUTH: 'realm: outer\nbasic: false',
  });
  assert.equal(both.auth.realm, 'inner');
  assert.equal(both.auth.basic, false);
});

test('other RTSPKIT_ variables are not options; the file is not changed in place', () => {
  const env = { RTSPKIT_REQUIRE_TOOLS: '1', RTSPKIT_MEDIA_DIR: '/tmp', RTSPKIT_TEST_LOG: '1', HOME: '/root' };
  assert.deepEqual(parseConfig('', 'x.yml', env), defaultConfig());
  const raw = { sessionTimeout: 5 };
  applyConfigEnv(raw, { RTSPKIT_CONFIG_SESSION_TIMEOUT: '9' }, configSchema);
  assert.deepEqual(raw, { sessionTimeout: 5 });
});

test('errors name the variable and what was expected', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { RTSPKIT_CONFIG_SESSION_TIMEOUT: 'soon' },
      /RTSPKIT_CONFIG_SESSION_TIMEOUT: expected a number, got "soon"/,
    ],
    [{ RTSPKIT_CONFIG_SESSION_TIMEOUT: '0' }, /RTSPKIT_CONFIG_SESSION_TIMEOUT: sessionTimeout: .*>=\s*1/],
    [{ RTSPKIT_CONFIG_DEMO: 'maybe' }, /RTSPKIT_CONFIG_DEMO: expected true or false/],
    [{ RTSPKIT_CONFIG_LOG_LEVEL: 'loud' }, /RTSPKIT_CONFIG_LOG_LEVEL: logLevel: .*"debug"/],
    [{ RTSPKIT_CONFIG_SESION_TIMEOUT: '5' }, /RTSPKIT_CONFIG_SESION_TIMEOUT: no such config option/],
    [{ RTSPKIT_CONFIG_PATHS: '{a: [' }, /RTSPKIT_CONFIG_PATHS: expected YAML or JSON/],
    [{ RTSPKIT_CONFIG_PATHS: '{"a": {"loop": "no"}}' }, /RTSPKIT_CONFIG_PATHS: paths\.a\.loop: /],
    [{ RTSPKIT_CONFIG_TLS_CERT: '' }, /RTSPKIT_CONFIG_TLS_CERT: tlsCert: /],
  ];
  for (const [env, message] of cases)
    assert.throws(
      () => parseConfig('', 'x.yml', env),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /^environment: /);
        assert.match(e.message, message);
        return true;
      },
    );
});

test('a file mistake outside what the environment set still names its line and column', () => {
  assert.throws(
    () =>
      parseConfig('sessionTimeout: 30\nmaxSessions: -1\n', 'x.yml', { RTSPKIT_CONFIG_SESSION_TIMEOUT: '20' }),
    /: x\.yml:2:14: maxSessions: /,
  );
});
