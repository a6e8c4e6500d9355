/**
 * One RTSP control connection: frames what arrives, answers requests strictly in order
 * (a held PLAY reply holds the ones behind it), and carries interleaved RTP/RTCP.
 */
import net from 'node:net';
import tls from 'node:tls';
import { isParseError } from '../base/errors.js';
import { boundLogger, type Logger } from '../base/logger.js';
import { RtspFramer, type FramerLimits } from '../rtsp/framer.js';
import type { RtspHeaders } from '../rtsp/headers.js';
import { RtspHeaders as Headers } from '../rtsp/headers.js';
import type { RtspRequest, RtspResponse } from '../rtsp/message.js';
import { serializeInterleavedHeader, serializeResponse } from '../rtsp/message.js';
import { reasonPhrase, statusForParseError } from '../rtsp/status.js';
import {
  Base64StreamDecoder,
  looksLikeHttpTunnel,
  parseTunnelRequest,
  serializeTunnelGetResponse,
} from '../rtsp/tunnel.js';
import { exactCopy, writeTransientTcp } from '../transport/transient-write.js';
import { normalizeAddress } from '../transport/udp.js';
import { WebSocketChannel, type ByteChannel } from '../transport/websocket.js';
import { InterleavedChannels } from './interleaved-channels.js';
import type { RefusalLog } from './refusal-log.js';
import type { InterleavedSink, ServerSession } from './session.js';
import { RtspStatus } from '../rtsp/status.js';

/** Default of `maxPendingRequests` (ConnectionOptions). */
export const DEFAULT_MAX_PENDING_REQUESTS = 32;

export interface ConnectionOptions {
  /** Request size limits (src/rtsp/framer.ts); the framer's defaults where absent. */
  requestLimits?: Partial<FramerLimits>;
  /**
   * Reply bytes handed to the socket and not yet flushed beyond which no more requests are read
   * (read at each check, so a reload applies at once). Default 1 MiB.
   */
  maxReplyBacklogBytes?: () => number;
  /**
   * Requests whose replies are not written yet (handlers still running, or waiting behind a held PLAY
   * reply) beyond which no more are read, as for a reply backlog. Each one holds a parsed request and,
   * once answered, its reply, so this bounds what pipelining alone can pin. Read at each check.
   */
  maxPendingRequests?: () => number;
  /** Rate-limited log for refusals; absent: they are logged each time. */
  refusals?: RefusalLog;
}

/** Things a connection counts for the server's metrics. */
export type ConnectionEvent =
  | 'replyBacklogHold'
  | 'tunnelPostRefused'
  | 'tunnelPostReplaced'
  /** An interleaved frame on a channel no session set up: dropped. */
  | 'interleavedUnbound';

export interface Reply {
  statusCode: number;
  reason?: string;
  headers: RtspHeaders;
  body?: Buffer;
  /** Runs right after the reply is handed to the socket (PLAY: start sending media). */
  afterWrite?: () => void;
}

export interface ConnectionHandlers {
  handleRequest(conn: ServerConnection, req: RtspRequest): Promise<Reply> | Reply;
  /** A response from the client, to a request the server sent it (server-requests.ts). */
  response?(conn: ServerConnection, res: RtspResponse): void;
  closed(conn: ServerConnection): void;
  /** RTSP over HTTP: register the GET side of a tunnel; false if the cookie is taken. */
  tunnelOpened(conn: ServerConnection, cookie: string): boolean;
  /** RTSP over HTTP: the GET side a POST with this cookie feeds. */
  tunnelFor(cookie: string): ServerConnection | undefined;
  /** A WebSocket upgrade request arrived on `channel` (its HTTP head is `head`): hand the socket over. */
  websocketUpgrade(conn: ServerConnection, head: Buffer, channel: ByteChannel): void;
  /** Counts an event (metrics). */
  count?(event: ConnectionEvent): void;
}

