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
 * Nothing is added when the flag is already given (node's command line or NODE_OPTIONS), or when
 * RTSPKIT_NODE_FLAGS=none.
 */
import { spawn } from 'node:child_process';

export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/** Set in the child's environment: the flags are applied (no second re-execution). */
const APPLIED_ENV = 'RTSPKIT_NODE_FLAGS_APPLIED';

/** The flags to add before running `args` (the command line after the script), or none. */
export function nodeFlagsToAdd(
  args: readonly string[],
  execArgv: readonly string[],
  env: NodeJS.ProcessEnv,
): string[] {
  if (args[0] !== 'serve' || env[APPLIED_ENV] === '1' || env.RTSPKIT_NODE_FLAGS === 'none') return [];
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  return SERVE_NODE_FLAGS.filter((flag) => {
    const name = flag.split('=')[0]!;
    return !given.some((g) => g === name || g.startsWith(`${name}=`));
  });
}

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2'];

/** Runs this command again with `flags`; returns only when that is not possible (never, today). */
export function runWithNodeFlags(flags: readonly string[]): void {
  const argv = [...process.execArgv, ...flags, ...process.argv.slice(1)];
  const env = { ...process.env, [APPLIED_ENV]: '1' };
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
