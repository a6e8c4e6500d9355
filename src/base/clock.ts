/**
 * Time is injected: sans-I/O layers take timestamps as arguments, engines take a Clock.
 * NTP timestamps (RFC 3550 §4) count seconds since 1900-01-01 in 32.32 fixed point.
 */
export interface Clock {
  /** Monotonic milliseconds (fractional), for durations and timeouts. */
  monotonicMs(): number;
  /** Wall-clock milliseconds since the Unix epoch, for NTP in sender reports. */
  wallMs(): number;
  /**
   * Runs `fn` once after `delayMs`. Optional: a clock without it (ManualClock, a test's literal) gets
   * real timers from `clockTimeout`, which then poll it, as engines that wait in short steps do.
   */
  setTimeout?(fn: () => void, delayMs: number, options?: ClockTimerOptions): ClockTimer;
}

export interface ClockTimerOptions {
  /**
   * Real timers only: the timer does not keep the process alive (Node's `unref`), for a library's
   * background timers (keepalives, reports, delayed closes). Manual clocks ignore it.
   */
  unref?: boolean;
}

/** A timer started through a Clock; `cancel` is idempotent. */
export interface ClockTimer {
  cancel(): void;
}

function realTimeout(fn: () => void, delayMs: number, options?: ClockTimerOptions): ClockTimer {
  const t = setTimeout(fn, delayMs);
  if (options?.unref === true) t.unref();
  return { cancel: () => clearTimeout(t) };
}

/** Runs `fn` once after `delayMs` through `clock` (its own timers, else real ones). */
export function clockTimeout(
  clock: Clock,
  fn: () => void,
  delayMs: number,
  options?: ClockTimerOptions,
): ClockTimer {
  return clock.setTimeout?.(fn, delayMs, options) ?? realTimeout(fn, delayMs, options);
}

/**
 * Runs `fn` every `periodMs` through `clock` until cancelled. Each tick is armed after the previous
 * one ran, so a slow tick delays the next instead of stacking ticks up (what `setInterval` would do).
 */
export function clockInterval(
  clock: Clock,
  fn: () => void,
  periodMs: number,
  options?: ClockTimerOptions,
): ClockTimer {
  const state: { cancelled: boolean; current?: ClockTimer } = { cancelled: false };
  const arm = (): void => {
    state.current = clockTimeout(
      clock,
      () => {
        // Re-armed even when `fn` throws, as `setInterval` keeps going; `fn` may have cancelled it.
        try {
          fn();
        } finally {
          if (!state.cancelled) arm();
        }
      },
      periodMs,
      options,
    );
  };
  arm();
  return {
    cancel: () => {
      state.cancelled = true;
      state.current?.cancel();
    },
  };
}

export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
  setTimeout: realTimeout,
};

/** A clock that only moves when told, for deterministic tests. */
export class ManualClock implements Clock {
  constructor(
    private mono = 0,
    private wall = 1_700_000_000_000,
  ) {}
  monotonicMs(): number {
    return this.mono;
  }
  wallMs(): number {
    return this.wall;
  }
  advance(ms: number): void {
    this.mono += ms;
    this.wall += ms;
  }
}

interface ManualTimer {
  dueMs: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A manual clock that also owns its timers: `advance` runs every timer that falls due, in due-time
 * order, with the clock set to each one's due time while it runs. Unit tests of timeouts, grace
 * periods and keepalives use it instead of real time; nothing runs unless the test advances.
 */
export class ManualTimerClock extends ManualClock {
  private readonly timers: ManualTimer[] = [];
  private nextOrder = 0;

  setTimeout(fn: () => void, delayMs: number): ClockTimer {
    const timer: ManualTimer = {
      dueMs: this.monotonicMs() + Math.max(0, delayMs),
      order: this.nextOrder++,
      fn,
      cancelled: false,
    };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers armed and not yet run or cancelled. */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  override advance(ms: number): void {
    const endMs = this.monotonicMs() + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => !t.cancelled && t.dueMs <= endMs)
        .sort((a, b) => a.dueMs - b.dueMs || a.order - b.order)[0];
      if (due === undefined) break;
      this.timers.splice(this.timers.indexOf(due), 1);
      super.advance(Math.max(0, due.dueMs - this.monotonicMs()));
      due.fn();
    }
    super.advance(Math.max(0, endMs - this.monotonicMs()));
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]!.cancelled) this.timers.splice(i, 1);
  }
}

/** Seconds between 1900-01-01 (NTP era 0) and 1970-01-01. */
export const NTP_UNIX_OFFSET_S = 2_208_988_800;

export interface NtpTime {
  /** Seconds since 1900, 32 bits. */
  seconds: number;
  /** Fraction of a second in units of 2^-32. */
  fraction: number;
}

export function unixMsToNtp(ms: number): NtpTime {
  const totalS = ms / 1000 + NTP_UNIX_OFFSET_S;
  const seconds = Math.floor(totalS);
  const fraction = Math.min(0xffffffff, Math.round((totalS - seconds) * 2 ** 32));
  return { seconds: seconds >>> 0, fraction: fraction >>> 0 };
}

export function ntpToUnixMs(ntp: NtpTime): number {
  return (ntp.seconds - NTP_UNIX_OFFSET_S + ntp.fraction / 2 ** 32) * 1000;
}

/** The middle 32 bits of an NTP timestamp, as used by LSR/DLSR in RTCP (RFC 3550 §6.4.1). */
export function ntpMiddle32(ntp: NtpTime): number {
  return (((ntp.seconds & 0xffff) << 16) | (ntp.fraction >>> 16)) >>> 0;
}
