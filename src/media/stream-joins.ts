/**
 * Pacing of the GOP bursts a stream sends to readers that join (a join storm).
 *
 * A reader that joins a stream with a GOP cache is sent the whole cache at once (every packet since the
 * last keyframe: 100-300 KB for a 1 Mbit/s camera). When 1000 readers PLAY within a second, those bursts
 * (100+ MB) were written inside the PLAY handlers, one after the other, while the requests of the readers
 * still connecting waited in the same event loop: DESCRIBEs timed out. Here each event-loop turn sends at
 * most `bytesPerTurn` of bursts; the readers past it wait for a later turn, and between turns the loop
 * reads sockets (accepts, DESCRIBE, SETUP of the others; the readers already playing are flushed as
 * usual). A waiting reader that a new keyframe reaches first joins there (a burst of one frame) and is
 * skipped here. The trade-off: a reader late in a storm gets its first frame a few turns later, but no
 * request waits behind hundreds of bursts.
 */

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
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    if (this.waiting > 0 || this.sentThisTurn > 0) this.scheduleTurn();
  }
}
