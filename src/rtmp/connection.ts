/**
 * One RTMP connection (Adobe RTMP specification 1.0): the handshake (§5.2), the chunk stream
 * (flv/chunk.ts), protocol control (§5.4: window acknowledgement, peer bandwidth, chunk size), user
 * control pings (§6.2), and the NetConnection / NetStream commands (§7.2) a publisher or a player
 * sends: connect, releaseStream, FCPublish, createStream, publish, play, deleteStream, FCUnpublish,
 * closeStream, and `@setDataFrame onMetaData`. Replies are the `_result`s and `onStatus` codes ffmpeg,
 * GStreamer and OBS wait for.
 *
 * Whatever the peer sends, only this connection is at stake: a parse error, a bound broken (chunk
 * streams, message size, reassembly bytes, streams), a command we do not know, a handshake not
 * finished in time all close it with one log line and a counted reason. A publisher's path is freed
 * and a player's reader leaves its Stream when the connection closes, whichever way.
 *
 * One connection publishes or plays at a time (what every client does); a second `publish` or `play`
 * on it is refused.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { clockTimeout, type Clock, type ClockTimer } from '../base/clock.js';
import { isParseError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { amf0Object, encodeAmf0, encodeAmf0EcmaArray } from '../flv/amf0.js';
import { ChunkReader, ChunkWriter, type ChunkReaderLimits } from '../flv/chunk.js';
import { HANDSHAKE_SIZE, serverHandshakeReply } from '../flv/handshake.js';
import {
  MessageType,
  UserControlEvent,
  acknowledgementMessage,
  commandMessage,
  parseCommand,
  parseControlValue,
  parseDataMessage,
  parseUserControl,
  setChunkSizeMessage,
  setPeerBandwidthMessage,
  userControlMessage,
  windowAckSizeMessage,
  type RtmpCommand,
  type RtmpMessage,
} from '../flv/messages.js';
import type { Authorizer } from '../server/auth.js';
import type { PathManager } from '../paths/path-manager.js';
import type { Stream } from '../media/stream.js';
import { adobeConnectVerdict, type AdobeChallenges } from './adobe-auth.js';
import { RtmpEgress, rtmpPlayable } from './egress.js';
import { RtmpIngest } from './ingest.js';
import { rtmpTarget, type RtmpTarget } from './names.js';
import type { RtmpCounters } from './counters.js';
import { PENDING_MEDIA, closeReasonOf, dataMessage, metadataOf, status } from './replies.js';

/** What we send in chunks of: big enough that a frame is a few chunks, as ffmpeg and mediamtx do. */
const OUT_CHUNK_SIZE = 4096;
const WINDOW_ACK_SIZE = 2_500_000;
/** Streams one connection may create (createStream): clients create one. */
const MAX_MESSAGE_STREAMS = 8;

export interface RtmpConnectionLimits extends ChunkReaderLimits {
  /** Handshake and connect must be done within this time. */
  handshakeTimeoutMs: number;
  /** A connection that sends nothing for this long is closed (players excepted: they only read). */
  idleTimeoutMs: number;
}

export interface RtmpConnectionDeps {
  id: string;
  ip: string;
  clock: Clock;
  logger: Logger;
  paths: PathManager;
  authorizer(): Authorizer | undefined;
  limits(): RtmpConnectionLimits;
  /** The server's per-path reader cap (the same as RTSP's); 0: none. */
  maxReadersPerPath(): number;
  counters: RtmpCounters;
  /** With `rtmpAdobeAuth`: the server's pending Adobe challenges (adobe-auth.ts). */
  adobeChallenges: AdobeChallenges | undefined;
  onClosed(): void;
}

export interface RtmpConnectionSnapshot {
  id: string;
  role: 'publisher' | 'player' | 'idle';
  path: string | undefined;
  /** A player's first access unit (the Stream's accessUnitsIn numbering), once it has one. */
  readerStartAccessUnit: number | undefined;
}

