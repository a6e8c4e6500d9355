/**
 * A pid file per running command, so that the next start of a server killed with SIGKILL (no chance to
 * end its children) ends what it left running. A pid alone is not enough: the kernel reuses pids, and a
 * server down for a while could kill a stranger. Each file records the pid (also the process group id:
 * commands are group leaders), the process's start time in clock ticks since boot (/proc/PID/stat, field
 * 22) and its command line (/proc/PID/cmdline); a leftover is ended only when all three still match.
 * Without /proc (not Linux) nothing can be checked and nothing is killed: the file is removed, with a
 * log line. The folder holds nothing else; files that are not ours are left alone.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSystemError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';

interface PidRecord {
  pid: number;
  /** /proc/PID/stat field 22: start time after boot, in clock ticks. */
  startTicks: string;
  /** /proc/PID/cmdline: the arguments, NUL-separated. */
  cmdline: string;
}

const PID_FILE = /^hook-(\d+)\.json$/;

/** What /proc says of a live process, or undefined when it is gone (or there is no /proc). */
function processIdentity(pid: number): { startTicks: string; cmdline: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so split after the last `)`.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = fields[19];
    if (startTicks === undefined) return undefined;
    return { startTicks, cmdline: readFileSync(`/proc/${pid}/cmdline`, 'latin1') };
  } catch (err) {
    if (isSystemError(err)) return undefined;
    throw err;
  }
}

export class PidFiles {
  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  /** Notes a command just spawned (its group's leader); false when it could not be written (logged). */
  add(pid: number): boolean {
    const identity = processIdentity(pid);
    if (identity === undefined) return false;
    const record: PidRecord = { pid, ...identity };
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileSync(join(this.dir, `hook-${pid}.json`), JSON.stringify(record), { mode: 0o600 });
      return true;
    } catch (err) {
      if (!isSystemError(err)) throw err;
      this.logger.warn({ dir: this.dir, err: err.message }, 'hooks: cannot write a pid file');
      return false;
    }
  }

  remove(pid: number): void {
    rmSync(join(this.dir, `hook-${pid}.json`), { force: true });
  }

  /**
   * Ends the process groups a previous run left (SIGKILL: the server that would have ended them
   * gently is gone) and removes their files. Returns how many groups were ended.
   */
  endLeftovers(): number {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if (isSystemError(err) && err.code === 'ENOENT') return 0;
      throw err;
    }
    let ended = 0;
    for (const name of names) {
      if (!PID_FILE.test(name)) continue;
      const file = join(this.dir, name);
      let record: PidRecord;
      try {
        record = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
      } catch (err) {
        if (!(err instanceof SyntaxError) && !isSystemError(err)) throw err;
        rmSync(file, { force: true });
        continue;
      }
      const now = processIdentity(record.pid);
      if (now !== undefined && now.startTicks === record.startTicks && now.cmdline === record.cmdline) {
        try {
          process.kill(-record.pid, 'SIGKILL');
          ended++;
          this.logger.warn(
            { pid: record.pid, command: record.cmdline.split('\0')[0] },
            'hooks: ended a command a previous run left running',
          );
        } catch (err) {
          if (!isSystemError(err)) throw err; // ESRCH: it ended meanwhile
        }
      } else if (now !== undefined) {
        this.logger.info(
          { pid: record.pid },
          'hooks: a leftover pid file names another process now; not killed',
        );
      }
      rmSync(file, { force: true });
    }
    return ended;
  }
}
