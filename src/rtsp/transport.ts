/**
 * The Transport header (RFC 2326 §12.39): a comma-separated list of alternatives, each
 * `protocol/profile[/lower-transport]` followed by `;parameter` items.
 *
 *   Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record
 *   Transport: RTP/AVP;unicast;client_port=5000-5001;mode="PLAY"
 *
 * Whether the lower transport was written is kept (`lowerTransportExplicit`) so a server can answer in
 * the very form it was asked: ffmpeg rejects a reply whose lower transport reads differently
 * ("Nonmatching transport in server reply").
 */
import { ParseError } from '../base/errors.js';
import { RtspErrorCode } from './status.js';
import { hasLineBreak, isToken, parseDecimal, quote, splitOutside, unquote } from './syntax.js';

/** An RTP/RTCP pair of ports or interleaved channels; `rtcp` is absent when only one number was written. */
export interface PortPair {
  rtp: number;
  rtcp?: number;
}

export interface TransportSpec {
  /** Upper-case, e.g. `RTP`. */
  protocol: string;
  /** Upper-case, e.g. `AVP`, `SAVP`, `AVPF`, `SAVPF`. */
  profile: string;
  /** `UDP` unless written otherwise (RFC 2326 §12.39 default). */
  lowerTransport: 'UDP' | 'TCP';
  /** True when the lower transport was written (`RTP/AVP/UDP`), false for `RTP/AVP`. */
  lowerTransportExplicit: boolean;
  delivery?: 'unicast' | 'multicast';
  /** The address, or '' for a bare `destination` parameter. */
  destination?: string;
  source?: string;
  ttl?: number;
  layers?: number;
  port?: PortPair;
  clientPort?: PortPair;
  serverPort?: PortPair;
  interleaved?: PortPair;
  /** 32-bit SSRC, written in hex. */
  ssrc?: number;
  /** Upper-case method(s), e.g. `PLAY`, `RECORD`, `RECEIVE`; a quoted list stays comma-separated. */
  mode?: string;
  append?: boolean;
  /** Parameters this codec does not know, in order, names and values as written. */
  extra: Array<[string, string | undefined]>;
}

function bad(message: string): ParseError {
  return new ParseError(RtspErrorCode.BadTransport, message);
}

/** Parses a Transport header value into its alternatives, in the order of preference the sender gave. */
export function parseTransport(value: string): TransportSpec[] {
  const specs: TransportSpec[] = [];
  for (const part of splitOutside(value, ',')) {
    if (part !== '') specs.push(parseTransportSpec(part));
  }
  if (specs.length === 0) throw bad('empty Transport header');
  return specs;
}

/** Parses one alternative of a Transport header. */
export function parseTransportSpec(text: string): TransportSpec {
  const [head = '', ...params] = splitOutside(text, ';');
  const ids = head.split('/');
  if (ids.length < 2 || ids.length > 3 || !ids.every(isToken)) {
    throw bad(`malformed transport ${JSON.stringify(head.slice(0, 64))}`);
  }
  const lower = ids[2]?.toUpperCase();
  if (lower !== undefined && lower !== 'UDP' && lower !== 'TCP')
    throw bad(`unknown lower transport ${lower}`);
  const spec: TransportSpec = {
    protocol: ids[0]!.toUpperCase(),
    profile: ids[1]!.toUpperCase(),
    lowerTransport: lower ?? 'UDP',
    lowerTransportExplicit: lower !== undefined,
    extra: [],
  };
  for (const param of params) {
    if (param === '') continue; // `RTP/AVP;unicast;` and folded lines leave empty items
    const eq = param.indexOf('=');
    const name = (eq < 0 ? param : param.slice(0, eq)).trim();
    const raw = eq < 0 ? undefined : param.slice(eq + 1).trim();
    if (!isToken(name)) throw bad(`malformed transport parameter ${JSON.stringify(param.slice(0, 64))}`);
    applyParam(spec, name, raw);
  }
  return spec;
}

function applyParam(spec: TransportSpec, name: string, raw: string | undefined): void {
  const value = raw === undefined ? undefined : unquote(raw);
  if (value === undefined && raw !== undefined) throw bad(`unterminated quoted string in ${name}`);
  const required = (): string => {
    if (value === undefined || value === '') throw bad(`transport parameter ${name} needs a value`);
    return value;
  };
  switch (name.toLowerCase()) {
    case 'unicast':
    case 'multicast':
      spec.delivery = name.toLowerCase() as 'unicast' | 'multicast';
      return;
    case 'destination':
      spec.destination = value ?? '';
      return;
    case 'source':
      spec.source = required();
      return;
    case 'ttl':
      spec.ttl = integer(name, required(), 255);
      return;
    case 'layers':
      spec.layers = integer(name, required(), 0xffff);
      return;
    case 'port':
      spec.port = pair(name, required(), 0xffff);
      return;
    case 'client_port':
      spec.clientPort = pair(name, required(), 0xffff);
      return;
    case 'server_port':
      spec.serverPort = pair(name, required(), 0xffff);
      return;
    case 'interleaved':
      spec.interleaved = pair(name, required(), 255);
      return;
    case 'ssrc': {
      // RFC 2326 says 8 hex digits; some servers drop leading zeros.
      const v = required();
      if (!/^[0-9A-Fa-f]{1,8}$/.test(v)) throw bad(`ssrc ${JSON.stringify(v)} is not 1-8 hex digits`);
      spec.ssrc = parseInt(v, 16);
      return;
    }
    case 'mode': {
      const modes = splitOutside(required(), ',').filter((m) => m !== '');
      if (modes.length === 0 || !modes.every(isToken)) throw bad(`malformed mode ${JSON.stringify(value)}`);
      spec.mode = modes.join(',').toUpperCase();
      return;
    }
    case 'append':
      spec.append = true;
      return;
    default:
      spec.extra.push([name, raw]);
  }
}

