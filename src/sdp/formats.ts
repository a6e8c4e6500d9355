// Media formats of an RTP media description: a=rtpmap (RFC 8866 §6.6), a=fmtp (§6.15) and the static
// payload types of RFC 3551 §6.
import { ParseError, isParseError } from '../base/errors.js';
import { addAttribute, getAttributes, removeAttribute } from './attributes.js';
import { FmtpParams, parseFmtp, serializeFmtp } from './fmtp.js';
import type { MediaDescription } from './types.js';

/** `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`. */
export interface Rtpmap {
  payloadType: number;
  /** As written (`H264`, `MPEG4-GENERIC`, `opus`, `OPUS`): compare case-insensitively. */
  encodingName: string;
  clockRate: number;
  /** Audio channels (the encoding parameters); absent when not written. */
  channels?: number;
}

/**
 * Parses an `a=rtpmap:` value such as `96 H264/90000` or `97 MPEG4-GENERIC/48000/2`. Tolerates extra
 * spaces and a trailing `/`. Throws ParseError `SDP_BAD_RTPMAP`.
 */
export function parseRtpmap(value: string): Rtpmap {
  const m = /^\s*(\d{1,3})\s+([^\s/]+)\s*\/\s*(\d{1,10})\s*(?:\/\s*(\d{1,3})?\s*)?$/.exec(value);
  const pt = m ? Number(m[1]) : NaN;
  const clockRate = m ? Number(m[3]) : NaN;
  if (!m || pt > 127 || clockRate === 0)
    throw new ParseError('SDP_BAD_RTPMAP', `bad rtpmap ${JSON.stringify(value.slice(0, 60))}`);
  const r: Rtpmap = { payloadType: pt, encodingName: m[2]!, clockRate };
  if (m[4] !== undefined) r.channels = Number(m[4]);
  return r;
}

/** The value of an `a=rtpmap:` attribute. */
export function serializeRtpmap(r: Rtpmap): string {
  if (!Number.isInteger(r.payloadType) || r.payloadType < 0 || r.payloadType > 127)
    throw new RangeError(`bad payload type ${r.payloadType}`);
  if (!/^[^\s/]+$/.test(r.encodingName))
    throw new RangeError(`bad encoding name ${JSON.stringify(r.encodingName)}`);
  if (!Number.isSafeInteger(r.clockRate) || r.clockRate <= 0)
    throw new RangeError(`bad clock rate ${r.clockRate}`);
  let s = `${r.payloadType} ${r.encodingName}/${r.clockRate}`;
  if (r.channels !== undefined) {
    if (!Number.isInteger(r.channels) || r.channels < 1)
      throw new RangeError(`bad channel count ${r.channels}`);
    s += `/${r.channels}`;
  }
  return s;
}

/** Every readable `a=rtpmap:` of a media description, in order (malformed ones are skipped). */
export function getRtpmaps(md: MediaDescription): Rtpmap[] {
  const out: Rtpmap[] = [];
  for (const v of getAttributes(md, 'rtpmap')) {
    try {
      out.push(parseRtpmap(v));
    } catch (e) {
      // A broken rtpmap for one format must not hide the others.
      if (!isParseError(e)) throw e;
    }
  }
  return out;
}

/** The `a=rtpmap:` of one payload type, or undefined. */
export function getRtpmap(md: MediaDescription, payloadType: number | string): Rtpmap | undefined {
  const pt = Number(payloadType);
  return getRtpmaps(md).find((r) => r.payloadType === pt);
}

/** The parameters of the first `a=fmtp:` for this format (payload type), or undefined. */
export function getFmtp(md: MediaDescription, format: number | string): FmtpParams | undefined {
  const fmt = String(format);
  for (const v of getAttributes(md, 'fmtp')) {
    try {
      const f = parseFmtp(v);
      if (f.format === fmt) return f.params;
    } catch (e) {
      // Unreadable fmtp: skip.
      if (!isParseError(e)) throw e;
    }
  }
  return undefined;
}

/**
 * Replaces the `a=fmtp:` of this format (keeping the position of the first one), or appends one.
 * An empty parameter set removes it.
 */
export function setFmtp(
  md: MediaDescription,
  format: number | string,
  params: FmtpParams | Readonly<Record<string, string>> | Iterable<readonly [string, string]>,
): void {
  const fmt = String(format);
  const value = serializeFmtp(fmt, params);
  const isThis = (v: string): boolean => v.split(/\s+/)[0] === fmt;
  const i = md.attributes.findIndex((a) => a.name.toLowerCase() === 'fmtp' && isThis((a.value ?? '').trim()));
  removeAttribute(md, 'fmtp', isThis);
  if (value === fmt) return;
  if (i < 0) addAttribute(md, 'fmtp', value);
  else md.attributes.splice(i, 0, { name: 'fmtp', value });
}

/** A static payload type of RFC 3551 §6 (Tables 4 and 5). */
export interface StaticPayloadType {
  encodingName: string;
  clockRate: number;
  channels?: number;
  media: 'audio' | 'video' | 'audio/video';
}

/** RFC 3551 §6 static payload types; channels as given there (MPA: "see text", so absent). */
export const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, StaticPayloadType> = new Map<
  number,
  StaticPayloadType
