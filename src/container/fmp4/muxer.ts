/**
 * Fragmented MP4 writer (ISO/IEC 14496-12 §8.8), sans-I/O: access units in, bytes to append out.
 *
 *   const mux = new Fmp4Muxer([{ codec: 'h264', timescale: 90000, parameterSets: [sps, pps] },
 *                              { codec: 'aac', timescale: 48000, audioSpecificConfig: asc }]);
 *   for (const au of units) { const b = mux.push(i, au); if (b) out.write(b); }
 *   const last = mux.flush(); if (last) out.write(last);
 *
 * The first bytes returned are the init segment (ftyp + moov), then one `moof`+`mdat` per fragment. A
 * file cut between two returned buffers is a valid fMP4 holding every fragment written so far, so a
 * recorder that writes each buffer whole loses at most the fragment being built.
 *
 * Fragments. A fragment is cut when a keyframe arrives on the first video track (so fragments start at
 * random access points) or when the pending samples of that track (of track 0 without video) span
 * `maxFragmentSeconds` (1 s by default), or hold `maxFragmentBytes` (8 MiB) whatever their span. Each
 * fragment holds every complete sample of every track.
 *
 * Timing. The timescale of each track is its RTP clock rate; access units carry pts in ticks of their
 * clockRate on a timeline shared by all tracks (the caller aligns the tracks; values must be >= 0). A
 * sample's duration is the decode-time difference to the next sample of its track, so the last
 * sample of each track is held back until the next one (or `flush`, which reuses the previous duration).
 * Decode time is `dts ?? pts`, forced to increase by at least one tick (RTP gives no dts: a stream with
 * B-frames and no dts gets tiny durations and negative composition offsets, valid but not pretty).
 * tfdt carries each fragment's first decode time, so fragments continue each other exactly.
 *
 * Reordering without negative offsets: with `presentationDelaySeconds` (D), every presentation time
 * (and an audio track's decode time) is moved D later while a video unit without dts gets a decode
 * time between its pts and D later, paced by the picture duration (decode-times.ts), so B-frames get
 * composition offsets >= 0 while the reordering stays under D. Negative offsets are valid (trun version 1) but players read them
 * differently: ffmpeg's mov demuxer (5.1) adds the largest negative offset it has seen to every pts of
 * the track and so shows video that much late against audio (80 ms with two B-frames at 25 fps), while
 * players using pts as written do not. A uniform shift of all tracks keeps them in sync for all. Whatever
 * the input times (jumps back or forward, wraparounds, hostile values), every field stays in range: a
 * jump is a discontinuity that the track's timeline absorbs (see sample-timeline.ts for the trade-off).
 *
 * Codecs. H.264 `avc1`/`avcC`, H.265 `hvc1`/`hvcC`: samples are 4-byte length-prefixed NAL units
 * (access units come as NAL units, or as an Annex-B `payload`, which is split). Access unit delimiters
 * are dropped (not allowed in MP4 samples, ISO/IEC 14496-15 §5.3.2), as are in-band parameter sets
 * identical to those of the sample entry (`hvc1` requires them out of band); changed ones are kept so a
 * decoder still follows them. The parameter sets of the sample entry are the in-band ones of the first
 * keyframe, else the configured ones (the SDP's). Video before a track's first keyframe is dropped,
 * and so is every track's media before the first keyframe of the first video track (the file starts
 * with a picture, all tracks together). AAC `mp4a`/`esds` with the AudioSpecificConfig; Opus
 * `Opus`/`dOps` (pre-skip 0: RTP does not carry it). Motion JPEG `mp4v`/`esds` (objectTypeIndication
 * 0x6C), one JPEG per sample, every one a sync sample, its size in the sample entry from the first JPEG;
 * it cuts fragments by time only (a fragment per picture would be mostly `moof`). G.711 `alaw`/`ulaw`,
 * one RTP packet's codes per sample.
 */
