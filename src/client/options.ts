/** The public types of RtspClient: its options, what describe() returns, method options and events. */
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { AccessUnit } from '../format/access-unit.js';
import type { RtcpPacket } from '../rtp/rtcp.js';
import type { RtpPacket } from '../rtp/packet.js';
import type { RtspRequest, RtspResponse } from '../rtsp/message.js';
import type { RangeSpec } from '../rtsp/range.js';
import type { SessionDescription } from '../sdp/index.js';
import type { RtspClientError } from './errors.js';
import type { ClientTransport } from './media.js';
import type { MulticastPreference } from './multicast.js';
import type { ClientTrack } from './tracks.js';

export interface RtspClientOptions {
  /** Connect timeout and the time each request may wait for its reply. Default 10000. */
  timeoutMs?: number;
  /** rtsps: verify the server's certificate. Default true; false accepts self-signed certificates. */
  rejectUnauthorized?: boolean;
  /** rtsps: pin the server's certificate by its SHA-256 fingerprint (hex, colons optional); see connection.ts. */
  tlsFingerprint?: string;
  /**
   * UDP: take RTP/RTCP from any port of the server's address (cameras that send from ports other than
   * their SETUP reply's `server_port`). Default true; false takes them only from `server_port` when the
   * reply names one (mediamtx's `sourceAnyPortEnable` off).
   */
  anyPort?: boolean;
  /** UDP: when nothing arrives this long after PLAY, switch to TCP. Default 3000. */
  udpTimeoutMs?: number;
  /** Fall back from UDP to TCP (on 461 or silence). Default true. */
  udpFallback?: boolean;
  /** Interval of RTCP receiver reports. Default 5000. */
  receiverReportIntervalMs?: number;
  /** Overrides the keepalive interval (default: session timeout / 2). */
  keepaliveIntervalMs?: number;
  /** 3xx replies followed at most. Default 5. */
  maxRedirects?: number;
  /**
   * Follow REDIRECT requests from the server (RFC 2326 §10.10): TEARDOWN the session, then DESCRIBE,
   * SETUP the same tracks over the same transport and PLAY at the new Location. Default true; when false
   * the 'redirect' event is all that happens.
   */
  followRedirect?: boolean;
  /** Depacketize into 'accessUnit' events. Default true. */
  accessUnits?: boolean;
  /**
   * RTSP over HTTP (the QuickTime tunnel): requests go base64 in the body of a POST, replies and
   * interleaved media come back on a GET, both to the URL's host and port. Media is then always
   * interleaved. Default false; implied by rtsph:// URLs (whose default port is 80).
   */
  httpTunnel?: boolean;
  /**
   * RTSP over WebSocket (ONVIF, subprotocol rtsp.onvif.org): requests, replies and interleaved media in
   * binary messages of one WebSocket to the URL's host, port and path. Media is then always interleaved.
   * Default false; implied by ws:// and wss:// URLs.
   */
  webSocket?: boolean;
  userAgent?: string;
  logger?: Logger;
  /** Time and timers (replies, keepalive, reports, the UDP watchdog); tests inject a manual one. Default systemClock. */
  clock?: Clock;
}

export interface DescribeResult {
  sdp: SessionDescription;
  /** The SDP text as received. */
  sdpText: string;
  /** Aggregate control URL (for PLAY, PAUSE, TEARDOWN). */
  sessionUrl: string;
  tracks: ClientTrack[];
  response: RtspResponse;
}

export interface SetupOptions {
  /**
   * Default 'udp' (with fallback to TCP, see RtspClientOptions.udpFallback). 'multicast' asks
   * `RTP/AVP;multicast` and joins the group the server names (play only; no fallback).
   */
  transport?: ClientTransport;
  /** Track indexes to set up; default all. */
  tracks?: readonly number[];
  /** With transport 'multicast': the group and port asked for (the server may give others). */
  multicast?: MulticastPreference;
}

export interface PlayOptions {
  /** Default `npt=0-`; pass null to send no Range. */
  range?: RangeSpec | null;
  scale?: number;
  /** More PLAY headers (ONVIF replay: `Require: onvif-replay`, `Rate-Control`, `Frames`). */
  headers?: Record<string, string>;
}

export interface RtspClientEvents {
  rtp: [track: ClientTrack, packet: RtpPacket];
  rtcp: [track: ClientTrack, packets: RtcpPacket[]];
  accessUnit: [track: ClientTrack, au: AccessUnit];
  /** A REDIRECT request from the server (RFC 2326 §10.10), with its Location (followed by default). */
  redirect: [location: string];
  /** Any request from the server, after it was answered. */
  serverRequest: [request: RtspRequest];
  /** UDP gave way to TCP; the reason is readable. */
  transportFallback: [reason: string];
  /** RTCP BYE from the track's sender (RFC 3550 §6.6): it sends nothing more. */
  bye: [track: ClientTrack];
  /** Every track set up got its BYE: the presentation is over (e.g. the end of a file on demand). */
  end: [];
  /** A fault outside of a pending request (socket error, unparseable data, failed fallback). */
  error: [err: RtspClientError];
  close: [];
}

/** The options with their defaults (the transport flags are read from the URL too: see resolveClientUrl). */
export type ResolvedOptions = Required<
  Omit<RtspClientOptions, 'keepaliveIntervalMs' | 'logger' | 'httpTunnel' | 'webSocket' | 'tlsFingerprint'>
> & { keepaliveIntervalMs: number | undefined; tlsFingerprint: string | undefined };

export function resolveOptions(options: RtspClientOptions): ResolvedOptions {
  return {
    timeoutMs: options.timeoutMs ?? 10_000,
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    tlsFingerprint: options.tlsFingerprint,
    anyPort: options.anyPort ?? true,
    udpTimeoutMs: options.udpTimeoutMs ?? 3000,
    udpFallback: options.udpFallback ?? true,
    receiverReportIntervalMs: options.receiverReportIntervalMs ?? 5000,
    keepaliveIntervalMs: options.keepaliveIntervalMs,
    maxRedirects: options.maxRedirects ?? 5,
    followRedirect: options.followRedirect ?? true,
    accessUnits: options.accessUnits ?? true,
    userAgent: options.userAgent ?? 'rtspkit',
    clock: options.clock ?? systemClock,
  };
}
