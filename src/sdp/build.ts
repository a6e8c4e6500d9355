// Builders for SDPs made from scratch (a server answering DESCRIBE). Defaults follow RFC 2326 Appendix C
// and the interop notes: `c=IN IP4 0.0.0.0` (some clients require a c= line), `s= ` when there is no name,
// `t=0 0`, aggregate `a=control:*` and relative `a=control:trackID=N` per medium.
import type { MediaDescription, SessionDescription } from './types.js';

export interface SessionOptions {
  /** `o=` session id: decimal digits, chosen by the caller (no clock or randomness in this layer). */
  sessionId?: string;
  /** `o=` session version; bump it when the description changes. */
  sessionVersion?: string;
  /** `o=` unicast address (default `127.0.0.1`) and its type (default from the address). */
  originAddress?: string;
  /** `s=`; default none, serialized as `s= `. */
  sessionName?: string;
  /** `i=` */
  information?: string;
  /** `a=tool:`; default `rtspkit`; `null` to leave it out. */
  tool?: string | null;
  /** Session-level `a=control:`; default `*`; `null` to leave it out. */
  control?: string | null;
  /** `a=range:` value such as `npt=0-10.000` or `npt=now-`. */
  range?: string;
  /** Session-level `c=` address; default `0.0.0.0` (IP4) — pass `::` for IP6; `null` to leave it out. */
  connectionAddress?: string | null;
}

export function createSessionDescription(options: SessionOptions = {}): SessionDescription {
  const originAddress = options.originAddress ?? '127.0.0.1';
  const sd: SessionDescription = {
    version: 0,
    origin: {
      username: '-',
      sessionId: options.sessionId ?? '0',
      sessionVersion: options.sessionVersion ?? '0',
      netType: 'IN',
      addrType: addrTypeOf(originAddress),
      unicastAddress: originAddress,
    },
    sessionName: options.sessionName ?? '',
    emails: [],
    phones: [],
    bandwidths: [],
    times: [{ startTime: 0, stopTime: 0, repeats: [] }],
    attributes: [],
    media: [],
    extraLines: [],
  };
  if (options.information !== undefined) sd.information = options.information;
  const connectionAddress = options.connectionAddress === undefined ? '0.0.0.0' : options.connectionAddress;
  if (connectionAddress !== null)
    sd.connection = { netType: 'IN', addrType: addrTypeOf(connectionAddress), address: connectionAddress };
  const tool = options.tool === undefined ? 'rtspkit' : options.tool;
  if (tool !== null) sd.attributes.push({ name: 'tool', value: tool });
  const control = options.control === undefined ? '*' : options.control;
  if (control !== null) sd.attributes.push({ name: 'control', value: control });
  if (options.range !== undefined) sd.attributes.push({ name: 'range', value: options.range });
  return sd;
}

export interface MediaOptions {
  /** `audio`, `video`, `application`, ... */
  type: string;
  /** Default 0: the client chooses ports in SETUP (RFC 2326 Appendix C.1.2). */
  port?: number;
  /** Default `RTP/AVP`. */
  protocol?: string;
  /** Payload types or other formats; more can be added with addMediaFormat. */
  formats?: (string | number)[];
  /** Adds `a=control:trackID=<n>`. */
  trackId?: number;
  /** Adds `a=control:<control>` (wins over trackId). */
  control?: string;
}

export function createMediaDescription(options: MediaOptions): MediaDescription {
  const md: MediaDescription = {
    type: options.type,
    port: options.port ?? 0,
    protocol: options.protocol ?? 'RTP/AVP',
    formats: (options.formats ?? []).map(String),
    connections: [],
    bandwidths: [],
    attributes: [],
    extraLines: [],
  };
  const control =
    options.control ?? (options.trackId === undefined ? undefined : `trackID=${options.trackId}`);
  if (control !== undefined) md.attributes.push({ name: 'control', value: control });
  return md;
}

function addrTypeOf(address: string): string {
  return address.includes(':') ? 'IP6' : 'IP4';
}
