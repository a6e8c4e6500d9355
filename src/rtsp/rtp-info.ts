/**
 * The RTP-Info header (RFC 2326 §12.33): for each stream of a PLAY reply, its URL and the sequence number and
 * RTP timestamp of the first packet the client will get.
 *
 *   RTP-Info: url=rtsp://foo.com/bar.avi/streamid=0;seq=45102,url=rtsp://foo.com/bar.avi/streamid=1;seq=30211
 *
 * URLs may hold `;` and `,` themselves, so entries are not split on every separator: a new entry starts
 * only at `,url=`, and a URL ends only at `;seq=`, `;rtptime=` or `;ssrc=`. A URL in double quotes (the
 * RFC 7826 form) is unquoted.
 */
import { ParseError } from '../base/errors.js';
import { RtspErrorCode } from './status.js';
import { hasLineBreak, parseDecimal, unquote } from './syntax.js';

export interface RtpInfo {
  url: string;
  /** Sequence number of the first packet. */
  seq?: number;
  /** RTP timestamp of the first packet. */
  rtptime?: number;
}

function bad(message: string): ParseError {
  return new ParseError(RtspErrorCode.BadRtpInfo, message);
}

const ENTRY_START_RE = /(?:^|,)\s*url\s*=/gi;
const PARAM_START_RE = /;\s*(?:seq|rtptime|ssrc)\s*=/i;

export function parseRtpInfo(value: string): RtpInfo[] {
  const starts = [...value.matchAll(ENTRY_START_RE)];
  if (starts.length === 0 || starts[0]!.index !== value.search(/\S/)) {
    throw bad(`RTP-Info does not start with url= : ${JSON.stringify(value.slice(0, 64))}`);
  }
  return starts.map((m, i) => {
    const from = m.index + m[0].length;
    const to = starts[i + 1]?.index ?? value.length;
    return parseEntry(value.slice(from, to));
  });
}

function parseEntry(text: string): RtpInfo {
  const cut = text.search(PARAM_START_RE);
  const rawUrl = (cut < 0 ? text : text.slice(0, cut)).trim();
  const url = unquote(rawUrl);
  if (url === undefined || url === '') throw bad('RTP-Info entry without a url');
  const info: RtpInfo = { url };
  if (cut < 0) return info;
  for (const param of text.slice(cut + 1).split(';')) {
    const eq = param.indexOf('=');
    const name = param
      .slice(0, eq < 0 ? param.length : eq)
      .trim()
      .toLowerCase();
    const v = param.slice(eq + 1).trim();
    if (name === 'seq') info.seq = number(name, v, 0xffff);
    else if (name === 'rtptime') info.rtptime = number(name, v, 0xffffffff);
    // ssrc (RFC 7826) and unknown parameters are ignored.
  }
  return info;
}

function number(name: string, text: string, max: number): number {
  const n = parseDecimal(text, max);
  if (n === undefined) throw bad(`RTP-Info ${name}=${JSON.stringify(text.slice(0, 32))} is not in 0..${max}`);
  return n;
}

/** Writes the entries as `url=U;seq=N;rtptime=T`, comma-separated. Throws a RangeError for bad values. */
export function serializeRtpInfo(entries: readonly RtpInfo[]): string {
  return entries
    .map((e) => {
      // A URL that the parser would cut in two (or unquote) cannot be written bare.
      if (
        e.url === '' ||
        hasLineBreak(e.url) ||
        /\s|^"|,\s*url\s*=/i.test(e.url) ||
        PARAM_START_RE.test(e.url)
      ) {
        throw new RangeError(`invalid RTP-Info url ${JSON.stringify(e.url)}`);
      }
      let out = `url=${e.url}`;
      if (e.seq !== undefined) out += `;seq=${check(e.seq, 0xffff)}`;
      if (e.rtptime !== undefined) out += `;rtptime=${check(e.rtptime, 0xffffffff)}`;
      return out;
    })
    .join(',');
}

function check(n: number, max: number): number {
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new RangeError(`RTP-Info value ${n} is not in 0..${max}`);
  return n;
}
