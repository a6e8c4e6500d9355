/**
 * Joins from the GOP cache, and the pacing of their bursts (a join storm).
 *
 * A reader that joins a stream with a GOP cache gets the whole cache (every packet since the last
 * keyframe: 100-300 KB for a 1 Mbit/s camera). It is started there at once (`addReader`): its first
 * packet per track is known, so the PLAY reply (RTP-Info, RFC 2326 §12.33) is not held back, and from then
 * on it collects the stream's packets as references (`pending`, no bytes of its own). Its burst is framed
 * and written at a later event-loop turn, after the PLAY reply went out: before, the burst was built
 * inside the PLAY handler and, the session's output being closed until its reply is written, copied once
 * more to be held (130 KB allocated and copied twice per joiner, which a storm of 1000 paid in GC).
 *
 * When 1000 readers PLAY within a second, those bursts (100+ MB) would hold the event loop for seconds
 * while the requests of the readers still connecting wait in it. Each turn sends at most `bytesPerTurn`
 * of bursts; the readers past it wait for a later turn, and between turns the loop reads sockets
 * (accepts, DESCRIBE, SETUP, PLAY of the others; the readers already playing are flushed as usual). The
 * trade-off: a reader late in a storm gets its first frame a few turns later, but no request waits behind
 * hundreds of bursts, and a PLAY reply never waits for bursts at all.
 */
import type { Queued } from './stream-frames.js';
import { recordStarts, type ReaderEntry } from './stream-entry.js';

/** What one turn may send to joining readers by default: about 30 bursts of a 1 Mbit/s stream's GOP. */
export const DEFAULT_JOIN_BYTES_PER_TURN = 4 * 1024 * 1024;

export class JoinPacer<T> {
  private readonly queue: T[] = [];
  private head = 0;
  private sentThisTurn = 0;
  private turnScheduled = false;
  private immediate: NodeJS.Immediate | undefined;

  constructor(
    private readonly bytesPerTurn: number,
    /** Sends the burst to a reader that is still waiting; returns the bytes sent (0: nothing to do). */
    private readonly run: (item: T) => number,
  ) {}

  /**
   * Sends `item`'s burst now when `now` is allowed, this turn's budget allows it and nobody waits before
   * it; else at a later turn (a session's burst always: its PLAY reply goes first).
   */
  offer(item: T, now: boolean): void {
    if (now && this.head === this.queue.length && this.sentThisTurn < this.bytesPerTurn) {
      this.sentThisTurn += this.run(item);
      this.scheduleTurn();
      return;
    }
    this.queue.push(item);
    this.scheduleTurn();
  }

  /** Readers waiting for their turn. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** The stream ended: nobody waits any more. */
  clear(): void {
    this.queue.length = 0;
    this.head = 0;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.turnScheduled = false;
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    this.immediate = setImmediate(() => this.turn());
  }

  /** A new turn: the budget starts again, and the waiting readers go first. */
  private turn(): void {
    this.turnScheduled = false;
    this.immediate = undefined;
    this.sentThisTurn = 0;
    while (this.head < this.queue.length && this.sentThisTurn < this.bytesPerTurn)
      this.sentThisTurn += this.run(this.queue[this.head++]!);
    if (this.head === this.queue.length || this.head > 1024) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.waiting > 0 || this.sentThisTurn > 0) this.scheduleTurn();
  }
}

/**
 * A flush while `e` is joining: appends to its `pending` the packets of `batch` it does not hold yet (a
 * flush's batch may start with packets it took from the GOP cache when it joined) and notes their starts.
 * Returns its pending bytes.
 */
export function collectPending(e: ReaderEntry, batch: readonly Queued[]): number {
  const pending = e.pending!;
  const last = pending[pending.length - 1];
  const at = last === undefined ? -1 : batch.lastIndexOf(last);
  const added = at < 0 ? batch : batch.slice(at + 1);
  for (const q of added) {
    pending.push(q);
    e.pendingBytes += q.packet.length;
  }
  if (e.pendingStarts > 0 && added.length > 0) recordStarts(e, added);
  return e.pendingBytes;
}

/** `pending` is the GOP cache as it is now (same packets): its frames are shared by the joiners. */
export function isWholeGop(pending: readonly Queued[], gop: readonly Queued[] | undefined): boolean {
  return (
    gop !== undefined &&
    pending.length === gop.length &&
    pending[0] === gop[0] &&
    pending[pending.length - 1] === gop[gop.length - 1]
  );
}