import { ParseError } from '../../base/errors.js';
import { parseAudioSpecificConfig } from '../../codec/aac.js';
import {
  buildAvcDecoderConfigurationRecord,
  H264NalType,
  H264_PARAMETER_SET_TYPES,
  h264NalType,
  parseH264Sps,
} from '../../codec/h264.js';
import {
  buildHevcDecoderConfigurationRecord,
  H265NalType,
  H265_PARAMETER_SET_TYPES,
  h265NalType,
  parseH265Sps,
} from '../../codec/h265.js';
import { parseJpeg } from '../../codec/jpeg.js';
import { joinLengthPrefixed, splitAnnexB } from '../../codec/nal.js';
import type { AccessUnit } from '../../format/access-unit.js';
import {
  avc1Entry,
  fragment,
  g711Entry,
  hvc1Entry,
  initSegment,
  mjpegEntry,
  mp4aEntry,
  opusEntry,
  type FragmentSample,
  type InitTrack,
} from './boxes.js';
import { VideoDecodeTimes } from './decode-times.js';
import { SampleTimeline } from './sample-timeline.js';

/** Longest wait for the parameter sets of every video track before giving up (FMP4_NO_PARAMETER_SETS). */
const MAX_INIT_WAIT_SECONDS = 10;
/** Default longest step between two decode times before it counts as a discontinuity. */
const DEFAULT_MAX_GAP_SECONDS = 10;
/**
 * Longest |pts − dts| and step back kept as such: reordering spans a handful of pictures (H.264
 * max_num_reorder_frames is at most 16, 1.6 s at 10 fps); a larger step back is a clock jump.
 */
const MAX_COMPOSITION_OFFSET_SECONDS = 2;
/**
 * Default bound on the samples a fragment holds, in bytes: a fragment is cut there even before its
 * time is up, so a stream whose timestamps barely advance (each unit one tick after the last: the
 * fragment's span grows by nothing) cannot pile up memory.
 */
const DEFAULT_MAX_FRAGMENT_BYTES = 8 * 1024 * 1024;
/** mfhd's sequence_number is unsigned 32 bits (§8.8.5): it wraps to 1 after this. */
const MAX_SEQUENCE_NUMBER = 0xffffffff;

/**
 * The presentation delay that leaves room for B-frames (x264's b-pyramid reorders ~4 pictures, 160 ms at
 * 25 fps; the RTMP egress allows the same), for tracks that may reorder: H.264 and H.265; else 0.
 */
export function reorderDelaySecondsFor(tracks: readonly Fmp4Track[]): number {
  return tracks.some((t) => t.codec === 'h264' || t.codec === 'h265') ? 0.2 : 0;
}

/** Every codec the muxer writes. */
export const FMP4_CODECS = ['h264', 'h265', 'aac', 'opus', 'mjpeg', 'pcma', 'pcmu'] as const;
export type Fmp4Codec = (typeof FMP4_CODECS)[number];

export interface Fmp4Track {
  codec: Fmp4Codec;
  /** Ticks per second of the track: its RTP clock rate (90000 for video, the sample rate for AAC/Opus). */
  timescale: number;
  /** H.264: SPS and PPS; H.265: VPS, SPS and PPS (e.g. from the SDP). In-band ones of the first keyframe win. */
  parameterSets?: readonly Uint8Array[];
  /** AAC: the AudioSpecificConfig (the SDP's `config`). Required for AAC. */
  audioSpecificConfig?: Uint8Array;
  /** Opus: 1 or 2 (default 2); G.711: the channel count (default 1). */
  channels?: number;
}

export interface Fmp4MuxerOptions {
  /** Longest fragment without a keyframe, in seconds of the first video track (default 1). */
  maxFragmentSeconds?: number;
  /**
   * Longest step forward between two decode times of a track (default 10 s): a longer gap in the input
   * times is a discontinuity, closed up in the file (see sample-timeline.ts).
   */
  maxGapSeconds?: number;
  /** Complete samples (all tracks) past which a fragment is cut whatever its span (default 8 MiB). */
  maxFragmentBytes?: number;
  /**
   * Presentation times of every track are this much later than the input's, and video decode times
   * are the input pts (see Timing above): room for B-frames' reordering without negative composition
   * offsets (default 0).
   */
  presentationDelaySeconds?: number;
}

