// Typed views over raw attributes. Getters match names case-insensitively (cameras write `a=Control:`)
// and trim values; the raw attributes keep the original spelling. Setters mutate in place.
import { ParseError, isParseError } from '../base/errors.js';
import type { Attribute, Direction, HasAttributes, MediaDescription, SessionDescription } from './types.js';

function sameName(a: Attribute, name: string): boolean {
  return a.name.toLowerCase() === name.toLowerCase();
}

/** The first attribute with this name, or undefined. */
export function findAttribute(target: HasAttributes, name: string): Attribute | undefined {
  return target.attributes.find((a) => sameName(a, name));
}

/** Whether an attribute with this name exists (property or valued). */
export function hasAttribute(target: HasAttributes, name: string): boolean {
  return findAttribute(target, name) !== undefined;
}

/**
 * The trimmed value of the first attribute with this name; `''` for a property attribute (`a=recvonly`),
 * undefined when absent.
 */
export function getAttribute(target: HasAttributes, name: string): string | undefined {
  const a = findAttribute(target, name);
  return a === undefined ? undefined : (a.value ?? '').trim();
}

/** The trimmed values of every attribute with this name, in order. */
export function getAttributes(target: HasAttributes, name: string): string[] {
  return target.attributes.filter((a) => sameName(a, name)).map((a) => (a.value ?? '').trim());
}

/** Appends `a=name` (value undefined) or `a=name:value`. */
export function addAttribute(target: HasAttributes, name: string, value?: string): void {
  target.attributes.push(value === undefined ? { name } : { name, value });
}

/**
 * Sets the single attribute `name`: replaces the first one in place (so the order is kept) and removes
 * the others, or appends when there is none. `value` undefined makes it a property attribute.
 */
export function setAttribute(target: HasAttributes, name: string, value?: string): void {
  const i = target.attributes.findIndex((a) => sameName(a, name));
  const attr: Attribute = value === undefined ? { name } : { name, value };
  if (i < 0) {
    target.attributes.push(attr);
    return;
  }
  target.attributes[i] = attr;
  target.attributes = target.attributes.filter((a, j) => j <= i || !sameName(a, name));
}

/**
 * Removes every attribute with this name (and, if given, whose trimmed value satisfies `match`).
 * Returns how many were removed.
 */
export function removeAttribute(
  target: HasAttributes,
  name: string,
  match?: (value: string) => boolean,
): number {
  const before = target.attributes.length;
  target.attributes = target.attributes.filter(
    (a) => !(sameName(a, name) && (match === undefined || match((a.value ?? '').trim()))),
  );
  return before - target.attributes.length;
}

// --- a=control (RFC 2326 Appendix C.1.1) ---

/** The `a=control:` URL (absolute, relative, or `*`), or undefined. */
export function getControl(target: HasAttributes): string | undefined {
  return getAttribute(target, 'control');
}

export function setControl(target: HasAttributes, url: string): void {
  setAttribute(target, 'control', url);
}

// --- a=range (RFC 2326 Appendix C.1.5, syntax of §3.5-3.7 and §12.29) ---

/** `a=range:<unit>=<start>-[<end>]`; `start` may be `''` (`npt=-10`) or `now` (live). */
export interface SdpRange {
  /** `npt`, `clock`, `smpte`, `smpte-25`, ... */
  unit: string;
  start: string;
  end?: string;
  /** For `npt`: the start in seconds (undefined for `now` or an empty start). */
  startSeconds?: number;
  /** For `npt`: the end in seconds. */
  endSeconds?: number;
}

/**
 * Parses a range value like `npt=0-10.000`, `npt=now-`, `clock=19961110T1925-19961110T2015`. Anything
 * after a `;` (RTSP 2.0 `;time=`) is ignored. Throws ParseError `SDP_BAD_RANGE`.
 */
export function parseRange(value: string): SdpRange {
  const v = value.trim().split(';')[0]!.trim();
  const m = /^([A-Za-z][\w-]*)\s*=\s*([^-]*?)\s*-\s*(.*?)$/.exec(v);
  if (!m) throw new ParseError('SDP_BAD_RANGE', `bad range ${JSON.stringify(value.slice(0, 60))}`);
  const unit = m[1]!;
  const start = m[2]!;
  const end = m[3]!;
  const range: SdpRange = { unit, start };
  if (end !== '') range.end = end;
  if (unit.toLowerCase() === 'npt') {
    if (start !== '' && start.toLowerCase() !== 'now') range.startSeconds = parseNptTime(start);
    if (end !== '') range.endSeconds = parseNptTime(end);
  }
  return range;
}

