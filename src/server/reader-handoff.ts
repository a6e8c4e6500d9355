/**
 * The seam through which a live TCP reader's fan-out may move to another process after its PLAY reply
 * (`fanoutWorkers`, src/fanout/). The server keeps the session, its state and its connection object; the
 * seam only ever takes the socket's bytes elsewhere. Absent: readers are served here, as always.
 */
import type { Stream } from '../media/stream.js';
import type { ServerConnection } from './connection.js';
import type { ServerSession } from './session.js';

/** What the handoff's processes count, merged into `/metrics` and `/v1/...` (http/fanout-metrics.ts). */
export interface FanoutCounters {
  /** Per worker: its readers, bytes written to them, packets not sent to slow ones, readers cut off, bytes queued. */
  workers: {
    index: number;
    alive: boolean;
    restarts: number;
    readers: number;
    bytesOut: number;
    droppedPackets: number;
    readersCutOff: number;
    backlogBytes: number;
    /** Bytes sent to it over IPC and not yet taken by the channel. */
    queuedBytes: number;
  }[];
  /** Readers moved; moves given up (the reader stayed in the primary); worker messages dropped as invalid. */
  handoffs: number;
  handoffsAbandoned: number;
  badMessages: number;
}

export interface ReaderHandoff {
  /** Readers of `stream` served elsewhere, less the stream's own readers that carry them (feeds). */
  movedReaders?(stream: Stream): number;
  counters?(): FanoutCounters;
  /**
   * A live reader's PLAY reply was written (its media from `stream` has started here, from the GOP
   * cache): the seam may move its reading when the connection is quiet, or leave it here.
   */
  played(session: ServerSession, conn: ServerConnection, stream: Stream): void;
}
