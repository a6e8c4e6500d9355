/**
 * On-demand publishers (`OnDemandPublisher`, runOnDemand) as the path manager runs them, after
 * mediamtx's `runOnDemand`: the first reader of a name nobody feeds starts the command and waits until a
 * publisher has RECORDed on that name (the name stays free meanwhile, so the command's own ANNOUNCE
 * takes it like any publisher's); readers asking meanwhile wait for the same start. The command is
 * stopped when no reader came for `closeAfterMs` (readers of the path's Stream, or readers waiting for
 * it), or when its start timed out. While it runs, a crash of the command (its publisher gone, the path
 * not ready) is its own business (hook-process.ts restarts it); readers then wait for the next RECORD.
 */
import { clockTimeout, type Clock, type ClockTimer } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { OnDemandPublisher, Path } from './path.js';

export interface OnDemandPublishersDeps {
  clock: Clock;
  logger: Logger;
  /** The path of that name now. */
  get(name: string): Path | undefined;
}

interface Running {
  publisher: OnDemandPublisher;
  /** Readers waiting for the RECORD. */
  waiters: Set<(path: Path | undefined) => void>;
  /** Monotonic ms when a reader was last seen (or waited). */
  lastUsedMs: number;
  idleTimer: ClockTimer | undefined;
}

export class OnDemandPublishers {
  private readonly running = new Map<string, Running>();

  constructor(private readonly deps: OnDemandPublishersDeps) {}

  /** Names whose command runs now. */
  names(): string[] {
    return [...this.running.keys()];
  }

  /** Starts `publisher` for `name` unless one runs already, and waits for a RECORD on `name`. */
  start(name: string, publisher: OnDemandPublisher): Promise<Path | undefined> {
    let run = this.running.get(name);
    if (run !== undefined && !run.publisher.isActive()) {
      // It exited and will not restart: the reader starts it again rather than wait for its timeout.
      void this.stop(name, 'command exited');
      run = undefined;
    }
    if (run === undefined) {
      if (!publisher.start()) return Promise.resolve(undefined);
      run = {
        publisher,
        waiters: new Set(),
        lastUsedMs: this.deps.clock.monotonicMs(),
        idleTimer: undefined,
      };
      this.running.set(name, run);
      this.deps.logger.info({ path: name }, 'on-demand command started');
      this.watchIdle(name, run);
    }
    const ready = this.deps.get(name);
    if (ready?.stream !== undefined) return Promise.resolve(ready);
    const current = run;
    return new Promise((resolve) => {
      const timer = clockTimeout(
        this.deps.clock,
        () => {
          if (!current.waiters.delete(waiter)) return;
          this.deps.logger.warn(
            { path: name, timeoutMs: current.publisher.startTimeoutMs },
            'on-demand command did not publish in time',
          );
          resolve(undefined);
          if (current.waiters.size === 0 && this.deps.get(name)?.stream === undefined)
            void this.stop(name, 'did not publish in time');
        },
        current.publisher.startTimeoutMs,
      );
      const waiter = (path: Path | undefined): void => {
        timer.cancel();
        resolve(path);
      };
      current.waiters.add(waiter);
    });
  }

  /** A path became ready: readers waiting for a RECORD on its name get it. */
  pathReady(name: string): void {
    const run = this.running.get(name);
    const path = this.deps.get(name);
    if (run === undefined || path?.owner.kind !== 'publisher') return;
    run.lastUsedMs = this.deps.clock.monotonicMs();
    for (const w of [...run.waiters]) w(path);
    run.waiters.clear();
  }

  /** Stops the command of `name` (readers still waiting get nothing). */
  stop(name: string, reason: string): Promise<void> {
    const run = this.running.get(name);
    if (run === undefined) return Promise.resolve();
    this.running.delete(name);
    run.idleTimer?.cancel();
    for (const w of [...run.waiters]) w(undefined);
    run.waiters.clear();
    this.deps.logger.info({ path: name, reason }, 'on-demand command stopped');
    return run.publisher.stop();
  }

  async close(reason: string): Promise<void> {
    await Promise.all(this.names().map((name) => this.stop(name, reason)));
  }

  /** Checks the path's readers a few times per `closeAfterMs`; stops the command once it has had none for that long. */
  private watchIdle(name: string, run: Running): void {
    const stepMs = Math.min(1000, Math.max(50, run.publisher.closeAfterMs / 4));
    const check = (): void => {
      if (this.running.get(name) !== run) return;
      const now = this.deps.clock.monotonicMs();
      const readers = this.deps.get(name)?.stream?.readerCount ?? 0;
      if (readers > 0 || run.waiters.size > 0) run.lastUsedMs = now;
      else if (now - run.lastUsedMs >= run.publisher.closeAfterMs) {
        void this.stop(name, 'no readers');
        return;
      }
      run.idleTimer = clockTimeout(this.deps.clock, check, stepMs, { unref: true });
    };
    run.idleTimer = clockTimeout(this.deps.clock, check, stepMs, { unref: true });
  }
}
