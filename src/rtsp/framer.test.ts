import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import { DEFAULT_FRAMER_LIMITS, RtspFramer } from './framer.js';
import type { FramerLimits } from './framer.js';
import { RtspHeaders } from './headers.js';
import type { RtspMessage, RtspRequest, RtspResponse } from './message.js';
import { serializeInterleaved, serializeRequest, serializeResponse } from './message.js';

type Frame = Extract<RtspMessage, { kind: 'interleaved' }>;

const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');

function parseAll(input: Buffer, limits?: Partial<FramerLimits>): RtspMessage[] {
  return new RtspFramer(limits).push(input);
}

function only<K extends RtspMessage['kind']>(
  msgs: RtspMessage[],
  kind: K,
): Extract<RtspMessage, { kind: K }> {
  assert.equal(msgs.length, 1);
  const m = msgs[0]!;
  assert.equal(m.kind, kind);
  return m as Extract<RtspMessage, { kind: K }>;
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ParseError && e.code === code);
}

/** A comparable form of a message (headers as entry lists, buffers as hex). */
function plain(m: RtspMessage): unknown {
  if (m.kind === 'interleaved') return { ...m, payload: m.payload.toString('hex') };
  return { ...m, headers: [...m.headers.entries()], body: m.body.toString('hex') };
}

// ---------------------------------------------------------------------------------------------------------
// Vectors: RFC 2326 examples (§10, §14) and requests captured from ffmpeg (Lavf59) and GStreamer 1.22.

test('RFC 2326 §14.1: DESCRIBE reply with an SDP body, folded Transport and RTP-Info', () => {
  const sdp =
    'v=0\r\no=- 2890844256 2890842807 IN IP4 172.16.2.93\r\ns=RTSP Session\r\n' +
    'i=An Example of RTSP Session Usage\r\na=control:rtsp://foo/twister\r\nt=0 0\r\n' +
    'm=audio 0 RTP/AVP 0\r\na=control:rtsp://foo/twister/audio\r\n' +
    'm=video 0 RTP/AVP 26\r\na=control:rtsp://foo/twister/video\r\n';
  const input = Buffer.concat([
    crlf(['DESCRIBE rtsp://foo/twister RTSP/1.0', 'CSeq: 1', '', '']),
    crlf([
      'RTSP/1.0 200 OK',
      'CSeq: 1',
      'Content-Type: application/sdp',
      `Content-Length: ${Buffer.byteLength(sdp)}`,
      '',
      sdp,
    ]),
    crlf([
      'RTSP/1.0 200 OK',
      'CSeq: 2',
      'Transport: RTP/AVP;unicast;client_port=8000-8001;',
      '           server_port=9000-9001',
      'Session: 12345678',
      '',
      '',
    ]),
    crlf([
      'RTSP/1.0 200 OK',
      'CSeq: 4',
      'Session: 12345678',
      'RTP-Info: url=rtsp://foo/twister/video;',
      '  seq=9810092;rtptime=3450012',
      '',
      '',
    ]),
  ]);
  const [describe, reply, setup, play] = parseAll(input) as [
    RtspRequest,
    RtspResponse,
    RtspResponse,
    RtspResponse,
  ];
  assert.equal(describe.method, 'DESCRIBE');
  assert.equal(describe.uri, 'rtsp://foo/twister');
  assert.equal(describe.headers.get('cseq'), '1');
  assert.equal(reply.statusCode, 200);
  assert.equal(reply.reason, 'OK');
  assert.equal(reply.body.toString(), sdp);
  assert.equal(
    setup.headers.get('Transport'),
    'RTP/AVP;unicast;client_port=8000-8001; server_port=9000-9001',
  );
  assert.equal(play.headers.get('RTP-Info'), 'url=rtsp://foo/twister/video; seq=9810092;rtptime=3450012');
});

