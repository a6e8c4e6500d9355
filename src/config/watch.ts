/**
 * Calls back when a config file's content changes. The folder is watched rather than the file:
 * editors and deployment tools save by writing a new file and renaming it over the old one, after
 * which a watch on the file itself would follow the old inode and hear nothing more; Kubernetes
 * mounts a ConfigMap as a symlink through `..data`, and an update renames that link, an event for
 * another name in the folder. So any event in the folder counts, and the file is read again to see
 * whether its content changed: a touched file or a busy folder costs a read, never a reload.
 * Events come in bursts (a write may be several `change` events, a save a `rename` and a `change`),
 * so the check waits until the folder has been quiet for `debounceMs`.
 */
import { isSystemError } from '../base/errors.js';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface ConfigWatcher {
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before the file is read again. Default 300 ms. */
  debounceMs?: number;
  /** The watch itself failed (folder removed, no inotify slots left); the file is no longer watched. */
  onError?: (err: Error) => void;
}

/** The file's text; undefined while it cannot be read (being replaced, deleted). */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (!isSystemError(e)) throw e;
    return undefined;
  }
}

/** Throws when the folder cannot be watched (missing, no inotify slots left). */
export function watchConfigFile(
  path: string,
  onChange: () => void,
  options: WatchOptions = {},
): ConfigWatcher {
  const debounceMs = options.debounceMs ?? 300;
  const full = resolve(path);
  let lastText = readText(full);
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    timer = undefined;
    const text = readText(full);
    if (text === lastText) return;
    lastText = text;
    // A deleted file is a change too: the reload reports it and keeps the config in force.
    onChange();
  };
  const watcher: FSWatcher = watch(dirname(full), { persistent: false }, () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
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
