/**
 * External tools for end-to-end tests. A test that needs a missing tool is skipped with the reason,
 * except under RTSPKIT_REQUIRE_TOOLS=1 (CI), where the missing tool fails the test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const cache = new Map<string, boolean>();

export function hasTool(cmd: string, versionArg = '-version'): boolean {
  let ok = cache.get(cmd);
  if (ok === undefined) {
    const r = spawnSync(cmd, [versionArg], { stdio: 'ignore', timeout: 10_000 });
    ok = r.error === undefined && r.status === 0;
    cache.set(cmd, ok);
  }
  return ok;
}

/** How each tool is asked for its version (to tell whether it is installed). */
const VERSION_ARG: Record<string, string> = {
  openssl: 'version',
  chromium: '--version',
  curl: '--version',
  gcc: '--version',
};

export const requireTools = process.env.RTSPKIT_REQUIRE_TOOLS === '1';

/**
 * For `test(name, { skip: skipUnless(...) }, fn)`: false when every tool is there; a reason string
 * (skip) when one is missing locally; throws (fails the file) when one is missing in CI.
 */
export function skipUnless(...tools: string[]): string | false {
  const missing = tools.filter(
    (t) => !hasTool(t, VERSION_ARG[t] ?? (t.startsWith('gst-') ? '--version' : '-version')),
  );
  if (missing.length === 0) return false;
  const reason = `needs ${missing.join(', ')} (not installed)`;
  if (requireTools) throw new Error(`RTSPKIT_REQUIRE_TOOLS=1 but ${reason}`);
  return reason;
}

export function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** A clip of ../shared/media, or of RTSPKIT_MEDIA_DIR. */
export function mediaPath(name: string): string {
  const dir = process.env.RTSPKIT_MEDIA_DIR ?? join(repoRoot(), '..', 'shared', 'media');
  return join(dir, name);
}

export function skipUnlessMedia(...names: string[]): string | false {
  const missing = names.filter((n) => !existsSync(mediaPath(n)));
  if (missing.length === 0) return false;
  const reason = `needs test media ${missing.join(', ')} (see ../shared/media)`;
  if (requireTools) throw new Error(`RTSPKIT_REQUIRE_TOOLS=1 but ${reason}`);
  return reason;
}
