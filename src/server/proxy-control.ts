/**
 * Readers proxied one by one (the proxy-reader role): a path whose source gives each reader its own
 * upstream session (sources/rtsp-pull-reader.ts, `sourcePerReader`) has no Stream; its DESCRIBE is
 * the upstream's (a=range kept), its SETUP opens the reader's upstream session, and PLAY (Range,
 * Scale, Speed) and PAUSE are forwarded, the upstream's answer given back (RFC 2326 §10.5, §10.6,
 * §12.33). This is the RTSP side; the upstream session is the source's. The state table is the file
 * reader's (session-state.ts): a recording moves as a file on demand does.
 */
import type { Logger } from '../base/logger.js';
import { RtspClientError } from '../client/errors.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { RtspRequest } from '../rtsp/message.js';
import { serializeInterleaved } from '../rtsp/message.js';
import { RtspStatus } from '../rtsp/status.js';
import type { ForwardedPlay } from '../sources/rtsp-pull-reader.js';
import { FORWARDED_PLAY_HEADERS } from '../sources/rtsp-pull-reader.js';
import type { Reply } from './connection.js';
import { reply, sessionHeaders } from './replies.js';
import type { ServerSession } from './session.js';
import type { ProxiedReaderCounters, ReaderUpstream, ReaderUpstreams } from './reader-upstream.js';
import type { ProxyReaderRole } from './session-state.js';
import { parseRequestTarget } from './target.js';

export interface ProxyControlDeps {
  logger: Logger;
  upstreams: ReaderUpstreams | undefined;
  /** A reader's PLAY was accepted, with the request's query (runOnRead), as live-control.ts says it. */
  readStarted(session: ServerSession, query: string): void;
  /** Ends a reader's session whose upstream is gone, telling it with RTCP BYE. */
  endSession(session: ServerSession, reason: string): void;
}

export class ProxyControl {
  readonly counters: ProxiedReaderCounters = { upstreamsOpened: 0, upstreamsRefused: 0, upstreamsFailed: 0 };

  constructor(private readonly deps: ProxyControlDeps) {}

  /** A new upstream session for a reader of `path`; undefined when the path is not proxied per reader. */
  async open(path: string): Promise<ReaderUpstream | number | undefined> {
    const open = this.deps.upstreams?.upstreamFor(path);
    if (open === undefined) return undefined;
    const upstream = await open();
    if (typeof upstream !== 'number') this.counters.upstreamsOpened++;
    else if (upstream === RtspStatus.ServiceUnavailable) this.counters.upstreamsRefused++;
    else this.counters.upstreamsFailed++;
    return upstream;
  }

  /** DESCRIBE: the upstream's media (an upstream session opened and closed for it); else as `open`. */
  async describe(path: string): Promise<PublishedMedia | number | undefined> {
    const upstream = await this.open(path);
    if (upstream === undefined || typeof upstream === 'number') return upstream;
    void upstream.close();
    return upstream.media;
  }

  /** The reader's session ended: its upstream session too. */
  stop(role: ProxyReaderRole): void {
    void role.upstream.close();
  }

  async play(req: RtspRequest, session: ServerSession, role: ProxyReaderRole): Promise<Reply> {
    this.attach(session, role);
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_PLAY_HEADERS) {
      const value = req.headers.get(name);
      if (value !== undefined) headers[name] = value;
    }
    const tracks = session.setups.flatMap((s, i) => (s !== undefined ? [i] : []));
    let played: ForwardedPlay;
    try {
      played = await role.upstream.play(tracks, headers);
    } catch (e) {
      return upstreamFailure(e, session, 'PLAY');
    }
    if (session.closed) return reply(RtspStatus.SessionNotFound);
    session.transition('PLAY');
    const out = sessionHeaders(session);
    if (played.range !== undefined) out.Range = played.range;
    if (played.scale !== undefined) out.Scale = played.scale;
    if (played.speed !== undefined) out.Speed = played.speed;
    const base = req.uri.replace(/\/+$/, '').replace(/\/trackID=\d+$/, '');
    if (played.rtpInfo.length > 0)
      out['RTP-Info'] = played.rtpInfo
        .map(
          (i) =>
            `url=${base}/trackID=${i.track}` +
            (i.seq !== undefined ? `;seq=${i.seq}` : '') +
            (i.rtptime !== undefined ? `;rtptime=${i.rtptime}` : ''),
        )
        .join(',');
    session.logger.info({ session: session.id, path: session.path, ...headers }, 'proxied playback');
    this.deps.readStarted(session, parseRequestTarget(req.uri)?.query ?? '');
    return { ...reply(RtspStatus.Ok, out), afterWrite: () => session.openOutput() };
  }

  async pause(req: RtspRequest, session: ServerSession, role: ProxyReaderRole): Promise<Reply> {
    // A pause point (§10.6 `Range: npt=37`) would leave the upstream playing on alone: not forwarded.
    if (req.headers.get('Range') !== undefined)
      return reply(
        RtspStatus.HeaderFieldNotValid,
        undefined,
        undefined,
        'Header Field Not Valid for Resource: a pause point is not forwarded upstream',
      );
    let range: string | undefined;
    try {
      range = await role.upstream.pause();
    } catch (e) {
      return upstreamFailure(e, session, 'PAUSE');
    }
    if (session.closed) return reply(RtspStatus.SessionNotFound);
    session.transition('PAUSE');
    return reply(RtspStatus.Ok, {
      ...sessionHeaders(session),
      ...(range !== undefined ? { Range: range } : {}),
    });
  }

  /** At the first PLAY: the upstream's packets go to the session, its end and loss move it. */
  private attach(session: ServerSession, role: ProxyReaderRole): void {
    role.upstream.attach(
      {
        rtp: (track, packet) => {
          const s = session.setups[track];
          if (s?.kind === 'tcp') session.writeInterleaved(serializeInterleaved(s.rtpChannel, packet), 1);
          else session.sendRtp(track, packet);
        },
        rtcp: (track, packet) => session.sendRtcp(track, packet),
        // The upstream's BYE went to the reader with its packets; the session waits paused (Ready).
        ended: () => {
          if (!session.closed) session.transition('playback ended');
        },
        lost: (reason) => {
          if (session.closed) return;
          this.deps.logger.warn({ session: session.id, path: session.path, reason }, 'proxied reader ended');
          this.deps.endSession(session, reason);
        },
      },
      session.ssrcs,
    );
  }
}

/**
 * The upstream's own status when it is about the request (457 for a range past the end, 455...);
 * 502 Bad Gateway when the upstream failed otherwise. Never its 401/407 (the reader would answer a
 * challenge meant for the proxy) nor its 454 (the reader's session is here, not there).
 */
function upstreamFailure(e: unknown, session: ServerSession, method: string): Reply {
  if (!(e instanceof RtspClientError)) throw e;
  session.logger.warn(
    { session: session.id, path: session.path, err: e.message },
    `proxied ${method} failed`,
  );
  const status = e.statusCode;
  const passed =
    status !== undefined &&
    ((status >= 400 && status < 500 && ![401, 407, 454].includes(status)) || status === 503);
  return reply(passed ? status : RtspStatus.BadGateway, sessionHeaders(session));
}
