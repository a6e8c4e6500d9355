/**
 * A node's load as it reports it in each heartbeat: readers (play sessions), egress bit rate (bytes
 * the sessions sent, ended ones included, over the interval) and process CPU (share of one core).
 */
import type { EngineView } from '../server/view.js';

export interface NodeLoad {
  readers: number;
  egressBitsPerSecond: number;
  cpu: number;
}

export class LoadSampler {
  #endedBytes = 0;
  #lastBytes = 0;
  #lastMs: number;
  #lastCpu = process.cpuUsage();
  readonly #unsubscribe: () => void;

  constructor(private readonly view: EngineView) {
    this.#lastMs = view.clock.monotonicMs();
    this.#unsubscribe = view.onSessionEnded((s) => {
      this.#endedBytes += s.bytesSent;
    });
  }

  /** Readers now (between heartbeats, for the placement of the next reader). */
  readers(): number {
    let n = 0;
    for (const s of this.view.sessions()) if (s.mode === 'play') n++;
    return n;
  }

  sample(): NodeLoad {
    let readers = 0;
    let bytes = this.#endedBytes;
    for (const s of this.view.sessions()) {
      bytes += s.bytesSent;
      if (s.mode === 'play') readers++;
    }
    const now = this.view.clock.monotonicMs();
    const elapsedMs = Math.max(1, now - this.#lastMs);
    const egressBitsPerSecond = Math.max(0, ((bytes - this.#lastBytes) * 8 * 1000) / elapsedMs);
    const cpu = process.cpuUsage(this.#lastCpu);
    this.#lastCpu = process.cpuUsage();
    this.#lastBytes = bytes;
    this.#lastMs = now;
    return {
      readers,
      egressBitsPerSecond: Math.round(egressBitsPerSecond),
      cpu: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 1000) / 1000,
    };
  }

  close(): void {
    this.#unsubscribe();
  }
}
