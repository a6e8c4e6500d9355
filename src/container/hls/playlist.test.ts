import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serializeMediaPlaylist, targetDurationFor } from './playlist.js';

test('a live fMP4 media playlist has the RFC 8216 tags in order, durations in ms', () => {
  const text = serializeMediaPlaylist({
    targetDurationSeconds: 2,
    mediaSequence: 12,
    initUri: 'init.mp4',
    independentSegments: true,
    segments: [
      { uri: 'seg12.m4s', durationSeconds: 1 },
      { uri: 'seg13.m4s', durationSeconds: 1.96 },
    ],
  });
  assert.equal(
    text,
    [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-MEDIA-SEQUENCE:12',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXTINF:1.000,',
      'seg12.m4s',
      '#EXTINF:1.960,',
      'seg13.m4s',
      '',
    ].join('\n'),
  );
});

test('EXT-X-INDEPENDENT-SEGMENTS is left out on request; EXT-X-ENDLIST closes an ended playlist', () => {
  const text = serializeMediaPlaylist({
    targetDurationSeconds: 1,
    mediaSequence: 0,
    initUri: 'init.mp4',
    independentSegments: false,
    ended: true,
    segments: [{ uri: 'seg0.m4s', durationSeconds: 0.5 }],
  });
  assert.doesNotMatch(text, /INDEPENDENT/);
  assert.match(text, /#EXT-X-ENDLIST\n$/);
});

test('the target duration covers every segment rounded to the nearest second (§4.3.3.1)', () => {
  assert.equal(targetDurationFor([], 1), 1);
  assert.equal(targetDurationFor([1.4, 0.9], 1), 1);
  assert.equal(targetDurationFor([1.5], 1), 2);
  assert.equal(targetDurationFor([2.2], 4), 4);
  assert.equal(targetDurationFor([], 0.5), 1);
});

test('values a playlist cannot carry are refused, not written', () => {
  const base = {
    targetDurationSeconds: 1,
    mediaSequence: 0,
    initUri: 'init.mp4',
    independentSegments: true,
    segments: [],
  };
  assert.throws(() => serializeMediaPlaylist({ ...base, targetDurationSeconds: 0 }), RangeError);
  assert.throws(() => serializeMediaPlaylist({ ...base, mediaSequence: -1 }), RangeError);
  assert.throws(() => serializeMediaPlaylist({ ...base, initUri: 'a"b' }), RangeError);
  assert.throws(
    () => serializeMediaPlaylist({ ...base, segments: [{ uri: 'x\n#EXT-X-ENDLIST', durationSeconds: 1 }] }),
    RangeError,
  );
  assert.throws(
    () => serializeMediaPlaylist({ ...base, segments: [{ uri: 'x', durationSeconds: NaN }] }),
    RangeError,
  );
});
