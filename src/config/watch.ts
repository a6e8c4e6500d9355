/**
 * Calls back when a config file changes. The folder is watched rather than the file: editors and
 * deployment tools save by writing a new file and renaming it over the old one, after which a watch
 * on the file itself would follow the old inode and hear nothing more. Events come in bursts (a write
 * may be several `change` events, a save a `rename` and a `change`), so they are debounced: one call
 * once the file has been quiet for `debounceMs`.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export interface ConfigWatcher {
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before calling back. Default 300 ms. */
  debounceMs?: number;
  /** The watch itself failed (folder removed, too many watches); the file is no longer watched. */
  onError?: (err: Error) => void;
}

/** Throws when the folder cannot be watched (missing, no inotify slots left). */
export function watchConfigFile(
  path: string,
  onChange: () => void,
  options: WatchOptions = {},
): ConfigWatcher {
  const debounceMs = options.debounceMs ?? 300;
  const full = resolve(path);
  const name = basename(full);
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dirname(full), { persistent: false }, (_event, filename) => {
    // Some platforms give no file name: any event in the folder may be ours.
    if (filename !== null && filename !== name) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  });
  watcher.on('error', (err) => {
    if (timer !== undefined) clearTimeout(timer);
    watcher.close();
    options.onError?.(err);
  });
  return {
    close: () => {
      if (timer !== undefined) clearTimeout(timer);
      watcher.close();
    },
  };
}