test('RFC 2326 §10.12: interleaved frames between responses', () => {
  const rtp = Buffer.from('80e0000100000000deadbeef', 'hex');
  const input = Buffer.concat([
    crlf([
      'RTSP/1.0 200 OK',
      'CSeq: 2',
      'Transport: RTP/AVP/TCP;interleaved=0-1',
      'Session: 12345678',
      '',
      '',
    ]),
    serializeInterleaved(0, rtp),
    serializeInterleaved(1, Buffer.from('81c80006', 'hex')),
    crlf(['RTSP/1.0 200 OK', 'CSeq: 3', 'Session: 12345678', '', '']),
  ]);
  const msgs = parseAll(input);
  assert.deepEqual(
    msgs.map((m) => m.kind),
    ['response', 'interleaved', 'interleaved', 'response'],
  );
  const frame = msgs[1] as Frame;
  assert.equal(frame.channel, 0);
  assert.deepEqual(frame.payload, rtp);
  assert.equal((msgs[2] as Frame).channel, 1);
});

test('RFC 2326 §10.2: ANNOUNCE with a body, §10.7 GET_PARAMETER with text/parameters', () => {
  const body = 'packets_received\r\njitter\r\n';
  const msgs = parseAll(
    crlf([
      'GET_PARAMETER rtsp://example.com/fizzle/foo RTSP/1.0',
      'CSeq: 431',
      'Content-Type: text/parameters',
      'Session: 12345678',
      `Content-Length: ${body.length}`,
      '',
      body,
    ]),
  );
  const req = only(msgs, 'request');
  assert.equal(req.method, 'GET_PARAMETER');
  assert.equal(req.body.toString(), body);
});

const FFMPEG_SDP =
  'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
  'm=video 0 RTP/AVP 96\r\na=rtpmap:96 MP4V-ES/90000\r\na=control:streamid=0\r\n';
const FFMPEG_PUBLISH = [
  'OPTIONS rtsp://127.0.0.1:42151/live/pub RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf59.27.100\r\n\r\n',
  'ANNOUNCE rtsp://127.0.0.1:42151/live/pub RTSP/1.0\r\nContent-Type: application/sdp\r\nCSeq: 2\r\n' +
    `User-Agent: Lavf59.27.100\r\nContent-Length: ${FFMPEG_SDP.length}\r\n\r\n${FFMPEG_SDP}`,
  'SETUP rtsp://127.0.0.1:42151/live/pub/streamid=0 RTSP/1.0\r\n' +
    'Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\nCSeq: 3\r\nUser-Agent: Lavf59.27.100\r\n\r\n',
  'RECORD rtsp://127.0.0.1:42151/live/pub RTSP/1.0\r\nRange: npt=0.000-\r\nCSeq: 4\r\n' +
    'User-Agent: Lavf59.27.100\r\nSession: 12345678\r\n\r\n',
];

test('ffmpeg publish session (captured): OPTIONS, ANNOUNCE with SDP, SETUP record, RECORD, RTP', () => {
  const rtp = Buffer.alloc(1400, 7);
  const input = Buffer.concat([
    ...FFMPEG_PUBLISH.map((s) => Buffer.from(s)),
    serializeInterleaved(0, rtp),
    serializeInterleaved(1, Buffer.alloc(28, 1)),
    Buffer.from('TEARDOWN rtsp://127.0.0.1:42151/live/pub RTSP/1.0\r\nCSeq: 5\r\nSession: 12345678\r\n\r\n'),
  ]);
  const msgs = parseAll(input);
  assert.deepEqual(
    msgs.map((m) => (m.kind === 'request' ? m.method : m.kind)),
    ['OPTIONS', 'ANNOUNCE', 'SETUP', 'RECORD', 'interleaved', 'interleaved', 'TEARDOWN'],
  );
  const announce = msgs[1] as RtspRequest;
  assert.equal(announce.body.toString(), FFMPEG_SDP);
  assert.ok(announce.body.toString().endsWith('a=control:streamid=0\r\n'));
  const setup = msgs[2] as RtspRequest;
  assert.equal(setup.uri, 'rtsp://127.0.0.1:42151/live/pub/streamid=0');
  assert.equal(setup.headers.get('transport'), 'RTP/AVP/TCP;unicast;interleaved=0-1;mode=record');
  assert.equal((msgs[4] as Frame).payload.length, 1400);
});

