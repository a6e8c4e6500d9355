/** How one path is recorded, in the recorder's units (config/reload.ts makes them from the config). */
export interface RecordingSettings {
  record: boolean;
  /** File template: `%path`, `%Y %m %d %H %M %S` (UTC), `%f` (microseconds); `.mp4` is appended. */
  pathTemplate: string;
  format: 'fmp4';
  /** A new segment (file) starts at the first keyframe after this much media. */
  segmentDurationMs: number;
  /** Media per part: each part is one `prft` + `moof` + `mdat`, written whole. */
  partDurationMs: number;
  /** Finished segments older than this are deleted; 0 keeps them. */
  deleteAfterMs: number;
  /** Free bytes to keep on the recordings' file system; 0: no check. */
  minFreeBytes: number;
  /** Bytes of parts waiting for the disk, per path; past it parts are dropped. */
  maxQueueBytes: number;
}

/** Defaults for tests and for callers without a config. */
export const DEFAULT_RECORDING_SETTINGS: RecordingSettings = {
  record: false,
  pathTemplate: './recordings/%path/%Y-%m-%d_%H-%M-%S-%f',
  format: 'fmp4',
  segmentDurationMs: 3600_000,
  partDurationMs: 1000,
  deleteAfterMs: 86_400_000,
  minFreeBytes: 0,
  maxQueueBytes: 16 * 1024 * 1024,
};

export function sameRecordingSettings(a: RecordingSettings, b: RecordingSettings): boolean {
  return (Object.keys(a) as (keyof RecordingSettings)[]).every((k) => a[k] === b[k]);
}
