/**
 * What the MP4 file sources share (Mp4LoopSource, the VOD engine VodFile/VodPlayer): opening a file
 * and choosing its playable tracks, turning samples into access units and RTP packets, and the SDP.
 *
 * Supported tracks: H.264, H.265 (RFC 6184 / RFC 7798, packetization-mode 1), AAC (RFC 3640
 * AAC-hbr, one AU per packet) and Opus (RFC 7587); others are skipped with a warning.
 *
 * Parameter sets. H.264/H.265 samples are split from their length-prefixed form into NAL units, and
 * every keyframe lacking SPS/PPS (VPS) gets those of avcC/hvcC put first (after an access unit
 * delimiter), so that a reader can start decoding at any keyframe (a Stream's GOP cache, a seek).
 *
 * Packetizers keep state (the parameter sets they learned), so each sender makes its own with
 * `createPacketizer()`; the rest of an `Mp4RtpTrack` is immutable and shared.
 */
import { basename } from 'node:path';
import { randomInt } from 'node:crypto';
import type { Logger } from '../base/logger.js';
import { H264NalType, h264NalType, isH264Keyframe, isH264Vcl } from '../codec/h264.js';
import { H265NalType, h265NalType, isH265Keyframe, isH265Vcl } from '../codec/h265.js';
import { Mp4Reader, type Mp4Track } from '../container/mp4/reader.js';
import { splitLengthPrefixed } from '../container/mp4/nal.js';
import { ptsOf } from '../container/mp4/sample-table.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, type AccessUnit, type Packetizer } from '../format/access-unit.js';
import { AacPacketizer, aacFmtp } from '../format/aac.js';
import { H264Packetizer, h264Fmtp } from '../format/h264.js';
import { H265Packetizer, h265Fmtp } from '../format/h265.js';
import { OPUS_RTPMAP, OpusPacketizer, opusFmtp } from '../format/opus.js';
import { G711Packetizer, PCMA_PAYLOAD_TYPE, PCMU_PAYLOAD_TYPE } from '../format/g711.js';
import { JPEG_PAYLOAD_TYPE, JPEG_RTPMAP, MjpegPacketizer } from '../format/mjpeg.js';
import { serializeRtpPacket, type RtpHeaderExtension } from '../rtp/packet.js';
import { addAttribute, setFramerate } from '../sdp/attributes.js';
import { createMediaDescription, createSessionDescription } from '../sdp/build.js';
import { addMediaFormat } from '../sdp/formats.js';
import { serializeSdp } from '../sdp/serialize.js';
import type { PublishedMedia, PublishedTrack } from '../media/published-media.js';
import { fileByteSource, type FileByteSource } from './file-source.js';

export const FIRST_DYNAMIC_PT = 96;
const TWO_32 = 2 ** 32;

/** One playable track of a file: its RTP format and how to turn its samples into access units. */
export interface Mp4RtpTrack {
  readonly mp4: Mp4Track;
  readonly published: PublishedTrack;
  /** A fresh packetizer for one sender. */
  createPacketizer(): Packetizer;
  /**
   * The access unit of one sample at `pts` (ticks of `published.clockRate`), parameter sets put
   * before keyframes. Throws ParseError on a malformed sample.
   */
  accessUnit(data: Buffer, pts: number): AccessUnit;
}

export interface OpenedMp4 {
  readonly source: FileByteSource;
  readonly reader: Mp4Reader;
  /** The playable tracks, in file order; payload types 96, 97, ... */
  readonly tracks: Mp4RtpTrack[];
}

/**
 * Opens an MP4 file and prepares its playable tracks. Rejects with an Error naming the file when it
 * cannot be read, is not a progressive MP4, or has no track in a supported codec (h264, h265, aac,
 * opus); the file is closed then. The caller closes `source` when done.
 */
export async function openMp4ForRtp(
  file: string,
  logger: Logger,
  maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES,
): Promise<OpenedMp4> {
  let source: FileByteSource;
  try {
    source = await fileByteSource(file);
  } catch (e) {
    throw new Error(`cannot open ${file}: ${errorMessage(e)}`, { cause: e });
  }
  try {
    let reader: Mp4Reader;
    try {
      reader = await Mp4Reader.open(source);
    } catch (e) {
      throw new Error(`${file} is not a playable MP4 file: ${errorMessage(e)}`, { cause: e });
    }
    const played: Mp4Track[] = [];
    for (const t of reader.tracks) {
      if (!isSupported(t)) {
        logger.warn({ trackId: t.id, codec: t.codec, fourcc: t.fourcc }, 'track skipped: unsupported codec');
      } else if (t.samples.count === 0) {
        logger.warn({ trackId: t.id, codec: t.codec }, 'track skipped: no samples');
      } else {
        played.push(t);
      }
    }
    if (played.length === 0) {
      const found = reader.tracks.map((t) => (t.codec === 'unknown' ? t.fourcc : t.codec)).join(', ');
      throw new Error(
        `${file} has no playable track (supported: h264, h265, aac, opus; found: ${found || 'none'})`,
      );
    }
    const tracks = played.map((t, i) => makeRtpTrack(t, FIRST_DYNAMIC_PT + i, maxPayloadBytes));
    return { source, reader, tracks };
  } catch (e) {
    await source.close().catch(() => undefined);
    throw e;
  }
}

