// `rtspkit serve` as a user runs it: port 8554 by default, `rtspAddress` from ./rtspkit.yml in the
// working directory without any flag, and `--port` over the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/tools.js';
import { run, waitFor, type Run } from './support/process.js';

const CLI = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');

/** A TCP port free a moment ago (the server binds it right after). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Starts `rtspkit serve` in `cwd` and waits for it to listen (or to exit). */
async function serve(cwd: string, args: string[]): Promise<Run> {
  const server = run(process.execPath, [CLI, 'serve', '--no-udp', ...args], { timeoutMs: 20_000, cwd });
  let exited = false;
  void server.done.then(() => (exited = true));
  await waitFor(
    () => exited || server.output().stdout.includes('"rtsp server listening"'),
    15_000,
    'the server to listen',
  );
  return server;
}

function listeningPort(server: Run): number | undefined {
  const line = server
    .output()
    .stdout.split('\n')
    .find((l) => l.includes('"rtsp server listening"'));
  return line !== undefined ? (JSON.parse(line) as { port: number }).port : undefined;
}

async function stop(server: Run): Promise<void> {
  server.kill('SIGTERM');
  const r = await server.done;
  assert.equal(r.code, 0, r.stderr);
}

test('rtspkit serve: 8554 by default, rtspAddress from ./rtspkit.yml, --port over both', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-serve-'));
  try {
    // No config file: 8554 (or, when something else holds it, an error that names it).
    const plain = await serve(dir, []);
    const port = listeningPort(plain);
    if (port !== undefined) {
      assert.equal(port, 8554);
      await stop(plain);
    } else {
      const r = await plain.done;
      assert.match(r.stderr, /EADDRINUSE.*8554.*is another server running/s);
    }

    const filePort = await freePort();
    writeFileSync(join(dir, 'rtspkit.yml'), `rtspAddress: "127.0.0.1:${filePort}"\n`);
    const fromFile = await serve(dir, []);
    assert.equal(listeningPort(fromFile), filePort, fromFile.output().stderr);
    await stop(fromFile);

    const flagPort = await freePort();
    const fromFlag = await serve(dir, ['--port', String(flagPort)]);
    assert.equal(listeningPort(fromFlag), flagPort, fromFlag.output().stderr);
    await stop(fromFlag);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
