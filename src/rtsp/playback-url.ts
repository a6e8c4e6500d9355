/**
 * The playback query of a recording's URL: `rtsp://host/<path>?start=<ISO 8601>[&end=<ISO 8601>]`
 * (or `&duration=<seconds>`), among other query parameters (tokens) that are kept as they are.
 *
 * Times are ISO 8601 date-times with a zone (`2026-12-06T10:15:00Z`, `...T10:15:00.250+01:00`) or the
 * compact form of RFC 2326 §3.7 (`20261206T101500Z`); a time without a zone is refused (it would name
 * a different instant on every server). Values are percent-decoded, `+` is not a space (an offset).
 */
import { ParseError } from '../base/errors.js';
import { parseUtcTime } from './range.js';

export interface PlaybackQuery {
  /** ms since the Unix epoch. */
  startMs: number;
  /** Exclusive end (ms since the epoch), from `end=` or `start` + `duration=`; undefined: to the end. */
  endMs?: number;
  /** The query without the playback parameters, in their order ('' when nothing is left). */
  rest: string;
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/i;
/** Farthest time accepted: year 9999 fits `Range: clock=`. */
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

function bad(message: string): ParseError {
  return new ParseError('PLAYBACK_BAD_TIME', message);
}

/** An ISO 8601 date-time with a zone, or RFC 2326's compact UTC time, to ms since the epoch. */
export function parseIsoTime(text: string): number {
  if (/^\d{8}T/.test(text)) return parseUtcTime(text);
  const m = ISO_RE.exec(text);
  if (m === null) throw bad(`malformed time ${JSON.stringify(text.slice(0, 40))}`);
  const compact = `${m[1]}${m[2]}${m[3]}T${m[4]}${m[5]}${m[6]}Z`;
  let ms = parseUtcTime(compact); // validates the fields (no Feb 30, no 25:00)
  if (m[7] !== undefined) ms += Math.round(Number(`0${m[7]}`) * 1000);
  const zone = m[8]!.toUpperCase();
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2));
    if (hours > 23 || minutes > 59) throw bad(`bad zone offset ${zone}`);
    ms -= sign * (hours * 60 + minutes) * 60_000;
  }
  if (ms < 0 || ms > MAX_MS) throw bad(`time ${text} out of range`);
  return ms;
}

/**
 * The playback parameters of a query (without the '?'), or undefined when it has no `start=`. Throws
 * ParseError PLAYBACK_BAD_TIME for a malformed or repeated time, an end not after the start, a duration
 * that is not a positive number of seconds.
 */
export function parsePlaybackQuery(query: string): PlaybackQuery | undefined {
  const kept: string[] = [];
  const values = new Map<string, string>();
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (name !== 'start' && name !== 'end' && name !== 'duration') {
      if (part !== '') kept.push(part);
      continue;
    }
    if (values.has(name)) throw bad(`${name}= given twice`);
    let value: string;
    try {
      value = decodeURIComponent(eq < 0 ? '' : part.slice(eq + 1));
    } catch (e) {
      if (e instanceof URIError) throw bad(`${name}= is not percent-encoded correctly`);
      throw e;
    }
    values.set(name, value);
  }
  const start = values.get('start');
  if (start === undefined) {
    if (values.size > 0) throw bad(`${[...values.keys()].join(', ')} without start=`);
    return undefined;
  }
  const startMs = parseIsoTime(start);
  const out: PlaybackQuery = { startMs, rest: kept.join('&') };
  const end = values.get('end');
  const duration = values.get('duration');
  if (end !== undefined && duration !== undefined) throw bad('both end= and duration=');
  if (end !== undefined) out.endMs = parseIsoTime(end);
  if (duration !== undefined) {
    if (!/^\d{1,9}(\.\d{1,6})?$/.test(duration)) throw bad(`duration=${duration.slice(0, 16)}`);
    out.endMs = startMs + Math.round(Number(duration) * 1000);
  }
  if (out.endMs !== undefined && out.endMs <= startMs) throw bad('the end is not after the start');
  return out;
}
