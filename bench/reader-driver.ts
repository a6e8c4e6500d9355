// What the reader processes of bench:fanout (readers.ts) and bench:vod (vod.ts --child) share: the per-reader
// RTP sequence accounting, the ramp of setups, keepalives, the stdin/stdout protocol with the parent ("mark"
// starts the window, "stop" ends it; JSON lines back) and the totals of the report.
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { getControl } from '../src/sdp/attributes.js';
import { parseSdp } from '../src/sdp/parse.js';
import type { MediaDescription } from '../src/sdp/types.js';
import { parseSession } from '../src/rtsp/session.js';
import { parseTransport, type TransportSpec } from '../src/rtsp/transport.js';
import { resolveControlUrl, resolveSessionUrl } from '../src/rtsp/url.js';
import type { RtspConn } from './rtsp-conn.js';

/** One reader's packet counters: since PLAY, and over the window (`w...`, reset by resetWindow). */
export interface ReaderCounts {
  rtpPackets: number;
  lost: number;
  wBytes: number;
  wPackets: number;
  wLost: number;
  wDup: number;
  wReorder: number;
}

/**
 * Counts one RTP packet with sequence number `seq` on a channel: a step of 0 is a duplicate, a step back a
 * reorder (the channel's last sequence number stays), a step of d > 1 loses d - 1 packets.
 */
export function countRtp(r: ReaderCounts, ch: { lastSeq: number }, seq: number): void {
  r.rtpPackets++;
  r.wPackets++;
  if (ch.lastSeq >= 0) {
    const d = (seq - ch.lastSeq) & 0xffff;
    if (d === 0) r.wDup++;
    else if (d >= 0x8000) r.wReorder++;
    else {
      if (d > 1) {
        r.lost += d - 1;
        r.wLost += d - 1;
      }
      ch.lastSeq = seq;
    }
  } else {
    ch.lastSeq = seq;
  }
}

export function resetWindow(r: ReaderCounts): void {
  r.wBytes = 0;
  r.wPackets = 0;
  r.wLost = 0;
  r.wDup = 0;
  r.wReorder = 0;
}

/** Counts a failure or close reason, numbers of 4 digits or more (ports, PIDs) folded into N. */
export function countReason(map: Record<string, number>, reason: string): void {
  const key = reason.replace(/\d{4,}/g, 'N').slice(0, 80);
  map[key] = (map[key] ?? 0) + 1;
}

