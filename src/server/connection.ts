/**
 * One RTSP control connection: frames what arrives, answers requests strictly in order
 * (a held PLAY reply holds the ones behind it), and carries interleaved RTP/RTCP.
 */
import type net from 'node:net';
import { isParseError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { RtspFramer } from '../rtsp/framer.js';
import type { RtspHeaders } from '../rtsp/headers.js';
import { RtspHeaders as Headers } from '../rtsp/headers.js';
import type { RtspRequest } from '../rtsp/message.js';
import { serializeInterleavedHeader, serializeResponse } from '../rtsp/message.js';
import { statusForParseError } from '../rtsp/status.js';
import type { InterleavedSink, ServerSession } from './session.js';

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
  handleInterleaved(conn: ServerConnection, channel: number, payload: Buffer): void;
  closed(conn: ServerConnection): void;
}

interface ChannelBinding {
  session: ServerSession;
  track: number;
  kind: 'rtp' | 'rtcp';
}

export class ServerConnection implements InterleavedSink {
  readonly sessions = new Set<ServerSession>();
  readonly remoteAddress: string;
  private readonly framer = new RtspFramer();
  private readonly channels = new Map<number, ChannelBinding>();
  private queue: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  private closed = false;

  constructor(
    private readonly socket: net.Socket,
    readonly id: number,
    logger: Logger,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.log = logger.child({ conn: id });
    this.log.info({ remote: `${this.remoteAddress}:${socket.remotePort}` }, 'connection opened');
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      this.onData(chunk);
    });
    socket.on('error', (err) => {
      this.log.debug({ err: err.message }, 'connection error');
    });
    socket.on('close', () => {
      this.closed = true;
      this.log.info({}, 'connection closed');
      this.handlers.closed(this);
    });
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  write(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
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

  usedChannels(): Set<number> {
    return new Set(this.channels.keys());
  }

  bindChannels(session: ServerSession, track: number, rtp: number, rtcp: number): void {
    this.channels.set(rtp, { session, track, kind: 'rtp' });
    this.channels.set(rtcp, { session, track, kind: 'rtcp' });
  }

  channelBinding(channel: number): ChannelBinding | undefined {
    return this.channels.get(channel);
  }

  unbindSession(session: ServerSession): void {
    for (const [ch, b] of this.channels) if (b.session === session) this.channels.delete(ch);
    this.sessions.delete(session);
  }

  private onData(chunk: Buffer): void {
    let messages;
    try {
      messages = this.framer.push(chunk);
    } catch (err) {
      if (!isParseError(err)) throw err;
      const status = statusForParseError(err.code);
      this.log.warn({ code: err.code, status }, 'bad request, closing connection');
      this.enqueueReply(undefined, Promise.resolve({ statusCode: status, headers: new Headers() }));
      this.queue = this.queue.then(() => {
        this.socket.end();
      });
      return;
    }
    for (const m of messages) {
      if (m.kind === 'interleaved') this.handlers.handleInterleaved(this, m.channel, m.payload);
      else if (m.kind === 'request') this.onRequest(m);
      // Responses (to requests we sent, e.g. REDIRECT) need no action.
    }
  }

  private onRequest(req: RtspRequest): void {
    const cseq = req.headers.get('CSeq');
    this.log.debug({ method: req.method, uri: req.uri, cseq }, 'request');
    if (cseq === undefined || !/^\s*\d+\s*$/.test(cseq)) {
      this.enqueueReply(undefined, Promise.resolve({ statusCode: 400, headers: new Headers() }));
      return;
    }
    let pending: Promise<Reply>;
    try {
      pending = Promise.resolve(this.handlers.handleRequest(this, req));
    } catch (err) {
      pending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.enqueueReply(cseq.trim(), pending, req.method);
  }

  private enqueueReply(cseq: string | undefined, pending: Promise<Reply>, method?: string): void {
    this.queue = this.queue.then(async () => {
      let r: Reply;
      try {
        r = await pending;
      } catch (err) {
        this.log.error({ err: (err as Error).stack ?? String(err), method }, 'request handler failed');
        r = { statusCode: 500, headers: new Headers() };
      }
      if (this.closed) return;
      if (cseq !== undefined) r.headers.set('CSeq', cseq);
      r.headers.set('Server', 'rtspkit');
      if (r.statusCode >= 400) this.log.info({ method, status: r.statusCode }, 'request refused');
      const res: Parameters<typeof serializeResponse>[0] = {
        statusCode: r.statusCode,
        headers: r.headers,
        body: r.body ?? Buffer.alloc(0),
      };
      if (r.reason !== undefined) res.reason = r.reason;
      this.socket.write(serializeResponse(res));
      r.afterWrite?.();
    });
  }
}
