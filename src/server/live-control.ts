/**
 * Live paths as the request handlers drive them: PLAY of a reader (unicast, or joining the path's
 * multicast group; RTP-Info from the stream's timing), PAUSE of readers and publishers (RFC 2326
 * Appendix A.2), RECORD starting a publisher's Stream (through the path manager, which owns paths).
 * The counterpart of vod-control.ts for files: the request gate sends a session here or there by
 * its role. Whether a request is valid in the session's state was asked at the gate (session-state.ts);
 * the handlers here tell the session what they did.
 */
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { RtspRequest } from '../rtsp/message.js';
import type { Reply, ServerConnection } from './connection.js';
import type { MulticastRegistry } from './multicast-registry.js';
import type { PathManager } from '../paths/path-manager.js';
import type { ReaderHandoff } from './reader-handoff.js';
import type { ServerSession } from './session.js';
import type { ServerSettings } from './server-options.js';
import { parseRequestTarget } from './target.js';
import { reply, sessionHeaders } from './replies.js';
import { RtspStatus } from '../rtsp/status.js';

export interface LiveControlDeps {
  clock: Clock;
  logger: Logger;
  paths: PathManager;
  /** The paths' multicast groups; undefined when multicast is off. */
  multicast(): MulticastRegistry | undefined;
  /** Read at each use (reload). */
  settings: Pick<ServerSettings, 'playStartWaitMs'>;
  /** Where a TCP reader's fan-out may move after PLAY (`fanoutWorkers`); undefined: it stays here. */
  readerHandoff?: ReaderHandoff | undefined;
  /** A reader's PLAY was accepted, with the request's query (runOnRead). */
  readStarted(session: ServerSession, query: string): void;
}

export class LiveControl {
  constructor(private readonly deps: LiveControlDeps) {}

  async play(conn: ServerConnection, req: RtspRequest, session: ServerSession | undefined): Promise<Reply> {
    if (session === undefined) return reply(RtspStatus.SessionNotFound);
    const live = this.deps.paths.get(session.path);
    // A session set up for a stream that has ended does not carry over to a new publisher,
    // whose tracks may differ: the client sets up again (a stream-gone session is refused at the gate).
    if (live?.stream === undefined || (session.stream !== undefined && session.stream !== live.stream))
      return reply(RtspStatus.NotFound);
    const headers = sessionHeaders(session);
    headers.Range = 'npt=now-';
    if (session.state === 'playing') return reply(RtspStatus.Ok, headers);
    if (session.isMulticast) {
      const group = this.deps.multicast()?.get(session.path);
      if (group === undefined) return reply(RtspStatus.NotFound);
      // The first member starts the group; later ones join what is already being sent.
      if (!group.sending) {
        group.sending = true;
        live.stream.addReader(group);
      }
      session.stream = live.stream;
      session.transition('PLAY');
      this.deps.logger.info(
        { session: session.id, path: session.path, transport: 'multicast' },
        'read started',
      );
      this.deps.readStarted(session, parseRequestTarget(req.uri)?.query ?? '');
      return reply(RtspStatus.Ok, headers);
    }
    if (session.transport === 'tcp') session.sink = conn;
    session.transition('PLAY');
    const starts = await session.startReading(live.stream, this.deps.settings.playStartWaitMs);
    const base = req.uri.replace(/\/+$/, '');
    const t = parseRequestTarget(req.uri);
    const aggregateBase = t?.track !== undefined ? base.replace(/\/trackID=\d+$/, '') : base;
    const rtptimes = live.stream.rtpInfoTimes(starts, session);
    const infos = session.tracks.map((i) => {
      const s = starts[i];
      const url = `${aggregateBase}/trackID=${i}`;
      return s === undefined ? `url=${url}` : `url=${url};seq=${s.seq};rtptime=${rtptimes[i] ?? s.rtptime}`;
    });
    headers['RTP-Info'] = infos.join(',');
    this.deps.logger.info(
      { session: session.id, path: session.path, transport: session.transport },
      'read started',
    );
    this.deps.readStarted(session, t?.query ?? '');
    const stream = live.stream;
    const handoff = session.transport === 'tcp' ? this.deps.readerHandoff : undefined;
    return {
      ...reply(RtspStatus.Ok, headers),
      afterWrite: () => {
        session.openOutput();
        handoff?.played(session, conn, stream);
      },
    };
  }

  pause(session: ServerSession | undefined): Reply {
    if (session === undefined) return reply(RtspStatus.SessionNotFound);
    // Playing or Recording → Ready; a reader whose stream ended stays (session-state.ts).
    if (session.state === 'playing') session.stopReading();
    session.transition('PAUSE');
    return reply(RtspStatus.Ok, sessionHeaders(session));
  }

  record(session: ServerSession | undefined): Reply {
    if (session === undefined) return reply(RtspStatus.SessionNotFound);
    const live = this.deps.paths.publishedBy(session.path, session.id);
    if (live === undefined) return reply(RtspStatus.SessionNotFound);
    const first = live.stream === undefined;
    const stream = this.deps.paths.startPublishing(session.path, session.id);
    if (first)
      this.deps.logger.info(
        { session: session.id, path: session.path, transport: session.transport },
        'publish started',
      );
    session.stream = stream;
    session.transition('RECORD');
    return reply(RtspStatus.Ok, sessionHeaders(session));
  }
}
