/**
 * What playbacks of recordings share: segment indexes (recording-segment-index.ts) and the joined sample
 * tables of a played window (recording-file.ts) for RTSP playback, and the segment indexes and plans of the
 * HTTP export (recorder/export.ts), kept in one cache bounded by bytes (`playbackIndexCacheBytes`), least
 * recently used out first, each eviction counted. One bound for both: what a client can make the server
 * hold by asking for recordings is one figure in the config, however it asks.
 *
 * Keys carry the file's version (size and modification time, or the window's segments and theirs): a file
 * that grew (the segment being recorded), was cut or replaced is indexed again under a new key, and the old
 * entry ages out. A value is made once however many ask at the same time: a hundred readers opening the
 * same recording wait for one indexing (the promise is shared until it settles). A value larger than the
 * whole bound is handed out but not kept (counted as `tooLarge`). Values are immutable; an evicted one lives
 * on while a playback still holds it (the bound is on what the cache keeps, not on what sessions hold).
 */

/**
 * What the cache holds: for RTSP playback, segment indexes and joined windows; for the HTTP export, its
 * own index of a segment (a sample list with file offsets) and the plan of an export window.
 */
export type RecordingIndexKind = 'segment' | 'window' | 'export-segment' | 'export-plan';

export const RECORDING_INDEX_KINDS: readonly RecordingIndexKind[] = [
  'segment',
  'window',
  'export-segment',
  'export-plan',
];

const perKind = (): Record<RecordingIndexKind, number> => ({
  segment: 0,
  window: 0,
  'export-segment': 0,
  'export-plan': 0,
});

export const DEFAULT_PLAYBACK_INDEX_CACHE_BYTES = 64 * 1024 * 1024;

export interface RecordingIndexCounters {
  /** Values made (a segment indexed, a window joined), by kind. */
  made: Record<RecordingIndexKind, number>;
  /** Values found in the cache (or being made for another playback), by kind. */
  hits: Record<RecordingIndexKind, number>;
  /** Values dropped to stay within the bound. */
  evictions: number;
  /** Values larger than the bound, not kept. */
  tooLarge: number;
  /** Bytes held now, by kind, and values. */
  bytes: Record<RecordingIndexKind, number>;
  entries: number;
}

interface Entry {
  kind: RecordingIndexKind;
  value: unknown;
  bytes: number;
}

export class RecordingIndexCache {
  readonly counters: RecordingIndexCounters = {
    made: perKind(),
    hits: perKind(),
    evictions: 0,
    tooLarge: 0,
    bytes: perKind(),
    entries: 0,
  };
  /** Bytes held, all kinds. */
  private held = 0;
  /** Least recently used first (Map keeps insertion order; a hit moves the key to the end). */
  private readonly entries = new Map<string, Entry>();
  private readonly making = new Map<string, Promise<unknown>>();

  /** `bound`: bytes, or where to read them (a reloadable setting: a lower bound applies at the next keep). */
  constructor(private readonly bound: number | (() => number) = DEFAULT_PLAYBACK_INDEX_CACHE_BYTES) {}

  /** The bound on bytes held. */
  get maxBytes(): number {
    return typeof this.bound === 'number' ? this.bound : this.bound();
  }

  /**
   * The value of `key`: cached, being made, or made now by `make` (which gives it with its size in
   * bytes, or undefined for nothing to keep; a rejection is passed on and nothing is kept).
   */
  async get<V>(
    kind: RecordingIndexKind,
    key: string,
    make: () => Promise<{ value: V; bytes: number } | undefined>,
  ): Promise<V | undefined> {
    const k = `${kind}\n${key}`;
    const hit = this.entries.get(k);
    if (hit !== undefined) {
      this.entries.delete(k);
      this.entries.set(k, hit);
      this.counters.hits[kind]++;
      return hit.value as V;
    }
    const pending = this.making.get(k);
    if (pending !== undefined) {
      this.counters.hits[kind]++;
      return pending as Promise<V | undefined>;
    }
    const made = (async (): Promise<V | undefined> => {
      try {
        const r = await make();
        this.counters.made[kind]++;
        if (r !== undefined) this.keep(kind, k, r.value, r.bytes);
        return r?.value;
      } finally {
        this.making.delete(k);
      }
    })();
    this.making.set(k, made);
    return made;
  }

  /** Bytes held, all kinds (at most `maxBytes` once a value is kept). */
  get bytes(): number {
    return this.held;
  }

  /** Drops everything (the cache's values live on in the playbacks holding them). */
  clear(): void {
    this.entries.clear();
    this.held = 0;
    this.counters.bytes = perKind();
    this.counters.entries = 0;
  }

  private keep(kind: RecordingIndexKind, key: string, value: unknown, bytes: number): void {
    if (bytes > this.maxBytes) {
      this.counters.tooLarge++;
      return;
    }
    this.entries.set(key, { kind, value, bytes });
    this.held += bytes;
    this.counters.bytes[kind] += bytes;
    for (const [k, e] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(k);
      this.held -= e.bytes;
      this.counters.bytes[e.kind] -= e.bytes;
      this.counters.evictions++;
    }
    this.counters.entries = this.entries.size;
  }
}
