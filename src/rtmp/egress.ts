/**
 * Any path played over RTMP: a reader of the path's Stream (media/stream-reader.ts `packetReader`, as
 * the HLS muxer and the recorder read) that depacketizes RTP into access units and sends them as FLV
 * tags: H.264 and AAC in the classic FLV form every player reads, H.265 and Opus in enhanced RTMP
 * (`hvc1`, `Opus`). Other tracks (G.711, JPEG) are left out.
 *
 * Sequence headers (avcC/hvcC, AudioSpecificConfig, OpusHead) are built from the SDP's fmtp, or for
 * video without sprop parameter sets from the first keyframe's in-band SPS/PPS, and sent before the
 * first frame; nothing is sent before the first video keyframe (the Stream starts readers at its
 * cached keyframe).
 *
 * Timestamps. The tracks are put on one timeline (sinks/tracks.ts `AlignedTracks`) and converted to
 * ms. Each track's first unit is placed by its instant on the Stream's clock (`instantOfRtp`: the
 * publisher's sender reports, or arrival until they come), never by when it reached this reader: a
 * reader starts with a burst from the GOP cache in which the audio before the keyframe arrives with it,
 * and placing by arrival put the audio of ffmpeg's interleaving 67 ms late (measured; the A/V test in
 * test/rtmp-av-sync.test.ts). Audio from before the first picture is left out. RTP carries no decode time, and RTMP needs one that never goes back with a non-negative
 * composition offset: dts = max(previous dts + 1, pts - reorder delay), where the delay is 0 for
 * H.264 Baseline (no B-frames) and REORDER_DELAY_MS otherwise. Players present at dts + offset = pts,
 * so pictures keep their times; the delay only has to exceed how far pictures are reordered.
 *
 * Backpressure: the reader reports its socket's queued bytes, so the Stream sheds (drops whole
 * access units) for a slow RTMP reader as it does for an RTSP one.
 */
import { isParseError } from '../base/errors.js';
import { parseAudioSpecificConfig } from '../codec/aac.js';
import { H264NalType, buildAvcDecoderConfigurationRecord, h264NalType } from '../codec/h264.js';
import { H265NalType, buildHevcDecoderConfigurationRecord, h265NalType } from '../codec/h265.js';
import { joinLengthPrefixed } from '../codec/nal.js';
import { ChunkStreamId, MessageType } from '../flv/messages.js';
import type { RtmpMessage } from '../flv/messages.js';
import { opusHead, serializeAudioTag, serializeVideoTag } from '../flv/tags.js';
import type { AccessUnit, Depacketizer } from '../format/access-unit.js';
import { parseAacFmtp } from '../format/aac.js';
import { parseH264Fmtp } from '../format/h264.js';
import { parseH265Fmtp } from '../format/h265.js';
import { createDepacketizer } from '../format/registry.js';
import type { PublishedMedia } from '../media/published-media.js';
import { packetReader, type StreamReader } from '../media/stream-reader.js';
import { parseRtpPacket } from '../rtp/packet.js';
import { AlignedTracks } from '../sinks/tracks.js';

/** Longer than any reordering an encoder does at usual frame rates (x264 b-pyramid: ~4 frames). */
const REORDER_DELAY_MS = 200;
const H264_PROFILE_BASELINE = 66;

type Codec = 'h264' | 'h265' | 'aac' | 'opus';

interface EgressTrack {
  streamTrack: number;
  codec: Codec;
  clockRate: number;
  depacketizer: Depacketizer;
  /** The sequence header once known (fmtp or the first keyframe). */
  config: Buffer | undefined;
  configSent: boolean;
  reorderDelayMs: number;
  lastDtsMs: number | undefined;
}

export interface EgressSink {
  /** Bytes queued on the socket, not yet sent. */
  backlogBytes(): number;
  send(msg: RtmpMessage): void;
  ended(reason: string): void;
}

const CODEC_OF: Readonly<Record<string, Codec>> = {
  H264: 'h264',
  H265: 'h265',
  'MPEG4-GENERIC': 'aac',
  OPUS: 'opus',
};

