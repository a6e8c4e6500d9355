// `node dist/bench/attack-readers.js`: stalled TCP readers against a live path (issue 13, item 6).
//
//   node dist/bench/attack-readers.js [--readers 40] [--seconds 30] [--rate 4] [--clip FILE]
//        [--max-reader-backlog BYTES] [--max-total-backlog BYTES] [--stall-timeout MS]
//
// The server runs in this process (so its counters can be read directly) on 127.0.0.1 with a free port.
// ffmpeg publishes the clip in a loop over TCP at --rate times real time (`-readrate`); one good reader
// plays it and reads everything; --readers raw TCP readers SETUP both tracks interleaved, PLAY, then pause
// their socket and never read again. Every second the server's RSS, the bytes queued in user space to the
// stalled readers (their connections' writableLength), the backlog the streams count, drops and readers cut
// off are sampled; at the end the figures before and after (RSS and heap after a full GC) and whether the
// good reader got every packet (RTP sequence numbers without a gap on both tracks) are printed.
// Bounded: --seconds of attack (at most 600), one ffmpeg child ended by its PID, every socket closed.
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { RtspFramer } from '../src/rtsp/framer.js';
import type { RtspResponse } from '../src/rtsp/message.js';
import { RtspServer, type RtspServerOptions } from '../src/server/server.js';
import { createLogger } from '../src/log/logger.js';
import { Proc, killAllOnExit, sleep, waitUntil } from './proc.js';

const HOST = '127.0.0.1';
const PATH = 'attack';

interface Options {
  readers: number;
  seconds: number;
  rate: number;
  clip: string;
  maxReaderBacklogBytes: number | undefined;
  maxTotalReaderBacklogBytes: number | undefined;
  readerStallTimeoutMs: number | undefined;
}

const USAGE = `usage: node dist/bench/attack-readers.js [--readers 40] [--seconds 30] [--rate 4] [--clip FILE]
       [--max-reader-backlog BYTES] [--max-total-backlog BYTES] [--stall-timeout MS]`;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    readers: 40,
    seconds: 30,
    rate: 4,
    clip: fileURLToPath(new URL('../../../shared/media/h264_base_aac.mp4', import.meta.url)),
    maxReaderBacklogBytes: undefined,
    maxTotalReaderBacklogBytes: undefined,
    readerStallTimeoutMs: undefined,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(USAGE);
    const n = Number(value);
    switch (flag) {
      case '--readers':
        o.readers = Math.min(1000, Math.max(0, Math.floor(n)));
        break;
      case '--seconds':
        o.seconds = Math.min(600, Math.max(1, n));
        break;
      case '--rate':
        o.rate = Math.min(50, Math.max(0.5, n));
        break;
      case '--clip':
        o.clip = value;
        break;
      case '--max-reader-backlog':
        o.maxReaderBacklogBytes = n;
        break;
      case '--max-total-backlog':
        o.maxTotalReaderBacklogBytes = n;
        break;
      case '--stall-timeout':
        o.readerStallTimeoutMs = n;
        break;
      default:
        throw new Error(USAGE);
    }
    if (flag !== '--clip' && !Number.isFinite(n)) throw new Error(USAGE);
  }
  return o;
}

