import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { boundPort, listenOn } from './listen.js';

/** The backlog of a listening TCP socket as the kernel reports it (ss: Send-Q of a LISTEN socket). */
function kernelBacklog(port: number): number | undefined {
  let out: string;
  try {
    out = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
  const fields = out.trim().split(/\s+/);
  return fields.length >= 3 ? Number(fields[2]) : undefined;
}

test('listenOn passes the backlog to listen(2) (Linux clamps it to net.core.somaxconn)', async (t) => {
  const server = net.createServer();
  await listenOn(server, 0, '127.0.0.1', 77);
  try {
    const backlog = kernelBacklog(boundPort(server)!);
    if (backlog === undefined) return t.skip('no ss(8) here');
    assert.equal(backlog, 77);
  } finally {
    server.close();
  }
});