test('ffmpeg play with a query (captured): the control URL is glued after the query', () => {
  const req = only(
    parseAll(
      Buffer.from(
        'SETUP rtsp://127.0.0.1:46135/live/x?token=1/trackID=0 RTSP/1.0\r\n' +
          'Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nCSeq: 3\r\nUser-Agent: Lavf59.27.100\r\n\r\n',
      ),
    ),
    'request',
  );
  assert.equal(req.uri, 'rtsp://127.0.0.1:46135/live/x?token=1/trackID=0');
});

test('GStreamer (captured): repeated User-Agent, quoted mode, Date', () => {
  const req = only(
    parseAll(
      Buffer.from(
        'OPTIONS rtsp://127.0.0.1:34377/live/x?token=1 RTSP/1.0\r\nCSeq: 1\r\n' +
          'User-Agent: GStreamer/1.22.0\r\n' +
          'User-Agent: RealMedia Player Version 6.0.9.1235 (linux-2.0-libc6-i386-gcc2.95)\r\n' +
          'ClientChallenge: 9e26d33f2984236010ef6253fb1887f7\r\n' +
          'PlayerStarttime: [28/03/2003:22:50:23 00:00]\r\nDate: Mon, 23 Nov 2026 23:01:40 GMT\r\n\r\n' +
          'SETUP rtsp://127.0.0.1:8554/live/trackID=0?token=1 RTSP/1.0\r\nCSeq: 3\r\n' +
          'Transport: RTP/AVP;unicast;client_port=5000-5001;mode="PLAY"\r\n\r\n',
      ),
    ).slice(0, 1),
    'request',
  );
  assert.deepEqual(req.headers.getAll('user-agent'), [
    'GStreamer/1.22.0',
    'RealMedia Player Version 6.0.9.1235 (linux-2.0-libc6-i386-gcc2.95)',
  ]);
  assert.equal(req.headers.get('Date'), 'Mon, 23 Nov 2026 23:01:40 GMT');
});

test('401 with several WWW-Authenticate headers keeps them all, in order', () => {
  const res = only(
    parseAll(
      crlf([
        'RTSP/1.0 401 Unauthorized',
        'CSeq: 2',
        'WWW-Authenticate: Digest realm="rtspkit", nonce="abc", algorithm=SHA-256',
        'WWW-Authenticate: Digest realm="rtspkit", nonce="abc", algorithm=MD5',
        'WWW-Authenticate: Basic realm="rtspkit"',
        '',
        '',
      ]),
    ),
    'response',
  );
  assert.equal(res.headers.getAll('www-authenticate').length, 3);
  assert.equal(res.headers.getAll('WWW-Authenticate')[2], 'Basic realm="rtspkit"');
});

// ---------------------------------------------------------------------------------------------------------
// Tolerances.

test('bare LF line ends, leading empty lines, odd casing of Content-length and CSeq', () => {
  const msgs = parseAll(
    Buffer.from(
      '\r\n\n\r\nANNOUNCE rtsp://h/x RTSP/1.0\nCseq: 7\nContent-length: 3\n\nabc\n\nOPTIONS * RTSP/1.0\nCSeq: 8\n\n',
    ),
  );
  assert.equal(msgs.length, 2);
  const [a, o] = msgs as [RtspRequest, RtspRequest];
  assert.equal(a.headers.get('CSeq'), '7');
  assert.equal(a.body.toString(), 'abc');
  assert.equal(o.uri, '*');
});

test('header names keep their casing; values are trimmed; whitespace before the colon is tolerated', () => {
  const req = only(parseAll(crlf(['OPTIONS * RTSP/1.0', 'cSeQ :  5  ', 'X-Empty:', '', ''])), 'request');
  assert.deepEqual(
    [...req.headers.entries()],
    [
      ['cSeQ', '5'],
      ['X-Empty', ''],
    ],
  );
});

test('continuation lines fold into one value', () => {
  const req = only(
    parseAll(
      crlf([
        'SETUP rtsp://h/x RTSP/1.0',
        'Transport: RTP/AVP;',
        '\tunicast;',
        '   client_port=1-2',
        'CSeq: 1',
        '',
        '',
      ]),
    ),
    'request',
  );
  assert.equal(req.headers.get('transport'), 'RTP/AVP; unicast; client_port=1-2');
  assert.equal(req.headers.get('cseq'), '1');
});