function isSupported(t: Mp4Track): boolean {
  switch (t.codec) {
    case 'h264':
    case 'h265':
      return t.nalLengthSize !== undefined;
    case 'aac':
    case 'opus':
      return true;
    default:
      return false;
  }
}

/**
 * Earliest pts and latest end (pts + duration) of a track, in its timescale. The last sample counts
 * with at least the duration of the one before it: encoders shorten the last AAC frame's stts entry
 * to trim padding, while the decoded frame stays whole.
 */
export function presentationSpan(t: Mp4Track): { firstPts: number; end: number } {
  const s = t.samples;
  let firstPts = Infinity;
  let end = -Infinity;
  for (let i = 0; i < s.count; i++) {
    const pts = ptsOf(s, i);
    let duration = s.duration[i]!;
    if (i === s.count - 1 && i > 0) duration = Math.max(duration, s.duration[i - 1]!);
    firstPts = Math.min(firstPts, pts);
    end = Math.max(end, pts + duration);
  }
  return { firstPts, end };
}

export function makeRtpTrack(t: Mp4Track, payloadType: number, maxPayloadBytes: number): Mp4RtpTrack {
  const ps = t.parameterSets ?? { vps: [], sps: [], pps: [] };
  switch (t.codec) {
    case 'h264': {
      const params = [...ps.sps, ...ps.pps];
      const nalLength = t.nalLengthSize!;
      return {
        mp4: t,
        published: {
          payloadType,
          encodingName: 'H264',
          clockRate: 90000,
          fmtp: h264Fmtp(ps.sps[0], ps.pps),
        },
        createPacketizer: () => new H264Packetizer({ maxPayloadBytes, parameterSets: params }),
        accessUnit: (data, pts) => {
          let nalus = splitLengthPrefixed(data, nalLength);
          if (isH264Keyframe(nalus))
            nalus = withParameterSets(nalus, params, h264NalType, H264NalType.Aud, isH264Vcl);
          return { pts, clockRate: 90000, keyframe: isH264Keyframe(nalus), nalus };
        },
      };
    }
    case 'h265': {
      const params = [...ps.vps, ...ps.sps, ...ps.pps];
      const nalLength = t.nalLengthSize!;
      return {
        mp4: t,
        published: {
          payloadType,
          encodingName: 'H265',
          clockRate: 90000,
          fmtp: h265Fmtp(ps.vps[0], ps.sps[0], ps.pps[0]),
        },
        createPacketizer: () => new H265Packetizer({ maxPayloadBytes, parameterSets: params }),
        accessUnit: (data, pts) => {
          let nalus = splitLengthPrefixed(data, nalLength);
          if (isH265Keyframe(nalus))
            nalus = withParameterSets(nalus, params, h265NalType, H265NalType.Aud, isH265Vcl);
          return { pts, clockRate: 90000, keyframe: isH265Keyframe(nalus), nalus };
        },
      };
    }
    case 'aac': {
      const clockRate = t.aac?.sampleRate ?? t.sampleRate ?? t.timescale;
      return {
        mp4: t,
        published: { payloadType, encodingName: 'MPEG4-GENERIC', clockRate, fmtp: aacFmtp(t.codecConfig) },
        createPacketizer: () => new AacPacketizer({ clockRate, maxPayloadBytes }),
        accessUnit: (payload, pts) => ({ pts, clockRate, keyframe: true, payload }),
      };
    }
    case 'opus':
      return {
        mp4: t,
        published: {
          payloadType,
          encodingName: OPUS_RTPMAP.encodingName,
          clockRate: OPUS_RTPMAP.clockRate,
          fmtp: opusFmtp(t.channels ?? 2),
        },
        createPacketizer: () => new OpusPacketizer(),
        accessUnit: (payload, pts) => ({ pts, clockRate: OPUS_RTPMAP.clockRate, keyframe: true, payload }),
      };
    case 'mjpeg':
      // RFC 2435: static payload type 26 (RFC 3551 §6); each sample is one whole JPEG (a recording's were
      // rebuilt with the standard Huffman tables by the depacketizer, which RTP/JPEG requires).
      return {
        mp4: t,
        published: { payloadType: JPEG_PAYLOAD_TYPE, ...JPEG_RTPMAP, fmtp: {} },
        createPacketizer: () => new MjpegPacketizer({ maxPayloadBytes }),
        accessUnit: (payload, pts) => ({ pts, clockRate: JPEG_RTPMAP.clockRate, keyframe: true, payload }),
      };
    case 'pcma':
    case 'pcmu': {
      // RFC 3551 §4.5.14: 8-bit codes as stored; the static payload types name 8000 Hz mono only.
      const clockRate = t.sampleRate ?? t.timescale;
      const channels = t.channels ?? 1;
      const encodingName = t.codec === 'pcma' ? 'PCMA' : 'PCMU';
      const staticPt = t.codec === 'pcma' ? PCMA_PAYLOAD_TYPE : PCMU_PAYLOAD_TYPE;
      return {
        mp4: t,
        published: {
          payloadType: clockRate === 8000 && channels === 1 ? staticPt : payloadType,
          encodingName,
          clockRate,
          fmtp: {},
        },
        createPacketizer: () => new G711Packetizer({ clockRate, channels, maxPayloadBytes }),
        accessUnit: (payload, pts) => ({ pts, clockRate, keyframe: true, payload }),
      };
    }
    default:
      throw new Error(`unsupported codec ${t.codec}`);
  }
}

