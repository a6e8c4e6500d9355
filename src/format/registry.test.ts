import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../base/errors.js';
import { AacDepacketizer, AacPacketizer } from './aac.js';
import { formatFmtpParameters, parseFmtpParameters } from './common.js';
import { G711Depacketizer } from './g711.js';
import { H264Depacketizer, H264Packetizer } from './h264.js';
import { H265Depacketizer } from './h265.js';
import { MjpegDepacketizer } from './mjpeg.js';
import { OpusDepacketizer } from './opus.js';
import { createDepacketizer, createPacketizer, isSupportedEncoding } from './registry.js';

const SPROP = 'Z0LAHtoCgC3YCIAAAAMAgAAAGQeA+LbL,aM48gA==';

test('factories pick the format by encoding name, case-insensitively', () => {
  assert.ok(createDepacketizer('h264', 90000, { 'sprop-parameter-sets': SPROP }) instanceof H264Depacketizer);
  assert.ok(createDepacketizer('H265', 90000) instanceof H265Depacketizer);
  assert.ok(
    createDepacketizer('mpeg4-generic', 48000, {
      sizelength: '13',
      indexlength: '3',
      indexdeltalength: '3',
    }) instanceof AacDepacketizer,
  );
  assert.ok(createDepacketizer('OPUS', 48000) instanceof OpusDepacketizer);
  assert.ok(createDepacketizer('pcma', 8000) instanceof G711Depacketizer);
  assert.ok(createDepacketizer('JPEG', 90000) instanceof MjpegDepacketizer);
  assert.ok(createPacketizer('H264', { clockRate: 90000 }) instanceof H264Packetizer);
  assert.ok(createPacketizer('MPEG4-GENERIC', { clockRate: 44100 }) instanceof AacPacketizer);
  assert.equal(createPacketizer('MPEG4-GENERIC', { clockRate: 44100 }).clockRate, 44100);
  assert.ok(isSupportedEncoding('h265') && !isSupportedEncoding('VP8'));
});

test('parameter sets from fmtp reach the H.264 depacketizer and packetizer', () => {
  const d = createDepacketizer('H264', 90000, {
    'sprop-parameter-sets': SPROP,
    'packetization-mode': '1',
  });
  assert.ok(d instanceof H264Depacketizer);
  assert.equal(d.sps?.toString('base64'), SPROP.split(',')[0]);
  const p = createPacketizer('H264', {
    clockRate: 90000,
    fmtp: { 'sprop-parameter-sets': SPROP },
  });
  assert.ok(p instanceof H264Packetizer);
  assert.equal(p.pps?.toString('base64'), SPROP.split(',')[1]);
});

test('unsupported encodings and variants throw ParseError FORMAT_UNSUPPORTED', () => {
  const isUnsupported = (e: unknown): boolean => e instanceof ParseError && e.code === 'FORMAT_UNSUPPORTED';
  assert.throws(() => createDepacketizer('VP8', 90000), isUnsupported);
  assert.throws(() => createPacketizer('MP2T', { clockRate: 90000 }), isUnsupported);
  assert.throws(() => createDepacketizer('H264', 90000, { 'packetization-mode': '2' }), isUnsupported);
  assert.throws(() => createDepacketizer('H265', 90000, { 'sprop-max-don-diff': '2' }), isUnsupported);
  assert.throws(() => createDepacketizer('MPEG4-GENERIC', 48000, { mode: 'generic' }), isUnsupported);
});

test('fmtp parameter strings keep base64 padding', () => {
  const s = `packetization-mode=1; profile-level-id=42C01E;sprop-parameter-sets=${SPROP}`;
  const f = parseFmtpParameters(s);
  assert.deepEqual(f, {
    'packetization-mode': '1',
    'profile-level-id': '42C01E',
    'sprop-parameter-sets': SPROP,
  });
  assert.equal(formatFmtpParameters(f), s.replace('; ', ';'));
});
