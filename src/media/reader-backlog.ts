/**
 * What readers that fall behind may hold, across every stream of a server.
 *
 * Each stream bounds a reader's own backlog (`maxReaderBacklogBytes`: past it the reader sheds until
 * the next keyframe). That alone lets N stalled readers hold N times the bound, and a reader that never
 * reads holds it for as long as its session lives. Two more bounds, shared by the streams through one
 * ReaderBacklogBudget:
 *
 * - A cap on the sum of the readers' backlogs (`maxTotalBytes`). When a write would take the total past
 *   it, the reader asking for more sheds, unless it holds nothing or less than its fair share (the cap
 *   divided by the readers counted): so readers that keep up are never the ones to drop. The trade-off:
 *   readers under their share may still grow, so in the worst case (every reader at its share while
 *   others hold their whole bound) the total can reach about twice the cap; it never grows without end.
 * - A stall bound (`stallTimeoutMs`): a reader that sheds and whose backlog does not halve within it is
 *   cut off (its connection closed), so it cannot hold memory forever. Halving, rather than draining to
 *   zero, is the test: while a reader sheds nothing is added to its backlog, so a reader that reads at
 *   all halves it soon, and one that does not, does not, whatever the bitrate.
 *
 * Only readers whose backlog is their own are counted (TCP, the HTTP tunnel, WebSocket: their
 * connection's queue). UDP readers report their RTP socket's send queue, which the shared server pair's
 * readers all share: summing it per reader would count it once per reader, and cutting them off for it
 * would punish every UDP reader for the host's link. Their own bound still applies.
 */

export interface ReaderBacklogLimits {
  /** Sum of the counted readers' backlogs past which readers holding more than their share shed. */
  maxTotalBytes: number;
  /** A shedding reader whose backlog does not halve within this is cut off. */
  stallTimeoutMs: number;
}

export const DEFAULT_MAX_TOTAL_READER_BACKLOG_BYTES = 256 * 1024 * 1024;
export const DEFAULT_READER_STALL_TIMEOUT_MS = 20_000;

/** The server-wide part: limits (changed in place on reload), the running total and the counts. */
export class ReaderBacklogBudget implements ReaderBacklogLimits {
  maxTotalBytes: number;
  stallTimeoutMs: number;
  /** The counted readers' backlogs at their last look, summed. */
  totalBytes = 0;
  /** Readers counted in totalBytes. */
  readers = 0;
  /** Packets not sent because the total was at the cap (those readers shed until a keyframe). */
  capDroppedPackets = 0;
  /** Readers cut off because their backlog did not drain (stallTimeoutMs). */
  readersCutOff = 0;

  constructor(limits: Partial<ReaderBacklogLimits> = {}) {
    this.maxTotalBytes = limits.maxTotalBytes ?? DEFAULT_MAX_TOTAL_READER_BACKLOG_BYTES;
    this.stallTimeoutMs = limits.stallTimeoutMs ?? DEFAULT_READER_STALL_TIMEOUT_MS;
  }

  setLimits(limits: Partial<ReaderBacklogLimits>): void {
    if (limits.maxTotalBytes !== undefined) this.maxTotalBytes = limits.maxTotalBytes;
    if (limits.stallTimeoutMs !== undefined) this.stallTimeoutMs = limits.stallTimeoutMs;
  }

  /** Whether a reader holding `backlogBytes` may be given `bytes` more. */
  allows(backlogBytes: number, bytes: number): boolean {
    if (backlogBytes === 0 || this.totalBytes + bytes <= this.maxTotalBytes) return true;
    return backlogBytes + bytes <= this.maxTotalBytes / Math.max(1, this.readers);
  }
}

/** One reader's part: its backlog as counted in the budget, and its stall clock while it sheds. */
export class ReaderBacklog {
  private countedBytes = 0;
  private released = false;
  /** While shedding: since when the backlog has had to fall to `drainTargetBytes`. */
  private stallSinceMs: number | undefined;
  private drainTargetBytes = 0;
  /** Half of what it held when it started shedding: it takes packets again only below it. */
  private rejoinBelowBytes = 0;

  constructor(
    private readonly budget: ReaderBacklogBudget,
    /** Counted in the budget's total (a backlog of its own, see above). */
    readonly counted: boolean,
  ) {
    if (counted) budget.readers++;
  }

  /** Takes a fresh reading of the reader's backlog into the total; returns it. */
  observe(bytes: number): number {
    if (this.counted && !this.released) {
      this.budget.totalBytes += bytes - this.countedBytes;
      this.countedBytes = bytes;
    }
    return bytes;
  }

  /** The reader left: its backlog no longer counts (its connection frees it). */
  release(): void {
    if (this.released) return;
    this.observe(0);
    this.released = true;
    if (this.counted) this.budget.readers--;
  }

  /** The reader starts shedding with `backlogBytes` queued: the stall clock starts. */
  startShedding(nowMs: number, backlogBytes: number): void {
    this.stallSinceMs = nowMs;
    this.drainTargetBytes = Math.floor(backlogBytes / 2);
    this.rejoinBelowBytes = this.drainTargetBytes;
  }

  /**
   * It has halved what it held when it started shedding. Without this a reader shed at the total cap
   * while under its own bound could take packets again as soon as other readers freed room, without
   * having read anything, and restart its stall clock each time.
   */
  hasDrained(backlogBytes: number): boolean {
    return backlogBytes <= this.rejoinBelowBytes;
  }

  stopShedding(): void {
    this.stallSinceMs = undefined;
  }

  /**
   * While shedding, at each look: true when the backlog has not halved within the stall timeout.
   * Each halving restarts the clock (toward the next half): a reader keeps its connection as long
   * as it drains at least half of what it still holds per timeout; one at zero holds nothing.
   */
  stalled(nowMs: number, backlogBytes: number): boolean {
    if (this.stallSinceMs === undefined) return false;
    if (backlogBytes <= this.drainTargetBytes) {
      this.stallSinceMs = nowMs;
      this.drainTargetBytes = Math.floor(backlogBytes / 2);
      return false;
    }
    return nowMs - this.stallSinceMs > this.budget.stallTimeoutMs;
  }

  /** Since when the reader has been stalled, for the log. */
  stalledForMs(nowMs: number): number {
    return this.stallSinceMs === undefined ? 0 : nowMs - this.stallSinceMs;
  }
}
