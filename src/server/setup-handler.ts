/**
 * SETUP (RFC 2326 §10.4): finds what the request names (the session, from the Session header or, for a
 * publisher, the one its ANNOUNCE made on this connection; the media of the live path, the file or the
 * recording; the track) and admits a new session (server-wide and per-path caps), then hands the
 * transport to transport-setup.ts. The server's gate has checked the request before.
 */
import { serializeTransport } from '../rtsp/transport.js';
import type { RtspRequest } from '../rtsp/message.js';
import { randomSsrc } from '../rtp/packet.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { PathManager, Path } from '../paths/path-manager.js';
import type { VodFile } from '../sources/vod-player.js';
import { RtspStatus } from '../rtsp/status.js';
import type { ServerConnection, Reply } from './connection.js';
import type { ServerSession } from './session.js';
import type { SessionLifecycle } from './session-lifecycle.js';
import type { SessionLimits } from './session-limits.js';
import type { TransportSetup } from './transport-setup.js';
import type { VodControl } from './vod-control.js';
import type { ProxyControl } from './proxy-control.js';
import type { ReaderUpstream } from './reader-upstream.js';
import type { SetupTransport } from './rights.js';
import type { ServerSettings } from './server-options.js';
import { parseRequestTarget } from './target.js';
import { announcedTrackFor } from './media-description.js';
import { readerCapOf, type PathRules } from './path-rules.js';
import { reply, sessionHeaders, stateRefusalReply } from './replies.js';

export interface SetupHandlerDeps {
  paths: PathManager;
  vod: VodControl;
  proxy: ProxyControl;
  transports: TransportSetup;
  lifecycle: SessionLifecycle;
  sessionLimits: SessionLimits;
  sessions: ReadonlyMap<string, ServerSession>;
  /** Read at each SETUP: a reload changes `maxReadersPerPath` in place. */
  settings: Pick<ServerSettings, 'maxReadersPerPath'>;
  pathRules: (path: string) => PathRules | undefined;
}

export class SetupHandler {
  constructor(private readonly deps: SetupHandlerDeps) {}

