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
 *
 * Storm starts. A session that PLAYs while the pacer is busy (this turn's budget spent, or others waiting)
 * would have its reply wait for its turn: 1000 PLAYs at once held replies for 0.3-0.5 s, the larger part
 * of a storm's setup time, and every joiner's burst still came (130 MB for 1000 readers of a 1 Mbit/s
 * stream, written by the server and read by every client while the others were still setting up). A per-turn
 * budget alone still let most of a storm's sessions burst (the budget renews every turn): the stream's
 * bursts to sessions are also bounded per second (`BurstAllowance`). A session past either is instead
 * answered at once and starts at the next keyframe with no burst, as when nothing is
 * cached: its RTP-Info is announced before its first packet is known (`announceStart`), a random sequence
 * number per track that the first packet then gets (`anchorAnnouncedSeqs`), and each track's RTP time at
 * the PLAY instant on the stream's timing line, one instant for every track as §12.33 asks. The trade-off:
 * such a reader sees its first picture at the next keyframe (up to a GOP later) instead of at once; a
 * storm's replies, and the readers already playing, no longer wait behind hundreds of bursts.
 */
import { randomSequenceNumber } from '../rtp/packet.js';
import type { Queued } from './stream-frames.js';
import { recordStarts, type ReaderEntry } from './stream-entry.js';

/** What one turn may send to joining readers by default: about 30 bursts of a 1 Mbit/s stream's GOP. */
export const DEFAULT_JOIN_BYTES_PER_TURN = 4 * 1024 * 1024;

/**
 * What a stream sends joining sessions as GOP bursts by default, per second: about 60 instant starts a
 * second of a 1 Mbit/s stream (130 KB GOPs). A storm's sessions past it start at the next keyframe.
 */
export const DEFAULT_JOIN_BURST_BYTES_PER_SECOND = 8 * 1024 * 1024;

/**
 * Burst bytes for sessions joining a stream: a token bucket refilled at `bytesPerSecond`, holding one
 * second's worth. A burst is allowed while the bucket is not empty (it may go below zero, so a GOP larger
 * than a second's worth still bursts when nothing else did).
 */
export class BurstAllowance {
  private tokens: number;
  private lastMs: number | undefined;

  constructor(private readonly bytesPerSecond: number) {
    this.tokens = bytesPerSecond;
  }

  /** Takes `bytes` for a burst at `nowMs`; false (nothing taken) when the bucket is empty. */
  take(bytes: number, nowMs: number): boolean {
    if (this.lastMs !== undefined)
      this.tokens = Math.min(
        this.bytesPerSecond,
        this.tokens + ((nowMs - this.lastMs) * this.bytesPerSecond) / 1000,
      );
    this.lastMs = nowMs;
    if (this.tokens <= 0) return false;
    this.tokens -= bytes;
    return true;
  }
}

export class JoinPacer<T> {
  private readonly queue: T[] = [];
  private head = 0;
  private sentThisTurn = 0;
  private turnScheduled = false;
  private immediate: NodeJS.Immediate | undefined;

  /** At least 1: a turn always lets one reader in (with 0 its queue would never drain). */
  private readonly bytesPerTurn: number;

  constructor(
    bytesPerTurn: number,
    /** Sends the burst to a reader that is still waiting; returns the bytes sent (0: nothing to do). */
    private readonly run: (item: T) => number,
  ) {
    this.bytesPerTurn = Math.max(1, bytesPerTurn);
  }

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

  /** Whether an offer now would wait for a later turn: this turn's budget is spent, or others wait. */
  get wouldWait(): boolean {
    return this.head < this.queue.length || this.sentThisTurn >= this.bytesPerTurn;
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

/**
 * Announces the start of `e`, a reader that will start at the next keyframe, before its first packets are
 * known: per wanted track a random sequence number and the track's RTP time now (`rtpNow`), reported
 * through its `onStart` at once. False, with nothing changed, when a wanted track has no timing yet.
 */
export function announceStart(e: ReaderEntry, rtpNow: (track: number) => number | undefined): boolean {
  const times = e.wants.map((wanted, track) => (wanted ? rtpNow(track) : undefined));
  if (e.wants.some((wanted, track) => wanted && times[track] === undefined)) return false;
  e.announcedSeqs = e.wants.map((wanted) => (wanted ? randomSequenceNumber() : undefined));
  const onStart = e.onStart;
  e.onStart = undefined;
  e.pendingStarts = 0;
  for (const [track, wanted] of e.wants.entries()) {
    if (!wanted) continue;
    const start = { seq: e.announcedSeqs[track]!, rtptime: times[track]! };
    e.starts[track] = start;
    onStart?.(track, start);
  }
  return true;
}

/** The first packet of each track of an announced start gets the sequence number announced for it. */
export function anchorAnnouncedSeqs(e: ReaderEntry, items: readonly Queued[]): void {
  const seqs = e.announcedSeqs!;
  for (const q of items) {
    const seq = seqs[q.track];
    if (seq === undefined) continue;
    e.seqDeltas[q.track] = (seq - q.header.sequenceNumber) & 0xffff;
    seqs[q.track] = undefined;
  }
  if (seqs.every((seq) => seq === undefined)) e.announcedSeqs = undefined;
}
