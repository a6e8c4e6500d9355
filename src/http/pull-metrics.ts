/**
 * The `/metrics` series of pulled paths (sources/rtsp-pull.ts), read from the path snapshots' source
 * figures when scraped: reconnects, packets received and lost, jitter and bitrate of each pull's
 * upstream, labelled by path name only (a pull's URL may carry credentials; the name never does), and the
 * path manager's on-demand refusals and idle stops.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PathManagerCounters } from '../paths/path.js';
import type { ProxiedReaderCounters } from '../server/reader-upstream.js';
import type { PathSnapshot } from '../server/view.js';

/** Upstream figures as series: the snapshot's field, the metric, its help. */
const PULL_FIGURES: readonly [string, string, string, 'counter' | 'gauge'][] = [
  [
    'reconnects',
    'rtspkit_pull_reconnects_total',
    'Upstream sessions a pull opened again after losing one.',
    'counter',
  ],
  [
    'failedAttempts',
    'rtspkit_pull_failed_attempts_total',
    'Upstream sessions a pull could not open (refused, unreachable, timed out).',
    'counter',
  ],
  [
    'packetsReceived',
    'rtspkit_pull_packets_received_total',
    'RTP packets a pull received from its upstream.',
    'counter',
  ],
  [
    'packetsLost',
    'rtspkit_pull_packets_lost_total',
    'RTP packets lost between an upstream and its pull (sequence gaps).',
    'counter',
  ],
  [
    'refusedDatagrams',
    'rtspkit_pull_refused_datagrams_total',
    "UDP datagrams a pull dropped for coming from another port than the upstream's server_port (sourceAnyPortEnable off).",
    'counter',
  ],
  [
    'jitterMs',
    'rtspkit_pull_jitter_ms',
    "Interarrival jitter of a pull's upstream (RFC 3550 §6.4.1), worst track, ms.",
    'gauge',
  ],
  [
    'bitrateBps',
    'rtspkit_pull_bitrate_bps',
    'Bits per second a pull receives from its upstream, over the last second.',
    'gauge',
  ],
];

export class PullMetrics {
  readonly #figures: (Counter<'path'> | Gauge<'path'>)[];
  readonly #online: Gauge<'path'>;
  readonly #onDemandRefused: Counter;
  readonly #onDemandIdleStops: Counter;
  /** Per-reader upstream sessions by what became of them: opened, refused (503), failed (404). */
  readonly #perReader: Counter<'result'>;

  constructor(registers: Registry[]) {
    this.#figures = PULL_FIGURES.map(([, name, help, type]) =>
      type === 'counter'
        ? new Counter({ name, help, labelNames: ['path'], registers })
        : new Gauge({ name, help, labelNames: ['path'], registers }),
    );
    this.#online = new Gauge({
      name: 'rtspkit_pull_online',
      help: 'Whether a pull has an upstream session now (0 while it reconnects).',
      labelNames: ['path'],
      registers,
    });
    this.#onDemandRefused = new Counter({
      name: 'rtspkit_pull_on_demand_refused_total',
      help: 'Readers refused an on-demand start because pullMaxOnDemand sources were running.',
      registers,
    });
    this.#onDemandIdleStops = new Counter({
      name: 'rtspkit_on_demand_idle_stops_total',
      help: 'On-demand sources stopped after their close-after delay without readers.',
      registers,
    });
    this.#perReader = new Counter({
      name: 'rtspkit_pull_per_reader_upstreams_total',
      help: 'Upstream sessions of sourcePerReader paths, by result: opened, refused (pullMaxOnDemand, 503), failed (404).',
      labelNames: ['result'],
      registers,
    });
  }

  refresh(
    paths: readonly PathSnapshot[],
    counters: PathManagerCounters,
    proxied: ProxiedReaderCounters,
  ): void {
    for (const m of this.#figures) m.reset();
    this.#online.reset();
    for (const p of paths) {
      if (p.source !== 'pull' || p.sourceStats === null) continue;
      const path = p.name;
      PULL_FIGURES.forEach(([field], i) => {
        const value = p.sourceStats![field];
        if (typeof value === 'number') this.#figures[i]!.inc({ path }, value);
      });
      this.#online.set({ path }, p.sourceStats.state === 'online' ? 1 : 0);
    }
    this.#onDemandRefused.reset();
    this.#onDemandRefused.inc(counters.onDemandRefused);
    this.#onDemandIdleStops.reset();
    this.#onDemandIdleStops.inc(counters.onDemandIdleStops);
    this.#perReader.reset();
    this.#perReader.inc({ result: 'opened' }, proxied.upstreamsOpened);
    this.#perReader.inc({ result: 'refused' }, proxied.upstreamsRefused);
    this.#perReader.inc({ result: 'failed' }, proxied.upstreamsFailed);
  }
}
