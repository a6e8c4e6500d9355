/**
 * Segment file names from the `recordPath` template, and back: `%path` is the path name (which may
 * hold `/`), `%Y %m %d %H %M %S` the segment's start in UTC, `%f` its microseconds; `.mp4` is appended.
 * UTC rather than local time: a name must read back to one instant whatever the machine's zone, and a
 * daylight-saving hour must not give two files the same name.
 */
import { resolve, sep } from 'node:path';

export const RECORDING_FILE_EXTENSION = '.mp4';

const FIELD_DIGITS: Readonly<Record<string, number>> = { Y: 4, m: 2, d: 2, H: 2, M: 2, S: 2, f: 6 };

const pad = (n: number, digits: number): string => String(n).padStart(digits, '0');

/** The file of a segment of `path` starting at `startWallMs` (relative templates: from the working dir). */
export function recordingFileName(template: string, path: string, startWallMs: number): string {
  const d = new Date(Math.floor(startWallMs));
  const micros = Math.floor(startWallMs * 1000) % 1_000_000;
  const fields: Record<string, string> = {
    Y: pad(d.getUTCFullYear(), 4),
    m: pad(d.getUTCMonth() + 1, 2),
    d: pad(d.getUTCDate(), 2),
    H: pad(d.getUTCHours(), 2),
    M: pad(d.getUTCMinutes(), 2),
    S: pad(d.getUTCSeconds(), 2),
    f: pad(micros, 6),
  };
  const name = template.replace(/%(path|[YmdHMSf])/g, (_, field: string) =>
    field === 'path' ? path : fields[field]!,
  );
  return resolve(name + RECORDING_FILE_EXTENSION);
}

/** The folder under which every file of `template` lies: the part before its first `%` field. */
export function recordingRoot(template: string): string {
  const abs = resolve(template);
  const at = abs.indexOf('%');
  const head = at < 0 ? abs : abs.slice(0, at);
  return head.slice(0, head.lastIndexOf(sep) + 1) || sep;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The path and start time a file name of `template` stands for, or undefined when it is not one of
 * its names (another file in the folder). Fields the template lacks count as 0 (%f: 0 µs).
 */
export function parseRecordingFileName(
  template: string,
  file: string,
): { path: string; startWallMs: number } | undefined {
  const pattern = resolve(template) + RECORDING_FILE_EXTENSION;
  const order: string[] = [];
  let source = '';
  let last = 0;
  for (const m of pattern.matchAll(/%(path|[YmdHMSf])/g)) {
    source += escapeRegExp(pattern.slice(last, m.index));
    const field = m[1]!;
    order.push(field);
    source += field === 'path' ? '(.+?)' : `(\\d{${FIELD_DIGITS[field]!}})`;
    last = m.index + m[0].length;
  }
  source += escapeRegExp(pattern.slice(last));
  const match = new RegExp(`^${source}$`).exec(resolve(file));
  if (match === null) return undefined;
  const values: Record<string, string> = {};
  order.forEach((field, i) => {
    values[field] = match[i + 1]!;
  });
  const num = (field: string, fallback: number): number =>
    values[field] !== undefined ? Number(values[field]) : fallback;
  const ms = Date.UTC(num('Y', 1970), num('m', 1) - 1, num('d', 1), num('H', 0), num('M', 0), num('S', 0));
  const path = values.path;
  if (path === undefined || !Number.isFinite(ms)) return undefined;
  return { path, startWallMs: ms + num('f', 0) / 1000 };
}