export interface Fmp4MuxerStats {
  fragments: number;
  /** Samples written in fragments. */
  samples: number;
  /** Access units dropped: video before its first keyframe, any track before the first video keyframe. */
  skippedBeforeKeyframe: number;
  /** Jumps of the input times (back, or forward beyond `maxGapSeconds`) closed up, all tracks. */
  discontinuities: number;
  /** Access units dropped for times that are not safe integers. */
  droppedForTime: number;
}

interface PendingSample {
  dts: number;
  pts: number;
  data: Buffer;
  keyframe: boolean;
}

interface TrackState {
  config: Fmp4Track;
  video: boolean;
  /** Parameter sets by NAL type, in the order of the sample entry (VPS, SPS, PPS). */
  params: Map<number, Buffer[]>;
  paramTypes: readonly number[];
  started: boolean;
  /** The newest sample, waiting for the next one to know its duration. */
  held: PendingSample | undefined;
  /** Complete samples not yet in a fragment. */
  ready: FragmentSample[];
  /** Decode time of ready[0], or of `held` when ready is empty. */
  readyStartDts: number | undefined;
  /** Input times to the file's decode and presentation times. */
  timeline: SampleTimeline;
  lastDuration: number | undefined;
  /** The muxer's presentation delay in ticks of this track. */
  delayTicks: number;
  /** Video: decode times for units without dts, paced by the picture duration (decode-times.ts). */
  decodeTimes: VideoDecodeTimes;
}

/** Bytes equal? */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

export class Fmp4Muxer {
  readonly #tracks: TrackState[];
  /** Index of the track whose keyframes cut fragments (the first video track, else 0). */
  readonly #timing: number;
  readonly #maxFragmentSeconds: number;
  readonly #maxFragmentBytes: number;
  /** Bytes of the complete samples not yet in a fragment. */
  #readyBytes = 0;
  #initWritten = false;
  #sequence = 0;
  readonly stats: Fmp4MuxerStats = {
    fragments: 0,
    samples: 0,
    skippedBeforeKeyframe: 0,
    discontinuities: 0,
    droppedForTime: 0,
  };

