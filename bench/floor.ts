// The floor for `npm run bench:fanout`: the least a Node program can do to fan one published stream out to
// N readers, so that rtspkit's CPU can be read against what the runtime itself costs.
//
//   node dist/bench/floor.js --port P [--coalesce-ms 0] [--frame-hold-ms 5] [--host 127.0.0.1]
//
// A tiny RTSP server: it accepts one publisher (ANNOUNCE, SETUP with TCP interleaved, RECORD), and serves
// its SDP to readers (DESCRIBE, SETUP over TCP interleaved, UDP client_port or inside an HTTP tunnel, PLAY).
// Every `$` frame the publisher sends on an RTP channel is queued as received (header included) and written
// to every playing reader with the same policy as rtspkit's streams: one write per reader per flush, a flush
// at the end of the event-loop turn that queued the first packet (setImmediate) or, with --coalesce-ms W,
// W ms after it. Without a window, a flush in the middle of a video frame waits for the frame's marker packet,
// --frame-hold-ms at most (rtspkit's src/media/frame-ends.ts; 0: every turn flushes, as rtspkit did before).
// UDP readers get one datagram per packet from one shared socket.
//
// What it leaves out, on purpose: per-reader SSRC and sequence numbers (every reader gets the same bytes),
// a GOP cache (a reader starts mid-GOP), backlog bounds, RTCP, auth, timeouts, more than one path or
// publisher. So its CPU is a lower bound for rtspkit's, not a like-for-like competitor.
import dgram from 'node:dgram';
import net from 'node:net';
import { RtspFramer } from '../src/rtsp/framer.js';
import type { RtspRequest } from '../src/rtsp/message.js';

interface Args {
  host: string;
  port: number;
  coalesceMs: number;
  frameHoldMs: number;
}

