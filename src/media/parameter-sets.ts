/**
 * In-band parameter sets for live H.264 and H.265 relays.
 *
 * Many publishers send SPS/PPS (and VPS) only out of band, in the SDP's sprop-* parameters: ffmpeg
 * copying an MP4, GStreamer's payloaders with their default config-interval=0, many cameras. Readers
 * that ignore the SDP, recorders that start mid-stream and players that re-initialise their decoder at a
 * keyframe then have nothing to decode with. RFC 6184 §8.4 and RFC 7798 §7.2 let a sender repeat
 * parameter sets in-band at any time; so before a keyframe whose access unit brought none, the relay
 * sends the latest ones (seen in the stream, else from the SDP) as single NAL unit packets with the
 * keyframe's timestamp.
 *
 * The track's sequence numbers from there on move up by the packets added, so a publisher's losses
 * still show as gaps to readers and their receiver reports stay true.
 */
import { parseH264Fmtp } from '../format/h264.js';
import { parseH265Fmtp } from '../format/h265.js';
import { serializeRtpPacket } from '../rtp/packet.js';

type Codec = 'h264' | 'h265';

/** What one RTP payload carries, as far as parameter sets and keyframe starts go. */
interface PayloadLook {
  /** Parameter-set NAL units carried whole (single NAL unit or aggregation packet). */
  parameterSets: Buffer[];
  /** The packet starts a keyframe (IDR / IRAP) NAL unit. */
  startsKeyframe: boolean;
}

function isParameterSet(codec: Codec, type: number): boolean {
  return codec === 'h264' ? type === 7 || type === 8 : type >= 32 && type <= 34;
}

function isKeyframeType(codec: Codec, type: number): boolean {
  return codec === 'h264' ? type === 5 : type >= 16 && type <= 21;
}

function nalType(codec: Codec, first: number): number {
  return codec === 'h264' ? first & 0x1f : (first >> 1) & 0x3f;
}

function lookAt(codec: Codec, payload: Buffer): PayloadLook {
  const look: PayloadLook = { parameterSets: [], startsKeyframe: false };
  const headerBytes = codec === 'h264' ? 1 : 2;
  if (payload.length < headerBytes) return look;
  const type = nalType(codec, payload[0]!);
  const aggregate = codec === 'h264' ? type === 24 : type === 48;
  const fragment = codec === 'h264' ? type === 28 : type === 49;
  if (aggregate) {
    for (let i = headerBytes; i + 2 < payload.length;) {
      const size = payload.readUInt16BE(i);
      const nal = payload.subarray(i + 2, i + 2 + size);
      if (nal.length === size && size > 0) {
        const t = nalType(codec, nal[0]!);
        if (isParameterSet(codec, t)) look.parameterSets.push(Buffer.from(nal));
        else if (isKeyframeType(codec, t)) look.startsKeyframe = true;
      }
      i += 2 + size;
    }
  } else if (fragment) {
    if (payload.length <= headerBytes) return look;
    const fuHeader = payload[headerBytes]!;
    const fuType = codec === 'h264' ? fuHeader & 0x1f : fuHeader & 0x3f;
    look.startsKeyframe = (fuHeader & 0x80) !== 0 && isKeyframeType(codec, fuType);
  } else if (isParameterSet(codec, type)) {
    look.parameterSets.push(Buffer.from(payload));
  } else {
    look.startsKeyframe = isKeyframeType(codec, type);
  }
  return look;
}

/** Decoding order of parameter sets: VPS, SPS, PPS (H.264: SPS 7 before PPS 8). */
function inDecodingOrder(codec: Codec, nals: Buffer[]): Buffer[] {
  return [...nals].sort((a, b) => nalType(codec, a[0]!) - nalType(codec, b[0]!));
}

