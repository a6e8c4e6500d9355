import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rtmpTarget } from './names.js';

test('RTMP names: app and stream name joined; either split of one segment is the same path', () => {
  assert.equal(rtmpTarget('live', 'cam').path, 'live/cam');
  assert.equal(rtmpTarget('a/b', 'c').path, 'a/b/c'); // ffmpeg's split of rtmp://host/a/b/c
  assert.equal(rtmpTarget('', 'cam').path, 'cam'); // ffmpeg: rtmp://host/cam
  assert.equal(rtmpTarget('cam', '').path, 'cam'); // clients that send the segment as the app
  assert.equal(rtmpTarget('/live/', '/cam/').path, 'live/cam');
  assert.equal(rtmpTarget('', '').path, '');
});

test('RTMP names: credentials from the query of either part, the stream name winning', () => {
  const t = rtmpTarget('live?user=a&pass=x', 'cam?pass=y&token=t');
  assert.equal(t.path, 'live/cam');
  assert.deepEqual(t.credentials, { username: 'a', password: 'y' });
  assert.equal(new URLSearchParams(t.query).get('token'), 't');
  assert.equal(rtmpTarget('live', 'cam').credentials, undefined);
  assert.equal(rtmpTarget('live', 'cam?user=&pass=p').credentials, undefined);
});
