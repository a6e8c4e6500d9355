/**
 * Figures about a pull's upstream (rtsp-pull.ts), for `/v1/paths` and `/metrics`: its state, the
 * reconnects, and reception summed over every upstream session (RFC 3550 §6.4.1 loss and jitter as the
 * client measures them, per track; jitter is the worst track's of the current session). The bitrate is
 * measured over windows of `BITRATE_WINDOW_MS` of arrivals, on the monotonic times given.
 */
import type { TrackStats } from '../client/media.js';
import type { PathSourceStats } from '../paths/path.js';

export type PullState = 'connecting' | 'online' | 'reconnecting' | 'stopped';

const BITRATE_WINDOW_MS = 1000;

/** The shape `stats()` returns (a `PathSourceStats`: plain numbers and strings by name). */
export interface PullStatsSnapshot extends PathSourceStats {
  state: PullState;
  /** Upstream sessions opened after the first one. */
  reconnects: number;
  /** Attempts that failed (connect, DESCRIBE, SETUP, PLAY), counted since the source started. */
  failedAttempts: number;
  /** Why the last attempt failed or the last session ended (credentials removed); null when none. */
  lastError: string | null;
  packetsReceived: number;
  bytesReceived: number;
  packetsLost: number;
  jitterMs: number;
  /** RTP datagrams from another port than the SETUP reply's `server_port` (without `anyPort`). */
  refusedDatagrams: number;
  /** Bits per second over the last window; 0 when nothing came for two windows. */
  bitrateBps: number;
  /** Times the upstream came back with other media (readers ended, the path's Stream renewed). */
  mediaChanges: number;
}

export class PullStats {
  state: PullState = 'connecting';
  reconnects = 0;
  failedAttempts = 0;
  mediaChanges = 0;
  lastError: string | null = null;
  /** Reception of the sessions that ended, and of the current one as the client counts it. */
  #ended = { packets: 0, bytes: 0, lost: 0, refused: 0 };
  #current: () => readonly TrackStats[] = () => [];
  #windowStartMs: number | undefined;
  #windowBytes = 0;
  #bitrateBps = 0;

  /** A packet of `bytes` payload arrived at `nowMs`. */
  onPacket(bytes: number, nowMs: number): void {
    if (this.#windowStartMs === undefined) this.#windowStartMs = nowMs;
    const elapsedMs = nowMs - this.#windowStartMs;
    if (elapsedMs >= BITRATE_WINDOW_MS) {
      this.#bitrateBps = Math.round((this.#windowBytes * 8 * 1000) / elapsedMs);
      this.#windowStartMs = nowMs;
      this.#windowBytes = 0;
    }
    this.#windowBytes += bytes;
  }

  /** The current session's per-track figures (the client's `stats()`), read when asked. */
  setSession(read: () => readonly TrackStats[]): void {
    this.#current = read;
  }

  /** The current session ended: its figures are added to the totals. */
  endSession(): void {
    for (const t of this.#current()) {
      this.#ended.packets += t.packetsReceived;
      this.#ended.bytes += t.bytesReceived;
      this.#ended.lost += t.packetsLost;
      this.#ended.refused += t.refusedDatagrams;
    }
    this.#current = () => [];
  }

  snapshot(nowMs: number): PullStatsSnapshot {
    const cur = this.#current();
    const sum = (f: (t: TrackStats) => number): number => cur.reduce((n, t) => n + f(t), 0);
    const stale = this.#windowStartMs === undefined || nowMs - this.#windowStartMs >= 2 * BITRATE_WINDOW_MS;
    return {
      state: this.state,
      reconnects: this.reconnects,
      failedAttempts: this.failedAttempts,
      lastError: this.lastError,
      packetsReceived: this.#ended.packets + sum((t) => t.packetsReceived),
      bytesReceived: this.#ended.bytes + sum((t) => t.bytesReceived),
      packetsLost: this.#ended.lost + sum((t) => t.packetsLost),
      jitterMs: cur.reduce((m, t) => Math.max(m, t.jitterMs), 0),
      refusedDatagrams: this.#ended.refused + sum((t) => t.refusedDatagrams),
      bitrateBps: stale ? 0 : this.#bitrateBps,
      mediaChanges: this.mediaChanges,
    };
  }
}
