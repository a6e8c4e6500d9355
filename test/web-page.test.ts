// The web page in a real browser: headless Debian Chromium (driven by playwright-core) opens the
// API's page with no live path; ffmpeg then publishes h264_base_aac.mp4, the page lists it on its
// next refresh, "play" plays it through hls.js and the server's HLS (the <video>'s currentTime passes
// 1 s), and when ffmpeg is killed the row goes and the player says the stream ended. The page must
// run without a script error or a CSP violation. Then the player page of one path, /play/<path>, with
// users: a viewer who may only read plays it; other paths, the index page and no credentials are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ApiServer } from '../src/http/api.js';
import { startApp } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { startTestServer, LOOPBACK_APP_CONFIG_LINES } from './support/server.js';
import { run, type Run } from './support/process.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const PLAY_TIMEOUT_MS = 30_000;

/** The Chromium binary on PATH (Debian's package installs /usr/bin/chromium). */
function chromiumPath(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'chromium');
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return '/usr/bin/chromium';
}

/**
 * Waits until `expression` (JavaScript run in the page) is truthy; returns its value. Polled from here:
 * page.waitForFunction evaluates its predicate with eval, which the page's CSP (rightly) forbids,
 * while page.evaluate goes through the debugger protocol. Browser-side code is passed as text because
 * this project's TypeScript has no DOM types.
 */
async function pagePoll<T>(
  page: Page,
  expression: string,
  timeoutMs: number,
  what: string,
  statusId = 'player-status',
): Promise<T> {
  const deadlineMs = performance.now() + timeoutMs;
  for (;;) {
    const value = await page.evaluate<T>(expression);
    if (value) return value;
    if (performance.now() > deadlineMs) {
      const status = await page.evaluate<string>(`document.getElementById('${statusId}').textContent`);
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what} (player status: ${status})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function publish(rtspUrl: string): Run {
  return run(
    'ffmpeg',
    [
      ...['-hide_banner', '-v', 'error', '-re', '-stream_loop', '-1', '-i', mediaPath(CLIP)],
      ...['-map', '0', '-c', 'copy', '-f', 'rtsp', '-rtsp_transport', 'tcp', rtspUrl],
    ],
    { timeoutMs: 55_000 },
  );
}

const skip = skipUnless('ffmpeg', 'chromium') || skipUnlessMedia(CLIP);

test(
  'the web page lists a path published by ffmpeg and plays it in headless Chromium (hls.js, fMP4 HLS)',
  { skip, timeout: 60_000 },
  async (t) => {
    const { server, url } = await startTestServer();
    const api = new ApiServer({ server, port: 0, processMetrics: false });
    await api.listen();
    let ffmpeg: Run | undefined;
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: chromiumPath(),
        headless: true,
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
        timeout: 20_000,
      });
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      // Failed requests are checked by URL below (the console only says "Failed to load resource").
      page.on('console', (msg) => {
        if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource'))
          problems.push(`console: ${msg.text()}`);
      });
      let published = true;
      page.on('response', (res) => {
        // Once the publisher is gone, hls.js may reload the playlist before the page's next refresh
        // stops it: a 404 for the ended path's HLS is the expected answer then.
        const endedHls = !published && new URL(res.url()).pathname.startsWith('/hls/live/');
        if (res.status() >= 400 && !endedHls) problems.push(`HTTP ${res.status()} for ${res.url()}`);
      });
      await page.goto(`http://127.0.0.1:${api.port}/`);
      await pagePoll(page, "!document.getElementById('empty').hidden", 5000, 'the empty list');
      const mse = await page.evaluate<{ h264: boolean; aac: boolean }>(`({
        h264: MediaSource.isTypeSupported('video/mp4; codecs="avc1.42C01E"'),
        aac: MediaSource.isTypeSupported('audio/mp4; codecs="mp4a.40.2"'),
      })`);
      assert.deepEqual(mse, { h264: true, aac: true }, 'this Chromium cannot decode H.264/AAC in MSE');

      ffmpeg = publish(url('live'));
      // The page refreshes every 2 s: the button appears once the path is live.
      await page.getByRole('button', { name: 'play live' }).click({ timeout: 15_000 });
      const clickedMs = performance.now();
      await pagePoll(
        page,
        "document.querySelector('video').currentTime > 1",
        PLAY_TIMEOUT_MS,
        'the video to play past 1 s',
      );
      const playingMs = performance.now() - clickedMs;
      const video = await page.evaluate<{ width: number; height: number; frames: number }>(`(() => {
        const v = document.querySelector('video');
        return { width: v.videoWidth, height: v.videoHeight, frames: v.getVideoPlaybackQuality().totalVideoFrames };
      })()`);
      t.diagnostic(
        `currentTime passed 1 s ${playingMs.toFixed(0)} ms after the click; ` +
          `${video.frames} frames decoded, ${video.width}x${video.height}`,
      );
      assert.equal(video.width, 640);
      assert.equal(video.height, 360);
      assert.ok(video.frames > 0);
      assert.equal(api.hls.muxerCount, 1);

      // The publisher goes: the row goes on the next refresh and the player says why it stopped.
      published = false;
      ffmpeg.kill('SIGKILL');
      await ffmpeg.done;
      await pagePoll(
        page,
        "document.getElementById('player-status').textContent === 'the stream ended' && " +
          "document.querySelectorAll('#paths tr').length === 0",
        10_000,
        'the page to drop the ended stream',
      );
      assert.equal(api.hls.muxerCount, 0);
      assert.deepEqual(problems, []);
    } finally {
      await browser?.close();
      ffmpeg?.kill('SIGKILL');
      await ffmpeg?.done;
      await api.close();
      await server.close();
    }
  },
);

