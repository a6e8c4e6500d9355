/**
 * The primary's fan-out workers (`fanoutWorkers: N`): N forked processes that serve the media of live
 * TCP readers, while this process keeps every decision (sessions and their state, paths, limits, auth,
 * the requests). The seam is the server's ReaderHandoff: after a reader's PLAY reply (its GOP burst
 * sent here, so a join storm's pacing stays in one place) the reader moves, at a quiet moment of its
 * connection, to the worker with the fewest readers of its path:
 *
 * 1. the worker gets a Feed of the path (one reader of the primary's Stream, one IPC message per flush),
 *    and the handoff waits until that feed is live;
 * 2. between two flushes, synchronously: the connection gives up its socket (nothing queued, no reply
 *    pending, nothing half framed: ServerConnection.takeSocket) and goes on through a RemoteChannel, the
 *    reader leaves the primary's Stream with its numbering (Stream.readerPatch), and the socket, then the
 *    reader, go down the IPC channel. Node keeps messages behind a handle in order, so the worker adopts
 *    the reader before the next flush reaches it: not a packet lost or repeated, sequence numbers and
 *    SSRCs continue (the feed's own offset is taken out of the reader's).
 *
 * A worker that dies takes its connections with it (their sessions end as a closed connection's do);
 * its feeds leave their Streams and another worker is forked. Nothing a worker sends can throw here
 * (protocol.ts checks it).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../base/logger.js';
import type { Stream, StreamEndInfo } from '../media/stream.js';
import type { ServerConnection } from '../server/connection.js';
import type { FanoutCounters, ReaderHandoff } from '../server/reader-handoff.js';
import type { ServerSettings } from '../server/server-options.js';
import type { ServerSession } from '../server/session.js';
import { Feed, type FeedOwner } from './feed.js';
import {
  shiftPatch,
  workerMessageOf,
  type PrimaryMessage,
  type WorkerCounts,
  type WorkerStreamSettings,
} from './protocol.js';
import { RemoteChannel } from './remote-channel.js';

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));
/** How long a handoff waits for a quiet connection and a live feed; then the reader stays here. */
const DEFAULT_HANDOFF_WAIT_MS = 10_000;
const HANDOFF_RETRY_MS = 20;
/** A dead worker's replacement is forked this much later (a worker that dies at once does not spin). */
const RESPAWN_DELAY_MS = 1000;

export interface FanoutPoolOptions {
  workers: number;
  logger: Logger;
  /** Read when a path opens in a worker. */
  settings: () => WorkerStreamSettings;
  /** Node options of the worker processes; default none (the primary's may be a test runner's). */
  execArgv?: string[];
  handoffWaitMs?: number;
}

/** What the API and /metrics show of one worker. */
export interface FanoutWorkerSnapshot extends WorkerCounts {
  index: number;
  pid: number | undefined;
  alive: boolean;
  restarts: number;
  /** Bytes sent to it over IPC and not yet taken by the channel. */
  queuedBytes: number;
}

/** What a worker's Streams take from the server's settings. */
export function fanoutSettingsOf(
  s: Pick<
    ServerSettings,
    | 'gopCacheMaxBytes'
    | 'maxReaderBacklogBytes'
    | 'maxTotalReaderBacklogBytes'
    | 'readerStallTimeoutMs'
    | 'writeCoalesceMs'
    | 'senderReportIntervalMs'
    | 'serverName'
  >,
): WorkerStreamSettings {
  return {
    gopCacheMaxBytes: s.gopCacheMaxBytes,
    maxReaderBacklogBytes: s.maxReaderBacklogBytes,
    maxTotalReaderBacklogBytes: s.maxTotalReaderBacklogBytes,
    readerStallTimeoutMs: s.readerStallTimeoutMs,
    writeCoalesceMs: s.writeCoalesceMs,
    senderReportIntervalMs: s.senderReportIntervalMs,
    serverName: s.serverName,
  };
}

const emptyCounts = (): WorkerCounts => ({
  readers: 0,
  paths: 0,
  bytesOut: 0,
  packetsIn: 0,
  droppedPackets: 0,
  readersCutOff: 0,
  backlogBytes: 0,
  bytesIn: 0,
});

