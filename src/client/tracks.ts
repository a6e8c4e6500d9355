/**
 * What a client learns from a DESCRIBE (or sends in an ANNOUNCE): the media tracks with their resolved
 * control URLs (RFC 2326 C.1.1) and the first RTP format of each, plus a readable summary (codec, profile,
 * resolution, frame rate, sample rate, channels) read from the SDP alone: parameter sets in
 * sprop-parameter-sets (start codes tolerated), the AAC config, a=framerate.
 */
import { ParseError, isParseError } from '../base/errors.js';
import { parseAudioSpecificConfig } from '../codec/aac.js';
import { H264NalType, parseH264Sps, h264NalType } from '../codec/h264.js';
import { parseH265Sps } from '../codec/h265.js';
import { parseAacFmtp } from '../format/aac.js';
import { parseH264Fmtp } from '../format/h264.js';
import { parseH265Fmtp } from '../format/h265.js';
import { isSupportedEncoding } from '../format/registry.js';
import { resolveControlUrl, resolveSessionUrl, stripCredentials } from '../rtsp/url.js';
import { getControl, getFrameSize, getFramerate, mediaFormats } from '../sdp/index.js';
import type { MediaDescription, SessionDescription } from '../sdp/index.js';

export interface ClientTrack {
  /** Position among the SDP's media sections. */
  index: number;
  /** `video`, `audio`, `application`, ... */
  type: string;
  /** The URL to SETUP, credentials included when the request URL had them. */
  controlUrl: string;
  /** The first RTP format of the m= line. */
  payloadType: number;
  /** As in the rtpmap (or RFC 3551 for a static payload type), e.g. `H264`, `MPEG4-GENERIC`, `PCMU`. */
  encodingName: string;
  clockRate: number;
  channels?: number;
  /** fmtp parameters with lower-case names. */
  fmtp: Record<string, string>;
  /** Whether rtspkit can turn this track's packets into access units. */
  depacketizable: boolean;
  media: MediaDescription;
}

export interface UrlContext {
  requestUrl: string;
  contentBase?: string;
  contentLocation?: string;
}

/** The aggregate control URL and the tracks of a session description. */
export function tracksFromSdp(
  sdp: SessionDescription,
  ctx: UrlContext,
): { sessionUrl: string; tracks: ClientTrack[] } {
  const base: {
    requestUrl: string;
    contentBase?: string;
    contentLocation?: string;
    sessionControl?: string;
  } = {
    requestUrl: ctx.requestUrl,
  };
  if (ctx.contentBase !== undefined) base.contentBase = ctx.contentBase;
  if (ctx.contentLocation !== undefined) base.contentLocation = ctx.contentLocation;
  const sessionControl = getControl(sdp);
  if (sessionControl !== undefined) base.sessionControl = sessionControl;
  const sessionUrl = resolveSessionUrl(base);
  const tracks: ClientTrack[] = [];
  sdp.media.forEach((md, index) => {
    const format = mediaFormats(md)[0];
    const mediaControl = getControl(md);
    const controlUrl = resolveControlUrl(mediaControl === undefined ? base : { ...base, mediaControl });
    const pt = format?.payloadType ?? Number(md.formats[0] ?? -1);
    const track: ClientTrack = {
      index,
      type: md.type.toLowerCase(),
      controlUrl,
      payloadType: Number.isInteger(pt) ? pt : -1,
      encodingName: format?.encodingName ?? '',
      clockRate: format?.clockRate ?? 90000,
      fmtp: format?.fmtp.toRecord() ?? {},
      depacketizable: format !== undefined && isSupportedEncoding(format.encodingName),
      media: md,
    };
    if (format?.channels !== undefined) track.channels = format.channels;
    tracks.push(track);
  });
  return { sessionUrl, tracks };
}

/** A track as people (and `rtspkit probe --json`) want to see it. */
export interface TrackSummary {
  index: number;
  type: string;
  /** ffprobe's codec names where there is one: h264, hevc, aac, opus, pcm_mulaw, pcm_alaw, mjpeg. */
  codec: string;
  encodingName: string;
  payloadType: number;
  clockRate: number;
  profile?: string;
  level?: string;
  width?: number;
  height?: number;
  frameRate?: number;
  sampleRate?: number;
  channels?: number;
  /** Control URL without credentials. */
  control: string;
}

const CODEC_NAMES: Readonly<Record<string, string>> = {
  H264: 'h264',
  H265: 'hevc',
  'MPEG4-GENERIC': 'aac',
  'MP4A-LATM': 'aac_latm',
  OPUS: 'opus',
  PCMU: 'pcm_mulaw',
  PCMA: 'pcm_alaw',
  JPEG: 'mjpeg',
  MPA: 'mp3',
  L16: 'pcm_s16be',
};

function h264ProfileName(profileIdc: number, constraintFlags: number): string {
  switch (profileIdc) {
    case 66:
      return constraintFlags & 0x40 ? 'Constrained Baseline' : 'Baseline';
    case 77:
      return 'Main';
    case 88:
      return 'Extended';
    case 100:
      return 'High';
    case 110:
      return 'High 10';
    case 122:
      return 'High 4:2:2';
    case 244:
      return 'High 4:4:4 Predictive';
    default:
      return `profile ${profileIdc}`;
  }
}

const H265_PROFILES: Readonly<Record<number, string>> = {
  1: 'Main',
  2: 'Main 10',
  3: 'Main Still Picture',
  4: 'Rext',
};