/**
 * 'first': deciding from the first bytes; 'rtsp': plain RTSP; 'tunnel-out': the GET side of an
 * HTTP tunnel (RTSP arrives through feed() from the POST side); 'tunnel-in': the POST side.
 */
type ConnectionMode = 'first' | 'rtsp' | 'tunnel-out' | 'tunnel-in' | 'handed-off';

/**
 * The Request-URI for the log without the userinfo some clients leave in it (`rtsp://user:pass@host/...`,
 * e.g. VLC's SAT>IP module): passwords are never logged.
 */
export function withoutUserinfo(uri: string): string {
  return uri.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1');
}

/** The HTTP head is complete and asks to upgrade to WebSocket. */
function isWebSocketUpgrade(head: Buffer): boolean {
  const end = head.indexOf('\r\n\r\n');
  return end > 0 && /^upgrade:[ \t]*websocket[ \t]*\r?$/im.test(head.subarray(0, end).toString('latin1'));
}

/** The empty head every connection starts with and goes back to (one Buffer for all, not one each). */
const NO_BYTES = Buffer.alloc(0);

export class ServerConnection implements InterleavedSink {
  readonly sessions = new Set<ServerSession>();
  readonly remoteAddress: string;
  /** Interleaved channel → its session track's handler, registered by the sessions at SETUP. */
  readonly channels = new InterleavedChannels();
  private readonly framer: RtspFramer;
  private queue: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  private closed = false;
  private mode: ConnectionMode = 'first';
  private head: Buffer = NO_BYTES;
  private tunnelOut: ServerConnection | undefined;
  /** GET side of a tunnel: its POST side (one at a time); made when one comes, as few connections are tunnels. */
  private tunnelInputs: Set<ServerConnection> | undefined;
  private base64: Base64StreamDecoder | undefined;
  /** The part of a partly written transient buffer beyond its bytes (see writeTransient). */
  private pinnedBytes = 0;
  /** Reply bytes written to the socket whose flush has not been reported yet. */
  private replyBacklog = 0;
  /** Requests framed whose replies are not written yet. */
  private pendingReplies = 0;
  /** A request could not be framed: its error reply is the last thing the connection sends. */
  private framerFailed = false;
  private inputPaused = false;
  private readonly maxReplyBacklogBytes: () => number;
  private readonly maxPendingRequests: () => number;
  private readonly refusals: RefusalLog | undefined;
  /**
   * Since when the input has been held because replies pile up (a client that sends requests and
   * never reads): the server closes the connection if it stays held too long. Undefined when reading.
   */
  heldSinceMs: number | undefined;
  /** GET side of a tunnel: since when it has had no POST side (pairing timeout), or undefined. */
  unpairedSinceMs: number | undefined;
  /** Monotonic ms of the last bytes received. */
  lastDataMs = 0;
  /** Since when an incomplete message has been waiting for its end (slowloris), or undefined. */
  partialSinceMs: number | undefined;
  private ownCloseListener: (() => void) | undefined;
  /** The clock reading, injected by the server, for the two timestamps above. */
  now: () => number = () => 0;

  constructor(
    private socket: ByteChannel,
    readonly id: number,
    logger: Logger,
    /** Over TLS (rtsps), or a WebSocket: media must go interleaved. */
    private readonly interleavedTransportOnly: boolean,
    private readonly handlers: ConnectionHandlers,
    options: ConnectionOptions = {},
  ) {
    this.framer = new RtspFramer(options.requestLimits ?? {});
    this.maxReplyBacklogBytes = options.maxReplyBacklogBytes ?? (() => 1024 * 1024);
    this.maxPendingRequests = options.maxPendingRequests ?? (() => DEFAULT_MAX_PENDING_REQUESTS);
    this.refusals = options.refusals;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.log = boundLogger(logger, { conn: id });
    this.log.info({ remote: `${this.remoteAddress}:${socket.remotePort}` }, 'connection opened');
    this.listen(socket);
  }