class WorkerSlot implements FeedOwner {
  readonly feeds = new Map<Stream, Feed>();
  readonly conns = new Map<number, RemoteChannel>();
  counts = emptyCounts();
  alive = true;
  queuedBytes = 0;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
    private readonly pool: FanoutPool,
  ) {}

  /**
   * Socket handles sent and not yet taken by the worker (its 'taken' message follows Node's own
   * acknowledgement, which releases the messages Node held behind the handle).
   */
  handlesInFlight = 0;
  /** Of queuedBytes, those sent while a handle was in flight: parked in Node's handle queue. */
  private parkedBytes = 0;

  /**
   * What the feeds report as their backlog: bytes the channel has not taken, less those parked behind a
   * socket handle. Node sends one handle at a time and holds every later message until the worker
   * acknowledges it, so during a join storm media waits behind handoffs; that wait is not a worker too
   * slow for its feed, and counting it cut whole feeds off (bench: 643 of 2000 readers closed).
   */
  get backlogBytes(): number {
    return this.queuedBytes - this.parkedBytes;
  }

  send(m: PrimaryMessage, handle?: unknown): void {
    if (!this.alive) return;
    const size = 'bytes' in m ? m.bytes.byteLength : 0;
    const parked = this.handlesInFlight > 0 ? size : 0;
    this.queuedBytes += size;
    this.parkedBytes += parked;
    if (handle !== undefined) this.handlesInFlight++;
    const done = (): void => {
      this.queuedBytes -= size;
      this.parkedBytes -= parked;
    };
    // A callback, always: without one a closed channel is an 'error' event.
    if (handle !== undefined) this.child.send(m, handle as never, {}, done);
    else this.child.send(m, done);
  }

  /** Readers of `stream` here, counting those on their way (a burst of PLAYs spreads before any move ends). */
  readersOf(stream: Stream): number {
    const feed = this.feeds.get(stream);
    return feed === undefined ? 0 : feed.sessions.size + feed.pending;
  }

  feedEnded(feed: Feed, reason: string, info: StreamEndInfo): void {
    this.pool.feedEnded(this, feed, reason, info);
  }

  feedCutOff(feed: Feed, reason: string): void {
    this.pool.feedCutOff(this, feed, reason);
  }
}

export class FanoutPool implements ReaderHandoff {
  private readonly slots: (WorkerSlot | undefined)[];
  private readonly remoteOf = new Map<ServerConnection, { slot: WorkerSlot; channel: RemoteChannel }>();
  private readonly restarts: number[];
  private nextKey = 1;
  private closed = false;
  /** Messages from workers that failed the checks (protocol.ts), dropped. */
  badMessages = 0;
  /** Readers moved to a worker; readers that stayed here because the move did not come about in time. */
  handoffs = 0;
  handoffsAbandoned = 0;

  constructor(private readonly options: FanoutPoolOptions) {
    this.slots = Array.from({ length: options.workers }, () => undefined);
    this.restarts = this.slots.map(() => 0);
    for (let i = 0; i < options.workers; i++) this.spawn(i);
  }