/** `unit=start-end` (the end omitted when open). */
export function serializeRange(range: Pick<SdpRange, 'unit' | 'start' | 'end'>): string {
  return `${range.unit}=${range.start}-${range.end ?? ''}`;
}

/**
 * Normal play time (RFC 2326 §3.6) in seconds: `123.45` or `h:mm:ss.frac`. Throws ParseError
 * `SDP_BAD_RANGE`.
 */
export function parseNptTime(text: string): number {
  const t = text.trim();
  let m = /^(\d+)(?:\.(\d*))?$/.exec(t);
  if (m) return Number(`${m[1]}.${m[2] ?? ''}0`);
  m = /^(\d+):([0-5]?\d):([0-5]?\d)(?:\.(\d*))?$/.exec(t);
  if (m) return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(`${m[3]}.${m[4] ?? ''}0`);
  throw new ParseError('SDP_BAD_RANGE', `bad npt time ${JSON.stringify(t.slice(0, 40))}`);
}

/** The parsed `a=range:`, or undefined when absent or unreadable. */
export function getRange(target: HasAttributes): SdpRange | undefined {
  const v = getAttribute(target, 'range');
  if (v === undefined) return undefined;
  try {
    return parseRange(v);
  } catch (e) {
    if (!isParseError(e)) throw e;
    return undefined;
  }
}

export function setRange(target: HasAttributes, range: Pick<SdpRange, 'unit' | 'start' | 'end'>): void {
  setAttribute(target, 'range', serializeRange(range));
}

// --- a=framerate (RFC 8866 §6.17) ---

/** Frames per second from `a=framerate:`, or undefined when absent or not a positive number. */
export function getFramerate(target: HasAttributes): number | undefined {
  const v = getAttribute(target, 'framerate');
  if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) return undefined;
  const n = Number(v);
  return n > 0 ? n : undefined;
}

export function setFramerate(target: HasAttributes, fps: number): void {
  if (!(fps > 0) || !Number.isFinite(fps)) throw new RangeError(`bad frame rate ${fps}`);
  setAttribute(target, 'framerate', String(fps));
}

// --- a=framesize (3GPP TS 26.234 / RealNetworks) and a=x-dimensions (common on IP cameras) ---

export interface FrameSize {
  width: number;
  height: number;
}

/**
 * The picture size announced for `payloadType` (or any) by `a=framesize:<pt> <w>-<h>`, falling back to
 * `a=x-dimensions:<w>,<h>`. Undefined when absent or unreadable.
 */
export function getFrameSize(md: HasAttributes, payloadType?: number | string): FrameSize | undefined {
  for (const v of getAttributes(md, 'framesize')) {
    const m = /^(\S+)\s+(\d+)-(\d+)$/.exec(v);
    if (m && (payloadType === undefined || m[1] === String(payloadType)))
      return { width: Number(m[2]), height: Number(m[3]) };
  }
  const x = getAttribute(md, 'x-dimensions');
  const m = x === undefined ? null : /^(\d+)\s*,\s*(\d+)$/.exec(x);
  return m ? { width: Number(m[1]), height: Number(m[2]) } : undefined;
}

export function setFrameSize(md: HasAttributes, payloadType: number | string, size: FrameSize): void {
  const pt = String(payloadType);
  removeAttribute(md, 'framesize', (v) => v.split(/\s+/)[0] === pt);
  addAttribute(md, 'framesize', `${pt} ${size.width}-${size.height}`);
}

// --- direction (RFC 8866 §6.7) ---

const DIRECTIONS: readonly Direction[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

/** The direction attribute written on this level alone, or undefined. */
export function getOwnDirection(target: HasAttributes): Direction | undefined {
  for (const a of target.attributes) {
    const n = a.name.toLowerCase();
    if ((DIRECTIONS as readonly string[]).includes(n)) return n as Direction;
  }
  return undefined;
}

/**
 * The effective direction of a media description: its own attribute, else the session-level one, else
 * `sendrecv` (RFC 8866 §6.7). Without a media description, the session-level direction.
 */
export function getDirection(sd: SessionDescription, md?: MediaDescription): Direction {
  return (md && getOwnDirection(md)) ?? getOwnDirection(sd) ?? 'sendrecv';
}

/** Replaces any direction attribute on this level with `dir`, keeping the position of the first one. */
export function setDirection(target: HasAttributes, dir: Direction): void {
  const i = target.attributes.findIndex((a) =>
    (DIRECTIONS as readonly string[]).includes(a.name.toLowerCase()),
  );
  const rest = target.attributes.filter(
    (a) => !(DIRECTIONS as readonly string[]).includes(a.name.toLowerCase()),
  );
  if (i < 0) rest.push({ name: dir });
  else rest.splice(i, 0, { name: dir });
  target.attributes = rest;
}
