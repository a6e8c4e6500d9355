/**
 * The messages between the primary and its fan-out workers (`fanoutWorkers`), over the IPC channel of
 * `child_process.fork` with 'advanced' serialization (Buffers travel as bytes, not JSON). One channel
 * carries everything, in order: a socket handed over (its handle rides on the 'socket' message) is in
 * the worker before the media that follows it, which is what lets a reader move between two flushes
 * without losing or repeating a packet (pool.ts).
 *
 * The worker is our own code, but the primary still reads its messages as input that may be wrong
 * (a bug, a half-dead process): `workerMessageOf` checks every field, and anything else is dropped
 * and counted, never thrown.
 */
import type { ReaderPatch, StreamTrack } from '../media/stream.js';

/** Stream settings a worker's Streams take (the primary's, read when a path opens in the worker). */
export interface WorkerStreamSettings {
  gopCacheMaxBytes: number;
  maxReaderBacklogBytes: number;
  maxTotalReaderBacklogBytes: number;
  readerStallTimeoutMs: number;
  writeCoalesceMs: number;
  senderReportIntervalMs: number;
  serverName: string;
}

/** A reader's patch as it crosses: timing lines on the Unix-epoch ms clock (each process's own differs). */
export type WireReaderPatch = ReaderPatch;

export type PrimaryMessage =
  | { t: 'path'; key: number; tracks: StreamTrack[]; settings: WorkerStreamSettings }
  /** Interleaved frames (`$`, channel 2 × track, length, RTP packet) of one flush. */
  | { t: 'media'; key: number; bytes: Uint8Array }
  | { t: 'sr'; key: number; track: number; rtpTimestamp: number; ntpUnixMs: number }
  | { t: 'path-end'; key: number }
  /** The handle of the connection's TCP socket comes with it; `unread`: bytes read but not framed. */
  | { t: 'socket'; conn: number; unread: Uint8Array }
  | {
      t: 'adopt';
      conn: number;
      key: number;
      tracks: number[];
      rtpChannels: (number | null)[];
      rtcpChannels: (number | null)[];
      patch: WireReaderPatch;
    }
  | { t: 'stop'; conn: number }
  | { t: 'write'; conn: number; bytes: Uint8Array }
  | { t: 'pause' | 'resume' | 'end' | 'destroy'; conn: number };

/** What a worker counts, sent once a second (and merged into /metrics by the primary). */
export interface WorkerCounts {
  readers: number;
  paths: number;
  bytesOut: number;
  packetsIn: number;
  droppedPackets: number;
  readersCutOff: number;
  backlogBytes: number;
  bytesIn: number;
}

export type WorkerMessage =
  | { t: 'data'; conn: number; bytes: Buffer }
  | { t: 'closed'; conn: number }
  /** A socket handle arrived (pool.ts: what was held behind it has been released). */
  | { t: 'taken'; conn: number }
  | { t: 'flushed'; conn: number; bytes: number }
  | { t: 'counts'; counts: WorkerCounts };

/** The most a worker may send in one 'data' message (it forwards at most one socket read). */
export const MAX_DATA_BYTES = 1024 * 1024;

const COUNT_KEYS: readonly (keyof WorkerCounts)[] = [
  'readers',
  'paths',
  'bytesOut',
  'packetsIn',
  'droppedPackets',
  'readersCutOff',
  'backlogBytes',
  'bytesIn',
];

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function bytesOf(v: unknown): Buffer | undefined {
  if (!(v instanceof Uint8Array) || v.byteLength > MAX_DATA_BYTES) return undefined;
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** A worker's message checked field by field, or undefined (then the caller counts and drops it). */
export function workerMessageOf(raw: unknown): WorkerMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.t) {
    case 'data': {
      const bytes = bytesOf(m.bytes);
      return isId(m.conn) && bytes !== undefined ? { t: 'data', conn: m.conn, bytes } : undefined;
    }
    case 'closed':
      return isId(m.conn) ? { t: 'closed', conn: m.conn } : undefined;
    case 'taken':
      return isId(m.conn) ? { t: 'taken', conn: m.conn } : undefined;
    case 'flushed':
      return isId(m.conn) && isId(m.bytes) ? { t: 'flushed', conn: m.conn, bytes: m.bytes } : undefined;
    case 'counts': {
      if (typeof m.counts !== 'object' || m.counts === null) return undefined;
      const c = m.counts as Record<string, unknown>;
      const counts = {} as WorkerCounts;
      for (const k of COUNT_KEYS) {
        const v = c[k];
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return undefined;
        counts[k] = v;
      }
      return { t: 'counts', counts };
    }
    default:
      return undefined;
  }
}

/** Moves a patch's timing lines between a process's monotonic clock and the epoch (`offsetMs` added). */
export function shiftPatch(patch: ReaderPatch, offsetMs: number): ReaderPatch {
  return {
    ...patch,
    timing: patch.timing.map((t) =>
      t === undefined ? undefined : { ...t, monotonicMs: t.monotonicMs + offsetMs },
    ),
  };
}
