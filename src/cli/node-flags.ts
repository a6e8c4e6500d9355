/**
 * The Node flags `rtspkit serve` runs with, applied without the user having to know them.
 *
 * `--max-semi-space-size=2`: V8 grows a busy process's young generation to two 16 MB semi-spaces and keeps
 * them. A fan-out server's garbage dies young, so that is 30-40 MB of RSS for nothing, which showed up as
 * memory "per reader" (README, Performance: at 1000 readers 55 KB per reader with Node's defaults, 24 KB
 * with 2 MB, at the same CPU; 1 MB costs CPU). V8 takes the flag only at start (on the command line or in
 * NODE_OPTIONS), not from a running program, so the command starts Node again with it:
 *
 * - Node with `process.execve` (22.15+, 23.11+) replaces the process: same PID, nothing left behind.
 * - Node 20 has no exec: the command runs the server as a child with the flags and stays as a small
 *   parent (a bare Node, no modules of ours loaded) that forwards SIGINT, SIGTERM, SIGHUP, SIGUSR2 and
 *   exits as the child does. The child leaves at once (SIGKILL, as the parent did) when the parent is
 *   killed without a chance to forward (its IPC channel closes), so `kill -9 PID` still stops the server.
 *
 * `MALLOC_ARENA_MAX=2` (SERVE_NODE_ENV; glibc reads it when the process starts, so it goes through the same
 * start): glibc's malloc gives threads their own arenas, up to 8 per core, and memory freed in one is not
 * reused by another. Node's threads (V8's GC and compiler helpers, libuv's pool) each grew one and kept
 * what they had freed: at 1000 TCP readers the native part of the growth (RSS - heap - external) had a
 * median of 8.5-11.2 KB per reader with 2 arenas against 14.0 with glibc's default, the threads' arenas
 * 0.3-2 MB less (bench/RESULTS.md, issue 21 round 4; a loaded machine, ranges overlapping). 1 arena did
 * no better and would put V8's GC threads on the main thread's lock. Other C libraries (musl) ignore it.
 *
 * Nothing is added that is already given: a flag on node's command line or in NODE_OPTIONS, a variable
 * in the environment (the user's own value stays). RTSPKIT_NODE_FLAGS=none adds nothing.
 */
import { spawn } from 'node:child_process';

export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/** The environment `rtspkit serve` runs with (see above), unless the user's environment sets them. */
export const SERVE_NODE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** What starting `serve` again adds: Node flags, environment variables. */
export interface NodeStartAdditions {
  flags: string[];
  env: Record<string, string>;
}

/** Set in the child's environment: the flags are applied (no second re-execution). */
const APPLIED_ENV = 'RTSPKIT_NODE_FLAGS_APPLIED';

/**
 * The flags and environment to add before running `args` (the command line after the script); undefined
 * when there is nothing to add (then the command runs as it is).
 */
export function nodeStartAdditions(
  args: readonly string[],
  execArgv: readonly string[],
  env: NodeJS.ProcessEnv,
): NodeStartAdditions | undefined {
  if (args[0] !== 'serve' || env[APPLIED_ENV] === '1' || env.RTSPKIT_NODE_FLAGS === 'none') return undefined;
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  const flags = SERVE_NODE_FLAGS.filter((flag) => {
    const name = flag.split('=')[0]!;
    return !given.some((g) => g === name || g.startsWith(`${name}=`));
  });
  const added = Object.entries(SERVE_NODE_ENV).filter(([name]) => env[name] === undefined);
  if (flags.length === 0 && added.length === 0) return undefined;
  return { flags, env: Object.fromEntries(added) };
}

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2'];

/** Runs this command again with `additions`; returns only when that is not possible (never, today). */
export function runWithNodeFlags(additions: NodeStartAdditions): void {
  const argv = [...process.execArgv, ...additions.flags, ...process.argv.slice(1)];
  const env = { ...process.env, ...additions.env, [APPLIED_ENV]: '1' };
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never })
    .execve;
  if (typeof execve === 'function') execve(process.execPath, [process.execPath, ...argv], env);
  const child = spawn(process.execPath, argv, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env });
  for (const signal of FORWARDED_SIGNALS) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    process.stderr.write(`rtspkit: could not start the server: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal === null) process.exit(code ?? 1);
    // Die of the same signal, so that a caller sees what the server saw.
    for (const s of FORWARDED_SIGNALS) process.removeAllListeners(s);
    process.kill(process.pid, signal);
  });
}

/**
 * In the child of runWithNodeFlags: stop as the parent did when it is gone without forwarding a signal
 * (kill -9), and let the IPC channel keep nothing alive.
 */
export function followParent(): void {
  if (process.env[APPLIED_ENV] !== '1' || process.channel === undefined) return;
  process.channel.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}
