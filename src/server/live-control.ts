/**
 * Live paths as the request handlers drive them: PLAY of a reader (unicast, or joining the path's
 * multicast group; RTP-Info from the stream's timing), PAUSE of readers and publishers (RFC 2326
 * Appendix A.2), RECORD starting a publisher's Stream, and paths fed by sources inside the server.
 * The counterpart of vod-control.ts for files: the request gate sends a session here or there by
 * whether it reads a file.
 */
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { RtspRequest } from '../rtsp/message.js';
import { Stream } from '../media/stream.js';
import type { ReaderBacklogBudget } from '../media/reader-backlog.js';
import type { Reply, ServerConnection } from './connection.js';
import type { MulticastRegistry } from './multicast-registry.js';
import type { PathRegistry, PublishedMedia } from './paths.js';
import type { ServerSession } from './session.js';
import type { ServerSettings } from './server-options.js';
import { parseRequestTarget } from './target.js';
import { reply, sessionHeaders } from './replies.js';

export interface LiveControlDeps {
  clock: Clock;
  logger: Logger;
  paths: PathRegistry;
  /** The paths' multicast groups; undefined when multicast is off. */
  multicast(): MulticastRegistry | undefined;
  /** Read at each use: stream options apply to paths started afterwards (reload). */
  settings: Pick<
    ServerSettings,
    'playStartWaitMs' | 'writeCoalesceMs' | 'gopCacheMaxBytes' | 'maxReaderBacklogBytes'
  >;
  readerBacklog: ReaderBacklogBudget;
  /** A path has a new Stream (RECORD, a source added): readers inside the server may attach. */
  streamStarted(name: string): void;
}

export class LiveControl {
  constructor(private readonly deps: LiveControlDeps) {}

  async play(conn: ServerConnection, req: RtspRequest, session: ServerSession | undefined): Promise<Reply> {
    if (session === undefined) return reply(454);
    if (session.mode !== 'play' || session.state === 'init') return reply(455);
    const live = this.deps.paths.get(session.path);
    // A session set up for a stream that has ended does not carry over to a new publisher,
    // whose tracks may differ: the client sets up again.
    if (
      live?.stream === undefined ||
      session.streamGone ||
      (session.stream !== undefined && session.stream !== live.stream)
    )
      return reply(404);
    const headers = sessionHeaders(session);
    headers.Range = 'npt=now-';
    if (session.state === 'playing') return reply(200, headers);
    if (session.isMulticast) {
      const group = this.deps.multicast()?.get(session.path);
      if (group === undefined) return reply(404);
      // The first member starts the group; later ones join what is already being sent.
      if (!group.sending) {
        group.sending = true;
        live.stream.addReader(group);
      }
      session.stream = live.stream;
      session.state = 'playing';
      this.deps.logger.info(
        { session: session.id, path: session.path, transport: 'multicast' },
        'read started',
      );
      return reply(200, headers);
    }
    if (session.transport === 'tcp') session.sink = conn;
    session.state = 'playing';
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
    return { ...reply(200, headers), afterWrite: () => session.openOutput() };
  }

  pause(session: ServerSession | undefined): Reply {
    if (session === undefined) return reply(454);
    // RFC 2326 Appendix A.2: PAUSE is valid in Playing and Recording only. A reader whose stream
    // ended is Ready but is answered 200: rtspsrc answers RTCP BYE with PAUSE, then TEARDOWN, and
    // fails on an error status.
    if (session.state === 'init' || (session.state === 'ready' && !session.streamGone)) return reply(455);
    if (session.state === 'playing') {
      session.stopReading();
      session.state = 'ready';
    } else if (session.state === 'recording') {
      session.state = 'ready';
    }
    return reply(200, sessionHeaders(session));
  }

  record(session: ServerSession | undefined): Reply {
    if (session === undefined) return reply(454);
    if (session.mode !== 'record' || session.state === 'init') return reply(455);
    const live = this.deps.paths.get(session.path);
    if (live === undefined || live.publisherSessionId !== session.id) return reply(454);
    if (live.stream === undefined) {
      live.stream = this.newStream(live.media);
      live.sinceMs = this.deps.clock.monotonicMs();
      this.deps.logger.info(
        { session: session.id, path: session.path, transport: session.transport },
        'publish started',
      );
      session.stream = live.stream;
      session.state = 'recording';
      this.deps.streamStarted(session.path);
      return reply(200, sessionHeaders(session));
    }
    session.stream = live.stream;
    session.state = 'recording';
    return reply(200, sessionHeaders(session));
  }

  private newStream(media: PublishedMedia): Stream {
    return new Stream(media.tracks, {
      clock: this.deps.clock,
      writeCoalesceMs: this.deps.settings.writeCoalesceMs,
      gopCacheMaxBytes: this.deps.settings.gopCacheMaxBytes,
      maxReaderBacklogBytes: this.deps.settings.maxReaderBacklogBytes,
      backlogBudget: this.deps.readerBacklog,
    });
  }

  /**
   * Serves a path fed by a source inside the server (a looping file, the demo) rather than by an
   * RTSP publisher. Returns the Stream the source writes to; false when the path is taken.
   */
  addSource(name: string, media: PublishedMedia): Stream | false {
    const owner = `source:${name}`;
    if (!this.deps.paths.claim(name, owner, media, this.deps.clock.monotonicMs())) return false;
    const live = this.deps.paths.get(name)!;
    live.stream = this.newStream(media);
    this.deps.logger.info({ path: name, tracks: media.tracks.length }, 'source path added');
    this.deps.streamStarted(name);
    return live.stream;
  }

  removeSource(name: string, reason: string): void {
    const live = this.deps.paths.release(name, `source:${name}`);
    if (live === undefined) return;
    live.stream?.end(reason);
    this.deps.logger.info({ path: name, reason }, 'source path removed');
  }
}
