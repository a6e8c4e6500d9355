/**
 * A pull: a path fed by another RTSP server (a camera, another rtspkit: a cluster edge pulling from its
 * owner node), through the client library (src/client/). One upstream session at a time (DESCRIBE,
 * SETUP, PLAY), its RTP written into the path's Stream; when the session is lost (connection closed,
 * BYE on every track, no media for `noMediaTimeoutMs`) it is opened again after an exponential backoff
 * between `reconnectMinDelayMs` and `reconnectMaxDelayMs`, and the readers stay: sequence numbers and
 * timestamps go on across the outage (pull-continuity.ts). When the upstream comes back with other
 * media (codec parameters changed), the path's Stream is renewed through `PathSourceControl.mediaChanged`
 * ('upstream media changed': readers are told and end or follow; DEVELOPERS.md says how).
 *
 * Credentials: `url` may carry them (the client answers 401s with them); everything this module shows
 * (the owner, logs, stats, errors) has them removed (`stripCredentials`, `redactCredentials`).
 *
 * Entry points: `openRtspPull` (the first session opened before it resolves: on-demand starts and the
 * cluster) and `RtspPullSource.connectInBackground` (always-on config pulls: retried until the first
 * session, then the path the caller holds is started: app-pulls.ts).
 */
import {
  clockInterval,
  clockTimeout,
  ntpToUnixMs,
  systemClock,
  type Clock,
  type ClockTimer,
} from '../base/clock.js';
import { isParseError } from '../base/errors.js';
import { nullLogger, type Logger } from '../base/logger.js';
import { RtspClient } from '../client/client.js';
import { RtspClientError } from '../client/errors.js';
import type { ClientTransport } from '../client/media.js';
import type { ClientTrack } from '../client/tracks.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { Stream } from '../media/stream.js';
import type { PathOwner, PathSource, PathSourceControl } from '../paths/path.js';
import type { RtcpPacket } from '../rtp/rtcp.js';
import { serializeRtpPacket, type RtpPacket } from '../rtp/packet.js';
import { parseRange, type RangeSpec } from '../rtsp/range.js';
import { stripCredentials } from '../rtsp/url.js';
import { mediaFormats } from '../sdp/formats.js';
import { parseAnnouncedSdp } from '../server/media-description.js';
import { PullContinuity } from './pull-continuity.js';
import { rtpTimesByTrack } from './upstream-rtp-info.js';
import { PullStats, type PullStatsSnapshot } from './pull-stats.js';

/** How media comes from the upstream: `auto` is UDP falling back to TCP; `http` the RTSP-over-HTTP tunnel. */
export type PullTransport = 'auto' | 'udp' | 'tcp' | 'multicast' | 'http';

export const PULL_TRANSPORTS: readonly PullTransport[] = ['auto', 'udp', 'tcp', 'multicast', 'http'];

/** The client's SETUP transport for a pull's: `http` is interleaved in the tunnel, `auto` starts with UDP. */
export function clientTransportOf(t: PullTransport): ClientTransport {
  return t === 'tcp' || t === 'http' ? 'tcp' : t === 'multicast' ? 'multicast' : 'udp';
}

export interface RtspPullOptions {
  /** `rtsp://`, `rtsps://` or `rtsp+http://` (the HTTP tunnel), credentials allowed. */
  url: string;
  /** Default `auto`. `multicast` joins the group the upstream names (client/multicast.ts; no fallback). */
  transport?: PullTransport;
  /** UDP: take media from any port of the upstream's address (cameras sending from other ports). Default false. */
  anyPort?: boolean;
  /** rtsps: the upstream certificate's SHA-256 fingerprint (hex); pinned, whoever signed it. */
  tlsFingerprint?: string;
  /** The PLAY Range (RFC 2326 §12.29) asked of the upstream, e.g. `npt=30-` or `clock=...`; default `npt=0-`. */
  range?: string;
  /** The PLAY Scale (§12.34) asked of the upstream. */
  scale?: number;
  /** Backoff between attempts: doubled after each failure, from min to max. Defaults 1000 and 30000. */
  reconnectMinDelayMs?: number;
  reconnectMaxDelayMs?: number;
  /** Connect and reply timeout of each request. Default 10000. */
  timeoutMs?: number;
  /** A session that brings no RTP for this long is lost (opened again). Default 10000. */
  noMediaTimeoutMs?: number;
  /** Whether the path's owner says on demand (shown in the API). Default false. */
  onDemand?: boolean;
  clock?: Clock;
  logger?: Logger;
}

