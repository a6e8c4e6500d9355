/**
 * `/metrics` in the Prometheus text exposition format (version 0.0.4), with prom-client.
 *
 * Everything is read from the engine's view when scraped (snapshots of paths, sessions, counters), so the
 * media path carries no metrics code. Counters that describe a path (`*_total{path}`) are the path's
 * own counters: they restart from zero when a path is published again, which Prometheus' rate()
 * treats as a counter reset; a path that goes away takes its series with it.
 *
 * Each Metrics has its own Registry (not prom-client's global one), so that several servers in one
 * process (tests) do not share series. prom-client's default process metrics (CPU, memory, event
 * loop lag, GC, handles) are registered on it too.
 */
import { FanoutMetrics } from './fanout-metrics.js';
import { UdpSendMetrics } from './udp-send-metrics.js';
import { udpSendPathInUse } from '../transport/udp-batch.js';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { MEDIA_FAULT_STAGES } from '../media/media-faults.js';
import { SESSION_REFUSAL_REASONS } from '../server/session-limits.js';
import type { EngineView } from '../server/view.js';
import type { ServerSampler } from './stats.js';
import { PullMetrics } from './pull-metrics.js';
import { PlaybackIndexMetrics } from './playback-index-metrics.js';
import { LoadMetrics } from './load-metrics.js';
import { HookMetrics, type HookFigures } from './hook-metrics.js';
import type { RecorderManager } from '../recorder/manager.js';
import type { RecordingCounters } from '../recorder/path-recorder.js';
import { RtmpMetrics, type RtmpMetricsSource } from './rtmp-metrics.js';

/** The recorders' counters as /metrics names them. */
const RECORD_COUNTERS: readonly [keyof RecordingCounters, string, string][] = [
  [
    'segmentsCompleted',
    'rtspkit_record_segments_total',
    'Recording segments completed (each also a log line).',
  ],
  ['partsWritten', 'rtspkit_record_parts_total', 'Recording parts written (prft + moof + mdat).'],
  ['bytesWritten', 'rtspkit_record_bytes_written_total', 'Bytes of recordings written to disk.'],
  [
    'partsDropped',
    'rtspkit_record_parts_dropped_total',
    "Recording parts dropped because the path's write queue was full (recordMaxQueueBytes).",
  ],
  [
    'writeErrors',
    'rtspkit_record_errors_total',
    'Recording stops: write errors (disk full, I/O) and free space under recordMinFreeBytes.',
  ],
  [
    'segmentsDeleted',
    'rtspkit_record_segments_deleted_total',
    'Recording segments deleted (retention, API).',
  ],
];

export interface MetricsOptions {
  /** Failed RTSP/API authentications so far (Authorizer.authFailures), when auth is configured. */
  authFailures?: () => number;
  /** HLS muxers running now (absent: not exported). */
  hlsMuxers?: () => number;
  /** Register prom-client's process metrics (default true). */
  processMetrics?: boolean;
  /** HTTP API connections refused by its caps (absent: not exported). */
  apiConnectionsRefused?: () => number;
  /** The recorders (absent: no rtspkit_record_* series). */
  /** The RTMP server (absent: no rtspkit_rtmp_* series). */
  rtmp?: () => RtmpMetricsSource;
  /** The commands the server runs (absent: no rtspkit_hooks_* series). */
  hooks?: () => HookFigures;
  recordings?: Pick<RecorderManager, 'counters' | 'recorders' | 'segmentsCompletedByPath'>;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly connections: Gauge;
  private readonly sessions: Gauge<'transport' | 'mode'>;
  private readonly pathReaders: Gauge<'path'>;
  private readonly pathPublishers: Gauge<'path'>;
  private readonly packetsIn: Counter<'path'>;
  private readonly bytesIn: Counter<'path'>;
  private readonly bytesOut: Counter;
  private readonly packetsOut: Counter;
  private readonly dropped: Counter<'path'>;
  private readonly stormStarts: Counter<'path'>;
  private readonly readerBacklog: Gauge;
  private readonly backlogCapDropped: Counter;
  private readonly readersCutOff: Counter;
  /** Queued bytes and refusals by reason (load-metrics.ts). */
  private readonly load: LoadMetrics;
  private readonly receiverLost: Gauge<'path'>;
  private readonly publisherLost: Gauge<'path'>;
  private readonly refused: Counter;
  private readonly sessionRefusals: Counter<'reason'>;
  private readonly mediaFaults: Counter<'stage'>;
  private readonly closedByLimit: Counter<'reason'>;
  private readonly serverRequests: Counter<'event'>;
  private readonly readerMoves: Counter<'event'>;
  private readonly replyBacklogHolds: Counter;
  private readonly tunnelPostsRefused: Counter;
  private readonly logLinesSuppressed: Counter;
  private readonly apiRefused: Counter | undefined;
  private readonly authFailures: Counter | undefined;
  private readonly hlsMuxers: Gauge | undefined;
  private readonly recordCounters: Counter[] = [];
  private readonly recorders: Gauge<'state'> | undefined;
  private readonly pulls: PullMetrics;
  private playbackIndexes: PlaybackIndexMetrics | undefined;
  private readonly rtmp: RtmpMetrics | undefined;
  private readonly hooks: HookMetrics | undefined;
  private readonly segmentsByPath: Counter<'path'> | undefined;

