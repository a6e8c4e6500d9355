/**
 * A small RTMP client for tests, built on src/flv: the handshake (digest form, as Flash-era clients
 * send it), commands, and publishing or reading FLV tags, including enhanced RTMP (`hvc1`, `Opus`),
 * which ffmpeg 5.1 and GStreamer 1.22 cannot send. Plain TCP or TLS.
 */
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { amf0Object, encodeAmf0, encodeAmf0EcmaArray, type Amf0Value } from '../../src/flv/amf0.js';
import { ChunkReader, ChunkWriter } from '../../src/flv/chunk.js';
import { clientDigestC0C1, serverDigestValid } from '../../src/flv/handshake.js';
import {
  MessageType,
  commandMessage,
  parseCommand,
  setChunkSizeMessage,
  type RtmpCommand,
  type RtmpMessage,
} from '../../src/flv/messages.js';

export class TestRtmpClient {
  readonly messages: RtmpMessage[] = [];
  closed = false;
  serverDigestOk = false;
  private readonly reader = new ChunkReader({
    maxChunkStreams: 64,
    maxMessageBytes: 16 << 20,
    maxReassemblyBytes: 64 << 20,
  });
  private readonly writer = new ChunkWriter();
  private handshake: Buffer | undefined = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private txn = 1;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number, options: { tls?: boolean } = {}): Promise<TestRtmpClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s: net.Socket = options.tls
        ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s))
        : net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const c = new TestRtmpClient(socket);
    socket.write(clientDigestC0C1(randomBytes(1536)));
    await c.until(() => c.handshake === undefined || c.closed, 'the handshake');
    return c;
  }

  private onData(d: Buffer): void {
    if (this.handshake !== undefined) {
      this.handshake = Buffer.concat([this.handshake, d]);
      if (this.handshake.length < 1 + 2 * 1536) return;
      const s1 = this.handshake.subarray(1, 1537);
      this.serverDigestOk = serverDigestValid(s1, 0);
      this.socket.write(s1); // C2
      const rest = this.handshake.subarray(1 + 2 * 1536);
      this.handshake = undefined;
      d = rest;
    }
    if (d.length > 0) this.messages.push(...this.reader.push(d));
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `cond` holds (checked at each message), or throws after `timeoutMs`. */
  async until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  send(msg: RtmpMessage): void {
    this.socket.write(Buffer.concat(this.writer.serialize(msg)));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The commands received so far. */
  commands(): RtmpCommand[] {
    return this.messages.filter((m) => m.typeId === MessageType.CommandAmf0).map((m) => parseCommand(m));
  }

  /** The `code`s of the onStatus commands received so far. */
  statusCodes(): string[] {
    return this.commands()
      .filter((c) => c.name === 'onStatus')
      .map((c) => {
        const code = (c.args[0] as Record<string, Amf0Value> | undefined)?.code;
        return typeof code === 'string' ? code : '';
      });
  }

  async command(name: string, messageStreamId: number, ...args: Amf0Value[]): Promise<RtmpCommand> {
    const txn = ++this.txn;
    this.send(commandMessage(messageStreamId, name, txn, ...args));
    let reply: RtmpCommand | undefined;
    await this.until(
      () =>
        (reply = this.commands().find((c) => c.transactionId === txn && c.name !== 'onStatus')) !==
          undefined || this.closed,
      `the reply to ${name}`,
    );
    if (reply === undefined) throw new Error(`connection closed before the reply to ${name}`);
    return reply;
  }

  /** connect + createStream: the message stream id. */
  async open(app: string, extra: Record<string, Amf0Value> = {}): Promise<number> {
    this.writer.chunkSize = 4096;
    this.send(setChunkSizeMessage(4096));
    const connected = await this.command(
      'connect',
      0,
      amf0Object({ app, tcUrl: `rtmp://127.0.0.1/${app}`, ...extra }),
    );
    if (connected.name !== '_result') throw new Error(`connect: ${connected.name}`);
    const created = await this.command('createStream', 0, null);
    return created.args[0] as number;
  }

  /** Sends publish and waits for its onStatus: its code. */
  async publish(streamId: number, name: string): Promise<string> {
    const before = this.statusCodes().length;
    this.send(commandMessage(streamId, 'publish', 0, null, name, 'live'));
    await this.until(() => this.statusCodes().length > before || this.closed, 'publish status');
    return this.statusCodes()[before] ?? 'closed';
  }

  async play(streamId: number, name: string): Promise<string> {
    const before = this.statusCodes().length;
    this.send(commandMessage(streamId, 'play', 0, null, name));
    await this.until(() => this.statusCodes().length > before || this.closed, 'play status');
    return (
      this.statusCodes().find((c, i) => i >= before && c !== 'NetStream.Play.Reset') ??
      this.statusCodes()[before] ??
      'closed'
    );
  }

  metadata(streamId: number, entries: Record<string, Amf0Value>): void {
    this.send({
      chunkStreamId: 5,
      timestamp: 0,
      typeId: MessageType.DataAmf0,
      messageStreamId: streamId,
      payload: Buffer.concat([encodeAmf0('@setDataFrame', 'onMetaData'), encodeAmf0EcmaArray(entries)]),
    });
  }

  media(streamId: number, typeId: 8 | 9, timestamp: number, body: Buffer[]): void {
    this.send({
      chunkStreamId: typeId === 8 ? 4 : 6,
      timestamp,
      typeId,
      messageStreamId: streamId,
      payload: Buffer.concat(body),
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
