/**
 * A reader's own upstream session: per-reader proxying of a recorded upstream (a path with
 * `sourcePerReader: true`, README "Pulled paths"). Where a pull (rtsp-pull.ts) shares one upstream
 * session among every reader of a live path, a recording or a file on demand has a timeline each
 * reader moves on its own: so each reader's SETUP opens its own upstream session (DESCRIBE here,
 * SETUP of the tracks the reader set up at its first PLAY), and its PLAY (Range, Scale, Speed),
 * PAUSE and TEARDOWN are forwarded, as a caching proxy forwards them (RFC 2326 §1.1, §10.5, §10.6).
 *
 * Packets go through with the upstream's sequence numbers and timestamps, so the upstream's reply
 * (Range, Scale, Speed, RTP-Info seq and rtptime, RFC 2326 §12.33) is the reader's reply as it is;
 * only the SSRC becomes the one the reader's SETUP announced (in RTP, sender reports and BYE). RTCP
 * other than SR and BYE stays here (the client answers with its own receiver reports).
 *
 * Credentials of the URL never leave this module (errors are redacted as a pull's are).
 */
import { systemClock, type Clock } from '../base/clock.js';
import { isParseError } from '../base/errors.js';
import { nullLogger, type Logger } from '../base/logger.js';
import { RtspClient } from '../client/client.js';
import { RtspClientError } from '../client/errors.js';
import type { ClientTrack } from '../client/tracks.js';
import type { PublishedMedia } from '../media/published-media.js';
import { serializeRtcpPacket, type RtcpPacket } from '../rtp/rtcp.js';
import { serializeRtpPacket, type RtpPacket } from '../rtp/packet.js';
import { getAttribute } from '../sdp/attributes.js';
import { mediaFormats } from '../sdp/formats.js';
import { parseAnnouncedSdp } from '../server/media-description.js';
import {
  clientTransportOf,
  DEFAULT_PULL_TIMEOUT_MS,
  displayPullUrl,
  redactCredentials,
  type PullTransport,
} from './rtsp-pull.js';
import { rtpInfoByTrack, type TrackRtpInfo } from './upstream-rtp-info.js';

export interface PullReaderOptions {
  /** `rtsp://`, `rtsps://` or `rtsp+http://`, credentials allowed. */
  url: string;
  /** Default `auto` (UDP, falling back to TCP). `multicast` is refused, as for pulls. */
  transport?: PullTransport;
  anyPort?: boolean;
  tlsFingerprint?: string;
  /** Connect and reply timeout of each request. Default 10000. */
  timeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** Where a reader's upstream session sends what comes: the reader's session, by the path's track index. */
export interface PullReaderSink {
  rtp(track: number, packet: Buffer): void;
  rtcp(track: number, packet: Buffer): void;
  /** RTCP BYE came on every track set up: the upstream's range is over (the reader gets them too). */
  ended(): void;
  /** The upstream connection closed: the reader's session cannot go on. */
  lost(reason: string): void;
}

/** What the upstream answered to a forwarded PLAY: its headers, RTP-Info by the path's track index. */
export interface ForwardedPlay {
  range: string | undefined;
  scale: string | undefined;
  speed: string | undefined;
  rtpInfo: TrackRtpInfo[];
}

/** The PLAY headers a reader's request carries to the upstream (RFC 2326 §12.29, §12.34, §12.35). */
export const FORWARDED_PLAY_HEADERS = ['Range', 'Scale', 'Speed'] as const;

/** Opens a reader's upstream session: connected and described, nothing set up yet. */
export async function openPullReader(options: PullReaderOptions): Promise<PullReaderSession> {
  const transport = options.transport ?? 'auto';
  const { url, tunnel } = /^rtsp\+http:\/\//i.test(options.url)
    ? { url: `rtsp${options.url.slice('rtsp+http'.length)}`, tunnel: true }
    : { url: options.url, tunnel: false };
  const logger = (options.logger ?? nullLogger).child({ upstream: displayPullUrl(options.url) });
  const client = new RtspClient(url, {
    timeoutMs: options.timeoutMs ?? DEFAULT_PULL_TIMEOUT_MS,
    httpTunnel: tunnel || transport === 'http',
    udpFallback: transport === 'auto',
    anyPort: options.anyPort ?? false,
    accessUnits: false,
    // A reader's REDIRECT or ANNOUNCE would need the reader to follow; the session ends instead.
    followRedirect: false,
    clock: options.clock ?? systemClock,
    logger,
    ...(options.tlsFingerprint !== undefined ? { tlsFingerprint: options.tlsFingerprint } : {}),
  });
  client.on('error', () => undefined); // faults between requests end in 'close'
  try {
    await client.connect();
    const described = await client.describe();
    let media: PublishedMedia;
    try {
      media = withUpstreamRange(parseAnnouncedSdp(described.sdpText), getAttribute(described.sdp, 'range'));
    } catch (e) {
      if (!isParseError(e)) throw e;
      throw new RtspClientError('BAD_SDP', `the upstream's SDP has no usable track: ${e.message}`);
    }
    // The tracks parseAnnouncedSdp keeps, in order: the path's track N is kept[N].
    const kept = described.tracks.filter(
      (t) => /^RTP\//i.test(t.media.protocol) && mediaFormats(t.media)[0] !== undefined,
    );
    return new PullReaderSession(client, media, kept, transport);
  } catch (e) {
    client.close();
    if (e instanceof RtspClientError)
      throw new RtspClientError(e.code, redactCredentials(e.message), { cause: e });
    throw e;
  }
}

export class PullReaderSession {
  #sink: PullReaderSink | undefined;
  #ssrcs: readonly (number | undefined)[] = [];
  #setUp = false;
  #closed = false;

