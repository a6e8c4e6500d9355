/**
 * The Range header (RFC 2326 §12.29) with its three time formats: SMPTE (§3.5), normal play time (§3.6)
 * and absolute UTC clock time (§3.7), plus the optional `;time=` at which to apply the range.
 *
 *   Range: npt=10-15          Range: npt=now-          Range: npt=12:05:35.3-      Range: npt=-20
 *   Range: smpte-25=10:07:00-10:07:33:05.01            Range: clock=19961108T143720.25Z-
 *
 * NPT times are kept in seconds and clock times in milliseconds since the Unix epoch, so the written form
 * (`12:05:35.3` or `43535.3`) is not preserved; a clock fraction finer than a millisecond is rounded.
 */
import { ParseError } from '../base/errors.js';
import { RtspErrorCode } from './status.js';
import { formatDecimal } from './syntax.js';

/** A normal play time: seconds from the start of the presentation, or `now` for live (§3.6). */
export type NptTime = number | 'now';

export interface NptRange {
  unit: 'npt';
  /** Absent in `npt=-20` ("up to 20 s"). */
  start?: NptTime;
  /** Absent for an open range, `npt=10-`. */
  end?: NptTime;
  /** `;time=`: wall-clock time (ms since the epoch) at which the range takes effect. */
  timeMs?: number;
}

export interface SmpteTime {
  hours: number;
  minutes: number;
  seconds: number;
  frames?: number;
  /** Hundredths of a frame. */
  subframes?: number;
}

export type SmpteUnit = 'smpte' | 'smpte-30-drop' | 'smpte-25';

export interface SmpteRange {
  unit: SmpteUnit;
  start: SmpteTime;
  end?: SmpteTime;
  timeMs?: number;
}

export interface ClockRange {
  unit: 'clock';
  /** Milliseconds since the Unix epoch (UTC). */
  startMs: number;
  endMs?: number;
  timeMs?: number;
}

export type RangeSpec = NptRange | SmpteRange | ClockRange;

function bad(message: string): ParseError {
  return new ParseError(RtspErrorCode.BadRange, message);
}

/** Parses a Range value. Only one range is accepted (RFC 2326 allows a list; no known peer sends one). */
export function parseRange(value: string): RangeSpec {
  const [spec = '', ...params] = value.split(';');
  let timeMs: number | undefined;
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'time') continue;
    timeMs = parseUtcTime(param.slice(eq + 1).trim());
  }
  const text = spec.trim();
  const eq = text.indexOf('=');
  if (eq < 0) throw bad(`malformed range ${JSON.stringify(text.slice(0, 64))}`);
  const unit = text.slice(0, eq).trim().toLowerCase();
  const body = text.slice(eq + 1).trim();
  const time = timeMs === undefined ? {} : { timeMs };
  if (unit === 'npt') return parseNptRange(body, time);
  const dash = body.indexOf('-');
  if (dash < 0 || body.indexOf('-', dash + 1) >= 0)
    throw bad(`malformed range ${JSON.stringify(text.slice(0, 64))}`);
  const from = body.slice(0, dash).trim();
  const to = body.slice(dash + 1).trim();

  switch (unit) {
    case 'smpte':
    case 'smpte-30-drop':
    case 'smpte-25':
      return {
        unit,
        start: parseSmpteTime(from),
        ...(to === '' ? {} : { end: parseSmpteTime(to) }),
        ...time,
      };
    case 'clock':
      return {
        unit: 'clock',
        startMs: parseUtcTime(from),
        ...(to === '' ? {} : { endMs: parseUtcTime(to) }),
        ...time,
      };
    default:
      throw bad(`unknown range unit ${JSON.stringify(unit.slice(0, 32))}`);
  }
}

/**
 * A negative npt time as ffmpeg writes it: `Range: npt=%d.%03d-` of a start in microseconds, with C's
 * truncating division, so -0.021333 s is `0.-21` and -1.5 s is `-1.-500`. ffmpeg sends it for `-ss 0`
 * on a file whose earliest timestamp is below 0 and for any `-ss` within 130 ms of 0 on a stream with
 * B-frames (its seek heuristic subtracts 3/23 s). npt is never negative (RFC 2326 §3.6: the beginning
 * of the presentation is 0): such a time means "from the start" and reads as 0.
 */
