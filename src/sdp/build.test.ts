import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMediaDescription, createSessionDescription } from './build.js';
import { addMediaFormat, mediaFormats } from './formats.js';
import { parseSdp } from './parse.js';
import { serializeSdp } from './serialize.js';
import { getControl } from './attributes.js';

test('a server-side SDP from scratch', () => {
  const sd = createSessionDescription({ sessionId: '1700000000', sessionVersion: '1' });
  const video = createMediaDescription({ type: 'video', trackId: 0 });
  addMediaFormat(video, {
    payloadType: 96,
    encodingName: 'H264',
    clockRate: 90000,
    fmtp: {
      'packetization-mode': '1',
      'profile-level-id': '42c01e',
      'sprop-parameter-sets': 'Z0LAHtoCgL/lwEQAAAMABAAAAwDIPFi6gA==,aM48gA==',
    },
  });
  const audio = createMediaDescription({ type: 'audio', trackId: 1, formats: [0] });
  sd.media.push(video, audio);
  const text = serializeSdp(sd);
  assert.equal(
    text,
    [
      'v=0',
      'o=- 1700000000 1 IN IP4 127.0.0.1',
      's= ',
      'c=IN IP4 0.0.0.0',
      't=0 0',
      'a=tool:rtspkit',
      'a=control:*',
      'm=video 0 RTP/AVP 96',
      'a=control:trackID=0',
      'a=rtpmap:96 H264/90000',
      'a=fmtp:96 packetization-mode=1;profile-level-id=42c01e;sprop-parameter-sets=Z0LAHtoCgL/lwEQAAAMABAAAAwDIPFi6gA==,aM48gA==',
      'm=audio 0 RTP/AVP 0',
      'a=control:trackID=1',
      '',
    ].join('\r\n'),
  );
  const back = parseSdp(text);
  assert.deepEqual(back, sd);
  assert.deepEqual(back.media.map(getControl), ['trackID=0', 'trackID=1']);
  assert.deepEqual(
    back.media.map((m) => mediaFormats(m)[0]?.encodingName),
    ['H264', 'PCMU'],
  );
});

test('builder options', () => {
  const sd = createSessionDescription({
    sessionName: 'Cam 1',
    information: 'lobby',
    originAddress: '::1',
    connectionAddress: null,
    tool: null,
    control: 'rtsp://127.0.0.1:8554/cam/',
    range: 'npt=0-10.000',
  });
  assert.equal(
    serializeSdp(sd),
    [
      'v=0',
      'o=- 0 0 IN IP6 ::1',
      's=Cam 1',
      'i=lobby',
      't=0 0',
      'a=control:rtsp://127.0.0.1:8554/cam/',
      'a=range:npt=0-10.000',
      '',
    ].join('\r\n'),
  );
  const md = createMediaDescription({
    type: 'application',
    port: 5000,
    protocol: 'RTP/AVP/TCP',
    formats: ['107'],
    control: 'meta',
    trackId: 3,
  });
  assert.deepEqual(md.attributes, [{ name: 'control', value: 'meta' }]);
  assert.equal(createSessionDescription({ connectionAddress: '::' }).connection?.addrType, 'IP6');
});