  constructor(
    readonly client: RtspClient,
    /** The upstream's media as readers see it (its `a=range` kept: the reader learns the duration). */
    readonly media: PublishedMedia,
    /** The upstream's tracks, by the path's track index. */
    private readonly tracks: readonly ClientTrack[],
    private readonly transport: PullTransport,
  ) {}

  /** Where packets go from now on, with the SSRC announced to the reader per track. */
  attach(sink: PullReaderSink, ssrcs: readonly (number | undefined)[]): void {
    if (this.#sink !== undefined) return;
    this.#sink = sink;
    this.#ssrcs = ssrcs;
    const indexOf = new Map(this.tracks.map((t, i) => [t.index, i]));
    this.client.on('rtp', (track, packet) => {
      const i = indexOf.get(track.index);
      if (i !== undefined) this.#forwardRtp(i, packet);
    });
    this.client.on('rtcp', (track, packets) => {
      const i = indexOf.get(track.index);
      if (i !== undefined) this.#forwardRtcp(i, packets);
    });
    this.client.on('end', () => this.#sink?.ended());
    this.client.on('close', () => {
      if (!this.#closed) this.#sink?.lost('the upstream connection closed');
    });
  }

  /**
   * PLAY forwarded with the reader's `headers` (Range, Scale, Speed as it wrote them; no Range: go on
   * from where it is). The first one sets up `tracks` upstream first. Rejects with an RtspClientError
   * (the upstream's status in `statusCode` when it answered one).
   */
  async play(tracks: readonly number[], headers: Record<string, string>): Promise<ForwardedPlay> {
    try {
      if (!this.#setUp) {
        await this.client.setup({
          transport: clientTransportOf(this.transport),
          tracks: tracks.flatMap((i) => (this.tracks[i] !== undefined ? [this.tracks[i].index] : [])),
        });
        this.#setUp = true;
      }
      const res = await this.client.play({ range: null, headers });
      const rtpInfo = res.headers.get('RTP-Info');
      return {
        range: res.headers.get('Range'),
        scale: res.headers.get('Scale'),
        speed: res.headers.get('Speed'),
        rtpInfo: rtpInfoByTrack(
          rtpInfo,
          this.tracks.map((t) => t.controlUrl),
          tracks,
        ),
      };
    } catch (e) {
      throw redacted(e);
    }
  }

  /** PAUSE forwarded (§10.6); the upstream's `Range` (where it paused), if it gave one. */
  async pause(): Promise<string | undefined> {
    try {
      return (await this.client.pause()).headers.get('Range');
    } catch (e) {
      throw redacted(e);
    }
  }

  /** TEARDOWN upstream and the connection closed; nothing more reaches the sink. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sink = undefined;
    this.client.removeAllListeners('close');
    if (this.client.connected) {
      try {
        await this.client.teardown();
      } catch (e) {
        // The session ends here whatever the upstream answers.
        if (!(e instanceof RtspClientError)) throw e;
      }
    }
    this.client.close();
  }

  #forwardRtp(track: number, packet: RtpPacket): void {
    const ssrc = this.#ssrcs[track];
    if (this.#sink === undefined || ssrc === undefined) return;
    // A copy with the reader's SSRC: the client's packet is a view into its receive buffer.
    this.#sink.rtp(track, serializeRtpPacket({ ...packet, ssrc }));
  }

  #forwardRtcp(track: number, packets: readonly RtcpPacket[]): void {
    const ssrc = this.#ssrcs[track];
    if (this.#sink === undefined || ssrc === undefined) return;
    for (const p of packets) {
      // The upstream's SR maps its RTP time (which the reader gets unchanged) to its wall clock.
      if (p.type === 'sr') this.#sink.rtcp(track, serializeRtcpPacket({ ...p, ssrc, reports: [] }));
      else if (p.type === 'bye') this.#sink.rtcp(track, serializeRtcpPacket({ ...p, ssrcs: [ssrc] }));
    }
  }
}

/**
 * The upstream's session-level `a=range` (RFC 2326 C.1.5) kept in the SDP readers get (the relayed SDP
 * drops it: a live path has none): a seeking reader learns the duration from it. Printable ASCII only.
 */
function withUpstreamRange(media: PublishedMedia, range: string | undefined): PublishedMedia {
  if (range === undefined || !/^[\x21-\x7e][\x20-\x7e]{0,199}$/.test(range)) return media;
  return {
    ...media,
    describeSdp: (base) =>
      media.describeSdp(base).replace(/(\r?\n)m=/, (_m, eol: string) => `${eol}a=range:${range}${eol}m=`),
  };
}

function redacted(e: unknown): unknown {
  if (!(e instanceof RtspClientError)) return e;
  return new RtspClientError(e.code, redactCredentials(e.message), {
    cause: e,
    ...(e.response !== undefined ? { response: e.response } : {}),
  });
}
