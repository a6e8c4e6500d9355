/**
 * Faults of the code that a remote peer's media drives (payload parsing at ingest, depacketizers and
 * muxers of HLS): an exception there is a bug or an input nobody thought of, and it must cost only the
 * packet, unit or muxer it happened in, never the process (Node exits on an exception thrown from a
 * socket or timer callback) nor another path. The catchers count each fault here, by stage, and log it:
 * at most one line per stage every `logIntervalMs` (a hostile publisher can make thousands a second),
 * the next line saying how many were not logged in between.
 *
 * Stages: `ingest`, a publisher's packet entering its path's Stream (parameter-set and keyframe
 * probing; the packet is dropped); `hls`, a path's HLS muxer (depacketize, align, mux; the muxer stops
 * and the next HLS request starts a new one).
 */
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { RateLimiter } from '../base/rate-limit.js';

export const MEDIA_FAULT_STAGES = ['ingest', 'hls'] as const;
export type MediaFaultStage = (typeof MEDIA_FAULT_STAGES)[number];

const DEFAULT_LOG_INTERVAL_MS = 10_000;

export class MediaFaults {
  /** Faults so far by stage (never decrease: what `rtspkit_media_faults_total` reports). */
  readonly counts: Record<MediaFaultStage, number> = { ingest: 0, hls: 0 };
  readonly #logger: Logger;
  readonly #clock: Clock;
  /** One line per stage and window; what a window suppressed is told by the next line. */
  readonly #lines: RateLimiter;

  constructor(logger: Logger, clock: Clock, logIntervalMs = DEFAULT_LOG_INTERVAL_MS) {
    this.#logger = logger;
    this.#clock = clock;
    this.#lines = new RateLimiter({ windowMs: logIntervalMs, burst: 1 });
  }

  get total(): number {
    let n = 0;
    for (const s of MEDIA_FAULT_STAGES) n += this.counts[s];
    return n;
  }

  /** Counts a fault of `stage` on `path` and logs it unless a line for that stage went out lately. */
  record(stage: MediaFaultStage, path: string, err: unknown): void {
    this.counts[stage]++;
    const { pass, ended } = this.#lines.take(stage, this.#clock.monotonicMs());
    if (!pass) return;
    const e = err instanceof Error ? err : new Error(String(err));
    this.#logger.error(
      {
        stage,
        path,
        err: e.message,
        stack: e.stack?.split('\n').slice(0, 4).join('\n'),
        notLoggedBefore: ended?.suppressed ?? 0,
        total: this.counts[stage],
      },
      'media fault: dropped and isolated',
    );
  }
}
