/**
 * Joins from the GOP cache, and the pacing of their bursts (a join storm).
 *
 * A reader that joins a stream with a GOP cache is sent the whole cache (every packet since the last
 * keyframe: 100-300 KB for a 1 Mbit/s camera). When 1000 readers PLAY within a second, those bursts
 * (100+ MB) were written inside the PLAY handlers, one after the other, while the requests of the readers
 * still connecting waited in the same event loop: DESCRIBEs timed out. Here each event-loop turn sends at
 * most `bytesPerTurn` of bursts; the readers past it wait for a later turn, and between turns the loop
 * reads sockets (accepts, DESCRIBE, SETUP of the others; the readers already playing are flushed as
 * usual). A waiting reader that a new keyframe reaches first joins there (a burst of one frame) and is
 * skipped here. The trade-off: a reader late in a storm gets its first frame a few turns later, but no
 * request waits behind hundreds of bursts.
 *
 * A session joins before its PLAY reply is written, and nothing may reach its client before that reply.
 * Its burst used to be framed at once and copied to be held by the session until the reply was written
 * (130 KB allocated and copied twice per joiner, which a storm of 1000 paid in GC). Such a reader
 * (`outputHeld`) is now 'joining': its start is fixed (RTP-Info), it collects the stream's packets as
 * references (`pending`, no bytes of its own), and the burst is framed and written once its reply is out
 * (`Stream.outputOpened`), from the frames every joiner shares.
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

  /** Joins `item` now when this turn's budget allows and nobody waits before it; else at a later turn. */
  offer(item: T): void {
    if (this.head === this.queue.length && this.sentThisTurn < this.bytesPerTurn) {
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
