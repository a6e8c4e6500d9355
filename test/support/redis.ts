/**
 * A redis-server for cluster tests, on a free loopback port, without persistence; ended by its PID.
 * `restart()` kills it (SIGKILL: nothing is saved) and starts a fresh one on the same port.
 */
import { createServer } from 'node:net';
import { run, type Run } from './process.js';
import { hasTool, requireTools } from './tools.js';

export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Kills it (all data lost) and, unless `downMs` says to wait, starts it again on the same port. */
  restart(downMs?: number): Promise<void>;
}

export function skipUnlessRedis(): string | false {
  if (hasTool('redis-server', '--version')) return false;
  const reason = 'needs redis-server (Debian package redis-server)';
  if (requireTools) throw new Error(`RTSPKIT_REQUIRE_TOOLS=1 but ${reason}`);
  return reason;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function launch(port: number): Promise<Run> {
  const r = run(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
    ],
    { timeoutMs: 30 * 60_000 },
  );
  const start = Date.now();
  while (!r.output().stdout.includes('Ready to accept connections')) {
    if (r.child.exitCode !== null || Date.now() - start > 10_000)
      throw new Error(`redis-server did not start: ${r.output().stdout.slice(-500)}`);
    await new Promise((res) => setTimeout(res, 20));
  }
  return r;
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let proc = await launch(port);
  const stopIt = async (): Promise<void> => {
    proc.kill('SIGKILL');
    await proc.done;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: stopIt,
    restart: async (downMs = 0) => {
      await stopIt();
      if (downMs > 0) await new Promise((res) => setTimeout(res, downMs));
      proc = await launch(port);
    },
  };
}
