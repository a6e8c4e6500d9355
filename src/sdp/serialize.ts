import type {
  Attribute,
  Bandwidth,
  Connection,
  ExtraLine,
  MediaDescription,
  Origin,
  SessionDescription,
} from './types.js';

/** One serialized unit: a line, or a `t=` line with its `r=` lines. `key` is its type letter (`*` = extra). */
export interface Entry {
  key: string;
  lines: string[];
}

// RFC 8866 §5 order of the session-level and media-level lines; extra lines go last.
export const SESSION_RANK: Readonly<Record<string, number>> = {
  v: 0,
  o: 1,
  s: 2,
  i: 3,
  u: 4,
  e: 5,
  p: 6,
  c: 7,
  b: 8,
  t: 9,
  z: 10,
  k: 11,
  a: 12,
  '*': 13,
};
export const MEDIA_RANK: Readonly<Record<string, number>> = { i: 0, c: 1, b: 2, k: 3, a: 4, '*': 5 };

const CRLF = '\r\n';

/**
 * Serializes with CRLF line endings (RFC 8866 §5), in RFC order unless a `lineOrder` recorded by the
 * parser says otherwise. Throws RangeError for values that cannot be written as SDP (a line break inside
 * a value, a space inside a field, a port out of range, ...): those would produce a different
 * description when parsed back, or let a stream name inject lines.
 */
export function serializeSdp(sd: SessionDescription): string {
  const out: string[] = [];
  for (const e of orderEntries(sessionEntries(sd), SESSION_RANK, sd.lineOrder)) out.push(...e.lines);
  for (const md of sd.media) {
    out.push(mediaLine(md));
    for (const e of orderEntries(mediaEntries(md), MEDIA_RANK, md.lineOrder)) out.push(...e.lines);
  }
  return out.join(CRLF) + CRLF;
}

/** Session-level entries in RFC order (internal; the parser uses it to decide whether to keep `lineOrder`). */
export function sessionEntries(sd: SessionDescription): Entry[] {
  const entries: Entry[] = [];
  const add = (key: string, line: string): void => {
    entries.push({ key, lines: [line] });
  };
  if (!Number.isSafeInteger(sd.version) || sd.version < 0)
    throw new RangeError(`bad SDP version ${sd.version}`);
  add('v', `v=${sd.version}`);
  if (sd.origin !== undefined) add('o', `o=${originText(sd.origin)}`);
  add('s', `s=${sd.sessionName === '' ? ' ' : text(sd.sessionName)}`);
  if (sd.information !== undefined) add('i', `i=${text(sd.information)}`);
  if (sd.uri !== undefined) add('u', `u=${text(sd.uri)}`);
  for (const e of sd.emails) add('e', `e=${text(e)}`);
  for (const p of sd.phones) add('p', `p=${text(p)}`);
  if (sd.connection !== undefined) add('c', `c=${connectionText(sd.connection)}`);
  for (const b of sd.bandwidths) add('b', `b=${bandwidthText(b)}`);
  for (const t of sd.times) {
    if (!isUint(t.startTime) || !isUint(t.stopTime))
      throw new RangeError(`bad SDP time ${t.startTime} ${t.stopTime}`);
    entries.push({
      key: 't',
      lines: [`t=${t.startTime} ${t.stopTime}`, ...t.repeats.map((r) => `r=${text(r)}`)],
    });
  }
  if (sd.timeZones !== undefined) add('z', `z=${text(sd.timeZones)}`);
  if (sd.key !== undefined) add('k', `k=${text(sd.key)}`);
  for (const a of sd.attributes) add('a', attributeLine(a));
  for (const x of sd.extraLines) add('*', extraLine(x));
  return entries;
}

/** Media-level entries after the `m=` line, in RFC order (internal). */
export function mediaEntries(md: MediaDescription): Entry[] {
  const entries: Entry[] = [];
  const add = (key: string, line: string): void => {
    entries.push({ key, lines: [line] });
  };
  if (md.information !== undefined) add('i', `i=${text(md.information)}`);
  for (const c of md.connections) add('c', `c=${connectionText(c)}`);
  for (const b of md.bandwidths) add('b', `b=${bandwidthText(b)}`);
  if (md.key !== undefined) add('k', `k=${text(md.key)}`);
  for (const a of md.attributes) add('a', attributeLine(a));
  for (const x of md.extraLines) add('*', extraLine(x));
  return entries;
}

