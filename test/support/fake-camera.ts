/**
 * A camera-like RTSP server on raw sockets, with the habits pull tests need: no Content-Base (the
 * client resolves controls against the request URL), `Cseq` spelled so in its replies, media over UDP
 * sent from other ports than the `server_port` it announced (the case for `sourceAnyPortEnable`), and
 * faults on request: every request refused with 401, garbage instead of RTP, a 10 MB SDP.
 * One H.264 track: a frame every 40 ms, a keyframe (SPS, PPS, IDR) every 25 frames.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { serializeRtpPacket } from '../../src/rtp/packet.js';
import { TEST_SDP } from './fake-publisher.js';

export type CameraMode = 'normal' | 'unauthorized' | 'garbage-rtp' | 'huge-sdp';

const VIDEO_SDP = TEST_SDP.split('m=audio')[0]!;
const HUGE_SDP_BYTES = 10 * 1024 * 1024;

export class FakeCamera {
  readonly requests: string[] = [];
  /** The SDP DESCRIBE answers (change it to model a camera whose codec parameters changed). */
  sdp = VIDEO_SDP;
  /** Connections whose session got PLAY and no TEARDOWN yet. */
  private readonly playingConns = new Set<net.Socket>();
  private readonly conns = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sockets: dgram.Socket[] = [];

  private constructor(
    private readonly server: net.Server,
    readonly mode: CameraMode,
  ) {}

  static async start(mode: CameraMode = 'normal'): Promise<FakeCamera> {
    const server = net.createServer();
    const camera = new FakeCamera(server, mode);
    server.on('connection', (c) => camera.serve(c));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return camera;
  }

  /** Sessions playing now (PLAY without TEARDOWN, connection open). */
  get playing(): number {
    return this.playingConns.size;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  url(userinfo = ''): string {
    return `rtsp://${userinfo}127.0.0.1:${this.port}/stream1`;
  }

  /** Ends every connection and its media (a camera rebooting). */
  dropConnections(): void {
    for (const c of this.conns) c.destroy();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sockets) s.close();
    for (const c of this.conns) c.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private serve(conn: net.Socket): void {
    this.conns.add(conn);
    conn.on('close', () => this.conns.delete(conn));
    conn.on('error', () => undefined);
    let buffered = '';
    conn.setEncoding('latin1');
    conn.on('data', (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        if (head.startsWith('$') || head.trim() === '') continue;
        void this.answer(conn, head);
      }
    });
  }

  private async answer(conn: net.Socket, head: string): Promise<void> {
    const [requestLine, ...lines] = head.split('\r\n');
    const [method, url] = requestLine!.split(' ');
    const headers = new Map(
      lines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    this.requests.push(method!);
    const cseq = headers.get('cseq') ?? '0';
    const reply = (status: string, extra: string[] = [], body = ''): void => {
      const out = [`RTSP/1.0 ${status}`, `Cseq: ${cseq}`, ...extra];
      if (body !== '') out.push(`Content-Length: ${Buffer.byteLength(body)}`);
      conn.write(`${out.join('\r\n')}\r\n\r\n${body}`, 'latin1');
    };
    if (this.mode === 'unauthorized')
      return reply('401 Unauthorized', ['WWW-Authenticate: Basic realm="cam"']);
    switch (method) {
      case 'OPTIONS':
        return reply('200 OK', ['Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER']);
      case 'DESCRIBE':
        if (this.mode === 'huge-sdp') {
          // The head says 10 MB; the client must refuse it by its length, before reading it.
          conn.write(
            `RTSP/1.0 200 OK\r\nCseq: ${cseq}\r\nContent-Type: application/sdp\r\nContent-Length: ${HUGE_SDP_BYTES}\r\n\r\n`,
          );
          conn.write(Buffer.alloc(64 * 1024, 0x61));
          return;
        }
        return reply('200 OK', ['Content-Type: application/sdp'], this.sdp);
      case 'SETUP': {
        const clientPorts = /client_port=(\d+)-(\d+)/.exec(headers.get('transport') ?? '');
        if (clientPorts === null) return reply('461 Unsupported Transport');
        const rtpPort = Number(clientPorts[1]);
        // Announced server_port 40000-40001; media comes from whatever port the OS gives.
        const sender = dgram.createSocket('udp4');
        this.sockets.push(sender);
        await new Promise<void>((r) => sender.bind(0, '127.0.0.1', r));
        (conn as net.Socket & { media?: { sender: dgram.Socket; rtpPort: number } }).media = {
          sender,
          rtpPort,
        };
        return reply('200 OK', [
          'Session: CAFE01;timeout=60',
          `Transport: RTP/AVP;unicast;client_port=${clientPorts[1]}-${clientPorts[2]};server_port=40000-40001;ssrc=1234ABCD`,
        ]);
      }
      case 'PLAY': {
        const media = (conn as net.Socket & { media?: { sender: dgram.Socket; rtpPort: number } }).media;
        if (media === undefined) return reply('455 Method Not Valid in This State');
        reply('200 OK', ['Session: CAFE01', `RTP-Info: url=${url}/streamid=0;seq=1;rtptime=0`]);
        this.playingConns.add(conn);
        this.sendMedia(conn, media.sender, media.rtpPort);
        return;
      }
      case 'TEARDOWN':
        this.playingConns.delete(conn);
        return reply('200 OK', ['Session: CAFE01']);
      default:
        return reply('200 OK', ['Session: CAFE01']);
    }
  }

  private sendMedia(conn: net.Socket, sender: dgram.Socket, rtpPort: number): void {
    let seq = 1;
    let ts = 0;
    let frame = 0;
    const packet = (payload: Buffer, marker: boolean): Buffer =>
      this.mode === 'garbage-rtp'
        ? Buffer.from([0x13, 0x37, ...payload.subarray(0, 10)])
        : serializeRtpPacket({
            marker,
            payloadType: 96,
            sequenceNumber: seq++ & 0xffff,
            timestamp: ts,
            ssrc: 0x1234abcd,
            csrcs: [],
            payload,
          });
    const timer = setInterval(() => {
      const nals =
        frame % 25 === 0
          ? [
              Buffer.from([0x67, 0x42, 0xc0, 0x1e]),
              Buffer.from([0x68, 0xcb, 0x8c, 0xb2]),
              Buffer.alloc(300, 0x65),
            ]
          : [Buffer.alloc(200, 0x41)];
      nals.forEach((n, i) => sender.send(packet(n, i === nals.length - 1), rtpPort, '127.0.0.1'));
      ts = (ts + 3600) >>> 0;
      frame++;
    }, 40);
    this.timers.add(timer);
    conn.on('close', () => {
      clearInterval(timer);
      this.timers.delete(timer);
      this.playingConns.delete(conn);
    });
  }
}
