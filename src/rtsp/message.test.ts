import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtspHeaders } from './headers.js';
import {
  serializeInterleaved,
  serializeInterleavedHeader,
  serializeRequest,
  serializeResponse,
} from './message.js';

test('serializeResponse: default reason, CRLF, header order and casing', () => {
  const out = serializeResponse({
    statusCode: 200,
    headers: new RtspHeaders([
      ['CSeq', '3'],
      ['Session', '12345678;timeout=60'],
    ]),
    body: Buffer.alloc(0),
  });
  assert.equal(out.toString(), 'RTSP/1.0 200 OK\r\nCSeq: 3\r\nSession: 12345678;timeout=60\r\n\r\n');
  assert.equal(
    serializeResponse({ statusCode: 461, headers: new RtspHeaders(), body: Buffer.alloc(0) }).toString(),
    'RTSP/1.0 461 Unsupported transport\r\n\r\n',
  );
  assert.equal(
    serializeResponse({
      statusCode: 200,
      reason: '',
      version: 'HTTP/1.0',
      headers: new RtspHeaders(),
      body: Buffer.alloc(0),
    }).toString(),
    'HTTP/1.0 200 \r\n\r\n',
  );
});

test('Content-Length is set from the body, corrected when stale, kept at 0 when asked', () => {
  const sdp = Buffer.from('v=0\r\ns=é\r\n');
  const out = serializeResponse({
    statusCode: 200,
    headers: new RtspHeaders({ CSeq: '2', 'Content-Type': 'application/sdp' }),
    body: sdp,
  });
  assert.equal(
    out.toString(),
    `RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\nv=0\r\ns=é\r\n`,
  );
  const headers = new RtspHeaders([
    ['content-length', '999'],
    ['Content-Length', '1'],
    ['CSeq', '1'],
  ]);
  const req = serializeRequest({
    method: 'SET_PARAMETER',
    uri: 'rtsp://h/x',
    headers,
    body: Buffer.from('ab'),
  });
  assert.equal(req.toString(), 'SET_PARAMETER rtsp://h/x RTSP/1.0\r\ncontent-length: 2\r\nCSeq: 1\r\n\r\nab');
  assert.equal(headers.get('content-length'), '999', 'the caller headers are not modified');
  const empty = serializeRequest({
    method: 'OPTIONS',
    uri: '*',
    headers: new RtspHeaders({ 'Content-Length': '0' }),
    body: Buffer.alloc(0),
  });
  assert.equal(empty.toString(), 'OPTIONS * RTSP/1.0\r\nContent-Length: 0\r\n\r\n');
});

test('serializers refuse what would corrupt the stream', () => {
  const h = new RtspHeaders();
  const body = Buffer.alloc(0);
  assert.throws(() => serializeRequest({ method: 'BAD METHOD', uri: '*', headers: h, body }), TypeError);
  assert.throws(() => serializeRequest({ method: 'PLAY', uri: 'rtsp://h/a b', headers: h, body }), TypeError);
  assert.throws(() => serializeRequest({ method: 'PLAY', uri: '', headers: h, body }), TypeError);
  assert.throws(
    () => serializeRequest({ method: 'PLAY', uri: '*', version: 'RTSP 1.0', headers: h, body }),
    TypeError,
  );
  assert.throws(() => serializeResponse({ statusCode: 20, headers: h, body }), RangeError);
  assert.throws(
    () => serializeResponse({ statusCode: 200, reason: 'OK\r\nX: y', headers: h, body }),
    TypeError,
  );
});

test('interleaved frames: $, channel, 16-bit length', () => {
  assert.deepEqual(serializeInterleavedHeader(1, 0x0102), Buffer.from([0x24, 1, 1, 2]));
  assert.deepEqual(serializeInterleaved(2, Buffer.from([9, 8])), Buffer.from([0x24, 2, 0, 2, 9, 8]));
  assert.deepEqual(serializeInterleaved(255, new Uint8Array(0)), Buffer.from([0x24, 255, 0, 0]));
  assert.equal(serializeInterleaved(0, Buffer.alloc(65535)).length, 65539);
  assert.throws(() => serializeInterleavedHeader(256, 0), RangeError);
  assert.throws(() => serializeInterleavedHeader(-1, 0), RangeError);
  assert.throws(() => serializeInterleavedHeader(0, 65536), RangeError);
  assert.throws(() => serializeInterleaved(0, Buffer.alloc(65536)), RangeError);
});
