// Config reload on a running server: paths, users and limits change while a reader of an untouched
// path keeps receiving; a broken file is refused and the old config stays; the file watcher reloads
// without a signal; and the command line: a bad file stops `rtspkit serve`, SIGHUP reloads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type App } from '../src/app.js';
import { loadConfigFile } from '../src/config/config.js';
import { watchConfigFile } from '../src/config/watch.js';
import { RtspClient } from '../src/client/client.js';
import { RtspClientError } from '../src/client/errors.js';
import { mediaPath, repoRoot, skipUnlessMedia } from './support/tools.js';
import { waitFor } from './support/process.js';
import { spawn, type ChildProcess } from 'node:child_process';

const CLIP = 'h264_base_aac.mp4';
const skip = skipUnlessMedia(CLIP);

interface Version {
  paths: string[];
  users: string[];
  extra?: string;
}

/** A config file: the clip at each path, users whose password is their name, read rights for all. */
function configText(v: Version): string {
  const lines = [
    'logLevel: silent',
    'rtspAddress: "127.0.0.1:0"',
    'rtpPort: null',
    'rtmpAddress: null',
    'paths:',
    ...v.paths.map((p) => `  ${p}: { source: ${JSON.stringify(mediaPath(CLIP))} }`),
    'auth:',
    v.users.length === 0 ? '  users: []' : '  users:',
    ...v.users.map((u) => `    - { name: ${u}, password: "plain:${u}-pw", permissions: [{ action: read }] }`),
  ];
  if (v.extra !== undefined) lines.push(v.extra);
  return lines.join('\n') + '\n';
}

/** As editors save: a new file renamed over the old one. */
function writeAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

interface Reader {
  client: RtspClient;
  packets: () => number;
}

async function play(app: App, path: string, user: string): Promise<Reader> {
  const client = new RtspClient(`rtsp://${user}:${user}-pw@127.0.0.1:${app.server.port}/${path}`, {
    timeoutMs: 5000,
    accessUnits: false,
  });
  client.on('error', () => undefined);
  let packets = 0;
  client.on('rtp', () => {
    packets++;
  });
  try {
    await client.describe();
    await client.setup({ transport: 'tcp' });
    await client.play();
  } catch (err) {
    client.close();
    throw err;
  }
  await waitFor(() => packets > 0, 5000, `packets of ${path}`);
  return { client, packets: () => packets };
}

/** The status of a DESCRIBE (200, 401, 404...). */
async function describeStatus(app: App, path: string, user: string): Promise<number> {
  const client = new RtspClient(`rtsp://${user}:${user}-pw@127.0.0.1:${app.server.port}/${path}`, {
    timeoutMs: 5000,
  });
  client.on('error', () => undefined);
  try {
    return (await client.describe()).response.statusCode;
  } catch (err) {
    if (err instanceof RtspClientError && err.statusCode !== undefined) return err.statusCode;
    throw err;
  } finally {
    client.close();
  }
}

async function stillReceiving(reader: Reader): Promise<void> {
  const before = reader.packets();
  await waitFor(() => reader.packets() > before + 10, 5000, 'the first reader to keep receiving');
}