export const DEFAULT_RECONNECT_MIN_DELAY_MS = 1000;
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 30_000;
export const DEFAULT_PULL_TIMEOUT_MS = 10_000;
export const DEFAULT_NO_MEDIA_TIMEOUT_MS = 10_000;

/** Removes the userinfo of every URL in `text` (error messages may quote a URL whole). */
export function redactCredentials(text: string): string {
  return text.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@\s]*@/g, '$1');
}

/** The URL shown for a pull (API, logs, owner): no credentials, `rtsp+http://` kept as written. */
export function displayPullUrl(url: string): string {
  const { url: plain, tunnel } = splitTunnelScheme(url);
  let shown: string;
  try {
    shown = stripCredentials(plain);
  } catch (e) {
    if (!isParseError(e)) throw e;
    shown = redactCredentials(plain);
  }
  return tunnel ? shown.replace(/^rtsp:/i, 'rtsp+http:') : shown;
}

function splitTunnelScheme(url: string): { url: string; tunnel: boolean } {
  return /^rtsp\+http:\/\//i.test(url)
    ? { url: `rtsp${url.slice('rtsp+http'.length)}`, tunnel: true }
    : { url, tunnel: false };
}

/** What identifies media for readers: a change of any of it renews the path's Stream. */
function mediaSignature(media: PublishedMedia): string {
  return JSON.stringify(
    media.tracks.map((t) => [
      t.payloadType,
      t.encodingName.toUpperCase(),
      t.clockRate,
      Object.entries(t.fmtp)
        .map(([k, v]) => [k.toLowerCase(), v] as const)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ]),
  );
}

/** One upstream session: the client, its media, and which client track feeds which path track. */
interface UpstreamSession {
  client: RtspClient;
  media: PublishedMedia;
  /** Client track index → the path's track index. */
  trackOf: Map<number, number>;
  /** Per path track, the PLAY reply's RTP-Info rtptime: where the tracks sit against each other. */
  rtpTimes: (number | undefined)[];
}

/**
 * Opens a pull: the first upstream session is up (its media known) when the promise resolves; it
 * rejects with an RtspClientError whose message has no credentials (unreachable, 401, 404, bad SDP).
 */
export async function openRtspPull(options: RtspPullOptions): Promise<RtspPullSource> {
  const source = new RtspPullSource(options);
  await source.open();
  return source;
}

export class RtspPullSource implements PathSource {
  readonly owner: Extract<PathOwner, { kind: 'pull' }>;
  readonly #opts: RtspPullOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #range: RangeSpec | undefined;
  readonly #stats = new PullStats();
  #media: PublishedMedia | undefined;
  #session: UpstreamSession | undefined;
  #continuity: PullContinuity | undefined;
  #stream: Stream | undefined;
  #control: PathSourceControl | undefined;
  #failures = 0;
  #retry: ClockTimer | undefined;
  #watchdog: ClockTimer | undefined;
  #lastPacketMs = 0;
  #stopped = false;
  #opening: Promise<UpstreamSession> | undefined;

