// The reader side of `npm run bench:fanout`, run as its own process so that its CPU is not the server's.
//
//   node dist/bench/readers.js --url rtsp://127.0.0.1:P/bench --count N [--ramp 50] [--timeout-ms 15000]
//                              [--transport tcp|udp|http] [--udp-ports 40000-59999] [--udp-rcvbuf-bytes B]
//
// Opens N RTSP sessions (DESCRIBE, SETUP per track, PLAY), at most `--ramp` setups in flight at once, with
// media over TCP interleaved, over UDP (each reader binds an even/odd pair of local ports per track from
// --udp-ports and SETUPs `client_port=a-b`) or through the HTTP tunnel (GET + base64 POST, media interleaved
// on the GET). Per reader it checks RTP sequence numbers per track (gaps are lost packets), counts bytes,
// times the setup (connect to PLAY reply) and the first keyframe (PLAY request to the first video packet
// that starts a keyframe: SPS/IDR, or the aggregate/fragment that carries one), and, in the window, how late
// each video packet is: delay = arrival - (first arrival + (RTP timestamp - first timestamp) / clock rate),
// reported as delay minus that reader's smallest delay in the window (what a coalescing window adds).
//
// Talks to the parent as JSON lines: stdout gets {"type":"ready",...} once every setup has ended, and
// {"type":"report",...} after "stop" arrives on stdin; "mark" on stdin starts the measurement window.
// The process exits after the report, or when stdin closes (the parent is gone).
import dgram from 'node:dgram';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { getRtpmaps } from '../src/sdp/formats.js';
import { parseRtspUrl } from '../src/rtsp/url.js';
import { readFileSync } from 'node:fs';
import {
  closeTotals,
  countRtp,
  describeTracks,
  setupTrack,
  driveReaders,
  packetTotals,
  resetWindow,
  sendLine,
  type DrivenReader,
  type PacketTotals,
} from './reader-driver.js';
import { RtspConn } from './rtsp-conn.js';

export interface ReadyMessage {
  type: 'ready';
  requested: number;
  playing: number;
  failed: number;
  failures: Record<string, number>;
  rampMs: number;
  /**
   * This process's event-loop delay from its start to every setup ended (perf_hooks, 5 ms resolution):
   * how late it read what the server sent. Large, and the setup times measure this process, not the server.
   */
  joinLoopDelayMs: { p50: number; p99: number; max: number };
}

export interface ReportMessage extends PacketTotals {
  type: 'report';
  requested: number;
  playing: number;
  failed: number;
  failures: Record<string, number>;
  /** Readers whose connection ended after PLAY, before "stop". */
  closedAfterPlay: number;
  closeReasons: Record<string, number>;
  windowMs: number;
  /** Per playing reader, ms: connect to PLAY reply; PLAY request to first RTP packet / first keyframe. */
  setupMs: number[];
  /** Per playing reader, ms: connect to DESCRIBE reply; PLAY request to PLAY reply. */
  describeMs: number[];
  /** Per playing reader, ms: connect() to the socket's 'connect' event here. */
  connectMs: number[];
  playReplyMs: number[];
  firstPacketMs: number[];
  firstKeyframeMs: number[];
  /** Readers whose first video packet started a keyframe (instant start), and readers that saw no keyframe. */
  firstVideoIsKeyframe: number;
  noKeyframe: number;
  /**
   * Over the window, video RTP packets: arrival delay minus the reader's smallest delay, ms, pooled over
   * readers (p50/p90/p99/max), and how many packets that covers.
   */
  addedDelayMs: { p50: number; p90: number; p99: number; max: number; packets: number };
  /** UDP: datagrams dropped by the kernel for this process's sockets over the run (/proc/net/snmp RcvbufErrors). */
  udpRcvbufErrors?: number;
  /** CPU time of this process over the window. */
  cpuUserMs: number;
  cpuSystemMs: number;
}

