// The SDP data model (RFC 8866 §5; RFC 4566 compatible).
//
// Design: every line of the input lands somewhere, so that `serializeSdp(parseSdp(s))` reproduces
// well-formed real-world SDPs byte for byte (up to line endings). Structured fields (o=, c=, b=, t=, m=)
// are typed; attributes stay raw `{ name, value }` pairs in their original order, and typed views over
// them live in attributes.ts / rtpmap.ts / fmtp.ts. Lines the parser cannot place (unknown types,
// malformed or duplicated single-instance fields) are kept verbatim in `extraLines`.

/** `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 §5.2). */
export interface Origin {
  username: string;
  /** Kept as text: real servers use 64-bit ids (GStreamer) that a JS number cannot hold. */
  sessionId: string;
  sessionVersion: string;
  netType: string;
  addrType: string;
  unicastAddress: string;
}

/** `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7). */
export interface Connection {
  netType: string;
  addrType: string;
  /** Verbatim, including any `/ttl` or `/count` suffix of a multicast address. */
  address: string;
}

/** `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8), bandwidth in kbit/s for AS/CT. */
export interface Bandwidth {
  type: string;
  bandwidth: number;
}

/** `t=<start-time> <stop-time>` (NTP seconds, 0 = unbounded) and its `r=` lines (RFC 8866 §5.9, §5.10). */
export interface TimeDescription {
  startTime: number;
  stopTime: number;
  /** Raw `r=` values, in order. */
  repeats: string[];
}

/** `a=<name>` (property attribute: no value) or `a=<name>:<value>` (RFC 8866 §5.13). */
export interface Attribute {
  name: string;
  /** Absent for a property attribute; `''` for `a=name:` with an empty value. */
  value?: string;
}

/** A line kept verbatim: unknown type, or a known type the parser could not place. */
export interface ExtraLine {
  /** The one-character type before `=`. */
  type: string;
  value: string;
}

/** What session and media descriptions have in common: attributes (and typed helpers that read them). */
export interface HasAttributes {
  attributes: Attribute[];
}

/** `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` and its media-level lines (RFC 8866 §5.14). */
export interface MediaDescription extends HasAttributes {
  /** `audio`, `video`, `text`, `application`, `message`, or anything else. */
  type: string;
  port: number;
  portCount?: number;
  /** `RTP/AVP`, `RTP/AVP/TCP`, `RTP/SAVP`, `udp`, ... */
  protocol: string;
  /** Media formats as written: RTP payload type numbers for RTP profiles, opaque tokens otherwise. */
  formats: string[];
  /** `i=` */
  information?: string;
  /** `c=` lines (several allowed at media level, e.g. for layered multicast). */
  connections: Connection[];
  /** `b=` lines. */
  bandwidths: Bandwidth[];
  /** `k=` (obsolete in RFC 8866, kept verbatim). */
  key?: string;
  attributes: Attribute[];
  extraLines: ExtraLine[];
  /**
   * Present only when the input's media-level lines were not in RFC order: one character per line after
   * `m=` (`i c b k a`, `*` for an extra line). The serializer replays it to reproduce the input order.
   */
  lineOrder?: string;
}

/** A whole session description (RFC 8866 §5). */
export interface SessionDescription extends HasAttributes {
  /** `v=` (always 0 in practice). */
  version: number;
  /** `o=`; absent when the input had none (or a malformed one, kept in `extraLines`). */
  origin?: Origin;
  /** `s=`; `''` is serialized as `s= ` (one space), the RFC 8866 §5.3 spelling of "no name". */
  sessionName: string;
  /** `i=` */
  information?: string;
  /** `u=` */
  uri?: string;
  /** `e=` lines. */
  emails: string[];
  /** `p=` lines. */
  phones: string[];
  /** Session-level `c=`. */
  connection?: Connection;
  /** Session-level `b=` lines. */
  bandwidths: Bandwidth[];
  /** `t=` lines with their `r=` lines; empty when the input had none (RFC 2326 §14.1 example). */
  times: TimeDescription[];
  /** `z=` (raw). */
  timeZones?: string;
  /** `k=` (obsolete in RFC 8866, kept verbatim). */
  key?: string;
  /** Session-level attributes, in order. */
  attributes: Attribute[];
  media: MediaDescription[];
  extraLines: ExtraLine[];
  /**
   * Present only when the input's session-level lines were not in RFC order: one character per line
   * (`v o s i u e p c b t z k a`, `*` for an extra line; `r=` lines travel with their `t=`).
   */
  lineOrder?: string;
}

/** `sendrecv` (the default), `sendonly`, `recvonly` or `inactive` (RFC 8866 §6.7). */
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