/** One JSON line to the parent on stdout; resolves once written. */
export function sendLine(msg: object): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify(msg)}\n`, () => resolve()));
}

export interface DrivenReader extends ReaderCounts {
  conn: RtspConn | undefined;
  state: 'idle' | 'setup' | 'playing' | 'failed' | 'closed';
  failure: string;
  sessionId: string;
  sessionUrl: string;
  keepaliveEveryMs: number;
  nextKeepaliveAt: number;
  mark(): void;
}

/**
 * The start of a reader's setup on `conn`: a playing reader whose connection ends becomes 'closed'; DESCRIBE
 * (`describeMs` from `setupStart`), the session URL, and each track of the SDP with its control URL.
 */
export async function describeTracks(
  r: DrivenReader & { setupStart: number; describeMs: number },
  conn: RtspConn,
  url: string,
  timeoutMs: number,
): Promise<{ md: MediaDescription; trackUrl: string }[]> {
  r.conn = conn;
  conn.onClose = (err) => {
    if (r.state === 'playing') {
      r.state = 'closed';
      r.failure = err.message;
    }
  };
  const desc = await conn.request('DESCRIBE', url, { Accept: 'application/sdp' }, timeoutMs);
  if (desc.statusCode !== 200) throw new Error(`DESCRIBE ${desc.statusCode}`);
  r.describeMs = performance.now() - r.setupStart;
  const sdp = parseSdp(desc.body.toString('utf8'));
  const base = {
    requestUrl: url,
    ...(desc.headers.get('Content-Base') !== undefined
      ? { contentBase: desc.headers.get('Content-Base')! }
      : {}),
    ...(getControl(sdp) !== undefined ? { sessionControl: getControl(sdp)! } : {}),
  };
  r.sessionUrl = resolveSessionUrl(base);
  return sdp.media.map((md) => {
    const control = getControl(md);
    return {
      md,
      trackUrl: resolveControlUrl({ ...base, ...(control !== undefined ? { mediaControl: control } : {}) }),
    };
  });
}

/** SETUP of one track (with the reader's session after the first): keeps the session and its keepalive period. */
export async function setupTrack(
  r: DrivenReader,
  trackUrl: string,
  transport: string,
  timeoutMs: number,
): Promise<TransportSpec | undefined> {
  const headers: Record<string, string> = { Transport: transport };
  if (r.sessionId !== '') headers.Session = r.sessionId;
  const res = await r.conn!.request('SETUP', trackUrl, headers, timeoutMs);
  if (res.statusCode !== 200) throw new Error(`SETUP ${res.statusCode}`);
  const session = parseSession(res.headers.get('Session') ?? '');
  r.sessionId = session.id;
  if (session.timeoutS !== undefined && session.timeoutS > 0)
    r.keepaliveEveryMs = Math.max(1000, (session.timeoutS * 1000) / 3);
  return parseTransport(res.headers.get('Transport') ?? '')[0];
}

/**
 * Runs the readers' side of the protocol: "mark" on stdin calls every reader's mark() and starts the window,
 * "stop" ends it, stdin closing exits at once (code 3). Sets the readers up with at most `ramp` setups in
 * flight, each tried once in order, then calls `ready`; sends keepalives (OPTIONS with the session,
 * staggered, one timer) until "stop". Resolves at "stop" with the failures, the window and this process's
 * CPU over it.
 */
export async function driveReaders<R extends DrivenReader>(
  readers: readonly R[],
  ramp: number,
  setup: (r: R) => Promise<void>,
  ready: (failures: Record<string, number>, rampMs: number) => Promise<void>,
): Promise<{ failures: Record<string, number>; windowMs: number; cpu: NodeJS.CpuUsage }> {
  const failures: Record<string, number> = {};
  let stopped = false;
  let markAt = performance.now();
  let markCpu = process.cpuUsage();
  let stopResolve: () => void = () => undefined;
  const stopSignal = new Promise<void>((resolve) => (stopResolve = resolve));
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'mark') {
      for (const r of readers) r.mark();
      markAt = performance.now();
      markCpu = process.cpuUsage();
    } else if (line.trim() === 'stop') {
      stopped = true;
      stopResolve();
    }
  });
  lines.on('close', () => {
    // The parent went away: end at once.
    for (const r of readers) r.conn?.close();
    process.exit(3);
  });

  const keepalive = setInterval(() => {
    const now = performance.now();
    for (const r of readers) {
      if (r.state === 'playing' && now >= r.nextKeepaliveAt) {
        r.nextKeepaliveAt = now + r.keepaliveEveryMs;
        r.conn?.send('OPTIONS', r.sessionUrl, { Session: r.sessionId });
      }
    }
  }, 1000);

  const rampStart = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!stopped && next < readers.length) {
      const r = readers[next++]!;
      try {
        await setup(r);
      } catch (err) {
        r.state = 'failed';
        r.failure = err instanceof Error ? err.message : String(err);
        countReason(failures, r.failure);
        r.conn?.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ramp, readers.length) }, () => worker()));
  await ready(failures, performance.now() - rampStart);

  await stopSignal;
  const windowMs = performance.now() - markAt;
  const cpu = process.cpuUsage(markCpu);
  clearInterval(keepalive);
  return { failures, windowMs, cpu };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Of the readers that played: how many were closed after PLAY, and why. */
export function closeTotals(played: readonly DrivenReader[]): {
  closedAfterPlay: number;
  closeReasons: Record<string, number>;
} {
  const closeReasons: Record<string, number> = {};
  for (const r of played) if (r.state === 'closed') countReason(closeReasons, r.failure);
  return { closedAfterPlay: played.filter((r) => r.state === 'closed').length, closeReasons };
}

/** Packet totals of a report, over the readers that played. */
export interface PacketTotals {
  /** Over the window: `$` frame bytes (headers included), RTP packets, sequence gaps, duplicates, reorders. */
  windowBytes: number;
  windowRtpPackets: number;
  windowLost: number;
  windowDuplicates: number;
  windowReordered: number;
  /** Readers that received nothing in the window. */
  windowSilentReaders: number;
  windowMinReaderBytes: number;
  windowMaxReaderBytes: number;
  /** Since PLAY, for the whole run. */
  totalRtpPackets: number;
  totalLost: number;
}

/** The report's packet totals over the readers that played (`windowBytes` ... `totalLost`, in that order). */
export function packetTotals(played: readonly ReaderCounts[]): PacketTotals {
  const wBytes = played.map((r) => r.wBytes);
  return {
    windowBytes: sum(wBytes),
    windowRtpPackets: sum(played.map((r) => r.wPackets)),
    windowLost: sum(played.map((r) => r.wLost)),
    windowDuplicates: sum(played.map((r) => r.wDup)),
    windowReordered: sum(played.map((r) => r.wReorder)),
    windowSilentReaders: wBytes.filter((b) => b === 0).length,
    windowMinReaderBytes: wBytes.length > 0 ? Math.min(...wBytes) : 0,
    windowMaxReaderBytes: wBytes.length > 0 ? Math.max(...wBytes) : 0,
    totalRtpPackets: sum(played.map((r) => r.rtpPackets)),
    totalLost: sum(played.map((r) => r.lost)),
  };
}
