/**
 * FLV tag bodies as RTMP audio (type 8) and video (type 9) messages carry them (Adobe FLV
 * specification 10.1, Annex E.4.2-E.4.3), and the enhanced forms (Veovera "Enhanced RTMP" v1/v2):
 * a video tag whose first bit is set names its codec by FourCC (`hvc1`, `avc1`...) with a packet type
 * (sequence start, coded frames with or without a composition time, sequence end); an audio tag with
 * sound format 9 does the same for audio (`Opus`...).
 *
 * The composition time is a signed 24-bit number of milliseconds: pts = dts (the message timestamp)
 * + composition time. Codec data (avcC, hvcC, AudioSpecificConfig, OpusHead) is carried as is.
 */
import { ParseError } from '../base/errors.js';

export type VideoCodec = 'h264' | 'h265';
export type AudioCodec = 'aac' | 'opus';

export type VideoTag =
  | { kind: 'config'; codec: VideoCodec; config: Buffer }
  | { kind: 'frame'; codec: VideoCodec; keyframe: boolean; compositionTimeMs: number; data: Buffer }
  | { kind: 'end'; codec: VideoCodec }
  /** Anything else (other codecs, metadata, command frames): ignored by the caller. */
  | { kind: 'other'; detail: string };

export type AudioTag =
  | { kind: 'config'; codec: AudioCodec; config: Buffer }
  | { kind: 'frame'; codec: AudioCodec; data: Buffer }
  | { kind: 'other'; detail: string };

/** FLV VideoTagHeader CodecID 7 (AVC) and 12 (HEVC, the pre-enhanced Chinese CDN extension). */
const FLV_CODEC_AVC = 7;
const FLV_CODEC_HEVC = 12;
const FLV_SOUND_AAC = 10;
const FLV_SOUND_EX_HEADER = 9;
const FRAME_TYPE_KEY = 1;

export const VideoPacketType = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  CodedFramesX: 3,
  Metadata: 4,
  Mpeg2TsSequenceStart: 5,
} as const;

export const AudioPacketType = { SequenceStart: 0, CodedFrames: 1, SequenceEnd: 2 } as const;

const VIDEO_FOURCC: Readonly<Record<string, VideoCodec>> = { avc1: 'h264', hvc1: 'h265' };
const AUDIO_FOURCC: Readonly<Record<string, AudioCodec>> = { Opus: 'opus', mp4a: 'aac' };

function truncated(what: string): ParseError {
  return new ParseError('FLV_TRUNCATED', `FLV ${what} tag too short`);
}

function si24(b: Buffer, pos: number): number {
  const v = b.readUIntBE(pos, 3);
  return v & 0x800000 ? v - 0x1000000 : v;
}

/** A video message body. Throws ParseError when too short for its own header. */
export function parseVideoTag(body: Buffer): VideoTag {
  if (body.length < 1) throw truncated('video');
  const b0 = body[0]!;
  if (b0 & 0x80) {
    // Enhanced RTMP: [IsExHeader:1][FrameType:3][PacketType:4][FourCC:32] ...
    if (body.length < 5) throw truncated('video');
    const frameType = (b0 >> 4) & 7;
    const packetType = b0 & 0x0f;
    const fourcc = body.toString('latin1', 1, 5);
    const codec = VIDEO_FOURCC[fourcc];
    if (codec === undefined) return { kind: 'other', detail: `video FourCC ${JSON.stringify(fourcc)}` };
    switch (packetType) {
      case VideoPacketType.SequenceStart:
        return { kind: 'config', codec, config: body.subarray(5) };
      case VideoPacketType.CodedFrames:
        if (body.length < 8) throw truncated('video');
        return {
          kind: 'frame',
          codec,
          keyframe: frameType === FRAME_TYPE_KEY,
          compositionTimeMs: si24(body, 5),
          data: body.subarray(8),
        };
      case VideoPacketType.CodedFramesX:
        return {
          kind: 'frame',
          codec,
          keyframe: frameType === FRAME_TYPE_KEY,
          compositionTimeMs: 0,
          data: body.subarray(5),
        };
      case VideoPacketType.SequenceEnd:
        return { kind: 'end', codec };
      default:
        return { kind: 'other', detail: `video packet type ${packetType}` };
    }
  }
  const frameType = b0 >> 4;
  const codecId = b0 & 0x0f;
  const codec = codecId === FLV_CODEC_AVC ? 'h264' : codecId === FLV_CODEC_HEVC ? 'h265' : undefined;
  if (codec === undefined) return { kind: 'other', detail: `video codec id ${codecId}` };
  if (frameType === 5) return { kind: 'other', detail: 'video info/command frame' };
  if (body.length < 5) throw truncated('video');
  switch (body[1]) {
    case 0:
      return { kind: 'config', codec, config: body.subarray(5) };
    case 1:
      return {
        kind: 'frame',
        codec,
        keyframe: frameType === FRAME_TYPE_KEY,
        compositionTimeMs: si24(body, 2),
        data: body.subarray(5),
      };
    case 2:
      return { kind: 'end', codec };
    default:
      return { kind: 'other', detail: `AVC packet type ${body[1]}` };
  }
}