  constructor(tracks: readonly Fmp4Track[], options: Fmp4MuxerOptions = {}) {
    if (tracks.length === 0) throw new RangeError('Fmp4Muxer needs at least one track');
    this.#maxFragmentSeconds = options.maxFragmentSeconds ?? 1;
    this.#maxFragmentBytes = options.maxFragmentBytes ?? DEFAULT_MAX_FRAGMENT_BYTES;
    const maxGapSeconds = options.maxGapSeconds ?? DEFAULT_MAX_GAP_SECONDS;
    const delaySeconds = options.presentationDelaySeconds ?? 0;
    if (!(delaySeconds >= 0 && delaySeconds <= MAX_COMPOSITION_OFFSET_SECONDS))
      throw new RangeError(`bad presentation delay ${delaySeconds}`);
    this.#tracks = tracks.map((config) => {
      if (!Number.isInteger(config.timescale) || config.timescale <= 0)
        throw new RangeError(`bad timescale ${config.timescale}`);
      if (config.codec === 'aac' && config.audioSpecificConfig === undefined)
        throw new RangeError('an AAC track needs its AudioSpecificConfig');
      const video = config.codec === 'h264' || config.codec === 'h265';
      const paramTypes =
        config.codec === 'h264'
          ? H264_PARAMETER_SET_TYPES
          : config.codec === 'h265'
            ? H265_PARAMETER_SET_TYPES
            : [];
      const state: TrackState = {
        config,
        video,
        params: new Map(),
        paramTypes,
        started: !video,
        held: undefined,
        ready: [],
        readyStartDts: undefined,
        timeline: new SampleTimeline({
          maxGapTicks: maxGapSeconds * config.timescale,
          maxOffsetTicks: MAX_COMPOSITION_OFFSET_SECONDS * config.timescale,
          defaultDurationTicks: defaultDuration(config),
        }),
        lastDuration: undefined,
        delayTicks: Math.round(delaySeconds * config.timescale),
        decodeTimes: new VideoDecodeTimes(Math.round(delaySeconds * config.timescale)),
      };
      if (video) this.#noteParams(state, config.parameterSets ?? []);
      return state;
    });
    const firstVideo = this.#tracks.findIndex((t) => t.video);
    this.#timing = firstVideo < 0 ? 0 : firstVideo;
  }

  #nalType(t: TrackState, nal: Uint8Array): number {
    return t.config.codec === 'h264' ? h264NalType(nal) : h265NalType(nal);
  }

  /** Replaces the track's parameter sets with those among `nalus`, type by type. */
  #noteParams(t: TrackState, nalus: readonly Uint8Array[]): void {
    for (const type of t.paramTypes) {
      const found = nalus.filter((n) => this.#nalType(t, n) === type).map((n) => Buffer.from(n));
      if (found.length > 0) t.params.set(type, found);
    }
  }

  /** True when every video track has an SPS and a PPS (and a VPS for H.265): the init segment can be built. */
  get canInit(): boolean {
    return this.#tracks.every(
      (t) => !t.video || t.paramTypes.every((p) => (t.params.get(p) ?? []).length > 0),
    );
  }

  /**
   * ftyp + moov. Throws ParseError('FMP4_NO_PARAMETER_SETS') while a video track lacks parameter sets,
   * ParseError from the SPS/AudioSpecificConfig parsers when they are malformed.
   */
  initSegment(): Buffer {
    return initSegment(this.#tracks.map((t, i) => this.#initTrack(t, i + 1)));
  }

  #initTrack(t: TrackState, trackId: number): InitTrack {
    const c = t.config;
    const base = { trackId, timescale: c.timescale };
    const list = (type: number): Buffer[] => {
      const l = t.params.get(type) ?? [];
      if (l.length === 0)
        throw new ParseError(
          'FMP4_NO_PARAMETER_SETS',
          `track ${trackId} (${c.codec}) has no parameter sets yet`,
        );
      return l;
    };
    switch (c.codec) {
      case 'h264': {
        const sps = list(H264NalType.Sps);
        const info = parseH264Sps(sps[0]!);
        const avcC = buildAvcDecoderConfigurationRecord(sps, list(H264NalType.Pps));
        return {
          ...base,
          handler: 'vide',
          width: info.width,
          height: info.height,
          sampleEntry: avc1Entry(info.width, info.height, avcC),
        };
      }
      case 'h265': {
        const sps = list(H265NalType.Sps);
        const info = parseH265Sps(sps[0]!);
        const hvcC = buildHevcDecoderConfigurationRecord(list(H265NalType.Vps), sps, list(H265NalType.Pps));
        return {
          ...base,
          handler: 'vide',
          width: info.width,
          height: info.height,
          sampleEntry: hvc1Entry(info.width, info.height, hvcC),
        };
      }
      case 'aac': {
        const asc = c.audioSpecificConfig!;
        const info = parseAudioSpecificConfig(asc);
        return { ...base, handler: 'soun', sampleEntry: mp4aEntry(info.channels || 2, info.sampleRate, asc) };
      }
      case 'opus':
        return { ...base, handler: 'soun', sampleEntry: opusEntry(c.channels ?? 2) };
      case 'mjpeg': {
        // The size of the first picture: a JPEG says it in its frame header (SOF).
        const first = t.ready[0]?.data ?? t.held?.data;
        const { width, height } = first !== undefined ? parseJpeg(first) : { width: 0, height: 0 };
        return { ...base, handler: 'vide', width, height, sampleEntry: mjpegEntry(width, height) };
      }
      case 'pcma':
      case 'pcmu': {
        const law = c.codec === 'pcma' ? 'alaw' : 'ulaw';
        return { ...base, handler: 'soun', sampleEntry: g711Entry(law, c.channels ?? 1, c.timescale) };
      }
    }
  }

  /**
   * Adds one access unit of track `index`. Returns the bytes to append (the init segment before the
   * first fragment, then a finished fragment), or undefined when nothing is due yet.
   */
  push(index: number, au: AccessUnit): Buffer | undefined {
    const t = this.#tracks[index];
    if (t === undefined) throw new RangeError(`no track ${index}`);
    const timescale = t.config.timescale;
    const toTicks = (v: number): number =>
      au.clockRate === timescale ? v : Math.round((v * timescale) / au.clockRate);
    let data: Buffer;
    if (t.video) {
      const nalus = au.nalus ?? (au.payload === undefined ? [] : splitAnnexB(au.payload));
      if (!t.started) {
        if (!au.keyframe) {
          this.stats.skippedBeforeKeyframe++;
          return undefined;
        }
        // The sample entry takes the parameter sets of the first keyframe, when it has them.
        if (!this.#initWritten) this.#noteParams(t, nalus);
        t.started = true;
      }
      data = joinLengthPrefixed(this.#sampleNalus(t, nalus));
    } else {
      if (au.payload === undefined) return undefined;
      data = au.payload;
    }
    // Nothing before the first keyframe of the timing track: the file starts with a picture.
    if (!this.#tracks[this.#timing]!.started) {
      this.stats.skippedBeforeKeyframe++;
      return undefined;
    }
    const jumpsBefore = t.timeline.discontinuities;
    // Video without dts decodes up to `delayTicks` before it is presented; everything else just moves.
    const ptsTicks = toTicks(au.pts) + t.delayTicks;
    const dtsTicks =
      au.dts !== undefined
        ? toTicks(au.dts) + t.delayTicks
        : t.video
          ? t.decodeTimes.next(toTicks(au.pts), au.keyframe)
          : ptsTicks;
    const placed = t.timeline.place(ptsTicks, dtsTicks);
    this.stats.discontinuities += t.timeline.discontinuities - jumpsBefore;
    if (placed === undefined) {
      this.stats.droppedForTime++;
      return undefined;
    }
    const { pts, dts } = placed;
    const out: Buffer[] = [];
    // A keyframe of the timing track closes the fragment before it is added.
    if (index === this.#timing && t.video && au.keyframe && t.held !== undefined) {
      this.#complete(t, dts);
      const f = this.#cut();
      if (f !== undefined) out.push(f);
    } else if (t.held !== undefined) {
      this.#complete(t, dts);
    }
    t.held = { dts, pts, data, keyframe: au.keyframe };
    const readyStart = (t.readyStartDts ??= dts);
    if (out.length === 0 && index === this.#timing) {
      const span = (dts - readyStart) / timescale;
      if (span >= this.#maxFragmentSeconds) {
        const f = this.#cut();
        if (f !== undefined) out.push(f);
      }
    }
    if (out.length === 0 && this.#readyBytes >= this.#maxFragmentBytes) {
      const f = this.#cut();
      if (f !== undefined) out.push(f);
    }
    return out.length === 0 ? undefined : Buffer.concat(out);
  }

  /** The NAL units a sample keeps: no AUD, no parameter set equal to one of the sample entry. */
  #sampleNalus(t: TrackState, nalus: readonly Buffer[]): Buffer[] {
    const aud = t.config.codec === 'h264' ? H264NalType.Aud : H265NalType.Aud;
    return nalus.filter((n) => {
      const type = this.#nalType(t, n);
      if (type === aud) return false;
      if (!t.paramTypes.includes(type)) return true;
      return !(t.params.get(type) ?? []).some((p) => same(p, n));
    });
  }

  /** Moves the held sample of `t` to its ready list, ending at decode time `nextDts`. */
  #complete(t: TrackState, nextDts: number): void {
    const h = t.held;
    if (h === undefined) return;
    const duration = nextDts - h.dts;
    t.ready.push({
      durationTicks: duration,
      data: h.data,
      keyframe: h.keyframe,
      compositionOffset: h.pts - h.dts,
    });
    t.lastDuration = duration;
    t.held = undefined;
    this.#readyBytes += h.data.length;
  }

  /** A fragment of every ready sample, preceded by the init segment the first time. */
  #cut(): Buffer | undefined {
    if (this.#tracks.every((t) => t.ready.length === 0)) return undefined;
    const parts: Buffer[] = [];
    if (!this.#initWritten) {
      if (!this.canInit) {
        // Another video track may still bring its parameter sets in band; wait for them, boundedly.
        const t = this.#tracks[this.#timing]!;
        const waited = ((t.timeline.lastDts ?? 0) - (t.readyStartDts ?? 0)) / t.config.timescale;
        if (waited < MAX_INIT_WAIT_SECONDS) return undefined;
        this.initSegment(); // throws FMP4_NO_PARAMETER_SETS naming the track
      }
      parts.push(this.initSegment());
      this.#initWritten = true;
    }
    this.#sequence = this.#sequence >= MAX_SEQUENCE_NUMBER ? 1 : this.#sequence + 1;
    const tracks = this.#tracks.map((t, i) => ({
      trackId: i + 1,
      baseMediaDecodeTime: t.readyStartDts ?? 0,
      samples: t.ready,
    }));
    parts.push(fragment(this.#sequence, tracks));
    this.stats.fragments++;
    this.#readyBytes = 0;
    for (const t of this.#tracks) {
      this.stats.samples += t.ready.length;
      t.ready = [];
      t.readyStartDts = t.held?.dts;
    }
    return Buffer.concat(parts);
  }

  /**
   * Ends the recording: the held samples get the previous duration of their track (or a codec default)
   * and go into a last fragment. Returns its bytes (with the init segment if none was written yet), or
   * undefined when there is nothing to write.
   */
  flush(): Buffer | undefined {
    for (const t of this.#tracks) {
      const h = t.held;
      if (h === undefined) continue;
      this.#complete(t, h.dts + (t.lastDuration ?? defaultDuration(t.config)));
    }
    return this.#cut();
  }

  /**
   * When the newest unit of track `index` is shown, in seconds of the file's timeline: from its pts to
   * its pts plus the track's last duration. Undefined before the first unit and after `flush`.
   */
  newestPresentationSeconds(index: number): { startSeconds: number; endSeconds: number } | undefined {
    const t = this.#tracks[index];
    const h = t?.held;
    if (t === undefined || h === undefined) return undefined;
    const durationTicks = t.lastDuration ?? defaultDuration(t.config);
    return {
      startSeconds: h.pts / t.config.timescale,
      endSeconds: (h.pts + durationTicks) / t.config.timescale,
    };
  }

  /**
   * Decode time, in seconds of the file's timeline, of the newest unit of track `index` that went in
   * (undefined before the first): what a segmenter measures segments with.
   */
  decodeTimeSeconds(index: number): number | undefined {
    const t = this.#tracks[index];
    const dts = t?.timeline.lastDts;
    return t === undefined || dts === undefined ? undefined : dts / t.config.timescale;
  }
}

/**
 * A sample's duration when nothing tells it: one AAC-LC frame, one 20 ms Opus or G.711 packet, one 25 fps
 * picture.
 */
function defaultDuration(c: Fmp4Track): number {
  if (c.codec === 'aac') return 1024; // samples per AAC-LC frame; timescale = sample rate for RTP
  if (c.codec === 'opus' || c.codec === 'pcma' || c.codec === 'pcmu')
    return Math.max(1, Math.round((c.timescale * 20) / 1000));
  return Math.max(1, Math.round(c.timescale / 25));
}
