/**
 * One command the server runs (a hook): spawned as the leader of its own process group (`detached`,
 * setsid), so that stopping it reaches whatever it started (a shell's pipeline, ffmpeg's helpers); kept
 * running with a restart after a crash when asked, with a delay doubling from `firstRestartDelayMs` up
 * to `maxRestartDelayMs` (back to the first after a run of `stableRunMs`), on the injected clock.
 *
 * Its stdout is dropped (the server's own stdout carries its log lines) and the tail of its stderr is
 * kept for the log line of a failed exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { clockTimeout, type Clock, type ClockTimer } from '../base/clock.js';
import { isSystemError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { PidFiles } from './pid-files.js';

export interface RestartBackoff {
  firstRestartDelayMs: number;
  maxRestartDelayMs: number;
  /** A run this long resets the delay to the first. */
  stableRunMs: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoff = {
  firstRestartDelayMs: 500,
  maxRestartDelayMs: 30_000,
  stableRunMs: 10_000,
};

/** SIGTERM first; SIGKILL to the group if the leader has not exited after this long. */
export const HOOK_KILL_TIMEOUT_MS = 3000;

const STDERR_TAIL_BYTES = 2048;

export interface HookProcessDeps {
  clock: Clock;
  logger: Logger;
  pidFiles: PidFiles | undefined;
  backoff: RestartBackoff;
  /** Takes a place among the commands running at once; false: not started (the caller counts it). */
  acquire(): boolean;
  release(): void;
  /** Each spawn, each exit (for the counters). */
  spawned(): void;
  exited(code: number | null, signal: NodeJS.Signals | null): void;
}

export interface HookSpec {
  /** What it runs for, in logs: `runOnReady`, `runOnDemand`... */
  event: string;
  argv: readonly [string, ...string[]];
  /** Added to the server's environment. */
  env: Readonly<Record<string, string>>;
  restart: boolean;
}

export class HookProcess {
  private child: ChildProcess | undefined;
  private restartTimer: ClockTimer | undefined;
  private restartDelayMs: number;
  private stopping = false;
  private startedMs = 0;
  private stderrTail = '';
  private exitWaiters: (() => void)[] = [];

  constructor(
    readonly spec: HookSpec,
    private readonly deps: HookProcessDeps,
  ) {
    this.restartDelayMs = deps.backoff.firstRestartDelayMs;
  }

  /** The running leader's pid, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Whether it runs, or waits to be restarted. */
  get active(): boolean {
    return !this.stopping && (this.child !== undefined || this.restartTimer !== undefined);
  }

  /** Spawns it; false when no place was free or the program could not be started. */
  start(): boolean {
    if (this.stopping || this.child !== undefined) return false;
    if (!this.deps.acquire()) return false;
    const [file, ...args] = this.spec.argv;
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, ...this.spec.env },
      });
    } catch (err) {
      // spawn throws for arguments it refuses (a NUL byte); a missing program comes as an 'error' event.
      this.deps.release();
      if (!(err instanceof Error)) throw err;
      this.deps.logger.warn({ event: this.spec.event, program: file, err: err.message }, 'hook not started');
      return false;
    }
    this.child = child;
    this.startedMs = this.deps.clock.monotonicMs();
    this.stderrTail = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-STDERR_TAIL_BYTES);
    });
    let ended = false;
    const end = (code: number | null, signal: NodeJS.Signals | null, err?: Error): void => {
      if (ended) return;
      ended = true;
      this.exitedNow(child, code, signal, err);
    };
    child.on('error', (err) => end(null, null, err));
    child.on('exit', (code, signal) => end(code, signal));
    if (child.pid !== undefined) {
      this.deps.pidFiles?.add(child.pid);
      this.deps.spawned();
      this.deps.logger.info({ event: this.spec.event, program: file, pid: child.pid }, 'hook started');
    }
    return true;
  }

  /** Ends it (SIGTERM to its group, SIGKILL after HOOK_KILL_TIMEOUT_MS) and any restart; idempotent. */
  stop(): Promise<void> {
    this.stopping = true;
    this.restartTimer?.cancel();
    this.restartTimer = undefined;
    const child = this.child;
    if (child?.pid === undefined) return Promise.resolve();
    const pid = child.pid;
    const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    signalGroup(pid, 'SIGTERM');
    const kill = clockTimeout(this.deps.clock, () => signalGroup(pid, 'SIGKILL'), HOOK_KILL_TIMEOUT_MS, {
      unref: true,
    });
    return exited.then(() => {
      kill.cancel();
      // What the leader started and left behind goes with it.
      signalGroup(pid, 'SIGKILL');
    });
  }

  /** Resolves when the command has exited (a command run once); at once when it is not running. */
  whenExited(): Promise<void> {
    if (this.child === undefined) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  private exitedNow(
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
    err?: Error,
  ): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.deps.release();
    if (child.pid !== undefined) this.deps.pidFiles?.remove(child.pid);
    this.deps.exited(code, signal);
    const ranMs = this.deps.clock.monotonicMs() - this.startedMs;
    const failed = err !== undefined || (code !== 0 && !this.stopping);
    const fields = {
      event: this.spec.event,
      program: this.spec.argv[0],
      pid: child.pid,
      code,
      signal,
      ranMs: Math.round(ranMs),
      ...(err !== undefined ? { err: err.message } : {}),
      ...(failed && this.stderrTail !== '' ? { stderr: lastLine(this.stderrTail) } : {}),
    };
    if (failed) this.deps.logger.warn(fields, 'hook exited');
    else this.deps.logger.info(fields, 'hook exited');
    for (const w of this.exitWaiters.splice(0)) w();
    if (this.stopping || !this.spec.restart) return;
    if (ranMs >= this.deps.backoff.stableRunMs) this.restartDelayMs = this.deps.backoff.firstRestartDelayMs;
    const delayMs = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, this.deps.backoff.maxRestartDelayMs);
    this.deps.logger.info({ event: this.spec.event, delayMs }, 'hook restarting');
    this.restartTimer = clockTimeout(
      this.deps.clock,
      () => {
        this.restartTimer = undefined;
        if (!this.start() && !this.stopping)
          this.deps.logger.warn({ event: this.spec.event }, 'hook restart refused');
      },
      delayMs,
      { unref: true },
    );
  }
}

function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  return lines[lines.length - 1]!.slice(0, 300);
}

/** A signal to the process group `pgid`; one that is already gone is not an error. */
function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if (!isSystemError(err) || err.code !== 'ESRCH') throw err;
  }
}