/** An audio message body. Throws ParseError when too short for its own header. */
export function parseAudioTag(body: Buffer): AudioTag {
  if (body.length < 1) throw truncated('audio');
  const b0 = body[0]!;
  const soundFormat = b0 >> 4;
  if (soundFormat === FLV_SOUND_EX_HEADER) {
    if (body.length < 5) throw truncated('audio');
    const packetType = b0 & 0x0f;
    const fourcc = body.toString('latin1', 1, 5);
    const codec = AUDIO_FOURCC[fourcc];
    if (codec === undefined) return { kind: 'other', detail: `audio FourCC ${JSON.stringify(fourcc)}` };
    if (packetType === AudioPacketType.SequenceStart)
      return { kind: 'config', codec, config: body.subarray(5) };
    if (packetType === AudioPacketType.CodedFrames) return { kind: 'frame', codec, data: body.subarray(5) };
    return { kind: 'other', detail: `audio packet type ${packetType}` };
  }
  if (soundFormat !== FLV_SOUND_AAC) return { kind: 'other', detail: `sound format ${soundFormat}` };
  if (body.length < 2) throw truncated('audio');
  if (body[1] === 0) return { kind: 'config', codec: 'aac', config: body.subarray(2) };
  return { kind: 'frame', codec: 'aac', data: body.subarray(2) };
}

function fourccHead(first: number, fourcc: string): Buffer {
  const b = Buffer.alloc(5);
  b[0] = first;
  b.write(fourcc, 1, 'latin1');
  return b;
}

function cts24(ms: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntBE(ms & 0xffffff, 0, 3);
  return b;
}

/**
 * A video body: legacy FLV for H.264 (what every player reads), enhanced RTMP (`hvc1`) for H.265.
 * `config` is the avcC/hvcC; a frame is length-prefixed NAL units (4 bytes).
 */
export function serializeVideoTag(tag: Exclude<VideoTag, { kind: 'other' }>): Buffer[] {
  const keyframe = tag.kind !== 'frame' || tag.keyframe;
  if (tag.codec === 'h264') {
    const head = Buffer.from([((keyframe ? 1 : 2) << 4) | FLV_CODEC_AVC, 0, 0, 0, 0]);
    if (tag.kind === 'config') return [head, tag.config];
    if (tag.kind === 'end') {
      head[1] = 2;
      return [head];
    }
    head[1] = 1;
    cts24(tag.compositionTimeMs).copy(head, 2);
    return [head, tag.data];
  }
  const first = (packetType: number): number => 0x80 | ((keyframe ? 1 : 2) << 4) | packetType;
  if (tag.kind === 'config') return [fourccHead(first(VideoPacketType.SequenceStart), 'hvc1'), tag.config];
  if (tag.kind === 'end') return [fourccHead(first(VideoPacketType.SequenceEnd), 'hvc1')];
  return [fourccHead(first(VideoPacketType.CodedFrames), 'hvc1'), cts24(tag.compositionTimeMs), tag.data];
}

/** An audio body: legacy FLV for AAC (48 kHz stereo flags; AAC's own config says the truth), enhanced `Opus`. */
export function serializeAudioTag(tag: Exclude<AudioTag, { kind: 'other' }>): Buffer[] {
  if (tag.codec === 'aac') {
    const head = Buffer.from([(FLV_SOUND_AAC << 4) | 0x0f, tag.kind === 'config' ? 0 : 1]);
    return [head, tag.kind === 'config' ? tag.config : tag.data];
  }
  const packetType = tag.kind === 'config' ? AudioPacketType.SequenceStart : AudioPacketType.CodedFrames;
  return [
    fourccHead((FLV_SOUND_EX_HEADER << 4) | packetType, 'Opus'),
    tag.kind === 'config' ? tag.config : tag.data,
  ];
}

/** An OpusHead (RFC 7845 §5.1) for `channels` at 48 kHz, what an `Opus` sequence start carries. */
export function opusHead(channels: number, preSkip = 0): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1;
  b[9] = channels;
  b.writeUInt16LE(preSkip, 10);
  b.writeUInt32LE(48000, 12);
  return b;
}

/** The channel count of an OpusHead; ParseError when it is not one. */
export function parseOpusHead(data: Buffer): { channels: number } {
  if (data.length < 19 || data.toString('latin1', 0, 8) !== 'OpusHead')
    throw new ParseError('FLV_BAD_OPUS_HEAD', 'Opus sequence start is not an OpusHead');
  return { channels: data[9]! };
}