>([
  [0, { encodingName: 'PCMU', clockRate: 8000, channels: 1, media: 'audio' }],
  [3, { encodingName: 'GSM', clockRate: 8000, channels: 1, media: 'audio' }],
  [4, { encodingName: 'G723', clockRate: 8000, channels: 1, media: 'audio' }],
  [5, { encodingName: 'DVI4', clockRate: 8000, channels: 1, media: 'audio' }],
  [6, { encodingName: 'DVI4', clockRate: 16000, channels: 1, media: 'audio' }],
  [7, { encodingName: 'LPC', clockRate: 8000, channels: 1, media: 'audio' }],
  [8, { encodingName: 'PCMA', clockRate: 8000, channels: 1, media: 'audio' }],
  [9, { encodingName: 'G722', clockRate: 8000, channels: 1, media: 'audio' }],
  [10, { encodingName: 'L16', clockRate: 44100, channels: 2, media: 'audio' }],
  [11, { encodingName: 'L16', clockRate: 44100, channels: 1, media: 'audio' }],
  [12, { encodingName: 'QCELP', clockRate: 8000, channels: 1, media: 'audio' }],
  [13, { encodingName: 'CN', clockRate: 8000, channels: 1, media: 'audio' }],
  [14, { encodingName: 'MPA', clockRate: 90000, media: 'audio' }],
  [15, { encodingName: 'G728', clockRate: 8000, channels: 1, media: 'audio' }],
  [16, { encodingName: 'DVI4', clockRate: 11025, channels: 1, media: 'audio' }],
  [17, { encodingName: 'DVI4', clockRate: 22050, channels: 1, media: 'audio' }],
  [18, { encodingName: 'G729', clockRate: 8000, channels: 1, media: 'audio' }],
  [25, { encodingName: 'CelB', clockRate: 90000, media: 'video' }],
  [26, { encodingName: 'JPEG', clockRate: 90000, media: 'video' }],
  [28, { encodingName: 'nv', clockRate: 90000, media: 'video' }],
  [31, { encodingName: 'H261', clockRate: 90000, media: 'video' }],
  [32, { encodingName: 'MPV', clockRate: 90000, media: 'video' }],
  [33, { encodingName: 'MP2T', clockRate: 90000, media: 'audio/video' }],
  [34, { encodingName: 'H263', clockRate: 90000, media: 'video' }],
]);

/** One RTP payload format of a media description, with what is needed to depacketize it. */
export interface MediaFormat {
  payloadType: number;
  encodingName: string;
  clockRate: number;
  /**
   * Channels: from the rtpmap; 1 for an audio rtpmap without encoding parameters (RFC 8866 §6.6); from
   * RFC 3551 for a static payload type; absent otherwise.
   */
  channels?: number;
  /** The format's `a=fmtp:` parameters (empty when there is none). */
  fmtp: FmtpParams;
  /** True when taken from the RFC 3551 table because the SDP had no rtpmap for it. */
  isStatic: boolean;
}

/**
 * The RTP payload formats of a media description, in `m=` order: each format's rtpmap, or the RFC 3551
 * static assignment when there is no rtpmap (an rtpmap always wins, even for a static number), plus its
 * fmtp. Formats that are not payload type numbers, or dynamic ones without rtpmap, are left out: nothing
 * can be said about them.
 */
export function mediaFormats(md: MediaDescription): MediaFormat[] {
  const rtpmaps = getRtpmaps(md);
  const out: MediaFormat[] = [];
  const seen = new Set<number>();
  for (const fmt of md.formats) {
    if (!/^\d{1,3}$/.test(fmt)) continue;
    const pt = Number(fmt);
    if (pt > 127 || seen.has(pt)) continue;
    seen.add(pt);
    const fmtp = getFmtp(md, pt) ?? new FmtpParams();
    const r = rtpmaps.find((x) => x.payloadType === pt);
    if (r) {
      const f: MediaFormat = {
        payloadType: pt,
        encodingName: r.encodingName,
        clockRate: r.clockRate,
        fmtp,
        isStatic: false,
      };
      const channels = r.channels ?? (md.type.toLowerCase() === 'audio' ? 1 : undefined);
      if (channels !== undefined) f.channels = channels;
      out.push(f);
      continue;
    }
    const s = STATIC_PAYLOAD_TYPES.get(pt);
    if (!s) continue;
    const f: MediaFormat = {
      payloadType: pt,
      encodingName: s.encodingName,
      clockRate: s.clockRate,
      fmtp,
      isStatic: true,
    };
    if (s.channels !== undefined) f.channels = s.channels;
    out.push(f);
  }
  return out;
}

/**
 * Adds a payload format to a media description: its number to `m=`, an `a=rtpmap:` (omitted for a static
 * payload type when `rtpmap` is false) and, when parameters are given, an `a=fmtp:`.
 */
export function addMediaFormat(
  md: MediaDescription,
  format: {
    payloadType: number;
    encodingName: string;
    clockRate: number;
    channels?: number;
    fmtp?: FmtpParams | Readonly<Record<string, string>> | Iterable<readonly [string, string]>;
  },
  options: { rtpmap?: boolean } = {},
): void {
  const pt = String(format.payloadType);
  if (!md.formats.includes(pt)) md.formats.push(pt);
  const rtpmap: Rtpmap = {
    payloadType: format.payloadType,
    encodingName: format.encodingName,
    clockRate: format.clockRate,
  };
  if (format.channels !== undefined) rtpmap.channels = format.channels;
  const value = serializeRtpmap(rtpmap);
  if (options.rtpmap ?? true) addAttribute(md, 'rtpmap', value);
  if (format.fmtp !== undefined) {
    const text = serializeFmtp(pt, format.fmtp);
    if (text !== pt) addAttribute(md, 'fmtp', text);
  }
}