test(
  'reload: paths, users and limits change; a reader of an untouched path keeps playing',
  { skip, timeout: 20_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtspkit-reload-'));
    const file = join(dir, 'rtspkit.yml');
    writeFileSync(file, configText({ paths: ['a'], users: ['alice'] }));
    const app = await startApp(loadConfigFile(file), { loadConfig: () => loadConfigFile(file) });
    const readers: Reader[] = [];
    try {
      const readerA = await play(app, 'a', 'alice');
      readers.push(readerA);
      const [sessionA] = [...app.server.sessions.values()];
      assert.equal(sessionA?.timeoutS, 60);

      writeAtomically(
        file,
        configText({ paths: ['a', 'b'], users: ['bob'], extra: 'maxReadersPerPath: 1\nsessionTimeout: 30' }),
      );
      const outcome = await app.reload('test');
      assert.ok(outcome.ok, outcome.ok ? '' : outcome.error);
      assert.deepEqual(outcome.changes.fileSources, { added: ['b'], removed: [], changed: [] });
      assert.deepEqual(outcome.changes.needRestart, []);

      readers.push(await play(app, 'b', 'bob'));
      await stillReceiving(readerA);
      assert.equal(await describeStatus(app, 'a', 'alice'), 401, 'a removed user is refused');
      assert.equal(await describeStatus(app, 'a', 'bob'), 200, 'an added user gets in');
      // The new limit: `a` has its one reader already.
      await assert.rejects(
        play(app, 'a', 'bob'),
        (e: unknown) => e instanceof RtspClientError && e.statusCode === 453,
      );
      // Sessions keep the timeout their Session header gave; new ones get the new one.
      assert.equal(sessionA.timeoutS, 60);
      const sessionB = [...app.server.sessions.values()].find((s) => s.path === 'b');
      assert.equal(sessionB?.timeoutS, 30);

      writeAtomically(file, configText({ paths: ['a'], users: ['bob'] }).replace('paths:', 'paths: [\n'));
      const refused = await app.reload('test');
      assert.equal(refused.ok, false);
      assert.match(refused.error, /rtspkit\.yml:\d+:\d+: /);
      assert.ok(app.server.paths.get('b') !== undefined, 'the old config stays in force');
      assert.equal(app.config.maxReadersPerPath, 1);

      writeAtomically(file, configText({ paths: ['a', 'b'], users: ['bob'], extra: 'maxSessions: 0' }));
      const invalid = await app.reload('test');
      assert.equal(invalid.ok, false);
      assert.match(invalid.error, /rtspkit\.yml:\d+:14: maxSessions: /);

      // A file that cannot be played refuses the whole config, and what else it changed.
      writeAtomically(
        file,
        configText({ paths: ['a', 'b'], users: ['bob'], extra: 'maxReadersPerPath: 5' }).replace(
          'paths:',
          `paths:\n  c: { source: ${JSON.stringify(join(dir, 'missing.mp4'))} }`,
        ),
      );
      const unplayable = await app.reload('test');
      assert.equal(unplayable.ok, false);
      assert.equal(app.config.maxReadersPerPath, 1);
      assert.equal(app.server.paths.get('c'), undefined);

      // A path removed from the config ends its readers, and only those.
      writeAtomically(file, configText({ paths: ['a'], users: ['bob'] }));
      const removed = await app.reload('test');
      assert.ok(removed.ok);
      assert.deepEqual(removed.changes.fileSources.removed, ['b']);
      assert.equal(app.server.paths.get('b'), undefined);
      await stillReceiving(readerA);
    } finally {
      for (const r of readers) r.client.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'reload: a changed path is replaced, its old stream ended first; a name the API holds is not taken over',
  { skip: skipUnlessMedia(CLIP, 'h265_aac.mp4'), timeout: 20_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtspkit-replace-'));
    const file = join(dir, 'rtspkit.yml');
    const text = (paths: Record<string, string>): string =>
      configText({ paths: [], users: [] }).replace(
        'paths:',
        `paths:\n${Object.entries(paths)
          .map(([name, clip]) => `  ${name}: { source: ${JSON.stringify(mediaPath(clip))} }`)
          .join('\n')}`,
      );
    writeFileSync(file, text({ a: CLIP }));
    const app = await startApp(loadConfigFile(file), { loadConfig: () => loadConfigFile(file) });
    const events: string[] = [];
    app.server.view.onPathReady((p) => events.push(`ready ${p.name} ${p.media.tracks[0]!.encodingName}`));
    app.server.view.onPathNotReady((p) => events.push(`not ready ${p.name}: ${p.reason}`));
    try {
      const old = app.server.paths.get('a')!;
      assert.deepEqual(old.owner, { kind: 'file-loop', file: mediaPath(CLIP), origin: 'config' });
      const api = await app.server.paths.addFileLoop('c', { file: mediaPath(CLIP), loop: true }, 'api');
      assert.ok(api.ok);
      events.length = 0;

      writeAtomically(file, text({ a: 'h265_aac.mp4', c: CLIP }));
      const outcome = await app.reload('test');
      assert.ok(outcome.ok, outcome.ok ? '' : outcome.error);
      assert.deepEqual(outcome.changes.fileSources, { added: ['c'], removed: [], changed: ['a'] });
      const replaced = app.server.paths.get('a')!;
      assert.notEqual(replaced, old);
      assert.ok(old.stream!.ended, 'the old stream ended');
      assert.equal(replaced.media.tracks[0]!.encodingName, 'H265');
      assert.equal(app.server.paths.get('c'), api.path, 'the API path keeps its name');
      assert.deepEqual(events, ['not ready a: changed in the config', 'ready a H265']);

      writeAtomically(file, text({ c: CLIP }));
      const removed = await app.reload('test');
      assert.ok(removed.ok);
      assert.equal(app.server.paths.get('a'), undefined);
      assert.ok(replaced.stream!.ended);
      assert.equal(app.server.paths.get('c'), api.path, 'a config path removed leaves the API path');
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('reload: a saved file is picked up without a signal', { skip, timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-watch-'));
  const file = join(dir, 'rtspkit.yml');
  writeFileSync(file, configText({ paths: ['a'], users: [] }));
  const app = await startApp(loadConfigFile(file), { loadConfig: () => loadConfigFile(file) });
  const watcher = watchConfigFile(file, () => void app.reload('file changed'), { debounceMs: 100 });
  try {
    writeAtomically(file, configText({ paths: ['a', 'b'], users: [], extra: 'multicastTtl: 8' }));
    await waitFor(() => app.server.paths.get('b') !== undefined, 10_000, 'path b after the file changed');
    // Written in place this time, as `echo >>` does.
    writeFileSync(file, configText({ paths: ['b'], users: [] }));
    await waitFor(
      () => app.server.paths.get('a') === undefined,
      10_000,
      'path a gone after the file changed',
    );
    assert.equal(app.config.multicastTtl, 16, 'multicast waits for a restart');
  } finally {
    watcher.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

interface Cli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `rtspkit` as installed (the compiled CLI), ended by the test's time limit at the latest. */
function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 15_000): Cli {
  const child = spawn(process.execPath, [join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** The JSON log lines with this message. */
function logLines(text: string, msg: string): Record<string, unknown>[] {
  // The last piece is a line still being written (or empty).
  return text
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.msg === msg);
}

test(
  'rtspkit serve refuses a bad file or variable, saying where and what, and exits non-zero',
  { timeout: 20_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtspkit-bad-'));
    try {
      const bad = join(dir, 'bad.yml');
      writeFileSync(bad, 'rtspAddress: "127.0.0.1:0"\nsessionTimeout: "soon"\n');
      const badFile = cli(['serve', '--config', bad]);
      assert.equal(await badFile.exited, 2, badFile.stderr());
      assert.match(badFile.stderr(), /bad\.yml:2:17: sessionTimeout: .*expected number/);

      const good = join(dir, 'good.yml');
      writeFileSync(good, 'rtspAddress: "127.0.0.1:0"\nrtpPort: null\nrtmpAddress: null\n');
      const badVariable = cli(['serve', '--config', good], { RTSPKIT_CONFIG_SESSION_TIMEOUT: 'soon' });
      assert.equal(await badVariable.exited, 2, badVariable.stderr());
      assert.match(badVariable.stderr(), /RTSPKIT_CONFIG_SESSION_TIMEOUT: expected a number, got "soon"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

const serverText = (paths: string[]): string =>
  configText({ paths, users: [] }).replace('logLevel: silent', 'logLevel: info');

test('rtspkit serve reloads its config file on SIGHUP', { skip, timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-hup-'));
  const file = join(dir, 'x.yml');
  writeFileSync(file, serverText(['a']));
  // The harness's own RTSPKIT_ variables are not options. No watcher: only the signal reloads.
  const server = cli(['serve', '--config', file, '--no-watch'], {
    RTSPKIT_REQUIRE_TOOLS: '1',
    RTSPKIT_MEDIA_DIR: dir,
  });
  try {
    await waitFor(
      () => logLines(server.stdout(), 'file source started').length === 1,
      10_000,
      'the server to start',
    );
    writeFileSync(file, serverText(['a', 'b']));
    server.child.kill('SIGHUP');
    await waitFor(
      () => logLines(server.stdout(), 'config reloaded').some((l) => l.trigger === 'SIGHUP'),
      10_000,
      'the reload log line',
    );
    const reloads = logLines(server.stdout(), 'config reloaded');
    assert.equal(reloads.length, 1);
    assert.deepEqual(reloads[0]!.pathsAdded, ['b']);
    assert.equal(server.child.exitCode, null, 'SIGHUP did not stop the server');
    writeFileSync(file, 'paths: [\n');
    server.child.kill('SIGHUP');
    await waitFor(
      () => logLines(server.stdout(), 'config reload refused; the previous config stays in force').length > 0,
      10_000,
      'the refusal log line',
    );
    const refusal = logLines(
      server.stdout(),
      'config reload refused; the previous config stays in force',
    )[0]!;
    assert.match(String(refusal.err), /x\.yml:\d+:\d+: /);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.stderr());
  } finally {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rtspkit serve reloads its config file when it is saved', { skip, timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-save-'));
  const file = join(dir, 'x.yml');
  writeFileSync(file, serverText(['a']));
  const server = cli(['serve', '--config', file]);
  try {
    // The watcher is set up with the "ready" line (a save before it would not be seen).
    await waitFor(
      () => logLines(server.stdout(), 'rtspkit ready').length === 1,
      10_000,
      'the server to start',
    );
    writeAtomically(file, serverText(['b']));
    await waitFor(
      () => logLines(server.stdout(), 'config reloaded').length > 0,
      10_000,
      'the reload log line',
    );
    const [reload] = logLines(server.stdout(), 'config reloaded');
    assert.equal(reload!.trigger, 'file changed');
    assert.deepEqual([reload!.pathsAdded, reload!.pathsRemoved], [['b'], ['a']]);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.stderr());
  } finally {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
