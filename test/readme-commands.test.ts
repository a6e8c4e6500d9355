// Every runnable command line of the README, verbatim, as a user in a clone runs it: `npx rtspkit ...`
// (npm ci links the bin, scripts/link-bin.mjs; here a PATH entry does the same, since this checkout's
// node_modules may be shared) and `npm start`. Shell blocks whose first line is `# example` hold
// placeholders (a clip, a camera, a folder) and are not run. A server is started and stopped (on free
// ports: the flags that follow the line's own take over); other commands run to their end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/tools.js';
import { waitFor } from './support/process.js';

/** The command lines of the README's `sh` blocks that run rtspkit, without their comments. */
function readmeCommandLines(readme: string): string[] {
  const lines: string[] = [];
  for (const block of readme.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    const body = block[1]!;
    if (/^# example/.test(body)) continue;
    for (const line of body.split('\n')) {
      const command = line.replace(/\s+#\s.*$/, '').trim();
      if (/(^|\|\s*|^[A-Z_]+=\S+\s+)npx rtspkit\b/.test(command) || /^npm start\b/.test(command))
        lines.push(command);
    }
  }
  return lines;
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `line` in a shell from the repository; a server (`serve`, `npm start`) is stopped once it listens. */
async function runLine(line: string, binDir: string): Promise<Outcome> {
  const server = / serve\b/.test(line) || line.startsWith('npm start');
  let command = line;
  if (server) {
    // Free ports on loopback, whatever the line asks for (commander takes an option's last value).
    const extra = `--host 127.0.0.1 --port 0 --rtp-port 0 --no-watch${/--api\b/.test(line) ? ' --api-port 0' : ''}`;
    command = line.startsWith('npm start') ? `${line} -- ${extra}` : `${line} ${extra}`;
  }
  const child = spawn('sh', ['-c', command], {
    cwd: repoRoot(),
    detached: true, // its own process group: npx, the shell and the server are stopped together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}` },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let exited = false;
  void done.then(() => (exited = true));
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => killGroup('SIGKILL'), 60_000);
  try {
    if (server) {
      await waitFor(() => exited || stdout.includes('"rtspkit ready"'), 50_000, `${line} to listen`);
      killGroup('SIGTERM');
    }
    return { code: await done, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

test('the README runs: each of its rtspkit command lines, verbatim', { timeout: 600_000 }, async () => {
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const lines = readmeCommandLines(readme);
  // The lines this test must at least see (a README edit that drops them should say so here).
  for (const expected of ['npm start', 'npx rtspkit serve', 'npx rtspkit serve --no-udp'])
    assert.ok(lines.includes(expected), `${expected} in ${JSON.stringify(lines)}`);
  assert.ok(lines.some((l) => l.includes('| npx rtspkit hash-password')));

  const binDir = mkdtempSync(join(tmpdir(), 'rtspkit-bin-'));
  try {
    symlinkSync(join(repoRoot(), 'scripts', 'rtspkit.mjs'), join(binDir, 'rtspkit'));
    for (const line of lines) {
      const r = await runLine(line, binDir);
      assert.doesNotMatch(r.stderr, /not found|\n\s+at /, `${line}: ${r.stderr}`);
      if (/ serve\b/.test(line) || line.startsWith('npm start')) {
        assert.match(r.stdout, /"rtspkit ready"/, `${line}: ${r.stderr}`);
      } else {
        assert.equal(r.code, 0, `${line}: ${r.stderr}`);
        if (line.includes('hash-password')) assert.match(r.stdout, /- name: "alice"/);
      }
    }
  } finally {
    rmSync(binDir, { recursive: true, force: true });
  }
});
