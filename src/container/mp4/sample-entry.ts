import { ParseError } from '../../base/errors.js';
import { childBoxes, Cursor, findBox, type BoxHeader } from './boxes.js';
import {
  parseAudioSpecificConfig,
  parseAvcC,
  parseDOps,
  parseEsds,
  parseHvcC,
  type AudioSpecificConfigInfo,
  type AvcConfig,
  type EsdsConfig,
  type HevcConfig,
  type OpusConfig,
} from './codec-config.js';

export type Mp4Codec = 'h264' | 'h265' | 'aac' | 'mp3' | 'opus' | 'mjpeg' | 'pcma' | 'pcmu' | 'unknown';
export type TrackKind = 'video' | 'audio' | 'other';

export interface ParameterSets {
  /** H.265 only; empty for H.264. */
  readonly vps: readonly Buffer[];
  readonly sps: readonly Buffer[];
  readonly pps: readonly Buffer[];
}

/** What the first entry of `stsd` says about a track's coding (ISO/IEC 14496-12 §8.5.2). */
export interface SampleDescription {
  /** The sample entry type as written, e.g. 'avc1', 'hev1', 'mp4a', 'Opus', or anything else. */
  readonly fourcc: string;
  readonly codec: Mp4Codec;
  readonly width?: number;
  readonly height?: number;
  readonly sampleRate?: number;
  readonly channels?: number;
  /**
   * The raw decoder configuration: the avcC / hvcC record, the AAC AudioSpecificConfig (esds
   * DecoderSpecificInfo), the dOps payload. Empty for unknown entries. A copy, not a view into moov.
   */
  readonly codecConfig: Buffer;
  readonly parameterSets?: ParameterSets;
  /** Size of the NAL unit length prefix in samples (H.264/H.265). */
  readonly nalLengthSize?: number;
  readonly avc?: AvcConfig;
  readonly hevc?: HevcConfig;
  readonly esds?: EsdsConfig;
  readonly aac?: AudioSpecificConfigInfo;
  readonly opus?: OpusConfig;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const VISUAL_HEADER = 8 + 70; // SampleEntry + VisualSampleEntry fields (§12.1.3)
const AUDIO_HEADER = 8 + 20; // SampleEntry + AudioSampleEntry fields (§12.2.3)

/** Parses the first sample entry of an `stsd` box. Further entries (rare) are ignored. */
export function parseStsd(buf: Buffer, stsd: BoxHeader, kind: TrackKind): SampleDescription {
  const c = Cursor.ofBox(buf, stsd);
  c.fullBox();
  const count = c.u32();
  if (count === 0) throw new ParseError('MP4_BAD_BOX', "'stsd' has no sample entry");
  const entries = childBoxes(buf, c.pos, stsd.end);
  const entry = entries[0];
  if (!entry) throw new ParseError('MP4_BAD_BOX', "'stsd' has no sample entry");
  return parseSampleEntry(buf, entry, kind);
}

function parseSampleEntry(buf: Buffer, entry: BoxHeader, kind: TrackKind): SampleDescription {
  const d: Mutable<SampleDescription> = {
    fourcc: entry.type,
    codec: 'unknown',
    codecConfig: Buffer.alloc(0),
  };
  const c = Cursor.ofBox(buf, entry);
  if (kind === 'video') {
    c.skip(8 + 16);
    d.width = c.u16();
    d.height = c.u16();
    c.pos = entry.payload + VISUAL_HEADER;
    c.need(0);
    const children = entry.end - c.pos >= 8 ? childBoxes(buf, c.pos, entry.end) : [];
    parseVideoConfig(buf, d, children);
  } else if (kind === 'audio') {
    c.skip(8);
    const version = c.u16();
    c.skip(6); // revision, vendor
    d.channels = c.u16();
    c.skip(2 + 2 + 2); // samplesize, pre_defined, reserved
    d.sampleRate = c.u32() / 65536;
    let childStart = entry.payload + AUDIO_HEADER;
    if (version === 1) {
      childStart += 16; // QuickTime sound description v1: samplesPerPacket .. bytesPerSample
    } else if (version === 2) {
      // QuickTime v2: sizeOfStructOnly, audioSampleRate (float64), numAudioChannels, 5 more u32
      c.skip(4);
      c.need(12);
      d.sampleRate = buf.readDoubleBE(c.pos);
      d.channels = buf.readUInt32BE(c.pos + 8);
      childStart += 36;
    }
    if (childStart > entry.end)
      throw new ParseError('MP4_BAD_BOX', `'${entry.type}' audio sample entry too short`);
    const children = entry.end - childStart >= 8 ? childBoxes(buf, childStart, entry.end) : [];
    parseAudioConfig(buf, d, children);
  }
  return d;
}

function copyPayload(buf: Buffer, box: BoxHeader, skip = 0): Buffer {
  return Buffer.from(buf.subarray(box.payload + skip, box.end));
}

function parseVideoConfig(buf: Buffer, d: Mutable<SampleDescription>, children: BoxHeader[]): void {
  if (d.fourcc === 'avc1' || d.fourcc === 'avc3') {
    const box = findBox(children, 'avcC');
    if (!box) throw new ParseError('MP4_BAD_CODEC_CONFIG', `'${d.fourcc}' without 'avcC'`);
    d.codec = 'h264';
    d.codecConfig = copyPayload(buf, box);
    const avc = parseAvcC(d.codecConfig);
    d.avc = avc;
    d.nalLengthSize = avc.nalLengthSize;
    d.parameterSets = { vps: [], sps: avc.sps, pps: avc.pps };
  } else if (d.fourcc === 'hvc1' || d.fourcc === 'hev1') {
    const box = findBox(children, 'hvcC');
    if (!box) throw new ParseError('MP4_BAD_CODEC_CONFIG', `'${d.fourcc}' without 'hvcC'`);
    d.codec = 'h265';
    d.codecConfig = copyPayload(buf, box);
    const hevc = parseHvcC(d.codecConfig);
    d.hevc = hevc;
    d.nalLengthSize = hevc.nalLengthSize;
    d.parameterSets = { vps: hevc.vps, sps: hevc.sps, pps: hevc.pps };
  } else if (d.fourcc === 'jpeg') {
    d.codec = 'mjpeg'; // QuickTime's Photo-JPEG entry: no configuration box
  } else if (d.fourcc === 'mp4v') {
    const box = findBox(children, 'esds');
    if (!box) return; // MPEG-4 Visual without its descriptor: unknown
    const c = Cursor.ofBox(buf, box);
    c.fullBox();
    const esds = parseEsds(c);
    d.esds = {
      objectTypeIndication: esds.objectTypeIndication,
      decoderSpecificInfo: esds.decoderSpecificInfo,
    };
    if (esds.objectTypeIndication === OTI_JPEG) d.codec = 'mjpeg';
  }
}

/** objectTypeIndication of JPEG (ISO/IEC 10918-1) in an `mp4v` esds (MP4RA object types). */
const OTI_JPEG = 0x6c;

function parseAudioConfig(buf: Buffer, d: Mutable<SampleDescription>, children: BoxHeader[]): void {
  if (d.fourcc === 'mp4a') {
    // QuickTime files nest esds in a 'wave' box (QTFF "Sound Sample Description Extensions").
    let esdsBox = findBox(children, 'esds');
    const wave = findBox(children, 'wave');
    if (!esdsBox && wave) esdsBox = findBox(childBoxes(buf, wave.payload, wave.end), 'esds');
    if (!esdsBox) throw new ParseError('MP4_BAD_CODEC_CONFIG', "'mp4a' without 'esds'");
    const c = Cursor.ofBox(buf, esdsBox);
    c.fullBox();
    const esds = parseEsds(c);
    const oti = esds.objectTypeIndication;
    d.esds = { objectTypeIndication: oti, decoderSpecificInfo: Buffer.from(esds.decoderSpecificInfo) };
    d.codecConfig = d.esds.decoderSpecificInfo;
    if (oti === 0x40 || oti === 0x66 || oti === 0x67 || oti === 0x68) {
      d.codec = 'aac';
      if (d.codecConfig.length === 0)
        throw new ParseError('MP4_BAD_CODEC_CONFIG', 'AAC without AudioSpecificConfig');
      d.aac = parseAudioSpecificConfig(d.codecConfig);
      if (!d.sampleRate) d.sampleRate = d.aac.sampleRate;
    } else if (oti === 0x69 || oti === 0x6b) {
      d.codec = 'mp3';
    }
  } else if (d.fourcc === 'alaw' || d.fourcc === 'ulaw') {
    d.codec = d.fourcc === 'alaw' ? 'pcma' : 'pcmu'; // G.711, 8-bit codes (no configuration box)
  } else if (d.fourcc === 'Opus') {
    const box = findBox(children, 'dOps');
    if (!box) throw new ParseError('MP4_BAD_CODEC_CONFIG', "'Opus' without 'dOps'");
    d.codec = 'opus';
    d.codecConfig = copyPayload(buf, box);
    d.opus = parseDOps(new Cursor(d.codecConfig, 0, d.codecConfig.length, 'dOps'));
    if (!d.channels) d.channels = d.opus.outputChannelCount;
  }
}