  async handle(
    conn: ServerConnection,
    req: RtspRequest,
    existing: ServerSession | undefined,
    transport: SetupTransport,
  ): Promise<Reply> {
    const t = parseRequestTarget(req.uri);
    if (t === undefined) return reply(RtspStatus.BadRequest);
    if (transport.specs === undefined) return reply(RtspStatus.UnsupportedTransport);
    const specs = transport.specs;

    let session = existing;
    const refusal = session?.refusal('SETUP');
    if (refusal !== undefined) return stateRefusalReply(refusal);
    const recording = transport.mode === 'record';
    if (session === undefined && recording) {
      // A publisher SETUP follows ANNOUNCE on the same connection, which made the session.
      session = [...conn.sessions].find(
        (s) =>
          s.role.kind === 'publisher' &&
          s.state === 'init' &&
          (t.path === s.path || t.path.startsWith(`${s.path}/`)),
      );
      if (session === undefined) return reply(RtspStatus.MethodNotValidInThisState);
    }
    let live: Path | undefined;
    let media: PublishedMedia;
    let track: number | undefined;
    let vod: { realPath: string; file: VodFile } | undefined;
    let proxied: ReaderUpstream | undefined;
    // What a refused first SETUP opened is given back.
    const release = (): void => {
      if (vod !== undefined) this.deps.vod.release(vod.realPath);
      if (proxied !== undefined) void proxied.close();
    };
    if (session?.role.kind === 'publisher') {
      // The publisher names tracks with its own control URLs (ffmpeg `streamid=N`, GStreamer `stream=N`).
      live = this.deps.paths.publishedBy(session.path, session.id);
      if (live === undefined) return reply(RtspStatus.SessionNotFound);
      media = live.media;
      track = announcedTrackFor(live.media, req.uri, t.track);
    } else {
      // A stream of another presentation cannot join this session (459); a URL that names nothing
      // here is 404. GStreamer 1.22 resolves `trackID=N` against a Content-Base holding a query
      // (`/cam?token=x/`) to `/trackID=N`, and retries with `/cam?token=x/trackID=N` only after a 404.
      if (session !== undefined && session.path !== t.path)
        return reply(
          this.deps.paths.get(t.path)?.stream !== undefined
            ? RtspStatus.AggregateOperationNotAllowed
            : RtspStatus.NotFound,
        );
      track = t.track;
      if (session?.role.kind === 'file-reader') {
        media = session.role.file.media;
      } else if (session?.role.kind === 'proxy-reader') {
        media = session.role.upstream.media;
      } else {
        live = this.deps.vod.isPlayback(t, req)
          ? undefined
          : session === undefined
            ? await this.deps.paths.forReader(t.path, t.query)
            : this.deps.paths.get(t.path);
        const upstream =
          live?.stream === undefined && session === undefined && !this.deps.vod.isPlayback(t, req)
            ? await this.deps.proxy.open(t.path)
            : undefined;
        if (typeof upstream === 'number') return reply(upstream);
        if (live?.stream !== undefined) media = live.media;
        else if (upstream !== undefined) {
          proxied = upstream;
          media = upstream.media;
        } else if (session === undefined) {
          const opened = await this.deps.vod.openTarget(t, req);
          if (typeof opened === 'number') return reply(opened);
          vod = opened;
          media = vod.file.media;
        } else return reply(RtspStatus.NotFound);
      }
    }
    const trackCount = media.tracks.length;
    if (track === undefined) {
      // ffmpeg SETUPs the aggregate URL for single-track media; otherwise take the next free track.
      const taken = session?.setups ?? [];
      track = Array.from({ length: trackCount }, (_, i) => i).find((i) => taken[i] === undefined);
      if (track === undefined) return reply(RtspStatus.AggregateOperationNotAllowed);
    }
    if (track >= trackCount) {
      release();
      return reply(RtspStatus.NotFound);
    }

    const chosen = this.deps.transports.choose(specs, {
      conn,
      session,
      recording,
      liveStream: live?.stream !== undefined,
      file: vod !== undefined || proxied !== undefined,
    });
    if (chosen === undefined) {
      release();
      return reply(RtspStatus.UnsupportedTransport);
    }

    if (session === undefined) {
      const full = this.deps.lifecycle.admissionRefusal(conn);
      if (full !== undefined) {
        release();
        return full;
      }
      const readerCap = readerCapOf(this.deps.pathRules(t.path), this.deps.settings.maxReadersPerPath);
      if (readerCap > 0) {
        let readers = 0;
        for (const s of this.deps.sessions.values()) if (s.path === t.path && s.mode === 'play') readers++;
        if (readers >= readerCap) {
          release();
          return this.deps.sessionLimits.refuse('readersPerPath');
        }
      }
    }
    const made = session === undefined;
    // The first SETUP decides the reader's role: the live path if it has a stream, else the file.
    session ??= this.deps.lifecycle.create(
      conn,
      req,
      t.path,
      vod !== undefined
        ? { kind: 'file-reader', ...vod, player: undefined }
        : proxied !== undefined
          ? { kind: 'proxy-reader', upstream: proxied }
          : { kind: 'live-reader' },
      trackCount,
    );
    // Every reader has its own SSRC per track, announced here: the stream patches it into each packet
    // it sends a live reader; a file's player sends with it.
    if (session.mode === 'play') session.ssrcs[track] ??= randomSsrc();
    const bound = await this.deps.transports.bind(conn, session, track, trackCount, chosen, made);
    if ('statusCode' in bound) return bound;
    const { setup: trackSetup, spec: replySpec } = bound;
    // Read after bind: a multicast member takes its group's SSRC there (the group sends with it).
    const ssrc = session.mode === 'play' ? session.ssrcs[track] : undefined;
    if (ssrc !== undefined) replySpec.ssrc = ssrc;
    if (chosen.mode !== undefined) replySpec.mode = chosen.mode;
    session.setups[track] = trackSetup;
    session.transition('SETUP');
    return reply(RtspStatus.Ok, { Transport: serializeTransport(replySpec), ...sessionHeaders(session) });
  }
}