  private listen(socket: ByteChannel): void {
    socket.on('data', (chunk) => {
      if (socket === this.socket) this.onSocketData(chunk);
    });
    socket.on('error', (err) => {
      this.log.debug({ err: err.message }, 'connection error');
    });
    this.ownCloseListener = () => {
      if (socket !== this.socket) return;
      this.closed = true;
      this.log.info({}, 'connection closed');
      for (const input of this.tunnelInputs ?? []) input.destroy();
      const out = this.tunnelOut;
      if (out?.tunnelInputs?.delete(this) === true && out.tunnelInputs.size === 0)
        out.unpairedSinceMs = this.now();
      this.handlers.closed(this);
    };
    socket.on('close', this.ownCloseListener);
  }

  /**
   * Gives the plain TCP socket away (a fan-out worker takes it, src/fanout/) and goes on through
   * `replacement`, which carries the same conversation: undefined, and nothing changes, unless the
   * connection is quiet: plain RTSP over TCP, nothing queued to send, no reply pending, no message
   * partly framed. The bytes read and not framed yet, and any the socket holds, come back as `unread`
   * (the caller hands them on with the socket). The socket's other 'close' listeners move along.
   */
  /** Plain RTSP over a plain TCP socket: what takeSocket can ever give away (not TLS, tunnel, WebSocket). */
  get socketMovable(): boolean {
    return (
      this.mode === 'rtsp' && this.socket instanceof net.Socket && !(this.socket instanceof tls.TLSSocket)
    );
  }

