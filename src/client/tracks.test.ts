import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp } from '../sdp/index.js';
import { formatTrackSummary, mpegAudioFormat, summarizeTrack, tracksFromSdp } from './tracks.js';

const SPS_B64 = 'Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I'; // 640x360 constrained baseline, from the shared clip
const PPS_B64 = 'aMuMsg==';

function sdp(lines: string[]): ReturnType<typeof parseSdp> {
  return parseSdp(['v=0', 'o=- 0 0 IN IP4 0.0.0.0', 's= ', 't=0 0', ...lines, ''].join('\r\n'));
}

const VIDEO = ['m=video 0 RTP/AVP 96', 'a=rtpmap:96 H264/90000'];

test('relative controls join Content-Base; credentials are kept on derived URLs', () => {
  const { sessionUrl, tracks } = tracksFromSdp(sdp([...VIDEO, 'a=control:trackID=0']), {
    requestUrl: 'rtsp://u:p@cam/live',
    contentBase: 'rtsp://cam/live/',
  });
  assert.equal(sessionUrl, 'rtsp://u:p@cam/live/');
  assert.equal(tracks[0]!.controlUrl, 'rtsp://u:p@cam/live/trackID=0');
});

test('no Content-Base: the request URL is the base (with a query, ffmpeg style)', () => {
  const { tracks } = tracksFromSdp(sdp([...VIDEO, 'a=control:trackID=1']), {
    requestUrl: 'rtsp://cam/live?token=1',
  });
  assert.equal(tracks[0]!.controlUrl, 'rtsp://cam/live?token=1/trackID=1');
});

test('a=control:* at session level and absolute media controls', () => {
  const { sessionUrl, tracks } = tracksFromSdp(
    sdp([
      'a=control:*',
      ...VIDEO,
      'a=control:rtsp://cam:8554/other/track1',
      'm=audio 0 RTP/AVP 0',
      'a=control:*',
    ]),
    { requestUrl: 'rtsp://cam:8554/live' },
  );
  assert.equal(sessionUrl, 'rtsp://cam:8554/live');
  assert.equal(tracks[0]!.controlUrl, 'rtsp://cam:8554/other/track1');
  assert.equal(tracks[1]!.controlUrl, 'rtsp://cam:8554/live');
  assert.equal(tracks[1]!.encodingName, 'PCMU'); // static payload type without rtpmap
  assert.equal(tracks[1]!.clockRate, 8000);
  assert.equal(tracks[1]!.depacketizable, true);
});

test('summary from sprop-parameter-sets, also when a camera puts start codes inside', () => {
  const spsWithStartCodes = Buffer.concat([
    Buffer.from([0, 0, 0, 1]),
    Buffer.from(SPS_B64, 'base64'),
    Buffer.from([0, 0, 0, 1]),
    Buffer.from(PPS_B64, 'base64'),
  ]).toString('base64');
  for (const sprop of [`${SPS_B64},${PPS_B64}`, spsWithStartCodes]) {
    const { tracks } = tracksFromSdp(
      sdp([
        ...VIDEO,
        `a=fmtp:96 packetization-mode=1;sprop-parameter-sets=${sprop}`,
        'a=framerate:25',
        'm=audio 0 RTP/AVP 97',
        'a=rtpmap:97 MPEG4-GENERIC/48000/2',
        'a=fmtp:97 mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=119056E500',
      ]),
      { requestUrl: 'rtsp://cam/live' },
    );
    const v = summarizeTrack(tracks[0]!);
    assert.equal(v.codec, 'h264');
    assert.equal(v.width, 640);
    assert.equal(v.height, 360);
    assert.equal(v.frameRate, 25);
    assert.equal(v.profile, 'Constrained Baseline');
    const a = summarizeTrack(tracks[1]!);
    assert.deepEqual([a.codec, a.profile, a.sampleRate, a.channels], ['aac', 'LC', 48000, 2]);
    assert.equal(formatTrackSummary(a), 'audio aac (LC) 48000 Hz 2 ch');
  }
});

test('unknown encodings are listed but not depacketized', () => {
  const { tracks } = tracksFromSdp(
    sdp(['m=application 0 RTP/AVP 107', 'a=rtpmap:107 vnd.onvif.metadata/90000']),
    {
      requestUrl: 'rtsp://cam/live',
    },
  );
  assert.equal(tracks[0]!.depacketizable, false);
  assert.equal(summarizeTrack(tracks[0]!).codec, 'vnd.onvif.metadata');
});

test('MPEG audio (MP3): the 90 kHz RTP clock is not given as its sample rate; its frames tell it', () => {
  const { tracks } = tracksFromSdp(sdp(['m=audio 0 RTP/AVP 14', 'a=rtpmap:14 MPA/90000']), {
    requestUrl: 'rtsp://cam/live',
  });
  const summary = summarizeTrack(tracks[0]!);
  assert.equal(summary.codec, 'mp3');
  assert.equal(summary.sampleRate, undefined);
  assert.doesNotMatch(formatTrackSummary(summary), /90000/);
  // RFC 2250 header (MBZ, offset 0), then an MPEG-1 Layer III frame header: 44.1 kHz, joint stereo.
  assert.deepEqual(mpegAudioFormat(Buffer.from([0, 0, 0, 0, 0xff, 0xfb, 0x90, 0x64, 0, 0])), {
    sampleRate: 44100,
    channels: 2,
  });
  // MPEG-2 Layer III, 24 kHz, mono.
  assert.deepEqual(mpegAudioFormat(Buffer.from([0, 0, 0, 0, 0xff, 0xf3, 0x84, 0xc4, 0, 0])), {
    sampleRate: 24000,
    channels: 1,
  });
  // A fragment (offset > 0) or no sync: nothing to read.
  assert.equal(mpegAudioFormat(Buffer.from([0, 0, 0, 8, 0xff, 0xfb, 0x90, 0x64])), undefined);
  assert.equal(mpegAudioFormat(Buffer.from([0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78])), undefined);
});
