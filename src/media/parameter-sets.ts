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
import { isParseError } from '../base/errors.js';
import { H264NalType, H264_PARAMETER_SET_TYPES, h264NalType } from '../codec/h264.js';
import { H265_PARAMETER_SET_TYPES, h265NalType, isH265Irap } from '../codec/h265.js';
import { parseH264Fmtp } from '../format/h264.js';
import { parseH265Fmtp } from '../format/h265.js';
import { payloadOf, readRtpHeader, serializeRtpPacket, type RtpHeader } from '../rtp/packet.js';

/** How a payload format wraps NAL units (RFC 6184 §5.2-5.8, RFC 7798 §4.4). */
interface NalSyntax {
  /** NAL unit header bytes: 1 (H.264) or 2 (H.265). */
  headerBytes: number;
  nalType(nal: Uint8Array): number;
  /** STAP-A / AP. */
  aggregationType: number;
  /** FU-A / FU, whose FU header follows the NAL unit header. */
  fragmentType: number;
  fuType(fuHeader: number): number;
  isParameterSet(type: number): boolean;
  isKeyframe(type: number): boolean;
}

const H264_SYNTAX: NalSyntax = {
  headerBytes: 1,
  nalType: h264NalType,
  aggregationType: 24,
  fragmentType: 28,
  fuType: (h) => h & 0x1f,
  isParameterSet: (t) => H264_PARAMETER_SET_TYPES.includes(t),
  isKeyframe: (t) => t === H264NalType.IdrSlice,
};

const H265_SYNTAX: NalSyntax = {
  headerBytes: 2,
  nalType: h265NalType,
  aggregationType: 48,
  fragmentType: 49,
  fuType: (h) => h & 0x3f,
  isParameterSet: (t) => H265_PARAMETER_SET_TYPES.includes(t),
  isKeyframe: isH265Irap,
};

/** What one RTP payload carries, as far as parameter sets and keyframe starts go. */
interface PayloadLook {
  /** Parameter-set NAL units carried whole (single NAL unit or aggregation packet). */
  parameterSets: Buffer[];
  /** The packet starts a keyframe (IDR / IRAP) NAL unit. */
  startsKeyframe: boolean;
}

function lookAt(syntax: NalSyntax, payload: Buffer): PayloadLook {
  const look: PayloadLook = { parameterSets: [], startsKeyframe: false };
  if (payload.length < syntax.headerBytes) return look;
  const type = syntax.nalType(payload);
  if (type === syntax.aggregationType) {
    for (let i = syntax.headerBytes; i + 2 < payload.length;) {
      const size = payload.readUInt16BE(i);
      const nal = payload.subarray(i + 2, i + 2 + size);
      if (nal.length === size && size > 0) {
        const t = syntax.nalType(nal);
        if (syntax.isParameterSet(t)) look.parameterSets.push(Buffer.from(nal));
        else if (syntax.isKeyframe(t)) look.startsKeyframe = true;
      }
      i += 2 + size;
    }
  } else if (type === syntax.fragmentType) {
    const fuHeader = payload[syntax.headerBytes];
    look.startsKeyframe =
      fuHeader !== undefined && (fuHeader & 0x80) !== 0 && syntax.isKeyframe(syntax.fuType(fuHeader));
  } else if (syntax.isParameterSet(type)) {
    look.parameterSets.push(Buffer.from(payload));
  } else {
    look.startsKeyframe = syntax.isKeyframe(type);
  }
  return look;
}

/** Decoding order of parameter sets: VPS, SPS, PPS (their NAL unit types ascend in that order). */
function inDecodingOrder(syntax: NalSyntax, nals: Buffer[]): Buffer[] {
  return [...nals].sort((a, b) => syntax.nalType(a) - syntax.nalType(b));
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
    private readonly syntax: NalSyntax,
    initial: Buffer[],
  ) {
    this.parameterSets = inDecodingOrder(syntax, initial);
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
        return new ParameterSetInserter(H264_SYNTAX, [...info.sps, ...info.pps]);
      }
      if (name === 'H265' || name === 'HEVC') {
        const info = parseH265Fmtp(fmtp ?? {});
        return new ParameterSetInserter(H265_SYNTAX, [...info.vps, ...info.sps, ...info.pps]);
      }
    } catch (e) {
      // Unreadable sprop values: start with none and take the stream's own when they come.
      if (!isParseError(e)) throw e;
      return new ParameterSetInserter(name === 'H264' ? H264_SYNTAX : H265_SYNTAX, []);
    }
    return undefined;
  }

  /**
   * Looks at one publisher packet (a whole RTP packet, rewritten in place with the shifted sequence
   * number, and `header`, the packet's as read where it entered, with it) and returns the packets to
   * send before it, or undefined when there are none.
   */
  process(packet: Buffer, header: RtpHeader | undefined = readRtpHeader(packet)): Buffer[] | undefined {
    if (header === undefined) return undefined;
    const timestamp = header.timestamp;
    if (timestamp !== this.auTimestamp) {
      if (this.auParameterSets.length > 0)
        this.parameterSets = inDecodingOrder(this.syntax, this.auParameterSets);
      this.auTimestamp = timestamp;
      this.auParameterSets = [];
      this.auHasParameterSets = false;
    }
    const seq = header.sequenceNumber;
    const look = lookAt(this.syntax, payloadOf(packet, header));
    let inserted: Buffer[] | undefined;
    if (look.parameterSets.length > 0) {
      this.auParameterSets.push(...look.parameterSets);
      this.auHasParameterSets = true;
    } else if (look.startsKeyframe && !this.auHasParameterSets && this.parameterSets.length > 0) {
      inserted = this.parameterSets.map((nal, i) =>
        serializeRtpPacket({
          marker: false,
          payloadType: header.payloadType,
          sequenceNumber: (seq + this.seqOffset + i) & 0xffff,
          timestamp,
          ssrc: header.ssrc,
          csrcs: [],
          payload: nal,
        }),
      );
      this.seqOffset = (this.seqOffset + inserted.length) & 0xffff;
      this.insertedPackets += inserted.length;
      this.auHasParameterSets = true;
    }
    if (this.seqOffset !== 0) {
      header.sequenceNumber = (seq + this.seqOffset) & 0xffff;
      packet.writeUInt16BE(header.sequenceNumber, 2);
    }
    return inserted;
  }
}