/**
 * Puts the parameter sets a keyframe lacks in front of it (after an access unit delimiter, which
 * must come first: H.264 §7.4.1.2.3, H.265 §7.4.2.4.4).
 */
export function withParameterSets(
  nalus: readonly Buffer[],
  params: readonly Buffer[],
  nalType: (nal: Uint8Array) => number,
  audType: number,
  isVcl: (type: number) => boolean,
): Buffer[] {
  const present = new Set(nalus.map(nalType));
  const missing = params.filter((p) => !present.has(nalType(p)));
  if (missing.length === 0) return [...nalus];
  const types = new Set(params.map(nalType));
  // In front of the first NAL unit that is neither the delimiter nor an in-band parameter set.
  let at = nalus.findIndex((n) => {
    const t = nalType(n);
    return t !== audType && !types.has(t);
  });
  if (at < 0) at = nalus.findIndex((n) => isVcl(nalType(n)));
  if (at < 0) at = nalus.length;
  return [...nalus.slice(0, at), ...missing, ...nalus.slice(at)];
}

/**
 * The SDP readers get (see server/media-description.ts): trackID=N controls, aggregate `*`,
 * c=0.0.0.0, and a session-level `a=range` (RFC 2326 C.1.5): `npt=now-` for a live source,
 * `npt=0-<duration>` for a file on demand.
 */
export function describeMp4(tracks: readonly Mp4RtpTrack[], file: string, range: string): PublishedMedia {
  const sd = createSessionDescription({
    sessionId: String(randomInt(1, 2 ** 31)),
    sessionVersion: '1',
    sessionName: basename(file),
    range,
  });
  tracks.forEach((t, i) => {
    const md = createMediaDescription({ type: t.mp4.kind === 'video' ? 'video' : 'audio' });
    // rtpmap channels: AAC's own count; Opus is always opus/48000/2, mono/stereo in its fmtp (RFC 7587 §7).
    const channels =
      t.mp4.codec === 'aac'
        ? t.mp4.aac?.channelConfiguration || t.mp4.channels || 1
        : t.mp4.codec === 'opus'
          ? 2
          : (t.mp4.codec === 'pcma' || t.mp4.codec === 'pcmu') && (t.mp4.channels ?? 1) > 1
            ? t.mp4.channels
            : undefined;
    addMediaFormat(md, channels !== undefined ? { ...t.published, channels } : t.published);
    if (t.mp4.kind === 'video') {
      const fps = frameRate(t.mp4);
      if (fps !== undefined) setFramerate(md, fps);
    }
    addAttribute(md, 'control', `trackID=${i}`);
    sd.media.push(md);
  });
  const text = serializeSdp(sd);
  return {
    describeSdp: () => text,
    tracks: tracks.map((t) => t.published),
    controls: tracks.map((_, i) => `trackID=${i}`),
  };
}

/** Average frame rate over the track, to 3 decimals; undefined for a single frame. */
function frameRate(t: Mp4Track): number | undefined {
  const s = t.samples;
  if (s.count < 2) return undefined;
  const span = s.dts[s.count - 1]! - s.dts[0]!;
  if (!(span > 0)) return undefined;
  return Math.round((((s.count - 1) * t.timescale) / span) * 1000) / 1000;
}

/** Serializes the packets of one access unit; `seq` is the first sequence number. */
export function rtpPackets(
  packetizer: Packetizer,
  au: AccessUnit,
  payloadType: number,
  seq: number,
  timestampBase: number,
  ssrc: number,
  extension?: RtpHeaderExtension | ((lastPacket: boolean) => RtpHeaderExtension | undefined),
): Buffer[] {
  const outs = packetizer.packetize(au);
  return outs.map((out, i) => {
    const ext = typeof extension === 'function' ? extension(i === outs.length - 1) : extension;
    return serializeRtpPacket({
      ...(ext !== undefined ? { extension: ext } : {}),
      marker: out.marker,
      payloadType,
      sequenceNumber: (seq + i) & 0xffff,
      timestamp: mod32(timestampBase + out.pts),
      ssrc,
      csrcs: [],
      payload: out.payload,
    });
  });
}

export function mod32(x: number): number {
  return ((x % TWO_32) + TWO_32) % TWO_32;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
