/**
 * G.711 PCMU / PCMA over RTP (RFC 3551 §4.5.14): static payload types 0 and 8, 8000 Hz, one
 * byte per sample and channel. The packetizer cuts sample runs into packets of `packetMs`
 * (default 20 ms = 160 samples at 8 kHz mono, §4.2 default packetization); the depacketizer
 * passes payloads through. No silence suppression, so the marker bit stays clear (§4.1).
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
import { RtpSequenceTracker, type RtpMap } from './common.js';

export type G711Law = 'PCMU' | 'PCMA';

export const PCMU_PAYLOAD_TYPE = 0;
export const PCMA_PAYLOAD_TYPE = 8;

export function g711Rtpmap(law: G711Law, clockRate = 8000, channels = 1): RtpMap {
  return channels > 1 ? { encodingName: law, clockRate, channels } : { encodingName: law, clockRate };
}

export interface G711PacketizerOptions {
  clockRate?: number;
  channels?: number;
  /** Packet duration in milliseconds (default 20). */
  packetMs?: number;
  /** Cap on the payload size; the packet duration shrinks to fit. Default 1400. */
  maxPayloadBytes?: number;
}

export class G711Packetizer implements Packetizer {
  readonly clockRate: number;
  private readonly channels: number;
  private readonly samplesPerPacket: number;

  constructor(options: G711PacketizerOptions = {}) {
    this.clockRate = options.clockRate ?? 8000;
    this.channels = options.channels ?? 1;
    const wanted = Math.max(1, Math.round((this.clockRate * (options.packetMs ?? 20)) / 1000));
    const cap = Math.floor((options.maxPayloadBytes ?? 1400) / this.channels);
    if (cap < 1) throw new RangeError('maxPayloadBytes smaller than one sample');
    this.samplesPerPacket = Math.min(wanted, cap);
  }

  /** Splits the AU's samples; each packet's pts advances by the samples before it. */
  packetize(au: AccessUnit): RtpPayloadOut[] {
    const data = auPayload(au);
    const step = this.samplesPerPacket * this.channels;
    const out: RtpPayloadOut[] = [];
    for (let pos = 0; pos < data.length; pos += step) {
      out.push({
        payload: data.subarray(pos, Math.min(pos + step, data.length)),
        marker: false,
        pts: au.pts + Math.floor(pos / this.channels),
      });
    }
    return out;
  }
}

export class G711Depacketizer implements Depacketizer {
  readonly clockRate: number;
  readonly stats: DepacketizerStats = newStats();
  private readonly seq = new RtpSequenceTracker(this.stats);

  constructor(clockRate = 8000) {
    this.clockRate = clockRate;
  }

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
