import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import {
  STATIC_PAYLOAD_TYPES,
  addMediaFormat,
  getFmtp,
  getRtpmap,
  getRtpmaps,
  mediaFormats,
  parseRtpmap,
  serializeRtpmap,
  setFmtp,
} from './formats.js';
import { parseSdp } from './parse.js';
import { serializeSdp } from './serialize.js';
import { createMediaDescription } from './build.js';

test('parseRtpmap / serializeRtpmap', () => {
  assert.deepEqual(parseRtpmap('96 H264/90000'), { payloadType: 96, encodingName: 'H264', clockRate: 90000 });
  assert.deepEqual(parseRtpmap('97 MPEG4-GENERIC/48000/2'), {
    payloadType: 97,
    encodingName: 'MPEG4-GENERIC',
    clockRate: 48000,
    channels: 2,
  });
  assert.deepEqual(parseRtpmap(' 98  L16 / 44100 / 1 '), {
    payloadType: 98,
    encodingName: 'L16',
    clockRate: 44100,
    channels: 1,
  });
  assert.deepEqual(parseRtpmap('96 H264/90000/'), {
    payloadType: 96,
    encodingName: 'H264',
    clockRate: 90000,
  });
  for (const bad of ['', '96', '96 H264', 'x H264/90000', '128 H264/90000', '96 H264/0', '96 H264/abc'])
    assert.throws(
      () => parseRtpmap(bad),
      (e: unknown) => e instanceof ParseError && e.code === 'SDP_BAD_RTPMAP',
      bad,
    );
  assert.equal(
    serializeRtpmap({ payloadType: 97, encodingName: 'opus', clockRate: 48000, channels: 2 }),
    '97 opus/48000/2',
  );
  assert.throws(() => serializeRtpmap({ payloadType: 128, encodingName: 'x', clockRate: 1 }), RangeError);
  assert.throws(() => serializeRtpmap({ payloadType: 96, encodingName: 'a b', clockRate: 1 }), RangeError);
});

test('mediaFormats: rtpmap wins, static table fills in, m= order, unknown dynamic left out', () => {
  const sd = parseSdp(
    [
      'v=0',
      's=x',
      'm=audio 0 RTP/AVP 8 0 96 14 101 97 0',
      'a=rtpmap:0 PCMU/8000/1',
      'a=rtpmap:96 L16/16000',
      'a=rtpmap:bad',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-15',
      'a=fmtp:96 x=1',
      'm=video 0 RTP/AVP 26 32 33 34 31 25 28',
      'm=application 0 udp wb',
    ].join('\n'),
  );
  const audio = mediaFormats(sd.media[0]!).map((f) => [
    f.payloadType,
    f.encodingName,
    f.clockRate,
    f.channels,
    f.isStatic,
    f.fmtp.toString(),
  ]);
  assert.deepEqual(audio, [
    [8, 'PCMA', 8000, 1, true, ''],
    [0, 'PCMU', 8000, 1, false, ''],
    [96, 'L16', 16000, 1, false, 'x=1'],
    [14, 'MPA', 90000, undefined, true, ''],
    [101, 'telephone-event', 8000, 1, false, '0-15'],
  ]);
  const video = mediaFormats(sd.media[1]!).map((f) => [
    f.payloadType,
    f.encodingName,
    f.clockRate,
    f.channels,
  ]);
  assert.deepEqual(video, [
    [26, 'JPEG', 90000, undefined],
    [32, 'MPV', 90000, undefined],
    [33, 'MP2T', 90000, undefined],
    [34, 'H263', 90000, undefined],
    [31, 'H261', 90000, undefined],
    [25, 'CelB', 90000, undefined],
    [28, 'nv', 90000, undefined],
  ]);
  assert.deepEqual(mediaFormats(sd.media[2]!), []);
  assert.equal(getRtpmaps(sd.media[0]!).length, 3);
  assert.equal(getRtpmap(sd.media[0]!, '101')?.encodingName, 'telephone-event');
  assert.equal(STATIC_PAYLOAD_TYPES.get(10)?.channels, 2);
});

test('setFmtp replaces in place, appends, and removes', () => {
  const sd = parseSdp(
    'v=0\ns=x\nm=video 0 RTP/AVP 96 97\na=rtpmap:96 H264/90000\na=fmtp:96 a=1\na=fmtp:97 b=2\na=control:t',
  );
  const md = sd.media[0]!;
  const p = getFmtp(md, 96)!;
  p.set('profile-level-id', '42e01f');
  setFmtp(md, 96, p);
  setFmtp(md, '98', { z: '9' });
  setFmtp(md, 97, {});
  assert.deepEqual(md.attributes, [
    { name: 'rtpmap', value: '96 H264/90000' },
    { name: 'fmtp', value: '96 a=1;profile-level-id=42e01f' },
    { name: 'control', value: 't' },
    { name: 'fmtp', value: '98 z=9' },
  ]);
  assert.equal(getFmtp(md, 97), undefined);
});

test('addMediaFormat builds m= formats, rtpmap and fmtp', () => {
  const md = createMediaDescription({ type: 'audio', trackId: 1 });
  addMediaFormat(md, {
    payloadType: 97,
    encodingName: 'MPEG4-GENERIC',
    clockRate: 48000,
    channels: 2,
    fmtp: [
      ['streamtype', '5'],
      ['config', '1190'],
    ],
  });
  addMediaFormat(md, { payloadType: 0, encodingName: 'PCMU', clockRate: 8000 }, { rtpmap: false });
  addMediaFormat(md, { payloadType: 98, encodingName: 'opus', clockRate: 48000, channels: 2, fmtp: {} });
  assert.deepEqual(md.formats, ['97', '0', '98']);
  assert.deepEqual(md.attributes, [
    { name: 'control', value: 'trackID=1' },
    { name: 'rtpmap', value: '97 MPEG4-GENERIC/48000/2' },
    { name: 'fmtp', value: '97 streamtype=5;config=1190' },
    { name: 'rtpmap', value: '98 opus/48000/2' },
  ]);
  assert.deepEqual(
    mediaFormats(md).map((f) => f.encodingName),
    ['MPEG4-GENERIC', 'PCMU', 'opus'],
  );
  assert.match(serializeSdp({ ...parseSdp('v=0\ns=x'), media: [md] }), /m=audio 0 RTP\/AVP 97 0 98\r\n/);
});

test('property: parseRtpmap(serializeRtpmap(r)) gives r back; parseRtpmap throws only ParseError', () => {
  const rtpmap = fc.record(
    {
      payloadType: fc.nat({ max: 127 }),
      encodingName: fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/),
      clockRate: fc.integer({ min: 1, max: 9_999_999_999 }),
      channels: fc.integer({ min: 1, max: 999 }),
    },
    { requiredKeys: ['payloadType', 'encodingName', 'clockRate'] },
  );
  fc.assert(
    fc.property(rtpmap, (r) => assert.deepEqual(parseRtpmap(serializeRtpmap(r)), { ...r })),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9 ]{0,4}[A-Z0-9/ ]{0,16}$/)), (s) => {
      try {
        parseRtpmap(s);
      } catch (e) {
        assert.ok(e instanceof ParseError, String(e));
      }
    }),
    { numRuns: 1000 },
  );
});