  /** Made at the first refresh that has fan-out workers. */
  private fanout: FanoutMetrics | undefined;
  /** Made at the first refresh after a server chose how to send UDP readers' RTP. */
  private udpSend: UdpSendMetrics | undefined;
  constructor(
    private readonly engine: EngineView,
    private readonly sampler: ServerSampler,
    private readonly options: MetricsOptions = {},
  ) {
    const registers = [this.registry];
    this.connections = new Gauge({
      name: 'rtspkit_connections',
      help: 'Open RTSP connections (TCP, TLS, WebSocket, HTTP tunnel halves).',
      registers,
    });
    this.sessions = new Gauge({
      name: 'rtspkit_sessions',
      help: 'RTSP sessions by transport and mode (play: readers, record: publishers).',
      labelNames: ['transport', 'mode'],
      registers,
    });
    this.pathReaders = new Gauge({
      name: 'rtspkit_path_readers',
      help: 'Readers attached to a live path.',
      labelNames: ['path'],
      registers,
    });
    this.pathPublishers = new Gauge({
      name: 'rtspkit_path_publishers',
      help: 'Publishers of a path (1 while a publisher or a file source holds it).',
      labelNames: ['path'],
      registers,
    });
    this.packetsIn = new Counter({
      name: 'rtspkit_rtp_packets_in_total',
      help: 'RTP packets received on a path since it was published.',
      labelNames: ['path'],
      registers,
    });
    this.bytesIn = new Counter({
      name: 'rtspkit_rtp_bytes_in_total',
      help: 'RTP bytes (headers included) received on a path since it was published.',
      labelNames: ['path'],
      registers,
    });
    this.bytesOut = new Counter({
      name: 'rtspkit_rtp_bytes_out_total',
      help:
        'Media bytes sent to readers (RTP, plus the 4-byte interleave header over TCP), live and ended ' +
        'sessions; sessions shorter than the 1 s sampling interval may be missed.',
      registers,
    });
    this.packetsOut = new Counter({
      name: 'rtspkit_rtp_packets_out_total',
      help: 'RTP packets sent to readers, live and ended sessions (sampled as rtspkit_rtp_bytes_out_total).',
      registers,
    });
    this.dropped = new Counter({
      name: 'rtspkit_reader_dropped_packets_total',
      help: 'Packets not sent to slow readers of a path (they skip to the next keyframe).',
      labelNames: ['path'],
      registers,
    });
    this.stormStarts = new Counter({
      name: 'rtspkit_reader_storm_starts_total',
      help:
        'Readers of a path that PLAYed in a join storm (past joinBurstBytesPerSecond, or while the join pacer ' +
        'was busy): answered at once, they started at the next keyframe without a GOP burst.',
      labelNames: ['path'],
      registers,
    });
    this.readerBacklog = new Gauge({
      name: 'rtspkit_reader_backlog_bytes',
      help: 'Bytes queued to TCP readers (interleaved, tunnel, WebSocket) and not yet taken by the kernel, all paths.',
      registers,
    });
    this.backlogCapDropped = new Counter({
      name: 'rtspkit_reader_backlog_cap_dropped_packets_total',
      help:
        'Packets not sent to readers because all readers together held maxTotalReaderBacklogBytes ' +
        '(the readers asking for more skip to the next keyframe; also in rtspkit_reader_dropped_packets_total).',
      registers,
    });
    this.readersCutOff = new Counter({
      name: 'rtspkit_readers_cut_off_total',
      help: 'Readers disconnected because their backlog did not drain within readerStallTimeout.',
      registers,
    });
    this.receiverLost = new Gauge({
      name: 'rtspkit_receiver_packets_lost',
      help: "Cumulative packets lost reported by a path's current readers in RTCP receiver reports.",
      labelNames: ['path'],
      registers,
    });
    this.publisherLost = new Gauge({
      name: 'rtspkit_publisher_packets_lost',
      help: "Packets lost between a path's publisher and the server (RTP sequence gaps).",
      labelNames: ['path'],
      registers,
    });
    this.refused = new Counter({
      name: 'rtspkit_connections_refused_total',
      help: 'Connections closed at once by the connection limits.',
      registers,
    });
    this.sessionRefusals = new Counter({
      name: 'rtspkit_session_refusals_total',
      help:
        'Session requests refused by a limit or binding, by reason: sessions, sessionsPerIp (503), ' +
        'announcedSdpBytes (413), queuedPlayRanges (503), foreignSession (454: another client presented ' +
        "the id), clientPortInUse and clientPortIsServer (461), onDemandPath (403: ANNOUNCE of a file's name).",
      labelNames: ['reason'],
      registers,
    });
    this.mediaFaults = new Counter({
      name: 'rtspkit_media_faults_total',
      help:
        "Exceptions caught in code a publisher's media drives, by stage: ingest (the packet was dropped), " +
        'hls (the muxer stopped; the next request starts a new one). Each is a bug to report.',
      labelNames: ['stage'],
      registers,
    });
    this.closedByLimit = new Counter({
      name: 'rtspkit_connections_closed_total',
      help: 'Connections closed by a timeout (request, idle, tunnel pairing, TLS handshake) or for replies left unread.',
      labelNames: ['reason'],
      registers,
    });
    this.serverRequests = new Counter({
      name: 'rtspkit_server_requests_total',
      help:
        'Requests the server sent its clients (REDIRECT, ANNOUNCE), by event: sent, answered, timedOut, ' +
        'closed (connection gone first), overLimit (maxServerRequestsPending), unmatched (answers we did not wait for).',
      labelNames: ['event'],
      registers,
    });
    this.readerMoves = new Counter({
      name: 'rtspkit_reader_moves_total',
      help:
        'Readers sent REDIRECT (their path moved) or ANNOUNCE (its media changed), and whether they followed; ' +
        'mediaChangeEnded: readers ended at a media change (their client is not rtspkit).',
      labelNames: ['event'],
      registers,
    });
    this.replyBacklogHolds = new Counter({
      name: 'rtspkit_reply_backlog_holds_total',
      help: 'Times a connection stopped being read because its replies piled up unread (maxReplyBacklogBytes).',
      registers,
    });
    this.tunnelPostsRefused = new Counter({
      name: 'rtspkit_tunnel_posts_refused_total',
      help: "HTTP-tunnel POSTs refused for coming from another address than their GET's.",
      registers,
    });
    this.logLinesSuppressed = new Counter({
      name: 'rtspkit_log_lines_suppressed_total',
      help: 'Refusal log lines left out by the rate limit (each window ends with a summary line).',
      registers,
    });
    if (options.apiConnectionsRefused !== undefined)
      this.apiRefused = new Counter({
        name: 'rtspkit_api_connections_refused_total',
        help: 'HTTP API connections closed at once by its connection limits.',
        registers,
      });
    if (options.authFailures !== undefined) {
      this.authFailures = new Counter({
        name: 'rtspkit_auth_failures_total',
        help: 'Requests refused for missing or wrong credentials.',
        registers,
      });
    }
    if (options.hlsMuxers !== undefined) {
      this.hlsMuxers = new Gauge({
        name: 'rtspkit_hls_muxers',
        help: 'Paths being muxed to HLS now (each one is also a reader of its path).',
        registers,
      });
    }
    if (options.recordings !== undefined) {
      for (const [, name, help] of RECORD_COUNTERS)
        this.recordCounters.push(new Counter({ name, help, registers }));
      this.recorders = new Gauge({
        name: 'rtspkit_recorders',
        help: 'Paths with a recorder, by state: recording, or held (write error, low disk space).',
        labelNames: ['state'],
        registers,
      });
      this.segmentsByPath = new Counter({
        name: 'rtspkit_record_segments_completed_total',
        help: 'Recording segments completed, by path (each also a log line "recording segment complete").',
        labelNames: ['path'],
        registers,
      });
    }
    this.pulls = new PullMetrics(registers);
    this.load = new LoadMetrics(registers);
    if (options.rtmp !== undefined) this.rtmp = new RtmpMetrics(this.registry, options.rtmp);
    this.hooks = options.hooks !== undefined ? new HookMetrics(registers) : undefined;
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Reads the engine's state into the metrics and renders them. */
  async render(): Promise<string> {
    this.refresh();
    return this.registry.metrics();
  }

  private refresh(): void {
    this.rtmp?.refresh();
    const counters = this.engine.counters();
    this.connections.set(counters.connections);

    this.sessions.reset();
    for (const transport of ['tcp', 'udp'])
      for (const mode of ['play', 'record']) this.sessions.set({ transport, mode }, 0);
    for (const s of this.engine.sessions()) this.sessions.inc({ transport: s.transport, mode: s.mode });

    for (const g of [this.pathReaders, this.pathPublishers, this.receiverLost, this.publisherLost]) g.reset();
    for (const c of [this.packetsIn, this.bytesIn, this.dropped, this.stormStarts]) c.reset();
    const paths = this.engine.paths();
    this.pulls.refresh(paths, counters.paths, counters.proxiedReaders);
    if (counters.playbackIndexes !== undefined) {
      this.playbackIndexes ??= new PlaybackIndexMetrics([this.registry]);
      this.playbackIndexes.refresh(counters.playbackIndexes);
    }
    if (counters.fanout !== undefined) {
      this.fanout ??= new FanoutMetrics([this.registry]);
      this.fanout.refresh(counters.fanout);
    }
    if (udpSendPathInUse !== undefined) (this.udpSend ??= new UdpSendMetrics([this.registry])).refresh();
    if (this.options.hooks !== undefined) this.hooks?.refresh(this.options.hooks());
    for (const p of paths) {
      const path = p.name;
      this.pathPublishers.set({ path }, 1);
      this.pathReaders.set({ path }, p.readers);
      this.packetsIn.inc({ path }, p.packetsIn);
      this.bytesIn.inc({ path }, p.bytesIn);
      this.dropped.inc({ path }, p.droppedPackets);
      this.stormStarts.inc({ path }, p.stormStarts);
      this.receiverLost.set({ path }, p.readerPacketsLost);
      this.publisherLost.set({ path }, p.publisherPacketsLost);
    }

    this.bytesOut.reset();
    this.bytesOut.inc(this.sampler.bytesOutTotal());
    this.packetsOut.reset();
    this.packetsOut.inc(this.sampler.packetsOutTotal());
    this.refused.reset();
    this.refused.inc(counters.connectionsRefused);
    this.sessionRefusals.reset();
    for (const reason of SESSION_REFUSAL_REASONS)
      this.sessionRefusals.inc({ reason }, counters.sessionRefusals[reason]);
    this.readerBacklog.set(counters.readerBacklogBytes);
    this.load.refresh(counters);
    this.backlogCapDropped.reset();
    this.backlogCapDropped.inc(counters.backlogCapDroppedPackets);
    this.readersCutOff.reset();
    this.readersCutOff.inc(counters.readersCutOff);
    this.mediaFaults.reset();
    for (const stage of MEDIA_FAULT_STAGES) this.mediaFaults.inc({ stage }, counters.mediaFaults[stage]);
    this.closedByLimit.reset();
    for (const [reason, n] of Object.entries(counters.connectionCloses))
      this.closedByLimit.inc({ reason }, n);
    for (const [counter, values] of [
      [this.serverRequests, counters.serverRequests],
      [this.readerMoves, counters.readerMoves],
    ] as const) {
      counter.reset();
      for (const [event, n] of Object.entries(values)) counter.inc({ event }, n);
    }
    this.replyBacklogHolds.reset();
    this.replyBacklogHolds.inc(counters.replyBacklogHolds);
    this.tunnelPostsRefused.reset();
    this.tunnelPostsRefused.inc(counters.tunnelPostsRefused);
    this.logLinesSuppressed.reset();
    this.logLinesSuppressed.inc(counters.logLinesSuppressed);
    if (this.apiRefused !== undefined && this.options.apiConnectionsRefused !== undefined) {
      this.apiRefused.reset();
      this.apiRefused.inc(this.options.apiConnectionsRefused());
    }
    if (this.hlsMuxers !== undefined && this.options.hlsMuxers !== undefined)
      this.hlsMuxers.set(this.options.hlsMuxers());
    if (this.authFailures !== undefined && this.options.authFailures !== undefined) {
      this.authFailures.reset();
      this.authFailures.inc(this.options.authFailures());
    }
    const recordings = this.options.recordings;
    if (recordings !== undefined && this.recorders !== undefined) {
      RECORD_COUNTERS.forEach(([key], i) => {
        this.recordCounters[i]!.reset();
        this.recordCounters[i]!.inc(recordings.counters[key]);
      });
      const all = recordings.recorders();
      this.recorders.set({ state: 'recording' }, all.filter((r) => r.held === null).length);
      this.recorders.set({ state: 'held' }, all.filter((r) => r.held !== null).length);
      this.segmentsByPath?.reset();
      for (const [path, n] of recordings.segmentsCompletedByPath) this.segmentsByPath?.inc({ path }, n);
    }
  }
}
