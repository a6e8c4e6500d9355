import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtspClientError } from './errors.js';
import { parseClientUrl, redirectTarget, resolveClientUrl, safeUrl, sameUrl } from './urls.js';

const flags = { httpTunnel: false, webSocket: false };

test('ws://, wss:// and rtsph:// URLs name rtsp:// or rtsps:// and imply their transport', () => {
  assert.deepEqual(resolveClientUrl('ws://h:8080/live', flags), {
    url: 'rtsp://h:8080/live',
    httpTunnel: false,
    webSocket: true,
  });
  assert.equal(resolveClientUrl('wss://h/live', flags).url, 'rtsps://h/live');
  const tunnel = resolveClientUrl('rtsph://h/live', flags);
  assert.equal(tunnel.httpTunnel, true);
  assert.equal(tunnel.url, 'rtsp://h:80/live');
  assert.deepEqual(resolveClientUrl('rtsp://h/live', flags), { url: 'rtsp://h/live', ...flags });
});

test('credentials follow a redirect to the same host only', () => {
  assert.equal(redirectTarget('rtsp://u:p@h/a', 'rtsp://h:8555/b'), 'rtsp://u:p@h:8555/b');
  assert.equal(redirectTarget('rtsp://u:p@h/a', 'rtsp://other/b'), 'rtsp://other/b');
  assert.throws(
    () => redirectTarget('rtsp://h/a', 'not a url'),
    (e) => e instanceof RtspClientError && e.code === 'BAD_URL',
  );
});

test('client URLs: rtsp and rtsps with a host; messages never show credentials', () => {
  assert.throws(
    () => parseClientUrl('http://h/a'),
    (e) => e instanceof RtspClientError && e.code === 'UNSUPPORTED',
  );
  assert.throws(
    () => parseClientUrl('nonsense'),
    (e) => e instanceof RtspClientError && e.code === 'BAD_URL',
  );
  assert.equal(safeUrl('rtsp://u:p@h/a'), 'rtsp://h/a');
  assert.equal(sameUrl('rtsp://u:p@h/a/trackID=1/', 'rtsp://h/a/trackID=1'), true);
});
