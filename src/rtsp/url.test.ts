import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import {
  joinControlUrl,
  parseRtspUrl,
  resolveControlUrl,
  resolveSessionUrl,
  serializeRtspUrl,
  splitTrackUrl,
  stripCredentials,
  withCredentialsOf,
} from './url.js';
import type { RtspUrl } from './url.js';

const bad = (e: unknown): boolean => e instanceof ParseError && e.code === 'RTSP_BAD_URL';

test('schemes and default ports', () => {
  assert.deepEqual(parseRtspUrl('rtsp://example.com/live/cam'), {
    scheme: 'rtsp',
    host: 'example.com',
    port: 554,
    explicitPort: false,
    path: '/live/cam',
  });
  assert.equal(parseRtspUrl('rtsps://h/x').port, 322);
  assert.equal(parseRtspUrl('rtspu://h/x').port, 554);
  assert.equal(parseRtspUrl('rtsph://h/x').port, 80);
  assert.equal(parseRtspUrl('HTTP://h/x').scheme, 'http');
  assert.equal(parseRtspUrl('https://h').port, 443);
  assert.equal(parseRtspUrl('rtsp://h:').explicitPort, false);
  assert.throws(() => parseRtspUrl('ftp://h/x'), bad);
});

test('credentials are percent-decoded; a raw @ in the password is tolerated', () => {
  const u = parseRtspUrl(
    'rtsp://admin:p%40ss%3Aw%2Frd@192.168.1.10:8554/Streaming/Channels/101?transportmode=unicast',
  );
  assert.deepEqual(u, {
    scheme: 'rtsp',
    username: 'admin',
    password: 'p@ss:w/rd',
    host: '192.168.1.10',
    port: 8554,
    explicitPort: true,
    path: '/Streaming/Channels/101',
    query: 'transportmode=unicast',
  });
  assert.equal(
    serializeRtspUrl(u),
    'rtsp://admin:p%40ss%3Aw%2Frd@192.168.1.10:8554/Streaming/Channels/101?transportmode=unicast',
  );
  assert.equal(
    serializeRtspUrl(u, { withCredentials: false }),
    'rtsp://192.168.1.10:8554/Streaming/Channels/101?transportmode=unicast',
  );
  assert.deepEqual(parseRtspUrl('rtsp://user:p@ss@h/x').password, 'p@ss');
  assert.deepEqual(parseRtspUrl('rtsp://user@h/x').username, 'user');
  assert.equal(parseRtspUrl('rtsp://user@h/x').password, undefined);
  assert.equal(parseRtspUrl('rtsp://:@h/x').password, '');
  assert.throws(() => parseRtspUrl('rtsp://u:%zz@h/x'), bad);
  assert.equal(stripCredentials('rtsp://a:b@h:554/x'), 'rtsp://h:554/x');
});

test('IPv6 hosts', () => {
  const u = parseRtspUrl('rtsp://[::1]:8554/live');
  assert.equal(u.host, '::1');
  assert.equal(u.port, 8554);
  assert.equal(serializeRtspUrl(u), 'rtsp://[::1]:8554/live');
  assert.equal(parseRtspUrl('rtsp://[fe80::1%25eth0]/x').host, 'fe80::1%25eth0');
  assert.equal(serializeRtspUrl(parseRtspUrl('rtsp://[2001:db8::7]')), 'rtsp://[2001:db8::7]');
  for (const v of ['rtsp://[::1/x', 'rtsp://[zz]/x', 'rtsp://[::1]x/y', 'rtsp://[1.2.3.4]/'])
    assert.throws(() => parseRtspUrl(v), bad, v);
});

