/**
 * The `/metrics` series of the recordings' playback index cache (sources/recording-index-cache.ts): values
 * made and found by kind (a segment indexed, a window joined), evictions to stay within
 * `playbackIndexCacheBytes`, values too large to keep, and the bytes held. Absent when no recordings are
 * served.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { RECORDING_INDEX_KINDS, type RecordingIndexCounters } from '../sources/recording-index-cache.js';

export class PlaybackIndexMetrics {
  readonly #made: Counter<'kind'>;
  readonly #hits: Counter<'kind'>;
  readonly #evictions: Counter;
  readonly #tooLarge: Counter;
  readonly #bytes: Gauge<'kind'>;

  constructor(registers: Registry[]) {
    this.#made = new Counter({
      name: 'rtspkit_playback_index_made_total',
      help: 'Recording indexes made, by kind: segment (a file indexed), window (segments joined) for RTSP playback; export-segment, export-plan for the HTTP export.',
      labelNames: ['kind'],
      registers,
    });
    this.#hits = new Counter({
      name: 'rtspkit_playback_index_hits_total',
      help: 'Recording indexes a playback found made (or being made) for another, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.#evictions = new Counter({
      name: 'rtspkit_playback_index_evictions_total',
      help: 'Recording indexes dropped from the cache to stay within playbackIndexCacheBytes.',
      registers,
    });
    this.#tooLarge = new Counter({
      name: 'rtspkit_playback_index_too_large_total',
      help: 'Recording indexes larger than playbackIndexCacheBytes: used once, not kept.',
      registers,
    });
    this.#bytes = new Gauge({
      name: 'rtspkit_playback_index_bytes',
      help: 'Bytes of recording indexes the playback cache holds, by kind.',
      labelNames: ['kind'],
      registers,
    });
  }

  refresh(c: RecordingIndexCounters): void {
    this.#made.reset();
    this.#hits.reset();
    for (const kind of RECORDING_INDEX_KINDS) {
      this.#made.inc({ kind }, c.made[kind]);
      this.#hits.inc({ kind }, c.hits[kind]);
      this.#bytes.set({ kind }, c.bytes[kind]);
    }
    this.#evictions.reset();
    this.#evictions.inc(c.evictions);
    this.#tooLarge.reset();
    this.#tooLarge.inc(c.tooLarge);
  }
}
