import { ParseError } from '../base/errors.js';
import { MEDIA_RANK, SESSION_RANK, mediaEntries, orderEntries, sessionEntries } from './serialize.js';
import type { Entry } from './serialize.js';
import type {
  Attribute,
  Bandwidth,
  Connection,
  MediaDescription,
  Origin,
  SessionDescription,
  TimeDescription,
} from './types.js';

/**
 * Parses an SDP (RFC 8866; RFC 4566 and the RFC 2326 Appendix C usage).
 *
 * Lenient where real cameras and servers deviate, strict where the input cannot be SDP at all:
 *
 * | input | outcome |
 * |---|---|
 * | LF, CRLF or lone CR line ends; no final newline; blank lines; leading BOM; trailing NULs | accepted |
 * | whitespace around a line, or between the type letter and `=` | trimmed (so `s= ` reads as `''`) |
 * | lines out of RFC order (e.g. `t=` before `c=`, `c=` after `a=`) | accepted, order kept in `lineOrder` |
 * | missing `v=`, `o=`, `s=` or `t=` | accepted (`version` 0, no `origin`, `sessionName` `''`, no `times`) |
 * | unknown line type; malformed `o= c= b= t= r=`; a second `v= o= s= i= u= c= z= k=` (session) or `i= k=` (media); a session-only line inside a media section | kept verbatim in `extraLines` |
 * | `a=` with no name (`a=`, `a=:x`) | kept in `extraLines` |
 * | empty input | `ParseError` `SDP_EMPTY` |
 * | a line not shaped `<letter>=...` (HTML page, RTSP headers, binary) | `ParseError` `SDP_BAD_LINE` |
 * | `v=` that is not a number | `ParseError` `SDP_BAD_VERSION` |
 * | `m=` without `<media> <port> <proto>` or with a bad port | `ParseError` `SDP_BAD_MEDIA` |
 *
 * Throws only ParseError.
 */
export function parseSdp(input: string): SessionDescription {
  const sd: SessionDescription = {
    version: 0,
    sessionName: '',
    emails: [],
    phones: [],
    bandwidths: [],
    times: [],
    attributes: [],
    media: [],
    extraLines: [],
  };
  let sessionOrder = '';
  const mediaOrders: string[] = [];
  let sawVersion = false;
  let sawName = false;
  let sawConnection = false;
  let lastTime: TimeDescription | undefined;
  let md: MediaDescription | undefined;
  let lines = 0;

  const rawLines = input
    .replace(/^\uFEFF/, '')
    .replace(/\0+$/, '')
    .split(/\r\n|\r|\n/);
  for (let n = 0; n < rawLines.length; n++) {
    const line = rawLines[n]!.trim();
    if (line === '') continue;
    const m = /^([A-Za-z])[ \t]*=/.exec(line);
    if (!m) {
      throw new ParseError(
        'SDP_BAD_LINE',
        `SDP line ${n + 1}: expected "<type>=<value>", got ${preview(line)}`,
      );
    }
    lines++;
    const type = m[1]!;
    const value = line.slice(m[0].length);

    if (type === 'm') {
      md = parseMediaLine(value, n + 1);
      sd.media.push(md);
      mediaOrders.push('');
      continue;
    }

    if (md !== undefined) {
      // Media level (RFC 8866 §5: i, c, b, k, a after m=).
      const media = md;
      const keep = (key: string): void => {
        const i = mediaOrders.length - 1;
        mediaOrders[i] = `${mediaOrders[i] ?? ''}${key}`;
      };
      const extra = (): void => {
        media.extraLines.push({ type, value });
        keep('*');
      };
      switch (type) {
        case 'i':
          if (media.information === undefined) {
            media.information = value;
            keep('i');
          } else extra();
          break;
        case 'k':
          if (media.key === undefined) {
            media.key = value;
            keep('k');
          } else extra();
          break;
        case 'c': {
          const c = parseConnection(value);
          if (c) {
            media.connections.push(c);
            keep('c');
          } else extra();
          break;
        }
        case 'b': {
          const b = parseBandwidth(value);
          if (b) {
            media.bandwidths.push(b);
            keep('b');
          } else extra();
          break;
        }
        case 'a': {
          const a = parseAttribute(value);
          if (a) {
            media.attributes.push(a);
            keep('a');
          } else extra();
          break;
        }
        default:
          extra();
      }
      continue;
    }

    // Session level.
    const extra = (): void => {
      sd.extraLines.push({ type, value });
      sessionOrder += '*';
    };
    const keep = (key: string): void => {
      sessionOrder += key;
    };
    switch (type) {
      case 'v':
        if (sawVersion) extra();
        else {
          if (!/^\d{1,9}$/.test(value.trim()))
            throw new ParseError('SDP_BAD_VERSION', `SDP line ${n + 1}: bad version ${preview(value)}`);
          sd.version = Number(value.trim());
          sawVersion = true;
          keep('v');
        }
        break;
      case 'o': {
        const o = sd.origin === undefined ? parseOrigin(value) : undefined;
        if (o) {
          sd.origin = o;
          keep('o');
        } else extra();
        break;
      }
      case 's':
        if (!sawName) {
          sd.sessionName = value;
          sawName = true;
          keep('s');
        } else extra();
        break;
      case 'i':
        if (sd.information === undefined) {
          sd.information = value;
          keep('i');
        } else extra();
        break;
      case 'u':
        if (sd.uri === undefined) {
          sd.uri = value;
          keep('u');
        } else extra();
        break;
      case 'e':
        sd.emails.push(value);
        keep('e');
        break;
      case 'p':
        sd.phones.push(value);
        keep('p');
        break;
      case 'c': {
        const c = sawConnection ? undefined : parseConnection(value);
        if (c) {
          sd.connection = c;
          sawConnection = true;
          keep('c');
        } else extra();
        break;
      }
      case 'b': {
        const b = parseBandwidth(value);
        if (b) {
          sd.bandwidths.push(b);
          keep('b');
        } else extra();
        break;
      }
      case 't': {
        const t = parseTime(value);
        if (t) {
          sd.times.push(t);
          lastTime = t;
          keep('t');
        } else extra();
        break;
      }
      case 'r':
        // RFC 8866 §5.10: repeat times belong to the preceding t=; they travel with it.
        if (lastTime && value.trim() !== '') lastTime.repeats.push(value);
        else extra();
        break;
      case 'z':
        if (sd.timeZones === undefined) {
          sd.timeZones = value;
          keep('z');
        } else extra();
        break;
      case 'k':
        if (sd.key === undefined) {
          sd.key = value;
          keep('k');
        } else extra();
        break;
      case 'a': {
        const a = parseAttribute(value);
        if (a) {
          sd.attributes.push(a);
          keep('a');
        } else extra();
        break;
      }
      default:
        extra();
    }
  }

  if (lines === 0) throw new ParseError('SDP_EMPTY', 'empty SDP');

  const sessionLineOrder = recordedOrder(sessionEntries(sd), SESSION_RANK, sessionOrder);
  if (sessionLineOrder !== undefined) sd.lineOrder = sessionLineOrder;
  sd.media.forEach((media, i) => {
    const order = recordedOrder(mediaEntries(media), MEDIA_RANK, mediaOrders[i]!);
    if (order !== undefined) media.lineOrder = order;
  });
  return sd;
}

