/** The `rtspkit_rtmp_*` series of /metrics, from the RTMP server's counters (src/rtmp/counters.ts). */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RtmpCounters } from '../rtmp/counters.js';

export interface RtmpMetricsSource {
  counters: RtmpCounters;
  connectionCounts: { publishers: number; players: number; total: number };
}

export class RtmpMetrics {
  private readonly open: Gauge<'role'>;
  private readonly accepted: Counter;
  private readonly refused: Counter;
  private readonly closes: Counter<'reason'>;

  constructor(
    registry: Registry,
    private readonly source: () => RtmpMetricsSource,
  ) {
    const registers = [registry];
    this.open = new Gauge({
      name: 'rtspkit_rtmp_connections',
      help: 'Open RTMP and RTMPS connections by role (publisher, player, idle).',
      labelNames: ['role'],
      registers,
    });
    this.accepted = new Counter({
      name: 'rtspkit_rtmp_connections_accepted_total',
      help: 'RTMP and RTMPS connections accepted.',
      registers,
    });
    this.refused = new Counter({
      name: 'rtspkit_rtmp_connections_refused_total',
      help: 'RTMP connections closed at accept: rtmpMaxConnections reached.',
      registers,
    });
    this.closes = new Counter({
      name: 'rtspkit_rtmp_closes_total',
      help: 'RTMP connections closed by the server, by reason (bounds, bad input, refusals, timeouts).',
      labelNames: ['reason'],
      registers,
    });
  }

  refresh(): void {
    const { counters, connectionCounts: open } = this.source();
    this.open.set({ role: 'publisher' }, open.publishers);
    this.open.set({ role: 'player' }, open.players);
    this.open.set({ role: 'idle' }, open.total - open.publishers - open.players);
    this.accepted.reset();
    this.accepted.inc(counters.connections);
    this.refused.reset();
    this.refused.inc(counters.refusedConnections);
    this.closes.reset();
    for (const [reason, n] of Object.entries(counters.closes)) this.closes.inc({ reason }, n);
  }
}