const NPT_NEGATIVE_RE = /^(-\d{1,12}|0)\.-\d{1,6}$|^-\d{1,12}(\.\d*)?$/;

/**
 * `start-end` of an npt range. The separator is the dash that leaves a valid time on each side, so
 * that the negative forms above (`0.-21-`, `-1.-500-`, `-2-`) read as starts; `-20` stays
 * "up to 20 s" (§12.29).
 */
function parseNptRange(body: string, time: { timeMs?: number }): NptRange {
  const malformed = (): ParseError => bad(`malformed range ${JSON.stringify(`npt=${body}`.slice(0, 64))}`);
  if (body.length > 64) throw malformed();
  for (let dash = body.indexOf('-'); dash >= 0; dash = body.indexOf('-', dash + 1)) {
    const from = body.slice(0, dash).trim();
    const to = body.slice(dash + 1).trim();
    if (!isNptTimeText(from, true) || !isNptTimeText(to, false)) continue;
    if (from === '' && to === '') throw bad('npt range with neither start nor end');
    return {
      unit: 'npt',
      ...(from === '' ? {} : { start: parseNptTime(from) }),
      ...(to === '' ? {} : { end: parseNptTime(to) }),
      ...time,
    };
  }
  throw malformed();
}

function isNptTimeText(text: string, startSide: boolean): boolean {
  if (text === '') return true;
  if (text.toLowerCase() === 'now') return true;
  if (NPT_SECONDS_RE.test(text) || NPT_HHMMSS_RE.test(text)) return true;
  return startSide && NPT_NEGATIVE_RE.test(text);
}

/** Writes a Range value. Throws a RangeError for times that cannot be written. */
export function serializeRange(range: RangeSpec): string {
  let out: string;
  switch (range.unit) {
    case 'npt':
      if (range.start === undefined && range.end === undefined)
        throw new RangeError('npt range needs a start or an end');
      out = `npt=${range.start === undefined ? '' : formatNptTime(range.start)}-${
        range.end === undefined ? '' : formatNptTime(range.end)
      }`;
      break;
    case 'clock':
      out = `clock=${formatUtcTime(range.startMs)}-${range.endMs === undefined ? '' : formatUtcTime(range.endMs)}`;
      break;
    default:
      out = `${range.unit}=${formatSmpteTime(range.start)}-${range.end === undefined ? '' : formatSmpteTime(range.end)}`;
  }
  if (range.timeMs !== undefined) out += `;time=${formatUtcTime(range.timeMs)}`;
  return out;
}

const NPT_SECONDS_RE = /^(\d{1,12})(\.\d*)?$/;
const NPT_HHMMSS_RE = /^(\d{1,9}):(\d{1,2}):(\d{1,2})(\.\d*)?$/;

/** `now`, `123.45` or `12:05:35.3` (RFC 2326 §3.6); a negative time (ffmpeg's `0.-21`) reads as 0. */
export function parseNptTime(text: string): NptTime {
  if (text.toLowerCase() === 'now') return 'now';
  if (NPT_NEGATIVE_RE.test(text)) return 0;
  let m = NPT_SECONDS_RE.exec(text);
  if (m !== null) return Number(m[1]) + fraction(m[2]);
  m = NPT_HHMMSS_RE.exec(text);
  if (m === null) throw bad(`malformed npt time ${JSON.stringify(text.slice(0, 32))}`);
  const minutes = Number(m[2]);
  const seconds = Number(m[3]);
  if (minutes > 59 || seconds > 59) throw bad(`npt time ${text} out of range`);
  return Number(m[1]) * 3600 + minutes * 60 + seconds + fraction(m[4]);
}

function fraction(dotDigits: string | undefined): number {
  return dotDigits === undefined || dotDigits.length < 2 ? 0 : Number(`0${dotDigits}`);
}

