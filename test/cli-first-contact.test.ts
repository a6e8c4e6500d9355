// What a newcomer meets first, through the built command line: one-line messages with the documented exit
// code (2: usage or config) and no stack trace, --version, the start-up banner and readable or JSON logs,
// a refused request's log line, play's summary, probe's MP3 sample rate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, skipUnless } from './support/tools.js';
import { run, waitFor, type Run } from './support/process.js';

const CLI = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const VERSION = (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string })
  .version;

function cli(args: string[], cwd?: string): Run {
  return run(process.execPath, [CLI, ...args], { timeoutMs: 20_000, ...(cwd !== undefined ? { cwd } : {}) });
}

/** Exit code 2, one `rtspkit: ...` line on stderr matching `message`, no stack trace, never listened. */
async function assertUsageError(r: Run, message: RegExp): Promise<void> {
  const { code, stdout, stderr } = await r.done;
  assert.equal(code, 2, stderr);
  assert.match(stderr, /^rtspkit: [^\n]+\n$/, 'one line');
  assert.match(stderr, message);
  assert.doesNotMatch(stderr, /\n\s+at /);
  assert.doesNotMatch(stdout, /listening/);
}

test('--version prints the package version', async () => {
  const r = await cli(['--version']).done;
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `${VERSION}\n`);
});