/** A bare RTSP connection: requests one at a time, `$` frames counted per channel with sequence gaps. */
class RawReader {
  readonly socket: net.Socket;
  private readonly framer = new RtspFramer();
  private cseq = 0;
  private waiting: ((r: RtspResponse) => void) | undefined;
  closed = false;
  packets = [0, 0, 0, 0];
  bytes = 0;
  gaps = 0;
  private lastSeq: (number | undefined)[] = [];

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      for (const m of this.framer.push(chunk)) {
        if (m.kind === 'response') this.waiting?.(m);
        else if (m.kind === 'interleaved' && m.channel % 2 === 0 && m.payload.length >= 12) {
          this.packets[m.channel] = (this.packets[m.channel] ?? 0) + 1;
          const seq = m.payload.readUInt16BE(2);
          const last = this.lastSeq[m.channel];
          if (last !== undefined && seq !== ((last + 1) & 0xffff)) this.gaps++;
          this.lastSeq[m.channel] = seq;
        }
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawReader> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, HOST, () => resolve(new RawReader(s)));
      s.once('error', reject);
    });
  }

  request(method: string, uri: string, headers: Record<string, string> = {}): Promise<RtspResponse> {
    this.cseq++;
    let text = `${method} ${uri} RTSP/1.0\r\nCSeq: ${this.cseq}\r\n`;
    for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no reply in 5 s`)), 5000);
      this.waiting = (r) => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve(r);
      };
      this.socket.write(`${text}\r\n`);
    });
  }

  /** SETUP of both tracks interleaved (0-1, 2-3), then PLAY. */
  async play(url: string): Promise<void> {
    const s0 = await this.request('SETUP', `${url}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    const session = s0.headers.get('Session')?.split(';')[0];
    if (s0.statusCode !== 200 || session === undefined) throw new Error(`SETUP: ${s0.statusCode}`);
    const s1 = await this.request('SETUP', `${url}/trackID=1`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=2-3',
      Session: session,
    });
    if (s1.statusCode !== 200) throw new Error(`SETUP: ${s1.statusCode}`);
    const p = await this.request('PLAY', url, { Session: session });
    if (p.statusCode !== 200) throw new Error(`PLAY: ${p.statusCode}`);
  }
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Memory {
  rssMB: number;
  heapUsedMB: number;
  arrayBuffersMB: number;
}

function memory(): Memory {
  const m = process.memoryUsage();
  return {
    rssMB: m.rss / 2 ** 20,
    heapUsedMB: m.heapUsed / 2 ** 20,
    arrayBuffersMB: m.arrayBuffers / 2 ** 20,
  };
}

