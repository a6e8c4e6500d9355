/**
 * Log lines that an attacker can make the server write (refused connections and requests, bad
 * requests, closes for limits) go through here: `burst` lines per message and window, then one counted
 * summary per window, so a flood of refusals costs a few lines rather than one each (1.43 M lines,
 * 165 MB for 1.4 M DESCRIBEs answered 401 before this).
 */
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { RateLimiter, type RateLimitOptions, type SuppressedSummary } from '../base/rate-limit.js';

type Level = 'debug' | 'info' | 'warn';

export class RefusalLog {
  private readonly limiter: RateLimiter;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    options: RateLimitOptions = {},
  ) {
    this.limiter = new RateLimiter(options);
  }

  /** Lines suppressed since start. */
  get suppressedTotal(): number {
    return this.limiter.suppressedTotal;
  }

  /** Logs `msg` through `logger` (a connection's child, say) unless its rate is exceeded. */
  write(logger: Logger, level: Level, obj: object, msg: string): void {
    const { pass, ended } = this.limiter.take(msg, this.clock.monotonicMs());
    if (ended !== undefined) this.summary(ended);
    if (pass) logger[level](obj, msg);
  }

  /** Reports the windows that have ended (call it every second or so). */
  flush(): void {
    for (const s of this.limiter.flush(this.clock.monotonicMs())) this.summary(s);
  }

  private summary(s: SuppressedSummary): void {
    this.logger.warn(
      { message: s.key, suppressed: s.suppressed },
      `${s.suppressed} more "${s.key}" lines suppressed in the last ${s.windowMs / 1000} s`,
    );
  }
}
