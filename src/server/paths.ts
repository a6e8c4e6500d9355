/**
 * Live paths: a path has at most one publisher (the session that ANNOUNCEd it) and, once it
 * RECORDs, a Stream that readers attach to.
 */
import type { PublishedMedia } from '../media/published-media.js';
import type { Stream } from '../media/stream.js';

export type { PublishedMedia };

export interface LivePath {
  name: string;
  publisherSessionId: string;
  media: PublishedMedia;
  stream: Stream | undefined;
  sinceMs: number;
}

export class PathRegistry {
  private readonly paths = new Map<string, LivePath>();

  get(name: string): LivePath | undefined {
    return this.paths.get(name);
  }

  /** Claims `name` for a publisher; false when another publisher holds it. */
  claim(name: string, publisherSessionId: string, media: PublishedMedia, nowMs: number): boolean {
    const cur = this.paths.get(name);
    if (cur !== undefined && cur.publisherSessionId !== publisherSessionId) return false;
    this.paths.set(name, { name, publisherSessionId, media, stream: undefined, sinceMs: nowMs });
    return true;
  }

  release(name: string, publisherSessionId: string): LivePath | undefined {
    const cur = this.paths.get(name);
    if (cur?.publisherSessionId !== publisherSessionId) return undefined;
    this.paths.delete(name);
    return cur;
  }

  list(): LivePath[] {
    return [...this.paths.values()];
  }
}
