/**
 * What an RTMP publisher sends becomes an ordinary path: FLV tags (flv/tags.ts) are turned into
 * access units, then into RTP by the payload formats' packetizers, and written into the path's Stream
 * as any publisher's packets are, so RTSP readers, HLS and the recorder take it as they take RTSP.
 *
 * Tracks. The media are known once every track `onMetaData` announces (videocodecid, audiocodecid)
 * has its sequence header (avcC, hvcC, AudioSpecificConfig, OpusHead); without metadata, at the first
 * coded frame. A track whose header never came is left out. Video is track 0 when present.
 *
 * Timestamps. RTMP gives each message a millisecond decode time and each video frame a composition
 * offset: video pts = (dts + offset) x 90 exactly, so B-frames keep their order and times. AAC is
 * re-timed from sample counts (1024 per frame) from its first frame on, and re-anchored only when the
 * count and the message times part by more than one frame (a gap in the publisher's audio): ms
 * rounding never reaches the RTP clock. All tracks count from the stream's first message time, and the
 * Stream is told that instant's place on the clock (as an RTCP sender report would), so readers get
 * the publisher's A/V alignment.
 */
import { randomInt } from 'node:crypto';
import type { Clock } from '../base/clock.js';
import { isParseError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { parseAudioSpecificConfig } from '../codec/aac.js';
import {
  H264NalType,
  h264NalType,
  isH264Keyframe,
  isH264Vcl,
  parseAvcDecoderConfigurationRecord,
} from '../codec/h264.js';
import {
  H265NalType,
  h265NalType,
  hvccNalus,
  isH265Keyframe,
  isH265Vcl,
  parseHevcDecoderConfigurationRecord,
} from '../codec/h265.js';
import { splitLengthPrefixed } from '../codec/nal.js';
import { asAmf0Object, type Amf0Value } from '../flv/amf0.js';
import { parseAudioTag, parseOpusHead, parseVideoTag, type AudioTag, type VideoTag } from '../flv/tags.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, type AccessUnit, type Packetizer } from '../format/access-unit.js';
import { AacPacketizer, aacFmtp } from '../format/aac.js';
import { H264Packetizer, h264Fmtp } from '../format/h264.js';
import { H265Packetizer, h265Fmtp } from '../format/h265.js';
import { OPUS_RTPMAP, OpusPacketizer, opusFmtp } from '../format/opus.js';
import type { PublishedMedia, PublishedTrack } from '../media/published-media.js';
import type { Stream } from '../media/stream.js';
import { addMediaFormat } from '../sdp/formats.js';
import { addAttribute } from '../sdp/attributes.js';
import { createMediaDescription, createSessionDescription } from '../sdp/build.js';
import { serializeSdp } from '../sdp/serialize.js';
import { mod32, rtpPackets, withParameterSets } from '../sources/mp4-rtp.js';

const FIRST_DYNAMIC_PT = 96;
const AAC_FRAME_SAMPLES = 1024;
/** FLV codec ids in onMetaData (E.5): 7 AVC, 12 HEVC, 10 AAC; enhanced RTMP puts FourCCs as numbers. */
const FOURCC_HVC1 = 0x68766331;
const FOURCC_OPUS = 0x4f707573;

interface VideoConfig {
  codec: 'h264' | 'h265';
  lengthSize: 1 | 2 | 4;
  parameterSets: Buffer[];
}

interface AudioConfig {
  codec: 'aac' | 'opus';
  clockRate: number;
  channels: number;
  config: Buffer;
}

/** One track once the media are known: its RTP sender state. */
interface IngestTrack {
  readonly index: number;
  readonly published: PublishedTrack;
  packetizer: Packetizer;
  readonly ssrc: number;
  readonly timestampBase: number;
  seq: number;
}

export interface IngestCounters {
  accessUnits: number;
  /** Frames dropped: malformed, before their sequence header, or of a track left out. */
  droppedFrames: number;
}

export interface RtmpIngestOptions {
  clock: Clock;
  logger: Logger;
  maxPayloadBytes?: number;
  /** The media are known: returns the Stream to write into, or undefined to stop (path taken). */
  onReady(media: PublishedMedia): Stream | undefined;
}

/** Unwraps 32-bit millisecond timestamps (RTMP's wrap after 49.7 days) into a signed count. */
class MsUnwrapper {
  private last: number | undefined;
  private value = 0;
  unwrap(ts: number): number {
    if (this.last === undefined) this.value = ts;
    else this.value += ((ts - this.last) << 0) | 0;
    this.last = ts;
    return this.value;
  }
}

export class RtmpIngest {
  readonly counters: IngestCounters = { accessUnits: 0, droppedFrames: 0 };
  private announced: { video: boolean; audio: boolean } | undefined;
  private videoConfig: VideoConfig | undefined;
  private audioConfig: AudioConfig | undefined;
  private stream: Stream | undefined;
  private failed = false;
  private video: IngestTrack | undefined;
  private audio: IngestTrack | undefined;
  private readonly ms = new MsUnwrapper();
  private originMs: number | undefined;
  /** AAC: the next frame's pts in samples, from counting. */
  private audioNextTicks: number | undefined;
  private readonly maxPayloadBytes: number;

  constructor(private readonly options: RtmpIngestOptions) {
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  /** Whether the media are known and flowing. */
  get started(): boolean {
    return this.stream !== undefined;
  }

  /** `onMetaData` (its first argument, an object or ECMA array): which tracks to wait for. */
  metadata(values: readonly Amf0Value[]): void {
    const meta = asAmf0Object(values[0]);
    if (meta === undefined || this.started) return;
    const present = (v: Amf0Value): boolean => (typeof v === 'number' && v !== 0) || typeof v === 'string';
    this.announced = { video: present(meta.videocodecid), audio: present(meta.audiocodecid) };
    const vid = meta.videocodecid;
    const aid = meta.audiocodecid;
    // Codecs we cannot carry are not waited for.
    if (typeof vid === 'number' && vid !== 7 && vid !== 12 && vid !== FOURCC_HVC1)
      this.announced.video = false;
    if (typeof aid === 'number' && aid !== 10 && aid !== FOURCC_OPUS) this.announced.audio = false;
  }

  /** A video message (FLV video tag body) at `timestamp` ms. */
  pushVideo(timestamp: number, body: Buffer): void {
    let tag: VideoTag;
    try {
      tag = parseVideoTag(body);
    } catch (err) {
      if (!isParseError(err)) throw err;
      this.counters.droppedFrames++;
      return;
    }
    if (tag.kind === 'config') {
      this.videoConfig = this.readVideoConfig(tag.codec, tag.config) ?? this.videoConfig;
      if (this.video !== undefined && this.videoConfig !== undefined)
        this.video.packetizer = this.videoPacketizer();
      this.readyIfComplete(false);
      return;
    }
    if (tag.kind !== 'frame') return;
    this.readyIfComplete(true);
    const track = this.video;
    const cfg = this.videoConfig;
    if (track === undefined || cfg === undefined || cfg.codec !== tag.codec) {
      this.counters.droppedFrames++;
      return;
    }
    let nalus: Buffer[];
    try {
      nalus = splitLengthPrefixed(tag.data, cfg.lengthSize);
    } catch (err) {
      if (!isParseError(err)) throw err;
      this.counters.droppedFrames++;
      return;
    }
    const h264 = cfg.codec === 'h264';
    const keyframe = h264 ? isH264Keyframe(nalus) : isH265Keyframe(nalus);
    if (keyframe)
      nalus = h264
        ? withParameterSets(nalus, cfg.parameterSets, h264NalType, H264NalType.Aud, isH264Vcl)
        : withParameterSets(nalus, cfg.parameterSets, h265NalType, H265NalType.Aud, isH265Vcl);
    const ptsMs = this.relativeMs(timestamp) + tag.compositionTimeMs;
    this.send(track, { pts: ptsMs * 90, clockRate: 90000, keyframe, nalus });
  }

  /** An audio message (FLV audio tag body) at `timestamp` ms. */
  pushAudio(timestamp: number, body: Buffer): void {
    let tag: AudioTag;
    try {
      tag = parseAudioTag(body);
    } catch (err) {
      if (!isParseError(err)) throw err;
      this.counters.droppedFrames++;
      return;
    }
    if (tag.kind === 'config') {
      this.audioConfig = this.readAudioConfig(tag.codec, tag.config) ?? this.audioConfig;
      this.readyIfComplete(false);
      return;
    }
    if (tag.kind !== 'frame') return;
    this.readyIfComplete(true);
    const track = this.audio;
    const cfg = this.audioConfig;
    if (track === undefined || cfg === undefined || cfg.codec !== tag.codec || tag.data.length === 0) {
      this.counters.droppedFrames++;
      return;
    }
    const fromMs = Math.round((this.relativeMs(timestamp) * cfg.clockRate) / 1000);
    let pts = fromMs;
    if (cfg.codec === 'aac') {
      const counted = this.audioNextTicks;
      // Counting, unless the message times moved away by more than a frame (a gap, a jump).
      if (counted !== undefined && Math.abs(counted - fromMs) <= AAC_FRAME_SAMPLES) pts = counted;
      this.audioNextTicks = pts + AAC_FRAME_SAMPLES;
    }
    this.send(track, { pts, clockRate: cfg.clockRate, keyframe: true, payload: tag.data });
  }

  private relativeMs(timestamp: number): number {
    const ms = this.ms.unwrap(timestamp);
    this.originMs ??= ms;
    return ms - this.originMs;
  }

  private readVideoConfig(codec: 'h264' | 'h265', config: Buffer): VideoConfig | undefined {
    try {
      if (codec === 'h264') {
        const rec = parseAvcDecoderConfigurationRecord(config);
        if (rec.sps.length === 0) return undefined;
        return { codec, lengthSize: rec.lengthSize, parameterSets: [...rec.sps, ...rec.pps] };
      }
      const rec = parseHevcDecoderConfigurationRecord(config);
      const sets = [H265NalType.Vps, H265NalType.Sps, H265NalType.Pps].flatMap((t) => hvccNalus(rec, t));
      if (hvccNalus(rec, H265NalType.Sps).length === 0) return undefined;
      return { codec, lengthSize: rec.lengthSize, parameterSets: sets };
    } catch (err) {
      if (!isParseError(err)) throw err;
      this.options.logger.warn({ codec, err: err.message }, 'rtmp: bad video sequence header');
      return undefined;
    }
  }

  private readAudioConfig(codec: 'aac' | 'opus', config: Buffer): AudioConfig | undefined {
    try {
      if (codec === 'aac') {
        const asc = parseAudioSpecificConfig(config);
        return { codec, clockRate: asc.sampleRate, channels: asc.channels, config: Buffer.from(config) };
      }
      return {
        codec,
        clockRate: 48000,
        channels: parseOpusHead(config).channels,
        config: Buffer.from(config),
      };
    } catch (err) {
      if (!isParseError(err)) throw err;
      this.options.logger.warn({ codec, err: err.message }, 'rtmp: bad audio sequence header');
      return undefined;
    }
  }

  private videoPacketizer(): Packetizer {
    const cfg = this.videoConfig!;
    const options = { maxPayloadBytes: this.maxPayloadBytes, parameterSets: cfg.parameterSets };
    return cfg.codec === 'h264' ? new H264Packetizer(options) : new H265Packetizer(options);
  }

  /**
   * Starts the stream when every announced track has its header, or (`frame`) when a coded frame
   * comes first: then with the tracks that have one.
   */
  private readyIfComplete(frame: boolean): void {
    if (this.started || this.failed) return;
    const want = this.announced;
    const complete =
      want !== undefined &&
      (!want.video || this.videoConfig !== undefined) &&
      (!want.audio || this.audioConfig !== undefined) &&
      (want.video || want.audio);
    if (!complete && !frame) return;
    if (this.videoConfig === undefined && this.audioConfig === undefined) return;
    const tracks: IngestTrack[] = [];
    const sd = createSessionDescription({
      sessionId: String(randomInt(1, 2 ** 31)),
      sessionVersion: '1',
      sessionName: 'rtmp',
      range: 'npt=now-',
    });
    const add = (
      published: PublishedTrack,
      packetizer: Packetizer,
      type: 'video' | 'audio',
      channels?: number,
    ): IngestTrack => {
      const md = createMediaDescription({ type });
      addMediaFormat(md, channels !== undefined ? { ...published, channels } : published);
      addAttribute(md, 'control', `trackID=${tracks.length}`);
      sd.media.push(md);
      const t: IngestTrack = {
        index: tracks.length,
        published,
        packetizer,
        ssrc: randomInt(0, 2 ** 32 - 1),
        timestampBase: randomInt(0, 2 ** 32 - 1),
        seq: randomInt(0, 0x10000),
      };
      tracks.push(t);
      return t;
    };
    const v = this.videoConfig;
    if (v !== undefined) {
      const sps = v.parameterSets.filter((p) =>
        v.codec === 'h264' ? h264NalType(p) === H264NalType.Sps : h265NalType(p) === H265NalType.Sps,
      );
      const pps = v.parameterSets.filter((p) =>
        v.codec === 'h264' ? h264NalType(p) === H264NalType.Pps : h265NalType(p) === H265NalType.Pps,
      );
      const vps = v.parameterSets.filter((p) => v.codec === 'h265' && h265NalType(p) === H265NalType.Vps);
      const fmtp = v.codec === 'h264' ? h264Fmtp(sps[0], pps) : h265Fmtp(vps[0], sps[0], pps[0]);
      const encodingName = v.codec === 'h264' ? 'H264' : 'H265';
      this.video = add(
        { payloadType: FIRST_DYNAMIC_PT, encodingName, clockRate: 90000, fmtp },
        this.videoPacketizer(),
        'video',
      );
    }
    const a = this.audioConfig;
    if (a !== undefined) {
      const payloadType = FIRST_DYNAMIC_PT + tracks.length;
      this.audio =
        a.codec === 'aac'
          ? add(
              { payloadType, encodingName: 'MPEG4-GENERIC', clockRate: a.clockRate, fmtp: aacFmtp(a.config) },
              new AacPacketizer({ clockRate: a.clockRate, maxPayloadBytes: this.maxPayloadBytes }),
              'audio',
              a.channels || 1,
            )
          : add(
              {
                payloadType,
                encodingName: OPUS_RTPMAP.encodingName,
                clockRate: 48000,
                fmtp: opusFmtp(a.channels),
              },
              new OpusPacketizer(),
              'audio',
              2,
            );
    }
    const text = serializeSdp(sd);
    const media: PublishedMedia = {
      describeSdp: () => text,
      tracks: tracks.map((t) => t.published),
      controls: tracks.map((_, i) => `trackID=${i}`),
    };
    const stream = this.options.onReady(media);
    if (stream === undefined) {
      this.failed = true;
      return;
    }
    this.stream = stream;
    // The stream's time 0 (its first message) is now on the clock, for every track alike.
    const nowMs = this.options.clock.monotonicMs();
    for (const t of tracks) stream.ingestSenderReport(t.index, mod32(t.timestampBase), nowMs);
  }

  private send(track: IngestTrack, au: AccessUnit): void {
    const stream = this.stream;
    if (stream === undefined || stream.ended) return;
    const packets = rtpPackets(
      track.packetizer,
      au,
      track.published.payloadType,
      track.seq,
      track.timestampBase,
      track.ssrc,
    );
    track.seq = (track.seq + packets.length) & 0xffff;
    this.counters.accessUnits++;
    for (const p of packets) stream.ingestRtp(track.index, p);
  }
}