  private spawn(index: number): void {
    if (this.closed) return;
    const child = fork(WORKER_MAIN, [], {
      serialization: 'advanced',
      execArgv: this.options.execArgv ?? [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const slot = new WorkerSlot(index, child, this);
    this.slots[index] = slot;
    child.on('message', (raw: unknown) => {
      this.onMessage(slot, raw);
    });
    child.on('error', (err) => {
      this.options.logger.warn({ worker: index, err: err.message }, 'fan-out worker channel error');
    });
    child.on('exit', (code, signal) => {
      this.onExit(slot, code, signal);
    });
  }

  private onMessage(slot: WorkerSlot, raw: unknown): void {
    const m = workerMessageOf(raw);
    if (m === undefined) {
      this.badMessages++;
      return;
    }
    switch (m.t) {
      case 'data':
        slot.conns.get(m.conn)?.emit('data', m.bytes);
        return;
      case 'flushed':
        slot.conns.get(m.conn)?.flushed(m.bytes);
        return;
      case 'closed': {
        const channel = slot.conns.get(m.conn);
        slot.conns.delete(m.conn);
        channel?.closedRemotely();
        return;
      }
      case 'taken':
        slot.handlesInFlight = Math.max(0, slot.handlesInFlight - 1);
        return;
      case 'counts':
        slot.counts = m.counts;
    }
  }

  private onExit(slot: WorkerSlot, code: number | null, signal: NodeJS.Signals | null): void {
    slot.alive = false;
    if (this.slots[slot.index] === slot) this.slots[slot.index] = undefined;
    if (!this.closed)
      this.options.logger.error(
        { worker: slot.index, pid: slot.child.pid, code, signal, readers: slot.conns.size },
        'fan-out worker exited: its connections are closed, a new one is started',
      );
    for (const feed of slot.feeds.values()) {
      feed.stream.removeReader(feed);
      for (const s of feed.sessions) s.remoteReading = undefined;
    }
    slot.feeds.clear();
    for (const [conn, remote] of this.remoteOf) if (remote.slot === slot) this.remoteOf.delete(conn);
    const channels = [...slot.conns.values()];
    slot.conns.clear();
    for (const c of channels) c.closedRemotely();
    if (this.closed) return;
    this.restarts[slot.index]!++;
    setTimeout(() => {
      if (this.slots[slot.index] === undefined) this.spawn(slot.index);
    }, RESPAWN_DELAY_MS).unref();
  }

  // ---- ReaderHandoff ----

  played(session: ServerSession, conn: ServerConnection, stream: Stream): void {
    if (this.closed) return;
    // Only plain TCP moves (not RTSPS, a tunnel, a WebSocket), and a connection carrying one session.
    if (!this.remoteOf.has(conn) && (!conn.socketMovable || conn.sessions.size !== 1)) return;
    const slot = this.remoteOf.get(conn)?.slot ?? this.choose(stream);
    if (slot === undefined) return;
    const feed = this.feedFor(slot, stream);
    feed.pending++;
    const deadline = performance.now() + (this.options.handoffWaitMs ?? DEFAULT_HANDOFF_WAIT_MS);
    const attempt = (): void => {
      const outcome = this.tryHandoff(session, conn, stream, slot, feed);
      if (outcome === 'wait' && performance.now() < deadline) {
        setTimeout(attempt, HANDOFF_RETRY_MS);
        return;
      }
      feed.pending--;
      if (outcome === 'wait') this.handoffsAbandoned++;
      if (outcome !== 'moved') this.releaseFeedIfIdle(slot, feed);
    };
    attempt();
  }

  /** The live worker with the fewest readers of this stream, then the fewest readers. */
  private choose(stream: Stream): WorkerSlot | undefined {
    let best: WorkerSlot | undefined;
    for (const s of this.slots) {
      if (s?.alive !== true) continue;
      if (
        best === undefined ||
        s.readersOf(stream) < best.readersOf(stream) ||
        (s.readersOf(stream) === best.readersOf(stream) && s.conns.size < best.conns.size)
      )
        best = s;
    }
    return best;
  }

  private feedFor(slot: WorkerSlot, stream: Stream): Feed {
    let feed = slot.feeds.get(stream);
    if (feed !== undefined) return feed;
    feed = new Feed(stream, this.nextKey++, slot);
    slot.feeds.set(stream, feed);
    slot.send({
      t: 'path',
      key: feed.key,
      tracks: stream.tracks.map((t) => ({ ...t })),
      settings: this.options.settings(),
    });
    // It joins as any reader: from the GOP cache, so the worker's Stream starts at a keyframe.
    stream.addReader(feed);
    return feed;
  }

  private tryHandoff(
    session: ServerSession,
    conn: ServerConnection,
    stream: Stream,
    slot: WorkerSlot,
    feed: Feed,
  ): 'moved' | 'wait' | 'gone' {
    if (!slot.alive || slot.feeds.get(stream) !== feed || stream.ended || conn.isClosed) return 'gone';
    if (session.closed || session.state !== 'playing' || session.stream !== stream) return 'gone';
    if (session.remoteReading !== undefined) return 'gone';
    const patch = stream.readerPatch(session);
    const feedPatch = stream.readerPatch(feed);
    if (patch === undefined || feedPatch === undefined) return 'wait';
    let remote = this.remoteOf.get(conn);
    if (remote === undefined) {
      if (conn.sessions.size !== 1) return 'gone';
      const channel = new RemoteChannel(conn.id, conn.remoteAddress, undefined, (m) => slot.send(m));
      const taken = conn.takeSocket(channel);
      if (taken === undefined) return 'wait';
      slot.conns.set(conn.id, channel);
      remote = { slot, channel };
      this.remoteOf.set(conn, remote);
      channel.on('close', () => {
        slot.conns.delete(conn.id);
        this.remoteOf.delete(conn);
      });
      slot.send({ t: 'socket', conn: conn.id, unread: taken.unread }, taken.socket);
    } else if (remote.slot !== slot) return 'gone';
    stream.removeReader(session);
    // The worker adds its own offset (the feed's) to what it receives: take it out of the reader's.
    const seqDeltas = patch.seqDeltas.map((d, i) => (d - (feedPatch.seqDeltas[i] ?? 0)) & 0xffff);
    const orNull = (v: number | undefined): number | null => (v === undefined ? null : v);
    slot.send({
      t: 'adopt',
      conn: conn.id,
      key: feed.key,
      tracks: [...session.tracks],
      rtpChannels: session.rtpChannels.map(orNull),
      rtcpChannels: session.setups.map((s) => (s?.kind === 'tcp' ? s.rtcpChannel : null)),
      patch: shiftPatch({ ...patch, seqDeltas }, performance.timeOrigin),
    });
    feed.sessions.add(session);
    this.handoffs++;
    session.remoteReading = {
      stop: () => {
        feed.sessions.delete(session);
        slot.send({ t: 'stop', conn: conn.id });
        this.releaseFeedIfIdle(slot, feed);
      },
    };
    return 'moved';
  }

  /** A feed nobody reads through any more leaves its Stream, and the worker forgets the path. */
  private releaseFeedIfIdle(slot: WorkerSlot, feed: Feed): void {
    if (feed.sessions.size > 0 || feed.pending > 0 || slot.feeds.get(feed.stream) !== feed) return;
    slot.feeds.delete(feed.stream);
    feed.stream.removeReader(feed);
    slot.send({ t: 'path-end', key: feed.key });
  }

  feedEnded(slot: WorkerSlot, feed: Feed, reason: string, info: StreamEndInfo): void {
    if (slot.feeds.get(feed.stream) === feed) slot.feeds.delete(feed.stream);
    slot.send({ t: 'path-end', key: feed.key });
    // The primary's sessions were not in the Stream: they hear of its end here (BYE, grace, ANNOUNCE
    // as for any reader), written through their RemoteChannel.
    for (const s of [...feed.sessions]) {
      s.remoteReading = undefined;
      slot.send({ t: 'stop', conn: remoteConnOf(s) ?? -1 });
      s.streamEnded(reason, info);
    }
    feed.sessions.clear();
  }

  feedCutOff(slot: WorkerSlot, feed: Feed, reason: string): void {
    this.options.logger.warn(
      { worker: slot.index, readers: feed.sessions.size, reason },
      'fan-out worker did not take its feed: its readers are closed',
    );
    if (slot.feeds.get(feed.stream) === feed) slot.feeds.delete(feed.stream);
    slot.send({ t: 'path-end', key: feed.key });
    for (const s of feed.sessions) {
      s.remoteReading = undefined;
      s.sink?.destroy?.();
    }
    feed.sessions.clear();
  }

  // ---- figures and the end ----

  movedReaders(stream: Stream): number {
    let n = 0;
    for (const s of this.slots) {
      const feed = s?.feeds.get(stream);
      if (feed !== undefined) n += feed.sessions.size - 1;
    }
    return n;
  }

  counters(): FanoutCounters {
    return {
      workers: this.snapshot(),
      handoffs: this.handoffs,
      handoffsAbandoned: this.handoffsAbandoned,
      badMessages: this.badMessages,
    };
  }

  snapshot(): FanoutWorkerSnapshot[] {
    return this.slots.map((s, index) => ({
      ...(s?.counts ?? emptyCounts()),
      index,
      pid: s?.child.pid,
      alive: s?.alive === true,
      restarts: this.restarts[index]!,
      queuedBytes: s?.queuedBytes ?? 0,
    }));
  }

  /** Ends the workers (their connections close with them). */
  async close(): Promise<void> {
    this.closed = true;
    const exits: Promise<void>[] = [];
    for (const s of this.slots) {
      if (s === undefined || !s.alive) continue;
      exits.push(new Promise((resolve) => s.child.once('exit', () => resolve())));
      s.child.disconnect();
    }
    const timer = setTimeout(() => {
      for (const s of this.slots) if (s?.alive === true) s.child.kill('SIGKILL');
    }, 2000);
    await Promise.all(exits);
    clearTimeout(timer);
  }
}

/** The id of the connection a session's interleaved media goes down (its sink), when it is one. */
function remoteConnOf(session: ServerSession): number | undefined {
  const sink = session.sink as { id?: unknown } | undefined;
  return typeof sink?.id === 'number' ? sink.id : undefined;
}