/**
 * The line order to record, or undefined when serializing in RFC order reproduces the input. The
 * recorded order is the full replayed one (including lines the input lacked, like a missing `s=`), so
 * parsing the serialized text records the same order again.
 */
function recordedOrder(
  entries: Entry[],
  rank: Readonly<Record<string, number>>,
  observed: string,
): string | undefined {
  const canonical = entries.map((e) => e.key).join('');
  const replayed = orderEntries(entries, rank, observed)
    .map((e) => e.key)
    .join('');
  return replayed === canonical ? undefined : replayed;
}

function parseMediaLine(value: string, lineNo: number): MediaDescription {
  const f = value.trim().split(/[ \t]+/);
  const [type, port, protocol] = f;
  const pm = port === undefined ? null : /^(\d{1,5})(?:\/(\d{1,9}))?$/.exec(port);
  if (type === undefined || type === '' || protocol === undefined || !pm || Number(pm[1]) > 65535) {
    throw new ParseError('SDP_BAD_MEDIA', `SDP line ${lineNo}: bad media line ${preview(value)}`);
  }
  const md: MediaDescription = {
    type,
    port: Number(pm[1]),
    protocol,
    formats: f.slice(3),
    connections: [],
    bandwidths: [],
    attributes: [],
    extraLines: [],
  };
  if (pm[2] !== undefined) md.portCount = Number(pm[2]);
  return md;
}

function parseOrigin(value: string): Origin | undefined {
  const f = value.trim().split(/[ \t]+/);
  if (f.length !== 6) return undefined;
  const [username, sessionId, sessionVersion, netType, addrType, unicastAddress] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { username, sessionId, sessionVersion, netType, addrType, unicastAddress };
}

function parseConnection(value: string): Connection | undefined {
  const f = value.trim().split(/[ \t]+/);
  if (f.length !== 3) return undefined;
  const [netType, addrType, address] = f as [string, string, string];
  return { netType, addrType, address };
}

function parseBandwidth(value: string): Bandwidth | undefined {
  const m = /^([^:\s]+):[ \t]*(\d{1,15})$/.exec(value.trim());
  if (!m) return undefined;
  return { type: m[1]!, bandwidth: Number(m[2]) };
}

function parseTime(value: string): TimeDescription | undefined {
  const m = /^(\d{1,15})[ \t]+(\d{1,15})$/.exec(value.trim());
  if (!m) return undefined;
  return { startTime: Number(m[1]), stopTime: Number(m[2]), repeats: [] };
}

/**
 * `a=name` or `a=name:value`. The name is trimmed (cameras write `a=x-dimensions :...`); the value is
 * kept verbatim so that it round-trips.
 */
function parseAttribute(value: string): Attribute | undefined {
  const colon = value.indexOf(':');
  const name = (colon < 0 ? value : value.slice(0, colon)).trim();
  if (name === '') return undefined;
  return colon < 0 ? { name } : { name, value: value.slice(colon + 1) };
}

function preview(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);
}