test('responses: reason with spaces, empty reason, no reason, HTTP responses', () => {
  const msgs = parseAll(
    crlf([
      'RTSP/1.0 454 Session Not Found',
      '',
      'RTSP/1.0 200 ',
      '',
      'RTSP/1.0 200',
      '',
      'HTTP/1.0 200 OK',
      'Content-Type: application/x-rtsp-tunnelled',
      '',
      '',
    ]),
  ) as RtspResponse[];
  assert.deepEqual(
    msgs.map((m) => [m.version, m.statusCode, m.reason]),
    [
      ['RTSP/1.0', 454, 'Session Not Found'],
      ['RTSP/1.0', 200, ''],
      ['RTSP/1.0', 200, ''],
      ['HTTP/1.0', 200, 'OK'],
    ],
  );
});

test('HTTP tunnelling requests are framed like RTSP ones', () => {
  const req = only(
    parseAll(
      crlf([
        'GET /live/cam HTTP/1.0',
        'Accept: application/x-rtsp-tunnelled',
        'x-sessioncookie: 3a2b1c',
        '',
        '',
      ]),
    ),
    'request',
  );
  assert.equal(req.method, 'GET');
  assert.equal(req.uri, '/live/cam');
  assert.equal(req.version, 'HTTP/1.0');
});

test('read() and takeUnread() stop after one message, e.g. at a tunnel POST', () => {
  const framer = new RtspFramer();
  framer.write(Buffer.from('POST /x HTTP/1.0\r\nx-sessioncookie: c\r\n\r\nT1BUSU9OUyAq'));
  const post = framer.read();
  assert.equal(post?.kind, 'request');
  assert.equal(framer.takeUnread().toString(), 'T1BUSU9OUyAq');
  assert.equal(framer.bufferedBytes, 0);
  assert.equal(framer.read(), undefined);
});

test('zero-length interleaved frame and a frame payload shared with its chunk (no copy)', () => {
  const chunk = Buffer.concat([
    serializeInterleaved(3, Buffer.alloc(0)),
    serializeInterleaved(4, Buffer.from('xyz')),
  ]);
  const [a, b] = parseAll(chunk) as Array<Frame>;
  assert.equal(a!.channel, 3);
  assert.equal(a!.payload.length, 0);
  assert.equal(b!.payload.toString(), 'xyz');
  assert.equal(b!.payload.buffer, chunk.buffer);
});

test('bufferedBytes follows the partial message and returns to 0', () => {
  const framer = new RtspFramer();
  assert.deepEqual(framer.push(Buffer.from('OPTIONS * RTSP/1.0\r\nCSe')), []);
  assert.equal(framer.bufferedBytes, 23);
  assert.equal(framer.push(Buffer.from('q: 1\r\n\r\n')).length, 1);
  assert.equal(framer.bufferedBytes, 0);
});

// ---------------------------------------------------------------------------------------------------------
// Errors and limits.

test('malformed start lines', () => {
  throwsCode(() => parseAll(Buffer.from('OPTIONS\r\n\r\n')), 'RTSP_BAD_START_LINE');
  throwsCode(() => parseAll(Buffer.from('OPTIONS * RTSP/1.0 extra\r\n\r\n')), 'RTSP_BAD_START_LINE');
  throwsCode(() => parseAll(Buffer.from('OP(TIONS * RTSP/1.0\r\n\r\n')), 'RTSP_BAD_START_LINE');
  throwsCode(() => parseAll(Buffer.from('RTSP/1.0 20 OK\r\n\r\n')), 'RTSP_BAD_START_LINE');
  throwsCode(() => parseAll(Buffer.from('RTSP/1.0 abc OK\r\n\r\n')), 'RTSP_BAD_START_LINE');
  throwsCode(() => parseAll(Buffer.from('hello world foo\r\n\r\n')), 'RTSP_BAD_START_LINE');
  throwsCode(() => parseAll(Buffer.from('OPTIONS * RTSP/1.0\r\0\n\r\n')), 'RTSP_BAD_START_LINE');
});

