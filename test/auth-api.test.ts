// The HTTP API, /metrics, HLS and the web page ask for credentials as RTSP does (issue 13 item 8): Digest
// SHA-256 and MD5 in the configured realm, Basic only when enabled; real curl logs in with --digest, a
// browser-like client with Basic when it is on. Once the 401 offered only `Basic realm="rtspkit"`, so with
// `basic: false` nothing could log in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium } from 'playwright-core';
import { startApp } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { digestCredentials, parseDigestChallenge } from '../src/auth/digest.js';
import { parseWwwAuthenticate, serializeAuthorization } from '../src/rtsp/auth-header.js';
import { LOOPBACK_APP_CONFIG_LINES } from './support/server.js';
import { run } from './support/process.js';
import { skipUnless } from './support/tools.js';

function config(basic: boolean) {
  return parseConfig(
    [
      ...LOOPBACK_APP_CONFIG_LINES,
      'auth:',
      `  basic: ${basic}`,
      '  realm: "cams at home"',
      '  users:',
      '    - { name: admin, password: "plain:a dmin", permissions: [{ action: api }] }',
      '    - { name: viewer, password: "plain:v", permissions: [{ action: read, path: "cam*" }] }',
    ].join('\n'),
  );
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; challenges: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          // One entry per header line (res.headers would join them with commas).
          challenges: res.headersDistinct['www-authenticate'] ?? [],
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${path}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** curl's HTTP status for `path`, with its own options (credentials, scheme). */
async function curl(port: number, path: string, args: string[]): Promise<number> {
  const r = await run(
    'curl',
    [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--max-time',
      '10',
      ...args,
      `http://127.0.0.1:${port}${path}`,
    ],
    { timeoutMs: 15_000 },
  ).done;
  assert.equal(r.code, 0, `curl ${args.join(' ')} ${path}: ${r.stderr}`);
  return Number(r.stdout);
}

const skip = skipUnless('curl');

test(
  'basic: false: the API offers Digest SHA-256 then MD5 in the configured realm; curl --digest logs in',
  { skip },
  async () => {
    const app = await startApp(config(false));
    try {
      const port = app.api!.port;
      const r = await get(port, '/metrics');
      assert.equal(r.status, 401);
      assert.equal(r.challenges.length, 2, r.challenges.join(' | '));
      assert.match(
        r.challenges[0]!,
        /^Digest realm="cams at home", nonce="[\w-]{48}", qop="auth", algorithm=SHA-256$/,
      );
      assert.match(
        r.challenges[1]!,
        /^Digest realm="cams at home", nonce="[\w-]{48}", qop="auth", algorithm=MD5$/,
      );
      // curl answers Digest itself: the API, /metrics and the page.
      for (const path of ['/metrics', '/v1/paths', '/'])
        assert.equal(await curl(port, path, ['--digest', '-u', 'admin:a dmin']), 200, path);
      assert.equal(await curl(port, '/metrics', ['--digest', '-u', 'admin:wrong']), 401);
      assert.equal(await curl(port, '/metrics', ['--digest', '-u', 'nobody:a dmin']), 401);
      // A right password without the right: 403, as over RTSP. HLS needs read on its path (then 404: no
      // publisher), as over RTSP.
      assert.equal(await curl(port, '/v1/paths', ['--digest', '-u', 'viewer:v']), 403);
      assert.equal(await curl(port, '/hls/cam1/index.m3u8', ['--digest', '-u', 'viewer:v']), 404);
      assert.equal(await curl(port, '/hls/other/index.m3u8', ['--digest', '-u', 'viewer:v']), 403);
      // Basic is off: refused even with the right password.
      assert.equal(await curl(port, '/metrics', ['--basic', '-u', 'admin:a dmin']), 401);
      // SHA-256 too (curl picks one challenge; answer the other one here), and the answer is bound to its
      // uri: one computed for /metrics does not open /v1/paths.
      const sha = r.challenges.flatMap(parseWwwAuthenticate).map(parseDigestChallenge)[0]!;
      const answer = (uri: string, nonceCount: number): string =>
        serializeAuthorization(
          digestCredentials(sha, {
            username: 'admin',
            password: 'a dmin',
            method: 'GET',
            uri,
            nonceCount,
            cnonce: 'abc',
          }),
        );
      assert.equal((await get(port, '/metrics', { Authorization: answer('/metrics', 1) })).status, 200);
      assert.equal((await get(port, '/v1/paths', { Authorization: answer('/metrics', 2) })).status, 401);
      // The same answer again is a replay: 401 stale=true, as over RTSP.
      const replay = await get(port, '/metrics', { Authorization: answer('/metrics', 1) });
      assert.equal(replay.status, 401);
      assert.ok(
        replay.challenges.every((c) => /stale=true/.test(c)),
        replay.challenges.join(' | '),
      );
    } finally {
      await app.close();
    }
  },
);

test(
  'basic: true: Basic is offered last in the configured realm; a browser-like Basic login and curl both work',
  { skip },
  async () => {
    const app = await startApp(config(true));
    try {
      const port = app.api!.port;
      const r = await get(port, '/v1/paths');
      assert.equal(r.status, 401);
      assert.equal(r.challenges.length, 3, r.challenges.join(' | '));
      assert.match(r.challenges[0]!, /^Digest .*algorithm=SHA-256$/);
      assert.match(r.challenges[1]!, /^Digest .*algorithm=MD5$/);
      assert.equal(r.challenges[2], 'Basic realm="cams at home", charset="UTF-8"');
      // What a browser sends after the prompt when it picks Basic.
      const basic = `Basic ${Buffer.from('admin:a dmin').toString('base64')}`;
      assert.equal((await get(port, '/v1/paths', { Authorization: basic })).status, 200);
      assert.equal(await curl(port, '/metrics', ['--basic', '-u', 'admin:a dmin']), 200);
      assert.equal(await curl(port, '/metrics', ['--anyauth', '-u', 'admin:a dmin']), 200);
      assert.equal(await curl(port, '/metrics', ['--digest', '-u', 'admin:a dmin']), 200);
    } finally {
      await app.close();
    }
  },
);

/** The Chromium binary on PATH (Debian's package installs /usr/bin/chromium), as test/web-page.test.ts. */
function chromiumPath(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'chromium');
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return '/usr/bin/chromium';
}

test(
  'basic: false: Chromium logs in to the page and /metrics with Digest; a wrong password stays 401',
  { skip: skipUnless('chromium') },
  async () => {
    const app = await startApp(config(false));
    const browser = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
      args: ['--no-sandbox'],
      timeout: 20_000,
    });
    try {
      const port = app.api!.port;
      for (const [password, status] of [
        ['a dmin', 200],
        ['wrong', 401],
      ] as const) {
        // httpCredentials: what a user types into the browser's prompt, answered to the challenge Chromium picks.
        const context = await browser.newContext({ httpCredentials: { username: 'admin', password } });
        try {
          const page = await context.newPage();
          for (const path of ['/', '/metrics']) {
            const r = await page.goto(`http://127.0.0.1:${port}${path}`, { timeout: 15_000 });
            assert.equal(r?.status(), status, `${password}: ${path}`);
          }
        } finally {
          await context.close();
        }
      }
    } finally {
      await browser.close();
      await app.close();
    }
  },
);