const AAC_PROFILES: Readonly<Record<number, string>> = {
  1: 'Main',
  2: 'LC',
  3: 'SSR',
  4: 'LTP',
  5: 'HE-AAC',
  29: 'HE-AACv2',
};

function guard<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof ParseError) return undefined;
    throw e;
  }
}

/** The summary of a track, from its SDP only (nothing is received). */
export function summarizeTrack(track: ClientTrack): TrackSummary {
  const name = track.encodingName.toUpperCase();
  const out: TrackSummary = {
    index: track.index,
    type: track.type,
    codec: CODEC_NAMES[name] ?? (track.encodingName.toLowerCase() || 'unknown'),
    encodingName: track.encodingName,
    payloadType: track.payloadType,
    clockRate: track.clockRate,
    control: safeStrip(track.controlUrl),
  };
  if (name === 'H264') {
    const f = guard(() => parseH264Fmtp(track.fmtp));
    const spsNal = f?.sps.find((n) => h264NalType(n) === H264NalType.Sps);
    const sps = spsNal === undefined ? undefined : guard(() => parseH264Sps(spsNal));
    if (sps !== undefined) {
      out.profile = h264ProfileName(sps.profileIdc, sps.constraintFlags);
      out.level = (sps.levelIdc / 10).toFixed(1);
      out.width = sps.width;
      out.height = sps.height;
      if (sps.frameRate !== undefined && Number.isFinite(sps.frameRate))
        out.frameRate = round3(sps.frameRate);
    }
  } else if (name === 'H265') {
    const f = guard(() => parseH265Fmtp(track.fmtp));
    const spsNal = f?.sps[0];
    const sps = spsNal === undefined ? undefined : guard(() => parseH265Sps(spsNal));
    if (sps !== undefined) {
      out.profile = H265_PROFILES[sps.profileIdc] ?? `profile ${sps.profileIdc}`;
      out.level = (sps.levelIdc / 30).toFixed(1);
      out.width = sps.width;
      out.height = sps.height;
    }
  } else if (name === 'MPEG4-GENERIC') {
    const f = guard(() => parseAacFmtp(track.fmtp));
    const cfg = f?.audioConfig ?? (f?.config ? guard(() => parseAudioSpecificConfig(f.config!)) : undefined);
    if (cfg !== undefined) {
      out.profile =
        cfg.sbr === true ? 'HE-AAC' : (AAC_PROFILES[cfg.objectType] ?? `object type ${cfg.objectType}`);
      out.sampleRate = cfg.sampleRate;
      if (cfg.channels > 0) out.channels = cfg.channels;
    }
  }
  if (out.width === undefined) {
    const size = guard(() => getFrameSize(track.media));
    if (size !== undefined) {
      out.width = size.width;
      out.height = size.height;
    }
  }
  if (out.frameRate === undefined) {
    const fps = getFramerate(track.media);
    if (fps !== undefined) out.frameRate = fps;
  }
  // MPEG audio (RFC 2250) runs on a 90 kHz RTP clock whatever its sample rate, which only its frames
  // tell (mpegAudioFormat, from a received packet): the clock rate is not the sample rate there.
  if (track.type === 'audio') {
    if (name !== 'MPA') out.sampleRate ??= track.clockRate;
    if (out.channels === undefined && track.channels !== undefined) out.channels = track.channels;
  }
  return out;
}

const MPEG_AUDIO_RATES: Readonly<Record<number, readonly number[]>> = {
  3: [44100, 48000, 32000], // MPEG-1
  2: [22050, 24000, 16000], // MPEG-2
  0: [11025, 12000, 8000], // MPEG-2.5
};

/**
 * Sample rate and channels of an RFC 2250 MPEG audio RTP payload (MP3 and MP2): the 4-byte MPA header
 * (MBZ, fragment offset) then, in a packet that starts a frame, the frame header (ISO/IEC 11172-3 §2.4.1.3).
 */
export function mpegAudioFormat(payload: Uint8Array): { sampleRate: number; channels: number } | undefined {
  if (payload.length < 8 || payload[2] !== 0 || payload[3] !== 0) return undefined; // not a frame start
  const h = payload.subarray(4);
  if (h[0] !== 0xff || (h[1]! & 0xe0) !== 0xe0) return undefined; // no frame sync
  const version = (h[1]! >> 3) & 3;
  const sampleRate = MPEG_AUDIO_RATES[version]?.[(h[2]! >> 2) & 3];
  if (sampleRate === undefined) return undefined;
  return { sampleRate, channels: h[3]! >> 6 === 3 ? 1 : 2 };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function safeStrip(url: string): string {
  try {
    return stripCredentials(url);
  } catch (e) {
    if (!isParseError(e)) throw e;
    return url;
  }
}

/** One line per track, e.g. `video h264 (High, level 3.0) 640x360 25 fps`. */
export function formatTrackSummary(s: TrackSummary): string {
  let line = `${s.type} ${s.codec}`;
  const details = [s.profile, s.level === undefined ? undefined : `level ${s.level}`].filter(
    (x): x is string => x !== undefined,
  );
  if (details.length > 0) line += ` (${details.join(', ')})`;
  if (s.width !== undefined && s.height !== undefined) line += ` ${s.width}x${s.height}`;
  if (s.frameRate !== undefined) line += ` ${s.frameRate} fps`;
  if (s.sampleRate !== undefined) line += ` ${s.sampleRate} Hz`;
  if (s.channels !== undefined) line += ` ${s.channels} ch`;
  return line;
}