/** The tracks of `media` RTMP can carry: the first video and the first audio track. */
function chooseTracks(media: PublishedMedia): EgressTrack[] {
  const out: EgressTrack[] = [];
  let video = false;
  let audio = false;
  media.tracks.forEach((t, streamTrack) => {
    const codec = CODEC_OF[t.encodingName.toUpperCase()];
    if (codec === undefined) return;
    const isVideo = codec === 'h264' || codec === 'h265';
    if ((isVideo && video) || (!isVideo && audio)) return;
    let depacketizer: Depacketizer;
    let config: Buffer | undefined;
    let reorderDelayMs = 0;
    try {
      depacketizer = createDepacketizer(t.encodingName, t.clockRate, t.fmtp);
      if (codec === 'h264') {
        const f = parseH264Fmtp(t.fmtp);
        if (f.sps.length > 0) config = buildAvcDecoderConfigurationRecord(f.sps, f.pps);
        reorderDelayMs = f.sps[0]?.[1] === H264_PROFILE_BASELINE ? 0 : REORDER_DELAY_MS;
      } else if (codec === 'h265') {
        const f = parseH265Fmtp(t.fmtp);
        if (f.sps.length > 0) config = buildHevcDecoderConfigurationRecord(f.vps, f.sps, f.pps);
        reorderDelayMs = REORDER_DELAY_MS;
      } else if (codec === 'aac') {
        config = parseAacFmtp(t.fmtp).config;
        if (config === undefined) return;
        parseAudioSpecificConfig(config);
      } else {
        // RFC 7587 §6.1: sprop-stereo absent means mono.
        config = opusHead(t.fmtp['sprop-stereo'] === '1' ? 2 : 1);
      }
    } catch (err) {
      if (!isParseError(err)) throw err;
      return;
    }
    if (isVideo) video = true;
    else audio = true;
    out.push({
      streamTrack,
      codec,
      clockRate: t.clockRate,
      depacketizer,
      config,
      configSent: false,
      reorderDelayMs,
      lastDtsMs: undefined,
    });
  });
  return out;
}

/** Whether RTMP can carry at least one track of `media`. */
export function rtmpPlayable(media: PublishedMedia): boolean {
  return chooseTracks(media).length > 0;
}

export class RtmpEgress {
  readonly reader: StreamReader;
  /** Access units sent. */
  accessUnits = 0;
  private readonly tracks: EgressTrack[];
  private readonly byStreamTrack = new Map<number, EgressTrack>();
  private readonly aligned: AlignedTracks;
  private readonly hasVideo: boolean;
  /** Every timestamp is moved by the largest reorder delay, so that no decode time is negative. */
  private readonly shiftMs: number;
  private videoStarted = false;
  private faulted = false;

  constructor(
    media: PublishedMedia,
    private readonly messageStreamId: number,
    private readonly sink: EgressSink,
    private readonly nowMs: () => number,
    /** The Stream's clock instant of an RTP timestamp of a track (Stream.monotonicMsOfRtp). */
    private readonly instantOfRtp: (streamTrack: number, rtpTimestamp: number) => number | undefined,
    /** An unexpected exception here: it never goes up into the Stream's flush (its other readers). */
    private readonly onFault: (err: unknown) => void,
  ) {
    this.tracks = chooseTracks(media);
    for (const t of this.tracks) this.byStreamTrack.set(t.streamTrack, t);
    this.aligned = new AlignedTracks(this.tracks.map((t) => t.streamTrack));
    this.hasVideo = this.tracks.some((t) => t.codec === 'h264' || t.codec === 'h265');
    this.shiftMs = Math.max(0, ...this.tracks.map((t) => t.reorderDelayMs));
    this.reader = packetReader({
      tracks: this.tracks.map((t) => t.streamTrack),
      backlogBytes: () => sink.backlogBytes(),
      rtp: (track, packet) => {
        if (this.faulted) return;
        try {
          this.onRtp(track, packet);
        } catch (err) {
          this.faulted = true;
          this.onFault(err);
        }
      },
      ended: (reason) => sink.ended(reason),
    });
  }