/** Writes seconds with at most millisecond-level detail needed (`0`, `12.5`, `0.04`), or `now`. */
export function formatNptTime(t: NptTime): string {
  if (t === 'now') return 'now';
  if (!Number.isFinite(t) || t < 0 || t >= 1e12) throw new RangeError(`invalid npt time ${t}`);
  return formatDecimal(t);
}

/** Seconds of an npt time; `now` is `nowS` (the current position of a live stream, 0 by default). */
export function nptToSeconds(t: NptTime, nowS = 0): number {
  return t === 'now' ? nowS : t;
}

const SMPTE_RE = /^(\d{1,2}):(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.(\d{1,2}))?$/;

/** `hh:mm:ss[:frames][.subframes]` (RFC 2326 §3.5). */
export function parseSmpteTime(text: string): SmpteTime {
  const m = SMPTE_RE.exec(text);
  if (m === null) throw bad(`malformed smpte time ${JSON.stringify(text.slice(0, 32))}`);
  const t: SmpteTime = { hours: Number(m[1]), minutes: Number(m[2]), seconds: Number(m[3]) };
  if (t.minutes > 59 || t.seconds > 59) throw bad(`smpte time ${text} out of range`);
  if (m[4] !== undefined) t.frames = Number(m[4]);
  if (m[5] !== undefined) t.subframes = Number(m[5]);
  return t;
}

export function formatSmpteTime(t: SmpteTime): string {
  const two = (n: number, max: number): string => {
    if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`invalid smpte field ${n}`);
    return String(n).padStart(2, '0');
  };
  let out = `${two(t.hours, 99)}:${two(t.minutes, 59)}:${two(t.seconds, 59)}`;
  if (t.frames !== undefined) out += `:${two(t.frames, 99)}`;
  if (t.subframes !== undefined) out += `.${two(t.subframes, 99)}`;
  return out;
}

/**
 * Seconds from the SMPTE time origin. `smpte` counts 30 frames per second, `smpte-25` 25; `smpte-30-drop`
 * is NTSC drop-frame timecode: labels 0 and 1 of each minute not divisible by ten are skipped, and frames
 * run at 30000/1001 per second.
 */
export function smpteToSeconds(t: SmpteTime, unit: SmpteUnit): number {
  const frames = (t.frames ?? 0) + (t.subframes ?? 0) / 100;
  const wholeSeconds = t.hours * 3600 + t.minutes * 60 + t.seconds;
  if (unit === 'smpte-25') return wholeSeconds + frames / 25;
  if (unit === 'smpte') return wholeSeconds + frames / 30;
  const totalMinutes = t.hours * 60 + t.minutes;
  const dropped = 2 * (totalMinutes - Math.floor(totalMinutes / 10));
  return (wholeSeconds * 30 + frames - dropped) * (1001 / 30000);
}

const UTC_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d*)?Z$/;

/** `19961108T143720.25Z` (RFC 2326 §3.7) to milliseconds since the Unix epoch. */
export function parseUtcTime(text: string): number {
  const m = UTC_RE.exec(text);
  if (m === null) throw bad(`malformed utc time ${JSON.stringify(text.slice(0, 32))}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // Setting the fields and reading them back refuses Feb 30 or 25:00 (and leap seconds), which Date would
  // roll over; setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  if (
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== month - 1 ||
    d.getUTCDate() !== day ||
    d.getUTCHours() !== hour ||
    d.getUTCMinutes() !== minute ||
    d.getUTCSeconds() !== second
  ) {
    throw bad(`utc time ${text} out of range`);
  }
  return d.getTime() + Math.round(fraction(m[7]) * 1000);
}

/** Milliseconds since the epoch to `YYYYMMDDThhmmss[.fff]Z`. */
export function formatUtcTime(ms: number): string {
  const d = new Date(ms);
  if (!Number.isInteger(ms) || d.getUTCFullYear() < 0 || d.getUTCFullYear() > 9999) {
    throw new RangeError(`invalid clock time ${ms}`);
  }
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const date = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`;
  const time = `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  const millis = d.getUTCMilliseconds();
  const frac = millis === 0 ? '' : `.${p(millis, 3).replace(/0+$/, '')}`;
  return `${date}T${time}${frac}Z`;
}
