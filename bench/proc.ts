// Child processes of the bench runners (tracked, ended by PID) and what /proc says about them.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** As in memlog.ts (not imported: importing it would start its timer here). Such lines are not kept. */
export const MEM_LOG_PREFIX = 'rtspkit-bench-mem ';

export class Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  exited = false;
  exitInfo = '';
  readonly exit: Promise<void>;
  #stderr: string[] = [];
  #stderrListeners: ((line: string) => void)[] = [];

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    /** env: added to this process's environment. */
    opts: { cwd?: string; stdin?: 'pipe' | 'ignore'; env?: Readonly<Record<string, string>> } = {},
  ) {
    // `ulimit -n` soft limit raised to the hard limit for N sockets; exec keeps the PID the real process's.
    this.child = spawn(
      'bash',
      ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'bash', cmd, ...args],
      {
        stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
        ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
        ...(opts.env !== undefined ? { env: { ...process.env, ...opts.env } } : {}),
      },
    );
    if (this.child.pid === undefined) throw new Error(`${name}: could not spawn ${cmd}`);
    this.pid = this.child.pid;
    live.add(this);
    this.exit = new Promise<void>((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = true;
        this.exitInfo = signal !== null ? `signal ${signal}` : `code ${code}`;
        live.delete(this);
        resolve();
      });
      this.child.on('error', (err) => {
        this.exited = true;
        this.exitInfo = err.message;
        live.delete(this);
        resolve();
      });
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      if (!line.startsWith(MEM_LOG_PREFIX)) {
        this.#stderr.push(line);
        if (this.#stderr.length > 40) this.#stderr.shift();
      }
      for (const l of this.#stderrListeners) l(line);
    });
  }

  onStderrLine(listener: (line: string) => void): void {
    this.#stderrListeners.push(listener);
  }

  stderrTail(lines = 8): string {
    return this.#stderr.slice(-lines).join('\n');
  }

  /** All stderr lines kept (the last 40). */
  stderrLines(): string[] {
    return [...this.#stderr];
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    signalPid(this.pid, 'SIGTERM');
    if (await within(this.exit, graceMs)) return;
    signalPid(this.pid, 'SIGKILL');
    await within(this.exit, 2000);
  }

  /** Throws when the process has ended. */
  assertAlive(): void {
    if (this.exited) throw new Error(`${this.name} exited (${this.exitInfo}): ${this.stderrTail()}`);
  }
}

/** Children not yet ended. */
export const live = new Set<Proc>();

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Scratch directories of runs in progress, removed on exit. */
export const scratchDirs = new Set<string>();

/** Removes a scratch directory made for a run (and forgets it: nothing left to remove at exit). */
export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  scratchDirs.delete(dir);
}

/** A run's end: its processes stopped, the last started first, then its scratch directory removed. */
export async function endRun(procs: readonly Proc[], dir: string): Promise<void> {
  for (const p of [...procs].reverse()) await p.stop();
  removeScratch(dir);
}

export function killAllNow(): void {
  for (const p of live) signalPid(p.pid, 'SIGKILL');
  for (const d of scratchDirs) rmSync(d, { recursive: true, force: true });
}

/** On exit, and on SIGINT/SIGTERM/SIGHUP (exit code 130), every live child is killed and scratch removed. */
export function killAllOnExit(label: string): void {
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${label}: ${sig}, ending ${live.size} child process(es)\n`);
      killAllNow();
      process.exit(130);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Waiting.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True when `p` settles within `ms`. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every 200 ms until it is true; throws after `timeoutMs`, or what `check` throws. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean> | boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------------------------------
// /proc.

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep 100, the Linux default
}

/** utime + stime of a process, in seconds (proc(5): fields 14 and 15, counted after the `(comm)` field). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clkTck;
}

/** utime and stime of a process apart, seconds (JS and GC against system calls and the kernel's work). */
export function cpuSplitSeconds(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / clkTck, sys: Number(fields[12]) / clkTck };
}

/** A number field of /proc/PID/status (VmRSS in kB), NaN when missing. */
export function procStatus(pid: number, field: 'VmRSS' | 'Threads'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m !== null ? Number(m[1]) : NaN;
}

export const rssKB = (pid: number): number => procStatus(pid, 'VmRSS');
