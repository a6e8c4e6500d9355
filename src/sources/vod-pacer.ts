/**
 * Sample scheduling for VOD: the read-ahead queue of a player and its one pacing timer.
 *
 * Pacing. One timer per player, as in mp4-loop.ts: each tick sends every sample due against
 * `clock.monotonicMs()` (normal play by decode time, trick play by presentation time) and re-arms
 * for the next due sample or the end of the range, waiting at most `maxTimerWaitMs` so a clock that
 * jumps (a test's ManualClock) is polled. Samples are read ahead asynchronously into a small
 * bounded queue (48 samples / 2 MiB per player: many players share a file); a head sample more
 * than 1 s late moves the wall anchor instead of bursting the backlog. The timer goes through the
 * injected Clock (`clockTimeout`).
 */
import type { VodSampleReader } from './vod-api.js';
import { clockTimeout, type Clock, type ClockTimer } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { beyondEnd, nextSample } from './vod-scale.js';
import { dueMs, mediaOf, type Queued, type Segment } from './vod-segment.js';

/** Read-ahead bounds per player: at least one sample, at most this many or this many bytes queued. */
const READ_AHEAD_SAMPLES = 48;
const READ_AHEAD_BYTES = 2 * 1024 * 1024;
/** A head sample later than this re-anchors the wall clock instead of sending a burst. */
const MAX_LAG_MS = 1000;

/** What the read-ahead needs of its player. */
export interface ReadAheadHost {
  stopped(): boolean;
  /** The current range first, then the queued ones. */
  segments(): readonly Segment[];
  /** An unexpected failure of the read loop: playing stops. */
  fail(e: unknown): void;
}

/**
 * The samples read ahead of their due time, in sending order over the pending ranges. A read
 * failure marks its range (`readError`), which plays what was read and then fails; reads landing
 * after their range is gone (paused, sought, stopped) are dropped.
 */
export class ReadAhead {
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly reader: VodSampleReader,
    private readonly host: ReadAheadHost,
    private readonly logger: Logger,
  ) {}

  get head(): Queued | undefined {
    return this.queue[0];
  }

  /** Drops every sample read (reads in flight are discarded when they land). */
  clear(): void {
    this.queue = [];
    this.queuedBytes = 0;
  }

  drop(predicate: (q: Queued) => boolean): void {
    this.queue = this.queue.filter((q) => {
      if (!predicate(q)) return true;
      this.queuedBytes -= q.data.length;
      return false;
    });
  }

  /**
   * The head sample of `seg` if it is due at `nowMs`, taken off the queue; a head more than
   * MAX_LAG_MS late moves the segment's wall anchor first.
   */
  takeDue(seg: Segment, nowMs: number): Queued | undefined {
    const q = this.queue[0];
    if (q === undefined || q.seg !== seg) return undefined;
    const due = dueMs(seg, q.dueM);
    if (due > nowMs) return undefined;
    if (nowMs - due > MAX_LAG_MS) {
      seg.wallMs += nowMs - due;
      this.logger.warn({ lateMs: Math.round(nowMs - due) }, 'player fell behind: wall-clock anchor moved');
    }
    this.queue.shift();
    this.queuedBytes -= q.data.length;
    return q;
  }

  /** Starts an asynchronous read-ahead unless one runs, the queue is full or nothing is left. */
  fill(): void {
    if (this.reading !== undefined || this.host.stopped() || !this.wantsMore()) return;
    if (!this.host.segments().some((s) => !s.readDone)) return;
    const p = this.readAhead()
      .catch((e: unknown) => {
        this.host.fail(e);
      })
      .finally(() => {
        if (this.reading === p) this.reading = undefined;
      });
    this.reading = p;
  }

  /** A method, so that the checks after an await are not narrowed away. */
  private isLive(seg: Segment): boolean {
    return !this.host.stopped() && this.host.segments().includes(seg);
  }

  private wantsMore(): boolean {
    const queued = this.queue.length;
    return queued === 0 || (queued < READ_AHEAD_SAMPLES && this.queuedBytes < READ_AHEAD_BYTES);
  }

  private async readAhead(): Promise<void> {
    while (!this.host.stopped() && this.wantsMore()) {
      const seg = this.host.segments().find((s) => !s.readDone);
      if (seg === undefined) return;
      const next = nextSample(seg);
      if (next === undefined) {
        seg.readDone = true;
        continue;
      }
      if (next.info.size === 0) continue;
      let data: Buffer;
      try {
        data = await this.reader.readSample(next.st.mp4, next.info.index);
      } catch (e) {
        // Any read failure (a file cut short, replaced, closed). The samples read before it are
        // still sent (the tick fails the range once they are out).
        if (this.isLive(seg)) {
          seg.readError = e;
          seg.readDone = true;
          return;
        }
        continue; // the range is gone (paused, stopped): its failure does not matter
      }
      // Paused, sought or stopped during the read: the sample belongs to a range that is gone.
      if (!this.isLive(seg) || beyondEnd(seg, next.info)) continue;
      this.queue.push({ ...next, data });
      this.queuedBytes += data.length;
    }
  }
}

/** When the pacing timer of `seg` should fire: its head sample, its end, or at once after a read error. */
export function wakeAtMs(seg: Segment, head: Queued | undefined, nowMs: number): number | undefined {
  if (head !== undefined && head.seg === seg) return dueMs(seg, head.dueM);
  if (seg.readError !== undefined) return nowMs;
  if (seg.readDone) return dueMs(seg, mediaOf(seg, seg.endS));
  return undefined;
}

/** The one pacing timer of a player, on the injected clock, waiting at most `maxWaitMs`. */
export class PacingTimer {
  private timer: ClockTimer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly maxWaitMs: number,
    private readonly onTick: () => void,
  ) {}

  /** (Re)arms for `atMs` (undefined: nothing known, poll), at most maxWaitMs from `nowMs`. */
  arm(atMs: number | undefined, nowMs: number): void {
    this.cancel();
    const waitMs = atMs === undefined ? this.maxWaitMs : Math.min(this.maxWaitMs, Math.max(0, atMs - nowMs));
    this.timer = clockTimeout(
      this.clock,
      () => {
        this.timer = undefined;
        this.onTick();
      },
      Math.ceil(waitMs),
    );
  }

  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
