/**
 * The client's session timers: keepalive (every session timeout / 2, RFC 2326 §12.37), RTCP receiver
 * reports (RFC 3550 §6.2) and the watchdog that falls back from UDP to TCP when nothing arrives after PLAY.
 * Node timers, unref'd so that a client never keeps a process alive: base/clock.ts's Clock reads time but
 * schedules nothing.
 */
export class SessionTimers {
  #keepalive: NodeJS.Timeout | undefined;
  #reports: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  /** Starts the keepalive unless it runs already. */
  startKeepalive(intervalMs: number, tick: () => void): void {
    if (this.#keepalive !== undefined) return;
    this.#keepalive = setInterval(tick, intervalMs);
    this.#keepalive.unref();
  }

  get reportsRunning(): boolean {
    return this.#reports !== undefined;
  }

  startReports(intervalMs: number, tick: () => void): void {
    if (this.#reports !== undefined) return;
    this.#reports = setInterval(tick, intervalMs);
    this.#reports.unref();
  }

  /** (Re)arms the watchdog: `fire` runs once after `timeoutMs` unless it is disarmed first. */
  armWatchdog(timeoutMs: number, fire: () => void): void {
    this.disarmWatchdog();
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      fire();
    }, timeoutMs);
    this.#watchdog.unref();
  }

  disarmWatchdog(): void {
    clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
  }

  stop(): void {
    clearInterval(this.#keepalive);
    clearInterval(this.#reports);
    this.#keepalive = undefined;
    this.#reports = undefined;
    this.disarmWatchdog();
  }
}
