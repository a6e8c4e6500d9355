import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RTSP_STATUS, RtspErrorCode, reasonPhrase, statusForParseError } from './status.js';

test('RFC 2326 §7.1.1 codes are all there', () => {
  const codes = Object.keys(RTSP_STATUS).map(Number);
  assert.equal(codes.length, 44);
  for (const c of [
    100, 200, 201, 250, 302, 400, 401, 404, 405, 451, 452, 453, 454, 455, 456, 457, 458, 459, 460, 461, 462,
    500, 501, 503, 505, 551,
  ]) {
    assert.ok(codes.includes(c), `missing ${c}`);
  }
  assert.equal(reasonPhrase(200), 'OK');
  assert.equal(reasonPhrase(454), 'Session Not Found');
  assert.equal(reasonPhrase(461), 'Unsupported transport');
  assert.equal(reasonPhrase(505), 'RTSP Version not supported');
  assert.ok(Object.isFrozen(RTSP_STATUS));
});

test('unknown codes get their class phrase', () => {
  assert.equal(reasonPhrase(299), 'Success');
  assert.equal(reasonPhrase(499), 'Client Error');
  assert.equal(reasonPhrase(599), 'Server Error');
  assert.equal(reasonPhrase(999), 'Unknown');
});

test('parse errors map to statuses', () => {
  assert.equal(statusForParseError(RtspErrorCode.StartLineTooLong), 414);
  assert.equal(statusForParseError('RTSP_HEADERS_TOO_LARGE'), 400);
  assert.equal(statusForParseError('RTSP_TOO_MANY_HEADERS'), 400);
  assert.equal(statusForParseError('RTSP_BODY_TOO_LARGE'), 413);
  assert.equal(statusForParseError('RTSP_INTERLEAVED_TOO_LARGE'), 413);
  assert.equal(statusForParseError('RTSP_BAD_VERSION'), 505);
  assert.equal(statusForParseError('RTSP_BAD_RANGE'), 457);
  for (const code of [
    'RTSP_BAD_START_LINE',
    'RTSP_BAD_HEADER',
    'RTSP_BAD_CONTENT_LENGTH',
    'RTSP_BAD_TRANSPORT',
    'SDP_BAD_LINE',
    'x',
  ]) {
    assert.equal(statusForParseError(code), 400);
  }
  for (const [key, value] of Object.entries(RtspErrorCode)) assert.match(value, /^RTSP_[A-Z_]+$/, key);
});
