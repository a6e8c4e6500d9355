/**
 * The server's once-a-second round: sessions past their timeout (RFC 2326 §12.37, plus a grace),
 * sessions never started, UDP publishers gone silent; then the front doors' connection timeouts
 * (slowloris, idle, unpaired tunnels, TLS handshakes) and the sender reports. Apart from the server
 * so that the timing rules sit together and reach the server only through what they end.
 */
import { clockInterval, type Clock, type ClockTimer } from '../base/clock.js';
import { notStartedInTime } from './session-limits.js';
import type { ServerSession } from './session.js';
import type { ServerSettings } from './server-options.js';

/** How often the round runs. */
export const SWEEP_INTERVAL_MS = 1000;

export interface SweeperDeps {
  /** The server's clock: the round's timer and its `now`. */
  clock: Clock;
  /** Read at each round: the timeouts are reloadable. */
  settings: Pick<ServerSettings, 'udpReadTimeoutS' | 'sessionTimeoutGraceS' | 'sessionStartTimeoutS'>;
  sessions(): Iterable<ServerSession>;
  endSession(session: ServerSession, reason: string): void;
  /** The front doors' connection and handshake timeouts. */
  expireConnections(now: number): void;
  /** Sender reports, when their interval has passed. */
  senderReports(now: number): void;
}

export class Sweeper {
  private timer: ClockTimer | undefined;

  constructor(private readonly deps: SweeperDeps) {}

  start(): void {
    this.timer?.cancel();
    this.timer = clockInterval(
      this.deps.clock,
      () => {
        this.sweep();
      },
      SWEEP_INTERVAL_MS,
      // The sweep alone does not keep a process alive (a server embedded in a program that ends).
      { unref: true },
    );
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Once a second: expire sessions and connections, send sender reports. */
  sweep(): void {
    const { settings } = this.deps;
    const now = this.deps.clock.monotonicMs();
    const udpLimitMs = settings.udpReadTimeoutS * 1000;
    for (const s of [...this.deps.sessions()]) {
      const idle = now - s.lastActivityMs;
      if (idle > (s.timeoutS + settings.sessionTimeoutGraceS) * 1000)
        this.deps.endSession(s, 'session timeout');
      else if (notStartedInTime(s, now, settings.sessionStartTimeoutS * 1000))
        this.deps.endSession(s, 'no PLAY or RECORD in time');
      else if (
        s.role.kind === 'publisher' &&
        s.state === 'recording' &&
        s.transport === 'udp' &&
        idle > udpLimitMs
      )
        this.deps.endSession(s, 'no packets from publisher');
    }
    this.deps.expireConnections(now);
    this.deps.senderReports(now);
  }
}
