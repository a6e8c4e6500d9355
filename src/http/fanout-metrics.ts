/**
 * The fan-out workers (`fanoutWorkers`, src/fanout/) in `/metrics`: per worker its readers, the bytes it
 * wrote to them, the packets its slow readers did not get, the readers it cut off, what it has queued,
 * whether it is up and how often it was replaced; the moves of readers to workers. The workers' queued
 * bytes and cut-offs are also in `rtspkit_queued_bytes` and `rtspkit_refusals_total` (load-metrics.ts).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FanoutCounters } from '../server/reader-handoff.js';

type WorkerFigure = 'readers' | 'backlogBytes' | 'queuedBytes';
type WorkerTotal = 'bytesOut' | 'droppedPackets' | 'readersCutOff' | 'restarts';

export class FanoutMetrics {
  private readonly gauges: Record<WorkerFigure | 'alive', Gauge<'worker'>>;
  private readonly totals: Record<WorkerTotal, Counter<'worker'>>;
  private readonly handoffs: Counter<'result'>;

  constructor(registers: Registry[]) {
    const gauge = (name: string, help: string): Gauge<'worker'> =>
      new Gauge({ name, help, labelNames: ['worker'], registers });
    const counter = (name: string, help: string): Counter<'worker'> =>
      new Counter({ name, help, labelNames: ['worker'], registers });
    this.gauges = {
      readers: gauge('rtspkit_fanout_worker_readers', 'Readers a fan-out worker serves.'),
      backlogBytes: gauge(
        'rtspkit_fanout_worker_backlog_bytes',
        "Bytes queued in a worker's reader connections and not taken by the kernel.",
      ),
      queuedBytes: gauge(
        'rtspkit_fanout_worker_ipc_queued_bytes',
        'Bytes sent to a worker over IPC (its feeds, replies) and not yet taken by the channel.',
      ),
      alive: gauge('rtspkit_fanout_worker_up', '1 while the worker process runs.'),
    };
    this.totals = {
      bytesOut: counter(
        'rtspkit_fanout_worker_bytes_out_total',
        'Media bytes a worker wrote to its readers.',
      ),
      droppedPackets: counter(
        'rtspkit_fanout_worker_dropped_packets_total',
        "Packets a worker's slow readers did not get (summed over readers).",
      ),
      readersCutOff: counter(
        'rtspkit_fanout_worker_readers_cut_off_total',
        'Readers a worker cut off (backlog did not drain).',
      ),
      restarts: counter('rtspkit_fanout_worker_restarts_total', 'Times a worker died and was replaced.'),
    };
    this.handoffs = new Counter({
      name: 'rtspkit_fanout_handoffs_total',
      help:
        'Readers moved to a worker (result="moved"), left in the primary because the move did not come ' +
        'about in time (abandoned), worker messages dropped as invalid (bad_message).',
      labelNames: ['result'],
      registers,
    });
  }

  refresh(c: FanoutCounters): void {
    for (const g of Object.values(this.gauges)) g.reset();
    for (const t of Object.values(this.totals)) t.reset();
    for (const w of c.workers) {
      const worker = String(w.index);
      this.gauges.readers.set({ worker }, w.readers);
      this.gauges.backlogBytes.set({ worker }, w.backlogBytes);
      this.gauges.queuedBytes.set({ worker }, w.queuedBytes);
      this.gauges.alive.set({ worker }, w.alive ? 1 : 0);
      for (const k of ['bytesOut', 'droppedPackets', 'readersCutOff', 'restarts'] as const)
        this.totals[k].inc({ worker }, w[k]);
    }
    this.handoffs.reset();
    this.handoffs.inc({ result: 'moved' }, c.handoffs);
    this.handoffs.inc({ result: 'abandoned' }, c.handoffsAbandoned);
    this.handoffs.inc({ result: 'bad_message' }, c.badMessages);
  }
}
