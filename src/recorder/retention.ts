/**
 * Which recorded segments retention deletes (pure: the manager gives it the segments, the time and the
 * free space, and does the deleting). Open segments are never chosen.
 */

export interface RetainedSegment {
  startMs: number;
  durationMs: number;
  sizeBytes: number;
  open: boolean;
}

/** Finished segments that ended more than `deleteAfterMs` before `nowMs` (none when it is 0). */
export function expiredSegments<T extends RetainedSegment>(
  segments: readonly T[],
  nowMs: number,
  deleteAfterMs: number,
): T[] {
  if (deleteAfterMs <= 0) return [];
  return segments.filter((s) => !s.open && s.startMs + s.durationMs < nowMs - deleteAfterMs);
}

/**
 * The oldest finished segments whose deletion brings free space back to `minFreeBytes`, and whether
 * that is enough (when it is not, every finished segment is chosen and the caller stops recording).
 */
export function segmentsToFreeSpace<T extends RetainedSegment>(
  segments: readonly T[],
  freeBytes: number,
  minFreeBytes: number,
): { remove: T[]; enough: boolean } {
  const remove: T[] = [];
  let free = freeBytes;
  const oldestFirst = segments.filter((s) => !s.open).sort((a, b) => a.startMs - b.startMs);
  for (const s of oldestFirst) {
    if (free >= minFreeBytes) break;
    remove.push(s);
    free += s.sizeBytes;
  }
  return { remove, enough: free >= minFreeBytes };
}