  private onRtp(streamTrack: number, packet: Buffer): void {
    const track = this.byStreamTrack.get(streamTrack);
    if (track === undefined) return;
    let rtp;
    try {
      rtp = parseRtpPacket(packet);
    } catch (err) {
      if (isParseError(err)) return;
      throw err;
    }
    for (const au of track.depacketizer.push(rtp)) this.onAccessUnit(track, au);
  }

  private onAccessUnit(track: EgressTrack, au: AccessUnit): void {
    const isVideo = track.codec === 'h264' || track.codec === 'h265';
    if (isVideo && !this.videoStarted) {
      if (!au.keyframe) return;
      track.config ??= configFromKeyframe(track.codec as 'h264' | 'h265', au.nalus ?? []);
      if (track.config === undefined) return;
      this.videoStarted = true;
    }
    // Audio waits for the first picture, so that both start together.
    if (!isVideo && this.hasVideo && !this.videoStarted) return;
    const index = this.tracks.indexOf(track);
    const instantMs = this.instantOfRtp(track.streamTrack, au.pts % 2 ** 32) ?? this.nowMs();
    // Placed as the HLS muxer and the recorder place theirs: audio the publisher captured before the
    // first picture (it came with the GOP cache's burst) is left out.
    const mapped = this.aligned.place(index, au, instantMs);
    if (mapped === undefined) return;
    const ptsMs = Math.round((mapped.pts * 1000) / track.clockRate) + this.shiftMs;
    if (!track.configSent) {
      track.configSent = true;
      this.emit(track, Math.max(0, ptsMs - track.reorderDelayMs), this.configBody(track));
    }
    let body: Buffer[];
    let timestamp: number;
    if (isVideo) {
      const dts = Math.max((track.lastDtsMs ?? -Infinity) + 1, ptsMs - track.reorderDelayMs);
      track.lastDtsMs = dts;
      timestamp = dts;
      body = serializeVideoTag({
        kind: 'frame',
        codec: track.codec as 'h264' | 'h265',
        keyframe: au.keyframe,
        compositionTimeMs: ptsMs - dts,
        data: joinLengthPrefixed(au.nalus ?? [], 4),
      });
    } else {
      timestamp = ptsMs;
      body = serializeAudioTag({
        kind: 'frame',
        codec: track.codec as 'aac' | 'opus',
        data: au.payload ?? Buffer.alloc(0),
      });
    }
    this.accessUnits++;
    this.emit(track, timestamp, body);
  }

  private configBody(track: EgressTrack): Buffer[] {
    const config = track.config!;
    switch (track.codec) {
      case 'h264':
      case 'h265':
        return serializeVideoTag({ kind: 'config', codec: track.codec, config });
      case 'aac':
      case 'opus':
        return serializeAudioTag({ kind: 'config', codec: track.codec, config });
    }
  }

  private emit(track: EgressTrack, timestampMs: number, body: Buffer[]): void {
    const video = track.codec === 'h264' || track.codec === 'h265';
    this.sink.send({
      chunkStreamId: video ? ChunkStreamId.Video : ChunkStreamId.Audio,
      timestamp: Math.max(0, timestampMs) >>> 0,
      typeId: video ? MessageType.Video : MessageType.Audio,
      messageStreamId: this.messageStreamId,
      payload: body.length === 1 ? body[0]! : Buffer.concat(body),
    });
  }
}

/** avcC / hvcC from the parameter sets inside a keyframe, for streams whose SDP had none. */
function configFromKeyframe(codec: 'h264' | 'h265', nalus: readonly Buffer[]): Buffer | undefined {
  try {
    if (codec === 'h264') {
      const sps = nalus.filter((n) => h264NalType(n) === H264NalType.Sps);
      const pps = nalus.filter((n) => h264NalType(n) === H264NalType.Pps);
      return sps.length > 0 ? buildAvcDecoderConfigurationRecord(sps, pps) : undefined;
    }
    const of = (t: number): Buffer[] => nalus.filter((n) => h265NalType(n) === t);
    const sps = of(H265NalType.Sps);
    return sps.length > 0
      ? buildHevcDecoderConfigurationRecord(of(H265NalType.Vps), sps, of(H265NalType.Pps))
      : undefined;
  } catch (err) {
    if (!isParseError(err)) throw err;
    return undefined;
  }
}