test('unsupported versions give RTSP_BAD_VERSION', () => {
  throwsCode(() => parseAll(Buffer.from('OPTIONS * SIP/2.0\r\n\r\n')), 'RTSP_BAD_VERSION');
  throwsCode(() => parseAll(Buffer.from('GET / HTTP/2.0\r\n\r\n')), 'RTSP_BAD_VERSION');
  throwsCode(() => parseAll(Buffer.from('RTSP/one 200 OK\r\n\r\n')), 'RTSP_BAD_VERSION');
  // RTSP/2.0 is well-formed: the framer passes it on and the server answers 505.
  assert.equal(only(parseAll(Buffer.from('OPTIONS * RTSP/2.0\r\n\r\n')), 'request').version, 'RTSP/2.0');
});

test('malformed header lines', () => {
  throwsCode(() => parseAll(crlf(['OPTIONS * RTSP/1.0', 'no colon here', '', ''])), 'RTSP_BAD_HEADER');
  throwsCode(() => parseAll(crlf(['OPTIONS * RTSP/1.0', ': empty name', '', ''])), 'RTSP_BAD_HEADER');
  throwsCode(() => parseAll(crlf(['OPTIONS * RTSP/1.0', 'Bad Name: x', '', ''])), 'RTSP_BAD_HEADER');
  throwsCode(() => parseAll(crlf(['OPTIONS * RTSP/1.0', ' folded first', '', ''])), 'RTSP_BAD_HEADER');
  throwsCode(() => parseAll(crlf(['OPTIONS * RTSP/1.0', 'X: a\rb', '', ''])), 'RTSP_BAD_HEADER');
  throwsCode(() => parseAll(crlf(['OPTIONS * RTSP/1.0', 'X: a\0b', '', ''])), 'RTSP_BAD_HEADER');
});

test('Content-Length: malformed, conflicting, repeated equal, too large', () => {
  throwsCode(
    () => parseAll(crlf(['ANNOUNCE * RTSP/1.0', 'Content-Length: -1', '', ''])),
    'RTSP_BAD_CONTENT_LENGTH',
  );
  throwsCode(
    () => parseAll(crlf(['ANNOUNCE * RTSP/1.0', 'Content-Length: 1e3', '', ''])),
    'RTSP_BAD_CONTENT_LENGTH',
  );
  throwsCode(
    () => parseAll(crlf(['ANNOUNCE * RTSP/1.0', 'Content-Length: 1', 'content-length: 2', '', 'ab'])),
    'RTSP_BAD_CONTENT_LENGTH',
  );
  const ok = parseAll(crlf(['ANNOUNCE * RTSP/1.0', 'Content-Length: 2', 'content-length: 2', '', 'ab']));
  assert.equal(only(ok, 'request').body.toString(), 'ab');
  throwsCode(
    () => parseAll(crlf(['ANNOUNCE * RTSP/1.0', 'Content-Length: 99999999999999999999', '', ''])),
    'RTSP_BODY_TOO_LARGE',
  );
  throwsCode(
    () => parseAll(crlf(['ANNOUNCE * RTSP/1.0', 'Content-Length: 11', '', '']), { maxBodyBytes: 10 }),
    'RTSP_BODY_TOO_LARGE',
  );
});

test('limits on start line, header section, header count and $ frames', () => {
  const longUri = `rtsp://h/${'a'.repeat(100)}`;
  throwsCode(
    () => parseAll(Buffer.from(`DESCRIBE ${longUri} RTSP/1.0\r\n\r\n`), { maxStartLineBytes: 64 }),
    'RTSP_START_LINE_TOO_LONG',
  );
  // Exactly at the limit passes, CR excluded from the count.
  const exact = `DESCRIBE ${'x'.repeat(64 - 18)} RTSP/1.0`;
  assert.equal(exact.length, 64);
  assert.equal(parseAll(Buffer.from(`${exact}\r\n\r\n`), { maxStartLineBytes: 64 }).length, 1);
  throwsCode(
    () => parseAll(crlf(['OPTIONS * RTSP/1.0', `X: ${'v'.repeat(200)}`, '', '']), { maxHeaderBytes: 100 }),
    'RTSP_HEADERS_TOO_LARGE',
  );
  throwsCode(
    () => parseAll(crlf(['OPTIONS * RTSP/1.0', 'A: 1', 'B: 2', 'C: 3', '', '']), { maxHeaderCount: 2 }),
    'RTSP_TOO_MANY_HEADERS',
  );
  assert.equal(
    parseAll(crlf(['OPTIONS * RTSP/1.0', 'A: 1', 'B: 2', '', '']), { maxHeaderCount: 2 }).length,
    1,
  );
  throwsCode(
    () => parseAll(serializeInterleaved(0, Buffer.alloc(101)), { maxInterleavedBytes: 100 }),
    'RTSP_INTERLEAVED_TOO_LARGE',
  );
});

