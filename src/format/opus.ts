/**
 * RTP payload format for Opus (RFC 7587): one Opus packet per RTP packet, RTP clock always
 * 48000 Hz whatever the coded rate, rtpmap always `opus/48000/2` (§7). Mono/stereo preference
 * travels in fmtp `stereo` / `sprop-stereo`. The marker bit marks talkspurts after DTX only, so
 * the packetizer leaves it clear.
 */
import {
  auPayload,
  newStats,
  type AccessUnit,
  type Depacketizer,
  type DepacketizerStats,
  type Packetizer,
  type RtpPacketIn,
  type RtpPayloadOut,
} from './access-unit.js';
import { RtpSequenceTracker, fmtpInt, type RtpMap } from './common.js';

export const OPUS_RTPMAP: RtpMap = { encodingName: 'opus', clockRate: 48000, channels: 2 };

export function opusFmtp(channels: number): Record<string, string> {
  return channels >= 2 ? { 'sprop-stereo': '1' } : {};
}

export function parseOpusFmtp(fmtp: Readonly<Record<string, string>>): {
  stereo: boolean;
  spropStereo: boolean;
} {
  return { stereo: fmtpInt(fmtp, 'stereo', 0) === 1, spropStereo: fmtpInt(fmtp, 'sprop-stereo', 0) === 1 };
}

export class OpusPacketizer implements Packetizer {
  readonly clockRate = 48000;

  packetize(au: AccessUnit): RtpPayloadOut[] {
    return [{ payload: auPayload(au), marker: false, pts: au.pts }];
  }
}

export class OpusDepacketizer implements Depacketizer {
  readonly clockRate = 48000;
  readonly stats: DepacketizerStats = newStats();
  private readonly seq = new RtpSequenceTracker(this.stats);

  push(pkt: RtpPacketIn): AccessUnit[] {
    const v = this.seq.accept(pkt);
    if (v.kind === 'late') return [];
    if (pkt.payload.length === 0) {
      this.stats.malformedPackets++;
      return [];
    }
    this.stats.accessUnits++;
    return [{ pts: v.pts, clockRate: this.clockRate, keyframe: true, payload: pkt.payload }];
  }

  flush(): AccessUnit[] {
    return [];
  }

  reset(): void {
    this.seq.reset();
  }
}