/** After a full GC, twice: V8 frees ArrayBuffers' memory on a sweeper thread after the GC returns. */
async function memoryAfterGc(): Promise<Memory> {
  gc();
  await sleep(300);
  gc();
  await sleep(300);
  return memory();
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const fmtMem = (m: Memory): string =>
  `RSS ${m.rssMB.toFixed(1)} MB, heap ${m.heapUsedMB.toFixed(1)} MB, ArrayBuffers ${m.arrayBuffersMB.toFixed(1)} MB`;

/** What the server says about its readers: user-space bytes queued, counted backlog, drops, cut-offs. */
function serverFigures(server: RtspServer, stalledIds: Set<string>) {
  let queuedBytes = 0;
  let countedBacklogBytes = 0;
  let stalledAlive = 0;
  for (const s of server.sessions.values()) {
    if (!stalledIds.has(s.id)) continue;
    stalledAlive++;
    queuedBytes += s.sink?.writableLength ?? 0;
    countedBacklogBytes += s.backlogBytes;
  }
  const stream = server.paths.get(PATH)?.stream;
  // Optional: so that this file also runs against a build from before the budget existed.
  const budget = (server as { readerBacklog?: RtspServer['readerBacklog'] }).readerBacklog;
  return {
    queuedBytes,
    countedBacklogBytes,
    stalledAlive,
    dropped: stream?.droppedPackets ?? 0,
    cutOff: budget?.readersCutOff,
    capDropped: budget?.capDroppedPackets,
  };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  killAllOnExit('attack-readers');
  const extra: Record<string, number> = {};
  if (o.maxReaderBacklogBytes !== undefined) extra.maxReaderBacklogBytes = o.maxReaderBacklogBytes;
  if (o.maxTotalReaderBacklogBytes !== undefined)
    extra.maxTotalReaderBacklogBytes = o.maxTotalReaderBacklogBytes;
  if (o.readerStallTimeoutMs !== undefined) extra.readerStallTimeoutMs = o.readerStallTimeoutMs;
  const options: RtspServerOptions = {
    host: HOST,
    port: 0,
    udpRtpPort: false,
    multicast: false,
    logger: createLogger('warn', process.stderr),
    ...extra,
  };
  const server = new RtspServer(options);
  await server.listen();
  const url = `rtsp://${HOST}:${server.port}/${PATH}`;
  console.log(
    `attack-readers: ${o.readers} stalled readers, ${o.seconds} s, ffmpeg at ${o.rate}x real time, server options ${JSON.stringify(extra)}`,
  );

  const ffmpeg = new Proc('ffmpeg', 'ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-readrate', String(o.rate), '-stream_loop', '-1'],
    ...['-i', o.clip, '-c', 'copy', '-f', 'rtsp', '-rtsp_transport', 'tcp', url],
  ]);
  const stalled: RawReader[] = [];
  let good: RawReader | undefined;
  try {
    await waitUntil('the publish', 10_000, () => server.paths.get(PATH)?.stream !== undefined);
    await sleep(1000);
    const before = await memoryAfterGc();
    console.log(`before readers: ${fmtMem(before)}`);

    good = await RawReader.connect(server.port);
    await good.play(url);
    const known = new Set(server.sessions.keys());
    for (let i = 0; i < o.readers; i++) {
      const r = await RawReader.connect(server.port);
      await r.play(url);
      r.socket.pause();
      stalled.push(r);
    }
    const stalledIds = new Set([...server.sessions.keys()].filter((id) => !known.has(id)));
    for (const s of server.sessions.values()) if (s.mode === 'play' && !stalledIds.has(s.id)) known.add(s.id);

    let peakRssMB = 0;
    let peakQueued = 0;
    let peakCounted = 0;
    const started = Date.now();
    for (let second = 1; second <= o.seconds; second++) {
      await sleep(Math.max(0, started + second * 1000 - Date.now()));
      ffmpeg.assertAlive();
      const m = memory();
      const f = serverFigures(server, stalledIds);
      peakRssMB = Math.max(peakRssMB, m.rssMB);
      peakQueued = Math.max(peakQueued, f.queuedBytes);
      peakCounted = Math.max(peakCounted, f.countedBacklogBytes);
      if (second % 5 === 0 || second === o.seconds)
        console.log(
          `${String(second).padStart(3)} s: ${fmtMem(m)}; stalled connected ${f.stalledAlive}/${o.readers}, ` +
            `queued ${mb(f.queuedBytes)} MB, counted backlog ${mb(f.countedBacklogBytes)} MB, ` +
            `dropped ${f.dropped}, cut off ${f.cutOff ?? '-'}, dropped at the total cap ${f.capDropped ?? '-'}`,
        );
    }
    const f = serverFigures(server, stalledIds);
    const sent = server.paths.get(PATH)?.stream?.counters.map((c) => c.packetsIn) ?? [];
    const goodPackets = [good.packets[0]!, good.packets[2]!];
    const end = await memoryAfterGc();
    console.log(`end (after a full GC): ${fmtMem(end)}; peak RSS ${peakRssMB.toFixed(1)} MB`);
    console.log(
      `stalled readers: ${f.stalledAlive}/${o.readers} still connected, peak user-space queue ${mb(peakQueued)} MB, ` +
        `peak counted backlog ${mb(peakCounted)} MB, packets dropped ${f.dropped}, cut off ${f.cutOff ?? '-'}, ` +
        `dropped at the total cap ${f.capDropped ?? '-'}`,
    );
    console.log(
      `good reader: ${goodPackets.join(' + ')} packets (publisher sent ${sent.join(' + ')} since the path started), ` +
        `${good.gaps} sequence gaps, ${mb(good.bytes)} MB read: ${good.gaps === 0 && !good.closed ? 'kept up' : 'DID NOT keep up'}`,
    );
  } finally {
    good?.socket.destroy();
    for (const r of stalled) r.socket.destroy();
    await ffmpeg.stop();
    await server.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
