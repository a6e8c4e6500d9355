/**
 * Cheap per-packet look at RTP payloads, for the fan-out engine: does this packet carry
 * (part of) a keyframe? Only the first bytes are read; full depacketizing lives in src/format/.
 */

export type KeyframeProbe = (payload: Buffer) => boolean;

/** RFC 6184: IDR (5) or SPS (7) in a single NAL unit, STAP-A (24) or the start of an FU-A (28). */
export function h264PacketHasKeyframe(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const type = payload[0]! & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 28 || type === 29)
    return payload.length >= 2 && (payload[1]! & 0x80) !== 0 && (payload[1]! & 0x1f) === 5;
  if (type === 24) {
    for (let i = 1; i + 2 < payload.length;) {
      const size = payload.readUInt16BE(i);
      const t = payload[i + 2]! & 0x1f;
      if (t === 5 || t === 7) return true;
      i += 2 + size;
    }
  }
  return false;
}

function isH265KeyType(type: number): boolean {
  // IRAP pictures (BLA, IDR, CRA: 16-21) and VPS/SPS (32, 33), RFC 7798 / H.265 Table 7-1.
  return (type >= 16 && type <= 21) || type === 32 || type === 33;
}

/** RFC 7798: a single NAL unit, an aggregation packet (48) or the start of a fragmentation unit (49). */
export function h265PacketHasKeyframe(payload: Buffer): boolean {
  if (payload.length < 2) return false;
  const type = (payload[0]! >> 1) & 0x3f;
  if (type === 49)
    return payload.length >= 3 && (payload[2]! & 0x80) !== 0 && isH265KeyType(payload[2]! & 0x3f);
  if (type === 48) {
    for (let i = 2; i + 3 < payload.length;) {
      const size = payload.readUInt16BE(i);
      if (isH265KeyType((payload[i + 2]! >> 1) & 0x3f)) return true;
      i += 2 + size;
    }
    return false;
  }
  return isH265KeyType(type);
}

/** RFC 2435 §3.1: every JPEG frame stands alone; a frame starts where the fragment offset is 0. */
export function jpegPacketStartsFrame(payload: Buffer): boolean {
  return payload.length >= 8 && payload[1] === 0 && payload[2] === 0 && payload[3] === 0;
}

/** The probe for an rtpmap encoding name, or undefined when the codec has no inter-frame coding worth waiting for. */
export function keyframeProbeFor(encodingName: string): KeyframeProbe | undefined {
  switch (encodingName.toUpperCase()) {
    case 'H264':
      return h264PacketHasKeyframe;
    case 'H265':
    case 'HEVC':
      return h265PacketHasKeyframe;
    case 'JPEG':
      return jpegPacketStartsFrame;
    default:
      return undefined;
  }
}
