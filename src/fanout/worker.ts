/**
 * A fan-out worker (`fanoutWorkers`): serves the readers the primary hands over. Per path it runs a
 * Stream of its own, fed once by the primary's feed (one IPC message per flush, pool.ts), which numbers
 * each reader's packets as the primary did (Stream.adoptReader), bounds its backlog, cuts off a reader
 * that does not drain, and sends its sender reports. It decides nothing: what a client sends is handed
 * to the primary unread, and the primary's replies come back to be written.
 */
import type net from 'node:net';
import { serializeRtcpCompound } from '../rtp/rtcp.js';
import { senderReportFor } from '../rtp/clock-map.js';
import { systemClock } from '../base/clock.js';
import { ReaderBacklogBudget } from '../media/reader-backlog.js';
import { Stream } from '../media/stream.js';
import { monotonicMsOf } from '../media/track-counters.js';
import {
  MAX_DATA_BYTES,
  shiftPatch,
  type PrimaryMessage,
  type WorkerCounts,
  type WorkerMessage,
} from './protocol.js';
import { WorkerReader } from './worker-reader.js';

interface WorkerPath {
  stream: Stream;
  serverName: string;
  senderReportIntervalMs: number;
  lastSrMs: number;
}

interface WorkerConn {
  socket: net.Socket;
  reader: WorkerReader | undefined;
  key: number | undefined;
}