test('a 10 MB header line fails early, holding no more than the limit', () => {
  const framer = new RtspFramer();
  framer.push(Buffer.from('OPTIONS * RTSP/1.0\r\nX-Big: '));
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let thrown: unknown;
  let pushed = 0;
  for (; pushed < (10 * 1024 * 1024) / chunk.length; pushed++) {
    try {
      framer.push(chunk);
    } catch (e) {
      thrown = e;
      break;
    }
    assert.ok(
      framer.bufferedBytes <= DEFAULT_FRAMER_LIMITS.maxHeaderBytes + DEFAULT_FRAMER_LIMITS.maxStartLineBytes,
    );
  }
  assert.ok(thrown instanceof ParseError && thrown.code === 'RTSP_HEADERS_TOO_LARGE');
  assert.ok(pushed <= 1, `failed after ${pushed + 1} chunks`);

  // The same with a start line that never ends, pushed as one 10 MB buffer.
  throwsCode(() => new RtspFramer().push(Buffer.alloc(10 * 1024 * 1024, 0x61)), 'RTSP_START_LINE_TOO_LONG');
});

test('after an error the framer stays failed and rethrows the same error', () => {
  const framer = new RtspFramer();
  let first: unknown;
  try {
    framer.push(Buffer.from('BAD\r\n\r\n'));
  } catch (e) {
    first = e;
  }
  assert.ok(first instanceof ParseError);
  assert.throws(
    () => framer.push(Buffer.from('OPTIONS * RTSP/1.0\r\n\r\n')),
    (e: unknown) => e === first,
  );
  assert.equal(framer.bufferedBytes, 0);
});

test('invalid limits are refused', () => {
  assert.throws(() => new RtspFramer({ maxBodyBytes: -1 }), RangeError);
  assert.throws(() => new RtspFramer({ maxHeaderCount: 1.5 }), RangeError);
});

// ---------------------------------------------------------------------------------------------------------
// Properties.

const tokenArb = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,11}$/);
const valueArb = fc
  .string({ unit: fc.constantFrom(...'abc XYZ019;=,/"\'é\u00fc✓-'.split('')), maxLength: 30 })
  .map((s) => s.trim());
const headersArb = fc
  .array(fc.tuple(tokenArb, valueArb), { maxLength: 6 })
  .map((entries) => entries.filter(([name]) => name.toLowerCase() !== 'content-length'));
const bodyArb = fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 200 }));

const requestArb = fc
  .record({
    method: fc.constantFrom('OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY', 'ANNOUNCE', 'SET_PARAMETER', 'GET'),
    uri: fc.oneof(
      fc.constant('*'),
      fc.stringMatching(/^rtsp:\/\/[a-z0-9.]{1,10}(:\d{1,5})?(\/[A-Za-z0-9=?&%._-]{0,12}){0,3}$/),
    ),
    version: fc.constantFrom('RTSP/1.0', 'HTTP/1.0', 'HTTP/1.1'),
    headers: headersArb,
    body: bodyArb,
  })
  .map(({ headers, body, ...rest }) => ({
    kind: 'request' as const,
    ...rest,
    headers: new RtspHeaders(headers),
    body: Buffer.from(body),
  }));

const responseArb = fc
  .record({
    statusCode: fc.constantFrom(200, 302, 401, 404, 454, 461, 500),
    reason: fc.oneof(
      fc.constant(undefined),
      fc.constant(''),
      fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,20}[a-z]$/),
    ),
    headers: headersArb,
    body: bodyArb,
  })
  .map(({ headers, body, statusCode, reason }) => ({
    kind: 'response' as const,
    version: 'RTSP/1.0',
    statusCode,
    ...(reason === undefined ? {} : { reason }),
    headers: new RtspHeaders(headers),
    body: Buffer.from(body),
  }));

