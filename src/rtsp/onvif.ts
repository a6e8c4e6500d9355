/**
 * The RTSP headers of ONVIF replay (ONVIF Streaming Specification §6.4-6.6): `Require: onvif-replay`
 * asks for replay semantics (the replay RTP header extension, `Range: clock=`); `Rate-Control: no` asks
 * for the stream as fast as the connection takes it (export), instead of in real time; `Frames` thins
 * the video: `intra` (keyframes only, optionally at most one every `<interval>` ms), `predicted` (no
 * B-frames), `all`.
 */
import { ParseError } from '../base/errors.js';

/** The option tag of `Require` / `Supported` (§6.4). */
export const ONVIF_REPLAY_FEATURE = 'onvif-replay';

/** `Rate-Control: yes|no` (§6.5): true when the server paces the stream in real time (the default). */
export function parseRateControl(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'yes') return true;
  if (v === 'no') return false;
  throw new ParseError('ONVIF_BAD_HEADER', `Rate-Control ${JSON.stringify(value.slice(0, 16))}`);
}

export function serializeRateControl(paced: boolean): string {
  return paced ? 'yes' : 'no';
}

export type FramesMode = 'all' | 'intra' | 'predicted';

/** `Frames` (§6.6). */
export interface FramesOption {
  mode: FramesMode;
  /** `intra/<ms>`: the shortest interval between two keyframes sent. */
  intervalMs?: number;
}

const FRAMES_RE = /^(all|intra|predicted)(?:\/(\d{1,9}))?$/i;

export function parseFrames(value: string): FramesOption {
  const m = FRAMES_RE.exec(value.trim());
  if (m === null) throw new ParseError('ONVIF_BAD_HEADER', `Frames ${JSON.stringify(value.slice(0, 24))}`);
  const mode = m[1]!.toLowerCase() as FramesMode;
  if (m[2] === undefined) return { mode };
  if (mode !== 'intra') throw new ParseError('ONVIF_BAD_HEADER', `Frames ${mode} takes no interval`);
  return { mode, intervalMs: Number(m[2]) };
}

export function serializeFrames(f: FramesOption): string {
  return f.intervalMs === undefined ? f.mode : `${f.mode}/${f.intervalMs}`;
}
