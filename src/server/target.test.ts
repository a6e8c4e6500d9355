import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestTarget } from './target.js';

test('request URLs of ffmpeg, GStreamer and VLC name the same path and track', () => {
  const cases: [string, string, number | undefined, string][] = [
    ['rtsp://127.0.0.1:8554/live/cam1', 'live/cam1', undefined, ''],
    ['rtsp://127.0.0.1:8554/live/cam1/', 'live/cam1', undefined, ''],
    ['rtsp://127.0.0.1:8554/live/cam1/trackID=1', 'live/cam1', 1, ''],
    ['rtsp://127.0.0.1:8554/live/cam1/trackID=0?token=abc', 'live/cam1', 0, 'token=abc'],
    ['rtsp://127.0.0.1:8554/live/cam1?token=abc/trackID=1', 'live/cam1', 1, 'token=abc'],
    ['rtsp://127.0.0.1:8554/live/cam1?token=abc/', 'live/cam1', undefined, 'token=abc'],
    ['rtsp://127.0.0.1:8554/live/cam1/streamid=0', 'live/cam1', 0, ''],
    ['rtsp://user:pw@[::1]:8554/a%20b/trackID=2', 'a b', 2, ''],
    ['/live/cam1/trackID=0', 'live/cam1', 0, ''],
  ];
  for (const [uri, path, track, query] of cases) {
    assert.deepEqual(parseRequestTarget(uri), { path, track, query }, uri);
  }
});

test('unusable request URLs give undefined, not an exception', () => {
  for (const uri of ['*', 'http://[bad', 'rtsp://h/%E0%A4%A', 'not a url']) {
    assert.equal(parseRequestTarget(uri), undefined, uri);
  }
});