const frameArb = fc
  .record({ channel: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 1500 }) })
  .map(({ channel, payload }) => ({ kind: 'interleaved' as const, channel, payload: Buffer.from(payload) }));

type Generated = RtspRequest | (Omit<RtspResponse, 'reason'> & { reason?: string }) | Frame;
const messageArb: fc.Arbitrary<Generated> = fc.oneof<fc.Arbitrary<Generated>[]>(
  requestArb,
  responseArb,
  frameArb,
);

function encode(m: Generated): Buffer {
  if (m.kind === 'interleaved') return serializeInterleaved(m.channel, m.payload);
  if (m.kind === 'request') return serializeRequest(m);
  return serializeResponse(m);
}

/** Splits `buf` at the given fractions of its length. */
function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * buf.length)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    parts.push(buf.subarray(prev, p));
    prev = p;
  }
  parts.push(buf.subarray(prev));
  return parts;
}

test('property: a stream of messages parses the same however it is split, byte-at-a-time included', () => {
  fc.assert(
    fc.property(
      fc.array(messageArb, { minLength: 1, maxLength: 6 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
      (messages, cuts) => {
        const wire = Buffer.concat(messages.map(encode));
        const whole = parseAll(wire).map(plain);
        assert.equal(whole.length, messages.length);

        const framer = new RtspFramer();
        const pieces = splitAt(wire, cuts)
          .flatMap((p) => framer.push(p))
          .map(plain);
        assert.deepEqual(pieces, whole);

        const bytewise = new RtspFramer();
        const out: RtspMessage[] = [];
        for (let i = 0; i < wire.length; i++) out.push(...bytewise.push(wire.subarray(i, i + 1)));
        assert.deepEqual(out.map(plain), whole);
        assert.equal(bytewise.bufferedBytes, 0);
      },
    ),
    { numRuns: 60 },
  );
});

test('property: parse(serialize(message)) gives the message back', () => {
  fc.assert(
    fc.property(messageArb, (m) => {
      const [parsed] = parseAll(encode(m));
      assert.ok(parsed !== undefined);
      if (m.kind === 'interleaved') {
        assert.deepEqual(plain(parsed), plain(m));
        return;
      }
      const expected = [...m.headers.entries()];
      if (m.body.length > 0) expected.push(['Content-Length', String(m.body.length)]);
      assert.ok(parsed.kind !== 'interleaved');
      assert.deepEqual([...parsed.headers.entries()], expected);
      assert.deepEqual(parsed.body, m.body);
      if (m.kind === 'request')
        assert.deepEqual({ ...parsed, headers: null, body: null }, { ...m, headers: null, body: null });
      else {
        assert.equal(parsed.kind, 'response');
        assert.equal(parsed.statusCode, m.statusCode);
        if (m.reason !== undefined) assert.equal(parsed.reason, m.reason);
      }
    }),
  );
});

test('property: arbitrary bytes only ever throw ParseError, and buffering stays bounded', () => {
  const limits = {
    maxStartLineBytes: 64,
    maxHeaderBytes: 256,
    maxHeaderCount: 8,
    maxBodyBytes: 128,
    maxInterleavedBytes: 512,
  };
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc
      .array(
        fc.constantFrom('OPTIONS * RTSP/1.0', 'RTSP/1.0 200 OK', 'X: y', ' z', '', 'Content-Length: 5', '$'),
        {
          maxLength: 12,
        },
      )
      .map((lines) => Buffer.from(lines.join('\r\n'))),
  );
  fc.assert(
    fc.property(fc.array(bytes, { minLength: 1, maxLength: 5 }), (chunks) => {
      const framer = new RtspFramer(limits);
      try {
        for (const c of chunks) {
          framer.push(Buffer.from(c));
          assert.ok(framer.bufferedBytes <= 64 + 2 + 256 + 128 + 4 + 512);
        }
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        assert.match(e.code, /^RTSP_/);
      }
    }),
    { numRuns: 300 },
  );
});