export class ParameterSetInserter {
  /** Parameter sets sent before keyframes that come without: the last in-band ones, else the SDP's. */
  private parameterSets: Buffer[];
  /** Added to the publisher's sequence numbers (mod 2^16): the packets inserted so far. */
  private seqOffset = 0;
  private auTimestamp: number | undefined;
  /** Parameter sets seen in the current access unit. */
  private auParameterSets: Buffer[] = [];
  /** The current access unit already got its parameter sets (in-band or inserted). */
  private auHasParameterSets = false;
  /** Packets inserted, for statistics. */
  insertedPackets = 0;

  private constructor(
    private readonly codec: Codec,
    initial: Buffer[],
  ) {
    this.parameterSets = inDecodingOrder(codec, initial);
  }

  /** An inserter for an H.264 or H.265 track (by rtpmap encoding name), or undefined for other codecs. */
  static forTrack(
    encodingName: string,
    fmtp: Readonly<Record<string, string>> | undefined,
  ): ParameterSetInserter | undefined {
    const name = encodingName.toUpperCase();
    try {
      if (name === 'H264') {
        const info = parseH264Fmtp(fmtp ?? {});
        return new ParameterSetInserter('h264', [...info.sps, ...info.pps]);
      }
      if (name === 'H265' || name === 'HEVC') {
        const info = parseH265Fmtp(fmtp ?? {});
        return new ParameterSetInserter('h265', [...info.vps, ...info.sps, ...info.pps]);
      }
    } catch {
      // Unreadable sprop values: start with none and take the stream's own when they come.
      return new ParameterSetInserter(name === 'H264' ? 'h264' : 'h265', []);
    }
    return undefined;
  }

  /**
   * Looks at one publisher packet (a whole RTP packet, rewritten in place with the shifted sequence
   * number) and returns the packets to send before it, or undefined when there are none.
   */
  process(packet: Buffer): Buffer[] | undefined {
    const timestamp = packet.readUInt32BE(4);
    if (timestamp !== this.auTimestamp) {
      if (this.auParameterSets.length > 0)
        this.parameterSets = inDecodingOrder(this.codec, this.auParameterSets);
      this.auTimestamp = timestamp;
      this.auParameterSets = [];
      this.auHasParameterSets = false;
    }
    const seq = packet.readUInt16BE(2);
    const paddingBytes = (packet[0]! & 0x20) !== 0 ? packet[packet.length - 1]! : 0;
    const start = headerLengthOf(packet);
    const look = lookAt(this.codec, packet.subarray(start, Math.max(start, packet.length - paddingBytes)));
    let inserted: Buffer[] | undefined;
    if (look.parameterSets.length > 0) {
      this.auParameterSets.push(...look.parameterSets);
      this.auHasParameterSets = true;
    } else if (look.startsKeyframe && !this.auHasParameterSets && this.parameterSets.length > 0) {
      inserted = this.parameterSets.map((nal, i) =>
        serializeRtpPacket({
          marker: false,
          payloadType: packet[1]! & 0x7f,
          sequenceNumber: (seq + this.seqOffset + i) & 0xffff,
          timestamp,
          ssrc: packet.readUInt32BE(8),
          csrcs: [],
          payload: nal,
        }),
      );
      this.seqOffset = (this.seqOffset + inserted.length) & 0xffff;
      this.insertedPackets += inserted.length;
      this.auHasParameterSets = true;
    }
    if (this.seqOffset !== 0) packet.writeUInt16BE((seq + this.seqOffset) & 0xffff, 2);
    return inserted;
  }
}

/** The RTP header's length (fixed part, CSRCs, extension) of a packet already checked to be version 2. */
function headerLengthOf(packet: Buffer): number {
  const csrcCount = packet[0]! & 0x0f;
  let length = 12 + 4 * csrcCount;
  if ((packet[0]! & 0x10) !== 0 && packet.length >= length + 4) {
    length += 4 + 4 * packet.readUInt16BE(length + 2);
  }
  return Math.min(length, packet.length);
}