/** The bytes of a Buffer that crossed the channel (a Uint8Array there, maybe a Buffer). */
function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export class FanoutWorker {
  private readonly paths = new Map<number, WorkerPath>();
  private readonly conns = new Map<number, WorkerConn>();
  private readonly budget = new ReaderBacklogBudget();
  private bytesOutOfGone = 0;
  private bytesIn = 0;
  private packetsIn = 0;
  private droppedOfGone = 0;
  private cutOffs = 0;
  /** Epoch ms minus this process's monotonic ms: timing lines cross processes on the epoch. */
  private readonly epochOffsetMs = performance.timeOrigin;

  constructor(private readonly send: (m: WorkerMessage, done?: () => void) => void) {}

  handle(m: PrimaryMessage, handle: unknown): void {
    switch (m.t) {
      case 'path':
        this.openPath(m.key, m);
        return;
      case 'media':
        this.media(m.key, asBuffer(m.bytes));
        return;
      case 'sr':
        this.paths.get(m.key)?.stream.ingestSenderReport(m.track, m.rtpTimestamp, m.ntpUnixMs);
        return;
      case 'path-end': {
        const p = this.paths.get(m.key);
        this.paths.delete(m.key);
        if (p !== undefined) this.droppedOfGone += p.stream.droppedPackets;
        p?.stream.end('path ended in the primary');
        return;
      }
      case 'socket':
        this.send({ t: 'taken', conn: m.conn });
        this.adoptSocket(m.conn, handle as net.Socket, asBuffer(m.unread));
        return;
      case 'adopt':
        this.adopt(m);
        return;
      case 'stop':
        this.stopReading(m.conn);
        return;
      case 'write': {
        const c = this.conns.get(m.conn);
        const bytes = asBuffer(m.bytes);
        if (c === undefined || c.socket.destroyed) {
          this.send({ t: 'flushed', conn: m.conn, bytes: bytes.length });
          return;
        }
        c.socket.write(bytes, () => this.send({ t: 'flushed', conn: m.conn, bytes: bytes.length }));
        return;
      }
      case 'pause':
        this.conns.get(m.conn)?.socket.pause();
        return;
      case 'resume':
        this.conns.get(m.conn)?.socket.resume();
        return;
      case 'end':
        this.conns.get(m.conn)?.socket.end();
        return;
      case 'destroy':
        this.conns.get(m.conn)?.socket.destroy();
        return;
    }
  }

  private openPath(key: number, m: Extract<PrimaryMessage, { t: 'path' }>): void {
    const s = m.settings;
    this.budget.setLimits({
      maxTotalBytes: s.maxTotalReaderBacklogBytes,
      stallTimeoutMs: s.readerStallTimeoutMs,
    });
    const stream = new Stream(m.tracks, {
      clock: systemClock,
      gopCacheMaxBytes: s.gopCacheMaxBytes,
      maxReaderBacklogBytes: s.maxReaderBacklogBytes,
      backlogBudget: this.budget,
      writeCoalesceMs: s.writeCoalesceMs,
      insertParameterSets: false,
    });
    this.paths.set(key, {
      stream,
      serverName: s.serverName,
      senderReportIntervalMs: s.senderReportIntervalMs,
      lastSrMs: systemClock.monotonicMs(),
    });
  }

  /** One flush of the primary: its interleaved frames, each packet into this worker's Stream. */
  private media(key: number, bytes: Buffer): void {
    const p = this.paths.get(key);
    if (p === undefined) return;
    let o = 0;
    while (o + 4 <= bytes.length && bytes[o] === 0x24) {
      const channel = bytes[o + 1]!;
      const length = bytes.readUInt16BE(o + 2);
      if (o + 4 + length > bytes.length) break;
      // Views of the one message buffer: the Stream keeps them (GOP cache) and never writes them.
      p.stream.ingestRtp(channel >> 1, bytes.subarray(o + 4, o + 4 + length));
      this.packetsIn++;
      o += 4 + length;
    }
  }

  private adoptSocket(conn: number, socket: net.Socket | undefined, unread: Buffer): void {
    if (socket === undefined || typeof socket.write !== 'function') {
      this.send({ t: 'closed', conn });
      return;
    }
    const c: WorkerConn = { socket, reader: undefined, key: undefined };
    this.conns.set(conn, c);
    socket.setNoDelay(true);
    const forward = (chunk: Buffer): void => {
      this.bytesIn += chunk.length;
      for (let o = 0; o < chunk.length; o += MAX_DATA_BYTES)
        this.send({ t: 'data', conn, bytes: chunk.subarray(o, o + MAX_DATA_BYTES) });
    };
    if (unread.length > 0) forward(unread);
    socket.on('data', forward);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.stopReading(conn);
      this.conns.delete(conn);
      this.send({ t: 'closed', conn });
    });
  }

  private adopt(m: Extract<PrimaryMessage, { t: 'adopt' }>): void {
    const c = this.conns.get(m.conn);
    const p = this.paths.get(m.key);
    if (c === undefined || p === undefined || c.socket.destroyed) return;
    this.stopReading(m.conn);
    const orUndef = (v: number | null): number | undefined => (v === null ? undefined : v);
    const reader = new WorkerReader(
      c.socket,
      m.tracks,
      m.rtpChannels.map(orUndef),
      m.rtcpChannels.map(orUndef),
    );
    c.reader = reader;
    c.key = m.key;
    p.stream.adoptReader(reader, shiftPatch(m.patch, -this.epochOffsetMs));
  }

  private stopReading(conn: number): void {
    const c = this.conns.get(conn);
    if (c?.reader === undefined) return;
    const p = c.key !== undefined ? this.paths.get(c.key) : undefined;
    this.droppedOfGone += p?.stream.removeReader(c.reader) ?? 0;
    if (c.reader.cutOffReason !== undefined) this.cutOffs++;
    this.bytesOutOfGone += c.reader.bytesOut;
    c.reader = undefined;
    c.key = undefined;
  }

  /** Sender reports to this worker's readers (as src/server/server-rtcp.ts does in the primary). */
  tick(): void {
    const nowMs = systemClock.monotonicMs();
    const wallOffsetMs = this.epochOffsetMs;
    for (const p of this.paths.values()) {
      if (nowMs - p.lastSrMs < p.senderReportIntervalMs) continue;
      p.lastSrMs = nowMs;
      const stream = p.stream;
      stream.counters.forEach((c, track) => {
        if (c.lastRtpTimestamp === undefined) return;
        const clockRate = stream.tracks[track]!.clockRate;
        for (const r of stream.readersOfTrack(track)) {
          const atMs =
            r.timing !== undefined ? monotonicMsOf(r.timing, c.lastRtpTimestamp, clockRate) : c.lastArrivalMs;
          const sr = senderReportFor({
            ssrc: r.ssrc,
            clockRate,
            lastRtpTimestamp: c.lastRtpTimestamp,
            lastWallMs: atMs + wallOffsetMs,
            nowMs: nowMs + wallOffsetMs,
            packetCount: r.packetsSent,
            octetCount: r.octetsSent,
          });
          const sdes = {
            type: 'sdes' as const,
            chunks: [{ ssrc: r.ssrc, items: [{ type: 1, text: p.serverName }] }],
          };
          r.reader.sendRtcp(track, serializeRtcpCompound([sr, sdes]));
        }
      });
    }
  }

  counts(): WorkerCounts {
    let readers = 0;
    let bytesOut = this.bytesOutOfGone;
    let backlogBytes = 0;
    let dropped = this.droppedOfGone;
    for (const c of this.conns.values()) {
      if (c.reader === undefined) continue;
      readers++;
      bytesOut += c.reader.bytesOut;
      backlogBytes += c.reader.backlogBytes;
    }
    for (const p of this.paths.values()) dropped += p.stream.droppedPackets;
    return {
      readers,
      paths: this.paths.size,
      bytesOut,
      packetsIn: this.packetsIn,
      droppedPackets: dropped,
      readersCutOff: this.cutOffs + this.budget.readersCutOff,
      backlogBytes,
      bytesIn: this.bytesIn,
    };
  }
}
