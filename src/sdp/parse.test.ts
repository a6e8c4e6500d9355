import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../base/errors.js';
import { getAttribute, getControl, parseSdp, serializeSdp } from './index.js';

const crlf = (...lines: string[]): string => lines.map((l) => `${l}\r\n`).join('');

function throwsCode(input: string, code: string): void {
  assert.throws(
    () => parseSdp(input),
    (e: unknown) => e instanceof ParseError && e.code === code,
  );
}

test('line endings: LF, CRLF, lone CR, mixed, and no final newline give the same description', () => {
  const lines = [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=x',
    't=0 0',
    'm=video 0 RTP/AVP 96',
    'a=rtpmap:96 H264/90000',
  ];
  const ref = parseSdp(crlf(...lines));
  assert.deepEqual(parseSdp(lines.join('\n')), ref);
  assert.deepEqual(parseSdp(lines.join('\r')), ref);
  assert.deepEqual(parseSdp(lines.join('\n') + '\n'), ref);
  assert.deepEqual(parseSdp(lines.map((l, i) => l + (i % 2 ? '\r\n' : '\n')).join('')), ref);
  assert.equal(serializeSdp(parseSdp(lines.join('\n'))), crlf(...lines));
});

test('tolerates blank lines, indentation, trailing whitespace, a BOM and trailing NULs', () => {
  const sd = parseSdp('\uFEFFv=0\n\n   o=- 1 1 IN IP4 h  \n s=Name \t\n\nt=0 0\r\n\r\na=control:* \n\0\0');
  assert.equal(sd.sessionName, 'Name');
  assert.equal(sd.origin?.unicastAddress, 'h');
  assert.equal(getControl(sd), '*');
  assert.equal(serializeSdp(sd), crlf('v=0', 'o=- 1 1 IN IP4 h', 's=Name', 't=0 0', 'a=control:*'));
});

