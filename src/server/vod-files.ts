/**
 * Files served on demand from a media folder: `rtsp://host/<relative path>`. Nothing outside the
 * folder is reachable: `.`/`..` segments (also percent-encoded: targets are decoded before they get
 * here), absolute paths, NUL and backslashes are refused, and the real path (symlinks resolved) must
 * lie inside the folder's real path. Open files are shared by their sessions and closed when unused.
 */
import { isSystemError } from '../base/errors.js';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { clockTimeout, type Clock, type ClockTimer } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { VodFile } from '../sources/vod-player.js';

const EXTENSIONS = new Set(['.mp4', '.m4v', '.mov']);
const CLOSE_DELAY_MS = 30_000;

/**
 * A path with a served file extension (`.mp4`, `.m4v`, `.mov`): with a media folder such paths are
 * the folder's, and a live publish may not take one (it would hide the file of that name from its
 * readers, who would get the publisher's SDP), whether the file exists now or is added later.
 */
export function isOnDemandPathName(path: string): boolean {
  return EXTENSIONS.has(extname(path).toLowerCase());
}

interface OpenFile {
  file: Promise<VodFile>;
  users: number;
  closeTimer: ClockTimer | undefined;
}

export class VodFiles {
  private readonly open = new Map<string, OpenFile>();
  private rootReal: string | undefined;

  constructor(
    private readonly root: string,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** The real path of the file `path` names inside the folder, or undefined (→ 404). */
  async resolve(path: string): Promise<string | undefined> {
    if (path === '' || path.includes('\0') || path.includes('\\')) return undefined;
    const segments = path.split('/');
    if (segments.some((s) => s === '' || s === '.' || s === '..')) return undefined;
    if (!EXTENSIONS.has(extname(path).toLowerCase())) return undefined;
    try {
      this.rootReal ??= await realpath(this.root);
      const real = await realpath(join(this.rootReal, ...segments));
      if (!real.startsWith(this.rootReal + sep)) return undefined;
      if (!(await stat(real)).isFile()) return undefined;
      return real;
    } catch (e) {
      // Missing, not a folder, no permission, a symlink loop: no such file here (404).
      if (!isSystemError(e)) throw e;
      return undefined;
    }
  }

  /** Opens (or shares) the file; call release() once per acquire. Rejects for unusable files. */
  acquire(realPath: string): Promise<VodFile> {
    let entry = this.open.get(realPath);
    if (entry === undefined) {
      const file = VodFile.open(realPath, { logger: this.logger });
      entry = { file, users: 0, closeTimer: undefined };
      this.open.set(realPath, entry);
      file.catch(() => this.open.delete(realPath));
    }
    entry.users++;
    entry.closeTimer?.cancel();
    entry.closeTimer = undefined;
    return entry.file;
  }

  /** Releases a file; it is closed once unused for a while (a DESCRIBE is often followed by SETUP). */
  release(realPath: string): void {
    const entry = this.open.get(realPath);
    if (entry === undefined) return;
    entry.users = Math.max(0, entry.users - 1);
    if (entry.users > 0) return;
    entry.closeTimer = clockTimeout(
      this.clock,
      () => {
        if (entry.users > 0) return;
        this.open.delete(realPath);
        void entry.file.then((f) => f.close()).catch(() => undefined);
      },
      CLOSE_DELAY_MS,
      { unref: true },
    );
  }

  async closeAll(): Promise<void> {
    const entries = [...this.open.values()];
    this.open.clear();
    for (const e of entries) e.closeTimer?.cancel();
    await Promise.all(entries.map((e) => e.file.then((f) => f.close()).catch(() => undefined)));
  }
}
