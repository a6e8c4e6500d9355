/**
 * Rate limit of repeated events by key (a log message under attack): at most `burst` per window, the
 * rest counted. Sans-I/O: time comes in as an argument; the caller turns each finished window that
 * suppressed something into one summary line ("N more ... suppressed in the last 10 s").
 *
 * Fixed windows rather than a token bucket: a summary per window is what an operator reads, and a key
 * costs three numbers. Keys are few (one per message text), so they are never evicted.
 */
export interface RateLimitOptions {
  /** Length of a window. Default 10 s. */
  windowMs?: number;
  /** Events let through per key and window. Default 20. */
  burst?: number;
}

export interface SuppressedSummary {
  key: string;
  suppressed: number;
  windowMs: number;
}

interface Window {
  startMs: number;
  passed: number;
  suppressed: number;
}

export class RateLimiter {
  readonly windowMs: number;
  readonly burst: number;
  private readonly windows = new Map<string, Window>();
  /** Events suppressed since creation, all keys. */
  suppressedTotal = 0;

  constructor(options: RateLimitOptions = {}) {
    this.windowMs = options.windowMs ?? 10_000;
    this.burst = options.burst ?? 20;
  }

  /**
   * Whether an event of `key` at `nowMs` may pass. A window that ended is closed first: its summary
   * (if anything was suppressed) is returned in `ended` for the caller to report before this event.
   */
  take(key: string, nowMs: number): { pass: boolean; ended: SuppressedSummary | undefined } {
    let w = this.windows.get(key);
    let ended: SuppressedSummary | undefined;
    if (w !== undefined && nowMs - w.startMs >= this.windowMs) {
      if (w.suppressed > 0) ended = { key, suppressed: w.suppressed, windowMs: this.windowMs };
      w = undefined;
    }
    if (w === undefined) {
      w = { startMs: nowMs, passed: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.passed < this.burst) {
      w.passed++;
      return { pass: true, ended };
    }
    w.suppressed++;
    this.suppressedTotal++;
    return { pass: false, ended };
  }

  /** Closes every window that has ended by `nowMs`; returns those that suppressed something. */
  flush(nowMs: number): SuppressedSummary[] {
    const out: SuppressedSummary[] = [];
    for (const [key, w] of this.windows) {
      if (nowMs - w.startMs < this.windowMs) continue;
      if (w.suppressed > 0) out.push({ key, suppressed: w.suppressed, windowMs: this.windowMs });
      this.windows.delete(key);
    }
    return out;
  }
}
