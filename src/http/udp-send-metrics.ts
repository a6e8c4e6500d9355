/**
 * How UDP readers' RTP leaves the server (transport/udp-batch.ts): `rtspkit_udp_send_path{path,reason}` is 1
 * for the path in use (`sendmmsg`: the optional add-on, one call per flush; `dgram`: one send per datagram,
 * with why: `udpBatchSend: off`, or why the add-on did not load), and `rtspkit_udp_batch_datagrams_total{via}`
 * counts the batched path's datagrams: taken by sendmmsg (`via="sendmmsg"`), or handed to dgram because the
 * kernel's send buffer was full (`dgram_full`), it refused one datagram (`dgram_refused`), the socket already
 * had a queue (`dgram_queued`) or its descriptor was not reachable (`dgram_no_descriptor`), or dropped because the socket had closed
 * (`dropped_closed`). Process-wide.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { udpBatchCounters, udpSendPathInUse } from '../transport/udp-batch.js';

export class UdpSendMetrics {
  private readonly path: Gauge<'path' | 'reason'>;
  private readonly datagrams: Counter<'via'>;
  private readonly calls: Counter;

  constructor(registers: Registry[]) {
    this.path = new Gauge({
      name: 'rtspkit_udp_send_path',
      help:
        '1 for how UDP readers\' RTP is sent: path="sendmmsg" (the optional add-on @rtspkit/udp-batch, one ' +
        'call per flush) or path="dgram" (one send per datagram), with the reason.',
      labelNames: ['path', 'reason'],
      registers,
    });
    this.datagrams = new Counter({
      name: 'rtspkit_udp_batch_datagrams_total',
      help:
        'Datagrams of the batched UDP path: taken by sendmmsg (via="sendmmsg"), or sent through dgram because ' +
        'the send buffer was full (dgram_full), the kernel refused one (dgram_refused), the socket had a ' +
        'queue (dgram_queued) or no reachable descriptor (dgram_no_descriptor); dropped_closed: the socket had closed.',
      labelNames: ['via'],
      registers,
    });
    this.calls = new Counter({
      name: 'rtspkit_udp_batch_calls_total',
      help: 'sendmmsg batches handed to the add-on.',
      registers,
    });
  }

  refresh(): void {
    this.path.reset();
    if (udpSendPathInUse !== undefined)
      this.path.set({ path: udpSendPathInUse.path, reason: udpSendPathInUse.reason }, 1);
    const c = udpBatchCounters;
    this.datagrams.reset();
    this.datagrams.inc({ via: 'sendmmsg' }, c.sent);
    this.datagrams.inc({ via: 'dgram_full' }, c.viaDgram.full);
    this.datagrams.inc({ via: 'dgram_refused' }, c.viaDgram.refused);
    this.datagrams.inc({ via: 'dgram_queued' }, c.viaDgram.queued);
    this.datagrams.inc({ via: 'dgram_no_descriptor' }, c.viaDgram.noDescriptor);
    this.datagrams.inc({ via: 'dropped_closed' }, c.closedDropped);
    this.calls.reset();
    this.calls.inc(c.calls);
  }
}
