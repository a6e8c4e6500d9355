/**
 * What the HTTP API and /metrics derive from the server's state without touching the media path:
 * per-path bitrate and the bytes sent by sessions that have ended. Both come from sampling, once a
 * second, counters the engine already keeps, read through its view (src/server/view.ts: a path's
 * bytesIn, a session's bytesSent); nothing is added per packet.
 *
 * Bitrate: the bytes received on a path (all tracks, RTP headers included) over a sliding window of
 * the last WINDOW_SAMPLES samples, so that a GOP arriving in a burst does not make it jump every
 * second. `undefined` until two samples of the same stream exist (a path that was re-published gets
 * a new stream, a new streamId, and starts again).
 *
 * Bytes (and packets) out: the live sessions' `bytesSent` (`packetsSent`) plus a running total of those of ended sessions, added
 * when the server reports the end (`sessionEnded`), so the total is exact and never decreases.
 */
import type { EngineView, SessionSnapshot } from '../server/view.js';

const WINDOW_SAMPLES = 5;

interface PathSamples {
  streamId: number;
  /** [monotonic ms, bytes in] oldest first. */
  samples: [number, number][];
}

export class ServerSampler {
  private readonly paths = new Map<string, PathSamples>();
  private endedBytesSent = 0;
  private endedPacketsSent = 0;
  private readonly unsubscribe: () => void;

  constructor(private readonly engine: EngineView) {
    this.unsubscribe = engine.onSessionEnded((s: SessionSnapshot) => {
      this.endedBytesSent += s.bytesSent;
      this.endedPacketsSent += s.packetsSent;
    });
  }

  /** Stops listening to the engine. */
  dispose(): void {
    this.unsubscribe();
  }

  /** One sample (the API calls it every second): path byte counters and the set of live sessions. */
  sample(): void {
    const now = this.engine.clock.monotonicMs();
    const live = new Set<string>();
    for (const p of this.engine.paths()) {
      const streamId = p.streamId;
      if (streamId === undefined) continue;
      live.add(p.name);
      let entry = this.paths.get(p.name);
      if (entry?.streamId !== streamId) {
        entry = { streamId, samples: [] };
        this.paths.set(p.name, entry);
      }
      const last = entry.samples[entry.samples.length - 1];
      // Two samples in the same millisecond would divide by zero: keep the first.
      if (last !== undefined && now <= last[0]) continue;
      entry.samples.push([now, p.bytesIn]);
      if (entry.samples.length > WINDOW_SAMPLES) entry.samples.shift();
    }
    for (const name of this.paths.keys()) if (!live.has(name)) this.paths.delete(name);
  }

  /** Bits per second received on `path` over the last few seconds; undefined before two samples. */
  bitrateBps(path: string): number | undefined {
    const entry = this.paths.get(path);
    if (entry === undefined || entry.samples.length < 2) return undefined;
    if (this.engine.path(path)?.streamId !== entry.streamId) return undefined;
    const [t0, b0] = entry.samples[0]!;
    const [t1, b1] = entry.samples[entry.samples.length - 1]!;
    return Math.round(((b1 - b0) * 8 * 1000) / (t1 - t0));
  }

  /**
   * Bytes sent to readers since the sampler started: ended sessions (as far as seen) plus the live
   * ones. Never decreases, as a Prometheus counter must not.
   */
  bytesOutTotal(): number {
    let live = 0;
    for (const s of this.engine.sessions()) live += s.bytesSent;
    return this.endedBytesSent + live;
  }

  /** RTP packets sent to readers, counted as bytesOutTotal is. */
  packetsOutTotal(): number {
    let live = 0;
    for (const s of this.engine.sessions()) live += s.packetsSent;
    return this.endedPacketsSent + live;
  }
}
