import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  opusHead,
  parseAudioTag,
  parseOpusHead,
  parseVideoTag,
  serializeAudioTag,
  serializeVideoTag,
} from './tags.js';

const cat = (parts: Buffer[]): Buffer => Buffer.concat(parts);

test('FLV video: AVC sequence header and frames with a negative composition time', () => {
  assert.deepEqual(parseVideoTag(Buffer.from('170000000001640028', 'hex')), {
    kind: 'config',
    codec: 'h264',
    config: Buffer.from('01640028', 'hex'),
  });
  const frame = parseVideoTag(Buffer.from('2701fffff600000001aa', 'hex'));
  assert.deepEqual(frame, {
    kind: 'frame',
    codec: 'h264',
    keyframe: false,
    compositionTimeMs: -10,
    data: Buffer.from('00000001aa', 'hex'),
  });
  const back = cat(
    serializeVideoTag({
      kind: 'frame',
      codec: 'h264',
      keyframe: false,
      compositionTimeMs: -10,
      data: Buffer.from('00000001aa', 'hex'),
    }),
  );
  assert.deepEqual(back, Buffer.from('2701fffff600000001aa', 'hex'));
});

test('enhanced RTMP video: hvc1 sequence start, coded frames (with and without composition time), end', () => {
  // [IsExHeader|FrameType=1|PacketType=0]['hvc1'][hvcC]
  assert.deepEqual(parseVideoTag(Buffer.from('9068766331' + '01020304', 'hex')), {
    kind: 'config',
    codec: 'h265',
    config: Buffer.from('01020304', 'hex'),
  });
  assert.deepEqual(parseVideoTag(Buffer.from('916876633100002800000001ff', 'hex')), {
    kind: 'frame',
    codec: 'h265',
    keyframe: true,
    compositionTimeMs: 40,
    data: Buffer.from('00000001ff', 'hex'),
  });
  assert.deepEqual(parseVideoTag(Buffer.from('a368766331' + '00000001ee', 'hex')), {
    kind: 'frame',
    codec: 'h265',
    keyframe: false,
    compositionTimeMs: 0,
    data: Buffer.from('00000001ee', 'hex'),
  });
  assert.deepEqual(parseVideoTag(Buffer.from('9268766331', 'hex')), { kind: 'end', codec: 'h265' });
  assert.equal(parseVideoTag(Buffer.from('9061763031', 'hex')).kind, 'other'); // av01: not ours
  for (const tag of [
    { kind: 'config', codec: 'h265', config: Buffer.from('0102', 'hex') },
    {
      kind: 'frame',
      codec: 'h265',
      keyframe: true,
      compositionTimeMs: 80,
      data: Buffer.from('00000001ff', 'hex'),
    },
  ] as const)
    assert.deepEqual(parseVideoTag(cat(serializeVideoTag(tag))), tag);
});

test('FLV audio: AAC config and frames; enhanced Opus with its OpusHead', () => {
  assert.deepEqual(parseAudioTag(Buffer.from('af001190', 'hex')), {
    kind: 'config',
    codec: 'aac',
    config: Buffer.from('1190', 'hex'),
  });
  assert.deepEqual(parseAudioTag(Buffer.from('af01abcd', 'hex')), {
    kind: 'frame',
    codec: 'aac',
    data: Buffer.from('abcd', 'hex'),
  });
  assert.equal(parseAudioTag(Buffer.from('2f00', 'hex')).kind, 'other'); // MP3
  const head = opusHead(2, 312);
  const config = parseAudioTag(cat(serializeAudioTag({ kind: 'config', codec: 'opus', config: head })));
  assert.deepEqual(config, { kind: 'config', codec: 'opus', config: head });
  assert.equal(parseOpusHead(head).channels, 2);
  assert.deepEqual(parseAudioTag(Buffer.from('914f707573fc', 'hex')), {
    kind: 'frame',
    codec: 'opus',
    data: Buffer.from('fc', 'hex'),
  });
  assert.throws(() => parseOpusHead(Buffer.from('OpusTags')), { code: 'FLV_BAD_OPUS_HEAD' });
  assert.throws(() => parseVideoTag(Buffer.from('1701', 'hex')), { code: 'FLV_TRUNCATED' });
});