function parseArgs(argv: string[]): Args {
  const out: Args = { host: '127.0.0.1', port: 0, coalesceMs: 0, frameHoldMs: 5 };
  for (let i = 0; i < argv.length; i += 2) {
    const a = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value after ${a}`);
    if (a === '--port') out.port = Number(v);
    else if (a === '--host') out.host = v;
    else if (a === '--coalesce-ms') out.coalesceMs = Number(v);
    else if (a === '--frame-hold-ms') out.frameHoldMs = Number(v);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(out.port) || out.port < 1) throw new Error('--port is required');
  return out;
}

const args = parseArgs(process.argv.slice(2));

type Reader = { kind: 'tcp'; socket: net.Socket } | { kind: 'udp'; rtpPortByChannel: Map<number, number> };

let publisherSdp: string | undefined;
const playing = new Set<Reader>();
let pending: Buffer[] = [];
/** For UDP readers: the RTP payloads (without `$` headers) and their channels, parallel to `pending`. */
let pendingChannels: number[] = [];
let flushScheduled = false;
let flushTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
/** The scheduled flush waits for a video frame's marker packet. */
let flushHeld = false;
/** The publisher's first video track's RTP channel (from its SDP), and where its frames end. */
let videoChannel: number | undefined;
const videoFrame = { timestamp: -1, lastMarker: false, marks: false, midFrame: false };
const udp = dgram.createSocket('udp4');

function flush(): void {
  flushScheduled = false;
  flushHeld = false;
  if (flushTimer !== undefined) {
    clearTimeout(flushTimer as NodeJS.Timeout);
    clearImmediate(flushTimer as NodeJS.Immediate);
    flushTimer = undefined;
  }
  if (pending.length === 0) return;
  const frames = pending;
  const channels = pendingChannels;
  pending = [];
  pendingChannels = [];
  const joined = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
  for (const r of playing) {
    if (r.kind === 'tcp') {
      r.socket.write(joined);
    } else {
      for (let k = 0; k < frames.length; k++) {
        const port = r.rtpPortByChannel.get(channels[k]!);
        if (port !== undefined) udp.send(frames[k]!.subarray(4), port, '127.0.0.1');
      }
    }
  }
}

function queue(bytes: Buffer, channel: number): void {
  pending.push(bytes);
  pendingChannels.push(channel);
  if (channel === videoChannel && bytes.length >= 16) {
    // `$ ch len` then the RTP header: M is the top bit of its second byte, the timestamp at bytes 4-7.
    const marker = (bytes[5]! & 0x80) !== 0;
    const timestamp = bytes.readUInt32BE(8);
    if (timestamp !== videoFrame.timestamp) {
      videoFrame.marks = videoFrame.lastMarker;
      videoFrame.timestamp = timestamp;
    }
    videoFrame.lastMarker = marker;
    videoFrame.midFrame = videoFrame.marks && !marker;
  }
  const hold = args.coalesceMs === 0 && args.frameHoldMs > 0 && videoFrame.midFrame;
  if (flushScheduled) {
    if (hold === flushHeld) return;
    clearTimeout(flushTimer as NodeJS.Timeout);
    clearImmediate(flushTimer as NodeJS.Immediate);
  }
  flushScheduled = true;
  flushHeld = hold;
  if (hold) flushTimer = setTimeout(flush, args.frameHoldMs);
  else if (args.coalesceMs > 0) flushTimer = setTimeout(flush, args.coalesceMs);
  else flushTimer = setImmediate(flush);
}

function reply(
  write: (b: Buffer) => void,
  req: RtspRequest,
  status: string,
  headers: Record<string, string> = {},
  body = '',
): void {
  let head = `RTSP/1.0 ${status}\r\nCSeq: ${req.headers.get('CSeq') ?? '0'}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (body !== '') head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  write(Buffer.from(`${head}\r\n${body}`, 'latin1'));
}

/** RTSP on one connection (or on a tunnel's GET socket, fed from its POST side). */
class Session {
  readonly framer = new RtspFramer();
  publisher = false;
  reader: Reader | undefined;
  constructor(
    readonly out: net.Socket,
    readonly write: (b: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    for (const m of this.framer.push(chunk)) {
      if (m.kind === 'interleaved') {
        // RTP on even channels; the publisher's RTCP is dropped.
        if (this.publisher && m.channel % 2 === 0) {
          const frame = Buffer.allocUnsafe(4 + m.payload.length);
          frame[0] = 0x24;
          frame[1] = m.channel;
          frame.writeUInt16BE(m.payload.length, 2);
          m.payload.copy(frame, 4);
          queue(frame, m.channel);
        }
      } else if (m.kind === 'request') {
        this.request(m);
      }
    }
  }

  request(req: RtspRequest): void {
    const session = { Session: 'floor;timeout=60' };
    switch (req.method) {
      case 'ANNOUNCE':
        this.publisher = true;
        publisherSdp = req.body.toString('utf8');
        {
          const media = [...publisherSdp.matchAll(/^m=(\w+)/gm)].map((m) => m[1]);
          const video = media.indexOf('video');
          videoChannel = video >= 0 ? 2 * video : undefined;
        }
        reply(this.write, req, '200 OK');
        return;
      case 'DESCRIBE':
        if (publisherSdp === undefined) return reply(this.write, req, '404 Not Found');
        return reply(
          this.write,
          req,
          '200 OK',
          { 'Content-Type': 'application/sdp', 'Content-Base': `${req.uri.replace(/\/$/, '')}/` },
          publisherSdp,
        );
      case 'SETUP': {
        const transport = req.headers.get('Transport') ?? '';
        // ffmpeg's SDP controls are streamid=K: the publisher's interleaved channel for track K is 2K.
        const track = Number(/streamid=(\d+)/.exec(req.uri)?.[1] ?? '0');
        const clientPort = /client_port=(\d+)-(\d+)/.exec(transport);
        if (clientPort !== null && !this.publisher) {
          if (this.reader === undefined || this.reader.kind !== 'udp')
            this.reader = { kind: 'udp', rtpPortByChannel: new Map() };
          this.reader.rtpPortByChannel.set(2 * track, Number(clientPort[1]));
          const local = udp.address().port;
          return reply(this.write, req, '200 OK', {
            ...session,
            Transport: `RTP/AVP;unicast;client_port=${clientPort[1]}-${clientPort[2]};server_port=${local}-${local + 1}`,
          });
        }
        if (!this.publisher) this.reader = { kind: 'tcp', socket: this.out };
        return reply(this.write, req, '200 OK', {
          ...session,
          Transport: `RTP/AVP/TCP;unicast;interleaved=${2 * track}-${2 * track + 1}`,
        });
      }
      case 'PLAY':
        if (this.reader !== undefined) playing.add(this.reader);
        return reply(this.write, req, '200 OK', { ...session, Range: 'npt=0.000-' });
      case 'RECORD':
      case 'OPTIONS':
      case 'GET_PARAMETER':
      case 'SET_PARAMETER':
      case 'TEARDOWN':
        return reply(this.write, req, '200 OK', session);
      default:
        return reply(this.write, req, '501 Not Implemented');
    }
  }

  close(): void {
    if (this.reader !== undefined) playing.delete(this.reader);
    if (this.publisher) publisherSdp = undefined;
  }
}

/** Tunnels waiting for or fed by their POST, by x-sessioncookie. */
const tunnels = new Map<string, Session>();

/**
 * Base64 from a tunnel's POST: each request is encoded on its own, so a '=' may end a group mid-stream;
 * decode up to every padded group and keep an incomplete group for the next chunk.
 */
function makeBase64Decoder(): (text: string) => Buffer {
  let rest = '';
  return (text) => {
    rest += text.replace(/\s+/g, '');
    const parts: Buffer[] = [];
    for (;;) {
      const pad = rest.indexOf('=');
      const end = pad < 0 ? rest.length - (rest.length % 4) : Math.ceil((pad + 1) / 4) * 4;
      if (end === 0 || end > rest.length) break;
      parts.push(Buffer.from(rest.slice(0, end), 'base64'));
      rest = rest.slice(end);
      if (pad < 0) break;
    }
    return Buffer.concat(parts);
  };
}

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => undefined);
  let head = Buffer.alloc(0);
  const first = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const text = head.toString('latin1', 0, Math.min(head.length, 8));
    if (!text.startsWith('GET ') && !text.startsWith('POST ')) {
      // Plain RTSP.
      socket.off('data', first);
      const s = new Session(socket, (b) => socket.write(b));
      socket.on('data', (c: Buffer) => s.push(c));
      socket.on('close', () => s.close());
      s.push(head);
      return;
    }
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.off('data', first);
    const httpHead = head.toString('latin1', 0, end);
    const cookie = /x-sessioncookie:\s*(\S+)/i.exec(httpHead)?.[1] ?? '';
    const rest = head.subarray(end + 4);
    if (text.startsWith('GET ')) {
      socket.write(
        'HTTP/1.0 200 OK\r\nContent-Type: application/x-rtsp-tunnelled\r\nCache-Control: no-cache\r\n\r\n',
      );
      const s = new Session(socket, (b) => socket.write(b));
      tunnels.set(cookie, s);
      socket.on('close', () => {
        tunnels.delete(cookie);
        s.close();
      });
    } else {
      const s = tunnels.get(cookie);
      if (s === undefined) return void socket.destroy();
      const decode = makeBase64Decoder();
      const feed = (c: Buffer): void => s.push(decode(c.toString('latin1')));
      socket.on('data', feed);
      socket.on('close', () => s.out.destroy());
      feed(rest);
    }
  };
  socket.on('data', first);
});

udp.bind(0, args.host, () => {
  // rtspkit's listenBacklog default: with Node's 511, a storm of 1000 connects overflowed the accept queue and
  // the floor's setup tail measured SYN retries (1 s), not the work a server must do.
  server.listen({ port: args.port, host: args.host, backlog: 2048 }, () => {
    process.stderr.write(`floor: listening on ${args.host}:${args.port}, coalesce ${args.coalesceMs} ms\n`);
  });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(0));