test('paths, queries, fragments; malformed URLs', () => {
  assert.equal(parseRtspUrl('rtsp://h').path, '');
  assert.equal(parseRtspUrl('rtsp://h?x').path, '');
  assert.equal(parseRtspUrl('rtsp://h?x').query, 'x');
  assert.equal(parseRtspUrl('rtsp://h/a?').query, '');
  assert.equal(parseRtspUrl('rtsp://h/a#frag').path, '/a');
  assert.equal(parseRtspUrl('rtsp://h/a%20b').path, '/a%20b');
  for (const v of [
    '',
    '*',
    '/live',
    'rtsp:/h/x',
    'rtsp://h:99999/x',
    'rtsp://h:12a/x',
    'rtsp:///x',
    'rtsp://h/a b',
    'rtsp://h h/',
  ]) {
    assert.throws(() => parseRtspUrl(v), bad, v);
  }
});

test('joinControlUrl: ffmpeg/live555 joining, not RFC 3986', () => {
  assert.equal(joinControlUrl('rtsp://h/live/cam/', 'trackID=0'), 'rtsp://h/live/cam/trackID=0');
  assert.equal(joinControlUrl('rtsp://h/live/cam', 'trackID=0'), 'rtsp://h/live/cam/trackID=0');
  assert.equal(joinControlUrl('rtsp://h/live/x?token=1', 'trackID=0'), 'rtsp://h/live/x?token=1/trackID=0');
  assert.equal(joinControlUrl('rtsp://h/live/cam/', 'rtsp://other/a'), 'rtsp://other/a');
  assert.equal(
    joinControlUrl('rtsp://u:p@h:554/live/cam/', '/abs/trackID=1'),
    'rtsp://u:p@h:554/abs/trackID=1',
  );
  assert.equal(joinControlUrl('rtsp://h/live/cam/', '*'), 'rtsp://h/live/cam/');
  assert.throws(() => joinControlUrl('live/cam', '/x'), bad);
});

test('resolveControlUrl: precedence of RFC 2326 C.1.1 and credentials carried over', () => {
  const requestUrl = 'rtsp://admin:secret@cam.local/Streaming/101';
  // Content-Base wins over the request URL; a=control:* at session level means the base.
  assert.equal(
    resolveControlUrl({
      requestUrl,
      contentBase: 'rtsp://cam.local/Streaming/101/',
      sessionControl: '*',
      mediaControl: 'trackID=1',
    }),
    'rtsp://admin:secret@cam.local/Streaming/101/trackID=1',
  );
  // Session-level control (not *) is the base for media controls.
  assert.equal(
    resolveControlUrl({
      requestUrl,
      contentBase: 'rtsp://cam.local/x/',
      sessionControl: 'rtsp://cam.local/agg',
      mediaControl: 'video',
    }),
    'rtsp://admin:secret@cam.local/agg/video',
  );
  // Content-Location when there is no Content-Base, relative to the request URL.
  assert.equal(
    resolveControlUrl({
      requestUrl: 'rtsp://h/a',
      contentLocation: 'rtsp://h/b/',
      mediaControl: 'trackID=0',
    }),
    'rtsp://h/b/trackID=0',
  );
  assert.equal(resolveSessionUrl({ requestUrl: 'rtsp://h/a', contentLocation: 'sub/' }), 'rtsp://h/a/sub/');
  // Request URL as the last resort; no media control means the session URL.
  assert.equal(
    resolveControlUrl({ requestUrl, mediaControl: 'trackID=0' }),
    'rtsp://admin:secret@cam.local/Streaming/101/trackID=0',
  );
  assert.equal(resolveControlUrl({ requestUrl }), requestUrl);
  // RFC 2326 §14.1: absolute controls.
  assert.equal(
    resolveControlUrl({
      requestUrl: 'rtsp://foo/twister',
      sessionControl: 'rtsp://foo/twister',
      mediaControl: 'rtsp://foo/twister/audio',
    }),
    'rtsp://foo/twister/audio',
  );
  // Credentials are not handed to another host.
  assert.equal(
    resolveControlUrl({ requestUrl, mediaControl: 'rtsp://evil.example/x' }),
    'rtsp://evil.example/x',
  );
  assert.equal(withCredentialsOf('rtsp://cam.local:8554/x', requestUrl), 'rtsp://cam.local:8554/x');
  assert.equal(withCredentialsOf('not a url', requestUrl), 'not a url');
});