  takeSocket(replacement: ByteChannel): { socket: net.Socket; unread: Buffer } | undefined {
    const socket = this.socket;
    if (!this.socketMovable || !(socket instanceof net.Socket)) return undefined;
    if (this.closed || this.framerFailed || this.inputPaused) return undefined;
    if (socket.writableLength > 0 || this.pendingReplies > 0 || this.replyBacklog > 0) return undefined;
    if (this.framer.bufferedBytes > 0 || socket.destroyed) return undefined;
    socket.pause();
    const unread: Buffer[] = [];
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null)
      unread.push(chunk);
    const own = this.ownCloseListener;
    const others = (socket.listeners('close') as (() => void)[]).filter((l) => l !== own);
    socket.removeAllListeners('data');
    socket.removeAllListeners('close');
    this.socket = replacement;
    this.listen(replacement);
    // The others (the per-IP ledger's) follow the channel.
    for (const l of others) replacement.on('close', l);
    return { socket, unread: Buffer.concat(unread) };
  }

  /** RTSP over WebSocket (rtsp.onvif.org), rather than a TCP or TLS socket. */
  get isWebSocket(): boolean {
    return this.socket instanceof WebSocketChannel;
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  /**
   * The memory the socket holds for this connection: its unsent bytes, plus the rest of a caller's
   * reusable buffer that a partly taken writeTransient keeps alive. Counted while anything is queued,
   * so it may count that buffer a little after its own write is done (never less than is held).
   */
  get backlogBytes(): number {
    const queued = this.socket.writableLength;
    return queued === 0 ? 0 : queued + this.pinnedBytes;
  }

  /** The socket has closed: nothing written reaches the client any more. */
  get isClosed(): boolean {
    return this.closed;
  }

  write(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
  }

  /**
   * Writes bytes the caller wants to reuse: true when they are no longer referenced once this returns
   * (src/transport/transient-write.ts). TLS and WebSocket channels always queue a copy; on plain TCP,
   * false while the socket still sends from them, and `backlogBytes` counts the rest of their buffer.
   */
  writeTransient(bytes: Buffer): boolean {
    if (this.closed) return true;
    if (this.socket instanceof net.Socket && !(this.socket instanceof tls.TLSSocket)) {
      const pinned = writeTransientTcp(this.socket, bytes);
      if (pinned === 0) return true;
      this.pinnedBytes = pinned;
      return false;
    }
    this.socket.write(exactCopy(bytes));
    return true;
  }

  writeInterleaved(channel: number, packet: Buffer): void {
    if (this.closed) return;
    this.socket.write(Buffer.concat([serializeInterleavedHeader(channel, packet.length), packet]));
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /**
   * A session ended: forgotten here. Its interleaved channels it took back itself
   * (ServerSession.release), on the one connection that carried them.
   */
  unbindSession(session: ServerSession): void {
    this.sessions.delete(session);
  }

  /** One half of an HTTP tunnel. */
  get carriesTunnel(): boolean {
    return this.mode === 'tunnel-out' || this.mode === 'tunnel-in';
  }

  /**
   * The POST side of a tunnel: it lives and dies with its GET side, which the server times (its
   * `lastDataMs` moves with the RTSP bytes the POST side brings).
   */
  get isTunnelInput(): boolean {
    return this.mode === 'tunnel-in';
  }

  /** Whether this connection reads from `channel`. */
  isOn(channel: object): boolean {
    return this.socket === channel;
  }

  /** The socket went to the WebSocket server (its RTSP connection is another ServerConnection). */
  get handedOff(): boolean {
    return this.mode === 'handed-off';
  }

  /** Reply bytes queued to the socket and not flushed yet (media excluded). */
  get replyBacklogBytes(): number {
    return this.replyBacklog;
  }

  /**
   * Media must go interleaved on this connection: inside an HTTP tunnel, and inside TLS (plain
   * RTP over UDP would leave the protection of rtsps).
   */
  get interleavedOnly(): boolean {
    return this.mode === 'tunnel-out' || this.interleavedTransportOnly;
  }

  private onSocketData(chunk: Buffer): void {
    this.lastDataMs = this.now();
    switch (this.mode) {
      case 'rtsp':
        this.feed(chunk);
        return;
      case 'tunnel-in':
        this.feedTunnel(chunk);
        return;
      case 'tunnel-out':
      case 'handed-off':
        return; // Clients send nothing more on the GET side; a WebSocket has its own reader.
      case 'first':
        this.decide(chunk);
    }
  }

  /** RTSP or HTTP tunnel, from the first bytes of the connection. */
  private decide(chunk: Buffer): void {
    this.head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    this.partialSinceMs ??= this.now();
    if (this.head.length < 5 && this.head.indexOf('\n') < 0) return;
    if (!looksLikeHttpTunnel(this.head)) {
      this.mode = 'rtsp';
      const head = this.head;
      this.head = NO_BYTES;
      this.feed(head);
      return;
    }
    if (isWebSocketUpgrade(this.head)) {
      const head = this.head;
      this.head = NO_BYTES;
      this.partialSinceMs = undefined;
      this.mode = 'handed-off';
      this.handlers.websocketUpgrade(this, head, this.socket);
      return;
    }
    let req;
    try {
      req = parseTunnelRequest(this.head);
    } catch (err) {
      if (!isParseError(err)) throw err;
      this.logRefusal('warn', { code: err.code }, 'bad HTTP tunnel request');
      this.socket.end('HTTP/1.0 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    if (req === undefined) return;
    const rest = this.head.subarray(req.headBytes);
    this.head = NO_BYTES;
    // The HTTP head is complete. An incomplete RTSP message is then timed on the GET side's framer
    // (feed), never by the endless POST body; the pair's silence and a GET without its POST are timed
    // on the GET side too (connection-timeouts.ts).
    this.partialSinceMs = undefined;
    if (req.method === 'GET') {
      if (!this.handlers.tunnelOpened(this, req.cookie)) {
        this.socket.end('HTTP/1.0 409 Conflict\r\nConnection: close\r\n\r\n');
        return;
      }
      this.mode = 'tunnel-out';
      this.unpairedSinceMs = this.now();
      this.log.info({ path: req.path }, 'http tunnel opened');
      this.socket.write(serializeTunnelGetResponse());
      return;
    }
    const out = this.handlers.tunnelFor(req.cookie);
    if (out === undefined) {
      this.socket.end('HTTP/1.0 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    // The cookie alone is no proof: it travels in clear and may be guessed or seen. A POST must come from
    // the GET side's address (both halves of one client leave from one address; a proxy that splits them
    // would also break the session binding).
    if (normalizeAddress(this.remoteAddress) !== normalizeAddress(out.remoteAddress)) {
      this.handlers.count?.('tunnelPostRefused');
      this.logRefusal('warn', { remote: this.remoteAddress }, 'tunnel POST from another address refused');
      this.socket.end('HTTP/1.0 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    // One live POST per tunnel. Clients may close their POST after a request and open a new one (the
    // QuickTime tunnel allows it); the new one replaces the old, whose close we may not have seen yet,
    // rather than being refused. An unread partial request on the old one is lost.
    const inputs = (out.tunnelInputs ??= new Set());
    for (const old of inputs) {
      this.handlers.count?.('tunnelPostReplaced');
      old.destroy();
    }
    inputs.clear();
    this.mode = 'tunnel-in';
    this.tunnelOut = out;
    inputs.add(this);
    out.unpairedSinceMs = undefined;
    out.lastDataMs = this.now();
    if (out.inputPaused) this.socket.pause();
    this.base64 = new Base64StreamDecoder();
    // The server never answers the POST: its body is the client's half of the RTSP conversation.
    if (rest.length > 0) this.feedTunnel(rest);
  }

  private feedTunnel(chunk: Buffer): void {
    let bytes: Buffer;
    try {
      bytes = this.base64!.push(chunk);
    } catch (err) {
      if (!isParseError(err)) throw err;
      this.log.warn({ code: err.code }, 'bad base64 in HTTP tunnel, closing it');
      this.tunnelOut?.destroy();
      this.destroy();
      return;
    }
    if (bytes.length === 0 || this.tunnelOut === undefined) return;
    // The pair's liveness is the POST side's RTSP data (the GET side never sends anything).
    this.tunnelOut.lastDataMs = this.now();
    this.tunnelOut.feed(bytes);
  }

  /** RTSP bytes, from the socket or (tunnel) decoded from the POST side. */
  feed(chunk: Buffer): void {
    if (this.framerFailed) return;
    this.framer.write(chunk);
    this.pump();
  }

  /**
   * Frames and runs messages one at a time while replies do not pile up; then leaves the rest in the
   * framer (at most about one socket read, since the input is paused) until they drain. True when it
   * stopped for that.
   */
  private pump(): boolean {
    let progressed = false;
    let held = false;
    while (!this.closed && !this.framerFailed) {
      if (this.repliesPileUp) {
        this.holdInput();
        held = true;
        break;
      }
      let m;
      try {
        m = this.framer.read();
      } catch (err) {
        if (!isParseError(err)) throw err;
        this.framerFailed = true;
        const status = statusForParseError(err.code);
        this.logRefusal('warn', { code: err.code, status }, 'bad request, closing connection');
        this.enqueueReply(undefined, Promise.resolve({ statusCode: status, headers: new Headers() }));
        this.queue = this.queue.then(() => {
          this.socket.end();
        });
        return false;
      }
      if (m === undefined) break;
      progressed = true;
      if (m.kind === 'interleaved') {
        if (!this.channels.dispatch(m.channel, m.payload)) this.handlers.count?.('interleavedUnbound');
      } else if (m.kind === 'request') this.onRequest(m);
      else this.handlers.response?.(this, m);
    }
    // Slowloris guard: only a message that makes no progress is timed. A publisher's interleaved stream
    // ends most reads mid-frame, so the clock restarts with every complete message. Held input is
    // timed by heldSinceMs instead.
    if (this.framer.bufferedBytes === 0 || this.inputPaused) this.partialSinceMs = undefined;
    else if (progressed || this.partialSinceMs === undefined) this.partialSinceMs = this.now();
    return held;
  }

  private onRequest(req: RtspRequest): void {
    const cseq = req.headers.get('CSeq');
    if (this.log.isLevelEnabled?.('debug') !== false)
      this.log.debug({ method: req.method, uri: withoutUserinfo(req.uri), cseq }, 'request');
    if (cseq === undefined || !/^\s*\d+\s*$/.test(cseq)) {
      this.enqueueReply(
        undefined,
        Promise.resolve({ statusCode: RtspStatus.BadRequest, headers: new Headers() }),
      );
      return;
    }
    let pending: Promise<Reply>;
    try {
      pending = Promise.resolve(this.handlers.handleRequest(this, req));
    } catch (err) {
      pending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    // The refusal log names the path only: scheme, userinfo and host are cut there.
    this.enqueueReply(cseq.trim(), pending, req.method, req.uri);
  }

  private enqueueReply(
    cseq: string | undefined,
    pending: Promise<Reply>,
    method?: string,
    uri?: string,
  ): void {
    this.pendingReplies++;
    this.queue = this.queue.then(async () => {
      let r: Reply;
      try {
        r = await pending;
      } catch (err) {
        this.log.error({ err: (err as Error).stack ?? String(err), method }, 'request handler failed');
        r = { statusCode: RtspStatus.InternalServerError, headers: new Headers() };
      } finally {
        this.pendingReplies--;
      }
      if (this.closed) return;
      if (cseq !== undefined) r.headers.set('CSeq', cseq);
      r.headers.set('Server', 'rtspkit');
      if (r.statusCode >= 400) {
        const path = uri?.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
        this.logRefusal(
          'info',
          { method, path, status: r.statusCode, reason: r.reason ?? reasonPhrase(r.statusCode) },
          'request refused',
        );
      }
      const res: Parameters<typeof serializeResponse>[0] = {
        statusCode: r.statusCode,
        headers: r.headers,
        body: r.body ?? Buffer.alloc(0),
      };
      if (r.reason !== undefined) res.reason = r.reason;
      this.writeReply(serializeResponse(res));
      r.afterWrite?.();
    });
  }

  /**
   * Reply bytes are counted until the socket reports them flushed; media written by the streams is
   * not (its backlog has its own bound, src/media/stream.ts), so a reader whose socket is full of
   * media still has its keepalives read and answered, and a publisher's RTP is read whatever it sends.
   */
  private writeReply(bytes: Buffer): void {
    this.replyBacklog += bytes.length;
    this.socket.write(bytes, () => {
      this.replyBacklog -= bytes.length;
      this.releaseInput();
    });
  }

  private get repliesPileUp(): boolean {
    return (
      this.replyBacklog > this.maxReplyBacklogBytes() || this.pendingReplies >= this.maxPendingRequests()
    );
  }

  /**
   * Stops reading: the socket (or a tunnel's POST sides) is paused, so the client's further requests
   * wait in its own TCP window rather than in our memory; bytes already read wait in the framer.
   */
  private holdInput(): void {
    if (this.inputPaused) return;
    this.inputPaused = true;
    this.heldSinceMs = this.now();
    this.handlers.count?.('replyBacklogHold');
    this.logRefusal(
      'warn',
      { replyBacklogBytes: this.replyBacklog, pendingReplies: this.pendingReplies },
      'replies not read, reading paused',
    );
    if (this.mode === 'tunnel-out') for (const input of this.tunnelInputs ?? []) input.socket.pause();
    else this.socket.pause();
  }

  /** Once replies drain below the bounds: the held messages run, then reading resumes. */
  private releaseInput(): void {
    if (!this.inputPaused || this.closed || this.repliesPileUp) return;
    this.inputPaused = false;
    this.heldSinceMs = undefined;
    if (this.pump()) return; // held again
    if (this.mode === 'tunnel-out') for (const input of this.tunnelInputs ?? []) input.socket.resume();
    else this.socket.resume();
  }

  private logRefusal(level: 'info' | 'warn', obj: object, msg: string): void {
    if (this.refusals !== undefined) this.refusals.write(this.log, level, obj, msg);
    else this.log[level](obj, msg);
  }
}
