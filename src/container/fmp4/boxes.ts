/**
 * The boxes of a fragmented MP4 (ISO/IEC 14496-12, "ISO-BMFF"): the init segment (`ftyp` + `moov` with
 * empty sample tables and `mvex`/`trex`, §8.8.1) and one fragment (`moof` + `mdat`, §8.8.4). Sample
 * entries: `avc1`+`avcC` and `hvc1`+`hvcC` (ISO/IEC 14496-15 §5.4.2 / §8.4.1), `mp4a`+`esds` (ISO/IEC
 * 14496-14 §5.6, descriptors of ISO/IEC 14496-1 §7.2.6), `Opus`+`dOps` ("Encapsulation of Opus in
 * ISO-BMFF" §4.3). Times are left at 0 (creation, modification, durations): a live recording does not
 * know them up front, and `mvex` tells readers that the samples are in the fragments.
 */
import { box, fullBox, i16, i32, u16, u32, u64, u8, ascii } from '../mp4/box-writer.js';

const zeros = (n: number): Buffer => Buffer.alloc(n);
/** The unity matrix of tkhd/mvhd (§8.2.2.3), 16.16 and 2.30 fixed point. */
const UNITY_MATRIX = u32(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000);

/** Sample flags (§8.8.3.1): a sync sample depends on nothing (sample_depends_on = 2). */
export const SYNC_SAMPLE_FLAGS = 0x02000000;
/** A non-sync sample: sample_depends_on = 1, sample_is_non_sync_sample = 1. */
export const NON_SYNC_SAMPLE_FLAGS = 0x01010000;

/** tfhd flag (§8.8.7.1): data offsets count from the start of the enclosing moof. */
export const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
/** trun flags (§8.8.8.1). */
export const TRUN_DATA_OFFSET = 0x000001;
export const TRUN_SAMPLE_DURATION = 0x000100;
export const TRUN_SAMPLE_SIZE = 0x000200;
export const TRUN_SAMPLE_FLAGS = 0x000400;
export const TRUN_SAMPLE_CTO = 0x000800;

export type Fmp4Handler = 'vide' | 'soun';

/** What the init segment says about one track. */
export interface InitTrack {
  trackId: number;
  handler: Fmp4Handler;
  timescale: number;
  /** The sample entry, e.g. from `avc1Entry`. */
  sampleEntry: Buffer;
  /** Video: display size. */
  width?: number;
  height?: number;
}

export function ftyp(): Buffer {
  // iso6 brings nothing we use beyond iso5 (tfdt, default-base-is-moof); both listed for picky readers.
  return box('ftyp', ascii('iso5'), u32(512), ascii('iso5'), ascii('iso6'), ascii('mp41'));
}

function visualSampleEntry(type: string, width: number, height: number, config: Buffer): Buffer {
  return box(
    type,
    zeros(6),
    u16(1), // data_reference_index
    zeros(16), // pre_defined, reserved, pre_defined[3]
    u16(width, height),
    u32(0x00480000, 0x00480000, 0), // 72 dpi, reserved
    u16(1), // frame_count
    zeros(32), // compressorname
    u16(0x0018), // depth
    i16(-1),
    config,
  );
}

/** `avc1` with the AVCDecoderConfigurationRecord in `avcC`. */
export function avc1Entry(width: number, height: number, avcC: Buffer): Buffer {
  return visualSampleEntry('avc1', width, height, box('avcC', avcC));
}

/** `hvc1` with the HEVCDecoderConfigurationRecord in `hvcC` (parameter sets complete in the record). */
export function hvc1Entry(width: number, height: number, hvcC: Buffer): Buffer {
  return visualSampleEntry('hvc1', width, height, box('hvcC', hvcC));
}

function audioSampleEntry(type: string, channels: number, sampleRate: number, config: Buffer): Buffer {
  return box(
    type,
    zeros(6),
    u16(1), // data_reference_index
    u32(0, 0), // reserved
    u16(channels, 16, 0, 0), // channelcount, samplesize, pre_defined, reserved
    u32(sampleRate < 65536 ? sampleRate * 65536 : 0), // 16.16; rates above 65535 Hz only in the config
    config,
  );
}

/** An MPEG-4 descriptor (ISO/IEC 14496-1 §8.3.3): tag and a size in 7-bit groups (always 4 bytes here). */
function descriptor(tag: number, ...body: Buffer[]): Buffer {
  const b = Buffer.concat(body);
  const n = b.length;
  return Buffer.concat([
    u8(tag, 0x80 | ((n >> 21) & 0x7f), 0x80 | ((n >> 14) & 0x7f), 0x80 | ((n >> 7) & 0x7f), n & 0x7f),
    b,
  ]);
}

/**
 * An `esds` box (ISO/IEC 14496-14 §5.6): an ES_Descriptor whose DecoderConfigDescriptor names the
 * objectTypeIndication (ISO/IEC 14496-1 §7.2.6.6.2, the MP4RA registry) and carries the
 * DecoderSpecificInfo when the codec has one.
 */