test('splitTrackUrl: the three shapes clients send', () => {
  // GStreamer
  assert.deepEqual(splitTrackUrl('/live/cam/trackID=0?token=1'), {
    path: '/live/cam',
    control: 'trackID=0',
    trackId: 0,
    query: 'token=1',
  });
  // ffmpeg with a query
  assert.deepEqual(splitTrackUrl('/live/cam?token=1/trackID=1'), {
    path: '/live/cam',
    control: 'trackID=1',
    trackId: 1,
    query: 'token=1',
  });
  // ffmpeg aggregate / single stream
  assert.deepEqual(splitTrackUrl('/live/cam/'), { path: '/live/cam' });
  assert.deepEqual(splitTrackUrl('/live/cam?token=1/'), { path: '/live/cam', query: 'token=1' });
  assert.deepEqual(splitTrackUrl('/live/cam'), { path: '/live/cam' });
  // ffmpeg publishing (its own SDP says streamid=N), GStreamer rtspclientsink (stream=N)
  assert.deepEqual(splitTrackUrl('/live/pub/streamid=0'), {
    path: '/live/pub',
    control: 'streamid=0',
    trackId: 0,
  });
  assert.deepEqual(splitTrackUrl('/live/pub/stream=2'), {
    path: '/live/pub',
    control: 'stream=2',
    trackId: 2,
  });
  assert.deepEqual(splitTrackUrl('/trackID=3'), { path: '/', control: 'trackID=3', trackId: 3 });
  assert.deepEqual(splitTrackUrl('/'), { path: '/' });
  assert.deepEqual(splitTrackUrl(''), { path: '/' });
  // A whole URL, and queries that merely contain slashes.
  assert.deepEqual(splitTrackUrl('rtsp://u:p@h:8554/live/cam?token=1/trackID=0'), {
    path: '/live/cam',
    control: 'trackID=0',
    trackId: 0,
    query: 'token=1',
  });
  assert.deepEqual(splitTrackUrl('/live/cam?next=/a/b'), { path: '/live/cam', query: 'next=/a/b' });
  assert.deepEqual(splitTrackUrl('/live/trackID=x'), { path: '/live/trackID=x' });
});

const urlArb: fc.Arbitrary<RtspUrl> = fc
  .record(
    {
      scheme: fc.constantFrom('rtsp' as const, 'rtsps' as const, 'rtspu' as const, 'http' as const),
      username: fc.string({ maxLength: 8 }),
      password: fc.string({ maxLength: 8 }),
      host: fc.oneof(
        fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,15}$/),
        fc.constantFrom('::1', '2001:db8::1', '127.0.0.1'),
      ),
      port: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
      path: fc.stringMatching(/^(\/[A-Za-z0-9%=._~-]{0,8}){0,4}$/),
      query: fc.stringMatching(/^[A-Za-z0-9=&/%]{0,12}$/),
    },
    { requiredKeys: ['scheme', 'host', 'port', 'path'], noNullPrototype: true },
  )
  .filter((u) => u.password === undefined || u.username !== undefined)
  .map(({ port, ...rest }) => ({
    ...rest,
    port: port ?? { rtsp: 554, rtsps: 322, rtspu: 554, http: 80 }[rest.scheme],
    explicitPort: port !== undefined,
  }));

test('property: parseRtspUrl(serializeRtspUrl(u)) gives u back; parsers throw only ParseError', () => {
  fc.assert(fc.property(urlArb, (u) => assert.deepEqual(parseRtspUrl(serializeRtspUrl(u)), u)));
  const chars = fc.constantFrom(...'rtsp://[]:@%/?#=aZ09.trackID '.split(''));
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: chars, maxLength: 40 })), (s) => {
      for (const fn of [parseRtspUrl, splitTrackUrl, stripCredentials]) {
        try {
          fn(s);
        } catch (e) {
          assert.ok(e instanceof ParseError, String(e));
        }
      }
    }),
    { numRuns: 500 },
  );
});
