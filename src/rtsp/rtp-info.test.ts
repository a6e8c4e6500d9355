import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import { parseRtpInfo, serializeRtpInfo } from './rtp-info.js';
import type { RtpInfo } from './rtp-info.js';

const bad = (e: unknown): boolean => e instanceof ParseError && e.code === 'RTSP_BAD_RTP_INFO';

test('RFC 2326 §12.33 example', () => {
  assert.deepEqual(
    parseRtpInfo(
      'url=rtsp://foo.com/bar.avi/streamid=0;seq=45102, url=rtsp://foo.com/bar.avi/streamid=1;seq=30211',
    ),
    [
      { url: 'rtsp://foo.com/bar.avi/streamid=0', seq: 45102 },
      { url: 'rtsp://foo.com/bar.avi/streamid=1', seq: 30211 },
    ],
  );
});

test('RFC 2326 §14.1 example (folded, with rtptime); seq above 16 bits is refused', () => {
  // The RFC example writes seq=9810092, which does not fit the 16-bit RTP sequence number.
  assert.throws(() => parseRtpInfo('url=rtsp://foo/twister/video; seq=9810092;rtptime=3450012'), bad);
  assert.deepEqual(parseRtpInfo('url=rtsp://foo/twister/video; seq=9810;rtptime=3450012'), [
    { url: 'rtsp://foo/twister/video', seq: 9810, rtptime: 3450012 },
  ]);
});

test('URLs holding ; and , stay whole; quoted URLs; ssrc and unknown parameters ignored', () => {
  assert.deepEqual(
    parseRtpInfo(
      'url=rtsp://h/live;jsessionid=1,2/trackID=0;seq=1;rtptime=2,url=rtsp://h/live;x/trackID=1;rtptime=4294967295;ssrc=0A0B0C0D;foo=bar',
    ),
    [
      { url: 'rtsp://h/live;jsessionid=1,2/trackID=0', seq: 1, rtptime: 2 },
      { url: 'rtsp://h/live;x/trackID=1', rtptime: 0xffffffff },
    ],
  );
  assert.deepEqual(parseRtpInfo('url="rtsp://h/a";seq=7'), [{ url: 'rtsp://h/a', seq: 7 }]);
  assert.deepEqual(parseRtpInfo('URL=trackID=0'), [{ url: 'trackID=0' }]);
});

test('serialization', () => {
  assert.equal(
    serializeRtpInfo([
      { url: 'rtsp://h/live/trackID=0', seq: 1000, rtptime: 90000 },
      { url: 'rtsp://h/live/trackID=1', seq: 0 },
    ]),
    'url=rtsp://h/live/trackID=0;seq=1000;rtptime=90000,url=rtsp://h/live/trackID=1;seq=0',
  );
  assert.throws(() => serializeRtpInfo([{ url: 'rtsp://h/a;seq=1' }]), RangeError);
  assert.throws(() => serializeRtpInfo([{ url: 'rtsp://h/a,url=x' }]), RangeError);
  assert.throws(() => serializeRtpInfo([{ url: '' }]), RangeError);
  assert.throws(() => serializeRtpInfo([{ url: 'rtsp://h/a', seq: 65536 }]), RangeError);
});

test('malformed values', () => {
  for (const v of [
    '',
    'seq=1',
    'url=',
    'url=;seq=1',
    'x url=a',
    'url=a;seq=x',
    'url=a;rtptime=4294967296',
    'url="a;seq=1',
  ]) {
    assert.throws(() => parseRtpInfo(v), bad, v);
  }
});

const entryArb: fc.Arbitrary<RtpInfo> = fc.record(
  {
    url: fc
      .stringMatching(/^rtsp:\/\/[a-z]{1,8}(\/[A-Za-z0-9=;,.]{1,10}){0,3}$/)
      .filter((u) => !/;\s*(seq|rtptime|ssrc)\s*=|,\s*url\s*=/i.test(u)),
    seq: fc.integer({ min: 0, max: 0xffff }),
    rtptime: fc.integer({ min: 0, max: 0xffffffff }),
  },
  { requiredKeys: ['url'], noNullPrototype: true },
);

test('property: round trip and ParseError only', () => {
  fc.assert(
    fc.property(fc.array(entryArb, { minLength: 1, maxLength: 4 }), (e) =>
      assert.deepEqual(parseRtpInfo(serializeRtpInfo(e)), e),
    ),
  );
  const chars = fc.constantFrom(...'url=rtsp://h/;seq=rtptime=,"0123 '.split(''));
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: chars, maxLength: 50 })), (s) => {
      try {
        parseRtpInfo(s);
      } catch (e) {
        assert.ok(e instanceof ParseError, String(e));
      }
    }),
    { numRuns: 500 },
  );
});