test('s= with one space (no name) round-trips, and a missing s= is written as s= ', () => {
  const named = crlf('v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's= ', 't=0 0');
  const sd = parseSdp(named);
  assert.equal(sd.sessionName, '');
  assert.equal(serializeSdp(sd), named);
  assert.equal(parseSdp('v=0\ns=\nt=0 0').sessionName, '');
  const missing = parseSdp('v=0\no=- 1 1 IN IP4 127.0.0.1\nt=0 0\nm=video 0 RTP/AVP 26');
  assert.equal(missing.sessionName, '');
  assert.equal(
    serializeSdp(missing),
    crlf('v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's= ', 't=0 0', 'm=video 0 RTP/AVP 26'),
  );
});

test('missing v= and o= are tolerated', () => {
  const sd = parseSdp('s=x\nm=audio 0 RTP/AVP 0');
  assert.equal(sd.version, 0);
  assert.equal(sd.origin, undefined);
  assert.equal(serializeSdp(sd), crlf('v=0', 's=x', 'm=audio 0 RTP/AVP 0'));
});

test('attributes: property and valued, order kept, spaces in values, empty values, colons in values', () => {
  const text = crlf(
    'v=0',
    's=x',
    'a=recvonly',
    'a=tool:GStreamer 1.22',
    'a=empty:',
    'a=control:rtsp://cam:554/live?x=1',
    'm=video 0 RTP/AVP 96',
    'a=x-dimensions:1920,1080',
    'a=recvonly',
    'a=ssrc:123 cname:user@host',
  );
  const sd = parseSdp(text);
  assert.deepEqual(sd.attributes, [
    { name: 'recvonly' },
    { name: 'tool', value: 'GStreamer 1.22' },
    { name: 'empty', value: '' },
    { name: 'control', value: 'rtsp://cam:554/live?x=1' },
  ]);
  assert.deepEqual(sd.media[0]?.attributes, [
    { name: 'x-dimensions', value: '1920,1080' },
    { name: 'recvonly' },
    { name: 'ssrc', value: '123 cname:user@host' },
  ]);
  assert.equal(serializeSdp(sd), text);
});

test('attribute names with stray spaces and odd casing are readable', () => {
  const sd = parseSdp('v=0\ns=x\nm=video 0 RTP/AVP 96\na = Control : trackID=1\na=RTPMAP:96 H264/90000');
  const md = sd.media[0]!;
  assert.deepEqual(md.attributes[0], { name: 'Control', value: ' trackID=1' });
  assert.equal(getControl(md), 'trackID=1');
  assert.equal(getAttribute(md, 'rtpmap'), '96 H264/90000');
});

test('m= lines: port count, several formats, non-RTP formats, no formats', () => {
  const sd = parseSdp(
    'v=0\ns=x\nm=video 49170/2 RTP/AVP 31 32\nm=application 32416 udp wb\nm=audio 0 RTP/AVP\nm=video 0 RTP/AVP/TCP 96',
  );
  assert.deepEqual(
    sd.media.map((m) => [m.type, m.port, m.portCount, m.protocol, m.formats]),
    [
      ['video', 49170, 2, 'RTP/AVP', ['31', '32']],
      ['application', 32416, undefined, 'udp', ['wb']],
      ['audio', 0, undefined, 'RTP/AVP', []],
      ['video', 0, undefined, 'RTP/AVP/TCP', ['96']],
    ],
  );
  assert.equal(serializeSdp(sd).split('\r\n')[2], 'm=video 49170/2 RTP/AVP 31 32');
});

test('several b=, t= with r=, z=, k= and several media c= lines', () => {
  const text = crlf(
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=x',
    'c=IN IP4 224.2.1.1/127/3',
    'b=CT:128',
    'b=AS:256',
    't=3034423619 3042462419',
    'r=7d 1h 0 25h',
    'r=604800 3600 0 90000',
    't=0 0',
    'z=2882844526 -1h 2898848070 0',
    'k=prompt',
    'a=recvonly',
    'm=video 0 RTP/AVP 31',
    'i=the video',
    'c=IN IP4 224.2.1.1/127',
    'c=IN IP4 224.2.1.2/127',
    'b=AS:200',
    'b=TIAS:200000',
    'k=clear:secret',
    'a=sendonly',
  );
  const sd = parseSdp(text);
  assert.deepEqual(sd.bandwidths, [
    { type: 'CT', bandwidth: 128 },
    { type: 'AS', bandwidth: 256 },
  ]);
  assert.deepEqual(sd.times, [
    { startTime: 3034423619, stopTime: 3042462419, repeats: ['7d 1h 0 25h', '604800 3600 0 90000'] },
    { startTime: 0, stopTime: 0, repeats: [] },
  ]);
  assert.equal(sd.timeZones, '2882844526 -1h 2898848070 0');
  assert.equal(sd.key, 'prompt');
  assert.equal(sd.connection?.address, '224.2.1.1/127/3');
  const md = sd.media[0]!;
  assert.equal(md.information, 'the video');
  assert.equal(md.connections.length, 2);
  assert.equal(md.key, 'clear:secret');
  assert.equal(serializeSdp(sd), text);
});

test('unknown and unplaceable lines are kept verbatim, in place', () => {
  const text = crlf(
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=x',
    's=second name',
    'o=malformed',
    'c=IN IP4',
    'b=AS:lots',
    't=now',
    'X=upper-case type',
    't=0 0',
    'm=video 0 RTP/AVP 96',
    'i=one',
    'i=two',
    'c=bad',
    't=0 0',
    'a=rtpmap:96 H264/90000',
    'a=:no name',
  );
  const sd = parseSdp(text);
  assert.equal(sd.sessionName, 'x');
  assert.equal(sd.origin?.sessionId, '1');
  assert.deepEqual(
    sd.extraLines.map((x) => `${x.type}=${x.value}`),
    ['s=second name', 'o=malformed', 'c=IN IP4', 'b=AS:lots', 't=now', 'X=upper-case type'],
  );
  assert.deepEqual(sd.times, [{ startTime: 0, stopTime: 0, repeats: [] }]);
  assert.deepEqual(
    sd.media[0]?.extraLines.map((x) => `${x.type}=${x.value}`),
    ['i=two', 'c=bad', 't=0 0', 'a=:no name'],
  );
  assert.equal(serializeSdp(sd), text);
});

test('an r= with no t= before it is kept as an extra line', () => {
  const sd = parseSdp('v=0\ns=x\nr=1d 1h 0\nt=0 0');
  assert.deepEqual(sd.extraLines, [{ type: 'r', value: '1d 1h 0' }]);
  assert.equal(serializeSdp(sd), crlf('v=0', 's=x', 'r=1d 1h 0', 't=0 0'));
});

test('lines out of order are reproduced, and edits still land in sensible places', () => {
  const text = crlf('v=0', 'a=control:*', 'o=- 1 1 IN IP4 127.0.0.1', 't=0 0', 's=x', 'c=IN IP4 0.0.0.0');
  const sd = parseSdp(text);
  assert.equal(sd.lineOrder, 'vaotsc');
  assert.equal(serializeSdp(sd), text);
  sd.attributes.push({ name: 'range', value: 'npt=0-' });
  sd.phones.push('+1 555');
  assert.equal(
    serializeSdp(sd),
    crlf(
      'v=0',
      'a=control:*',
      'o=- 1 1 IN IP4 127.0.0.1',
      't=0 0',
      's=x',
      'p=+1 555',
      'c=IN IP4 0.0.0.0',
      'a=range:npt=0-',
    ),
  );
  delete sd.lineOrder;
  assert.equal(
    serializeSdp(sd),
    crlf(
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=x',
      'p=+1 555',
      'c=IN IP4 0.0.0.0',
      't=0 0',
      'a=control:*',
      'a=range:npt=0-',
    ),
  );
});

test('errors: empty input, garbage lines, bad version, bad media', () => {
  throwsCode('', 'SDP_EMPTY');
  throwsCode('\r\n\n  \n', 'SDP_EMPTY');
  throwsCode('<html><body>Not found</body></html>', 'SDP_BAD_LINE');
  throwsCode('v=0\nContent-Type: application/sdp\n', 'SDP_BAD_LINE');
  throwsCode('v=0\nab=c', 'SDP_BAD_LINE');
  throwsCode('v=0\n=x', 'SDP_BAD_LINE');
  throwsCode('v=zero\ns=x', 'SDP_BAD_VERSION');
  throwsCode('v=0\ns=x\nm=video', 'SDP_BAD_MEDIA');
  throwsCode('v=0\ns=x\nm=video 0', 'SDP_BAD_MEDIA');
  throwsCode('v=0\ns=x\nm=video x RTP/AVP 96', 'SDP_BAD_MEDIA');
  throwsCode('v=0\ns=x\nm=video 70000 RTP/AVP 96', 'SDP_BAD_MEDIA');
  const e = (() => {
    try {
      parseSdp('v=0\ns=x\nbogus');
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  assert.ok(e instanceof ParseError);
  assert.match(e.message, /line 3/);
});

test('serializeSdp refuses values that would break the line structure', () => {
  const base = parseSdp('v=0\no=- 1 1 IN IP4 127.0.0.1\ns=x\nt=0 0\nm=video 0 RTP/AVP 96');
  const bad: ((sd: typeof base) => void)[] = [
    (sd) => (sd.sessionName = 'a\r\nm=audio 0 RTP/AVP 0'),
    (sd) => sd.attributes.push({ name: 'control', value: 'x\ny' }),
    (sd) => sd.attributes.push({ name: 'a:b' }),
    (sd) => sd.attributes.push({ name: '' }),
    (sd) => (sd.origin!.username = 'two words'),
    (sd) => (sd.media[0]!.port = 70000),
    (sd) => (sd.media[0]!.formats = ['9 6']),
    (sd) => sd.bandwidths.push({ type: 'AS', bandwidth: -1 }),
    (sd) => sd.times.push({ startTime: 1.5, stopTime: 0, repeats: [] }),
    (sd) => sd.extraLines.push({ type: 'xy', value: '' }),
  ];
  for (const mutate of bad) {
    const sd = structuredClone(base);
    mutate(sd);
    assert.throws(() => serializeSdp(sd), RangeError);
  }
});
