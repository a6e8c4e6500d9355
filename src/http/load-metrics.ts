/**
 * What an operator watches to see a storm coming (a join storm, readers that stop reading, a link that
 * fills), next to the event-loop lag prom-client exports (`nodejs_eventloop_lag_*`): the bytes the server
 * holds for its readers and every counted refusal in one family, by reason.
 *
 * - `rtspkit_queued_bytes{to}`: `tcp_readers` is what TCP readers (interleaved, tunnel, WebSocket) have
 *   queued in their connections and the kernel has not taken (bounded per reader by maxReaderBacklogBytes,
 *   in all by maxTotalReaderBacklogBytes); `udp_readers` the send queues of the UDP sockets that carry
 *   readers' RTP (bounded per reader by maxReaderBacklogBytes too). Rising with the lag: the server writes
 *   faster than the kernel or the readers take.
 * - `rtspkit_refusals_total{reason}`: connections refused by a cap (`maxConnections`,
 *   `maxConnectionsPerIp`), session requests by a limit or binding (every `rtspkit_session_refusals_total`
 *   reason), readers cut off because their backlog did not drain (`readerStalled`), and packets not sent
 *   because all readers together held maxTotalReaderBacklogBytes (`readerBacklogCap`, counted in packets).
 *   The per-concern series stay as they were; this one is the sum to alert on.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EngineCounters } from '../server/view.js';

export class LoadMetrics {
  private readonly queued: Gauge<'to'>;
  private readonly refusals: Counter<'reason'>;

  constructor(registers: Registry[]) {
    this.queued = new Gauge({
      name: 'rtspkit_queued_bytes',
      help:
        'Bytes queued for readers and not yet taken by the kernel: to="tcp_readers" (their connections), ' +
        'to="udp_readers" (the send queues of the UDP sockets carrying their RTP).',
      labelNames: ['to'],
      registers,
    });
    this.refusals = new Counter({
      name: 'rtspkit_refusals_total',
      help:
        'Counted refusals by reason: maxConnections, maxConnectionsPerIp (connections), every ' +
        'rtspkit_session_refusals_total reason (session requests), readerStalled (readers cut off), ' +
        'readerBacklogCap (packets not sent at maxTotalReaderBacklogBytes).',
      labelNames: ['reason'],
      registers,
    });
  }

  refresh(counters: EngineCounters): void {
    this.queued.set({ to: 'tcp_readers' }, counters.readerBacklogBytes);
    this.queued.set({ to: 'udp_readers' }, counters.udpQueuedBytes);
    this.refusals.reset();
    const add = (reason: string, n: number): void => this.refusals.inc({ reason }, n);
    for (const [reason, n] of Object.entries(counters.connectionRefusals)) add(reason, n);
    for (const [reason, n] of Object.entries(counters.sessionRefusals)) add(reason, n);
    add('readerStalled', counters.readersCutOff);
    add('readerBacklogCap', counters.backlogCapDroppedPackets);
  }
}