function integer(name: string, text: string, max: number): number {
  const n = parseDecimal(text, max);
  if (n === undefined) throw bad(`${name}=${text} is not an integer in 0..${max}`);
  return n;
}

function pair(name: string, text: string, max: number): PortPair {
  const dash = text.indexOf('-');
  if (dash < 0) return { rtp: integer(name, text, max) };
  return { rtp: integer(name, text.slice(0, dash), max), rtcp: integer(name, text.slice(dash + 1), max) };
}

/**
 * Writes one alternative or a list of them. Parameters come in a fixed order (delivery, destination,
 * source, interleaved, append, ttl, layers, port, client_port, server_port, ssrc, mode, then `extra`).
 * `mode` is written bare when it is one method, quoted when it lists several. Throws a RangeError for
 * values that cannot be written.
 */
export function serializeTransport(specs: TransportSpec | readonly TransportSpec[]): string {
  const list: readonly TransportSpec[] = isSpecList(specs) ? specs : [specs];
  return list.map(serializeTransportSpec).join(',');
}

function isSpecList(x: TransportSpec | readonly TransportSpec[]): x is readonly TransportSpec[] {
  return Array.isArray(x);
}

function serializeTransportSpec(spec: TransportSpec): string {
  if (!isToken(spec.protocol) || !isToken(spec.profile))
    throw new RangeError('invalid transport protocol/profile');
  let out = `${spec.protocol}/${spec.profile}`;
  if (spec.lowerTransportExplicit || spec.lowerTransport !== 'UDP') out += `/${spec.lowerTransport}`;
  if (spec.delivery !== undefined) out += `;${spec.delivery}`;
  if (spec.destination !== undefined)
    out += spec.destination === '' ? ';destination' : `;destination=${address(spec.destination)}`;
  if (spec.source !== undefined) out += `;source=${address(spec.source)}`;
  if (spec.interleaved !== undefined) out += `;interleaved=${writePair(spec.interleaved, 255)}`;
  if (spec.append === true) out += ';append';
  if (spec.ttl !== undefined) out += `;ttl=${writeInt(spec.ttl, 255)}`;
  if (spec.layers !== undefined) out += `;layers=${writeInt(spec.layers, 0xffff)}`;
  if (spec.port !== undefined) out += `;port=${writePair(spec.port, 0xffff)}`;
  if (spec.clientPort !== undefined) out += `;client_port=${writePair(spec.clientPort, 0xffff)}`;
  if (spec.serverPort !== undefined) out += `;server_port=${writePair(spec.serverPort, 0xffff)}`;
  if (spec.ssrc !== undefined) {
    out += `;ssrc=${writeInt(spec.ssrc, 0xffffffff).toString(16).toUpperCase().padStart(8, '0')}`;
  }
  if (spec.mode !== undefined) {
    const mode = spec.mode.toUpperCase();
    const modes = mode.split(',');
    if (!modes.every(isToken)) throw new RangeError(`invalid transport mode ${JSON.stringify(spec.mode)}`);
    out += modes.length === 1 ? `;mode=${mode}` : `;mode=${quote(mode)}`;
  }
  for (const [name, value] of spec.extra) {
    if (!isToken(name) || (value !== undefined && (hasLineBreak(value) || /[,;]/.test(unquoteSafe(value))))) {
      throw new RangeError(`invalid transport parameter ${JSON.stringify(name)}`);
    }
    out += value === undefined ? `;${name}` : `;${name}=${value}`;
  }
  return out;
}

/** Extra values are stored raw; a quoted one may hold separators, a bare one may not. */
function unquoteSafe(raw: string): string {
  return raw.startsWith('"') && unquote(raw) !== undefined ? '' : raw;
}

function address(a: string): string {
  if (!/^[^\s,;"]+$/.test(a)) throw new RangeError(`invalid transport address ${JSON.stringify(a)}`);
  return a;
}

function writeInt(n: number, max: number): number {
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new RangeError(`transport value ${n} is not in 0..${max}`);
  return n;
}

function writePair(p: PortPair, max: number): string {
  return p.rtcp === undefined
    ? `${writeInt(p.rtp, max)}`
    : `${writeInt(p.rtp, max)}-${writeInt(p.rtcp, max)}`;
}
