/**
 * `rtspkit play --start <time> [--end <time>] [--scale <n>] [--no-rate-control]`: playing recordings.
 * The URL gets rtspkit's playback query (`?start=...&end=...`, src/rtsp/playback-url.ts: DESCRIBE
 * and SETUP name the recording, other query parameters such as tokens stay); PLAY carries the ONVIF
 * replay headers (ONVIF Streaming Specification §6): `Require: onvif-replay`, `Range: clock=` (RFC 2326
 * §3.7) from the start to the end, `Scale`, and `Rate-Control: no` for an export as fast as the
 * connection goes. A negative scale plays backwards from `--start` down to `--end` (keyframes only).
 */
import { InvalidArgumentError } from 'commander';
import { isParseError } from '../base/errors.js';
import type { PlayOptions } from '../client/options.js';
import { ONVIF_REPLAY_FEATURE, serializeRateControl } from '../rtsp/onvif.js';
import { parseIsoTime } from '../rtsp/playback-url.js';

export interface ReplayArgs {
  start?: number;
  end?: number;
  scale?: number;
  /** false with `--no-rate-control`. */
  rateControl?: boolean;
}

/** A `--start`/`--end` value: an ISO 8601 time with a zone, or RFC 2326's `20261206T101500Z`. */
export function timeArg(value: string): number {
  try {
    return parseIsoTime(value);
  } catch (e) {
    if (!isParseError(e)) throw e;
    throw new InvalidArgumentError('expected a time with its zone, e.g. 2026-12-06T10:15:00Z');
  }
}

/** A `--scale` value: not 0 (RFC 2326 §12.34); the server clamps what it cannot do and says so. */
export function scaleArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n === 0)
    throw new InvalidArgumentError('expected a number other than 0 (negative: backwards)');
  return n;
}

/** Why the replay options do not fit together; undefined when they do. */
export function replayProblem(args: ReplayArgs): string | undefined {
  if (args.start === undefined) {
    if (args.end !== undefined) return '--end needs --start';
    if (args.rateControl === false) return '--no-rate-control needs --start';
    return undefined;
  }
  if (args.end === undefined) return undefined;
  const backwards = (args.scale ?? 1) < 0;
  if (!backwards && args.end <= args.start) return '--end must be after --start (or use a negative --scale)';
  if (backwards && args.end >= args.start) return 'with a negative --scale, --end must be before --start';
  return undefined;
}

/** The URL with the playback query: the window's earlier and later ends. */
export function replayUrl(url: string, args: ReplayArgs): string {
  if (args.start === undefined) return url;
  const from = args.end === undefined ? args.start : Math.min(args.start, args.end);
  const to = args.end === undefined ? undefined : Math.max(args.start, args.end);
  const hashAt = url.indexOf('#');
  const base = hashAt < 0 ? url : url.slice(0, hashAt);
  const params = [`start=${new Date(from).toISOString()}`];
  if (to !== undefined) params.push(`end=${new Date(to).toISOString()}`);
  return `${base}${base.includes('?') ? '&' : '?'}${params.join('&')}`;
}

/** The PLAY of a replay (or of anything, with `--scale` alone). */
export function replayPlayOptions(args: ReplayArgs): PlayOptions {
  const options: PlayOptions = {};
  if (args.scale !== undefined) options.scale = args.scale;
  if (args.start === undefined) return options;
  options.range = {
    unit: 'clock',
    startMs: args.start,
    ...(args.end !== undefined ? { endMs: args.end } : {}),
  };
  options.headers = { Require: ONVIF_REPLAY_FEATURE };
  if (args.rateControl === false) options.headers['Rate-Control'] = serializeRateControl(false);
  return options;
}
