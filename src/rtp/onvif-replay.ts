/**
 * The RTP header extension of ONVIF replay (ONVIF Streaming Specification §6.3, "RTP header extension"):
 * each access unit of a replayed recording carries the absolute time at which it was recorded.
 *
 *    0                   1                   2                   3
 *   |            0xABAC             |          length = 3           |
 *   |                  NTP timestamp (seconds)                      |
 *   |                  NTP timestamp (fraction)                     |
 *   |C|E|D|T|  mbz  |     CSeq      |            padding            |
 *
 * C: the access unit is a clean point (a keyframe); E: the last access unit of a contiguous section of
 * the recording (a gap follows); D: the first after a discontinuity (a gap, or a seek); T: the last
 * access unit of the track in the requested range (terminal). CSeq: the low byte of the CSeq of the
 * PLAY that started the stream, so a client tells packets of an old PLAY from those of a new one.
 */
import { ParseError } from '../base/errors.js';
import type { NtpTime } from '../base/clock.js';
import type { RtpHeaderExtension } from './packet.js';

/** The "defined by profile" value of the replay extension. */
export const ONVIF_REPLAY_PROFILE = 0xabac;
const BODY_BYTES = 12;

export interface OnvifReplayExtension {
  ntp: NtpTime;
  cleanPoint: boolean;
  endOfSection: boolean;
  discontinuity: boolean;
  terminal: boolean;
  /** Low 8 bits of the PLAY request's CSeq. */
  cseqLowByte: number;
}

export function serializeOnvifReplayExtension(v: OnvifReplayExtension): RtpHeaderExtension {
  const data = Buffer.alloc(BODY_BYTES);
  data.writeUInt32BE(v.ntp.seconds >>> 0, 0);
  data.writeUInt32BE(v.ntp.fraction >>> 0, 4);
  data[8] =
    (v.cleanPoint ? 0x80 : 0) |
    (v.endOfSection ? 0x40 : 0) |
    (v.discontinuity ? 0x20 : 0) |
    (v.terminal ? 0x10 : 0);
  data[9] = v.cseqLowByte & 0xff;
  return { profile: ONVIF_REPLAY_PROFILE, data };
}

/**
 * Reads the replay extension of a packet. Throws ParseError ONVIF_BAD_REPLAY_EXTENSION when the
 * extension is another profile's or shorter than 3 words (longer bodies: the first 3 words are read,
 * as a later revision may append fields).
 */
export function parseOnvifReplayExtension(ext: RtpHeaderExtension): OnvifReplayExtension {
  if (ext.profile !== ONVIF_REPLAY_PROFILE)
    throw new ParseError('ONVIF_BAD_REPLAY_EXTENSION', `extension profile 0x${ext.profile.toString(16)}`);
  if (ext.data.length < BODY_BYTES)
    throw new ParseError('ONVIF_BAD_REPLAY_EXTENSION', `replay extension of ${ext.data.length} bytes`);
  const flags = ext.data[8]!;
  return {
    ntp: { seconds: ext.data.readUInt32BE(0), fraction: ext.data.readUInt32BE(4) },
    cleanPoint: (flags & 0x80) !== 0,
    endOfSection: (flags & 0x40) !== 0,
    discontinuity: (flags & 0x20) !== 0,
    terminal: (flags & 0x10) !== 0,
    cseqLowByte: ext.data[9]!,
  };
}