test('serve: a bad flag or config is one line and exit 2, before anything listens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-first-'));
  try {
    await assertUsageError(
      cli(['serve', '--log-level', 'verbose']),
      /--log-level.*'verbose' is invalid.*debug, info, warn, error, silent/,
    );
    await assertUsageError(cli(['serve', '--rtp-port', '20021']), /--rtp-port.*even port/);
    const config = (name: string, text: string): string => {
      writeFileSync(join(dir, name), `rtspAddress: "127.0.0.1:0"\n${text}`);
      return join(dir, name);
    };
    await assertUsageError(
      cli(['serve', '-c', config('odd.yml', 'rtpPort: 20021\n')]),
      /odd\.yml:2:10: rtpPort: must be even/,
    );
    await assertUsageError(
      cli(['serve', '-c', config('missing.yml', 'rtpPort: 0\npaths:\n  cam1: { source: ./no-such.mp4 }\n')]),
      /paths\.cam1\.source: cannot play \.\/no-such\.mp4: no such file/,
    );
    await assertUsageError(
      cli(['serve', '-c', config('pull.yml', 'paths:\n  cam1: { source: "http://10.0.0.5/live" }\n')]),
      /pull\.yml:3:19: paths\.cam1\.source: only rtsp:\/\/, rtsps:\/\/ and rtsp\+http:\/\/ URLs can be pulled/,
    );
    await assertUsageError(
      cli(['serve', '-c', config('typo.yml', 'logLevel: info\nsessionTimout: 30\n')]),
      /typo\.yml:3:1: sessionTimout: unknown key \(did you mean sessionTimeout\?\)/,
    );
    await assertUsageError(
      cli(['serve', '-c', config('path-key.yml', 'paths:\n  cam1:\n    runOnReadyCmd: ffmpeg\n')]),
      /path-key\.yml:4:5: paths\.cam1\.runOnReadyCmd: unknown key/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('play: no -o, a bad --duration, an output it cannot write; publish: no such file: exit 2, one line', async () => {
  const url = 'rtsp://127.0.0.1:9/never-contacted';
  await assertUsageError(cli(['play', url]), /required option '-o, --output <file>' not specified/);
  await assertUsageError(cli(['play', url, '-o', 'x.mp4', '-d', 'abc']), /--duration.*'abc' is invalid/);
  await assertUsageError(
    cli(['play', url, '-o', '/no-such-folder/x.mp4']),
    /cannot write \/no-such-folder\/x\.mp4: the folder \/no-such-folder does not exist/,
  );
  await assertUsageError(
    cli(['publish', '/no-such-folder/clip.mp4', url]),
    /cannot open \/no-such-folder\/clip\.mp4: no such file$/m,
  );
});

test('hash-password reads a piped password and prints the users entry', async () => {
  const r = run(process.execPath, [CLI, 'hash-password', 'alice'], { timeoutMs: 20_000, stdin: 'pipe' });
  r.child.stdin!.end('secret\n');
  const { code, stdout, stderr } = await r.done;
  assert.equal(code, 0, stderr);
  assert.match(stdout, /- name: "alice"\n {2}password: "digest:[0-9a-f]{32}:[0-9a-f]{64}"/);
  assert.equal(stderr, '', 'no prompt when the password is piped');
});

async function describeStatus(port: number, path: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8').on('data', (d: string) => (text += d));
  socket.write(`DESCRIBE rtsp://127.0.0.1:${port}/${path} RTSP/1.0\r\nCSeq: 1\r\n\r\n`);
  await waitFor(() => text.includes('\r\n\r\n'), 10_000, 'the DESCRIBE reply');
  socket.destroy();
  return text.split('\r\n')[0]!;
}

test('serve: banner and text lines with --log-format text; JSON lines by default off a terminal', async () => {
  // Text: the banner lists the version, the config, every URL (RTSPS too: a self-signed certificate
  // made without openssl) and the demo.
  const textServer = cli(
    ['serve', '--host', '127.0.0.1', '--port', '0', '--no-udp', '--demo'].concat([
      '--tls-self-signed',
      '--rtsps-port',
      '0',
      '--log-format',
      'text',
    ]),
  );
  try {
    await waitFor(() => textServer.output().stdout.includes('Ctrl-C stops'), 15_000, 'the banner');
    const out = textServer.output().stdout;
    assert.match(out, new RegExp(`^rtspkit ${VERSION.replace(/\./g, '\\.')} \\(Node\\.js `, 'm'));
    assert.match(out, /^ {2}config +\(none/m);
    const port = /^ {2}RTSP \(also HTTP tunnel and WebSocket\) +rtsp:\/\/127\.0\.0\.1:(\d+)\/$/m.exec(
      out,
    )?.[1];
    assert.ok(port !== undefined, out);
    assert.match(out, /^ {2}RTSPS +rtsps:\/\/127\.0\.0\.1:\d+\/$/m);
    assert.match(out, new RegExp(`^ {2}demo +rtsp://127\\.0\\.0\\.1:${port}/demo$`, 'm'));
    assert.match(out, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}rtsp server listening port=\d+/m);
    assert.doesNotMatch(out, /\{"level"/);
  } finally {
    textServer.kill('SIGTERM');
    assert.equal((await textServer.done).code, 0);
  }

  // JSON (stdout is a pipe here): the same events as pino's lines, a "rtspkit ready" event with the URLs,
  // and a refused request says which path and why.
  const server = cli(['serve', '--host', '127.0.0.1', '--port', '0', '--no-udp', '--demo']);
  try {
    await waitFor(() => server.output().stdout.includes('"rtspkit ready"'), 15_000, 'the server');
    const lines = server
      .output()
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const ready = lines.find((l) => l.msg === 'rtspkit ready')!;
    assert.equal(ready.version, VERSION);
    const urls = ready.urls as { what: string; url: string }[];
    const demo = urls.find((u) => u.what === 'demo')!.url;
    const port = Number(/:(\d+)\/demo$/.exec(demo)![1]);
    assert.equal(await describeStatus(port, 'missing'), 'RTSP/1.0 404 Not Found');
    await waitFor(() => server.output().stdout.includes('"request refused"'), 5_000, 'the log line');
    const refused = server
      .output()
      .stdout.split('\n')
      .find((l) => l.includes('"request refused"'))!;
    assert.deepEqual(
      { ...(JSON.parse(refused) as Record<string, unknown>), time: 0, conn: 0 },
      {
        level: 30,
        time: 0,
        app: 'rtspkit',
        conn: 0,
        method: 'DESCRIBE',
        path: '/missing',
        status: 404,
        reason: 'Not Found',
        msg: 'request refused',
      },
    );

    // play ends with a summary line.
    const dir = mkdtempSync(join(tmpdir(), 'rtspkit-play-'));
    try {
      const r = await cli(['play', demo, '-t', 'tcp', '-o', join(dir, 'demo.mp4'), '-d', '1']).done;
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /demo\.mp4: 00:0\d recorded \(--duration reached\), [\d.]+ MB, \d+ access units of h264 \+ aac, \d+ packets lost\n$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    server.kill('SIGTERM');
    assert.equal((await server.done).code, 0);
  }
});

test(
  'probe: an MP3 stream shows its sample rate, not the 90 kHz RTP clock',
  { skip: skipUnless('ffmpeg') },
  async () => {
    const server = cli(['serve', '--host', '127.0.0.1', '--port', '0', '--no-udp']);
    let ffmpeg: Run | undefined;
    try {
      await waitFor(() => server.output().stdout.includes('"rtspkit ready"'), 15_000, 'the server');
      const port = Number(/"port":(\d+),"msg":"rtsp server listening"/.exec(server.output().stdout)![1]);
      const url = `rtsp://127.0.0.1:${port}/mp3`;
      ffmpeg = run(
        'ffmpeg',
        [
          '-v',
          'error',
          '-re',
          '-f',
          'lavfi',
          '-i',
          'sine=frequency=440:sample_rate=44100:duration=20',
        ].concat(['-c:a', 'libmp3lame', '-f', 'rtsp', '-rtsp_transport', 'tcp', url]),
        { timeoutMs: 30_000 },
      );
      await waitFor(() => server.output().stdout.includes('"publish started"'), 15_000, 'the publisher');
      const r = await cli(['probe', url]).done;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Track 0: audio mp3 44100 Hz 1 ch$/m);
      assert.doesNotMatch(r.stdout, /90000/);
    } finally {
      ffmpeg?.kill('SIGKILL');
      server.kill('SIGTERM');
      await server.done;
    }
  },
);

test(
  'hash-password on a terminal does not echo the password',
  {
    skip:
      spawnSync('script', ['--version']).status === 0 ? false : 'needs script (util-linux) for a terminal',
  },
  async () => {
    // script(1) gives the command a pseudo-terminal and copies what it shows to stdout.
    const r = run('script', ['-qfec', `${process.execPath} ${CLI} hash-password alice`, '/dev/null'], {
      timeoutMs: 20_000,
      stdin: 'pipe',
    });
    // Typed once the prompt is shown (before it, the terminal itself would still echo).
    await waitFor(() => r.output().stdout.includes('password (not shown): '), 15_000, 'the prompt');
    r.child.stdin!.write('hunter2\r');
    await waitFor(() => r.output().stdout.includes('- name: "alice"'), 15_000, 'the users entry');
    r.child.stdin!.end();
    const { stdout } = await r.done;
    assert.doesNotMatch(stdout, /hunter2/);
    assert.match(stdout, /password: "digest:[0-9a-f]{32}:[0-9a-f]{64}"/);
  },
);