/** Problems a page reports: script errors, console errors (CSP violations among them), HTTP errors. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource'))
      problems.push(`console: ${msg.text()}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  return problems;
}

test(
  'the player page /play/<path> plays in headless Chromium for a user with only the read right (Digest); ' +
    'other paths 403, no credentials 401, the index page still needs api and links to it; ' +
    'it says when the stream ends and plays the next publisher',
  { skip, timeout: 90_000 },
  async (t) => {
    const app = await startApp(
      parseConfig(
        [
          ...LOOPBACK_APP_CONFIG_LINES,
          'auth:',
          // Digest only: each request the page makes (hls.js, playlist, segments) answers its own challenge.
          '  basic: false',
          '  users:',
          '    - { name: pub, password: "plain:p", permissions: [{ action: publish }] }',
          '    - { name: viewer, password: "plain:v", permissions: [{ action: read, path: "cam*" }] }',
          '    - { name: admin, password: "plain:a", permissions: [{ action: api }] }',
        ].join('\n'),
      ),
    );
    const base = `http://127.0.0.1:${app.api!.port}`;
    let ffmpeg: Run | undefined;
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: chromiumPath(),
        headless: true,
        args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
        timeout: 20_000,
      });
      ffmpeg = publish(`rtsp://pub:p@127.0.0.1:${app.server.port}/cam1`);
      const deadlineMs = performance.now() + 15_000;
      while (app.server.paths.get('cam1')?.stream === undefined) {
        if (performance.now() > deadlineMs) assert.fail('ffmpeg did not publish cam1 in 15 s');
        await new Promise((r) => setTimeout(r, 100));
      }

      // httpCredentials: what a user types into the browser's prompt, answered to the challenge.
      const viewer = await browser.newContext({ httpCredentials: { username: 'viewer', password: 'v' } });
      const page = await viewer.newPage();
      const problems = watch(page);
      const opened = await page.goto(`${base}/play/cam1`);
      assert.equal(opened?.status(), 200);
      assert.equal(await page.title(), 'cam1 · rtspkit');
      assert.equal(await page.evaluate<boolean>("document.getElementById('video').controls"), true);
      await pagePoll(
        page,
        "document.getElementById('video').currentTime > 1",
        PLAY_TIMEOUT_MS,
        'play',
        'status',
      );
      const frames = await page.evaluate<number>(
        "document.getElementById('video').getVideoPlaybackQuality().totalVideoFrames",
      );
      t.diagnostic(`the viewer's player page played past 1 s, ${frames} frames decoded`);
      assert.ok(frames > 0);
      assert.deepEqual(problems, []);
      // The same user, where the read right does not reach, and on the index page (the api right).
      const other = await viewer.newPage();
      assert.equal((await other.goto(`${base}/play/other`))?.status(), 403);
      assert.equal((await other.goto(`${base}/`))?.status(), 403);
      await other.close();

      // Without credentials Chromium gets the 401 and its challenges; headless, nobody answers the
      // prompt, so playwright reports the navigation as ERR_INVALID_AUTH_CREDENTIALS.
      const nobody = await browser.newContext();
      const anonymous = await nobody.newPage();
      const refusals: { status: number; challenge: string }[] = [];
      anonymous.on('response', (res) => {
        refusals.push({ status: res.status(), challenge: res.headers()['www-authenticate'] ?? '' });
      });
      await assert.rejects(anonymous.goto(`${base}/play/cam1`), /ERR_INVALID_AUTH_CREDENTIALS/);
      assert.equal(refusals.length, 1);
      assert.equal(refusals[0]!.status, 401);
      assert.match(refusals[0]!.challenge, /^Digest realm="rtspkit"/);
      await nobody.close();

      // The index page: the api right, controls on its video, a link to each path's player page.
      const admin = await browser.newContext({ httpCredentials: { username: 'admin', password: 'a' } });
      const index = await admin.newPage();
      assert.equal((await index.goto(`${base}/`))?.status(), 200);
      assert.equal(await index.evaluate<boolean>("document.getElementById('video').controls"), true);
      const href = await pagePoll<string>(
        index,
        "document.querySelector('a.player-page') && document.querySelector('a.player-page').href",
        10_000,
        'the link to the player page',
      );
      assert.equal(href, `${base}/play/cam1`);
      await admin.close();

      // The publisher goes just after a segment was cut, the hardest end: the last segment is a
      // frame or two that the audio does not reach (the server drops it; kept, hls.js never ended).
      // The muxer ends the playlist, the player plays to its end and says so.
      const lastListed = (): Promise<string> =>
        page.evaluate<string>("fetch(url).then((r) => r.text()).then((t) => t.trim().split('\\n').pop())");
      const listedBefore = await lastListed();
      const cutDeadlineMs = performance.now() + 5_000;
      while ((await lastListed()) === listedBefore) {
        if (performance.now() > cutDeadlineMs) assert.fail('no new segment in 5 s');
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 30));
      ffmpeg.kill('SIGKILL');
      await ffmpeg.done;
      await pagePoll(
        page,
        "document.getElementById('status').textContent === 'the stream ended'",
        15_000,
        'the player page to say the stream ended',
        'status',
      );
      // A new publisher on the path: the page, still open, plays it (its playlist has no ENDLIST).
      ffmpeg = publish(`rtsp://pub:p@127.0.0.1:${app.server.port}/cam1`);
      await pagePoll(
        page,
        "document.getElementById('status').textContent === 'live'",
        20_000,
        'live',
        'status',
      );
      const resumedS = await page.evaluate<number>("document.getElementById('video').currentTime");
      await pagePoll(
        page,
        `document.getElementById('video').currentTime > ${resumedS + 1}`,
        PLAY_TIMEOUT_MS,
        'the next stream to play 1 s',
        'status',
      );
      await viewer.close();
    } finally {
      await browser?.close();
      ffmpeg?.kill('SIGKILL');
      await ffmpeg?.done;
      await app.close();
    }
  },
);
