/**
 * The presentation description methods: DESCRIBE (RFC 2326 §10.2) answers with the SDP of what a URL
 * names (a live path, a file, a playback of recordings), ANNOUNCE (§10.3) makes a publisher's session
 * from the SDP it posts and claims the path for it through the path manager.
 */
import type { Logger } from '../base/logger.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { PathManager } from '../paths/path-manager.js';
import type { PathPlacement } from '../paths/placement.js';
import type { RtspRequest } from '../rtsp/message.js';
import { RtspStatus } from '../rtsp/status.js';
import type { Reply, ServerConnection } from './connection.js';
import { parseAnnouncedSdp } from './media-description.js';
import { reply, sessionHeaders } from './replies.js';
import type { ServerSettings } from './server-options.js';
import type { ServerSession } from './session.js';
import type { SessionLifecycle } from './session-lifecycle.js';
import type { SessionLimits } from './session-limits.js';
import { parseRequestTarget } from './target.js';
import type { VodControl } from './vod-control.js';
import type { ProxyControl } from './proxy-control.js';
import { fallbackLocation, type PathRules } from './path-rules.js';

export interface DescriptionsDeps {
  logger: Logger;
  paths: PathManager;
  vod: VodControl;
  proxy: ProxyControl;
  lifecycle: SessionLifecycle;
  sessionLimits: SessionLimits;
  /** Read at each use (reload). */
  settings: Pick<ServerSettings, 'maxAnnouncedSdpBytes'>;
  /** Read at each use: the cluster's placement is set after the server starts. */
  placement(): PathPlacement;
  endSession(session: ServerSession, reason: string): void;
  /** The path's fallback and whether a new publisher takes over (server/path-rules.ts). */
  pathRules(path: string): PathRules | undefined;
  sessionById(id: string): ServerSession | undefined;
}

export class Descriptions {
  constructor(private readonly deps: DescriptionsDeps) {}

  async describe(req: RtspRequest): Promise<Reply> {
    const t = parseRequestTarget(req.uri);
    if (t === undefined) return reply(RtspStatus.BadRequest);
    // A playback of recordings (`?start=`, `Require: onvif-replay`) never names the live path.
    const playback = this.deps.vod.isPlayback(t, req);
    if (!playback) {
      // Another node may hold the path or be less loaded (src/cluster): 302 there (RFC 2326 §11.3.3).
      const hereLive = this.deps.paths.get(t.path)?.stream !== undefined;
      const placed = await this.deps.placement().placeReader(t.path, hereLive, req.uri);
      if (placed.kind === 'redirect')
        return reply(RtspStatus.MovedTemporarily, { Location: placed.location });
    }
    const live = playback ? undefined : await this.deps.paths.forReader(t.path, t.query);
    let media: PublishedMedia;
    // A path proxied per reader: the upstream's description (proxy-control.ts).
    const proxied =
      playback || live?.stream !== undefined ? undefined : await this.deps.proxy.describe(t.path);
    // Unreachable (404): on to the fallback below, as for a path nothing feeds.
    if (typeof proxied === 'number' && proxied !== RtspStatus.NotFound) return reply(proxied);
    if (live?.stream !== undefined) media = live.media;
    else if (proxied !== undefined && typeof proxied !== 'number') media = proxied;
    else {
      const vod = await this.deps.vod.openTarget(t, req);
      if (typeof vod === 'number') {
        // Nothing feeds the path: its fallback, if it has one (RFC 2326 §11.2, 302 with Location).
        const fallback = vod === RtspStatus.NotFound ? this.deps.pathRules(t.path)?.fallback : undefined;
        if (fallback !== undefined && fallback !== null)
          return reply(RtspStatus.MovedTemporarily, { Location: fallbackLocation(fallback, req.uri) });
        return reply(vod);
      }
      media = vod.file.media;
      this.deps.vod.release(vod.realPath);
    }
    const base = req.uri.endsWith('/') ? req.uri : `${req.uri}/`;
    const sdp = media.describeSdp(base);
    return reply(
      RtspStatus.Ok,
      { 'Content-Base': base, 'Content-Type': 'application/sdp' },
      Buffer.from(sdp),
    );
  }

  /** ANNOUNCE makes a publisher's session (inside one, the gate refused it: session-state.ts). */
  async announce(conn: ServerConnection, req: RtspRequest): Promise<Reply> {
    const t = parseRequestTarget(req.uri);
    if (t === undefined || t.path === '') return reply(RtspStatus.BadRequest);
    const ct = req.headers.get('Content-Type');
    if (ct === undefined || !/^application\/sdp\b/i.test(ct.trim()))
      return reply(RtspStatus.UnsupportedMediaType);
    if (this.deps.vod.reservesPath(t.path)) return this.deps.sessionLimits.refuse('onDemandPath');
    if (req.body.length > this.deps.settings.maxAnnouncedSdpBytes)
      return this.deps.sessionLimits.refuse(
        'announcedSdpBytes',
        `over ${this.deps.settings.maxAnnouncedSdpBytes} bytes`,
      );
    let media;
    try {
      media = parseAnnouncedSdp(req.body.toString('utf8'));
    } catch (err) {
      this.deps.logger.warn({ path: t.path, err: (err as Error).message }, 'ANNOUNCE with a bad SDP');
      return reply(RtspStatus.BadRequest, undefined, undefined, 'Bad Request: invalid SDP');
    }
    if (media.tracks.length === 0)
      return reply(RtspStatus.BadRequest, undefined, undefined, 'Bad Request: SDP has no media');
    const full = this.deps.lifecycle.admissionRefusal(conn);
    if (full !== undefined) return full;
    // The cluster's lease first (src/cluster): held by another node is a conflict as a local one.
    const claim = await this.deps.placement().claimPublisher(t.path);
    if (claim === 'busy') return pathBusy();
    if (claim === 'unavailable')
      return reply(
        RtspStatus.ServiceUnavailable,
        undefined,
        undefined,
        'Service Unavailable: cluster store unreachable',
      );
    const session = this.deps.lifecycle.create(conn, req, t.path, { kind: 'publisher' }, media.tracks.length);
    this.overridePublisher(t.path, session);
    if (!this.deps.paths.claimPublisher(t.path, session.id, media)) {
      this.deps.endSession(session, 'path busy');
      return pathBusy();
    }
    this.deps.logger.info(
      { session: session.id, path: t.path, tracks: media.tracks.length },
      'publish announced',
    );
    return reply(RtspStatus.Ok, sessionHeaders(session));
  }

  /** With `overridePublisher`, the session publishing `path` now is ended for `newcomer` (logged). */
  private overridePublisher(path: string, newcomer: ServerSession): void {
    const owner = this.deps.paths.get(path)?.owner;
    if (owner?.kind !== 'publisher' || this.deps.pathRules(path)?.overridePublisher !== true) return;
    const old = this.deps.sessionById(owner.sessionId);
    if (old === undefined) return;
    this.deps.logger.info(
      { path, session: old.id, by: newcomer.id },
      'publisher overridden: its session ends for the new publisher',
    );
    const oldConnection = old.sink;
    this.deps.endSession(old, 'overridden by a new publisher');
    // Its connection too (as mediamtx does): a publisher would otherwise go on sending to nothing.
    if (oldConnection !== newcomer.sink) oldConnection?.end?.();
  }
}

function pathBusy(): Reply {
  return reply(RtspStatus.Forbidden, undefined, undefined, 'Forbidden: path is already being published');
}