type Phase = 'c0c1' | 'c2' | 'chunks' | 'closed';

interface Publishing {
  messageStreamId: number;
  path: string;
  ingest: RtmpIngest;
  stream: Stream | undefined;
}

interface Playing {
  messageStreamId: number;
  path: string;
  stream: Stream;
  egress: RtmpEgress;
}

export class RtmpConnection {
  private phase: Phase = 'c0c1';
  private handshakeBytes: Buffer = Buffer.alloc(0);
  private readonly reader: ChunkReader;
  private readonly writer = new ChunkWriter();
  private app = '';
  private connected = false;
  /** Who answered Adobe's challenge at connect (adobe-auth.ts); their rights apply at publish/play. */
  private adobeUser: string | undefined;
  private readonly messageStreams = new Set<number>();
  private nextStreamId = 1;
  private publishing: Publishing | undefined;
  private playing: Playing | undefined;
  private bytesIn = 0;
  private ackedBytes = 0;
  private peerWindowBytes = 0;
  private lastInputMs: number;
  private handshakeTimer: ClockTimer | undefined;
  private idleTimer: ClockTimer | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly deps: RtmpConnectionDeps,
  ) {
    this.reader = new ChunkReader(deps.limits());
    this.lastInputMs = deps.clock.monotonicMs();
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', (err) => deps.logger.debug({ conn: deps.id, err: err.message }, 'rtmp: socket error'));
    socket.on('close', () => this.cleanup('connection closed'));
    this.handshakeTimer = clockTimeout(
      deps.clock,
      () => {
        if (this.connected) return;
        deps.counters.closes.handshake_timeout++;
        this.close('handshake_timeout', 'no connect within the handshake timeout');
      },
      deps.limits().handshakeTimeoutMs,
      { unref: true },
    );
    this.armIdle();
  }

  /** Closes the connection (server shutting down, path removed). */
  close(reason: string, detail?: string): void {
    if (this.phase === 'closed') return;
    this.deps.logger.info(
      { conn: this.deps.id, ip: this.deps.ip, reason, detail },
      'rtmp: connection closed',
    );
    this.cleanup(reason);
    this.socket.end();
    this.socket.destroySoon();
  }

  private cleanup(reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.handshakeTimer?.cancel();
    this.idleTimer?.cancel();
    this.stopPublishing(reason);
    this.stopPlaying();
    this.deps.onClosed();
  }

  private armIdle(): void {
    const { idleTimeoutMs } = this.deps.limits();
    this.idleTimer = clockTimeout(
      this.deps.clock,
      () => {
        if (this.phase === 'closed') return;
        const silentMs = this.deps.clock.monotonicMs() - this.lastInputMs;
        if (this.playing === undefined && silentMs >= idleTimeoutMs) {
          this.deps.counters.closes.idle++;
          this.close('idle', `nothing received for ${Math.round(silentMs)} ms`);
          return;
        }
        this.armIdle();
      },
      Math.max(100, idleTimeoutMs / 2),
      { unref: true },
    );
  }

  private onData(data: Buffer): void {
    if (this.phase === 'closed') return;
    this.lastInputMs = this.deps.clock.monotonicMs();
    this.bytesIn += data.length;
    try {
      if (this.phase !== 'chunks') data = this.handshake(data);
      if (this.phase === 'chunks' && data.length > 0) {
        for (const msg of this.reader.push(data)) {
          this.onMessage(msg);
          if ((this.phase as Phase) === 'closed') return;
        }
      }
      this.acknowledge();
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * A ParseError is the peer's fault: closed with its reason. Anything else is ours, but it came from
   * this peer's bytes: an exception escaping a socket handler would end the process and every path with
   * it, so it is logged and this connection alone is closed (as the HLS muxer isolates its faults).
   */
  private fail(err: unknown): void {
    if (isParseError(err)) {
      const key = closeReasonOf(err.code);
      this.deps.counters.closes[key]++;
      this.close(key, err.message);
      return;
    }
    this.deps.counters.closes.fault++;
    this.deps.logger.error(
      { conn: this.deps.id, err: err instanceof Error ? err.stack : String(err) },
      'rtmp: fault',
    );
    this.close('fault');
  }

  /** Consumes handshake bytes; returns what follows C2 (the first chunks). */
  private handshake(data: Buffer): Buffer {
    this.handshakeBytes = Buffer.concat([this.handshakeBytes, data]);
    if (this.phase === 'c0c1') {
      if (this.handshakeBytes.length < 1 + HANDSHAKE_SIZE) return Buffer.alloc(0);
      const c0c1 = this.handshakeBytes.subarray(0, 1 + HANDSHAKE_SIZE);
      this.socket.write(serverHandshakeReply(c0c1, randomBytes(2 * HANDSHAKE_SIZE)));
      this.handshakeBytes = this.handshakeBytes.subarray(1 + HANDSHAKE_SIZE);
      this.phase = 'c2';
    }
    if (this.handshakeBytes.length < HANDSHAKE_SIZE) return Buffer.alloc(0);
    // C2 echoes S1; clients differ in what they put there, and nothing depends on it.
    const rest = this.handshakeBytes.subarray(HANDSHAKE_SIZE);
    this.handshakeBytes = Buffer.alloc(0);
    this.phase = 'chunks';
    return Buffer.from(rest);
  }

  /** Acknowledgement (§5.4.3) each time the peer's window of bytes has come. */
  private acknowledge(): void {
    if (this.peerWindowBytes <= 0 || this.bytesIn - this.ackedBytes < this.peerWindowBytes) return;
    this.ackedBytes = this.bytesIn;
    this.send(acknowledgementMessage(this.bytesIn % 2 ** 32));
  }

  private send(msg: RtmpMessage): void {
    if (this.phase === 'closed') return;
    const chunks = this.writer.serialize(msg);
    this.socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  }

  private onMessage(msg: RtmpMessage): void {
    switch (msg.typeId) {
      case MessageType.SetChunkSize:
      case MessageType.Abort:
      case MessageType.Acknowledgement:
      case MessageType.SetPeerBandwidth:
        return; // chunk-layer ones act in the reader; the others ask nothing of us
      case MessageType.WindowAckSize:
        this.peerWindowBytes = parseControlValue(msg.payload);
        return;
      case MessageType.UserControl: {
        const { event, value } = parseUserControl(msg.payload);
        if (event === UserControlEvent.PingRequest)
          this.send(userControlMessage(UserControlEvent.PingResponse, value));
        return;
      }
      case MessageType.Audio:
        if (this.publishing?.messageStreamId === msg.messageStreamId)
          this.publishing.ingest.pushAudio(msg.timestamp, msg.payload);
        return;
      case MessageType.Video:
        if (this.publishing?.messageStreamId === msg.messageStreamId)
          this.publishing.ingest.pushVideo(msg.timestamp, msg.payload);
        return;
      case MessageType.DataAmf0:
      case MessageType.DataAmf3: {
        const body = msg.typeId === MessageType.DataAmf3 ? msg.payload.subarray(1) : msg.payload;
        const data = parseDataMessage(body);
        if (data.name === 'onMetaData' && this.publishing?.messageStreamId === msg.messageStreamId)
          this.publishing.ingest.metadata(data.values);
        return;
      }
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3:
        this.onCommand(parseCommand(msg), msg.messageStreamId);
        return;
      default:
        // Shared object messages (19, 16) and aggregates (22) are not used by live clients.
        this.deps.counters.closes.protocol++;
        this.close('protocol', `unsupported message type ${msg.typeId}`);
    }
  }

  private onCommand(cmd: RtmpCommand, messageStreamId: number): void {
    if (cmd.name !== 'connect' && !this.connected) {
      this.deps.counters.closes.protocol++;
      this.close('protocol', `${cmd.name} before connect`);
      return;
    }
    switch (cmd.name) {
      case 'connect':
        this.onConnect(cmd);
        return;
      case 'createStream':
        this.onCreateStream(cmd);
        return;
      case 'releaseStream':
      case 'FCPublish':
      case 'FCUnpublish':
      case 'FCSubscribe':
      case 'getStreamLength':
      case '_checkbw':
        // Flash-era calls: answered, nothing to do (the stream's fate is publish/play/deleteStream).
        if (cmd.name === 'FCUnpublish') this.stopPublishing('unpublished');
        if (cmd.transactionId > 0) this.send(commandMessage(0, '_result', cmd.transactionId, null));
        return;
      case 'publish':
        this.onPublish(cmd, messageStreamId).catch((err: unknown) => this.fail(err));
        return;
      case 'play':
        this.onPlay(cmd, messageStreamId).catch((err: unknown) => this.fail(err));
        return;
      case 'deleteStream':
      case 'closeStream': {
        const id =
          cmd.name === 'deleteStream' && typeof cmd.args[0] === 'number' ? cmd.args[0] : messageStreamId;
        if (this.publishing?.messageStreamId === id) this.stopPublishing('unpublished');
        if (this.playing?.messageStreamId === id) this.stopPlaying();
        if (cmd.name === 'deleteStream') this.messageStreams.delete(id);
        return;
      }
      case 'receiveAudio':
      case 'receiveVideo':
      case 'pause':
      case 'seek':
      case '_result':
      case '_error':
      case 'onStatus':
        return;
      default:
        this.deps.counters.closes.unknown_command++;
        this.close('unknown_command', `unknown command ${JSON.stringify(cmd.name.slice(0, 64))}`);
    }
  }

  private onConnect(cmd: RtmpCommand): void {
    if (this.connected) {
      this.deps.counters.closes.protocol++;
      this.close('protocol', 'second connect');
      return;
    }
    const app = cmd.commandObject?.app;
    this.app = typeof app === 'string' ? app : '';
    const authorizer = this.deps.authorizer();
    if (this.deps.adobeChallenges !== undefined && authorizer !== undefined) {
      const verdict = adobeConnectVerdict(this.app, this.deps.ip, authorizer, this.deps.adobeChallenges);
      if (verdict.kind === 'reject') {
        const info = status('error', 'NetConnection.Connect.Rejected', verdict.description);
        this.send(commandMessage(0, '_error', cmd.transactionId, null, info));
        this.deps.counters.closes[verdict.reason]++;
        this.close(verdict.reason, 'connect: adobe auth');
        return;
      }
      this.adobeUser = verdict.user;
    }
    this.connected = true;
    this.handshakeTimer?.cancel();
    this.send(windowAckSizeMessage(WINDOW_ACK_SIZE));
    this.send(setPeerBandwidthMessage(WINDOW_ACK_SIZE));
    this.send(setChunkSizeMessage(OUT_CHUNK_SIZE));
    this.writer.chunkSize = OUT_CHUNK_SIZE;
    const properties = amf0Object({ fmsVer: 'FMS/3,0,1,123', capabilities: 31 });
    const information = status('status', 'NetConnection.Connect.Success', 'Connection succeeded.');
    information.objectEncoding = 0;
    // Enhanced RTMP (v1 §"connect"): the FourCCs we take and give, when the client asks.
    if (cmd.commandObject?.fourCcList !== undefined) properties.fourCcList = ['avc1', 'hvc1', 'Opus', 'mp4a'];
    this.send(commandMessage(0, '_result', cmd.transactionId, properties, information));
  }

  private onCreateStream(cmd: RtmpCommand): void {
    if (this.messageStreams.size >= MAX_MESSAGE_STREAMS) {
      this.deps.counters.closes.limit++;
      this.close('limit', 'too many streams');
      return;
    }
    const id = this.nextStreamId++;
    this.messageStreams.add(id);
    this.send(commandMessage(0, '_result', cmd.transactionId, null, id));
  }

  private target(cmd: RtmpCommand): RtmpTarget {
    const name = typeof cmd.args[0] === 'string' ? cmd.args[0] : '';
    return rtmpTarget(this.app, name);
  }

  /** Sends an onStatus on `messageStreamId`; `fatal` closes the connection once it is written. */
  private status(
    messageStreamId: number,
    level: 'status' | 'error',
    code: string,
    description: string,
  ): void {
    this.send(commandMessage(messageStreamId, 'onStatus', 0, null, status(level, code, description)));
  }

  private refuse(
    messageStreamId: number,
    code: string,
    description: string,
    reason: keyof RtmpCounters['closes'],
  ): void {
    this.status(messageStreamId, 'error', code, description);
    this.deps.counters.closes[reason]++;
    this.close(reason, `${code}: ${description}`);
  }

  private async allowed(t: RtmpTarget, action: 'publish' | 'read'): Promise<boolean> {
    const authorizer = this.deps.authorizer();
    if (authorizer === undefined) return true;
    const ctx = { ip: this.deps.ip, action, path: t.path, query: t.query };
    // The app's query then holds the exchange's `user` (and no `pass`): the identity is the answer's.
    if (this.adobeUser !== undefined) return authorizer.admitUser(this.adobeUser, ctx) === undefined;
    return (await authorizer.checkCredentials(t.credentials, ctx)) === undefined;
  }

  private async onPublish(cmd: RtmpCommand, messageStreamId: number): Promise<void> {
    const t = this.target(cmd);
    if (
      this.publishing !== undefined ||
      this.playing !== undefined ||
      !this.messageStreams.has(messageStreamId)
    ) {
      this.refuse(messageStreamId, 'NetStream.Publish.BadName', 'one stream per connection', 'protocol');
      return;
    }
    if (t.path === '') {
      this.refuse(messageStreamId, 'NetStream.Publish.BadName', 'no stream name', 'bad_name');
      return;
    }
    if (!(await this.allowed(t, 'publish'))) {
      this.refuse(
        messageStreamId,
        'NetStream.Publish.Unauthorized',
        'not authorized to publish',
        'unauthorized',
      );
      return;
    }
    if (this.phase === 'closed') return;
    const paths = this.deps.paths;
    const sessionId = this.deps.id;
    // Claimed now, so that a second publisher is refused at once; the media come with the headers.
    if (!paths.claimPublisher(t.path, sessionId, PENDING_MEDIA)) {
      this.refuse(messageStreamId, 'NetStream.Publish.BadName', `${t.path} is already published`, 'busy');
      return;
    }
    const publishing: Publishing = {
      messageStreamId,
      path: t.path,
      stream: undefined,
      ingest: new RtmpIngest({
        clock: this.deps.clock,
        logger: this.deps.logger,
        onReady: (media) => {
          // The same owner claims again with the real media, then starts (RECORD in RTSP's terms).
          if (!paths.claimPublisher(t.path, sessionId, media)) return undefined;
          publishing.stream = paths.startPublishing(t.path, sessionId);
          this.deps.logger.info(
            { conn: sessionId, path: t.path, tracks: media.tracks.map((m) => m.encodingName) },
            'rtmp: publishing',
          );
          return publishing.stream;
        },
      }),
    };
    this.publishing = publishing;
    this.deps.counters.publishes++;
    this.send(userControlMessage(UserControlEvent.StreamBegin, messageStreamId));
    this.status(messageStreamId, 'status', 'NetStream.Publish.Start', `${t.path} is now published`);
  }

  private stopPublishing(reason: string): void {
    const p = this.publishing;
    if (p === undefined) return;
    this.publishing = undefined;
    this.deps.paths.releasePublisher(p.path, this.deps.id, reason);
    this.deps.logger.info(
      { conn: this.deps.id, path: p.path, reason, ...p.ingest.counters },
      'rtmp: publisher left',
    );
  }

  private async onPlay(cmd: RtmpCommand, messageStreamId: number): Promise<void> {
    const t = this.target(cmd);
    if (
      this.publishing !== undefined ||
      this.playing !== undefined ||
      !this.messageStreams.has(messageStreamId)
    ) {
      this.refuse(messageStreamId, 'NetStream.Play.Failed', 'one stream per connection', 'protocol');
      return;
    }
    if (!(await this.allowed(t, 'read'))) {
      this.refuse(messageStreamId, 'NetStream.Play.Failed', 'not authorized to read', 'unauthorized');
      return;
    }
    const path = t.path === '' ? undefined : await this.deps.paths.forReader(t.path);
    if (this.phase === 'closed') return;
    const stream = path?.stream;
    if (path === undefined || stream === undefined || stream.ended || !rtmpPlayable(path.media)) {
      this.refuse(
        messageStreamId,
        'NetStream.Play.StreamNotFound',
        `${t.path} is not published`,
        'not_found',
      );
      return;
    }
    const max = this.deps.maxReadersPerPath();
    if (max > 0 && stream.readerCount >= max) {
      this.refuse(messageStreamId, 'NetStream.Play.Failed', 'too many readers of this path', 'limit');
      return;
    }
    const egress = new RtmpEgress(
      path.media,
      messageStreamId,
      {
        backlogBytes: () => this.socket.writableLength,
        send: (msg) => this.send(msg),
        ended: () => {
          this.status(messageStreamId, 'status', 'NetStream.Play.UnpublishNotify', `${t.path} ended`);
          this.send(userControlMessage(UserControlEvent.StreamEof, messageStreamId));
          this.playing = undefined;
          this.close('stream_ended');
        },
      },
      () => this.deps.clock.monotonicMs(),
      (track, rtpTimestamp) => stream.monotonicMsOfRtp(track, rtpTimestamp),
      (err) => this.fail(err),
    );
    this.send(userControlMessage(UserControlEvent.StreamIsRecorded, messageStreamId));
    this.send(userControlMessage(UserControlEvent.StreamBegin, messageStreamId));
    this.status(messageStreamId, 'status', 'NetStream.Play.Reset', `playing ${t.path}`);
    this.status(messageStreamId, 'status', 'NetStream.Play.Start', `playing ${t.path}`);
    this.send(dataMessage(messageStreamId, encodeAmf0('|RtmpSampleAccess', true, true)));
    this.send(
      dataMessage(
        messageStreamId,
        Buffer.concat([encodeAmf0('onMetaData'), encodeAmf0EcmaArray(metadataOf(path.media))]),
      ),
    );
    this.playing = { messageStreamId, path: t.path, stream, egress };
    this.deps.counters.plays++;
    this.deps.logger.info({ conn: this.deps.id, path: t.path }, 'rtmp: playing');
    stream.addReader(egress.reader);
  }

  private stopPlaying(): void {
    const p = this.playing;
    if (p === undefined) return;
    this.playing = undefined;
    p.stream.removeReader(p.egress.reader);
  }

  /** What the connection does now, for the API and tests. */
  snapshot(): RtmpConnectionSnapshot {
    const p = this.playing;
    return {
      id: this.deps.id,
      role: this.role,
      path: this.publishing?.path ?? p?.path,
      readerStartAccessUnit: p?.stream.readerStartAccessUnit(p.egress.reader),
    };
  }

  get role(): 'publisher' | 'player' | 'idle' {
    return this.publishing !== undefined ? 'publisher' : this.playing !== undefined ? 'player' : 'idle';
  }
}