/**
 * Replays a recorded line order: entries named by `order` are taken first (per key, in their own order),
 * then entries the order does not account for (added since parsing, or mandatory ones the input lacked)
 * are inserted after the last entry of the same or an earlier RFC rank.
 */
export function orderEntries(
  entries: Entry[],
  rank: Readonly<Record<string, number>>,
  order: string | undefined,
): Entry[] {
  if (order === undefined) return entries;
  const queues = new Map<string, { list: Entry[]; next: number }>();
  for (const e of entries) {
    const q = queues.get(e.key);
    if (q) q.list.push(e);
    else queues.set(e.key, { list: [e], next: 0 });
  }
  const out: Entry[] = [];
  const taken = new Set<Entry>();
  for (const key of order) {
    const q = queues.get(key);
    const e = q?.list[q.next];
    if (q && e) {
      q.next++;
      out.push(e);
      taken.add(e);
    }
  }
  for (const e of entries) {
    if (taken.has(e)) continue;
    const r = rank[e.key] ?? Number.MAX_SAFE_INTEGER;
    let at = 0;
    for (let i = out.length - 1; i >= 0; i--) {
      if ((rank[out[i]!.key] ?? Number.MAX_SAFE_INTEGER) <= r) {
        at = i + 1;
        break;
      }
    }
    out.splice(at, 0, e);
  }
  return out;
}

function mediaLine(md: MediaDescription): string {
  if (!Number.isInteger(md.port) || md.port < 0 || md.port > 65535)
    throw new RangeError(`bad port ${md.port}`);
  let port = String(md.port);
  if (md.portCount !== undefined) {
    if (!isUint(md.portCount)) throw new RangeError(`bad port count ${md.portCount}`);
    port += `/${md.portCount}`;
  }
  const fields = [token(md.type), port, token(md.protocol), ...md.formats.map(token)];
  return `m=${fields.join(' ')}`;
}

function originText(o: Origin): string {
  return [o.username, o.sessionId, o.sessionVersion, o.netType, o.addrType, o.unicastAddress]
    .map(token)
    .join(' ');
}

function connectionText(c: Connection): string {
  return `${token(c.netType)} ${token(c.addrType)} ${token(c.address)}`;
}

function bandwidthText(b: Bandwidth): string {
  if (!isUint(b.bandwidth)) throw new RangeError(`bad bandwidth ${b.bandwidth}`);
  if (b.type.includes(':')) throw new RangeError(`bad bandwidth type ${JSON.stringify(b.type)}`);
  return `${token(b.type)}:${b.bandwidth}`;
}

function attributeLine(a: Attribute): string {
  if (a.name === '' || a.name.includes(':') || a.name.trim() !== a.name)
    throw new RangeError(`bad attribute name ${JSON.stringify(a.name)}`);
  const name = text(a.name);
  return a.value === undefined ? `a=${name}` : `a=${name}:${text(a.value)}`;
}

function extraLine(x: ExtraLine): string {
  if (!/^[A-Za-z]$/.test(x.type)) throw new RangeError(`bad SDP line type ${JSON.stringify(x.type)}`);
  return `${x.type}=${text(x.value)}`;
}

/**
 * A free-text value: anything but a line break. (RFC 8866 §9 also excludes NUL; it is passed through so
 * that whatever parseSdp accepted can be written back.)
 */
function text(s: string): string {
  if (/[\r\n]/.test(s)) throw new RangeError(`line break in SDP value ${JSON.stringify(s)}`);
  return s;
}

/** A field of a structured line: non-empty, without the spaces and tabs that separate fields. */
function token(s: string): string {
  if (s === '' || /[ \t\r\n]/.test(s)) throw new RangeError(`bad SDP field ${JSON.stringify(s)}`);
  return s;
}

function isUint(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}