function esds(objectTypeIndication: number, streamType: number, decoderSpecificInfo?: Uint8Array): Buffer {
  const decoderConfig = descriptor(
    0x04,
    u8(objectTypeIndication, (streamType << 2) | 1), // streamType | reserved bit
    Buffer.from([0, 0, 0]), // bufferSizeDB (unknown)
    u32(0, 0), // maxBitrate, avgBitrate (unknown)
    ...(decoderSpecificInfo !== undefined ? [descriptor(0x05, Buffer.from(decoderSpecificInfo))] : []),
  );
  const es = descriptor(0x03, u16(0), u8(0), decoderConfig, descriptor(0x06, u8(0x02)));
  return fullBox('esds', 0, 0, es);
}

const STREAM_TYPE_VISUAL = 0x04;
const STREAM_TYPE_AUDIO = 0x05;
/** objectTypeIndication of MPEG-4 Audio (AAC). */
const OTI_MPEG4_AUDIO = 0x40;
/** objectTypeIndication of "Visual ISO/IEC 10918-1" (JPEG), MP4RA. */
export const OTI_JPEG = 0x6c;

/** `mp4a` with an `esds` carrying the AudioSpecificConfig (objectTypeIndication 0x40, MPEG-4 Audio). */
export function mp4aEntry(channels: number, sampleRate: number, audioSpecificConfig: Uint8Array): Buffer {
  return audioSampleEntry(
    'mp4a',
    channels,
    sampleRate,
    esds(OTI_MPEG4_AUDIO, STREAM_TYPE_AUDIO, audioSpecificConfig),
  );
}

/**
 * Motion JPEG: `mp4v` with an `esds` of objectTypeIndication 0x6C (JPEG), each sample one whole JPEG.
 * The MP4 way (ISO/IEC 14496-1's object types, as ffmpeg's mp4 muxer writes it); the QuickTime `jpeg`
 * entry is read by ffmpeg too, but is not an MP4RA sample entry of ISO BMFF.
 */
export function mjpegEntry(width: number, height: number): Buffer {
  return visualSampleEntry('mp4v', width, height, esds(OTI_JPEG, STREAM_TYPE_VISUAL));
}

/**
 * G.711 as the `alaw` / `ulaw` sample entries (registered at MP4RA, from QuickTime): one sample per RTP
 * packet, 8-bit codes as sent, timescale the sample rate. The alternative, `ipcm` (ISO/IEC 23003-5),
 * holds linear PCM only: decoding to 16 bits would double the bytes written.
 */
export function g711Entry(law: 'alaw' | 'ulaw', channels: number, sampleRate: number): Buffer {
  return audioSampleEntry(law, channels, sampleRate, Buffer.alloc(0));
}

/** `Opus` with `dOps` (big-endian, unlike the OpusHead of Ogg); channel mapping family 0 (mono/stereo). */
export function opusEntry(channels: number, preSkip = 0, inputSampleRate = 48000): Buffer {
  const dOps = box('dOps', u8(0, channels), u16(preSkip), u32(inputSampleRate), i16(0), u8(0));
  return audioSampleEntry('Opus', channels, 48000, dOps);
}

function trak(t: InitTrack): Buffer {
  const video = t.handler === 'vide';
  const tkhd = fullBox(
    'tkhd',
    0,
    0x000003, // track_enabled | track_in_movie
    u32(0, 0, t.trackId, 0, 0), // creation, modification, track_ID, reserved, duration
    u32(0, 0), // reserved
    i16(0, 0), // layer, alternate_group
    u16(video ? 0 : 0x0100, 0), // volume, reserved
    UNITY_MATRIX,
    u32(((t.width ?? 0) & 0xffff) * 65536, ((t.height ?? 0) & 0xffff) * 65536),
  );
  const mdhd = fullBox('mdhd', 0, 0, u32(0, 0, t.timescale, 0), u16(0x55c4, 0)); // language 'und'
  const { hdlr, mediaHeader, dinf } = handlerBoxes(t.handler);
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), t.sampleEntry),
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0, 0)),
    fullBox('stco', 0, 0, u32(0)),
  );
  return box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', mediaHeader, dinf, stbl)));
}

/**
 * A track's handler (`hdlr`), media header (`vmhd` or `smhd`) and data information (`dinf`, the media
 * in this file) boxes (ISO/IEC 14496-12 §8.4.3, §12.1.2, §12.2.2, §8.7.1): the same in fMP4 and MP4.
 */
export function handlerBoxes(handler: Fmp4Handler): { hdlr: Buffer; mediaHeader: Buffer; dinf: Buffer } {
  const video = handler === 'vide';
  return {
    hdlr: fullBox(
      'hdlr',
      0,
      0,
      u32(0),
      ascii(handler),
      u32(0, 0, 0),
      ascii(video ? 'VideoHandler\0' : 'SoundHandler\0'),
    ),
    mediaHeader: video ? fullBox('vmhd', 0, 1, u16(0, 0, 0, 0)) : fullBox('smhd', 0, 0, i16(0), u16(0)),
    dinf: box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1))),
  };
}

