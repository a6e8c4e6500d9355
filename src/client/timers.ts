/**
 * The client's session timers: keepalive (every session timeout / 2, RFC 2326 §12.37), RTCP receiver
 * reports (RFC 3550 §6.2) and the watchdog that falls back from UDP to TCP when nothing arrives after PLAY.
 * They run on the client's injected clock (`clock` option, systemClock by default) and are unref'd:
 * a client never keeps a process alive by itself.
 */
import { clockInterval, clockTimeout, type Clock, type ClockTimer } from '../base/clock.js';

const BACKGROUND = { unref: true } as const;

export class SessionTimers {
  #keepalive: ClockTimer | undefined;
  #reports: ClockTimer | undefined;
  #watchdog: ClockTimer | undefined;

  constructor(private readonly clock: Clock) {}

  /** Starts the keepalive unless it runs already. */
  startKeepalive(intervalMs: number, tick: () => void): void {
    if (this.#keepalive !== undefined) return;
    this.#keepalive = clockInterval(this.clock, tick, intervalMs, BACKGROUND);
  }

  get reportsRunning(): boolean {
    return this.#reports !== undefined;
  }

  startReports(intervalMs: number, tick: () => void): void {
    if (this.#reports !== undefined) return;
    this.#reports = clockInterval(this.clock, tick, intervalMs, BACKGROUND);
  }

  /** (Re)arms the watchdog: `fire` runs once after `timeoutMs` unless it is disarmed first. */
  armWatchdog(timeoutMs: number, fire: () => void): void {
    this.disarmWatchdog();
    this.#watchdog = clockTimeout(
      this.clock,
      () => {
        this.#watchdog = undefined;
        fire();
      },
      timeoutMs,
      BACKGROUND,
    );
  }

  disarmWatchdog(): void {
    this.#watchdog?.cancel();
    this.#watchdog = undefined;
  }

  stop(): void {
    this.#keepalive?.cancel();
    this.#reports?.cancel();
    this.#keepalive = undefined;
    this.#reports = undefined;
    this.disarmWatchdog();
  }
}
