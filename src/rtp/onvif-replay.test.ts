import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../base/errors.js';
import { parseRtpPacket, serializeRtpPacket } from './packet.js';
import {
  ONVIF_REPLAY_PROFILE,
  parseOnvifReplayExtension,
  serializeOnvifReplayExtension,
} from './onvif-replay.js';

test('ONVIF replay extension: the bytes of ONVIF Streaming §6.3, through an RTP packet and back', () => {
  const v = {
    ntp: { seconds: 0xebcd1234, fraction: 0x80000000 },
    cleanPoint: true,
    endOfSection: false,
    discontinuity: true,
    terminal: false,
    cseqLowByte: 0x2a,
  };
  const ext = serializeOnvifReplayExtension(v);
  assert.equal(ext.profile, ONVIF_REPLAY_PROFILE);
  assert.equal(ext.data.toString('hex'), 'ebcd123480000000a02a0000');
  const packet = serializeRtpPacket({
    marker: true,
    payloadType: 96,
    sequenceNumber: 1,
    timestamp: 2,
    ssrc: 3,
    csrcs: [],
    extension: ext,
    payload: Buffer.from([1, 2, 3]),
  });
  // X bit, then after the fixed header: 0xABAC, length 3 (words).
  assert.equal(packet[0]! & 0x10, 0x10);
  assert.equal(packet.subarray(12, 16).toString('hex'), 'abac0003');
  const back = parseRtpPacket(packet);
  assert.deepEqual(parseOnvifReplayExtension(back.extension!), v);
  assert.deepEqual(back.payload, Buffer.from([1, 2, 3]));
  const isParse = (e: unknown): boolean => e instanceof ParseError;
  assert.throws(() => parseOnvifReplayExtension({ profile: 0xbede, data: ext.data }), isParse);
  assert.throws(
    () => parseOnvifReplayExtension({ profile: ONVIF_REPLAY_PROFILE, data: Buffer.alloc(8) }),
    isParse,
  );
});