/** ftyp + moov: everything a reader needs before the first fragment. */
export function initSegment(tracks: readonly InitTrack[]): Buffer {
  const nextTrackId = Math.max(0, ...tracks.map((t) => t.trackId)) + 1;
  const mvhd = fullBox(
    'mvhd',
    0,
    0,
    u32(0, 0, 1000, 0), // creation, modification, timescale, duration
    u32(0x00010000), // rate 1.0
    u16(0x0100), // volume 1.0
    zeros(10),
    UNITY_MATRIX,
    zeros(24), // pre_defined
    u32(nextTrackId),
  );
  // trex defaults are never relied on: every trun gives duration, size and flags per sample.
  const trex = tracks.map((t) => fullBox('trex', 0, 0, u32(t.trackId, 1, 0, 0, 0)));
  return Buffer.concat([ftyp(), box('moov', mvhd, ...tracks.map(trak), box('mvex', ...trex))]);
}

/** One sample of a fragment. */
export interface FragmentSample {
  durationTicks: number;
  data: Buffer;
  keyframe: boolean;
  /** pts - dts in ticks (may be negative: trun version 1). */
  compositionOffset: number;
}

export interface FragmentTrack {
  trackId: number;
  /** Decode time of the first sample, in the track's timescale (tfdt, §8.8.12). */
  baseMediaDecodeTime: number;
  samples: readonly FragmentSample[];
}

/** One sample of a fragment as its `trun` describes it, without its bytes. */
export interface FragmentSampleInfo {
  durationTicks: number;
  sizeBytes: number;
  keyframe: boolean;
  /** pts - dts in ticks (may be negative: trun version 1). */
  compositionOffset: number;
}

/** A track's run in a fragment, described without its bytes (for `fragmentHeader`). */
export interface FragmentTrackInfo {
  trackId: number;
  baseMediaDecodeTime: number;
  samples: readonly FragmentSampleInfo[];
}

function traf(t: FragmentTrackInfo, dataOffset: number): Buffer {
  const withCto = t.samples.some((s) => s.compositionOffset !== 0);
  const flags =
    TRUN_DATA_OFFSET |
    TRUN_SAMPLE_DURATION |
    TRUN_SAMPLE_SIZE |
    TRUN_SAMPLE_FLAGS |
    (withCto ? TRUN_SAMPLE_CTO : 0);
  const entries: Buffer[] = [];
  for (const s of t.samples) {
    entries.push(u32(s.durationTicks, s.sizeBytes, s.keyframe ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS));
    if (withCto) entries.push(i32(s.compositionOffset));
  }
  return box(
    'traf',
    fullBox('tfhd', 0, TFHD_DEFAULT_BASE_IS_MOOF, u32(t.trackId)),
    fullBox('tfdt', 1, 0, u64(t.baseMediaDecodeTime)),
    // Version 1: signed composition offsets (§8.8.8.2).
    fullBox('trun', withCto ? 1 : 0, flags, u32(t.samples.length), i32(dataOffset), entries),
  );
}

/**
 * The `moof` and the `mdat` header of a fragment whose samples follow it: each track's samples in a row,
 * track after track (those with samples), in the order given; each trun's data_offset points at its run
 * from the start of the moof. The sample bytes are the caller's to append (an exporter copies them from
 * the recorded files without holding them).
 */
export function fragmentHeader(sequenceNumber: number, tracks: readonly FragmentTrackInfo[]): Buffer {
  const present = tracks.filter((t) => t.samples.length > 0);
  const build = (offsets: readonly number[]): Buffer =>
    box(
      'moof',
      fullBox('mfhd', 0, 0, u32(sequenceNumber)),
      ...present.map((t, i) => traf(t, offsets[i] ?? 0)),
    );
  // The moof's size does not depend on the offsets' values: build once to measure, once for real.
  const moofSize = build([]).length;
  const offsets: number[] = [];
  let at = moofSize + 8;
  for (const t of present) {
    offsets.push(at);
    for (const s of t.samples) at += s.sizeBytes;
  }
  const payloadBytes = at - moofSize - 8;
  // A fragment of 4 GiB is not something we write; the 32-bit mdat size is checked, not assumed.
  if (payloadBytes + 8 > 0xffffffff) throw new RangeError(`fragment of ${payloadBytes} bytes`);
  return Buffer.concat([build(offsets), u32(payloadBytes + 8), ascii('mdat')]);
}

/** moof + mdat for the given tracks (those with samples): `fragmentHeader` followed by the samples. */
export function fragment(sequenceNumber: number, tracks: readonly FragmentTrack[]): Buffer {
  const info = tracks.map((t) => ({
    trackId: t.trackId,
    baseMediaDecodeTime: t.baseMediaDecodeTime,
    samples: t.samples.map((s) => ({
      durationTicks: s.durationTicks,
      sizeBytes: s.data.length,
      keyframe: s.keyframe,
      compositionOffset: s.compositionOffset,
    })),
  }));
  const payload = tracks.flatMap((t) => t.samples.map((s) => s.data));
  return Buffer.concat([fragmentHeader(sequenceNumber, info), ...payload]);
}