  constructor(options: RtspPullOptions) {
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? nullLogger).child({ upstream: displayPullUrl(options.url) });
    this.owner = { kind: 'pull', url: displayPullUrl(options.url), onDemand: options.onDemand ?? false };
    if (options.range !== undefined) {
      try {
        this.#range = parseRange(options.range);
      } catch (e) {
        if (!isParseError(e)) throw e;
        throw new RtspClientError('BAD_RANGE', `pull Range ${JSON.stringify(options.range)}: ${e.message}`);
      }
    }
  }

  /** The media of the current upstream session (throws before the first one). */
  get media(): PublishedMedia {
    if (this.#media === undefined) throw new RtspClientError('STATE', 'the pull has no session yet');
    return this.#media;
  }

  /** Opens the first session; rejects (and stops) when it cannot. */
  async open(): Promise<void> {
    try {
      this.#adopt(await this.#openSession());
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /**
   * Always-on pulls: tries the first session until it comes, with the same backoff as reconnects
   * (each failure logged), then calls `onFirstSession` (the caller starts the path it holds). `stop`
   * ends the tries.
   */
  connectInBackground(onFirstSession: (source: RtspPullSource) => void): void {
    this.#attemptAfter(0, () => onFirstSession(this));
  }

  start(stream: Stream, control?: PathSourceControl): void {
    this.#stream = stream;
    this.#control = control;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stats.state = 'stopped';
    this.#retry?.cancel();
    this.#watchdog?.cancel();
    this.#stream = undefined;
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined) await this.#closeSession(session, true);
  }

  stats(): PullStatsSnapshot {
    return this.#stats.snapshot(this.#clock.monotonicMs());
  }

  // ---- sessions ----

  #openSession(): Promise<UpstreamSession> {
    this.#opening ??= this.#connect().finally(() => (this.#opening = undefined));
    return this.#opening;
  }

  async #connect(): Promise<UpstreamSession> {
    const opts = this.#opts;
    const transport = opts.transport ?? 'auto';
    const { url, tunnel } = splitTunnelScheme(opts.url);
    const client = new RtspClient(url, {
      timeoutMs: opts.timeoutMs ?? DEFAULT_PULL_TIMEOUT_MS,
      httpTunnel: tunnel || transport === 'http',
      udpFallback: transport === 'auto',
      anyPort: opts.anyPort ?? false,
      accessUnits: false,
      clock: this.#clock,
      logger: this.#logger,
      ...(opts.tlsFingerprint !== undefined ? { tlsFingerprint: opts.tlsFingerprint } : {}),
    });
    // Faults between requests end the session (the 'close' that follows); here they are only noted.
    client.on('error', (err) => (this.#stats.lastError = redactCredentials(err.message)));
    try {
      await client.connect();
      const described = await client.describe();
      let media: PublishedMedia;
      try {
        media = parseAnnouncedSdp(described.sdpText);
      } catch (e) {
        if (!isParseError(e)) throw e;
        throw new RtspClientError('BAD_SDP', `the upstream's SDP has no usable track: ${e.message}`);
      }
      // parseAnnouncedSdp keeps the RTP sections with a format, in order: the same choice here.
      const kept = described.tracks.filter(
        (t) => /^RTP\//i.test(t.media.protocol) && mediaFormats(t.media)[0] !== undefined,
      );
      const trackOf = new Map(kept.map((t, i) => [t.index, i]));
      await client.setup({
        transport: clientTransportOf(transport),
        tracks: kept.map((t) => t.index),
      });
      const played = await client.play({
        ...(this.#range !== undefined ? { range: this.#range } : {}),
        ...(opts.scale !== undefined ? { scale: opts.scale } : {}),
      });
      const rtpTimes = rtpTimesByTrack(
        played.headers.get('RTP-Info'),
        kept.map((t) => t.controlUrl),
      );
      return { client, media, trackOf, rtpTimes };
    } catch (e) {
      client.close();
      const message = redactCredentials((e as Error).message);
      this.#stats.lastError = message;
      this.#stats.failedAttempts++;
      if (e instanceof RtspClientError) throw new RtspClientError(e.code, message, { cause: e });
      throw e;
    }
  }

  /** Makes `session` the current one: its packets go to the Stream, its loss starts a reconnect. */
  #adopt(session: UpstreamSession): void {
    const first = this.#media === undefined;
    const changed = !first && mediaSignature(session.media) !== mediaSignature(this.#media!);
    if (first || changed) {
      this.#media = session.media;
      this.#continuity = new PullContinuity(session.media.tracks.map((t) => t.clockRate));
    } else {
      this.#continuity!.newSession(session.rtpTimes);
      this.#stats.reconnects++;
    }
    this.#session = session;
    this.#failures = 0;
    this.#stats.state = 'online';
    this.#stats.setSession(() => session.client.stats());
    this.#lastPacketMs = this.#clock.monotonicMs();
    const { client } = session;
    client.on('rtp', (track, packet) => this.#onRtp(session, track, packet));
    client.on('rtcp', (track, packets) => this.#onRtcp(session, track, packets));
    client.on('end', () => this.#lost(session, 'the upstream sent RTCP BYE on every track'));
    // `auto`: the client's own move from UDP to TCP plays the session again, with new numbering.
    client.on('transportFallback', () => {
      if (this.#session === session) this.#continuity?.newSession();
    });
    client.on('close', () => this.#lost(session, 'the upstream connection closed'));
    this.#armWatchdog(session);
    if (first) this.#logger.info({ tracks: session.media.tracks.length }, 'pull session started');
    else this.#logger.info({ reconnects: this.#stats.reconnects }, 'pull session started again');
    if (changed) {
      this.#stats.mediaChanges++;
      this.#logger.warn(
        { reason: 'upstream media changed' },
        'the upstream came back with other media: the path is renewed',
      );
      this.#control?.mediaChanged('upstream media changed');
    }
  }

  #onRtp(session: UpstreamSession, track: ClientTrack, packet: RtpPacket): void {
    const index = session.trackOf.get(track.index);
    if (index === undefined || this.#session !== session) return;
    const nowMs = this.#clock.monotonicMs();
    this.#lastPacketMs = nowMs;
    this.#stats.onPacket(packet.payload.length, nowMs);
    const stream = this.#stream;
    if (stream === undefined || this.#continuity === undefined) return;
    const { sequenceNumber, timestamp } = this.#continuity.rewrite(
      index,
      packet.sequenceNumber,
      packet.timestamp,
      nowMs,
    );
    // A copy with our numbers: the client's packet is a view into its receive buffer.
    stream.ingestRtp(index, serializeRtpPacket({ ...packet, sequenceNumber, timestamp }));
  }

  #onRtcp(session: UpstreamSession, track: ClientTrack, packets: readonly RtcpPacket[]): void {
    const index = session.trackOf.get(track.index);
    if (index === undefined || this.#session !== session) return;
    for (const p of packets) {
      if (p.type !== 'sr') continue;
      const timestamp = this.#continuity?.senderReportTimestamp(index, p.rtpTimestamp);
      if (timestamp !== undefined) this.#stream?.ingestSenderReport(index, timestamp, ntpToUnixMs(p.ntp));
    }
  }

  #armWatchdog(session: UpstreamSession): void {
    this.#watchdog?.cancel();
    const limitMs = this.#opts.noMediaTimeoutMs ?? DEFAULT_NO_MEDIA_TIMEOUT_MS;
    this.#watchdog = clockInterval(
      this.#clock,
      () => {
        if (this.#clock.monotonicMs() - this.#lastPacketMs >= limitMs)
          this.#lost(session, `no media from the upstream for ${limitMs} ms`);
      },
      Math.max(100, limitMs / 4),
      { unref: true },
    );
  }

  /** The current session is gone: closed here, and a new one tried after the backoff. */
  #lost(session: UpstreamSession, reason: string): void {
    if (this.#session !== session || this.#stopped) return;
    this.#session = undefined;
    this.#watchdog?.cancel();
    this.#stats.endSession();
    this.#stats.state = 'reconnecting';
    this.#stats.lastError = reason;
    this.#logger.warn({ reason }, 'pull session lost: reconnecting, readers kept');
    void this.#closeSession(session, true);
    this.#attemptAfter(this.#nextDelayMs(undefined));
  }

  /**
   * The one retry loop (the first session of an always-on pull, and every reconnect): a session tried
   * after `delayMs`, again after the backoff while attempts fail; `adopted` runs once one is adopted.
   */
  #attemptAfter(delayMs: number, adopted?: () => void): void {
    this.#retry = clockTimeout(
      this.#clock,
      () => {
        this.#retry = undefined;
        if (this.#stopped) return;
        this.#openSession().then(
          (session) => {
            if (this.#stopped) return void this.#closeSession(session, false);
            this.#adopt(session);
            adopted?.();
          },
          (err: unknown) => {
            if (!this.#stopped) this.#attemptAfter(this.#nextDelayMs(err), adopted);
          },
        );
      },
      delayMs,
      { unref: true },
    );
  }

  /** The delay before the next attempt (doubling from min to max per failure), the failure logged. */
  #nextDelayMs(err: unknown): number {
    const minMs = this.#opts.reconnectMinDelayMs ?? DEFAULT_RECONNECT_MIN_DELAY_MS;
    const maxMs = Math.max(minMs, this.#opts.reconnectMaxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS);
    const delayMs = Math.min(maxMs, minMs * 2 ** Math.min(this.#failures, 30));
    if (err !== undefined) {
      this.#failures++;
      this.#stats.state = this.#media === undefined ? 'connecting' : 'reconnecting';
      this.#logger.warn(
        { err: redactCredentials((err as Error).message), retryInMs: delayMs },
        'pull attempt failed',
      );
    }
    return delayMs;
  }

  async #closeSession(session: UpstreamSession, teardown: boolean): Promise<void> {
    session.client.removeAllListeners('close');
    session.client.removeAllListeners('end');
    if (teardown && session.client.connected) {
      try {
        await session.client.teardown();
      } catch (e) {
        // The session ends here whatever the upstream answers.
        if (!(e instanceof RtspClientError)) throw e;
      }
    }
    session.client.close();
  }
}
