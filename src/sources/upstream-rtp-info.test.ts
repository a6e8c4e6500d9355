import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rtpInfoByTrack, rtpTimesByTrack } from './upstream-rtp-info.js';

const controls = ['rtsp://u:p@cam/live/stream=0', 'rtsp://u:p@cam/live/stream=1/'];

test("RTP-Info entries go to the path's tracks by URL without credentials, by last segment, then by position", () => {
  assert.deepEqual(
    rtpInfoByTrack('url=rtsp://cam/live/stream=1;seq=5;rtptime=90,url=stream=0;seq=7', controls),
    [
      { track: 1, seq: 5, rtptime: 90 },
      { track: 0, seq: 7 },
    ],
  );
  assert.deepEqual(rtpInfoByTrack('url=rtsp://other/x;rtptime=1', controls, [1]), [{ track: 1, rtptime: 1 }]);
  assert.deepEqual(rtpInfoByTrack('garbage', controls), [], 'a header that does not parse: nothing');
  assert.deepEqual(rtpInfoByTrack(undefined, controls), []);
});

test('rtptimes per track, undefined where RTP-Info has none', () => {
  assert.deepEqual(rtpTimesByTrack('url=rtsp://cam/live/stream=1;seq=5;rtptime=90', controls), [
    undefined,
    90,
  ]);
});