export type ReaderTransport = 'tcp' | 'udp' | 'http';

interface Args {
  url: string;
  count: number;
  ramp: number;
  timeoutMs: number;
  transport: ReaderTransport;
  udpPortFirst: number;
  udpPortLast: number;
  udpRcvbufBytes: number;
}

function parseArgs(argv: string[]): Args {
  const out: Args = {
    url: '',
    count: 1,
    ramp: 50,
    timeoutMs: 15_000,
    transport: 'tcp',
    udpPortFirst: 40000,
    udpPortLast: 59999,
    // Asked for per RTP socket; the kernel caps it at net.core.rmem_max (4 MB here) and only charges what
    // is queued. A readers process that falls behind loses datagrams here, not in the server.
    udpRcvbufBytes: 1 << 20,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value after ${a}`);
    i++;
    if (a === '--url') out.url = v;
    else if (a === '--count') out.count = Number(v);
    else if (a === '--ramp') out.ramp = Number(v);
    else if (a === '--timeout-ms') out.timeoutMs = Number(v);
    else if (a === '--transport') {
      if (v !== 'tcp' && v !== 'udp' && v !== 'http') throw new Error('--transport: tcp, udp or http');
      out.transport = v;
    } else if (a === '--udp-ports') {
      const m = /^(\d+)-(\d+)$/.exec(v);
      if (m === null) throw new Error('--udp-ports: FIRST-LAST');
      out.udpPortFirst = Number(m[1]) + (Number(m[1]) % 2);
      out.udpPortLast = Number(m[2]);
    } else if (a === '--udp-rcvbuf-bytes') out.udpRcvbufBytes = Number(v);
    else throw new Error(`unknown argument ${a}`);
  }
  if (out.url === '') throw new Error('--url is required');
  for (const k of ['count', 'ramp', 'timeoutMs'] as const) {
    if (!Number.isInteger(out[k]) || out[k] < 1) throw new Error(`--${k} must be a positive integer`);
  }
  return out;
}

type Codec = 'h264' | 'h265' | 'other';

/** Does this RTP payload start a keyframe: parameter sets or an IRAP picture (RFC 6184 §5.6-5.8, RFC 7798 §4.4). */
function startsKeyframe(codec: Codec, p: Buffer): boolean {
  if (p.length < 2) return false;
  if (codec === 'h264') {
    const t = p[0]! & 0x1f;
    if (t === 5 || t === 7) return true;
    if (t === 24) {
      // STAP-A: [size:16][NAL]...
      for (let o = 1; o + 3 <= p.length;) {
        const size = p.readUInt16BE(o);
        const nt = p[o + 2]! & 0x1f;
        if (nt === 5 || nt === 7) return true;
        o += 2 + size;
      }
      return false;
    }
    if (t === 28) return (p[1]! & 0x80) !== 0 && (p[1]! & 0x1f) === 5;
    return false;
  }
  if (codec === 'h265') {
    const t = (p[0]! >> 1) & 0x3f;
    if ((t >= 16 && t <= 21) || (t >= 32 && t <= 34)) return true;
    if (t === 48) {
      for (let o = 2; o + 4 <= p.length;) {
        const size = p.readUInt16BE(o);
        const nt = (p[o + 2]! >> 1) & 0x3f;
        if ((nt >= 16 && nt <= 21) || (nt >= 32 && nt <= 34)) return true;
        o += 2 + size;
      }
      return false;
    }
    if (t === 49 && p.length >= 3) {
      const ft = p[2]! & 0x3f;
      return (p[2]! & 0x80) !== 0 && ft >= 16 && ft <= 21;
    }
    return false;
  }
  return false;
}

/** Offset of the payload in an RTP packet (RFC 3550 §5.1, §5.3.1), or -1 when malformed. */
function rtpPayloadOffset(pkt: Buffer): number {
  if (pkt.length < 12 || pkt[0]! >> 6 !== 2) return -1;
  let off = 12 + 4 * (pkt[0]! & 0x0f);
  if ((pkt[0]! & 0x10) !== 0) {
    if (pkt.length < off + 4) return -1;
    off += 4 + 4 * pkt.readUInt16BE(off + 2);
  }
  return off <= pkt.length ? off : -1;
}

interface Channel {
  rtp: boolean;
  codec: Codec;
  video: boolean;
  clockRate: number;
  lastSeq: number;
  /** Latency reference: the first packet's arrival (ms) and RTP timestamp, and the unwrapped timestamp. */
  firstArrivalMs: number;
  lastTs: number;
  tsUnwrapped: number;
}

function newChannel(rtp: boolean, codec: Codec, video: boolean, clockRate: number): Channel {
  return { rtp, codec, video, clockRate, lastSeq: -1, firstArrivalMs: -1, lastTs: 0, tsUnwrapped: 0 };
}

/** Even/odd local UDP port pairs handed out in order from the --udp-ports range; taken pairs are skipped. */
class UdpPortPairs {
  #next: number;
  constructor(
    first: number,
    readonly last: number,
    readonly rcvbufBytes: number,
  ) {
    this.#next = first;
  }

  async bind(): Promise<{ rtp: dgram.Socket; rtcp: dgram.Socket; port: number }> {
    while (this.#next + 1 <= this.last) {
      const port = this.#next;
      this.#next += 2;
      const rtp = dgram.createSocket({ type: 'udp4', recvBufferSize: this.rcvbufBytes });
      const rtcp = dgram.createSocket('udp4');
      try {
        await bindSocket(rtp, port);
        await bindSocket(rtcp, port + 1);
        return { rtp, rtcp, port };
      } catch {
        rtp.close();
        rtcp.close();
      }
    }
    throw new Error('no free UDP port pair left in --udp-ports');
  }
}

function bindSocket(s: dgram.Socket, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => {
      s.off('error', reject);
      resolve();
    });
  });
}

/** RcvbufErrors of /proc/net/snmp's Udp line: datagrams the kernel dropped on full receive buffers (host-wide). */
export function udpRcvbufErrors(): number {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    return Number(values[names.indexOf('RcvbufErrors')]);
  } catch {
    return NaN;
  }
}

class Reader implements DrivenReader {
  conn: RtspConn | undefined;
  udpSockets: dgram.Socket[] = [];
  state: 'idle' | 'setup' | 'playing' | 'failed' | 'closed' = 'idle';
  failure = '';
  sessionId = '';
  sessionUrl = '';
  keepaliveEveryMs = 20_000;
  nextKeepaliveAt = 0;
  channels: (Channel | undefined)[] = [];
  setupStart = 0;
  setupMs = -1;
  connectMs = -1;
  describeMs = -1;
  playReplyMs = -1;
  playSentAt = 0;
  firstPacketMs = -1;
  firstKeyframeMs = -1;
  firstVideoSeen = false;
  firstVideoIsKeyframe = false;
  rtpPackets = 0;
  lost = 0;
  // window counters, reset by mark()
  wBytes = 0;
  wPackets = 0;
  wLost = 0;
  wDup = 0;
  wReorder = 0;
  /** Video packets' arrival delays in the window (ms, against the first packet's mapping); undefined outside. */
  wDelaysMs: number[] | undefined;

  /** `$` frames: counted with their 4-byte header, as they travel. */
  onFrameBytes(channel: number, buf: Buffer, start: number, end: number): void {
    this.wBytes += 4;
    this.onPacketAt(channel, buf, start, end);
  }

  /** One RTP/RTCP datagram on a channel (2 × track (+1)). */
  onPacket(channel: number, p: Buffer): void {
    this.onPacketAt(channel, p, 0, p.length);
  }

  /**
   * One RTP/RTCP packet, `buf[start, end)`, on a channel (interleaved channel, or 2 × track (+1) for UDP
   * datagrams). The clock is read only when something needs it (first packets, the window's delays).
   */
  onPacketAt(channel: number, buf: Buffer, start: number, end: number): void {
    this.wBytes += end - start;
    const ch = this.channels[channel];
    if (ch === undefined || !ch.rtp || end - start < 12) return;
    const firstKey = ch.video && this.firstKeyframeMs < 0;
    const now =
      this.firstPacketMs < 0 ||
      firstKey ||
      (ch.video && (ch.firstArrivalMs < 0 || this.wDelaysMs !== undefined))
        ? performance.now()
        : 0;
    if (ch.video) {
      const ts = buf.readUInt32BE(start + 4);
      if (ch.firstArrivalMs < 0) {
        ch.firstArrivalMs = now;
        ch.lastTs = ts;
      } else {
        ch.tsUnwrapped += (ts - ch.lastTs) | 0; // signed 32-bit step: wraparound-safe
        ch.lastTs = ts;
        this.wDelaysMs?.push(now - ch.firstArrivalMs - (ch.tsUnwrapped * 1000) / ch.clockRate);
      }
    }
    countRtp(this, ch, buf.readUInt16BE(start + 2));
    if (this.firstPacketMs < 0) this.firstPacketMs = now - this.playSentAt;
    if (firstKey) {
      const p = buf.subarray(start, end);
      const off = rtpPayloadOffset(p);
      const key = off >= 0 && startsKeyframe(ch.codec, p.subarray(off));
      if (!this.firstVideoSeen) {
        this.firstVideoSeen = true;
        this.firstVideoIsKeyframe = key;
      }
      if (key) this.firstKeyframeMs = now - this.playSentAt;
    }
  }

  async setup(
    url: string,
    port: number,
    host: string,
    path: string,
    timeoutMs: number,
    transport: ReaderTransport,
    udpPorts: UdpPortPairs,
  ): Promise<void> {
    this.state = 'setup';
    this.setupStart = performance.now();
    const conn =
      transport === 'http'
        ? await RtspConn.connectTunnel(port, host, path, timeoutMs)
        : await RtspConn.connect(port, host, timeoutMs);
    this.connectMs = performance.now() - this.setupStart;
    const tracks = await describeTracks(this, conn, url, timeoutMs);
    let i = 0;
    for (const { md, trackUrl } of tracks) {
      const rtpmap = getRtpmaps(md)[0];
      const enc = (rtpmap?.encodingName ?? '').toUpperCase();
      const clockRate = rtpmap?.clockRate ?? 90000;
      const codec: Codec = enc === 'H264' ? 'h264' : enc === 'H265' ? 'h265' : 'other';
      let transportHeader = `RTP/AVP/TCP;unicast;interleaved=${2 * i}-${2 * i + 1}`;
      if (transport === 'udp') {
        const pair = await udpPorts.bind();
        this.udpSockets.push(pair.rtp, pair.rtcp);
        const rtpChannel = 2 * i;
        pair.rtp.on('message', (msg) => this.onPacket(rtpChannel, msg));
        pair.rtcp.on('message', () => undefined);
        transportHeader = `RTP/AVP;unicast;client_port=${pair.port}-${pair.port + 1}`;
      }
      const spec = await setupTrack(this, trackUrl, transportHeader, timeoutMs);
      const rtpCh = transport === 'udp' ? 2 * i : (spec?.interleaved?.rtp ?? 2 * i);
      const rtcpCh = transport === 'udp' ? rtpCh + 1 : (spec?.interleaved?.rtcp ?? rtpCh + 1);
      this.channels[rtpCh] = newChannel(true, codec, md.type === 'video', clockRate);
      this.channels[rtcpCh] = newChannel(false, codec, false, clockRate);
      i++;
    }
    conn.onFrameBytes = (channel, buf, start, end) => this.onFrameBytes(channel, buf, start, end);
    this.playSentAt = performance.now();
    const play = await conn.request(
      'PLAY',
      this.sessionUrl,
      { Session: this.sessionId, Range: 'npt=0.000-' },
      timeoutMs,
    );
    if (play.statusCode !== 200) throw new Error(`PLAY ${play.statusCode}`);
    this.playReplyMs = performance.now() - this.playSentAt;
    this.setupMs = performance.now() - this.setupStart;
    this.nextKeepaliveAt = performance.now() + this.keepaliveEveryMs * (0.5 + Math.random() / 2);
    this.state = 'playing';
  }

  mark(): void {
    this.wDelaysMs = [];
    resetWindow(this);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const url = parseRtspUrl(args.url);
  const host = url.host;
  const port = url.port;
  const path = `${url.path}${url.query === undefined ? '' : `?${url.query}`}` || '/';
  const udpPorts = new UdpPortPairs(args.udpPortFirst, args.udpPortLast, args.udpRcvbufBytes);
  const rcvbufErrorsAtStart = udpRcvbufErrors();
  const readers = Array.from({ length: args.count }, () => new Reader());
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  // Ramp: at most `ramp` setups in flight; every reader is tried once.
  const { failures, windowMs, cpu } = await driveReaders(
    readers,
    args.ramp,
    (r) => r.setup(args.url, port, host, path, args.timeoutMs, args.transport, udpPorts),
    (failures, rampMs) => {
      const playingAtReady = readers.filter((r) => r.state === 'playing').length;
      const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
      loopDelay.disable();
      const ready: ReadyMessage = {
        type: 'ready',
        requested: args.count,
        playing: playingAtReady,
        failed: args.count - playingAtReady,
        failures,
        rampMs,
        joinLoopDelayMs: {
          p50: ms(loopDelay.percentile(50)),
          p99: ms(loopDelay.percentile(99)),
          max: ms(loopDelay.max),
        },
      };
      return sendLine(ready);
    },
  );
  for (const r of readers) {
    const ds = r.wDelaysMs;
    r.wDelaysMs = undefined;
    if (ds !== undefined && ds.length > 0) {
      let min = Infinity;
      for (const d of ds) if (d < min) min = d;
      for (let k = 0; k < ds.length; k++) ds[k] = ds[k]! - min;
      r.wDelaysMs = ds;
    }
  }
  const added = Float64Array.from(readers.flatMap((r) => r.wDelaysMs ?? [])).sort();
  const at = (q: number): number =>
    added.length === 0 ? NaN : added[Math.min(added.length - 1, Math.ceil(q * added.length) - 1)]!;

  const played = readers.filter((r) => r.setupMs >= 0);
  const report: ReportMessage = {
    type: 'report',
    requested: args.count,
    playing: played.length,
    failed: args.count - played.length,
    failures,
    ...closeTotals(played),
    windowMs,
    ...packetTotals(played),
    setupMs: played.map((r) => r.setupMs),
    describeMs: played.map((r) => r.describeMs),
    connectMs: played.map((r) => r.connectMs),
    playReplyMs: played.map((r) => r.playReplyMs),
    firstPacketMs: played.filter((r) => r.firstPacketMs >= 0).map((r) => r.firstPacketMs),
    firstKeyframeMs: played.filter((r) => r.firstKeyframeMs >= 0).map((r) => r.firstKeyframeMs),
    firstVideoIsKeyframe: played.filter((r) => r.firstVideoIsKeyframe).length,
    noKeyframe: played.filter((r) => r.firstKeyframeMs < 0).length,
    addedDelayMs: {
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: added.length > 0 ? added[added.length - 1]! : NaN,
      packets: added.length,
    },
    ...(args.transport === 'udp' ? { udpRcvbufErrors: udpRcvbufErrors() - rcvbufErrorsAtStart } : {}),
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
  };
  for (const r of readers) {
    r.conn?.close();
    for (const u of r.udpSockets) u.close();
  }
  await sendLine(report);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`readers: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
