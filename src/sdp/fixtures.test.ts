// Real SDPs (ffmpeg, GStreamer), the RFC examples and hand-written camera-style SDPs: byte-exact round
// trip and spot checks of the parsed values. See fixtures/README.md for where each file comes from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  getAttribute,
  getControl,
  getDirection,
  getFmtp,
  getFrameSize,
  getFramerate,
  getRange,
  getRtpmap,
  mediaFormats,
  parseSdp,
  serializeSdp,
} from './index.js';
import type { SessionDescription } from './index.js';

const dir = join(import.meta.dirname, 'fixtures');

function load(name: string): string {
  return readFileSync(join(dir, name), 'utf8').replace(/\r?\n/g, '\r\n');
}

function parsed(name: string): SessionDescription {
  return parseSdp(load(name));
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.sdp'))
  .sort();

test('there are fixtures from every source', () => {
  for (const prefix of [
    'ffmpeg-announce-',
    'ffmpeg-rtp-',
    'gstreamer-describe-',
    'live555-describe-',
    'rfc2326-',
    'rfc8866-',
    'camera-',
  ])
    assert.ok(
      files.some((f) => f.startsWith(prefix)),
      prefix,
    );
});

for (const name of files) {
  test(`${name}: serializeSdp(parseSdp(s)) === s`, () => {
    const text = load(name);
    const sd = parseSdp(text);
    assert.equal(serializeSdp(sd), text);
    // LF-only input parses to the same description.
    assert.deepEqual(parseSdp(text.replace(/\r\n/g, '\n')), sd);
    // And the description is a fixed point.
    assert.deepEqual(parseSdp(serializeSdp(sd)), sd);
  });
}

test('ffmpeg ANNOUNCE, H.264 baseline + AAC', () => {
  const sd = parsed('ffmpeg-announce-h264-base-aac.sdp');
  assert.equal(sd.sessionName, 'No Name');
  assert.deepEqual(sd.origin, {
    username: '-',
    sessionId: '0',
    sessionVersion: '0',
    netType: 'IN',
    addrType: 'IP4',
    unicastAddress: '127.0.0.1',
  });
  assert.deepEqual(sd.connection, { netType: 'IN', addrType: 'IP4', address: '127.0.0.1' });
  assert.deepEqual(sd.times, [{ startTime: 0, stopTime: 0, repeats: [] }]);
  assert.equal(getAttribute(sd, 'tool'), 'libavformat LIBAVFORMAT_VERSION');
  assert.equal(sd.media.length, 2);
  const [video, audio] = sd.media as [SessionDescription['media'][0], SessionDescription['media'][0]];
  assert.deepEqual(
    { type: video.type, port: video.port, protocol: video.protocol, formats: video.formats },
    { type: 'video', port: 0, protocol: 'RTP/AVP', formats: ['96'] },
  );
  assert.equal(video.portCount, undefined);
  assert.deepEqual(video.bandwidths, [{ type: 'AS', bandwidth: 928 }]);
  assert.equal(getControl(video), 'streamid=0');
  assert.deepEqual(getRtpmap(video, 96), { payloadType: 96, encodingName: 'H264', clockRate: 90000 });
  const fmtp = getFmtp(video, 96)!;
  // ffmpeg separates with "; ": keys are trimmed, order kept, values stay strings.
  assert.deepEqual(fmtp.keys(), ['packetization-mode', 'sprop-parameter-sets', 'profile-level-id']);
  assert.equal(fmtp.get('profile-level-id'), '42C01E');
  assert.equal(fmtp.get('PROFILE-LEVEL-ID'), '42C01E');
  assert.equal(fmtp.get('sprop-parameter-sets'), 'Z0LAHtoCgL/lwEQAAAMABAAAAwDIPFi6gA==,aM48gA==');
  assert.equal(fmtp.get('packetization-mode'), '1');
  const [aac] = mediaFormats(audio);
  assert.deepEqual(
    { ...aac!, fmtp: aac!.fmtp.toRecord() },
    {
      payloadType: 97,
      encodingName: 'MPEG4-GENERIC',
      clockRate: 48000,
      channels: 2,
      isStatic: false,
      fmtp: {
        'profile-level-id': '1',
        mode: 'AAC-hbr',
        sizelength: '13',
        indexlength: '3',
        indexdeltalength: '3',
        config: '119056E500',
      },
    },
  );
});

test('ffmpeg ANNOUNCE, H.265 + AAC: sprop-vps/sps/pps keep their padding', () => {
  const video = parsed('ffmpeg-announce-h265-aac.sdp').media[0]!;
  assert.equal(getRtpmap(video, 96)?.encodingName, 'H265');
  const fmtp = getFmtp(video, '96')!;
  assert.equal(fmtp.get('sprop-vps'), 'QAEMAf//AWAAAAMAkAAAAwAAAwA/ugJA');
  assert.equal(fmtp.get('sprop-pps'), 'RAHBcrRiQA==');
});

test('ffmpeg ANNOUNCE, Opus is lower-case opus/48000/2', () => {
  const audio = parsed('ffmpeg-announce-h264-opus.sdp').media[1]!;
  const f = mediaFormats(audio)[0]!;
  assert.equal(f.encodingName, 'opus');
  assert.equal(f.channels, 2);
  assert.equal(f.fmtp.get('sprop-stereo'), '1');
});

test('ffmpeg ANNOUNCE, static payload types without rtpmap (JPEG, PCMU, PCMA)', () => {
  const [jpeg] = mediaFormats(parsed('ffmpeg-announce-mjpeg.sdp').media[0]!);
  assert.deepEqual(
    { ...jpeg!, fmtp: jpeg!.fmtp.size },
    { payloadType: 26, encodingName: 'JPEG', clockRate: 90000, isStatic: true, fmtp: 0 },
  );
  const [pcmu] = mediaFormats(parsed('ffmpeg-announce-pcmu.sdp').media[0]!);
  assert.deepEqual([pcmu?.encodingName, pcmu?.clockRate, pcmu?.channels], ['PCMU', 8000, 1]);
  const [pcma] = mediaFormats(parsed('ffmpeg-announce-pcma.sdp').media[0]!);
  assert.deepEqual([pcma?.encodingName, pcma?.clockRate, pcma?.channels], ['PCMA', 8000, 1]);
  assert.deepEqual(parsed('ffmpeg-announce-pcma.sdp').media[0]?.bandwidths, [{ type: 'AS', bandwidth: 64 }]);
});

test('ffmpeg -sdp_file: per-medium c= and real ports', () => {
  const sd = parsed('ffmpeg-rtp-h264-aac.sdp');
  assert.equal(sd.connection, undefined);
  assert.deepEqual(
    sd.media.map((m) => [m.port, m.connections]),
    [
      [39990, [{ netType: 'IN', addrType: 'IP4', address: '127.0.0.1' }]],
      [39992, [{ netType: 'IN', addrType: 'IP4', address: '127.0.0.1' }]],
    ],
  );
});

test('GStreamer DESCRIBE, H.264 + AAC', () => {
  const sd = parsed('gstreamer-describe-h264-base-aac.sdp');
  // A 64-bit session id: kept as text, not rounded by a JS number.
  assert.match(sd.origin!.sessionId, /^\d{17,20}$/);
  assert.equal(sd.origin?.sessionVersion, '1');
  assert.equal(sd.sessionName, 'Session streamed with GStreamer');
  assert.equal(sd.information, 'rtsp-server');
  assert.equal(getControl(sd), '*');
  assert.equal(getAttribute(sd, 'type'), 'broadcast');
  assert.deepEqual(getRange(sd), { unit: 'npt', start: 'now' });
  const video = sd.media[0]!;
  const audio = sd.media[1]!;
  assert.deepEqual(video.connections, [{ netType: 'IN', addrType: 'IP4', address: '0.0.0.0' }]);
  assert.equal(getFramerate(video), 25);
  assert.equal(getControl(video), 'stream=0');
  assert.match(getAttribute(video, 'ssrc')!, /^\d+ cname:/);
  const fmtp = getFmtp(video, 96)!;
  assert.equal(fmtp.get('profile-level-id'), '42c01e');
  assert.equal(typeof fmtp.get('profile-level-id'), 'string');
  assert.equal(fmtp.get('sprop-parameter-sets'), 'Z0LAHtoCgL/lwEQAAAMABAAAAwDIPFi6gA==,aM48gA==');
  assert.equal(fmtp.get('level-asymmetry-allowed'), '1');
  const aac = getFmtp(audio, 97)!;
  assert.equal(aac.get('config'), '119056e500');
  assert.equal(aac.get('streamtype'), '5');
  assert.equal(getDirection(sd, video), 'sendrecv');
});

test('GStreamer DESCRIBE, H.265 and Opus', () => {
  const h265 = parsed('gstreamer-describe-h265-aac.sdp').media[0]!;
  assert.equal(getRtpmap(h265, 96)?.encodingName, 'H265');
  assert.equal(getFmtp(h265, 96)?.get('sprop-pps'), 'RAHBcrRiQA==');
  const opus = parsed('gstreamer-describe-h264-opus.sdp').media[1]!;
  assert.deepEqual(getRtpmap(opus, 97), {
    payloadType: 97,
    encodingName: 'OPUS',
    clockRate: 48000,
    channels: 2,
  });
  assert.equal(getFmtp(opus, 97)?.get('sprop-maxcapturerate'), '48000');
});

test('RFC 8866 §5 example', () => {
  const sd = parsed('rfc8866-5.sdp');
  assert.equal(sd.origin!.username, 'jdoe');
  assert.equal(sd.origin!.sessionId, '3724394400');
  assert.equal(sd.information, 'SDP Offer #1');
  assert.equal(sd.uri, 'http://www.jdoe.example.com/home.html');
  assert.deepEqual(sd.emails, ['Jane Doe <jane@jdoe.example.com>']);
  assert.deepEqual(sd.phones, ['+1 617 555-6011']);
  assert.deepEqual(
    sd.media.map((m) => [m.type, m.port, m.formats]),
    [
      ['audio', 49170, ['0']],
      ['audio', 49180, ['0']],
      ['video', 51372, ['99']],
    ],
  );
  assert.deepEqual(sd.media[2]?.connections, [{ netType: 'IN', addrType: 'IP6', address: '2001:db8::2' }]);
  assert.deepEqual(getRtpmap(sd.media[2], 99), {
    payloadType: 99,
    encodingName: 'h263-1998',
    clockRate: 90000,
  });
});

test('RFC 2326 §14.1: no t= line', () => {
  const sd = parsed('rfc2326-14-1.sdp');
  assert.deepEqual(sd.times, []);
  assert.equal(sd.lineOrder, undefined);
  assert.deepEqual(sd.media.map(getControl), [
    'rtsp://audio.example.com/twister/audio.en',
    'rtsp://video.example.com/twister/video',
  ]);
  assert.equal(mediaFormats(sd.media[1]!)[0]?.encodingName, 'H261');
});

test('RFC 2326 §14.2 and Appendix C.3: session control, t= before c=', () => {
  const sd = parsed('rfc2326-14-2.sdp');
  assert.equal(getControl(sd), 'rtsp://foo/twister');
  assert.equal(sd.lineOrder, 'vosiat');
  const c3 = parsed('rfc2326-c-3.sdp');
  assert.equal(getControl(c3), 'rtsp://example.com/movie/');
  assert.deepEqual(c3.media.map(getControl), ['trackID=1', 'trackID=2']);
  assert.deepEqual(c3.connection, { netType: 'IN', addrType: 'IP4', address: '0.0.0.0' });
  assert.equal(mediaFormats(c3.media[1]!)[0]?.encodingName, 'GSM');
});

test('RFC 2326 §14.4: media-level c= after a=, multicast TTL kept in the address', () => {
  const md = parsed('rfc2326-14-4.sdp').media[0]!;
  assert.equal(md.port, 3456);
  assert.deepEqual(md.connections, [{ netType: 'IN', addrType: 'IP4', address: '224.2.0.1/16' }]);
  assert.equal(md.lineOrder, 'ac');
});

test('RFC 2326 §14.6: ANNOUNCE with every session field', () => {
  const sd = parsed('rfc2326-14-6.sdp');
  assert.equal(sd.sessionName, 'IETF Meeting, Munich - 1');
  assert.deepEqual(sd.times, [{ startTime: 3080271600, stopTime: 3080703600, repeats: [] }]);
  assert.equal(getAttribute(sd, 'tool'), 'sdr v2.4a6');
  assert.equal(getAttribute(sd.media[0]!, 'ptime'), '40');
  assert.equal(mediaFormats(sd.media[0]!)[0]?.encodingName, 'DVI4');
});

test('camera-style SDPs: vendor attributes, ONVIF metadata, odd line order, unknown line types', () => {
  const onvif = parsed('camera-synthetic-onvif.sdp');
  assert.equal(onvif.emails[0], 'NONE');
  const video = onvif.media[0]!;
  assert.equal(getDirection(onvif, video), 'recvonly');
  assert.deepEqual(getFrameSize(video), { width: 1920, height: 1080 });
  assert.equal(
    getFmtp(video, 96)?.get('sprop-parameter-sets'),
    'Z01AKI2NQDwBE/LgLcBAQFAAAD6AAAw1CEA=,aO44gA==',
  );
  assert.equal(getFmtp(video, 96)?.get('profile-level-id'), '420029');
  assert.equal(mediaFormats(onvif.media[2]!)[0]?.encodingName, 'vnd.onvif.metadata');

  const odd = parsed('camera-synthetic-out-of-order.sdp');
  assert.equal(odd.sessionName, 'Camera');
  assert.deepEqual(odd.extraLines, [{ type: 'x', value: 'vendor-extension 1' }]);
  assert.deepEqual(odd.media[1]?.extraLines, [{ type: 'y', value: 'unknown media-level line' }]);
  assert.deepEqual(getRange(odd), { unit: 'npt', start: '0', startSeconds: 0 });
  const mjpeg = odd.media[0]!;
  assert.equal(getFramerate(mjpeg), 12.5);
  assert.deepEqual(getFrameSize(mjpeg, 26), { width: 704, height: 576 });
  assert.equal(getDirection(odd, mjpeg), 'sendonly');
});

test('live555MediaServer DESCRIBE, H.264 elementary stream file', () => {
  const sd = parsed('live555-describe-h264-es.sdp');
  assert.equal(sd.origin?.sessionId, '1706155151750134');
  assert.equal(sd.sessionName, 'H.264 Video, streamed by the LIVE555 Media Server');
  assert.equal(sd.information, 'test.264');
  assert.equal(getAttribute(sd, 'tool'), 'LIVE555 Streaming Media v2023.06.14');
  assert.equal(getControl(sd), '*');
  assert.deepEqual(getRange(sd), { unit: 'npt', start: 'now' });
  assert.equal(getAttribute(sd, 'x-qt-text-inf'), 'test.264');
  const video = sd.media[0]!;
  assert.deepEqual(video.bandwidths, [{ type: 'AS', bandwidth: 500 }]);
  assert.equal(getControl(video), 'track1');
  const fmtp = getFmtp(video, 96)!;
  assert.equal(fmtp.get('profile-level-id'), '64001F');
  assert.equal(fmtp.get('sprop-parameter-sets'), 'J2QAH6wTFsBQBbsBagICAoAAE4gAA9CQcDAAXcAAF3Be98FA,KO4fLA==');
  const h264 = mediaFormats(video)[0]!;
  assert.equal(h264.encodingName, 'H264');
  assert.equal(h264.clockRate, 90000);
});

test('live555MediaServer DESCRIBE, Matroska H.264 + AC-3 with a file duration', () => {
  const sd = parsed('live555-describe-mkv-h264-ac3.sdp');
  assert.deepEqual(getRange(sd), {
    unit: 'npt',
    start: '0',
    startSeconds: 0,
    end: '15.438',
    endSeconds: 15.438,
  });
  assert.deepEqual(sd.media.map(getControl), ['track1', 'track2']);
  const ac3 = mediaFormats(sd.media[1]!)[0]!;
  assert.equal(ac3.encodingName, 'AC3');
  assert.equal(ac3.clockRate, 44100);
  assert.deepEqual(sd.media[1]!.bandwidths, [{ type: 'AS', bandwidth: 48 }]);
});
